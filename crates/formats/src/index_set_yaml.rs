//! Index sets as YAML (docs/index-set-format.md): the canonical, human-editable form.
//!
//! Reading is bounded before anything is built: the file size first, then serde-saphyr's
//! budget (nesting, number of elements, aliases, scalar bytes) while the events stream, so a
//! ten-thousand-level document or a billion-laughs file is refused before serde recurses
//! into it. Every error becomes a Vietnamese [`FormatError`] with the line and column and,
//! where it can be found, the name of the field.

use parindex_domain::IndexSetDoc;
use serde::de::DeserializeOwned;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, SerializerOptions};

use crate::FormatError;

/// The largest index-set file accepted, YAML or Excel (docs/index-set-format.md: 5 MB).
pub const MAX_INDEX_SET_BYTES: usize = 5 * 1024 * 1024;

/// The deepest node level a file may carry. Deeper than the domain allows (12), so that the
/// domain's own message reports a 13-level set, yet small enough that every recursive step
/// (serde, comparison, output) stays far from the stack's end.
pub const MAX_FILE_LEVELS: usize = 16;

/// YAML nesting allowed: a node of level L is a mapping at depth 2L + 1 and its rule's tiers
/// go 3 deeper, so 16 levels need 36; a little headroom on top.
const MAX_YAML_DEPTH: usize = 40;
const MAX_YAML_NODES: usize = 250_000;
const MAX_YAML_ALIASES: usize = 1_000;
const MAX_YAML_SCALAR_BYTES: usize = 8 * 1024 * 1024;
const MAX_ALIAS_REPLAYED_EVENTS: usize = 25_000;

/// The budget for a whole document.
fn document_budget() -> Budget {
    let mut budget = Budget::default();
    budget.max_depth = MAX_YAML_DEPTH;
    budget.flow_nesting_limit = MAX_YAML_DEPTH;
    budget.max_nodes = MAX_YAML_NODES;
    budget.max_events = 2 * MAX_YAML_NODES;
    budget.max_aliases = MAX_YAML_ALIASES;
    budget.max_anchors = MAX_YAML_ALIASES;
    budget.max_recorded_anchor_events = 10 * MAX_YAML_NODES;
    budget.max_recorded_anchor_bytes = MAX_YAML_SCALAR_BYTES;
    budget.max_total_scalar_bytes = MAX_YAML_SCALAR_BYTES;
    budget.max_total_comment_bytes = MAX_YAML_SCALAR_BYTES;
    budget.max_documents = 1;
    budget.max_merge_keys = 100;
    budget
}

/// The budget for a small fragment, such as the rule parameters of one Excel cell.
pub(crate) fn fragment_budget() -> Budget {
    let mut budget = Budget::default();
    budget.max_depth = 8;
    budget.flow_nesting_limit = 8;
    budget.max_nodes = 5_000;
    budget.max_events = 10_000;
    budget.max_aliases = 0;
    budget.max_anchors = 0;
    budget.max_recorded_anchor_events = 0;
    budget.max_recorded_anchor_bytes = 0;
    budget.max_total_scalar_bytes = 64 * 1024;
    budget.max_total_comment_bytes = 64 * 1024;
    budget.max_documents = 1;
    budget.max_merge_keys = 0;
    budget
}

fn options(budget: Budget) -> Options {
    let mut options = Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    // Messages are built here from the error's parts; a rendered snippet is not needed.
    options.with_snippet = false;
    let mut alias_limits = options.alias_limits;
    // Aliases are rare in an index set (a shared list of tiers, say); a file that replays
    // more than this is made to expand, not to be read.
    alias_limits.max_total_replayed_events = MAX_ALIAS_REPLAYED_EVENTS;
    alias_limits.max_replay_stack_depth = 16;
    alias_limits.max_alias_expansions_per_anchor = 1_000;
    options.alias_limits = alias_limits;
    options
}

/// Parses `text` as YAML into `T` under `budget`, with every error in Vietnamese.
pub(crate) fn from_yaml_str<T: DeserializeOwned>(
    text: &str,
    budget: Budget,
) -> Result<T, FormatError> {
    serde_saphyr::from_str_with_options(text, options(budget))
        .map_err(|error| yaml_error(&error, text))
}

