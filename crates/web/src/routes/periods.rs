//! Evaluation periods for the secretariat: set one up (windows, which published set applies
//! to which group, participating units, caps, bands), the progress board of every unit, and
//! per-unit extensions and reopenings, each with its reason.

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::text::parse_date_vi;
use parindex_domain::workflow::check_extension;
use parindex_domain::{Action, Points};
use parindex_store::index_sets::{SetStatus, StoredIndexSet};
use parindex_store::periods::{Period, PeriodSettings, PeriodUnit};
use parindex_store::units::UnitFilter;
use serde::Deserialize;

use super::account::OkQuery;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::{Page, day_start_ms};

/// The last millisecond of a Vietnamese calendar day: a deadline "on 30/11" runs to its end.
pub fn day_end_ms(date: time::Date) -> i64 {
    day_start_ms(date) + 86_400_000 - 1
}

#[derive(Template)]
#[template(path = "periods_list.html")]
struct ListPage {
    p: Page,
    periods: Vec<Period>,
    units: Vec<parindex_store::units::Unit>,
    published_sets: Vec<StoredIndexSet>,
    groups: Vec<String>,
    error: Option<String>,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    ok: Option<&str>,
    error: Option<String>,
) -> Result<ListPage, WebError> {
    Ok(ListPage {
        p: Page::for_user(state, user, "periods.title").with_notice(ok),
        periods: state.store.list_periods().await?,
        units: state.store.list_units(&UnitFilter::default()).await?,
        published_sets: state
            .store
            .list_index_sets()
            .await?
            .into_iter()
            .filter(|s| s.status == SetStatus::Published)
            .collect(),
        groups: state
            .store
            .list_groups()
            .await?
            .into_iter()
            .map(|g| g.code)
            .collect(),
        error,
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePeriods)?;
    super::render(&list_page(&state, &user, q.ok.as_deref(), None).await?)
}

/// The period form; `set_<GROUP>` fields name the set for each group.
#[derive(Deserialize)]
pub struct PeriodForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    self_open: String,
    #[serde(default)]
    self_close: String,
    #[serde(default)]
    explanation_due: String,
    #[serde(default)]
    appraisal_open: String,
    #[serde(default)]
    appraisal_close: String,
    #[serde(default)]
    bonus_cap: String,
    #[serde(default)]
    penalty_cap: String,
    #[serde(default)]
    band_good: String,
    #[serde(default)]
    band_fair: String,
    #[serde(default)]
    band_average: String,
    #[serde(default)]
    appraisal_rounds: String,
    #[serde(flatten)]
    sets: std::collections::BTreeMap<String, String>,
}

fn milli(text: &str, default: i64) -> Option<i64> {
    if text.trim().is_empty() {
        return Some(default);
    }
    Points::parse(text)
        .filter(|p| !p.is_negative())
        .and_then(|p| p.to_millipoints())
}

