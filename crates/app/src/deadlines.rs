//! Deadlines that depend on stored extensions and per-round dates, not only on the period.

use parindex_domain::appraisal::explanation_due;

/// The deadline for `unit_id` to answer explanation round `round`: the round's own deadline
/// (round 1 falls back on the period's), moved later by the unit's extension.
pub async fn explanation_due_for(
    store: &parindex_store::Store,
    period: &parindex_store::periods::Period,
    unit_id: i64,
    round: u8,
) -> Result<Option<i64>, parindex_store::StoreError> {
    let round_due = store
        .explanation_deadlines(period.id)
        .await?
        .into_iter()
        .find(|(r, _)| *r == i64::from(round))
        .map(|(_, due)| due);
    let extension = store
        .explanation_extensions(period.id)
        .await?
        .into_iter()
        .find(|e| e.unit_id == unit_id && e.round == i64::from(round))
        .map(|e| e.until_at);
    Ok(explanation_due(
        round,
        period.explanation_due_at,
        round_due,
        extension,
    ))
}
