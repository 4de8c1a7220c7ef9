//! The index-set pages' view models.

use askama::Template;
use parindex_app::index_sets::SetDetail;
use parindex_domain::IndexSetDoc;
use parindex_domain::index_set::{NodeDoc, SetDiff, level_name_vi};
use parindex_domain::rules::LeafSource;
use parindex_store::index_sets::{SetStatus, StoredIndexSet};

use super::forms::{MetaForm, NodeForm};
use crate::i18n::Lang;
use crate::page::{Page, datetime_vi};

#[derive(Template)]
#[template(path = "index_sets/index_sets_list.html")]
pub struct ListPage {
    pub p: Page,
    pub sets: Vec<StoredIndexSet>,
    pub can_manage: bool,
    pub error: Option<String>,
}

impl ListPage {
    fn is_published(&self, set: &StoredIndexSet) -> bool {
        set.status == SetStatus::Published
    }
}

/// One row of the tree view.
pub struct TreeRow {
    pub code: String,
    pub title: String,
    pub level: usize,
    pub max: String,
    pub is_leaf: bool,
    pub kind: String,
    pub rule: String,
    pub source: String,
    pub method: String,
    pub evidence: String,
    pub applies_to: String,
    pub not_applicable_allowed: bool,
}

/// A domain and the rows under it (each domain is a collapsible block).
pub struct DomainBlock {
    pub head: TreeRow,
    pub rows: Vec<TreeRow>,
}

/// How many nodes one level of the tree has.
pub struct LevelCount {
    pub level: String,
    pub count: usize,
}

/// A bonus or penalty item, for the table.
pub struct AdjustmentRow {
    pub code: String,
    pub kind: String,
    pub title: String,
    pub max: String,
    pub method: String,
}

#[derive(Template)]
#[template(path = "index_sets/index_set_show.html")]
pub struct ShowPage {
    pub p: Page,
    pub set: StoredIndexSet,
    pub doc: IndexSetDoc,
    pub summary: Option<String>,
    pub level_counts: Vec<LevelCount>,
    pub kinds: String,
    pub problems: Vec<String>,
    /// Valid, but where a unit can be hurt (an unguarded division): shown before publication.
    pub warnings: Vec<String>,
    pub domains: Vec<DomainBlock>,
    pub adjustments: Vec<AdjustmentRow>,
    pub can_manage: bool,
    pub is_draft: bool,
    pub other_sets: Vec<StoredIndexSet>,
    pub mapping_count: usize,
    pub mapping_text: String,
    pub mapping_from: Option<i64>,
    pub error: Option<String>,
}

impl ShowPage {
    /// The page of a set, from what the use case loaded.
    pub fn new(
        mut p: Page,
        detail: SetDetail,
        can_manage: bool,
        error: Option<String>,
    ) -> ShowPage {
        let SetDetail {
            set,
            doc,
            validation,
            mappings,
            other_sets,
        } = detail;
        p.title = format!("{} — {}", set.code, set.title);
        let (summary, level_counts, kinds, problems, warnings) = match validation {
            Ok(valid) => {
                let s = valid.summary();
                let counts = (s.counts_per_level.iter().enumerate())
                    .map(|(i, n)| LevelCount {
                        level: level_name_vi(i + 1),
                        count: *n,
                    })
                    .collect();
                let warnings = valid.warnings().iter().map(|w| w.to_string()).collect();
                (
                    Some(s.to_string()),
                    counts,
                    s.kinds_vi(),
                    Vec::new(),
                    warnings,
                )
            }
            Err(problems) => (None, Vec::new(), String::new(), problems, Vec::new()),
        };
        let adjustments = (doc.adjustments.iter())
            .map(|a| AdjustmentRow {
                code: a.code.clone(),
                kind: a.kind.label_vi().to_owned(),
                title: a.title.clone(),
                max: a.max.exact_vi(),
                method: a.method.clone().unwrap_or_default(),
            })
            .collect();
        ShowPage {
            domains: rows_of(p.lang, &doc),
            p,
            adjustments,
            summary,
            level_counts,
            kinds,
            problems,
            warnings,
            can_manage,
            is_draft: set.status == SetStatus::Draft,
            other_sets,
            mapping_count: mappings.len(),
            mapping_text: mapping_lines(&mappings),
            mapping_from: mappings
                .first()
                .map(|(from, _, _)| *from)
                .or(set.cloned_from),
            set,
            doc,
            error,
        }
    }

    /// When the set was published, for the status line.
    fn published_when(&self) -> String {
        self.set.published_at.map(datetime_vi).unwrap_or_default()
    }
}

