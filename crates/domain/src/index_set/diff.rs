//! What changed between two sets (last year's and this year's, or two versions of a draft),
//! and the old → new code mapping that pairs renumbered nodes.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::{AdjustmentDoc, AdjustmentKind, IndexSet, Node, Problem, ValidationReport};
use crate::Points;
use crate::rules::{RuleSpec, ZeroOfZero};

/// Compares node codes numerically, component by component: 1.2 < 1.10 < 2.
pub fn compare_codes(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n).then_with(|| x.cmp(y)),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// Old code → new code for nodes that were renumbered from one set to the next. Codes not
/// in the mapping pair with the same code, if it still exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CodeMapping(BTreeMap<String, String>);

impl CodeMapping {
    /// Checks the pairs against both sets: every old code exists in `old`, every new code in
    /// `new`, and no code appears twice on either side.
    pub fn new<I, A, B>(
        pairs: I,
        old: &IndexSet,
        new: &IndexSet,
    ) -> Result<CodeMapping, ValidationReport>
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<String>,
        B: Into<String>,
    {
        let mut map = BTreeMap::new();
        let mut targets = HashSet::new();
        let mut problems = Vec::new();
        let mut problem = |code: &str, message: String| {
            problems.push(Problem {
                code: Some(code.to_owned()),
                message,
            })
        };
        for (from, to) in pairs {
            let (from, to): (String, String) = (from.into(), to.into());
            if old.node(&from).is_none() {
                problem(
                    &from,
                    format!("Mã cũ không có trong bộ chỉ số {}", old.code()),
                );
            }
            if new.node(&to).is_none() {
                problem(
                    &from,
                    format!("Mã mới {to} không có trong bộ chỉ số {}", new.code()),
                );
            }
            if !targets.insert(to.clone()) {
                problem(
                    &from,
                    format!("Mã mới {to} đã được ghép với một mã cũ khác"),
                );
            }
            if map.insert(from.clone(), to).is_some() {
                problem(&from, "Mã cũ được ghép hai lần".to_owned());
            }
        }
        if problems.is_empty() {
            Ok(CodeMapping(map))
        } else {
            Err(ValidationReport { problems })
        }
    }

