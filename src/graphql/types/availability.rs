use async_graphql::Object;

use super::{Warehouse, saturating_int};
use crate::inventory::availability as model;

/// What can be sold of one SKU, summed over the active warehouses.
pub struct Availability(pub model::Availability);

#[Object]
impl Availability {
    async fn sku(&self) -> &str {
        &self.0.sku
    }

    /// On hand in active warehouses.
    async fn on_hand(&self) -> i32 {
        saturating_int(self.0.on_hand)
    }

    /// Held by active reservations in active warehouses.
    async fn reserved(&self) -> i32 {
        saturating_int(self.0.reserved)
    }

    /// onHand - reserved.
    async fn available(&self) -> i32 {
        saturating_int(self.0.available())
    }

    async fn in_stock(&self) -> bool {
        self.0.in_stock()
    }

    /// Active warehouses with something available: nearest first when a
    /// destination was given, else by code.
    async fn warehouses(&self) -> Vec<WarehouseAvailability> {
        self.0
            .warehouses
            .iter()
            .cloned()
            .map(WarehouseAvailability)
            .collect()
    }
}

/// What one warehouse can ship of a SKU.
pub struct WarehouseAvailability(pub model::WarehouseAvailability);

#[Object]
impl WarehouseAvailability {
    async fn warehouse(&self) -> Warehouse {
        Warehouse(self.0.warehouse.clone())
    }

    async fn available(&self) -> i32 {
        self.0.available
    }

    /// Geodesic distance to the destination; set when one was given.
    async fn distance_km(&self) -> Option<f64> {
        self.0.distance_km
    }
}