/// Creates a period: every active unit of each group that has a set takes part.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<PeriodForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePeriods)?;
    let lang = user.ctx.lang;
    let refuse = async |message: String| {
        super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &list_page(&state, &user, None, Some(message)).await?,
        )
    };
    let year: Option<i64> = form
        .year
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    let name = form.name.split_whitespace().collect::<Vec<_>>().join(" ");
    let open = parse_date_vi(&form.self_open);
    let close = parse_date_vi(&form.self_close);
    let optional_date = |text: &str| {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            parse_date_vi(text).map(Some).ok_or(())
        }
    };
    let explanation_due = optional_date(&form.explanation_due);
    let appraisal = (
        optional_date(&form.appraisal_open),
        optional_date(&form.appraisal_close),
    );
    // A blank cap is the sets' cap (decided once the sets are known).
    let entered_cap = |text: &str| -> Result<Option<Points>, ()> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        Points::parse(text)
            .filter(|p| !p.is_negative() && p.to_millipoints().is_some())
            .map(Some)
            .ok_or(())
    };
    let caps = (entered_cap(&form.bonus_cap), entered_cap(&form.penalty_cap));
    let bands = (
        milli(&form.band_good, 85_000),
        milli(&form.band_fair, 70_000),
        milli(&form.band_average, 50_000),
    );
    let (Some(year), true) = (year, name.chars().count() >= 2) else {
        return refuse(lang.t("periods.bad_name_year").into()).await;
    };
    let (Some(open), Some(close), Ok(explanation_due)) = (open, close, explanation_due) else {
        return refuse(lang.t("periods.bad_dates").into()).await;
    };
    if close < open {
        return refuse(lang.t("periods.close_before_open").into()).await;
    }
    let (Ok(appraisal_open), Ok(appraisal_close)) = appraisal else {
        return refuse(lang.t("periods.bad_dates").into()).await;
    };
    if let (Some(a), Some(b)) = (appraisal_open, appraisal_close)
        && b < a
    {
        return refuse(lang.t("periods.close_before_open").into()).await;
    }
    let ((Ok(bonus_entered), Ok(penalty_entered)), (Some(good), Some(fair), Some(average))) =
        (caps, bands)
    else {
        return refuse(lang.t("periods.bad_points").into()).await;
    };
    if !(good >= fair && fair >= average) {
        return refuse(lang.t("periods.bad_bands").into()).await;
    }
    // An index is a percentage: a threshold above 100 would leave its band empty.
    if good > 100_000 {
        return refuse(lang.t("periods.band_over_100").into()).await;
    }
    let rounds = match form.appraisal_rounds.trim() {
        "" => Ok(parindex_domain::appraisal::Rounds::DEFAULT),
        text => text
            .parse::<i64>()
            .map_err(|_| ())
            .and_then(|n| parindex_domain::appraisal::Rounds::parse(n).map_err(|_| ())),
    };
    let Ok(rounds) = rounds else {
        return refuse(lang.t("periods.bad_rounds").into()).await;
    };
    // The set chosen for each group: only published sets of that group.
    let published = state.store.list_index_sets().await?;
    let mut sets: Vec<(String, i64)> = Vec::new();
    for (field, value) in &form.sets {
        let Some(group) = field.strip_prefix("set_") else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let Some(set) = value
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|id| published.iter().find(|s| s.id == id))
        else {
            return refuse(lang.t("periods.bad_set").into()).await;
        };
        if set.status != SetStatus::Published || set.unit_group != group {
            return refuse(format!("{} {group}", lang.t("periods.bad_set"))).await;
        }
        sets.push((group.to_owned(), set.id));
    }
    if sets.is_empty() {
        return refuse(lang.t("periods.no_sets").into()).await;
    }
    // The caps: as entered, or the sets' own; never above a set's scale.
    let mut bonus_caps = Vec::new();
    let mut penalty_caps = Vec::new();
    for (group, set_id) in &sets {
        let stored = published
            .iter()
            .find(|s| s.id == *set_id)
            .ok_or(WebError::NotFound)?;
        let doc: parindex_domain::IndexSetDoc = serde_json::from_str(&stored.definition)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        for (caps, cap) in [
            (&mut bonus_caps, doc.bonus_cap),
            (&mut penalty_caps, doc.penalty_cap),
        ] {
            caps.push(parindex_domain::appraisal::SetCap {
                group: group.clone(),
                cap,
                scale: doc.scale,
            });
        }
    }
    let caps = (
        parindex_domain::appraisal::period_cap("điểm thưởng", bonus_entered, &bonus_caps),
        parindex_domain::appraisal::period_cap("điểm trừ", penalty_entered, &penalty_caps),
    );
    let (bonus, penalty) = match caps {
        (Ok(b), Ok(p)) => match (b.to_millipoints(), p.to_millipoints()) {
            (Some(b), Some(p)) => (b, p),
            _ => return refuse(lang.t("periods.bad_points").into()).await,
        },
        (Err(message), _) | (_, Err(message)) => return refuse(message).await,
    };
    // The units ticked on the form (`unit_<id>` fields); without any, every active unit of the
    // groups with a set. The form ticks every unit, so a ticked unit of a group left without a
    // set ("not evaluated") is left out and named in a notice; a ticked unit that is inactive
    // or unknown is refused, named by its code.
    let all_units = state
        .store
        .list_units(&UnitFilter {
            include_inactive: true,
            ..UnitFilter::default()
        })
        .await?;
    let has_set = |group: &str| sets.iter().any(|(g, _)| g == group);
    let eligible: Vec<i64> = all_units
        .iter()
        .filter(|u| u.active && has_set(&u.group_code))
        .map(|u| u.id)
        .collect();
    let ticked: Vec<i64> = form
        .sets
        .keys()
        .filter_map(|k| k.strip_prefix("unit_"))
        .filter_map(|id| id.parse::<i64>().ok())
        .collect();
    let mut skipped: Vec<String> = Vec::new();
    let units: Vec<i64> = if form.sets.keys().any(|k| k.starts_with("unit_")) {
        let mut chosen = Vec::new();
        for id in ticked {
            let unit = all_units.iter().find(|u| u.id == id);
            match unit {
                Some(u) if eligible.contains(&id) => chosen.push(u.id),
                Some(u) if u.active => skipped.push(u.code.clone()),
                Some(u) => {
                    return refuse(format!("{} ({})", lang.t("periods.bad_unit"), u.code)).await;
                }
                None => return refuse(format!("{} ({id})", lang.t("periods.bad_unit"))).await,
            }
        }
        chosen
    } else {
        eligible
    };
    if units.is_empty() {
        return refuse(lang.t("periods.no_units").into()).await;
    }
    let settings = PeriodSettings {
        year,
        name,
        self_open_at: day_start_ms(open),
        self_close_at: day_end_ms(close),
        explanation_due_at: explanation_due.map(day_end_ms),
        appraisal_open_at: appraisal_open.map(day_start_ms),
        appraisal_close_at: appraisal_close.map(day_end_ms),
        bonus_cap_milli: bonus,
        penalty_cap_milli: penalty,
        band_good_milli: good,
        band_fair_milli: fair,
        band_average_milli: average,
        appraisal_rounds: i64::from(rounds.get()),
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let period = match tx.create_period(&settings, &sets, &units).await {
        Ok(p) => p,
        Err(e) => return refuse(WebError::from(e).message(lang)).await,
    };
    tx.commit().await?;
    skipped.sort();
    let notice = if skipped.is_empty() {
        String::new()
    } else {
        format!("&skipped={}", crate::page::url_encode(&skipped.join(",")))
    };
    Ok(Redirect::to(&format!("/periods/{}?ok=created{notice}", period.id)).into_response())
}

