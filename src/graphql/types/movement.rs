use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use crate::{
    entities::{
        movement::{self, MovementType as StoredType},
        product, warehouse,
    },
    graphql::{ApiError, Coded, loaders::Loaders},
    inventory::audit,
};

/// Why a stock level changed.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovementType {
    /// quantity +
    Restock,
    /// quantity +
    Return,
    /// quantity -
    Damage,
    /// quantity set by a count
    Adjustment,
    /// quantity -
    TransferOut,
    /// quantity +
    TransferIn,
    /// reserved +
    Reserve,
    /// reserved - (cancelled)
    Release,
    /// reserved - (timed out)
    Expire,
    /// quantity - and reserved - (confirmed sale)
    Order,
    /// safety stock set: units held back from sale, or given back
    SafetyStock,
    /// an inbound shipment announced (see inboundId); nothing on hand changed
    InboundExpected,
    /// an announced inbound shipment cancelled; nothing on hand changed
    InboundCancelled,
}

impl From<StoredType> for MovementType {
    fn from(kind: StoredType) -> Self {
        match kind {
            StoredType::Restock => MovementType::Restock,
            StoredType::Return => MovementType::Return,
            StoredType::Damage => MovementType::Damage,
            StoredType::Adjustment => MovementType::Adjustment,
            StoredType::TransferOut => MovementType::TransferOut,
            StoredType::TransferIn => MovementType::TransferIn,
            StoredType::Reserve => MovementType::Reserve,
            StoredType::Release => MovementType::Release,
            StoredType::Expire => MovementType::Expire,
            StoredType::Order => MovementType::Order,
            StoredType::SafetyStock => MovementType::SafetyStock,
            StoredType::InboundExpected => MovementType::InboundExpected,
            StoredType::InboundCancelled => MovementType::InboundCancelled,
        }
    }
}

/// Which way a page of movements runs.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovementOrder {
    /// The latest change first: an audit trail.
    NewestFirst,
    /// In the order they happened: to replay or export the ledger.
    OldestFirst,
}

impl From<MovementOrder> for audit::MovementOrder {
    fn from(order: MovementOrder) -> Self {
        match order {
            MovementOrder::NewestFirst => audit::MovementOrder::NewestFirst,
            MovementOrder::OldestFirst => audit::MovementOrder::OldestFirst,
        }
    }
}

/// One change of one stock level, as the ledger recorded it.
pub struct Movement {
    model: movement::Model,
    /// Its product and warehouse when the reader already has them (events
    /// do); otherwise their SKU and code are loaded in batches.
    names: Option<(Arc<product::Model>, Arc<warehouse::Model>)>,
}

impl Movement {
    pub fn new(model: movement::Model) -> Self {
        Movement { model, names: None }
    }

    pub fn named(
        model: movement::Model,
        product: Arc<product::Model>,
        warehouse: Arc<warehouse::Model>,
    ) -> Self {
        Movement {
            model,
            names: Some((product, warehouse)),
        }
    }
}

#[Object]
impl Movement {
    /// Increases with every change; also the subscription cursor.
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn sku(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        if let Some((product, _)) = &self.names {
            return Ok(product.sku.clone());
        }
        let loaders = ctx.data::<Loaders>()?;
        let product = loaders
            .products()
            .load_one(self.model.product_id)
            .await
            .coded()?;
        Ok(product.ok_or(ApiError::Internal).coded()?.sku)
    }

    async fn warehouse_code(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        if let Some((_, warehouse)) = &self.names {
            return Ok(warehouse.code.clone());
        }
        let loaders = ctx.data::<Loaders>()?;
        let warehouse = loaders
            .warehouses()
            .load_one(self.model.warehouse_id)
            .await
            .coded()?;
        Ok(warehouse.ok_or(ApiError::Internal).coded()?.code)
    }

    #[graphql(name = "type")]
    async fn movement_type(&self) -> MovementType {
        self.model.movement_type.into()
    }

    async fn quantity_delta(&self) -> i32 {
        self.model.quantity_delta
    }

    async fn reserved_delta(&self) -> i32 {
        self.model.reserved_delta
    }

    async fn quantity_after(&self) -> i32 {
        self.model.quantity_after
    }

    async fn reserved_after(&self) -> i32 {
        self.model.reserved_after
    }

    /// Units more held back as safety stock (fewer, if negative).
    async fn safety_stock_delta(&self) -> i32 {
        self.model.safety_stock_delta
    }

    async fn safety_stock_after(&self) -> i32 {
        self.model.safety_stock_after
    }

    /// The inbound shipment this movement announced, received (a RESTOCK)
    /// or cancelled.
    async fn inbound_id(&self) -> Option<uuid::Uuid> {
        self.model.inbound_id
    }

    /// The caller's reference: an order, a delivery note, a reservation id.
    async fn reference_id(&self) -> Option<&str> {
        self.model.reference_id.as_deref()
    }

    /// The name of the API key that made the change.
    async fn created_by(&self) -> Option<&str> {
        self.model.created_by.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}
