//! Index sets (bộ chỉ số): list, import (YAML or Excel), create, edit nodes, the set's own
//! fields and its bonus / penalty items, validate, publish, clone, export, diff and old → new
//! code mappings. Every rule is checked here; a published set is immutable (the store
//! refuses too, whatever the page sends).

use parindex_domain::index_set::{
    AdjustmentDoc, AdjustmentKind, CodeMapping, NodeDoc, SetDiff, diff_with,
};
use parindex_domain::rules::RuleSpec;
use parindex_domain::{Action, IndexSet, IndexSetDoc, Points};
use parindex_store::StoreError;
use parindex_store::index_sets::{IndexSetContent, SetStatus, StoredIndexSet};

use crate::error::Message;
use crate::sessions::SessionInfo;
use crate::{App, AppError};

/// A new empty set as typed.
#[derive(Debug, Clone, Default)]
pub struct NewSetInput {
    pub code: String,
    pub title: String,
    pub year: String,
    pub unit_group: String,
}

/// One node's fields as typed; the rule is its text form (`kind: …` plus parameters).
#[derive(Debug, Clone, Default)]
pub struct NodeInput {
    pub title: String,
    pub title_en: String,
    pub max: String,
    pub method: String,
    pub evidence: String,
    /// Comma-separated unit-group codes.
    pub applies_to: String,
    pub not_applicable_allowed: bool,
    pub sum_exempt: bool,
    pub rule: String,
}

/// A node to add at the end of its parent's children.
#[derive(Debug, Clone, Default)]
pub struct NewNodeInput {
    /// Empty for a new domain.
    pub parent: String,
    pub title: String,
    pub max: String,
}

/// The set's own fields as typed.
#[derive(Debug, Clone, Default)]
pub struct MetaInput {
    pub code: String,
    pub title: String,
    pub title_en: String,
    pub year: String,
    pub unit_group: String,
    pub illustrative: bool,
    pub source_document: String,
    pub scale: String,
    pub appraised_max: String,
    pub survey_max: String,
    pub bonus_cap: String,
    pub penalty_cap: String,
}

/// A bonus or penalty item as typed.
#[derive(Debug, Clone, Default)]
pub struct AdjustmentInput {
    pub code: String,
    pub kind: Option<AdjustmentKind>,
    pub title: String,
    pub max: String,
    pub method: String,
}

/// A stored set with its document and what validation says of it.
#[derive(Debug)]
pub struct SetDetail {
    pub set: StoredIndexSet,
    pub doc: IndexSetDoc,
    /// The valid set, or its problems (a draft may be invalid while being built).
    pub validation: Result<IndexSet, Vec<String>>,
    /// The set's old → new code pairs: (from set, old code, new code).
    pub mappings: Vec<(i64, String, String)>,
    /// Every other set, to compare or map with.
    pub other_sets: Vec<StoredIndexSet>,
}

/// Two sets and what changed between them.
#[derive(Debug)]
pub struct SetComparison {
    pub old: StoredIndexSet,
    pub new: StoredIndexSet,
    pub diff: SetDiff,
    /// How many code pairs the mapping contributed.
    pub mapped: usize,
}

/// The file formats a set is exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Yaml,
    Xlsx,
}

