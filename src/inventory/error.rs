//! What can go wrong in the service layer.

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The caller's input breaks a rule; `field` names the argument at fault.
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// The database did not let the work finish within the caller's
    /// deadline; it was dropped unfinished (only a COMMIT already sent
    /// may still land, and a retry with the same id then finds it).
    #[error("the database is unavailable: {}", .0.message())]
    Unavailable(crate::db::Outage),
    /// A failure of ours that is neither the caller's nor the database's.
    #[error("internal error: {0}")]
    Internal(String),
}

impl InventoryError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        InventoryError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }
}
