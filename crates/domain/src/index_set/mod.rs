//! Index sets (bộ chỉ số): the document of docs/index-set-format.md as read and written, and
//! the validated tree scores are computed against.

mod diff;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::rules::{self, LeafInput, LeafScore, RuleError, RuleKind, RuleSpec};
use crate::{InvalidInput, Points};
pub use diff::{
    AdjustmentBrief, AdjustmentChange, AdjustmentFieldChange, Change, CodeMapping, NodeBrief,
    NodeChange, SetChange, SetDiff, SetField, compare_codes, diff, diff_with,
};

/// The `format` of every document this version reads and writes.
pub const FORMAT: &str = "parindex-index-set/1";
/// The most nodes a set may have; larger files are refused before anything else is checked.
pub const MAX_NODES: usize = 20_000;
/// The deepest level a node may sit at (domains are level 1).
pub const MAX_DEPTH: usize = 12;
/// The largest maximum any node or set may declare. Keeps every sum far inside Decimal's
/// range, so the plain `Points` operators are safe on a validated set.
pub const MAX_SCALE: i64 = 1_000_000;

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &Points) -> bool {
    value.is_zero()
}

/// An index-set document, field for field as in the YAML file (and the stored JSON).
/// Optional fields are left out on output, so YAML → model → YAML gives the same file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSetDoc {
    pub format: String,
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    pub year: i32,
    pub unit_group: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub illustrative: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_document: Option<String>,
    pub scale: Points,
    pub appraised_max: Points,
    pub survey_max: Points,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bonus_cap: Points,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub penalty_cap: Points,
    #[serde(default)]
    pub nodes: Vec<NodeDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<AdjustmentDoc>,
}

/// A node of the tree: a parent (`children`) or a leaf (`rule`, `method`, `evidence`).
///
/// Dropping a node frees its subtree iteratively, so even an absurdly deep tree built in
/// memory cannot overflow the stack on drop. (Clone, Debug and comparison still recurse: use
/// them only on sets that passed [`IndexSet::from_doc`], which bounds the depth.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDoc {
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    pub max: Points,
    #[serde(default, skip_serializing_if = "is_false")]
    pub sum_exempt: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applies_to: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_applicable_allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<NodeDoc>,
}

impl NodeDoc {
    /// A node with only its code, title and maximum; set the other fields as needed.
    pub fn new(code: impl Into<String>, title: impl Into<String>, max: Points) -> NodeDoc {
        NodeDoc {
            code: code.into(),
            title: title.into(),
            title_en: None,
            max,
            sum_exempt: false,
            method: None,
            evidence: None,
            applies_to: Vec::new(),
            not_applicable_allowed: false,
            rule: None,
            children: Vec::new(),
        }
    }
}

impl IndexSetDoc {
    /// Nodes per level (domains, criteria, sub-criteria, deeper), counted even when the
    /// document is not valid, so a report can say what was read. None when the tree is over
    /// the size or depth bounds: such a file is refused before anything is counted.
    pub fn counts_per_level(&self) -> Option<Vec<usize>> {
        if validate::check_bounds(&self.nodes).is_some() {
            return None;
        }
        let mut counts: Vec<usize> = Vec::new();
        let mut stack: Vec<(&NodeDoc, usize)> = self.nodes.iter().map(|n| (n, 0)).collect();
        while let Some((node, depth)) = stack.pop() {
            if counts.len() <= depth {
                counts.resize(depth + 1, 0);
            }
            counts[depth] += 1;
            stack.extend(node.children.iter().map(|c| (c, depth + 1)));
        }
        Some(counts)
    }
}

impl Drop for NodeDoc {
    fn drop(&mut self) {
        // Move every descendant into one flat list before it is dropped, so each drop below
        // finds no children and the stack depth stays constant.
        let mut pending = std::mem::take(&mut self.children);
        while let Some(mut node) = pending.pop() {
            pending.append(&mut node.children);
        }
    }
}

/// Whether an adjustment adds (điểm thưởng) or subtracts (điểm trừ) after the sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    Bonus,
    Penalty,
}

impl AdjustmentKind {
    pub fn label_vi(self) -> &'static str {
        match self {
            AdjustmentKind::Bonus => "điểm thưởng",
            AdjustmentKind::Penalty => "điểm trừ",
        }
    }
}

/// A bonus or penalty item, applied after the sum of leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentDoc {
    pub code: String,
    pub kind: AdjustmentKind,
    pub title: String,
    /// The most this item can add or subtract.
    pub max: Points,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

