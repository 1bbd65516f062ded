//! How many shipments of ACTIVE and CONFIRMED reservations a warehouse
//! ships on one UTC day (`shipment_days`): the counter its daily capacity
//! guards.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipment_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub warehouse_id: i32,
    /// `YYYY-MM-DD`, UTC.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: String,
    pub used: i32,
}

impl ActiveModelBehavior for ActiveModel {}
