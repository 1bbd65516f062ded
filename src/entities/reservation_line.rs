//! Units of one product held in one warehouse for a reservation
//! (`reservation_lines`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservation_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub reservation_id: Uuid,
    pub product_id: i32,
    pub warehouse_id: i32,
    pub quantity: i32,
    /// Set while the units are held on an inbound shipment (a pre-order)
    /// rather than on the stock level; cleared when it is received.
    pub inbound_id: Option<Uuid>,
    #[sea_orm(belongs_to, from = "reservation_id", to = "id")]
    pub reservation: BelongsTo<super::reservation::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