/// Reads an index-set document from YAML bytes (UTF-8, an optional byte-order mark).
///
/// Refuses files over [`MAX_INDEX_SET_BYTES`], text that is not UTF-8, and anything over
/// the parse budget. The result is a document, not a validated set: pass it to
/// `IndexSet::from_doc` for the checks of docs/index-set-format.md.
pub fn parse_index_set_yaml(bytes: &[u8]) -> Result<IndexSetDoc, FormatError> {
    if bytes.len() > MAX_INDEX_SET_BYTES {
        return Err(FormatError::TooLarge {
            max_bytes: MAX_INDEX_SET_BYTES,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|error| FormatError::NotUtf8 {
        line: 1 + bytes[..error.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    if text.trim().is_empty() {
        return Err(FormatError::InvalidYaml {
            line: None,
            column: None,
            detail: "tệp không có nội dung".to_owned(),
        });
    }
    from_yaml_str(text, document_budget())
}

/// Writes `doc` as canonical YAML: a short comment header (the set's code and, for an
/// illustrative set, a warning that it is not official), then the fields in the order of
/// docs/index-set-format.md with optional fields left out. Reading the output back gives an
/// equal document.
pub fn write_index_set_yaml(doc: &IndexSetDoc) -> Result<String, FormatError> {
    check_levels(doc)?;
    let mut out = String::new();
    out.push_str("# parindex index set — ");
    out.push_str(&one_line(&doc.code));
    out.push('\n');
    if doc.illustrative {
        out.push_str("# BỘ CHỈ SỐ MINH HỌA — không phải nội dung chính thức\n");
    }
    let mut options = SerializerOptions::default();
    options.indent_step = 2;
    options.compact_list_indent = false;
    // One line per value, as in the shipped files: a folded (`>`) paragraph would be
    // rewrapped by every edit and make diffs noisy. Texts with line breaks stay literal (`|`).
    options.folded_wrap_chars = 1_000_000;
    serde_saphyr::to_fmt_writer_with_options(&mut out, doc, options).map_err(|error| {
        FormatError::WriteFailed {
            detail: error.to_string(),
        }
    })?;
    Ok(out)
}

/// A value for a one-line comment: control characters (a newline would end the comment)
/// become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Refuses a document nested deeper than [`MAX_FILE_LEVELS`], without recursion, before
/// anything recursive (serialization) walks it.
pub(crate) fn check_levels(doc: &IndexSetDoc) -> Result<(), FormatError> {
    let mut stack: Vec<(&parindex_domain::index_set::NodeDoc, usize)> =
        doc.nodes.iter().map(|node| (node, 1)).collect();
    while let Some((node, level)) = stack.pop() {
        if level > MAX_FILE_LEVELS {
            return Err(FormatError::TooDeep {
                max_depth: MAX_FILE_LEVELS,
            });
        }
        stack.extend(node.children.iter().map(|child| (child, level + 1)));
    }
    Ok(())
}

/// The innermost error: aliases and snippets wrap the one that says what is wrong.
fn original_error(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::AliasError { error: inner, .. }
    | serde_saphyr::Error::WithSnippet { error: inner, .. } = error
    {
        error = inner;
    }
    error
}

/// Turns a serde-saphyr error into a Vietnamese [`FormatError`], using `source` to name the
/// field at the error's position.
pub(crate) fn yaml_error(error: &serde_saphyr::Error, source: &str) -> FormatError {
    use serde_saphyr::Error as E;
    let inner = original_error(error);
    let mut location = error
        .location()
        .filter(|location| location.line() > 0)
        .map(|location| {
            (
                usize::try_from(location.line()).unwrap_or(usize::MAX),
                usize::try_from(location.column()).unwrap_or(usize::MAX),
            )
        });
    // A rule is read as a whole before its fields (its `kind` says which fields it has), so
    // an error inside it points at the rule's start. The domain's messages quote the bad
    // value; finding it just after that point gives the real position and field.
    if let (E::Message { msg, .. }, Some((line, column))) = (inner, location)
        && let Some(quoted) = quoted_value(msg)
        && let Some(found) = find_value(source, line, column, quoted)
    {
        location = Some(found);
    }
    let field = location.and_then(|(line, column)| field_at(source, line, column));
    let in_field = field
        .as_deref()
        .map(|field| format!("trường «{field}»: "))
        .unwrap_or_default();
    let value = location.and_then(|(line, column)| value_at(source, line, column));
    let shown_value = value
        .as_deref()
        .map(|value| format!("giá trị «{value}» "))
        .unwrap_or_default();

    let too_deep = match inner {
        E::Message { msg, .. } => msg.contains("recursion limit"),
        E::Budget { .. } | E::SerdeMissingField { .. } | E::SerdeInvalidType { .. } => false,
        other => other.render().contains("recursion limit"),
    };
    if too_deep {
        return FormatError::YamlTooComplex {
            detail: breach_vi(&BudgetBreach::Depth { depth: 0 }),
        };
    }
    let detail = match inner {
        E::Budget { breach, .. } => {
            return FormatError::YamlTooComplex {
                detail: breach_vi(breach),
            };
        }
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => {
            return FormatError::YamlTooComplex {
                detail: "tệp dùng quá nhiều bí danh (*) lặp lại nội dung".to_owned(),
            };
        }
        E::InvalidUtf8Input => return FormatError::NotUtf8 { line: 1 },
        E::IOError { cause } => format!("không đọc được nội dung ({cause})"),
        E::SerdeMissingField { field, .. } => {
            format!("thiếu trường bắt buộc «{field}»")
        }
        E::SerdeUnknownField {
            field, expected, ..
        } => format!(
            "trường «{field}» không có trong định dạng bộ chỉ số; các trường hợp lệ ở đây: {}",
            expected.join(", ")
        ),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => format!(
            "{in_field}giá trị «{variant}» không hợp lệ; chọn một trong: {}",
            expected.join(", ")
        ),
        E::SerdeInvalidType { expected, .. } | E::SerdeInvalidValue { expected, .. } => {
            format!(
                "{in_field}{shown_value}sai kiểu: cần {}",
                expected_vi(expected)
            )
        }
        E::SerdeInvalidLength { expected, .. } => {
            format!("{in_field}số phần tử không đúng: cần {expected}")
        }
        E::Unexpected { expected, .. } => {
            format!(
                "{in_field}{shown_value}sai kiểu: cần {}",
                expected_vi(expected)
            )
        }
        E::InvalidScalar { ty, .. } => {
            format!("{in_field}{shown_value}sai kiểu: cần {}", expected_vi(ty))
        }
        E::NullIntoString { .. } => format!("{in_field}thiếu giá trị (cần một chuỗi văn bản)"),
        E::InvalidBooleanStrict { .. } => format!("{in_field}cần true hoặc false"),
        E::NonFiniteFloat { value, .. } => {
            format!("{in_field}«{value}» không phải là một số hữu hạn")
        }
        E::DuplicateMappingKey { key, .. } => match key {
            Some(key) => format!("khóa «{key}» xuất hiện hai lần trong cùng một mục"),
            None => "một khóa xuất hiện hai lần trong cùng một mục".to_owned(),
        },
        E::UnknownAnchor { .. } => "bí danh (*) trỏ tới một neo (&) không có".to_owned(),
        // `&a { children: [*a] }`: an alias inside its own anchor would make the tree a
        // cycle. The reader stops at once; the user is told what is wrong, in Vietnamese.
        E::RecursiveReferencesRequireWeakTypes { .. } => SELF_ALIAS_VI.to_owned(),
        E::Message { msg, .. } if msg.contains("recursive references") => SELF_ALIAS_VI.to_owned(),
        E::Eof { .. } => {
            "tệp kết thúc đột ngột: thiếu nội dung, hoặc dấu nháy, dấu ngoặc chưa đóng".to_owned()
        }
        E::MultipleDocuments { .. } => {
            "tệp chứa nhiều tài liệu YAML (dấu ---): mỗi tệp chỉ chứa một bộ chỉ số".to_owned()
        }
        E::IndentationError { .. } => {
            "thụt lề sai: các khóa cùng cấp phải thẳng cột, dùng dấu cách (không dùng tab)"
                .to_owned()
        }
        // Messages of the document's own types (points, rules) are Vietnamese.
        E::Message { msg, .. } if is_vietnamese(msg) => format!("{in_field}{msg}"),
        E::Message { msg, .. } => syntax_vi(msg),
        other => syntax_vi(&other.render()),
    };
    FormatError::InvalidYaml {
        line: location.map(|(line, _)| line),
        column: location.map(|(_, column)| column),
        detail,
    }
}

/// An alias that refers back to its own anchor: a cycle, which a tree cannot have.
const SELF_ALIAS_VI: &str = "bí danh (*) nằm bên trong chính neo (&) mà nó trỏ tới: không được \
     dùng neo, bí danh tự tham chiếu (tạo vòng lặp); bộ chỉ số là một cây, hãy viết đầy đủ các \
     nút con";

/// A syntax error of the YAML reader, said in Vietnamese for the common mistakes; the
/// reader's own words follow for the rest.
fn syntax_vi(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message).trim();
    let lower = message.to_ascii_lowercase();
    let said = if lower.contains("unclosed quote") || lower.contains("quoted scalar") {
        "dấu nháy chưa được đóng"
    } else if lower.contains("mapping values are not allowed") {
        "dấu hai chấm sai chỗ hoặc thụt lề sai (một giá trị có «: » phải đặt trong dấu nháy)"
    } else if lower.contains("tab") {
        "có dấu tab: hãy thụt lề bằng dấu cách"
    } else if lower.contains("flow") || lower.contains("',' or") {
        "dấu ngoặc [ ] hoặc { } chưa đóng, hoặc thiếu dấu phẩy giữa các phần tử"
    } else if lower.contains("expected key") || lower.contains("block") || lower.contains("indent")
    {
        "thụt lề sai: các khóa cùng cấp phải thẳng cột"
    } else {
        return format!(
            "sai cú pháp YAML: hãy kiểm tra dấu nháy, dấu hai chấm và thụt lề (chi tiết: {message})"
        );
    };
    format!("sai cú pháp YAML: {said}")
}

/// Whether a message was written in Vietnamese by the domain's own deserializers (which
/// quote the value between « »), rather than by the YAML reader.
fn is_vietnamese(message: &str) -> bool {
    message.contains('«') && (message.contains("không") || message.contains("quá"))
}

/// What serde expected, said in Vietnamese for the types an index set uses.
fn expected_vi(expected: &str) -> String {
    let lower = expected.to_ascii_lowercase();
    let said = if lower.contains("string") || lower == "str" {
        "một chuỗi văn bản"
    } else if lower.contains("sequence") || lower.contains("vec") {
        "một danh sách (các dòng bắt đầu bằng «- »)"
    } else if lower.starts_with("struct") || lower.contains("map") {
        "một mục gồm các khóa: giá trị"
    } else if lower.contains("bool") {
        "true hoặc false"
    } else if lower.contains("i32") || lower.contains("i64") || lower.contains("integer") {
        "một số nguyên"
    } else if lower.contains("u64") || lower.contains("u32") || lower.contains("usize") {
        "một số nguyên không âm"
    } else if lower.contains("enum") || lower.contains("variant") {
        "một trong các giá trị được liệt kê"
    } else {
        // The domain's own visitors describe themselves in Vietnamese ("một số thập phân …").
        return expected.to_owned();
    };
    said.to_owned()
}

fn breach_vi(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Depth { .. } => {
            format!("cấu trúc lồng nhau quá {MAX_YAML_DEPTH} tầng (một bộ chỉ số có tối đa 12 cấp)")
        }
        BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
            "tệp có quá nhiều phần tử so với một bộ chỉ số".to_owned()
        }
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => {
            "tệp dùng quá nhiều neo (&) và bí danh (*)".to_owned()
        }
        BudgetBreach::ScalarBytes { .. } | BudgetBreach::InputBytes { .. } => {
            "tổng nội dung văn bản trong tệp quá lớn".to_owned()
        }
        BudgetBreach::CommentBytes { .. } => "phần chú thích (#) trong tệp quá lớn".to_owned(),
        BudgetBreach::Documents { .. } => {
            "tệp chứa nhiều tài liệu YAML (dấu ---): mỗi tệp chỉ chứa một bộ chỉ số".to_owned()
        }
        BudgetBreach::MergeKeys { .. } => "tệp dùng quá nhiều khóa gộp (<<)".to_owned(),
        BudgetBreach::SequenceUnbalanced => "cấu trúc tệp bị hỏng".to_owned(),
        _ => "tệp vượt giới hạn an toàn khi đọc".to_owned(),
    }
}

/// The value a domain message quotes: the text between the first « and ».
fn quoted_value(message: &str) -> Option<&str> {
    let start = message.find('«')? + '«'.len_utf8();
    let end = start + message[start..].find('»')?;
    Some(&message[start..end]).filter(|value| !value.trim().is_empty())
}

/// The position of `value` as a whole scalar at or after (`line`, `column`), looking a few
/// lines ahead (a rule is short).
fn find_value(source: &str, line: usize, column: usize, value: &str) -> Option<(usize, usize)> {
    const LOOK_AHEAD_LINES: usize = 40;
    for (index, text) in source
        .lines()
        .enumerate()
        .skip(line.checked_sub(1)?)
        .take(LOOK_AHEAD_LINES)
    {
        let from = if index + 1 == line {
            text.char_indices()
                .nth(column.saturating_sub(1))
                .map_or(text.len(), |(at, _)| at)
        } else {
            0
        };
        let mut search_from = from;
        while let Some(offset) = text.get(search_from..)?.find(value) {
            let at = search_from + offset;
            let end = at + value.len();
            let before = text[..at].trim_end_matches(['"', '\'']).chars().last();
            let after = text[end..].trim_start_matches(['"', '\'']).chars().next();
            let starts = before.is_none_or(|c| matches!(c, ' ' | ':' | '[' | '{' | ',' | '-'));
            let ends = after.is_none_or(|c| matches!(c, ' ' | ',' | '}' | ']' | '#'));
            if starts && ends {
                return Some((index + 1, text[..at].chars().count() + 1));
            }
            search_from = end;
        }
    }
    None
}

/// The 1-based `line` of `source`, if there is one.
fn line_of(source: &str, line: usize) -> Option<&str> {
    source.lines().nth(line.checked_sub(1)?)
}

/// The name of the field whose value sits at (`line`, `column`): the nearest `key:` before
/// the position on that line (`max: abc`, `{ min_percent: 100, points: abc }`), else the
/// key of the line itself.
fn field_at(source: &str, line: usize, column: usize) -> Option<String> {
    let text = line_of(source, line)?;
    let before: String = text.chars().take(column.saturating_sub(1)).collect();
    let candidates = [before.as_str(), text];
    candidates.iter().find_map(|part| last_key(part))
}

/// The last `key:` (a plain identifier followed by a colon) in `text`.
fn last_key(text: &str) -> Option<String> {
    let mut search = text;
    while let Some(colon) = search.rfind(':') {
        let head = &search[..colon];
        let key: String = head
            .trim_end_matches(['"', '\''])
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !key.is_empty() && key.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            return Some(key);
        }
        search = head;
    }
    None
}

/// The scalar at (`line`, `column`), up to the end of the flow item or line, for quoting in
/// a message (cut to 40 characters).
fn value_at(source: &str, line: usize, column: usize) -> Option<String> {
    let text = line_of(source, line)?;
    let rest: String = text.chars().skip(column.saturating_sub(1)).collect();
    let value = match rest.chars().next() {
        // A list or mapping where a value was expected: show it up to its end.
        Some(open @ ('[' | '{')) => {
            let close = if open == '[' { ']' } else { '}' };
            rest.find(close).map_or(rest.as_str(), |end| &rest[..=end])
        }
        _ => rest
            .split([',', '}', ']', '#'])
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(['"', '\''])
            .trim(),
    };
    if value.is_empty() || value.ends_with(':') {
        return None;
    }
    let mut shown: String = value.chars().take(40).collect();
    if value.chars().nth(40).is_some() {
        shown.push('…');
    }
    Some(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_are_found_at_a_position() {
        assert_eq!(last_key("    max: abc").as_deref(), Some("max"));
        assert_eq!(
            last_key("- { min_percent: 100, points: ").as_deref(),
            Some("points")
        );
        assert_eq!(last_key("no key here"), None);
        assert_eq!(value_at("  max: nhiều # x", 1, 8).as_deref(), Some("nhiều"));
        assert_eq!(value_at("  max: \"x\"", 1, 8).as_deref(), Some("x"));
    }

    #[test]
    fn vietnamese_messages_are_recognised() {
        assert!(is_vietnamese("«x» không phải là số thập phân"));
        assert!(!is_vietnamese("while scanning a quoted scalar"));
    }
}
