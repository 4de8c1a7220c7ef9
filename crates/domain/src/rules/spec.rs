//! The scoring rule of a leaf as written in an index-set document (`rule: { kind: … }`), and
//! the checks that make a rule consistent with its leaf.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Points;
use crate::points::exact;
use crate::rules::formula::Formula;

/// How a leaf is scored (docs/index-set-format.md, "Rules"). Field names are those of the
/// YAML file; optional fields are left out on output so a file round-trips unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    deny_unknown_fields,
    from = "RuleSpecFields"
)]
pub enum RuleSpec {
    /// Đạt / không đạt: max when the condition holds, else 0.
    Binary,
    /// numerator/denominator against descending percentage tiers.
    TieredPercent {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        counted: String,
        #[serde(default)]
        tiers: Vec<PercentTier>,
        #[serde(default, skip_serializing_if = "ZeroOfZero::is_default")]
        zero_of_zero: ZeroOfZero,
    },
    /// max × numerator/denominator.
    Proportional {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        counted: String,
        #[serde(default, skip_serializing_if = "ZeroOfZero::is_default")]
        zero_of_zero: ZeroOfZero,
    },
    /// 0 below the floor, else max × numerator/denominator.
    ProportionalFloor {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        counted: String,
        #[serde(with = "exact")]
        floor_percent: Decimal,
        #[serde(default, skip_serializing_if = "ZeroOfZero::is_default")]
        zero_of_zero: ZeroOfZero,
    },
    /// Points by a number of events, ascending `max_count` tiers; above the last → 0.
    CountTiered {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        counted: String,
        #[serde(default)]
        tiers: Vec<CountTier>,
    },
    /// max(0, start − per_violation × count).
    Deduction {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        counted: String,
        start: Points,
        per_violation: Points,
    },
    /// An expression over variables the unit enters, clamped to [0, max].
    Formula {
        #[serde(default)]
        variables: Vec<FormulaVariable>,
        #[serde(default)]
        expression: String,
    },
    /// Computed from the sociological survey; not self-assessed.
    Survey,
    /// Supplied by a lead agency or another system; the unit can only comment.
    External {
        #[serde(default)]
        provider: String,
    },
}

/// What `RuleSpec` is read through. serde lets any field through on a unit variant of an
/// internally tagged enum (`{ kind: binary, tiers: … }` would lose `tiers` silently); an
/// empty struct variant refuses it.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum RuleSpecFields {
    /// Đạt / không đạt: max when the condition holds, else 0.
    Binary {},
    /// numerator/denominator against descending percentage tiers.
    TieredPercent {
        #[serde(default)]
        counted: String,
        #[serde(default)]
        tiers: Vec<PercentTier>,
        #[serde(default)]
        zero_of_zero: ZeroOfZero,
    },
    /// max × numerator/denominator.
    Proportional {
        #[serde(default)]
        counted: String,
        #[serde(default)]
        zero_of_zero: ZeroOfZero,
    },
    /// 0 below the floor, else max × numerator/denominator.
    ProportionalFloor {
        #[serde(default)]
        counted: String,
        #[serde(with = "exact")]
        floor_percent: Decimal,
        #[serde(default)]
        zero_of_zero: ZeroOfZero,
    },
    /// Points by a number of events, ascending `max_count` tiers; above the last → 0.
    CountTiered {
        #[serde(default)]
        counted: String,
        #[serde(default)]
        tiers: Vec<CountTier>,
    },
    /// max(0, start − per_violation × count).
    Deduction {
        #[serde(default)]
        counted: String,
        start: Points,
        per_violation: Points,
    },
    /// An expression over variables the unit enters, clamped to [0, max].
    Formula {
        #[serde(default)]
        variables: Vec<FormulaVariable>,
        #[serde(default)]
        expression: String,
    },
    /// Computed from the sociological survey; not self-assessed.
    Survey {},
    /// Supplied by a lead agency or another system; the unit can only comment.
    External {
        #[serde(default)]
        provider: String,
    },
}

