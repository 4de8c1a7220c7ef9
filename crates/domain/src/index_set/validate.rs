//! Validation of an index-set document and construction of the validated tree. Everything
//! here walks the tree with explicit stacks: no recursion over nodes.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{
    AdjustmentKind, FORMAT, IndexSet, IndexSetDoc, MAX_DEPTH, MAX_NODES, MAX_SCALE, Node, NodeDoc,
    Problem, ValidationReport, ValidationSummary,
};
use crate::Points;
use crate::rules::RuleKind;
use crate::unit::GroupCode;

/// Longest title, and longest method or evidence text, a node may have.
const MAX_TITLE_CHARS: usize = 1000;
const MAX_TEXT_CHARS: usize = 10_000;

struct Problems(Vec<Problem>);

impl Problems {
    fn doc(&mut self, message: impl Into<String>) {
        self.0.push(Problem {
            code: None,
            message: message.into(),
        });
    }

    fn at(&mut self, code: &str, message: impl Into<String>) {
        self.0.push(Problem {
            code: Some(shorten(code)),
            message: message.into(),
        });
    }
}

/// A code as quoted in a message: hostile files may carry megabytes in one.
fn shorten(code: &str) -> String {
    const LIMIT: usize = 64;
    if code.chars().count() <= LIMIT {
        code.to_owned()
    } else {
        let mut s: String = code.chars().take(LIMIT).collect();
        s.push('…');
        s
    }
}

pub(super) fn build(
    doc: &IndexSetDoc,
    known_groups: Option<&[&str]>,
) -> Result<IndexSet, ValidationReport> {
    if let Some(problem) = check_bounds(&doc.nodes) {
        return Err(ValidationReport {
            problems: vec![problem],
        });
    }
    let mut problems = Problems(Vec::new());
    check_document(doc, known_groups, &mut problems);
    let (nodes, roots) = arena(&doc.nodes);
    let by_code = check_nodes(&nodes, known_groups, &mut problems);
    let summary = check_totals(doc, &nodes, &mut problems);
    check_adjustments(doc, &by_code, &mut problems);
    if !problems.0.is_empty() {
        return Err(ValidationReport {
            problems: problems.0,
        });
    }
    let leaves = (0..nodes.len()).filter(|&i| nodes[i].is_leaf()).collect();
    Ok(IndexSet {
        doc: doc.clone(),
        nodes,
        by_code,
        leaves,
        roots,
        summary,
    })
}

/// Refuses a tree over [`MAX_NODES`] nodes or [`MAX_DEPTH`] levels, looking at no more than
/// [`MAX_NODES`] nodes to find out.
pub(super) fn check_bounds(roots: &[NodeDoc]) -> Option<Problem> {
    let too_many = || Problem {
        code: None,
        message: format!(
            "Bộ chỉ số có quá nhiều nút (tối đa {} nút)",
            thousands(MAX_NODES)
        ),
    };
    let mut count = roots.len();
    if count > MAX_NODES {
        return Some(too_many());
    }
    let mut stack: Vec<(&NodeDoc, usize)> = roots.iter().map(|n| (n, 1)).collect();
    while let Some((node, level)) = stack.pop() {
        if node.children.is_empty() {
            continue;
        }
        if level >= MAX_DEPTH {
            return Some(Problem {
                code: Some(shorten(&node.code)),
                message: format!("Cây chỉ số sâu quá {MAX_DEPTH} cấp"),
            });
        }
        count += node.children.len();
        if count > MAX_NODES {
            return Some(too_many());
        }
        stack.extend(node.children.iter().map(|c| (c, level + 1)));
    }
    None
}

