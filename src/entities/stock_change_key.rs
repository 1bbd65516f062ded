//! The idempotency key of an admin stock change (`stock_change_keys`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_change_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    /// `receiveStock`, `setStock`, …: the mutation that used the key.
    pub operation: String,
    /// A hash of the change's input.
    pub fingerprint: String,
    /// The stock levels as the change left them, as JSON.
    pub result: String,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
