use async_graphql::{ID, Object};

use crate::entities::product;

/// A product in the catalogue.
pub struct Product(pub product::Model);

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
}

impl From<product::Model> for Product {
    fn from(model: product::Model) -> Self {
        Product(model)
    }
}