/// 20000 → "20.000", the Vietnamese thousands separator.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// The tree flattened in tree order, and the indices of the domains.
fn arena(roots: &[NodeDoc]) -> (Vec<Node>, Vec<usize>) {
    let mut nodes: Vec<Node> = Vec::new();
    let mut domains = Vec::new();
    let mut stack: Vec<(&NodeDoc, Option<usize>, usize)> =
        roots.iter().rev().map(|n| (n, None, 1)).collect();
    while let Some((doc, parent, level)) = stack.pop() {
        let index = nodes.len();
        let domain = parent.map_or(index, |p| nodes[p].domain);
        nodes.push(Node {
            code: doc.code.clone(),
            title: doc.title.clone(),
            title_en: doc.title_en.clone(),
            max: doc.max,
            sum_exempt: doc.sum_exempt,
            method: doc.method.clone(),
            evidence: doc.evidence.clone(),
            applies_to: doc.applies_to.clone(),
            not_applicable_allowed: doc.not_applicable_allowed,
            rule: doc.rule.clone(),
            level,
            parent,
            children: Vec::new(),
            domain,
        });
        match parent {
            Some(p) => nodes[p].children.push(index),
            None => domains.push(index),
        }
        stack.extend(
            doc.children
                .iter()
                .rev()
                .map(|c| (c, Some(index), level + 1)),
        );
    }
    (nodes, domains)
}

/// A code as the format wants it: 1–4 digit positive numbers, no leading zero, joined by dots.
fn well_formed_code(code: &str) -> bool {
    code.len() <= 64
        && code.split('.').all(|part| {
            !part.is_empty()
                && part.len() <= 4
                && part.bytes().all(|b| b.is_ascii_digit())
                && !part.starts_with('0')
        })
}

fn points_problem(what: &str, p: Points, allow_zero: bool) -> Option<String> {
    if p.is_negative() || (!allow_zero && p.is_zero()) {
        let bound = if allow_zero {
            "không được âm"
        } else {
            "phải lớn hơn 0"
        };
        return Some(format!("{what} {bound}"));
    }
    if p > Points::from_int(MAX_SCALE) {
        return Some(format!(
            "{what} quá lớn (tối đa {})",
            thousands(MAX_SCALE as usize)
        ));
    }
    if p.decimal_places() > 3 {
        return Some(format!(
            "{what} ({}) có quá 3 chữ số thập phân",
            p.exact_vi()
        ));
    }
    None
}

fn group_problem(group: &str, known_groups: Option<&[&str]>) -> Option<String> {
    match GroupCode::parse(group) {
        Ok(parsed) if parsed.as_str() == group => {}
        _ => {
            return Some(format!(
                "Mã nhóm «{}» không hợp lệ: 2–32 ký tự A–Z, 0–9, _ - .",
                shorten(group)
            ));
        }
    }
    if known_groups.is_some_and(|known| !known.contains(&group)) {
        return Some(format!(
            "Nhóm «{group}» không có trong danh mục nhóm đơn vị"
        ));
    }
    None
}

fn check_document(doc: &IndexSetDoc, known_groups: Option<&[&str]>, out: &mut Problems) {
    if doc.format != FORMAT {
        out.doc(format!(
            "Định dạng «{}» không được hỗ trợ; cần «{FORMAT}»",
            shorten(&doc.format)
        ));
    }
    let code_len = doc.code.chars().count();
    if !(2..=40).contains(&code_len)
        || !doc
            .code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
    {
        out.doc(format!(
            "Mã bộ chỉ số «{}» không hợp lệ: 2–40 ký tự A–Z, 0–9, _ - .",
            shorten(&doc.code)
        ));
    }
    if doc.title.trim().is_empty() {
        out.doc("Thiếu tên bộ chỉ số (title)");
    } else if doc.title.chars().count() > MAX_TITLE_CHARS {
        out.doc(format!("Tên bộ chỉ số dài quá {MAX_TITLE_CHARS} ký tự"));
    }
    if !(2000..=2100).contains(&doc.year) {
        out.doc(format!("Năm {} không hợp lệ (2000–2100)", doc.year));
    }
    if let Some(message) = group_problem(&doc.unit_group, known_groups) {
        out.doc(message);
    }
    for (what, value, allow_zero) in [
        ("Thang điểm (scale)", doc.scale, false),
        (
            "Điểm đánh giá tối đa (appraised_max)",
            doc.appraised_max,
            true,
        ),
        ("Điểm điều tra tối đa (survey_max)", doc.survey_max, true),
        ("Mức thưởng tối đa (bonus_cap)", doc.bonus_cap, true),
        ("Mức trừ tối đa (penalty_cap)", doc.penalty_cap, true),
    ] {
        if let Some(message) = points_problem(what, value, allow_zero) {
            out.doc(message);
        }
    }
    if let Some(sum) = doc.appraised_max.checked_add(doc.survey_max)
        && sum != doc.scale
    {
        out.doc(format!(
            "Điểm đánh giá {} + điểm điều tra {} = {}, khác thang điểm {}",
            doc.appraised_max.exact_vi(),
            doc.survey_max.exact_vi(),
            sum.exact_vi(),
            doc.scale.exact_vi()
        ));
    }
    if doc.nodes.is_empty() {
        out.doc("Bộ chỉ số chưa có nút nào (nodes)");
    }
}