/// One line of the progress board.
pub struct BoardRow {
    pub unit: PeriodUnit,
    pub scored: usize,
    pub total: usize,
    pub percent: u32,
    pub stage: &'static str,
    /// The appraisal columns (round progress, flags, explanation, correction, publication).
    pub workflow: super::workflow::BoardExtra,
}

#[derive(Template)]
#[template(path = "period_show.html")]
struct ShowPage {
    p: Page,
    period: Period,
    sets: Vec<(String, StoredIndexSet)>,
    rows: Vec<BoardRow>,
    groups: Vec<String>,
    group: String,
    error: Option<String>,
    stage: super::workflow::StagePanel,
    /// Ticked units left out at creation because their group has no set.
    skipped: Vec<String>,
}

#[derive(Deserialize)]
pub struct BoardQuery {
    ok: Option<String>,
    #[serde(default)]
    group: String,
    /// Codes of ticked units left out at creation (their group has no set).
    #[serde(default)]
    skipped: String,
}

/// The progress board: every unit with its stage, % complete, last activity and submission.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<BoardQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePeriods)?;
    let mut page = show_page(&state, &user, id, q.ok.as_deref(), &q.group, None).await?;
    if !q.skipped.is_empty() {
        // Only codes of real units outside the period: the query cannot put other text here.
        let known = state
            .store
            .list_units(&UnitFilter {
                include_inactive: true,
                ..UnitFilter::default()
            })
            .await?;
        page.skipped = q
            .skipped
            .split(',')
            .filter(|c| {
                known.iter().any(|u| u.code == *c)
                    && !page.rows.iter().any(|r| r.unit.unit_code == *c)
            })
            .map(str::to_owned)
            .collect();
    }
    super::render(&page)
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    ok: Option<&str>,
    group: &str,
    error: Option<String>,
) -> Result<ShowPage, WebError> {
    let period = state.store.get_period(id).await?;
    let mut sets = Vec::new();
    // Per group, the leaves its units assess themselves: self-assessed leaves that apply to
    // the group (a leaf for districts only is not counted for a department).
    let mut self_leaves: std::collections::HashMap<String, std::collections::BTreeSet<String>> =
        std::collections::HashMap::new();
    for (g, set_id) in state.store.period_sets(id).await? {
        let set = state.store.get_index_set(set_id).await?;
        let doc: parindex_domain::IndexSetDoc =
            serde_json::from_str(&set.definition).map_err(|e| WebError::Internal(e.to_string()))?;
        let leaves = parindex_domain::IndexSet::from_doc(&doc, None)
            .map(|s| {
                s.nodes()
                    .iter()
                    .enumerate()
                    .filter(|(i, l)| {
                        s.applies_to_group(*i, &g)
                            && l.rule.as_ref().is_some_and(|r| {
                                matches!(
                                    r.source(),
                                    parindex_domain::rules::LeafSource::SelfAssessed
                                )
                            })
                    })
                    .map(|(_, l)| l.code.clone())
                    .collect()
            })
            .unwrap_or_default();
        self_leaves.insert(g.clone(), leaves);
        sets.push((g, set));
    }
    let mut rows = Vec::new();
    let period_units = state.store.period_units(id).await?;
    let mut extras = super::workflow::board_extras(state, &period, &period_units).await?;
    for unit in period_units {
        if !group.is_empty() && unit.group_code != group {
            continue;
        }
        let entries = state.store.leaf_entries(id, unit.unit_id).await?;
        let leaves = self_leaves.get(&unit.group_code);
        let total = leaves.map_or(0, |l| l.len());
        // Only entries of leaves that count for the unit (not those of another group's
        // leaves or of leaves others score).
        let scored = entries
            .iter()
            .filter(|e| leaves.is_some_and(|l| l.contains(&e.leaf_code)))
            .count();
        let percent = parindex_domain::points::whole_percent(scored, total);
        let stage = if unit.submitted_at.is_some() {
            "periods.stage_submitted"
        } else if scored > 0 {
            "periods.stage_in_progress"
        } else {
            "periods.stage_not_started"
        };
        rows.push(BoardRow {
            workflow: extras.remove(&unit.unit_id).unwrap_or_default(),
            unit,
            scored,
            total,
            percent,
            stage,
        });
    }
    let mut p = Page::for_user(state, user, "periods.show_title").with_notice(ok);
    p.title = period.name.clone();
    Ok(ShowPage {
        p,
        stage: super::workflow::stage_panel(state, &period).await?,
        groups: sets.iter().map(|(g, _)| g.clone()).collect(),
        group: group.to_owned(),
        period,
        sets,
        rows,
        error,
        skipped: Vec::new(),
    })
}

