//! What the home page counts for the user.

use parindex_domain::Actor;
use parindex_store::units::UnitFilter;

use crate::{App, AppError};

impl App {
    /// How many units the actor sees in the registry (a unit-bound role sees its own only).
    pub async fn visible_unit_count(&self, actor: &Actor) -> Result<usize, AppError> {
        Ok(self
            .store
            .list_units(&UnitFilter {
                only_unit_id: actor.unit_restriction(),
                ..Default::default()
            })
            .await?
            .len())
    }

    /// Whether a write transaction can start now (the readiness probe).
    pub async fn readiness(&self, deadline: std::time::Duration) -> parindex_store::Readiness {
        self.store.readiness(deadline).await
    }
}
