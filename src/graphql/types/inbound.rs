use async_graphql::{Context, Enum, InputObject, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Product, Warehouse};
use crate::{
    entities::inbound_shipment::{self, InboundStatus as StoredStatus},
    graphql::{ApiError, Coded, loaders::Loaders},
    inventory::inbound::{Expectation, Incoming},
};

/// Where an inbound shipment is in its life.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InboundStatus {
    /// On its way: promised to storefronts, not on hand.
    Expected,
    /// Arrived: its units are on hand.
    Received,
    /// It will not come.
    Cancelled,
}

impl From<StoredStatus> for InboundStatus {
    fn from(status: StoredStatus) -> Self {
        match status {
            StoredStatus::Expected => InboundStatus::Expected,
            StoredStatus::Received => InboundStatus::Received,
            StoredStatus::Cancelled => InboundStatus::Cancelled,
        }
    }
}

impl From<InboundStatus> for StoredStatus {
    fn from(status: InboundStatus) -> Self {
        match status {
            InboundStatus::Expected => StoredStatus::Expected,
            InboundStatus::Received => StoredStatus::Received,
            InboundStatus::Cancelled => StoredStatus::Cancelled,
        }
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct ExpectInboundInput {
    /// The caller's reference; a retry with the same id and input returns
    /// the same inbound.
    pub id: Uuid,
    pub sku: String,
    pub warehouse_code: String,
    /// 1..1000000.
    pub quantity: i32,
    /// In the future.
    pub expected_at: DateTime<Utc>,
    /// A purchase order or delivery note; 1..200 characters.
    pub reference_id: Option<String>,
}

impl ExpectInboundInput {
    /// Checks the announcement's shape; errors name the field at fault.
    pub fn parse(self) -> Result<Expectation, ApiError> {
        Ok(Expectation::new(
            self.id,
            self.sku,
            self.warehouse_code,
            self.quantity,
            self.expected_at,
            self.reference_id.as_deref(),
        )?)
    }
}

/// Units on their way to a warehouse.
pub struct InboundShipment(pub inbound_shipment::Model);

#[Object]
impl InboundShipment {
    async fn id(&self) -> Uuid {
        self.0.id
    }

    async fn sku(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(self.product_model(ctx).await?.sku)
    }

    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Product> {
        Ok(Product::from(self.product_model(ctx).await?))
    }

    async fn warehouse(&self, ctx: &Context<'_>) -> async_graphql::Result<Warehouse> {
        let found = ctx
            .data::<Loaders>()?
            .warehouses()
            .load_one(self.0.warehouse_id)
            .await
            .coded()?;
        Ok(Warehouse::from(found.ok_or(ApiError::Internal).coded()?))
    }

    /// Units expected.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// Of those, held by reservations (pre-orders).
    async fn reserved(&self) -> i32 {
        self.0.reserved
    }

    /// quantity - reserved.
    async fn available(&self) -> i32 {
        self.0.available()
    }

    async fn expected_at(&self) -> DateTime<Utc> {
        self.0.expected_at
    }

    async fn status(&self) -> InboundStatus {
        self.0.status.into()
    }

    async fn received_at(&self) -> Option<DateTime<Utc>> {
        self.0.received_at
    }

    async fn reference_id(&self) -> Option<&str> {
        self.0.reference_id.as_deref()
    }
}

impl InboundShipment {
    async fn product_model(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<crate::entities::product::Model> {
        let found = ctx
            .data::<Loaders>()?
            .products()
            .load_one(self.0.product_id)
            .await
            .coded()?;
        found.ok_or(ApiError::Internal).coded()
    }
}

/// Units of one inbound shipment a storefront may promise.
pub struct IncomingStock {
    pub incoming: Incoming,
    pub distance_km: Option<f64>,
}

#[Object]
impl IncomingStock {
    async fn warehouse(&self) -> Warehouse {
        Warehouse(self.incoming.warehouse.clone())
    }

    /// Still available to promise from this inbound.
    async fn quantity(&self) -> i32 {
        self.incoming.quantity
    }

    async fn expected_at(&self) -> DateTime<Utc> {
        self.incoming.expected_at
    }

    /// Geodesic distance to the destination; set when shipTo was given.
    async fn distance_km(&self) -> Option<f64> {
        self.distance_km
    }
}
