use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};

use super::{Product, Warehouse};
use crate::{
    entities::stock_level,
    graphql::{ApiError, Coded, loaders::Loaders},
};

/// The stock of one product in one warehouse.
pub struct StockLevel(pub stock_level::Model);

#[Object]
impl StockLevel {
    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Product> {
        let loaders = ctx.data::<Loaders>()?;
        let found = loaders.products.load_one(self.0.product_id).await.coded()?;
        found
            .map(Product)
            .ok_or_else(|| missing("product", self.0.product_id))
            .coded()
    }

    async fn warehouse(&self, ctx: &Context<'_>) -> async_graphql::Result<Warehouse> {
        let loaders = ctx.data::<Loaders>()?;
        let found = loaders
            .warehouses
            .load_one(self.0.warehouse_id)
            .await
            .coded()?;
        found
            .map(Warehouse::from)
            .ok_or_else(|| missing("warehouse", self.0.warehouse_id))
            .coded()
    }

    /// On hand.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// Held by active reservations.
    async fn reserved(&self) -> i32 {
        self.0.reserved
    }

    /// quantity - reserved: what a new reservation may take.
    async fn available(&self) -> i32 {
        self.0.available()
    }

    /// Grows with every change; pass to setStock as expectedVersion.
    async fn version(&self) -> i32 {
        self.0.version
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A foreign key that points nowhere cannot happen with the constraints in
/// place; if it does, it is ours to log, not the client's to fix.
fn missing(what: &str, id: i32) -> ApiError {
    tracing::error!(
        what,
        id,
        "a stock level refers to a row that does not exist"
    );
    ApiError::Internal
}
