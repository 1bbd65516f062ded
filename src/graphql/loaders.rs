//! DataLoaders: every relation reached from a list is fetched for the whole
//! list with one `IN (...)` statement.
//!
//! Each HTTP request gets its own loaders, driven by [`super::batching`] so
//! that one level of nesting is one batch, and cached for the request so a
//! row reached twice is read once. The schema also holds a time-batched,
//! uncached set for executions outside an HTTP request (subscriptions,
//! in-process `execute`); request data takes precedence over it.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
    time::Duration,
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;

use super::{ApiError, batching::FetchQueue};
use crate::{
    entities::{
        inbound_shipment::{self, InboundStatus},
        product, stock_level, warehouse,
    },
    inventory::{
        Page, PageSize,
        availability::{AvailabilityCache, Holding},
        capacity,
        inbound::{self, Incoming},
        stock_levels,
    },
};

pub struct ProductById(DatabaseConnection);
pub struct WarehouseById(DatabaseConnection);
pub struct StockLevelsByProduct(DatabaseConnection);
pub struct StockLevelPageByWarehouse(DatabaseConnection);
/// Through the availability cache: what a product list's availability reads.
pub struct HoldingsBySku(DatabaseConnection, AvailabilityCache);
/// What is incoming of a SKU: never cached across requests, read only when
/// asked for.
pub struct IncomingBySku(DatabaseConnection);
/// A warehouse's inbound shipments in one status.
pub struct InboundByWarehouse(DatabaseConnection);
/// Shipments a warehouse ships on a day (warehouse id, `YYYY-MM-DD`).
pub struct ShipmentsByWarehouseDay(DatabaseConnection);

/// Which page of a warehouse's stock levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WarehousePage {
    pub warehouse_id: i32,
    pub first: i32,
    pub after_id: Option<i32>,
}

/// The loaders, ready to be put in the schema's or a request's data. They
/// are made the first time a resolver asks for one: most requests (a
/// checkout's `reserveOrder`, say) use none. Until then a request's set is
/// two reference counts and one empty cell: eight empty cells and a source
/// of its own for every request took ~1 % of the server's CPU in the
/// flash-sale profile, most of it dropping them.
pub struct Loaders {
    origin: Arc<Origin>,
    spawner: Spawner,
    made: OnceLock<Box<Made>>,
}

/// What every set of loaders reads from, shared by all of them.
pub struct Origin {
    db: DatabaseConnection,
    availability: AvailabilityCache,
}

impl Origin {
    pub fn new(db: &DatabaseConnection, availability: &AvailabilityCache) -> Arc<Self> {
        Arc::new(Origin {
            db: db.clone(),
            availability: availability.clone(),
        })
    }
}

/// Where a set's loaders run their fetches.
#[derive(Clone)]
enum Spawner {
    /// Queued for the request's own task: see [`super::batching`].
    Request(FetchQueue),
    /// Spawned on the runtime, after async-graphql's time window.
    Runtime,
}

impl Spawner {
    fn spawn(&self, fetch: BoxFuture<'static, ()>) {
        match self {
            Spawner::Request(queue) => queue.push(fetch),
            Spawner::Runtime => {
                tokio::spawn(fetch);
            }
        }
    }

    /// Request loaders fetch as soon as their request is blocked, and keep
    /// what they read for the request; the runtime's collect keys for a
    /// millisecond and keep nothing, since they live as long as the schema.
    fn delay_and_cache(&self) -> (Duration, bool) {
        match self {
            Spawner::Request(_) => (Duration::ZERO, true),
            Spawner::Runtime => (Duration::from_millis(1), false),
        }
    }
}

/// The loaders of one set, each made when first asked for.
#[derive(Default)]
struct Made {
    products: OnceLock<DataLoader<ProductById, HashMapCache>>,
    warehouses: OnceLock<DataLoader<WarehouseById, HashMapCache>>,
    stock_levels_by_product: OnceLock<DataLoader<StockLevelsByProduct, HashMapCache>>,
    stock_level_pages: OnceLock<DataLoader<StockLevelPageByWarehouse, HashMapCache>>,
    holdings_by_sku: OnceLock<DataLoader<HoldingsBySku, HashMapCache>>,
    incoming_by_sku: OnceLock<DataLoader<IncomingBySku, HashMapCache>>,
    inbound_by_warehouse: OnceLock<DataLoader<InboundByWarehouse, HashMapCache>>,
    shipments_by_day: OnceLock<DataLoader<ShipmentsByWarehouseDay, HashMapCache>>,
}

