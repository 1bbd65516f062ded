use async_graphql::{InputObject, SimpleObject};

use super::{LocationInput, StockLevel};
use crate::{
    graphql::ApiError,
    inventory::{
        registration::{NewProduct, NewWarehouse, RateCents},
        stock_changes::Units,
    },
};

#[derive(InputObject, Clone, Debug)]
pub struct CreateProductInput {
    /// 1..64 of A-Z a-z 0-9 . _ -
    pub sku: String,
    /// 1..200 characters.
    pub name: String,
    /// 1..1000000.
    pub weight_grams: i32,
}

impl CreateProductInput {
    pub fn parse(self) -> Result<NewProduct, ApiError> {
        Ok(NewProduct::new(self.sku, &self.name, self.weight_grams)?)
    }
}

/// Cents; each 0..10000000.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct ShippingRateInput {
    pub base_cents: i32,
    #[graphql(name = "centsPer100Km")]
    pub cents_per_100_km: i32,
    pub cents_per_kg: i32,
}

#[derive(InputObject, Clone, Debug)]
pub struct CreateWarehouseInput {
    /// 1..64 of A-Z a-z 0-9 . _ -
    pub code: String,
    /// 1..200 characters.
    pub name: String,
    pub city: Option<String>,
    pub location: LocationInput,
    pub shipping_rate: ShippingRateInput,
}

impl CreateWarehouseInput {
    pub fn parse(self) -> Result<NewWarehouse, ApiError> {
        let location = self.location.parse("location")?;
        let rate = RateCents {
            base: self.shipping_rate.base_cents,
            per_100km: self.shipping_rate.cents_per_100_km,
            per_kg: self.shipping_rate.cents_per_kg,
        };
        Ok(NewWarehouse::new(
            self.code,
            &self.name,
            self.city.as_deref(),
            location,
            rate,
        )?)
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct StockChangeInput {
    pub sku: String,
    pub warehouse_code: String,
    /// > 0
    pub quantity: i32,
    /// Yours: a delivery note, an order, a ticket. Recorded on the movement.
    pub reference_id: Option<String>,
    /// Retry safely: the same key with the same input returns the first
    /// result and changes nothing; with another input it is a CONFLICT.
    pub idempotency_key: Option<String>,
}

impl StockChangeInput {
    pub fn units(&self) -> Result<Units, ApiError> {
        Ok(Units::change(
            self.sku.clone(),
            self.warehouse_code.clone(),
            self.quantity,
        )?)
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct SetStockInput {
    pub sku: String,
    pub warehouse_code: String,
    /// The counted on-hand quantity, >= reserved.
    pub quantity: i32,
    /// Compare-and-set: CONFLICT when the level moved on.
    pub expected_version: Option<i32>,
    pub reference_id: Option<String>,
    /// Retry safely: the same key with the same input returns the first
    /// result and changes nothing; with another input it is a CONFLICT.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct TransferStockInput {
    pub sku: String,
    pub from_warehouse_code: String,
    pub to_warehouse_code: String,
    /// > 0, at most what is available at the source.
    pub quantity: i32,
    pub reference_id: Option<String>,
    /// Retry safely: the same key with the same input returns the first
    /// result and changes nothing; with another input it is a CONFLICT.
    pub idempotency_key: Option<String>,
}

/// The two stock levels a transfer changed.
#[derive(SimpleObject)]
pub struct StockTransfer {
    pub from: StockLevel,
    pub to: StockLevel,
}
