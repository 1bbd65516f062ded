//! One warehouse's shipment within a reservation, priced as it was reserved
//! (`reservation_shipments`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reservation_shipments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub reservation_id: Uuid,
    pub warehouse_id: i32,
    pub distance_km: f64,
    pub weight_grams: i64,
    pub cost_cents: i64,
    /// When a shipment waiting for inbound stock is ready: the latest
    /// arrival it waits for. `None`: it ships from stock on hand.
    pub ready_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "reservation_id", to = "id")]
    pub reservation: BelongsTo<super::reservation::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