impl Loaders {
    /// Loaders for one request whose fetches run from `queue`, when the
    /// request is blocked on them; see [`super::batching`].
    pub fn for_request(origin: &Arc<Origin>, queue: &FetchQueue) -> Self {
        Loaders {
            origin: origin.clone(),
            spawner: Spawner::Request(queue.clone()),
            made: OnceLock::new(),
        }
    }

    /// Loaders for executions that no request drives: batched by async-graphql's
    /// time window, and uncached, since they live as long as the schema.
    /// Their availability reads skip the cache: a subscription renders an
    /// event as soon as it is published, which may be before the cache has
    /// heard of it.
    pub fn shared(db: &DatabaseConnection) -> Self {
        Loaders {
            origin: Origin::new(db, &AvailabilityCache::disabled()),
            spawner: Spawner::Runtime,
            made: OnceLock::new(),
        }
    }

    /// The loader that `pick` chooses of this set, made from what `make`
    /// builds the first time.
    fn get<T: Send + Sync + 'static>(
        &self,
        pick: impl FnOnce(&Made) -> &OnceLock<DataLoader<T, HashMapCache>>,
        make: impl FnOnce(&Origin) -> T,
    ) -> &DataLoader<T, HashMapCache> {
        pick(self.made.get_or_init(Box::default)).get_or_init(|| {
            let spawner = self.spawner.clone();
            let (delay, cache) = self.spawner.delay_and_cache();
            let loader = DataLoader::with_cache(
                make(&self.origin),
                move |fetch| spawner.spawn(fetch),
                HashMapCache::default(),
            )
            .delay(delay);
            loader.enable_all_cache(cache);
            loader
        })
    }

    pub fn products(&self) -> &DataLoader<ProductById, HashMapCache> {
        self.get(|m| &m.products, |o| ProductById(o.db.clone()))
    }

    pub fn warehouses(&self) -> &DataLoader<WarehouseById, HashMapCache> {
        self.get(|m| &m.warehouses, |o| WarehouseById(o.db.clone()))
    }

    pub fn stock_levels_by_product(&self) -> &DataLoader<StockLevelsByProduct, HashMapCache> {
        self.get(
            |m| &m.stock_levels_by_product,
            |o| StockLevelsByProduct(o.db.clone()),
        )
    }

    pub fn stock_level_pages(&self) -> &DataLoader<StockLevelPageByWarehouse, HashMapCache> {
        self.get(
            |m| &m.stock_level_pages,
            |o| StockLevelPageByWarehouse(o.db.clone()),
        )
    }

    pub fn holdings_by_sku(&self) -> &DataLoader<HoldingsBySku, HashMapCache> {
        self.get(
            |m| &m.holdings_by_sku,
            |o| HoldingsBySku(o.db.clone(), o.availability.clone()),
        )
    }

    pub fn incoming_by_sku(&self) -> &DataLoader<IncomingBySku, HashMapCache> {
        self.get(|m| &m.incoming_by_sku, |o| IncomingBySku(o.db.clone()))
    }

    pub fn inbound_by_warehouse(&self) -> &DataLoader<InboundByWarehouse, HashMapCache> {
        self.get(
            |m| &m.inbound_by_warehouse,
            |o| InboundByWarehouse(o.db.clone()),
        )
    }

    pub fn shipments_by_day(&self) -> &DataLoader<ShipmentsByWarehouseDay, HashMapCache> {
        self.get(
            |m| &m.shipments_by_day,
            |o| ShipmentsByWarehouseDay(o.db.clone()),
        )
    }
}

impl Loader<i32> for ProductById {
    type Value = product::Model;
    type Error = ApiError;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Self::Value>, Self::Error> {
        let rows =
            stock_levels::rows_by_id::<product::Entity>(&self.0, product::Column::Id, ids).await?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }
}

