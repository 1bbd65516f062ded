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

/// The loaders, ready to be put in the schema's or a request's data. Each
/// is made the first time a resolver asks for it: most requests (a
/// checkout's `reserveOrder`, say) use none, and making all eight for
/// every request showed in the flash-sale profile.
pub struct Loaders {
    source: Arc<Source>,
    products: OnceLock<DataLoader<ProductById, HashMapCache>>,
    warehouses: OnceLock<DataLoader<WarehouseById, HashMapCache>>,
    stock_levels_by_product: OnceLock<DataLoader<StockLevelsByProduct, HashMapCache>>,
    stock_level_pages: OnceLock<DataLoader<StockLevelPageByWarehouse, HashMapCache>>,
    holdings_by_sku: OnceLock<DataLoader<HoldingsBySku, HashMapCache>>,
    incoming_by_sku: OnceLock<DataLoader<IncomingBySku, HashMapCache>>,
    inbound_by_warehouse: OnceLock<DataLoader<InboundByWarehouse, HashMapCache>>,
    shipments_by_day: OnceLock<DataLoader<ShipmentsByWarehouseDay, HashMapCache>>,
}

type Spawner = Arc<dyn Fn(BoxFuture<'static, ()>) + Send + Sync>;

/// What every loader of one set is made with.
struct Source {
    db: DatabaseConnection,
    availability: AvailabilityCache,
    spawner: Spawner,
    delay: Duration,
    cache: bool,
}

impl Source {
    /// The loader in `cell`, made from what `make` builds the first time.
    fn get<'a, T: Send + Sync + 'static>(
        &self,
        cell: &'a OnceLock<DataLoader<T, HashMapCache>>,
        make: impl FnOnce(&Source) -> T,
    ) -> &'a DataLoader<T, HashMapCache> {
        cell.get_or_init(|| {
            let spawner = self.spawner.clone();
            let loader = DataLoader::with_cache(
                make(self),
                move |fetch| spawner(fetch),
                HashMapCache::default(),
            )
            .delay(self.delay);
            loader.enable_all_cache(self.cache);
            loader
        })
    }
}

impl Loaders {
    /// Loaders for one request whose fetches run from `queue`, when the
    /// request is blocked on them; see [`super::batching`].
    pub fn for_request(
        db: &DatabaseConnection,
        availability: &AvailabilityCache,
        queue: &FetchQueue,
    ) -> Self {
        let spawner = queue.spawner();
        Self::build(db, availability, Arc::new(spawner), Duration::ZERO, true)
    }

    /// Loaders for executions that no request drives: batched by async-graphql's
    /// time window, and uncached, since they live as long as the schema.
    /// Their availability reads skip the cache: a subscription renders an
    /// event as soon as it is published, which may be before the cache has
    /// heard of it.
    pub fn shared(db: &DatabaseConnection) -> Self {
        let spawner = |fetch: BoxFuture<'static, ()>| {
            tokio::spawn(fetch);
        };
        let uncached = AvailabilityCache::disabled();
        Self::build(
            db,
            &uncached,
            Arc::new(spawner),
            Duration::from_millis(1),
            false,
        )
    }

    fn build(
        db: &DatabaseConnection,
        availability: &AvailabilityCache,
        spawner: Spawner,
        delay: Duration,
        cache: bool,
    ) -> Self {
        Loaders {
            source: Arc::new(Source {
                db: db.clone(),
                availability: availability.clone(),
                spawner,
                delay,
                cache,
            }),
            products: OnceLock::new(),
            warehouses: OnceLock::new(),
            stock_levels_by_product: OnceLock::new(),
            stock_level_pages: OnceLock::new(),
            holdings_by_sku: OnceLock::new(),
            incoming_by_sku: OnceLock::new(),
            inbound_by_warehouse: OnceLock::new(),
            shipments_by_day: OnceLock::new(),
        }
    }

    pub fn products(&self) -> &DataLoader<ProductById, HashMapCache> {
        self.source
            .get(&self.products, |s| ProductById(s.db.clone()))
    }

    pub fn warehouses(&self) -> &DataLoader<WarehouseById, HashMapCache> {
        self.source
            .get(&self.warehouses, |s| WarehouseById(s.db.clone()))
    }

    pub fn stock_levels_by_product(&self) -> &DataLoader<StockLevelsByProduct, HashMapCache> {
        self.source.get(&self.stock_levels_by_product, |s| {
            StockLevelsByProduct(s.db.clone())
        })
    }

    pub fn stock_level_pages(&self) -> &DataLoader<StockLevelPageByWarehouse, HashMapCache> {
        self.source.get(&self.stock_level_pages, |s| {
            StockLevelPageByWarehouse(s.db.clone())
        })
    }

    pub fn holdings_by_sku(&self) -> &DataLoader<HoldingsBySku, HashMapCache> {
        self.source.get(&self.holdings_by_sku, |s| {
            HoldingsBySku(s.db.clone(), s.availability.clone())
        })
    }

    pub fn incoming_by_sku(&self) -> &DataLoader<IncomingBySku, HashMapCache> {
        self.source
            .get(&self.incoming_by_sku, |s| IncomingBySku(s.db.clone()))
    }

    pub fn inbound_by_warehouse(&self) -> &DataLoader<InboundByWarehouse, HashMapCache> {
        self.source.get(&self.inbound_by_warehouse, |s| {
            InboundByWarehouse(s.db.clone())
        })
    }

    pub fn shipments_by_day(&self) -> &DataLoader<ShipmentsByWarehouseDay, HashMapCache> {
        self.source.get(&self.shipments_by_day, |s| {
            ShipmentsByWarehouseDay(s.db.clone())
        })
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
