//! The forms of the workflow: typed, each turned into the use case's input.

use futures_util::TryStreamExt;
use parindex_app::App;
use parindex_app::publishing::DecisionInput;
use parindex_app::workflow::{AssignInput, CorrectionInput, StageChange};
use serde::Deserialize;

use crate::error::WebError;
use crate::extract::Multipart;
use crate::i18n::Lang;
use crate::views::stage::StageAction;

/// The bulk assignment form: repeated checkboxes, so read from its pairs.
pub struct AssignForm(pub AssignInput);

impl AssignForm {
    pub fn from_pairs(fields: Vec<(String, String)>) -> AssignForm {
        let mut input = AssignInput::default();
        for (name, value) in fields {
            match name.as_str() {
                "appraiser" => input.appraisers.push(value),
                "unit" => input.units.push(value),
                "node" => input.nodes.push(value),
                "team_unit" if input.team_unit.is_empty() => input.team_unit = value,
                "unit_group" if input.unit_group.is_empty() => input.unit_group = value,
                "codes" if input.codes.is_empty() => input.codes = value,
                _ => {}
            }
        }
        AssignForm(input)
    }
}

#[derive(Deserialize)]
pub struct StageForm {
    pub action: StageAction,
    #[serde(default)]
    pub explanation_due: String,
    #[serde(default)]
    pub override_reason: String,
}

impl StageForm {
    pub fn change(&self) -> StageChange {
        StageChange {
            transition: self.action.transition(),
            explanation_due: self.explanation_due.clone(),
            override_reason: self.override_reason.clone(),
        }
    }
}

#[derive(Deserialize)]
pub struct DeadlineForm {
    #[serde(default)]
    pub due: String,
}

#[derive(Deserialize)]
pub struct ExplanationExtensionForm {
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
pub struct CorrectionForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub points: String,
    #[serde(default)]
    pub reason: String,
}

impl CorrectionForm {
    pub fn input(&self) -> CorrectionInput {
        CorrectionInput {
            points: self.points.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// Reads the decision form (number, date, signed PDF), storing the file as it streams in. A
/// decision dated in the future is refused before its file is stored.
pub async fn read_decision(
    app: &App,
    multipart: &mut Multipart,
    max_bytes: u64,
    lang: Lang,
) -> Result<DecisionInput, WebError> {
    let mut input = DecisionInput::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(WebError::BadRequest(format!(
                    "{} ({})",
                    lang.t("import.upload_failed"),
                    e.body_text()
                )));
            }
        };
        match field.name() {
            Some("number") => {
                let typed = field.text().await.unwrap_or_default();
                crate::extract::refuse_controls("number", &typed)?;
                input.number = typed
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(100)
                    .collect();
            }
            Some("date") => {
                input.date = field.text().await.unwrap_or_default();
                if parindex_domain::text::parse_date_vi(&input.date).is_some() {
                    app.decision_day(&input.date)?;
                }
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                if name.is_empty() {
                    continue;
                }
                let stream = field.map_err(std::io::Error::other);
                input.file = Some(app.store_decision_file(stream, &name, max_bytes).await?);
            }
            _ => {}
        }
    }
    Ok(input)
}
