//! The stock of one product in one warehouse (`inventory`): on hand,
//! reserved by holds, held back as safety stock, and a version bumped by
//! every change.

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
    /// Units kept on hand that are never offered nor reserved.
    pub safety_stock: i32,
    pub version: i32,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "product_id", to = "id")]
    pub product: BelongsTo<super::product::Entity>,
    #[sea_orm(belongs_to, from = "warehouse_id", to = "id")]
    pub warehouse: BelongsTo<super::warehouse::Entity>,
}

impl Model {
    /// Units that a new hold may still take: on hand, not reserved, not
    /// held back.
    pub fn available(&self) -> i32 {
        available(self.quantity, self.reserved, self.safety_stock)
    }

    /// Units on hand that no hold has: what a write-off or a transfer may
    /// take, safety stock included (it is physically there).
    pub fn unreserved(&self) -> i32 {
        self.quantity - self.reserved
    }
}

/// What a stock level offers: max(0, quantity - reserved - safety stock).
/// Safety stock may exceed what is unreserved (a write-off can take it);
/// then nothing is offered.
pub fn available(quantity: i32, reserved: i32, safety_stock: i32) -> i32 {
    (quantity - reserved - safety_stock).max(0)
}

impl ActiveModelBehavior for ActiveModel {}
