//! A hold on stock for one checkout (`reservations`), with the plan it
//! holds; its id is the checkout's order reference.

use sea_orm::entity::prelude::*;

/// Where a hold is in its life: ACTIVE until confirmed, released or expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ReservationStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    #[sea_orm(string_value = "RELEASED")]
    Released,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub status: ReservationStatus,
    pub strategy: String,
    pub ship_to_latitude: f64,
    pub ship_to_longitude: f64,
    pub max_shipments: Option<i32>,
    pub fingerprint: String,
    pub total_cost_cents: i64,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub released_at: Option<DateTimeUtc>,
    /// Its shipments and their lines, as JSON text written with the row
    /// (see `inventory::reservations::plan`).
    pub plan: String,
}

impl ActiveModelBehavior for ActiveModel {}