impl From<RuleSpecFields> for RuleSpec {
    fn from(fields: RuleSpecFields) -> RuleSpec {
        match fields {
            RuleSpecFields::Binary {} => RuleSpec::Binary,
            RuleSpecFields::TieredPercent {
                counted,
                tiers,
                zero_of_zero,
            } => RuleSpec::TieredPercent {
                counted,
                tiers,
                zero_of_zero,
            },
            RuleSpecFields::Proportional {
                counted,
                zero_of_zero,
            } => RuleSpec::Proportional {
                counted,
                zero_of_zero,
            },
            RuleSpecFields::ProportionalFloor {
                counted,
                floor_percent,
                zero_of_zero,
            } => RuleSpec::ProportionalFloor {
                counted,
                floor_percent,
                zero_of_zero,
            },
            RuleSpecFields::CountTiered { counted, tiers } => {
                RuleSpec::CountTiered { counted, tiers }
            }
            RuleSpecFields::Deduction {
                counted,
                start,
                per_violation,
            } => RuleSpec::Deduction {
                counted,
                start,
                per_violation,
            },
            RuleSpecFields::Formula {
                variables,
                expression,
            } => RuleSpec::Formula {
                variables,
                expression,
            },
            RuleSpecFields::Survey {} => RuleSpec::Survey,
            RuleSpecFields::External { provider } => RuleSpec::External { provider },
        }
    }
}

/// One tier of a `tiered_percent` rule: a ratio of at least `min_percent` % scores `points`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentTier {
    #[serde(with = "exact")]
    pub min_percent: Decimal,
    pub points: Points,
}

/// One tier of a `count_tiered` rule: at most `max_count` events score `points`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountTier {
    pub max_count: u64,
    pub points: Points,
}

/// A variable of a formula: its name in the expression and the label the unit sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormulaVariable {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
}

/// What a 0-of-0 ratio scores: nothing was there to measure, so by default nothing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroOfZero {
    #[default]
    Full,
    Zero,
}

impl ZeroOfZero {
    fn is_default(&self) -> bool {
        *self == ZeroOfZero::Full
    }
}

/// The kind of a rule, without its parameters: for counts, filters and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Binary,
    TieredPercent,
    Proportional,
    ProportionalFloor,
    CountTiered,
    Deduction,
    Formula,
    Survey,
    External,
}

impl RuleKind {
    pub const ALL: [RuleKind; 9] = [
        RuleKind::Binary,
        RuleKind::TieredPercent,
        RuleKind::Proportional,
        RuleKind::ProportionalFloor,
        RuleKind::CountTiered,
        RuleKind::Deduction,
        RuleKind::Formula,
        RuleKind::Survey,
        RuleKind::External,
    ];

    /// The `kind` written in files (`tiered_percent`).
    pub fn code(self) -> &'static str {
        match self {
            RuleKind::Binary => "binary",
            RuleKind::TieredPercent => "tiered_percent",
            RuleKind::Proportional => "proportional",
            RuleKind::ProportionalFloor => "proportional_floor",
            RuleKind::CountTiered => "count_tiered",
            RuleKind::Deduction => "deduction",
            RuleKind::Formula => "formula",
            RuleKind::Survey => "survey",
            RuleKind::External => "external",
        }
    }

    pub fn from_code(code: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// What users read.
    pub fn label_vi(self) -> &'static str {
        match self {
            RuleKind::Binary => "đạt / không đạt",
            RuleKind::TieredPercent => "bậc theo tỷ lệ",
            RuleKind::Proportional => "theo tỷ lệ",
            RuleKind::ProportionalFloor => "theo tỷ lệ có ngưỡng",
            RuleKind::CountTiered => "bậc theo số lượng",
            RuleKind::Deduction => "điểm trừ",
            RuleKind::Formula => "công thức",
            RuleKind::Survey => "điều tra xã hội học",
            RuleKind::External => "cơ quan khác cung cấp",
        }
    }
}

/// Who produces a leaf's score, which follows from its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafSource<'a> {
    /// The unit enters the facts (self-assessment), the appraiser checks them.
    SelfAssessed,
    /// The sociological survey.
    Survey,
    /// A lead agency or another system, by name.
    External { provider: &'a str },
}

impl RuleSpec {
    pub fn kind(&self) -> RuleKind {
        match self {
            RuleSpec::Binary => RuleKind::Binary,
            RuleSpec::TieredPercent { .. } => RuleKind::TieredPercent,
            RuleSpec::Proportional { .. } => RuleKind::Proportional,
            RuleSpec::ProportionalFloor { .. } => RuleKind::ProportionalFloor,
            RuleSpec::CountTiered { .. } => RuleKind::CountTiered,
            RuleSpec::Deduction { .. } => RuleKind::Deduction,
            RuleSpec::Formula { .. } => RuleKind::Formula,
            RuleSpec::Survey => RuleKind::Survey,
            RuleSpec::External { .. } => RuleKind::External,
        }
    }