/// A set's code: 2–40 characters of A–Z, 0–9, `_`, `-`, `.` (already upper-cased).
fn is_set_code(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

/// A year typed in a form, within the range sets are made for.
fn parse_year(typed: &str) -> Option<i32> {
    typed
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
}

/// A maximum: non-negative, at most three decimals.
fn parse_max(typed: &str) -> Option<Points> {
    Points::parse(typed).filter(|p| !p.is_negative() && p.decimal_places() <= 3)
}

/// A title with its whitespace collapsed.
fn clean_title(typed: &str) -> String {
    typed.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn refuse(key: &'static str) -> AppError {
    AppError::invalid(Message::key(key))
}

/// The document of a stored set.
fn load_doc(stored: &StoredIndexSet) -> Result<IndexSetDoc, AppError> {
    serde_json::from_str(&stored.definition)
        .map_err(|e| AppError::internal(format!("stored index set {}: {e}", stored.id)))
}

/// What the store keeps for a document: its canonical JSON and the list columns.
fn content_of(doc: &IndexSetDoc) -> Result<IndexSetContent, AppError> {
    Ok(IndexSetContent {
        code: doc.code.clone(),
        year: i64::from(doc.year),
        unit_group: doc.unit_group.clone(),
        title: doc.title.clone(),
        illustrative: doc.illustrative,
        definition: serde_json::to_string(doc).map_err(AppError::internal)?,
        node_count: count_nodes(&doc.nodes) as i64,
    })
}

fn count_nodes(nodes: &[NodeDoc]) -> usize {
    // Iterative: a hostile document must not exhaust the stack here either.
    let mut stack: Vec<&NodeDoc> = nodes.iter().collect();
    let mut count = 0;
    while let Some(node) = stack.pop() {
        count += 1;
        stack.extend(node.children.iter());
    }
    count
}

/// Finds a node by code anywhere in the tree, for editing.
fn find_node_mut<'a>(nodes: &'a mut [NodeDoc], code: &str) -> Option<&'a mut NodeDoc> {
    for node in nodes.iter_mut() {
        if node.code == code {
            return Some(node);
        }
        if code.starts_with(&format!("{}.", node.code)) {
            return find_node_mut(&mut node.children, code);
        }
    }
    None
}

/// The children list a node with `code` belongs in (the top level for a domain).
fn siblings_mut<'a>(nodes: &'a mut Vec<NodeDoc>, code: &str) -> Option<&'a mut Vec<NodeDoc>> {
    match code.rsplit_once('.') {
        None => Some(nodes),
        Some((parent, _)) => find_node_mut(nodes, parent).map(|p| &mut p.children),
    }
}

/// Parses "old → new" (or "old new", "old -> new", "old, new") lines into pairs.
fn parse_mapping_lines(text: &str) -> Result<Vec<(String, String)>, AppError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let cleaned = line.replace("→", " ").replace("->", " ").replace(',', " ");
        let parts: Vec<&str> = cleaned.split_whitespace().collect();
        match parts.as_slice() {
            [] => {}
            [a, b] => pairs.push(((*a).to_owned(), (*b).to_owned())),
            _ => {
                return Err(AppError::invalid(
                    Message::key("sets.mapping_bad_line_n")
                        .arg("line", (n + 1).to_string())
                        .arg("text", line.trim()),
                ));
            }
        }
    }
    Ok(pairs)
}

impl App {
    /// Every set, drafts and published.
    pub async fn list_index_sets(
        &self,
        session: &SessionInfo,
    ) -> Result<Vec<StoredIndexSet>, AppError> {
        session.require(Action::ViewIndexSets)?;
        Ok(self.store.list_index_sets().await?)
    }

    /// The unit-group codes of the registry, for validating `applies_to` and the set's group.
    async fn known_groups(&self) -> Result<Vec<String>, AppError> {
        Ok(self
            .store
            .list_groups()
            .await?
            .into_iter()
            .map(|g| g.code)
            .collect())
    }

    /// Validates a document against the registry's groups.
    async fn validate_set(
        &self,
        doc: &IndexSetDoc,
    ) -> Result<Result<IndexSet, Vec<String>>, AppError> {
        let groups = self.known_groups().await?;
        let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        Ok(IndexSet::from_doc(doc, Some(&refs))
            .map_err(|report| report.problems.iter().map(|p| p.to_string()).collect()))
    }

