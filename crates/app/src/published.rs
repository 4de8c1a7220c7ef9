//! Reads of results for their pages beyond the loader (`results`): the published periods and
//! sets the public pages and the API serve, the periods staff browse, who may open a unit's
//! scorecard, and a unit's earlier published years.

use parindex_domain::Action;
use parindex_domain::appraisal::Stage;
use parindex_domain::ranking::Band;
use parindex_store::index_sets::{SetStatus, StoredIndexSet};
use parindex_store::periods::Period;

use crate::acting::Acting;
use crate::evaluation::stage_of;
use crate::results::{Audience, PeriodResults, counterpart, predecessors};
use crate::{App, AppError};

/// A unit's published result in an earlier (or later) period.
#[derive(Debug, Clone)]
pub struct YearResult {
    pub period_id: i64,
    pub name: String,
    pub year: i64,
    /// The index as shown ("87,50").
    pub index: String,
    pub rank: Option<u32>,
    pub band: Option<Band>,
    /// The unit as it was named then (a predecessor's name after a rename).
    pub unit_name: String,
}

/// A survey group's share of the survey score, for the methodology.
#[derive(Debug, Clone)]
pub struct SurveyShare {
    pub name: String,
    pub weight_milli: i64,
}

fn is_published(period: &Period) -> Result<bool, AppError> {
    Ok(stage_of(period)?.0 == Stage::Published)
}

impl App {
    /// The published periods, in the store's order. Open to anyone.
    pub async fn published_periods(&self) -> Result<Vec<Period>, AppError> {
        let mut out = Vec::new();
        for period in self.store.list_periods().await? {
            if is_published(&period)? {
                out.push(period);
            }
        }
        Ok(out)
    }

    /// The published index sets. Open to anyone.
    pub async fn published_index_sets(&self) -> Result<Vec<StoredIndexSet>, AppError> {
        Ok(self
            .store
            .list_index_sets()
            .await?
            .into_iter()
            .filter(|s| s.status == SetStatus::Published)
            .collect())
    }

    /// One published index set; any other is not found.
    pub async fn published_index_set(&self, id: i64) -> Result<StoredIndexSet, AppError> {
        let set = self.store.get_index_set(id).await?;
        if set.status != SetStatus::Published {
            return Err(AppError::NotFound);
        }
        Ok(set)
    }

    /// The survey groups of a published period with their weights.
    pub async fn survey_shares(&self, period_id: i64) -> Result<Vec<SurveyShare>, AppError> {
        if !is_published(&self.store.get_period(period_id).await?)? {
            return Err(AppError::NotFound);
        }
        Ok(self
            .store
            .survey_groups(period_id)
            .await?
            .into_iter()
            .map(|g| SurveyShare {
                name: g.name,
                weight_milli: g.weight_milli,
            })
            .collect())
    }

    /// Every period, for those who see provisional results.
    pub async fn result_periods(&self, by: &Acting) -> Result<Vec<Period>, AppError> {
        by.require(Action::ViewProvisionalResults)?;
        Ok(self.store.list_periods().await?)
    }

    /// Who may open a unit's scorecard: whoever sees provisional results, always; the unit's
    /// own officers and head once the period is published (their official result, leaf by
    /// leaf), never before (a provisional figure is not theirs to quote). Returns whether the
    /// viewer is staff.
    pub async fn scorecard_access(
        &self,
        by: &Acting,
        period_id: i64,
        unit_id: i64,
    ) -> Result<bool, AppError> {
        if by.can(Action::ViewProvisionalResults) {
            return Ok(true);
        }
        by.require(Action::ViewPublishedScorecard { unit_id })?;
        if !is_published(&self.store.get_period(period_id).await?)? {
            return Err(AppError::Forbidden(None));
        }
        Ok(false)
    }

    /// The unit's published results in other periods, newest first: its own, or where it did
    /// not take part, those of the unit it succeeds (the same match as the change against
    /// last year, `results::counterpart`).
    pub async fn other_years(
        &self,
        current: &PeriodResults,
        unit_id: i64,
    ) -> Result<Vec<YearResult>, AppError> {
        let predecessors = predecessors(self).await?;
        let mut years = Vec::new();
        for period in self.published_periods().await? {
            if period.id == current.period.id {
                continue;
            }
            let r = PeriodResults::load(self, period.id, Audience::Public).await?;
            if let Some(u) = counterpart(&r, unit_id, &predecessors) {
                years.push(YearResult {
                    period_id: period.id,
                    name: period.name.clone(),
                    year: period.year,
                    index: u.index_vi(),
                    rank: u.rank,
                    band: u.band,
                    unit_name: u.unit_name.clone(),
                });
            }
        }
        years.sort_by_key(|y| (std::cmp::Reverse(y.year), std::cmp::Reverse(y.period_id)));
        Ok(years)
    }
}