/// Sums maxima without ever panicking; None when out of range (each node's own range problem
/// is reported separately).
fn sum_max<'a>(mut values: impl Iterator<Item = &'a Node>) -> Option<Points> {
    values.try_fold(Points::ZERO, |acc, n| acc.checked_add(n.max))
}

fn check_nodes(
    nodes: &[Node],
    known_groups: Option<&[&str]>,
    out: &mut Problems,
) -> HashMap<String, usize> {
    let mut by_code: HashMap<String, usize> = HashMap::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        let code = node.code.as_str();
        if !well_formed_code(code) {
            out.at(
                code,
                "Mã không đúng dạng: các số nguyên dương cách nhau bởi dấu chấm (1, 1.2, 1.2.3)",
            );
        } else {
            match node.parent.map(|p| nodes[p].code.as_str()) {
                Some(parent) => {
                    let extends = code
                        .strip_prefix(parent)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|rest| !rest.contains('.'));
                    if !extends {
                        out.at(
                            code,
                            format!(
                                "Mã phải là mã nút cha «{}» thêm một số (ví dụ {}.1)",
                                shorten(parent),
                                shorten(parent)
                            ),
                        );
                    }
                }
                None if code.contains('.') => {
                    out.at(code, "Mã lĩnh vực (cấp 1) phải là một số: 1, 2, 3, …");
                }
                None => {}
            }
        }
        if by_code.insert(node.code.clone(), index).is_some() {
            out.at(code, "Mã bị trùng với một nút khác");
        }
        if node.title.trim().is_empty() {
            out.at(code, "Thiếu tên (title)");
        } else if node.title.chars().count() > MAX_TITLE_CHARS {
            out.at(code, format!("Tên dài quá {MAX_TITLE_CHARS} ký tự"));
        }
        if let Some(message) = points_problem("Điểm tối đa", node.max, false) {
            out.at(code, message);
        }
        for (what, text) in [("method", &node.method), ("evidence", &node.evidence)] {
            if text
                .as_ref()
                .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
            {
                out.at(
                    code,
                    format!("Nội dung {what} dài quá {MAX_TEXT_CHARS} ký tự"),
                );
            }
        }
        let mut groups = HashSet::new();
        for group in &node.applies_to {
            if let Some(message) = group_problem(group, known_groups) {
                out.at(code, format!("applies_to: {message}"));
            }
            if !groups.insert(group.as_str()) {
                out.at(
                    code,
                    format!("Nhóm «{}» lặp lại trong applies_to", shorten(group)),
                );
            }
        }
        if node.children.is_empty() {
            check_leaf(node, out);
        } else {
            if node.rule.is_some() {
                out.at(
                    code,
                    "Nút có nút con thì không có quy tắc chấm điểm (rule): bỏ rule hoặc bỏ các nút con",
                );
            }
            check_parent(node, nodes, out);
        }
    }
    by_code
}

