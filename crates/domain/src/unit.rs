//! Evaluated units (đơn vị được đánh giá) and unit groups, as validated domain values.

use crate::InvalidInput;
use time::Date;

/// A unit's code, e.g. `STP` or `H-EAKAR`: 2–32 characters of A–Z, 0–9, `_`, `-`, `.`,
/// stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitCode(String);

fn parse_code(input: &str, field: &'static str, what: &str) -> Result<String, InvalidInput> {
    let code = input.trim().to_uppercase();
    let len = code.chars().count();
    if !(2..=32).contains(&len) {
        return Err(InvalidInput::new(
            field,
            format!("{what} phải dài từ 2 đến 32 ký tự"),
        ));
    }
    if !code
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
    {
        return Err(InvalidInput::new(
            field,
            format!("{what} chỉ gồm chữ không dấu A–Z, chữ số và các dấu _ - ."),
        ));
    }
    Ok(code)
}

impl UnitCode {
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        parse_code(input, "code", "Mã đơn vị").map(UnitCode)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A unit group's code, e.g. `SO`, `HUYEN`, `XA`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupCode(String);

impl GroupCode {
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        parse_code(input, "group_code", "Mã nhóm").map(GroupCode)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A unit's official Vietnamese name: 2–255 characters, no control characters, no invisible
/// format characters (see [`crate::text::name_problem`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName(String);

impl UnitName {
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        parse_name(input, "name_vi").map(UnitName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Validates a display name (units, groups, people).
pub fn parse_name(input: &str, field: &'static str) -> Result<String, InvalidInput> {
    if let Some(problem) = crate::text::name_problem(input.trim()) {
        return Err(InvalidInput::new(field, problem));
    }
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    let len = name.chars().count();
    if len < 2 {
        return Err(InvalidInput::new(field, "Tên phải có ít nhất 2 ký tự"));
    }
    if len > 255 {
        return Err(InvalidInput::new(field, "Tên dài quá 255 ký tự"));
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            "Tên chứa ký tự điều khiển không hợp lệ",
        ));
    }
    Ok(name)
}

/// A unit as the secretariat enters it, validated. References to other units are codes or
/// ids resolved by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDraft {
    pub code: UnitCode,
    pub name_vi: UnitName,
    pub name_en: Option<String>,
    pub group_id: i64,
    pub parent_id: Option<i64>,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
    pub successor_id: Option<i64>,
}

impl UnitDraft {
    /// Cross-field rules: the validity window is ordered.
    pub fn check(&self) -> Result<(), InvalidInput> {
        if self.valid_to.is_some_and(|to| to < self.valid_from) {
            return Err(InvalidInput::new(
                "valid_to",
                "Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực",
            ));
        }
        if let Some(name_en) = &self.name_en {
            parse_name(name_en, "name_en")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_and_checked() {
        assert_eq!(UnitCode::parse(" stp ").unwrap().as_str(), "STP");
        assert!(UnitCode::parse("S").is_err());
        assert!(UnitCode::parse("SỞ").is_err());
        assert!(UnitCode::parse("a'; DROP TABLE units;--").is_err());
    }

    #[test]
    fn names_collapse_spaces() {
        assert_eq!(
            UnitName::parse("  Sở   Tư pháp ").unwrap().as_str(),
            "Sở Tư pháp"
        );
        assert!(UnitName::parse(" ").is_err());
    }
}

/// One row of a unit import, as far as cross-row and database checks need it.
#[derive(Debug, Clone)]
pub struct ImportCandidate<'a> {
    pub line: usize,
    pub code: &'a str,
    pub group_code: &'a str,
    pub parent_code: Option<&'a str>,
    pub successor_code: Option<&'a str>,
}

/// A problem found in an import row: the line, the column and what to fix (Vietnamese).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportProblem {
    pub line: usize,
    pub column: Option<String>,
    pub message: String,
}

/// Checks import rows against the registry: codes must be new, groups must exist, and a
/// parent or successor must already exist or come earlier in the file (so the rows can be
/// created in file order, all in one transaction).
pub fn check_import_references(
    rows: &[ImportCandidate<'_>],
    existing_codes: &std::collections::HashSet<String>,
    group_codes: &std::collections::HashSet<String>,
) -> Vec<ImportProblem> {
    let mut problems = Vec::new();
    let mut earlier: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for row in rows {
        let mut problem = |column: &str, message: String| {
            problems.push(ImportProblem {
                line: row.line,
                column: Some(column.to_owned()),
                message,
            })
        };
        if existing_codes.contains(row.code) {
            problem(
                "Mã đơn vị",
                format!("Mã đơn vị «{}» đã có trong danh mục", row.code),
            );
        }
        if !group_codes.contains(row.group_code) {
            problem(
                "Nhóm",
                format!(
                    "Nhóm «{}» không tồn tại; hãy tạo nhóm trước",
                    row.group_code
                ),
            );
        }
        for (reference, column, what) in [
            (row.parent_code, "Đơn vị cha", "Đơn vị cha"),
            (row.successor_code, "Đơn vị kế thừa", "Đơn vị kế thừa"),
        ] {
            if let Some(code) = reference {
                if code == row.code {
                    problem(column, format!("{what} không thể là chính đơn vị này"));
                } else if !existing_codes.contains(code) && !earlier.contains(code) {
                    problem(
                        column,
                        format!(
                            "{what} «{code}» không có trong danh mục hoặc ở các dòng phía trên"
                        ),
                    );
                }
            }
        }
        earlier.insert(row.code);
    }
    problems
}

#[cfg(test)]
mod import_tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn references_must_exist_or_come_earlier() {
        let existing: HashSet<String> = ["SNV".to_string()].into();
        let groups: HashSet<String> = ["SO".to_string()].into();
        let rows = [
            ImportCandidate {
                line: 2,
                code: "STP",
                group_code: "SO",
                parent_code: None,
                successor_code: None,
            },
            ImportCandidate {
                line: 3,
                code: "STP2",
                group_code: "SO",
                parent_code: Some("STP"),
                successor_code: Some("ZZZ"),
            },
            ImportCandidate {
                line: 4,
                code: "SNV",
                group_code: "XX",
                parent_code: None,
                successor_code: None,
            },
        ];
        let problems = check_import_references(&rows, &existing, &groups);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 4]);
    }
}