impl AdjustmentDoc {
    /// Checks points given for this item: within [0, max], at most 3 decimals.
    pub fn check_points(&self, points: Points) -> Result<(), InvalidInput> {
        if points.is_negative() || points > self.max {
            return Err(InvalidInput::new(
                "points",
                format!(
                    "Điểm của mục {} phải trong khoảng 0 – {}",
                    self.code,
                    self.max.exact_vi()
                ),
            ));
        }
        if points.decimal_places() > rules::SCORE_DECIMALS {
            return Err(InvalidInput::new(
                "points",
                "Điểm có tối đa 3 chữ số thập phân",
            ));
        }
        Ok(())
    }
}

/// One problem found in a document: where (a node or adjustment code, or the document
/// itself) and what to fix, in Vietnamese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The node or adjustment code; None for the document's own fields.
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "Mã {code}: {}", self.message),
            None => write!(f, "Bộ chỉ số: {}", self.message),
        }
    }
}

/// Why a document is not a valid set: every problem found, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bộ chỉ số có {} lỗi:", self.problems.len())?;
        for problem in &self.problems {
            write!(f, "\n- {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationReport {}

/// What a valid set holds, for the validation report and the set's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationSummary {
    /// Nodes per level: domains, criteria, sub-criteria, deeper.
    pub counts_per_level: Vec<usize>,
    pub node_count: usize,
    pub leaf_count: usize,
    pub leaves_by_kind: BTreeMap<RuleKind, usize>,
    /// Σ max of the non-survey leaves (= appraised_max).
    pub appraised_total: Points,
    /// Σ max of the survey leaves (= survey_max).
    pub survey_total: Points,
    pub scale: Points,
    pub bonus_items: usize,
    pub penalty_items: usize,
}

/// The Vietnamese name of a level, plural as in a count ("38 tiêu chí").
pub fn level_name_vi(level: usize) -> String {
    match level {
        1 => "lĩnh vực".to_owned(),
        2 => "tiêu chí".to_owned(),
        3 => "tiêu chí thành phần".to_owned(),
        n => format!("nút cấp {n}"),
    }
}

impl ValidationSummary {
    /// Leaves by kind, e.g. "40 đạt / không đạt, 12 bậc theo tỷ lệ".
    pub fn kinds_vi(&self) -> String {
        self.leaves_by_kind
            .iter()
            .map(|(kind, n)| format!("{n} {}", kind.label_vi()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Node counts per level as one line: "8 lĩnh vực / 38 tiêu chí / 85 tiêu chí thành phần".
pub fn counts_per_level_vi(counts: &[usize]) -> String {
    counts
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{n} {}", level_name_vi(i + 1)))
        .collect::<Vec<_>>()
        .join(" / ")
}

impl fmt::Display for ValidationSummary {
    /// "8 lĩnh vực / 38 tiêu chí / 85 tiêu chí thành phần; 75 + 25 = 100 điểm".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let levels = counts_per_level_vi(&self.counts_per_level);
        write!(
            f,
            "{levels}; {} + {} = {} điểm",
            self.appraised_total.exact_vi(),
            self.survey_total.exact_vi(),
            self.scale.exact_vi()
        )
    }
}

/// A node of a validated set, with its place in the tree. Indices refer to
/// [`IndexSet::nodes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub code: String,
    pub title: String,
    pub title_en: Option<String>,
    pub max: Points,
    pub sum_exempt: bool,
    pub method: Option<String>,
    pub evidence: Option<String>,
    pub applies_to: Vec<String>,
    pub not_applicable_allowed: bool,
    /// Some exactly for leaves.
    pub rule: Option<RuleSpec>,
    /// 1 for a domain, 2 for a criterion, 3 for a sub-criterion, …
    pub level: usize,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// The index of the domain (level-1 ancestor, or the node itself) it belongs to.
    pub domain: usize,
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        self.rule.is_some()
    }

    pub fn kind(&self) -> Option<RuleKind> {
        self.rule.as_ref().map(RuleSpec::kind)
    }

    pub fn is_survey(&self) -> bool {
        self.kind() == Some(RuleKind::Survey)
    }
}

/// A validated index set: the document plus fast access to its tree.
#[derive(Debug, Clone)]
pub struct IndexSet {
    doc: IndexSetDoc,
    /// Tree order (parents before children, siblings in document order).
    nodes: Vec<Node>,
    by_code: HashMap<String, usize>,
    leaves: Vec<usize>,
    roots: Vec<usize>,
    summary: ValidationSummary,
}

impl IndexSet {
    /// Validates `doc` (docs/index-set-format.md, "Validation") and builds the set, or
    /// reports every problem found. `known_groups` is the unit-group registry, when there is
    /// one: the set's group and every `applies_to` must be in it.
    ///
    /// The size and depth bounds are checked first, without recursion, so a hostile document
    /// of a million nodes or ten thousand levels is refused quickly and safely.
    pub fn from_doc(
        doc: &IndexSetDoc,
        known_groups: Option<&[&str]>,
    ) -> Result<IndexSet, ValidationReport> {
        validate::build(doc, known_groups)
    }

    /// The document the set was built from (what is stored and exported).
    pub fn doc(&self) -> &IndexSetDoc {
        &self.doc
    }

    pub fn code(&self) -> &str {
        &self.doc.code
    }

    pub fn summary(&self) -> &ValidationSummary {
        &self.summary
    }

    /// Every node in tree order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The domains (level 1) in order.
    pub fn domains(&self) -> impl Iterator<Item = &Node> + '_ {
        self.roots.iter().map(|&i| &self.nodes[i])
    }

    /// The leaves in tree order.
    pub fn leaves(&self) -> impl Iterator<Item = &Node> + '_ {
        self.leaves.iter().map(|&i| &self.nodes[i])
    }

    /// What is valid but can hurt a unit, for `index-set validate` and the publication page:
    /// a formula dividing by a variable with no guard (a unit entering 0 gets no score).
    /// Warnings do not stop publication; they say what to change.
    pub fn warnings(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for leaf in self.leaves() {
            let Some(Ok(formula)) = leaf.rule.as_ref().and_then(|r| r.parse_formula()) else {
                continue;
            };
            for var in formula.unguarded_divisors() {
                out.push(Problem {
                    code: Some(leaf.code.clone()),
                    message: format!(
                        "công thức «{}» chia cho «{var}» mà không xét trường hợp {var} = 0: đơn vị nhập {var} = 0 sẽ không tính được điểm; hãy viết ví dụ if({var} > 0, …, điểm khi {var} = 0) hoặc chia cho max({var}, 1)",
                        formula.source()
                    ),
                });
            }
        }
        out
    }

    /// Position in [`IndexSet::nodes`] of the node with `code`.
    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    pub fn node(&self, code: &str) -> Option<&Node> {
        self.index_of(code).map(|i| &self.nodes[i])
    }

    pub fn children_of<'a>(&'a self, node: &'a Node) -> impl Iterator<Item = &'a Node> + 'a {
        node.children.iter().map(|&i| &self.nodes[i])
    }

    pub fn parent_of(&self, code: &str) -> Option<&Node> {
        self.node(code)?.parent.map(|i| &self.nodes[i])
    }

    pub fn level_of(&self, code: &str) -> Option<usize> {
        self.node(code).map(|n| n.level)
    }

    /// The domain (lĩnh vực) a node belongs to; a domain is its own.
    pub fn domain_of(&self, code: &str) -> Option<&Node> {
        self.node(code).map(|n| &self.nodes[n.domain])
    }

    pub fn adjustment(&self, code: &str) -> Option<&AdjustmentDoc> {
        self.doc.adjustments.iter().find(|a| a.code == code)
    }

    /// Whether the node at `index` applies to units of `group`: neither it nor an ancestor
    /// restricts `applies_to` to other groups.
    pub fn applies_to_group(&self, index: usize, group: &str) -> bool {
        let mut current = Some(index);
        while let Some(i) = current {
            let node = &self.nodes[i];
            if !node.applies_to.is_empty() && !node.applies_to.iter().any(|g| g == group) {
                return false;
            }
            current = node.parent;
        }
        true
    }

    fn leaf(&self, code: &str) -> Result<(&Node, &RuleSpec), InvalidInput> {
        match self.node(code) {
            Some(node) => match &node.rule {
                Some(rule) => Ok((node, rule)),
                None => Err(InvalidInput::new(
                    "code",
                    format!("Mã {code} có các nút con, không chấm điểm trực tiếp"),
                )),
            },
            None => Err(InvalidInput::new(
                "code",
                format!("Mã {code} không có trong bộ chỉ số {}", self.doc.code),
            )),
        }
    }

    /// Checks the facts entered for leaf `code` (see [`RuleSpec::check_input`]), including
    /// whether the leaf may be declared not applicable.
    pub fn check_input(&self, code: &str, input: &LeafInput) -> Result<(), InvalidInput> {
        let (leaf, rule) = self.leaf(code)?;
        rule.check_input(leaf.max, leaf.not_applicable_allowed, input)
    }

    /// Scores leaf `code` from the facts entered.
    pub fn evaluate(&self, code: &str, input: &LeafInput) -> Result<LeafScore, RuleError> {
        let (leaf, rule) = self.leaf(code)?;
        rule.check_input(leaf.max, leaf.not_applicable_allowed, input)?;
        rules::evaluate(rule, leaf.max, input)
    }
}

#[cfg(test)]
mod tests;
