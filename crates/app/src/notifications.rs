//! A user's notifications: the latest ones, and marking them read (their own only).

use parindex_store::appraisal::Notification;

use crate::{App, AppError};

impl App {
    /// The user's latest `limit` notifications, newest first.
    pub async fn notifications_of(
        &self,
        user_id: i64,
        limit: i64,
    ) -> Result<Vec<Notification>, AppError> {
        Ok(self.store.notifications(user_id, limit).await?)
    }

    /// Marks one of the user's notifications read (`Some`), or all of them; another user's
    /// notification is not found.
    pub async fn mark_read(&self, user_id: i64, id: Option<i64>) -> Result<(), AppError> {
        if let Some(id) = id {
            let owned = self
                .store
                .notifications(user_id, i64::MAX)
                .await?
                .into_iter()
                .any(|n| n.id == id);
            if !owned {
                return Err(AppError::NotFound);
            }
        }
        self.store.mark_notifications_read(user_id, id).await?;
        Ok(())
    }
}
