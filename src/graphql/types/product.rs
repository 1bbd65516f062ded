use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use super::{Availability, LocationInput, StockLevel};
use crate::{
    entities::{product, stock_level},
    graphql::{Coded, loaders::Loaders},
    inventory::availability::{distances_from, summarize},
};

/// A product in the catalogue. Shared, not copied: every stockLevelChanged
/// event that selects its product shows the one the event carries.
pub struct Product(pub Arc<product::Model>);

#[Object]
impl Product {
    async fn id(&self) -> ID {
        ID::from(self.0.id)
    }

    /// The stock-keeping unit, unique in the catalogue.
    async fn sku(&self) -> &str {
        &self.0.sku
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Shipping weight of one unit, in grams.
    async fn weight_grams(&self) -> i32 {
        self.0.weight_grams
    }

    /// Summed over all active warehouses. With shipTo, warehouses come
    /// nearest first and carry distanceKm.
    async fn availability(
        &self,
        ctx: &Context<'_>,
        ship_to: Option<LocationInput>,
    ) -> async_graphql::Result<Availability> {
        let ship_to = ship_to.map(|to| to.parse("shipTo")).transpose().coded()?;
        let holdings = ctx
            .data::<Loaders>()?
            .holdings_by_sku()
            .load_one(self.0.sku.clone())
            .await
            .coded()?
            .unwrap_or_default();
        let distances = ship_to
            .map(|to| distances_from(to, holdings.iter().map(|h| h.warehouse.as_ref())))
            .transpose()
            .coded()?;
        Ok(Availability::new(
            summarize(&self.0.sku, holdings.iter(), distances.as_ref()),
            ship_to,
        ))
    }

    /// This product's stock in every warehouse that has a level for it,
    /// active or not, in warehouse order.
    async fn stock_levels(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StockLevel>> {
        Ok(self
            .levels(ctx)
            .await?
            .into_iter()
            .map(StockLevel::from)
            .collect())
    }
}

impl Product {
    /// This product's stock levels, through the request's loader.
    async fn levels(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<stock_level::Model>> {
        Ok(ctx
            .data::<Loaders>()?
            .stock_levels_by_product()
            .load_one(self.0.id)
            .await
            .coded()?
            .unwrap_or_default())
    }
}

impl From<product::Model> for Product {
    fn from(model: product::Model) -> Self {
        Product(Arc::new(model))
    }
}
