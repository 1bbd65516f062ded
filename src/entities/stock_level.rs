//! The stock of one product in one warehouse (`inventory`): on hand,
//! reserved by holds, and a version bumped by every change.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inventory")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub product_id: i32,
    pub warehouse_id: i32,
    pub quantity: i32,
    pub reserved: i32,
    pub version: i32,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "product_id", to = "id")]
    pub product: BelongsTo<super::product::Entity>,
    #[sea_orm(belongs_to, from = "warehouse_id", to = "id")]
    pub warehouse: BelongsTo<super::warehouse::Entity>,
}

impl Model {
    /// Units that a new hold may still take.
    pub fn available(&self) -> i32 {
        self.quantity - self.reserved
    }
}

impl ActiveModelBehavior for ActiveModel {}
