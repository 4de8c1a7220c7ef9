//! What changed between two sets (last year's and this year's, or two versions of a draft),
//! and the old → new code mapping that pairs renumbered nodes.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::{IndexSet, Node, Problem, ValidationReport};
use crate::Points;
use crate::rules::RuleSpec;

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
}

impl SetDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The differences from `old` to `new`, pairing nodes by identical code.
pub fn diff(old: &IndexSet, new: &IndexSet) -> SetDiff {
    diff_with(old, new, &CodeMapping::default())
}

/// The differences from `old` to `new`, pairing nodes through `mapping` first and by
/// identical code otherwise (a code that is the target of a mapping pairs only through it).
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
    result
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
