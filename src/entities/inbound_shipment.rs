//! Units on their way to a warehouse (`inbound_shipments`): a purchase
//! order or a supplier's delivery, expected at a time. Its id is the
//! caller's own reference.

use sea_orm::entity::prelude::*;

/// Where an inbound is in its life: EXPECTED until received or cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum InboundStatus {
    #[sea_orm(string_value = "EXPECTED")]
    Expected,
    #[sea_orm(string_value = "RECEIVED")]
    Received,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_shipments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub product_id: i32,
    pub warehouse_id: i32,
    pub quantity: i32,
    /// Units of it held by pre-orders.
    pub reserved: i32,
    pub expected_at: DateTimeUtc,
    pub status: InboundStatus,
    pub reference_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub received_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "product_id", to = "id")]
    pub product: BelongsTo<super::product::Entity>,
    #[sea_orm(belongs_to, from = "warehouse_id", to = "id")]
    pub warehouse: BelongsTo<super::warehouse::Entity>,
}

impl Model {
    /// What is still free to promise.
    pub fn available(&self) -> i32 {
        self.quantity - self.reserved
    }
}

impl ActiveModelBehavior for ActiveModel {}