    /// The new code of `old_code`, when it was renumbered.
    pub fn get(&self, old_code: &str) -> Option<&str> {
        self.0.get(old_code).map(String::as_str)
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(a, b)| (a.as_str(), b.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A node as listed among the added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeBrief {
    pub code: String,
    pub title: String,
    pub max: Points,
}

impl NodeBrief {
    fn of(node: &Node) -> NodeBrief {
        NodeBrief {
            code: node.code.clone(),
            title: node.title.clone(),
            max: node.max,
        }
    }
}

/// One changed property of a node, before → after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Change {
    Code {
        old: String,
        new: String,
    },
    Title {
        old: String,
        new: String,
    },
    TitleEn {
        old: Option<String>,
        new: Option<String>,
    },
    Max {
        old: Points,
        new: Points,
    },
    SumExempt {
        old: bool,
        new: bool,
    },
    Rule {
        old: Option<RuleSpec>,
        new: Option<RuleSpec>,
    },
    Method {
        old: Option<String>,
        new: Option<String>,
    },
    Evidence {
        old: Option<String>,
        new: Option<String>,
    },
    AppliesTo {
        old: Vec<String>,
        new: Vec<String>,
    },
    NotApplicableAllowed {
        old: bool,
        new: bool,
    },
}

impl Change {
    /// What changed, in Vietnamese, for the list of changes.
    pub fn label_vi(&self) -> &'static str {
        match self {
            Change::Code { .. } => "Mã",
            Change::Title { .. } => "Tên",
            Change::TitleEn { .. } => "Tên tiếng Anh",
            Change::Max { .. } => "Điểm tối đa",
            Change::SumExempt { .. } => "Không bắt buộc tổng",
            Change::Rule { .. } => "Quy tắc chấm điểm",
            Change::Method { .. } => "Cách chấm điểm",
            Change::Evidence { .. } => "Tài liệu kiểm chứng",
            Change::AppliesTo { .. } => "Áp dụng cho nhóm",
            Change::NotApplicableAllowed { .. } => "Được khai không áp dụng",
        }
    }

    /// The value before the change, as a user reads it (decimal comma, "có"/"không").
    pub fn old_vi(&self) -> String {
        self.values_vi().0
    }

    /// The value after the change, as [`Change::old_vi`].
    pub fn new_vi(&self) -> String {
        self.values_vi().1
    }

    fn values_vi(&self) -> (String, String) {
        match self {
            Change::Code { old, new } | Change::Title { old, new } => (old.clone(), new.clone()),
            Change::TitleEn { old, new }
            | Change::Method { old, new }
            | Change::Evidence { old, new } => (text_vi(old.as_deref()), text_vi(new.as_deref())),
            Change::Max { old, new } => (old.exact_vi(), new.exact_vi()),
            Change::SumExempt { old, new } | Change::NotApplicableAllowed { old, new } => {
                (yes_no_vi(*old), yes_no_vi(*new))
            }
            Change::Rule { old, new } => (rule_vi(old.as_ref()), rule_vi(new.as_ref())),
            Change::AppliesTo { old, new } => (groups_vi(old), groups_vi(new)),
        }
    }
}

fn text_vi(value: Option<&str>) -> String {
    match value {
        Some(text) if !text.trim().is_empty() => text.to_owned(),
        _ => "(trống)".to_owned(),
    }
}

fn yes_no_vi(value: bool) -> String {
    if value { "có" } else { "không" }.to_owned()
}

fn groups_vi(groups: &[String]) -> String {
    if groups.is_empty() {
        "mọi nhóm".to_owned()
    } else {
        groups.join(", ")
    }
}

/// A rule as its kind and parameters. The 0-of-0 choice is spelled out because
/// [`RuleSpec::describe_vi`] leaves it out, and a change of only that must still show.
fn rule_vi(rule: Option<&RuleSpec>) -> String {
    let Some(rule) = rule else {
        return "(không có: nút có nút con)".to_owned();
    };
    let mut text = format!("{}: {}", rule.kind().label_vi(), rule.describe_vi());
    if let RuleSpec::TieredPercent { zero_of_zero, .. }
    | RuleSpec::Proportional { zero_of_zero, .. }
    | RuleSpec::ProportionalFloor { zero_of_zero, .. } = rule
    {
        text.push_str(match zero_of_zero {
            ZeroOfZero::Full => "; 0/0 → điểm tối đa",
            ZeroOfZero::Zero => "; 0/0 → 0",
        });
    }
    text
}

/// A document field that scores depend on (the scale, the two maxima, the caps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetField {
    Scale,
    AppraisedMax,
    SurveyMax,
    BonusCap,
    PenaltyCap,
}

impl SetField {
    pub fn label_vi(self) -> &'static str {
        match self {
            SetField::Scale => "Thang điểm",
            SetField::AppraisedMax => "Điểm thẩm định tối đa",
            SetField::SurveyMax => "Điểm điều tra xã hội học tối đa",
            SetField::BonusCap => "Điểm thưởng tối đa",
            SetField::PenaltyCap => "Điểm trừ tối đa",
        }
    }
}

/// A set-level field, before → after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetChange {
    pub field: SetField,
    pub old: Points,
    pub new: Points,
}

impl SetChange {
    pub fn label_vi(&self) -> &'static str {
        self.field.label_vi()
    }

    pub fn old_vi(&self) -> String {
        self.old.exact_vi()
    }

    pub fn new_vi(&self) -> String {
        self.new.exact_vi()
    }
}

/// A bonus or penalty item as listed among the added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdjustmentBrief {
    pub code: String,
    pub kind: AdjustmentKind,
    pub title: String,
    pub max: Points,
}

impl AdjustmentBrief {
    fn of(item: &AdjustmentDoc) -> AdjustmentBrief {
        AdjustmentBrief {
            code: item.code.clone(),
            kind: item.kind,
            title: item.title.clone(),
            max: item.max,
        }
    }

    pub fn kind_vi(&self) -> &'static str {
        self.kind.label_vi()
    }
}

