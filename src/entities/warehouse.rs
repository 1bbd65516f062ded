//! A warehouse: where stock lives and shipments leave from (`warehouses`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "warehouses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub city: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub active: bool,
    pub base_cents: i32,
    #[sea_orm(column_name = "cents_per_100km")]
    pub cents_per_100km: i32,
    pub cents_per_kg: i32,
    /// The most shipments it may ship per UTC day; `None`: no limit.
    pub daily_shipment_capacity: Option<i32>,
    pub created_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub stock_levels: HasMany<super::stock_level::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