impl Loader<i32> for WarehouseById {
    type Value = warehouse::Model;
    type Error = ApiError;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Self::Value>, Self::Error> {
        let rows =
            stock_levels::rows_by_id::<warehouse::Entity>(&self.0, warehouse::Column::Id, ids)
                .await?;
        Ok(rows.into_iter().map(|w| (w.id, w)).collect())
    }
}

impl Loader<i32> for StockLevelsByProduct {
    type Value = Vec<stock_level::Model>;
    type Error = ApiError;

    async fn load(&self, ids: &[i32]) -> Result<HashMap<i32, Self::Value>, Self::Error> {
        let mut grouped: HashMap<i32, Vec<stock_level::Model>> = HashMap::new();
        for level in stock_levels::levels_of_products(&self.0, ids).await? {
            grouped.entry(level.product_id).or_default().push(level);
        }
        Ok(grouped)
    }
}

impl Loader<String> for HoldingsBySku {
    type Value = Arc<[Holding]>;
    type Error = ApiError;

    async fn load(&self, skus: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        Ok(self.1.holdings(&self.0, skus).await?)
    }
}

impl Loader<String> for IncomingBySku {
    type Value = Arc<[Incoming]>;
    type Error = ApiError;

    async fn load(&self, skus: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let found = inbound::incoming_of_skus(&self.0, skus).await?;
        Ok(found
            .into_iter()
            .map(|(sku, incoming)| (sku, Arc::from(incoming)))
            .collect())
    }
}

impl Loader<(i32, InboundStatus)> for InboundByWarehouse {
    type Value = Vec<inbound_shipment::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(i32, InboundStatus)],
    ) -> Result<HashMap<(i32, InboundStatus), Self::Value>, Self::Error> {
        let mut by_status: HashMap<InboundStatus, Vec<i32>> = HashMap::new();
        for (warehouse_id, status) in keys {
            by_status.entry(*status).or_default().push(*warehouse_id);
        }
        let mut found = HashMap::with_capacity(keys.len());
        for (status, warehouse_ids) in by_status {
            for (warehouse_id, inbound) in inbound::listed(&self.0, &warehouse_ids, status).await? {
                found.insert((warehouse_id, status), inbound);
            }
        }
        Ok(found)
    }
}

impl Loader<(i32, String)> for ShipmentsByWarehouseDay {
    type Value = i32;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(i32, String)],
    ) -> Result<HashMap<(i32, String), Self::Value>, Self::Error> {
        let mut by_day: HashMap<&str, Vec<i32>> = HashMap::new();
        for (warehouse_id, day) in keys {
            by_day.entry(day).or_default().push(*warehouse_id);
        }
        let mut found = HashMap::with_capacity(keys.len());
        for (day, warehouse_ids) in by_day {
            for (warehouse_id, used) in capacity::used_on(&self.0, &warehouse_ids, day).await? {
                found.insert((warehouse_id, day.to_owned()), used);
            }
        }
        Ok(found)
    }
}

impl Loader<WarehousePage> for StockLevelPageByWarehouse {
    type Value = Page<stock_level::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[WarehousePage],
    ) -> Result<HashMap<WarehousePage, Self::Value>, Self::Error> {
        // Keys asking for the same page shape share one statement; in
        // practice a list of warehouses asks for the same `first`/`after`.
        let mut shapes: HashMap<(i32, Option<i32>), Vec<i32>> = HashMap::new();
        for key in keys {
            shapes
                .entry((key.first, key.after_id))
                .or_default()
                .push(key.warehouse_id);
        }
        let mut pages = HashMap::with_capacity(keys.len());
        for ((first, after_id), warehouse_ids) in shapes {
            let size = PageSize::new(first)?;
            let found =
                stock_levels::pages_by_warehouse(&self.0, &warehouse_ids, size, after_id).await?;
            for (warehouse_id, page) in found {
                pages.insert(
                    WarehousePage {
                        warehouse_id,
                        first,
                        after_id,
                    },
                    page,
                );
            }
        }
        Ok(pages)
    }
}