fn check_leaf(node: &Node, out: &mut Problems) {
    let code = node.code.as_str();
    match &node.rule {
        None => out.at(
            code,
            "Nút không có nút con phải có quy tắc chấm điểm (rule)",
        ),
        Some(rule) => {
            for message in rule.problems(node.max) {
                out.at(code, message);
            }
        }
    }
    if node.method.as_deref().is_none_or(|t| t.trim().is_empty()) {
        out.at(code, "Thiếu cách chấm điểm (method)");
    }
    if node.evidence.as_deref().is_none_or(|t| t.trim().is_empty()) {
        out.at(code, "Thiếu tài liệu kiểm chứng (evidence)");
    }
}

fn check_parent(node: &Node, nodes: &[Node], out: &mut Problems) {
    if node.sum_exempt {
        return;
    }
    if let Some(sum) = sum_max(node.children.iter().map(|&c| &nodes[c]))
        && sum != node.max
    {
        out.at(
                &node.code,
                format!(
                    "Điểm tối đa {} khác tổng điểm tối đa các nút con ({}); sửa lại hoặc ghi sum_exempt: true",
                    node.max.exact_vi(),
                    sum.exact_vi()
                ),
            );
    }
}

fn check_totals(doc: &IndexSetDoc, nodes: &[Node], out: &mut Problems) -> ValidationSummary {
    let mut counts_per_level: Vec<usize> = Vec::new();
    let mut leaves_by_kind: BTreeMap<RuleKind, usize> = BTreeMap::new();
    let mut appraised = Some(Points::ZERO);
    let mut survey = Some(Points::ZERO);
    let mut leaf_count = 0;
    for node in nodes {
        if counts_per_level.len() < node.level {
            counts_per_level.resize(node.level, 0);
        }
        counts_per_level[node.level - 1] += 1;
        if let Some(kind) = node.kind() {
            leaf_count += 1;
            *leaves_by_kind.entry(kind).or_default() += 1;
            let total = if kind == RuleKind::Survey {
                &mut survey
            } else {
                &mut appraised
            };
            *total = total.and_then(|t| t.checked_add(node.max));
        }
    }
    for (what, field, total, declared) in [
        (
            "các tiêu chí chấm qua đánh giá",
            "appraised_max",
            appraised,
            doc.appraised_max,
        ),
        (
            "các tiêu chí điều tra xã hội học",
            "survey_max",
            survey,
            doc.survey_max,
        ),
    ] {
        if let Some(total) = total
            && total != declared
        {
            out.doc(format!(
                "Tổng điểm tối đa {what} là {}, khác {field} = {}",
                total.exact_vi(),
                declared.exact_vi()
            ));
        }
    }
    ValidationSummary {
        counts_per_level,
        node_count: nodes.len(),
        leaf_count,
        leaves_by_kind,
        appraised_total: appraised.unwrap_or_default(),
        survey_total: survey.unwrap_or_default(),
        scale: doc.scale,
        bonus_items: doc
            .adjustments
            .iter()
            .filter(|a| a.kind == AdjustmentKind::Bonus)
            .count(),
        penalty_items: doc
            .adjustments
            .iter()
            .filter(|a| a.kind == AdjustmentKind::Penalty)
            .count(),
    }
}

fn check_adjustments(doc: &IndexSetDoc, node_codes: &HashMap<String, usize>, out: &mut Problems) {
    let mut seen = HashSet::new();
    for adjustment in &doc.adjustments {
        let code = adjustment.code.as_str();
        let len = code.chars().count();
        if !(1..=20).contains(&len)
            || !code.chars().all(|c| {
                c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.')
            })
        {
            out.at(
                code,
                "Mã điểm thưởng/điểm trừ không hợp lệ: 1–20 ký tự A–Z, 0–9, _ - . (ví dụ T1)",
            );
        } else if node_codes.contains_key(code) {
            out.at(code, "Mã điểm thưởng/điểm trừ trùng với mã một nút của cây");
        }
        if !seen.insert(code) {
            out.at(code, "Mã điểm thưởng/điểm trừ bị trùng");
        }
        if adjustment.title.trim().is_empty() {
            out.at(code, "Thiếu tên (title)");
        }
        if let Some(message) = points_problem("Điểm tối đa", adjustment.max, false) {
            out.at(code, message);
        }
    }
}
