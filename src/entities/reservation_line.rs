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
    #[sea_orm(belongs_to, from = "reservation_id", to = "id")]
    pub reservation: BelongsTo<super::reservation::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
