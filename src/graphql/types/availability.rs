use async_graphql::Object;

use super::{Warehouse, saturating_int};
use crate::inventory::availability as model;

/// What can be sold of one SKU, summed over the active warehouses.
///
/// The warehouses are converted once, when the value is made, and their
/// fields are served by reference: a storefront page asks for hundreds of
/// them per request, and cloning each warehouse per field showed up in
/// the allocator's share of the profile.
pub struct Availability {
    summary: model::Availability,
    warehouses: Vec<WarehouseAvailability>,
}

impl From<model::Availability> for Availability {
    fn from(mut summary: model::Availability) -> Self {
        let warehouses = std::mem::take(&mut summary.warehouses)
            .into_iter()
            .map(|shipping| WarehouseAvailability {
                warehouse: Warehouse(shipping.warehouse),
                available: shipping.available,
                distance_km: shipping.distance_km,
            })
            .collect();
        Availability {
            summary,
            warehouses,
        }
    }
}

#[Object]
impl Availability {
    async fn sku(&self) -> &str {
        &self.summary.sku
    }

    /// On hand in active warehouses.
    async fn on_hand(&self) -> i32 {
        saturating_int(self.summary.on_hand)
    }

    /// Held by active reservations in active warehouses.
    async fn reserved(&self) -> i32 {
        saturating_int(self.summary.reserved)
    }

    /// onHand - reserved.
    async fn available(&self) -> i32 {
        saturating_int(self.summary.available())
    }

    async fn in_stock(&self) -> bool {
        self.summary.in_stock()
    }

    /// Active warehouses with something available: nearest first when a
    /// destination was given, else by code.
    async fn warehouses(&self) -> &[WarehouseAvailability] {
        &self.warehouses
    }
}

/// What one warehouse can ship of a SKU.
pub struct WarehouseAvailability {
    warehouse: Warehouse,
    available: i32,
    distance_km: Option<f64>,
}

#[Object]
impl WarehouseAvailability {
    async fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    async fn available(&self) -> i32 {
        self.available
    }

    /// Geodesic distance to the destination; set when one was given.
    async fn distance_km(&self) -> Option<f64> {
        self.distance_km
    }
}
