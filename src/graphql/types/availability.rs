use std::sync::Arc;

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};

use super::{IncomingStock, Warehouse, saturating_int};
use crate::{
    geography::{Location, distance_km},
    graphql::{Coded, loaders::Loaders},
    inventory::{
        InventoryError, availability as model,
        catalogue::location_of,
        inbound::{self, Incoming},
    },
};

/// What can be sold of one SKU, summed over the active warehouses.
///
/// The warehouses are converted once, when the value is made, and their
/// fields are served by reference: a storefront page asks for hundreds of
/// them per request, and cloning each warehouse per field showed up in
/// the allocator's share of the profile.
pub struct Availability {
    summary: model::Availability,
    warehouses: Vec<WarehouseAvailability>,
    /// The destination asked about, which incoming stock is measured from.
    ship_to: Option<Location>,
}

impl Availability {
    /// `summary`, as asked for shipping to `ship_to`.
    pub fn new(summary: model::Availability, ship_to: Option<Location>) -> Self {
        Availability {
            ship_to,
            ..Availability::from(summary)
        }
    }

    /// What is incoming of this SKU, soonest first, read when first asked.
    async fn incoming_of(&self, ctx: &Context<'_>) -> async_graphql::Result<Arc<[Incoming]>> {
        Ok(ctx
            .data::<Loaders>()?
            .incoming_by_sku()
            .load_one(self.summary.sku.clone())
            .await
            .coded()?
            .unwrap_or_else(|| Arc::from([])))
    }
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
            ship_to: None,
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

    /// Expected inbound shipments in active warehouses with units still free
    /// to promise: soonest first; with shipTo, nearest first and then
    /// soonest, with distanceKm.
    async fn incoming(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<IncomingStock>> {
        let mut shown = self
            .incoming_of(ctx)
            .await?
            .iter()
            .map(|incoming| {
                let distance_km = match self.ship_to {
                    Some(to) => Some(distance_km(to, location_of(&incoming.warehouse)?)),
                    None => None,
                };
                Ok((incoming.clone(), distance_km))
            })
            .collect::<Result<Vec<_>, InventoryError>>()
            .coded()?;
        inbound::in_promise_order(&mut shown);
        Ok(shown
            .into_iter()
            .map(|(incoming, distance_km)| IncomingStock {
                incoming,
                distance_km,
            })
            .collect())
    }

    /// available + what is incoming with expectedAt no later than `by`.
    async fn available_to_promise(
        &self,
        ctx: &Context<'_>,
        by: DateTime<Utc>,
    ) -> async_graphql::Result<i32> {
        let incoming = self.incoming_of(ctx).await?;
        Ok(saturating_int(inbound::available_to_promise(
            self.summary.available(),
            &incoming,
            by,
        )))
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
