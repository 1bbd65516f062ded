use async_graphql::{ID, Object, SimpleObject};

use super::{GeoPoint, LocationInput};
use crate::{
    entities::warehouse, geography::distance_km, graphql::Coded, inventory::catalogue::location_of,
};

/// A warehouse that holds stock and ships orders.
pub struct Warehouse(pub warehouse::Model);

/// The cost of one shipment from a warehouse, in cents:
/// `baseCents + round(distanceKm * centsPer100Km / 100) + centsPerKg * ceil(weightGrams / 1000)`.
#[derive(SimpleObject)]
pub struct ShippingRate {
    /// Paid once per shipment, whatever its size.
    pub base_cents: i32,
    #[graphql(name = "centsPer100Km")]
    pub cents_per_100km: i32,
    /// Per started kilogram.
    pub cents_per_kg: i32,
}

#[Object]
impl Warehouse {
    async fn id(&self) -> ID {
        ID::from(self.0.id)
    }

    /// Short unique code, e.g. `BER1`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }

    async fn location(&self) -> async_graphql::Result<GeoPoint> {
        location_of(&self.0).coded().map(GeoPoint)
    }

    /// Inactive warehouses keep their stock but never ship.
    async fn active(&self) -> bool {
        self.0.active
    }

    async fn shipping_rate(&self) -> ShippingRate {
        ShippingRate {
            base_cents: self.0.base_cents,
            cents_per_100km: self.0.cents_per_100km,
            cents_per_kg: self.0.cents_per_kg,
        }
    }

    /// Geodesic (WGS84) distance in kilometres from a point.
    async fn distance_km(&self, from: LocationInput) -> async_graphql::Result<f64> {
        let from = from.parse("from").coded()?;
        let here = location_of(&self.0).coded()?;
        Ok(distance_km(from, here))
    }
}

impl From<warehouse::Model> for Warehouse {
    fn from(model: warehouse::Model) -> Self {
        Warehouse(model)
    }
}