    pub fn source(&self) -> LeafSource<'_> {
        match self {
            RuleSpec::Survey => LeafSource::Survey,
            RuleSpec::External { provider } => LeafSource::External { provider },
            _ => LeafSource::SelfAssessed,
        }
    }

    /// The rule's parameters in plain Vietnamese, for the tree view and exports:
    /// "Tỷ lệ nhiệm vụ: ≥ 100% → 1; ≥ 80% → 0,5; thấp hơn → 0".
    pub fn describe_vi(&self) -> String {
        let counted = |c: &str| {
            if c.is_empty() {
                String::new()
            } else {
                format!(" {c}")
            }
        };
        match self {
            RuleSpec::Binary => "Đạt → điểm tối đa; không đạt → 0".into(),
            RuleSpec::TieredPercent {
                counted: c, tiers, ..
            } => {
                let parts: Vec<String> = tiers
                    .iter()
                    .map(|t| {
                        format!(
                            "≥ {}% → {}",
                            crate::points::Points::new(t.min_percent).exact_vi(),
                            t.points.exact_vi()
                        )
                    })
                    .collect();
                format!("Tỷ lệ{}: {}; thấp hơn → 0", counted(c), parts.join("; "))
            }
            RuleSpec::Proportional { counted: c, .. } => {
                format!("Điểm tối đa × tỷ lệ{} (tối đa 100%)", counted(c))
            }
            RuleSpec::ProportionalFloor {
                counted: c,
                floor_percent,
                ..
            } => format!(
                "Tỷ lệ{} dưới {}% → 0; từ đó trở lên: điểm tối đa × tỷ lệ",
                counted(c),
                crate::points::Points::new(*floor_percent).exact_vi()
            ),
            RuleSpec::CountTiered { counted: c, tiers } => {
                let parts: Vec<String> = tiers
                    .iter()
                    .map(|t| format!("≤ {} → {}", t.max_count, t.points.exact_vi()))
                    .collect();
                format!("Số{}: {}; nhiều hơn → 0", counted(c), parts.join("; "))
            }
            RuleSpec::Deduction {
                counted: c,
                start,
                per_violation,
            } => format!(
                "{} − {} × số{}, không thấp hơn 0",
                start.exact_vi(),
                per_violation.exact_vi(),
                counted(c)
            ),
            RuleSpec::Formula {
                variables,
                expression,
            } => {
                let vars: Vec<String> = variables
                    .iter()
                    .map(|v| {
                        if v.label.is_empty() {
                            v.name.clone()
                        } else {
                            format!("{} = {}", v.name, v.label)
                        }
                    })
                    .collect();
                format!("Công thức {expression} ({})", vars.join("; "))
            }
            RuleSpec::Survey => "Tính từ kết quả điều tra xã hội học".into(),
            RuleSpec::External { provider } => format!("Số liệu do {provider} cung cấp"),
        }
    }

    /// The formula of a `formula` rule, parsed against its declared variables.
    pub fn parse_formula(&self) -> Option<Result<Formula, super::formula::FormulaError>> {
        match self {
            RuleSpec::Formula {
                variables,
                expression,
            } => {
                let declared: Vec<&str> = variables.iter().map(|v| v.name.as_str()).collect();
                Some(Formula::parse(expression, &declared))
            }
            _ => None,
        }
    }

    /// Every way this rule is inconsistent with a leaf of maximum `max`, in Vietnamese;
    /// empty when the rule is sound.
    pub fn problems(&self, max: Points) -> Vec<String> {
        let mut out = Vec::new();
        let max_vi = max.exact_vi();
        let check_points = |out: &mut Vec<String>, what: &str, p: Points| {
            if p.is_negative() {
                out.push(format!("{what} không được âm"));
            } else if p > max {
                out.push(format!(
                    "{what} ({}) vượt quá điểm tối đa {max_vi}",
                    p.exact_vi()
                ));
            }
            if p.decimal_places() > 3 {
                out.push(format!(
                    "{what} ({}) có quá 3 chữ số thập phân",
                    p.exact_vi()
                ));
            }
        };
        match self {
            RuleSpec::Binary | RuleSpec::Survey | RuleSpec::Proportional { .. } => {}
            RuleSpec::TieredPercent { tiers, .. } => {
                if tiers.is_empty() {
                    out.push("Quy tắc bậc theo tỷ lệ phải có ít nhất một bậc".to_owned());
                }
                for (i, tier) in tiers.iter().enumerate() {
                    let n = i + 1;
                    let pct = Points::new(tier.min_percent).exact_vi();
                    if tier.min_percent < Decimal::ZERO || tier.min_percent > Decimal::ONE_HUNDRED {
                        out.push(format!("Bậc {n}: tỷ lệ {pct}% phải trong khoảng 0–100%"));
                    }
                    if tier.min_percent.normalize().scale() > 3 {
                        out.push(format!("Bậc {n}: tỷ lệ {pct}% có quá 3 chữ số thập phân"));
                    }
                    check_points(&mut out, &format!("Bậc {n}: điểm"), tier.points);
                    if let Some(prev) = i.checked_sub(1).map(|j| &tiers[j]) {
                        if tier.min_percent >= prev.min_percent {
                            out.push(format!(
                                "Bậc {n}: các bậc phải xếp theo tỷ lệ giảm dần ({}% rồi {pct}%)",
                                Points::new(prev.min_percent).exact_vi()
                            ));
                        }
                        if tier.points > prev.points {
                            out.push(format!(
                                "Bậc {n}: tỷ lệ thấp hơn không được nhiều điểm hơn ({} điểm sau {} điểm)",
                                tier.points.exact_vi(),
                                prev.points.exact_vi()
                            ));
                        }
                    }
                }
            }
            RuleSpec::ProportionalFloor { floor_percent, .. } => {
                if *floor_percent <= Decimal::ZERO || *floor_percent > Decimal::ONE_HUNDRED {
                    out.push(format!(
                        "Ngưỡng {}% phải lớn hơn 0% và không quá 100%",
                        Points::new(*floor_percent).exact_vi()
                    ));
                }
                if floor_percent.normalize().scale() > 3 {
                    out.push("Ngưỡng có quá 3 chữ số thập phân".to_owned());
                }
            }
            RuleSpec::CountTiered { tiers, .. } => {
                if tiers.is_empty() {
                    out.push("Quy tắc bậc theo số lượng phải có ít nhất một bậc".to_owned());
                }
                for (i, tier) in tiers.iter().enumerate() {
                    let n = i + 1;
                    check_points(&mut out, &format!("Bậc {n}: điểm"), tier.points);
                    if let Some(prev) = i.checked_sub(1).map(|j| &tiers[j]) {
                        if tier.max_count <= prev.max_count {
                            out.push(format!(
                                "Bậc {n}: các bậc phải xếp theo số lượng tăng dần ({} rồi {})",
                                prev.max_count, tier.max_count
                            ));
                        }
                        if tier.points > prev.points {
                            out.push(format!(
                                "Bậc {n}: số lượng lớn hơn không được nhiều điểm hơn ({} điểm sau {} điểm)",
                                tier.points.exact_vi(),
                                prev.points.exact_vi()
                            ));
                        }
                    }
                }
            }
            RuleSpec::Deduction {
                start,
                per_violation,
                ..
            } => {
                check_points(&mut out, "Điểm khởi đầu", *start);
                if !per_violation.value().is_sign_positive() || per_violation.is_zero() {
                    out.push("Điểm trừ mỗi lần vi phạm phải lớn hơn 0".to_owned());
                } else if per_violation.decimal_places() > 3 {
                    out.push("Điểm trừ mỗi lần vi phạm có quá 3 chữ số thập phân".to_owned());
                }
            }
            RuleSpec::Formula {
                variables,
                expression,
            } => {
                let mut seen = std::collections::BTreeSet::new();
                for var in variables {
                    if !is_variable_name(&var.name) {
                        out.push(format!(
                            "Tên biến «{}» không hợp lệ: chữ thường không dấu, chữ số và _, bắt đầu bằng chữ",
                            var.name
                        ));
                    }
                    if !seen.insert(var.name.as_str()) {
                        out.push(format!("Biến «{}» được khai báo hai lần", var.name));
                    }
                }
                if expression.trim().is_empty() {
                    out.push("Công thức không được để trống".to_owned());
                } else {
                    match self.parse_formula() {
                        Some(Ok(formula)) => {
                            let used = formula.variables_used();
                            for var in variables {
                                if !used.contains(&var.name) {
                                    out.push(format!(
                                        "Biến «{}» được khai báo nhưng không dùng trong công thức",
                                        var.name
                                    ));
                                }
                            }
                        }
                        Some(Err(err)) => out.push(format!("Công thức không hợp lệ: {err}")),
                        None => {}
                    }
                }
            }
            RuleSpec::External { provider } => {
                if provider.trim().is_empty() {
                    out.push(
                        "Quy tắc do cơ quan khác cung cấp phải nêu tên cơ quan (provider)"
                            .to_owned(),
                    );
                }
            }
        }
        out
    }
}

/// `[a-z][a-z0-9_]*`, at most 32 characters.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 32
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