/// One changed property of a bonus or penalty item, before → after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum AdjustmentFieldChange {
    Kind {
        old: AdjustmentKind,
        new: AdjustmentKind,
    },
    Title {
        old: String,
        new: String,
    },
    Max {
        old: Points,
        new: Points,
    },
    Method {
        old: Option<String>,
        new: Option<String>,
    },
}

impl AdjustmentFieldChange {
    pub fn label_vi(&self) -> &'static str {
        match self {
            AdjustmentFieldChange::Kind { .. } => "Loại (thưởng / trừ)",
            AdjustmentFieldChange::Title { .. } => "Tên",
            AdjustmentFieldChange::Max { .. } => "Điểm tối đa",
            AdjustmentFieldChange::Method { .. } => "Cách chấm điểm",
        }
    }

    pub fn old_vi(&self) -> String {
        self.values_vi().0
    }

    pub fn new_vi(&self) -> String {
        self.values_vi().1
    }

    fn values_vi(&self) -> (String, String) {
        match self {
            AdjustmentFieldChange::Kind { old, new } => {
                (old.label_vi().to_owned(), new.label_vi().to_owned())
            }
            AdjustmentFieldChange::Title { old, new } => (old.clone(), new.clone()),
            AdjustmentFieldChange::Max { old, new } => (old.exact_vi(), new.exact_vi()),
            AdjustmentFieldChange::Method { old, new } => {
                (text_vi(old.as_deref()), text_vi(new.as_deref()))
            }
        }
    }
}

/// A bonus or penalty item present in both sets (by code) that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdjustmentChange {
    pub code: String,
    pub changes: Vec<AdjustmentFieldChange>,
}

/// A node present in both sets (same code, or paired by the mapping) that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeChange {
    pub old_code: String,
    pub new_code: String,
    pub changes: Vec<Change>,
}

/// The differences between two sets, each list in code order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SetDiff {
    /// In the new set only (by new code).
    pub added: Vec<NodeBrief>,
    /// In the old set only (by old code).
    pub removed: Vec<NodeBrief>,
    /// Paired and different (by old code).
    pub changed: Vec<NodeChange>,
    /// The scale, maxima and caps that differ, in document order.
    pub set_changes: Vec<SetChange>,
    /// Bonus and penalty items in the new set only, in the new set's order.
    pub adjustments_added: Vec<AdjustmentBrief>,
    /// Bonus and penalty items in the old set only, in the old set's order.
    pub adjustments_removed: Vec<AdjustmentBrief>,
    /// Bonus and penalty items in both (same code) that changed, in the old set's order.
    pub adjustments_changed: Vec<AdjustmentChange>,
}

impl SetDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.set_changes.is_empty()
            && self.adjustments_added.is_empty()
            && self.adjustments_removed.is_empty()
            && self.adjustments_changed.is_empty()
    }
}

/// The differences from `old` to `new`, pairing nodes by identical code.
pub fn diff(old: &IndexSet, new: &IndexSet) -> SetDiff {
    diff_with(old, new, &CodeMapping::default())
}

/// The differences from `old` to `new`, pairing nodes through `mapping` first and by
/// identical code otherwise (a code that is the target of a mapping pairs only through it).
/// Bonus and penalty items pair by code (the mapping is about the tree); the set's scale,
/// maxima and caps are compared as well, since they change every unit's total.
pub fn diff_with(old: &IndexSet, new: &IndexSet, mapping: &CodeMapping) -> SetDiff {
    let mapped_targets: HashSet<&str> = mapping.0.values().map(String::as_str).collect();
    let mut paired_new: HashSet<usize> = HashSet::new();
    let mut result = SetDiff::default();
    for before in old.nodes() {
        let counterpart = match mapping.get(&before.code) {
            Some(target) => new.index_of(target),
            None if mapped_targets.contains(before.code.as_str()) => None,
            None => new.index_of(&before.code),
        };
        let Some(index) = counterpart else {
            result.removed.push(NodeBrief::of(before));
            continue;
        };
        paired_new.insert(index);
        let after = &new.nodes()[index];
        let changes = changes(before, after);
        if !changes.is_empty() {
            result.changed.push(NodeChange {
                old_code: before.code.clone(),
                new_code: after.code.clone(),
                changes,
            });
        }
    }
    for (index, after) in new.nodes().iter().enumerate() {
        if !paired_new.contains(&index) {
            result.added.push(NodeBrief::of(after));
        }
    }
    result.added.sort_by(|a, b| compare_codes(&a.code, &b.code));
    result
        .removed
        .sort_by(|a, b| compare_codes(&a.code, &b.code));
    result
        .changed
        .sort_by(|a, b| compare_codes(&a.old_code, &b.old_code));
    result.set_changes = set_changes(old, new);
    diff_adjustments(&old.doc().adjustments, &new.doc().adjustments, &mut result);
    result
}

