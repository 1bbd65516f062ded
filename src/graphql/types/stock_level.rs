use std::sync::Arc;

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};

use super::{Product, Warehouse};
use crate::{
    entities::{product, stock_level, warehouse},
    graphql::{ApiError, Coded, loaders::Loaders},
};

/// The stock of one product in one warehouse.
pub struct StockLevel {
    level: stock_level::Model,
    /// Its product and warehouse when they came with it (a live event
    /// carries them), so that they need not be read again.
    known: Option<(Arc<product::Model>, Arc<warehouse::Model>)>,
}

impl From<stock_level::Model> for StockLevel {
    fn from(level: stock_level::Model) -> Self {
        StockLevel { level, known: None }
    }
}

impl StockLevel {
    pub fn with(
        level: stock_level::Model,
        product: Arc<product::Model>,
        warehouse: Arc<warehouse::Model>,
    ) -> Self {
        StockLevel {
            level,
            known: Some((product, warehouse)),
        }
    }
}

#[Object]
impl StockLevel {
    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Product> {
        if let Some((product, _)) = &self.known {
            return Ok(Product(product.clone()));
        }
        let loaders = ctx.data::<Loaders>()?;
        let found = loaders
            .products()
            .load_one(self.level.product_id)
            .await
            .coded()?;
        found
            .map(Product::from)
            .ok_or_else(|| missing("product", self.level.product_id))
            .coded()
    }

    async fn warehouse(&self, ctx: &Context<'_>) -> async_graphql::Result<Warehouse> {
        if let Some((_, warehouse)) = &self.known {
            return Ok(Warehouse(warehouse.clone()));
        }
        let loaders = ctx.data::<Loaders>()?;
        let found = loaders
            .warehouses()
            .load_one(self.level.warehouse_id)
            .await
            .coded()?;
        found
            .map(Warehouse::from)
            .ok_or_else(|| missing("warehouse", self.level.warehouse_id))
            .coded()
    }

    /// On hand.
    async fn quantity(&self) -> i32 {
        self.level.quantity
    }

    /// Held by active reservations.
    async fn reserved(&self) -> i32 {
        self.level.reserved
    }

    /// Units kept on hand and never offered nor reserved; 0 unless set.
    async fn safety_stock(&self) -> i32 {
        self.level.safety_stock
    }

    /// max(0, quantity - reserved - safetyStock): what a new reservation
    /// may take.
    async fn available(&self) -> i32 {
        self.level.available()
    }

    /// Grows with every change; pass to setStock as expectedVersion.
    async fn version(&self) -> i32 {
        self.level.version
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.level.updated_at
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
