use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};

use super::{GeoPoint, InboundShipment, InboundStatus, LocationInput, StockLevel};
use crate::{
    auth::Role,
    entities::warehouse,
    geography::distance_km,
    graphql::{
        Coded, RoleGuard,
        connection::{StockLevelConnection, decode_id_cursor, encode_cursor},
        loaders::{Loaders, WarehousePage},
    },
    inventory::{Page, PageSize, capacity, catalogue::location_of},
};

const STOCK_LEVEL_CURSOR: &str = "stocklevel";

/// A warehouse that holds stock and ships orders.
pub struct Warehouse(pub Arc<warehouse::Model>);

/// A warehouse's shipments on one UTC day, against its daily capacity.
#[derive(SimpleObject)]
pub struct WarehouseCapacity {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// null: unlimited.
    pub limit: Option<i32>,
    /// Shipments of ACTIVE or CONFIRMED reservations that day.
    pub used: i32,
    /// null: unlimited.
    pub remaining: Option<i32>,
}

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

    /// The stock levels held here, `first` (1..100) at a time.
    async fn stock_levels(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<StockLevelConnection> {
        // An explicit null means the default, as the contract's `Int = 50` allows.
        let first = first.unwrap_or(PageSize::DEFAULT);
        PageSize::new(first).coded()?;
        let after_id = after
            .map(|cursor| decode_id_cursor(STOCK_LEVEL_CURSOR, &cursor))
            .transpose()
            .coded()?;
        let loaders = ctx.data::<Loaders>()?;
        let page = loaders
            .stock_level_pages()
            .load_one(WarehousePage {
                warehouse_id: self.0.id,
                first,
                after_id,
            })
            .await
            .coded()?
            .unwrap_or(Page {
                items: Vec::new(),
                has_next_page: false,
            });
        Ok(StockLevelConnection::new(
            page.items.into_iter().map(|level| {
                (
                    encode_cursor(STOCK_LEVEL_CURSOR, &level.id.to_string()),
                    StockLevel::from(level),
                )
            }),
            page.has_next_page,
        ))
    }

    /// The most shipments it ships per UTC day; null: unlimited.
    async fn daily_shipment_capacity(&self) -> Option<i32> {
        self.0.daily_shipment_capacity
    }

    /// Its shipments on `day` ("YYYY-MM-DD", UTC; default today) against
    /// its daily capacity.
    async fn capacity(
        &self,
        ctx: &Context<'_>,
        day: Option<String>,
    ) -> async_graphql::Result<WarehouseCapacity> {
        let day = match day {
            Some(day) => capacity::parse_day(&day, "day").coded()?,
            None => capacity::day_of(crate::db::now()),
        };
        let used = ctx
            .data::<Loaders>()?
            .shipments_by_day()
            .load_one((self.0.id, day.clone()))
            .await
            .coded()?
            .unwrap_or(0);
        let found = capacity::DayCapacity {
            day,
            limit: self.0.daily_shipment_capacity,
            used,
        };
        Ok(WarehouseCapacity {
            remaining: found.remaining(),
            day: found.day,
            limit: found.limit,
            used: found.used,
        })
    }

    /// Inbound shipments bound here in `status`, soonest first.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn inbound(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(InboundStatus::Expected)")] status: Option<InboundStatus>,
    ) -> async_graphql::Result<Vec<InboundShipment>> {
        // An explicit null means the default, as for stockLevels' first.
        let status = status.unwrap_or(InboundStatus::Expected);
        let found = ctx
            .data::<Loaders>()?
            .inbound_by_warehouse()
            .load_one((self.0.id, status.into()))
            .await
            .coded()?
            .unwrap_or_default();
        Ok(found.into_iter().map(InboundShipment).collect())
    }
}

impl From<warehouse::Model> for Warehouse {
    fn from(model: warehouse::Model) -> Self {
        Warehouse(Arc::new(model))
    }
}