/// Renders a set's mapping for the page (old → new per line).
fn mapping_lines(pairs: &[(i64, String, String)]) -> String {
    pairs
        .iter()
        .map(|(_, a, b)| format!("{a} → {b}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn tree_row(lang: Lang, node: &NodeDoc, level: usize) -> TreeRow {
    let (kind, rule, source) = match &node.rule {
        Some(rule) => {
            let source = match rule.source() {
                LeafSource::SelfAssessed => lang.t("sets.source_self").to_owned(),
                LeafSource::Survey => lang.t("sets.source_survey").to_owned(),
                LeafSource::External { provider } => lang.format(
                    "sets.source_external",
                    &[("provider", provider.to_string())],
                ),
            };
            (
                rule.kind().label_vi().to_owned(),
                rule.describe_vi(),
                source,
            )
        }
        None => (String::new(), String::new(), String::new()),
    };
    TreeRow {
        code: node.code.clone(),
        title: node.title.clone(),
        level,
        max: node.max.exact_vi(),
        is_leaf: node.children.is_empty(),
        kind,
        rule,
        source,
        method: node.method.clone().unwrap_or_default(),
        evidence: node.evidence.clone().unwrap_or_default(),
        applies_to: node.applies_to.join(", "),
        not_applicable_allowed: node.not_applicable_allowed,
    }
}

fn rows_of(lang: Lang, doc: &IndexSetDoc) -> Vec<DomainBlock> {
    doc.nodes
        .iter()
        .map(|domain| {
            let mut rows = Vec::new();
            // Depth-first, in document order, without recursion.
            let mut stack: Vec<(&NodeDoc, usize)> =
                domain.children.iter().rev().map(|c| (c, 2)).collect();
            while let Some((node, level)) = stack.pop() {
                rows.push(tree_row(lang, node, level));
                stack.extend(node.children.iter().rev().map(|c| (c, level + 1)));
            }
            DomainBlock {
                head: tree_row(lang, domain, 1),
                rows,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "index_sets/index_set_node.html")]
pub struct NodePage {
    pub p: Page,
    pub set: StoredIndexSet,
    pub form: NodeForm,
    pub is_leaf: bool,
    pub error: Option<String>,
}

impl NodeForm {
    /// The form of a stored node.
    pub fn from_node(node: &NodeDoc, version: i64) -> NodeForm {
        NodeForm {
            code: node.code.clone(),
            title: node.title.clone(),
            title_en: node.title_en.clone().unwrap_or_default(),
            max: node.max.exact_vi(),
            method: node.method.clone().unwrap_or_default(),
            evidence: node.evidence.clone().unwrap_or_default(),
            applies_to: node.applies_to.join(", "),
            not_applicable_allowed: node.not_applicable_allowed.then(|| "1".into()),
            sum_exempt: node.sum_exempt.then(|| "1".into()),
            rule: (node.rule.as_ref())
                .map(parindex_formats::rule_text)
                .unwrap_or_default(),
            version: version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "index_sets/index_set_diff.html")]
pub struct DiffPage {
    pub p: Page,
    pub old: StoredIndexSet,
    pub new: StoredIndexSet,
    pub diff: SetDiff,
    pub mapped: usize,
}

#[derive(Template)]
#[template(path = "index_sets/index_set_format.html")]
pub struct FormatPage {
    pub p: Page,
    pub text: &'static str,
}

#[derive(Template)]
#[template(path = "index_sets/index_set_meta.html")]
pub struct MetaPage {
    pub p: Page,
    pub set: StoredIndexSet,
    pub form: MetaForm,
    pub error: Option<String>,
}

impl MetaForm {
    /// The form of a stored set's own fields.
    pub fn from_doc(doc: &IndexSetDoc, version: i64) -> MetaForm {
        MetaForm {
            code: doc.code.clone(),
            title: doc.title.clone(),
            title_en: doc.title_en.clone().unwrap_or_default(),
            year: doc.year.to_string(),
            unit_group: doc.unit_group.clone(),
            illustrative: doc.illustrative.then(|| "1".into()),
            source_document: doc.source_document.clone().unwrap_or_default(),
            scale: doc.scale.exact_vi(),
            appraised_max: doc.appraised_max.exact_vi(),
            survey_max: doc.survey_max.exact_vi(),
            bonus_cap: doc.bonus_cap.exact_vi(),
            penalty_cap: doc.penalty_cap.exact_vi(),
            version: version.to_string(),
        }
    }
}