    async fn store_new_set(
        &self,
        session: &SessionInfo,
        doc: &IndexSetDoc,
        cloned_from: Option<i64>,
    ) -> Result<StoredIndexSet, AppError> {
        let content = content_of(doc)?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        let stored = tx.create_index_set(&content, cloned_from).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// A draft to edit: published sets are immutable.
    async fn draft_doc(&self, id: i64) -> Result<(StoredIndexSet, IndexSetDoc), AppError> {
        let set = self.store.get_index_set(id).await?;
        if set.status != SetStatus::Draft {
            return Err(refuse("sets.published_immutable"));
        }
        let doc = load_doc(&set)?;
        Ok((set, doc))
    }

    /// Saves a draft's document over `version`.
    async fn save_doc(
        &self,
        session: &SessionInfo,
        id: i64,
        version: i64,
        doc: &IndexSetDoc,
    ) -> Result<(), AppError> {
        let content = content_of(doc)?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        match tx.save_index_set(id, version, &content).await {
            Ok(_) => {
                tx.commit().await?;
                Ok(())
            }
            Err(StoreError::Stale) => Err(AppError::Conflict {
                message: Message::key("sets.stale"),
                current_version: None,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Imports a YAML or Excel file as a new draft; its validation report is on its page.
    pub async fn import_index_set(
        &self,
        session: &SessionInfo,
        bytes: &[u8],
    ) -> Result<StoredIndexSet, AppError> {
        session.require(Action::ManageIndexSets)?;
        let doc = parindex_formats::parse_index_set_file(bytes)
            .map_err(|e| AppError::invalid(e.to_string()))?;
        self.store_new_set(session, &doc, None).await
    }

    /// Loads the shipped illustrative sets as drafts (those whose code is not there yet).
    pub async fn load_shipped_index_sets(&self, session: &SessionInfo) -> Result<usize, AppError> {
        session.require(Action::ManageIndexSets)?;
        let mut created = 0;
        for (name, yaml) in crate::shipped::SHIPPED_INDEX_SETS {
            let doc = parindex_formats::parse_index_set_file(yaml.as_bytes())
                .map_err(|e| AppError::internal(format!("shipped set {name}: {e}")))?;
            if self
                .store
                .find_index_set_by_code(&doc.code)
                .await?
                .is_none()
            {
                self.store_new_set(session, &doc, None).await?;
                created += 1;
            }
        }
        if created == 0 {
            return Err(refuse("sets.shipped_already"));
        }
        Ok(created)
    }

    /// Creates an empty draft to be filled node by node.
    pub async fn create_index_set(
        &self,
        session: &SessionInfo,
        form: &NewSetInput,
    ) -> Result<StoredIndexSet, AppError> {
        session.require(Action::ManageIndexSets)?;
        let code = form.code.trim().to_uppercase();
        let title = clean_title(&form.title);
        let year = parse_year(&form.year);
        let groups = self.known_groups().await?;
        if !is_set_code(&code) {
            return Err(refuse("sets.bad_code"));
        } else if title.chars().count() < 2 {
            return Err(refuse("sets.bad_title"));
        }
        let Some(year) = year else {
            return Err(refuse("sets.bad_year"));
        };
        if !groups.contains(&form.unit_group) {
            return Err(refuse("sets.bad_group"));
        }
        let doc = IndexSetDoc {
            format: parindex_domain::index_set::FORMAT.into(),
            code,
            title,
            title_en: None,
            year,
            unit_group: form.unit_group.clone(),
            illustrative: false,
            source_document: None,
            scale: Points::from_int(100),
            appraised_max: Points::from_int(75),
            survey_max: Points::from_int(25),
            bonus_cap: Points::ZERO,
            penalty_cap: Points::ZERO,
            nodes: Vec::new(),
            adjustments: Vec::new(),
        };
        self.store_new_set(session, &doc, None).await
    }

    /// One set with its validation, mappings and the other sets.
    pub async fn index_set_detail(
        &self,
        session: &SessionInfo,
        id: i64,
    ) -> Result<SetDetail, AppError> {
        session.require(Action::ViewIndexSets)?;
        let set = self.store.get_index_set(id).await?;
        let doc = load_doc(&set)?;
        let validation = self.validate_set(&doc).await?;
        let mappings = self.store.code_mappings(id).await?;
        let other_sets = self
            .store
            .list_index_sets()
            .await?
            .into_iter()
            .filter(|s| s.id != id)
            .collect();
        Ok(SetDetail {
            set,
            doc,
            validation,
            mappings,
            other_sets,
        })
    }

    /// Publishes a draft, but only a valid one.
    pub async fn publish_index_set(
        &self,
        session: &SessionInfo,
        id: i64,
        version: i64,
    ) -> Result<(), AppError> {
        session.require(Action::ManageIndexSets)?;
        let set = self.store.get_index_set(id).await?;
        let doc = load_doc(&set)?;
        if let Err(problems) = self.validate_set(&doc).await? {
            return Err(AppError::invalid(
                Message::key("sets.invalid_cannot_publish_n")
                    .arg("count", problems.len().to_string()),
            ));
        }
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.publish_index_set(id, version).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Clones a set (typically last year's) into a new draft with a new code and year.
    pub async fn clone_index_set(
        &self,
        session: &SessionInfo,
        id: i64,
        code: &str,
        year: &str,
    ) -> Result<StoredIndexSet, AppError> {
        session.require(Action::ManageIndexSets)?;
        let source = self.store.get_index_set(id).await?;
        let mut doc = load_doc(&source)?;
        let code = code.trim().to_uppercase();
        if !is_set_code(&code) {
            return Err(refuse("sets.bad_code"));
        }
        let Some(year) = parse_year(year) else {
            return Err(refuse("sets.bad_year"));
        };
        doc.code = code;
        doc.year = year;
        self.store_new_set(session, &doc, Some(id)).await
    }

    /// Deletes a draft.
    pub async fn delete_index_set(
        &self,
        session: &SessionInfo,
        id: i64,
        version: i64,
    ) -> Result<(), AppError> {
        session.require(Action::ManageIndexSets)?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.delete_draft_index_set(id, version).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The set as a file: its lower-cased code (for the file name) and the bytes.
    pub async fn export_index_set(
        &self,
        session: &SessionInfo,
        id: i64,
        format: ExportFormat,
    ) -> Result<(String, Vec<u8>), AppError> {
        session.require(Action::ViewIndexSets)?;
        let set = self.store.get_index_set(id).await?;
        let doc = load_doc(&set)?;
        let body = match format {
            ExportFormat::Yaml => parindex_formats::write_index_set_yaml(&doc)
                .map_err(AppError::internal)?
                .into_bytes(),
            ExportFormat::Xlsx => {
                parindex_formats::write_index_set_xlsx(&doc).map_err(AppError::internal)?
            }
        };
        Ok((set.code.to_lowercase(), body))
    }

    /// One node of a draft, to edit.
    pub async fn index_set_node(
        &self,
        session: &SessionInfo,
        id: i64,
        code: &str,
    ) -> Result<(StoredIndexSet, NodeDoc), AppError> {
        session.require(Action::ManageIndexSets)?;
        let (set, mut doc) = self.draft_doc(id).await?;
        let node = find_node_mut(&mut doc.nodes, code).ok_or(AppError::NotFound)?;
        Ok((set, node.clone()))
    }

    /// Saves one node of a draft; the whole set is re-validated on its page afterwards (a
    /// draft may be invalid while it is being built; publishing requires it valid).
    pub async fn save_index_set_node(
        &self,
        session: &SessionInfo,
        id: i64,
        code: &str,
        form: &NodeInput,
        version: Option<i64>,
    ) -> Result<(), AppError> {
        session.require(Action::ManageIndexSets)?;
        let (_, mut doc) = self.draft_doc(id).await?;
        let node = find_node_mut(&mut doc.nodes, code).ok_or(AppError::NotFound)?;
        let is_leaf = node.children.is_empty();
        let max = parse_max(&form.max).ok_or_else(|| refuse("sets.bad_max"))?;
        let title = clean_title(&form.title);
        if title.chars().count() < 2 {
            return Err(refuse("sets.bad_title"));
        }
        let rule: Option<RuleSpec> = if is_leaf {
            Some(
                parindex_formats::parse_rule_text(&form.rule)
                    .map_err(|e| AppError::invalid(e.to_string()))?,
            )
        } else {
            None
        };
        node.title = title;
        node.title_en = non_empty(&form.title_en);
        node.max = max;
        node.method = non_empty(&form.method);
        node.evidence = non_empty(&form.evidence);
        node.applies_to = form
            .applies_to
            .split(',')
            .map(|g| g.trim().to_uppercase())
            .filter(|g| !g.is_empty())
            .collect();
        node.not_applicable_allowed = form.not_applicable_allowed;
        node.sum_exempt = form.sum_exempt;
        node.rule = rule;
        let version = version.ok_or_else(|| refuse("sets.stale"))?;
        self.save_doc(session, id, version, &doc).await
    }

    /// Adds a node at the end of its parent's children (or a new domain), numbered next;
    /// returns its code.
    pub async fn add_index_set_node(
        &self,
        session: &SessionInfo,
        id: i64,
        form: &NewNodeInput,
        version: i64,
    ) -> Result<String, AppError> {
        session.require(Action::ManageIndexSets)?;
        let (_, mut doc) = self.draft_doc(id).await?;
        let title = clean_title(&form.title);
        let max = parse_max(&form.max).ok_or_else(|| refuse("sets.bad_max"))?;
        if title.chars().count() < 2 {
            return Err(refuse("sets.bad_title"));
        }
        let parent = form.parent.trim().to_owned();
        let siblings = if parent.is_empty() {
            &mut doc.nodes
        } else {
            let node = find_node_mut(&mut doc.nodes, &parent).ok_or(AppError::NotFound)?;
            // A leaf that gets children stops being scored itself.
            node.rule = None;
            &mut node.children
        };
        let next = siblings
            .iter()
            .filter_map(|n| {
                n.code
                    .rsplit('.')
                    .next()
                    .and_then(|last| last.parse::<u32>().ok())
            })
            .max()
            .unwrap_or(0)
            + 1;
        let code = if parent.is_empty() {
            next.to_string()
        } else {
            format!("{parent}.{next}")
        };
        let mut node = NodeDoc::new(code.clone(), title, max);
        node.rule = Some(RuleSpec::Binary);
        siblings.push(node);
        self.save_doc(session, id, version, &doc).await?;
        Ok(code)
    }

    /// Deletes a node of a draft, with its children.
    pub async fn delete_index_set_node(
        &self,
        session: &SessionInfo,
        id: i64,
        code: &str,
        version: i64,
    ) -> Result<(), AppError> {
        session.require(Action::ManageIndexSets)?;
        let (_, mut doc) = self.draft_doc(id).await?;
        let siblings = siblings_mut(&mut doc.nodes, code).ok_or(AppError::NotFound)?;
        let before = siblings.len();
        siblings.retain(|n| n.code != code);
        if siblings.len() == before {
            return Err(AppError::NotFound);
        }
        self.save_doc(session, id, version, &doc).await
    }

    /// Lists added, removed and changed nodes between two sets, pairing codes through the new
    /// set's mapping from the old one when there is one.
    pub async fn compare_index_sets(
        &self,
        session: &SessionInfo,
        old: i64,
        new: i64,
    ) -> Result<SetComparison, AppError> {
        session.require(Action::ViewIndexSets)?;
        let old = self.store.get_index_set(old).await?;
        let new = self.store.get_index_set(new).await?;
        let (old_doc, new_doc) = (load_doc(&old)?, load_doc(&new)?);
        let invalid = |which: &StoredIndexSet| {
            AppError::invalid(
                Message::key("sets.diff_needs_valid_code").arg("code", which.code.clone()),
            )
        };
        let old_set = IndexSet::from_doc(&old_doc, None).map_err(|_| invalid(&old))?;
        let new_set = IndexSet::from_doc(&new_doc, None).map_err(|_| invalid(&new))?;
        let pairs: Vec<(String, String)> = self
            .store
            .code_mappings(new.id)
            .await?
            .into_iter()
            .filter(|(from, _, _)| *from == old.id)
            .map(|(_, a, b)| (a, b))
            .collect();
        let mapping = CodeMapping::new(
            pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            &old_set,
            &new_set,
        )
        .map_err(|e| AppError::invalid(e.to_string()))?;
        let diff = diff_with(&old_set, &new_set, &mapping);
        Ok(SetComparison {
            mapped: pairs.len(),
            old,
            new,
            diff,
        })
    }

    /// Records the old → new code pairs of a set, one "old → new" (or "old new") per line;
    /// both ends must exist in the two sets as they are.
    pub async fn save_code_mapping(
        &self,
        session: &SessionInfo,
        id: i64,
        from_set: i64,
        lines: &str,
    ) -> Result<(), AppError> {
        session.require(Action::ManageIndexSets)?;
        let target = self.store.get_index_set(id).await?;
        let source = self.store.get_index_set(from_set).await?;
        let pairs = parse_mapping_lines(lines)?;
        let old_set = IndexSet::from_doc(&load_doc(&source)?, None);
        let new_set = IndexSet::from_doc(&load_doc(&target)?, None);
        let (Ok(old_set), Ok(new_set)) = (&old_set, &new_set) else {
            return Err(refuse("sets.diff_needs_valid"));
        };
        CodeMapping::new(
            pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            old_set,
            new_set,
        )
        .map_err(|e| AppError::invalid(e.to_string()))?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.set_code_mapping(id, source.id, &pairs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A draft's own fields, to edit.
    pub async fn index_set_meta(
        &self,
        session: &SessionInfo,
        id: i64,
    ) -> Result<(StoredIndexSet, IndexSetDoc), AppError> {
        session.require(Action::ManageIndexSets)?;
        self.draft_doc(id).await
    }

    /// Saves a draft's own fields.
    pub async fn save_index_set_meta(
        &self,
        session: &SessionInfo,
        id: i64,
        form: &MetaInput,
        version: Option<i64>,
    ) -> Result<(), AppError> {
        session.require(Action::ManageIndexSets)?;
        let (_, mut doc) = self.draft_doc(id).await?;
        let code = form.code.trim().to_uppercase();
        let title = clean_title(&form.title);
        let year = parse_year(&form.year);
        let groups = self.known_groups().await?;
        let unit_group = form.unit_group.trim().to_uppercase();
        let maxima = (
            parse_max(&form.scale),
            parse_max(&form.appraised_max),
            parse_max(&form.survey_max),
            parse_max(&form.bonus_cap),
            parse_max(&form.penalty_cap),
        );
        if !is_set_code(&code) {
            return Err(refuse("sets.bad_code"));
        } else if title.chars().count() < 2 {
            return Err(refuse("sets.bad_title"));
        }
        let Some(year) = year else {
            return Err(refuse("sets.bad_year"));
        };
        if !groups.contains(&unit_group) {
            return Err(refuse("sets.bad_group"));
        }
        let (Some(scale), Some(appraised), Some(survey), Some(bonus), Some(penalty)) = maxima
        else {
            return Err(refuse("sets.bad_max"));
        };
        doc.code = code;
        doc.title = title;
        doc.title_en = non_empty(&form.title_en);
        doc.year = year;
        doc.unit_group = unit_group;
        doc.illustrative = form.illustrative;
        doc.source_document = non_empty(&form.source_document);
        doc.scale = scale;
        doc.appraised_max = appraised;
        doc.survey_max = survey;
        doc.bonus_cap = bonus;
        doc.penalty_cap = penalty;
        let version = version.ok_or_else(|| refuse("sets.stale"))?;
        self.save_doc(session, id, version, &doc).await
    }

    /// Adds a bonus or penalty item to a draft.
    pub async fn add_adjustment(
        &self,
        session: &SessionInfo,
        id: i64,
        form: &AdjustmentInput,
        version: i64,
    ) -> Result<(), AppError> {
        session.require(Action::ManageIndexSets)?;
        let (_, mut doc) = self.draft_doc(id).await?;
        let code = form.code.trim().to_uppercase();
        let title = clean_title(&form.title);
        if code.is_empty()
            || code.len() > 20
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(refuse("sets.bad_code"));
        }
        if doc.adjustments.iter().any(|a| a.code == code) {
            return Err(refuse("sets.adjustment_exists"));
        }
        let kind = form.kind.ok_or_else(|| refuse("sets.adjustment_kind"))?;
        let max = parse_max(&form.max).ok_or_else(|| refuse("sets.bad_max"))?;
        if title.chars().count() < 2 {
            return Err(refuse("sets.bad_title"));
        }
        doc.adjustments.push(AdjustmentDoc {
            code,
            kind,
            title,
            max,
            method: non_empty(&form.method),
        });
        self.save_doc(session, id, version, &doc).await
    }

    /// Removes a bonus or penalty item from a draft.
    pub async fn delete_adjustment(
        &self,
        session: &SessionInfo,
        id: i64,
        code: &str,
        version: i64,
    ) -> Result<(), AppError> {
        session.require(Action::ManageIndexSets)?;
        let (_, mut doc) = self.draft_doc(id).await?;
        let before = doc.adjustments.len();
        doc.adjustments.retain(|a| a.code != code);
        if doc.adjustments.len() == before {
            return Err(AppError::NotFound);
        }
        self.save_doc(session, id, version, &doc).await
    }
}