fn set_changes(old: &IndexSet, new: &IndexSet) -> Vec<SetChange> {
    let (a, b) = (old.doc(), new.doc());
    [
        (SetField::Scale, a.scale, b.scale),
        (SetField::AppraisedMax, a.appraised_max, b.appraised_max),
        (SetField::SurveyMax, a.survey_max, b.survey_max),
        (SetField::BonusCap, a.bonus_cap, b.bonus_cap),
        (SetField::PenaltyCap, a.penalty_cap, b.penalty_cap),
    ]
    .into_iter()
    .filter(|(_, old, new)| old != new)
    .map(|(field, old, new)| SetChange { field, old, new })
    .collect()
}

fn diff_adjustments(old: &[AdjustmentDoc], new: &[AdjustmentDoc], result: &mut SetDiff) {
    let find =
        |items: &'_ [AdjustmentDoc], code: &str| items.iter().position(|item| item.code == code);
    for before in old {
        let Some(index) = find(new, &before.code) else {
            result.adjustments_removed.push(AdjustmentBrief::of(before));
            continue;
        };
        let after = &new[index];
        let mut changes = Vec::new();
        if before.kind != after.kind {
            changes.push(AdjustmentFieldChange::Kind {
                old: before.kind,
                new: after.kind,
            });
        }
        if before.title != after.title {
            changes.push(AdjustmentFieldChange::Title {
                old: before.title.clone(),
                new: after.title.clone(),
            });
        }
        if before.max != after.max {
            changes.push(AdjustmentFieldChange::Max {
                old: before.max,
                new: after.max,
            });
        }
        if before.method != after.method {
            changes.push(AdjustmentFieldChange::Method {
                old: before.method.clone(),
                new: after.method.clone(),
            });
        }
        if !changes.is_empty() {
            result.adjustments_changed.push(AdjustmentChange {
                code: before.code.clone(),
                changes,
            });
        }
    }
    for after in new {
        if find(old, &after.code).is_none() {
            result.adjustments_added.push(AdjustmentBrief::of(after));
        }
    }
}

fn changes(old: &Node, new: &Node) -> Vec<Change> {
    let mut out = Vec::new();
    if old.code != new.code {
        out.push(Change::Code {
            old: old.code.clone(),
            new: new.code.clone(),
        });
    }
    if old.title != new.title {
        out.push(Change::Title {
            old: old.title.clone(),
            new: new.title.clone(),
        });
    }
    if old.title_en != new.title_en {
        out.push(Change::TitleEn {
            old: old.title_en.clone(),
            new: new.title_en.clone(),
        });
    }
    if old.max != new.max {
        out.push(Change::Max {
            old: old.max,
            new: new.max,
        });
    }
    if old.sum_exempt != new.sum_exempt {
        out.push(Change::SumExempt {
            old: old.sum_exempt,
            new: new.sum_exempt,
        });
    }
    if old.rule != new.rule {
        out.push(Change::Rule {
            old: old.rule.clone(),
            new: new.rule.clone(),
        });
    }
    if old.method != new.method {
        out.push(Change::Method {
            old: old.method.clone(),
            new: new.method.clone(),
        });
    }
    if old.evidence != new.evidence {
        out.push(Change::Evidence {
            old: old.evidence.clone(),
            new: new.evidence.clone(),
        });
    }
    if old.applies_to != new.applies_to {
        out.push(Change::AppliesTo {
            old: old.applies_to.clone(),
            new: new.applies_to.clone(),
        });
    }
    if old.not_applicable_allowed != new.not_applicable_allowed {
        out.push(Change::NotApplicableAllowed {
            old: old.not_applicable_allowed,
            new: new.not_applicable_allowed,
        });
    }
    out
}