#[derive(Deserialize)]
pub struct ExtensionForm {
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
}

/// Grants a unit an extension to a date, with a reason (an empty date withdraws it).
pub async fn extension(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<ExtensionForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePeriods)?;
    let lang = user.ctx.lang;
    let unit = state.store.period_unit(id, unit_id).await?;
    let reason = form.reason.split_whitespace().collect::<Vec<_>>().join(" ");
    let until = if form.until.trim().is_empty() {
        None
    } else {
        match parse_date_vi(&form.until) {
            Some(d) => Some(day_end_ms(d)),
            None => {
                let page = show_page(
                    &state,
                    &user,
                    id,
                    None,
                    "",
                    Some(lang.t("periods.bad_dates").into()),
                )
                .await?;
                return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
        }
    };
    if until.is_some() && reason.chars().count() < 5 {
        let page = show_page(
            &state,
            &user,
            id,
            None,
            "",
            Some(lang.t("periods.reason_required").into()),
        )
        .await?;
        return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    if let (Some(until_ms), Some(day)) = (until, parse_date_vi(&form.until)) {
        // After the unit's deadline in force: the period's close, or an extension given.
        let period = state.store.get_period(id).await?;
        let current = period.self_close_at.max(unit.extension_until.unwrap_or(0));
        if let Err(r) = check_extension(
            day,
            until_ms,
            Some(current),
            parindex_store::now_ms(),
            period.year,
        ) {
            let message = r.message_vi(crate::page::datetime_vi);
            let page = show_page(&state, &user, id, None, "", Some(message)).await?;
            return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_extension(id, unit_id, until, &reason).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}?ok=saved")).into_response())
}

#[derive(Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    reason: String,
}

/// Reopens a unit's submitted self-assessment, with a reason (audited).
pub async fn reopen(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<ReopenForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePeriods)?;
    let lang = user.ctx.lang;
    // Once published, reopening a unit means reopening it for a correction.
    let period = state.store.get_period(id).await?;
    if period.stage == parindex_domain::appraisal::Stage::Published {
        return super::workflow::reopen_for_correction(&state, &user, id, unit_id, &form.reason)
            .await;
    }
    // During the rounds, the council or after the decision the sheet stays closed, so a
    // reopened unit could not resubmit: refused with the reason, nothing written.
    let (stage, _) = parindex_app::evaluation::stage_of(&period)?;
    if let Err(refusal) = parindex_domain::appraisal::check_self_assessment_reopen(stage) {
        let page = show_page(&state, &user, id, None, "", Some(refusal.to_string())).await?;
        return super::render_status(StatusCode::FORBIDDEN, &page);
    }
    let reason = form.reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.chars().count() < 5 {
        let page = show_page(
            &state,
            &user,
            id,
            None,
            "",
            Some(lang.t("periods.reason_required").into()),
        )
        .await?;
        return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(e) = tx.reopen_self_assessment(id, unit_id, &reason).await {
        drop(tx);
        let page = show_page(
            &state,
            &user,
            id,
            None,
            "",
            Some(WebError::from(e).message(lang)),
        )
        .await?;
        return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}?ok=reopened")).into_response())
}

/// The progress board as an Excel workbook (same filter as the page).
pub async fn board_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<BoardQuery>,
) -> Result<Response, WebError> {
    use parindex_formats::report::{BoardLine, ProgressBoard, write_progress_board_xlsx};
    user.require(Action::ManagePeriods)?;
    let page = show_page(&state, &user, id, None, &q.group, None).await?;
    let lang = user.ctx.lang;
    let when = |t: Option<i64>| t.map(crate::page::datetime_vi).unwrap_or_default();
    let board = ProgressBoard {
        province: state.config.province_name.clone(),
        period: page.period.name.clone(),
        generated_at: crate::page::datetime_vi(parindex_store::now_ms()),
        lines: page
            .rows
            .iter()
            .map(|r| BoardLine {
                unit_code: r.unit.unit_code.clone(),
                unit_name: r.unit.unit_name.clone(),
                group: r.unit.group_code.clone(),
                stage: lang.t(r.stage).to_owned(),
                scored: r.scored as u32,
                total: r.total as u32,
                last_activity: when(r.unit.last_activity_at),
                submitted_at: when(r.unit.submitted_at),
                extension: when(r.unit.extension_until),
            })
            .collect(),
    };
    let bytes = write_progress_board_xlsx(&board).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tien-do-ky-{id}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Thousandths of a point shown the Vietnamese way (for templates).
pub fn points(milli: &i64) -> String {
    Points::from_millipoints(*milli).display_vi()
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/periods", list)
        .post("/periods", create)
        .get("/periods/{id}", show)
        .get("/periods/{id}/board.xlsx", board_xlsx)
        .post("/periods/{id}/units/{unit_id}/extension", extension)
        .post("/periods/{id}/units/{unit_id}/reopen", reopen)
}
