//! One entry of the stock ledger (`inventory_movements`): every change of a
//! stock level's quantity, reserved count or safety stock, with the values
//! after it, and every change of what is inbound to it.

use sea_orm::entity::prelude::*;

/// Why a stock level changed. Stored as its upper-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum MovementType {
    #[sea_orm(string_value = "RESTOCK")]
    Restock,
    #[sea_orm(string_value = "RETURN")]
    Return,
    #[sea_orm(string_value = "DAMAGE")]
    Damage,
    #[sea_orm(string_value = "ADJUSTMENT")]
    Adjustment,
    #[sea_orm(string_value = "TRANSFER_OUT")]
    TransferOut,
    #[sea_orm(string_value = "TRANSFER_IN")]
    TransferIn,
    #[sea_orm(string_value = "RESERVE")]
    Reserve,
    #[sea_orm(string_value = "RELEASE")]
    Release,
    #[sea_orm(string_value = "EXPIRE")]
    Expire,
    #[sea_orm(string_value = "ORDER")]
    Order,
    #[sea_orm(string_value = "SAFETY_STOCK")]
    SafetyStock,
    /// An inbound shipment was announced: nothing on hand changed.
    #[sea_orm(string_value = "INBOUND_EXPECTED")]
    InboundExpected,
    /// An announced inbound shipment will not come.
    #[sea_orm(string_value = "INBOUND_CANCELLED")]
    InboundCancelled,
}

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inventory_movements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i32,
    pub warehouse_id: i32,
    pub movement_type: MovementType,
    pub quantity_delta: i32,
    pub reserved_delta: i32,
    pub quantity_after: i32,
    pub reserved_after: i32,
    pub safety_stock_delta: i32,
    pub safety_stock_after: i32,
    /// The stock level's version after this movement.
    pub version_after: i32,
    pub reference_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    /// The inbound shipment this movement expected, received or cancelled.
    pub inbound_id: Option<Uuid>,
    #[sea_orm(belongs_to, from = "product_id", to = "id")]
    pub product: BelongsTo<super::product::Entity>,
    #[sea_orm(belongs_to, from = "warehouse_id", to = "id")]
    pub warehouse: BelongsTo<super::warehouse::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
