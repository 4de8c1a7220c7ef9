//! The forms and queries of the survey setup, typed.

use parindex_app::survey_setup::{
    GroupInput, QuestionInput, SettingsInput, StatusChange, TitleUnitsInput,
};
use serde::Deserialize;

/// `?ok=…` after a change, and the sample-size helper's N and e.
#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    pub ok: Option<String>,
    pub n: Option<String>,
    pub e: Option<String>,
}

/// `?ok=…` after a change.
#[derive(Deserialize)]
pub struct OkOnly {
    pub ok: Option<String>,
}

/// A yes/no choice; anything else is kept apart so the page can say what to choose.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum YesNo {
    Yes,
    No,
    #[default]
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    open: String,
    #[serde(default)]
    close: String,
    #[serde(default)]
    min_sample: String,
    #[serde(default)]
    weighted: YesNo,
}

impl SettingsForm {
    pub fn input(self) -> SettingsInput {
        SettingsInput {
            open: self.open,
            close: self.close,
            min_sample: self.min_sample,
            weighted: match self.weighted {
                YesNo::Yes => Some(true),
                YesNo::No => Some(false),
                YesNo::Unknown => None,
            },
        }
    }
}

#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    weight: String,
    #[serde(default)]
    population: String,
    #[serde(default)]
    target: String,
}

impl GroupForm {
    pub fn input(self) -> GroupInput {
        GroupInput {
            code: self.code,
            name: self.name,
            weight: self.weight,
            population: self.population,
            target: self.target,
        }
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// The title and units form (create and edit share it): `title`, `all_group`, and one
/// `unit_<id>` checkbox per unit, so its fields are read from the list.
pub struct TitleUnitsForm {
    /// The respondent group (creation only).
    pub group: String,
    pub input: TitleUnitsInput,
}

impl TitleUnitsForm {
    pub fn of(form: &[(String, String)]) -> TitleUnitsForm {
        TitleUnitsForm {
            group: field(form, "group").to_owned(),
            input: TitleUnitsInput {
                title: field(form, "title").to_owned(),
                unit_ids: form
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .filter_map(|(k, _)| k.strip_prefix("unit_"))
                    .map(str::to_owned)
                    .collect(),
                all_group: field(form, "all_group").to_owned(),
            },
        }
    }
}

/// A new question; kept to fill the form again when it is refused.
#[derive(Deserialize, Default, Clone)]
pub struct QuestionForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub leaf: String,
    #[serde(default)]
    pub options: String,
}

impl QuestionForm {
    pub fn input(&self) -> QuestionInput {
        QuestionInput {
            code: self.code.clone(),
            text: self.text.clone(),
            leaf: self.leaf.clone(),
            options: self.options.clone(),
        }
    }
}

/// Where a questionnaire's status goes.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum StatusTo {
    Open,
    Close,
    Reopen,
    #[default]
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    to: StatusTo,
}

impl StatusForm {
    pub fn change(&self) -> Option<StatusChange> {
        match self.to {
            StatusTo::Open => Some(StatusChange::Open),
            StatusTo::Close => Some(StatusChange::Close),
            StatusTo::Reopen => Some(StatusChange::Reopen),
            StatusTo::Unknown => None,
        }
    }
}
