//! The root subscription type: live stock for dashboards and storefronts.

use std::collections::{HashMap, VecDeque};

use async_graphql::{Context, ErrorExtensions, ID, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt, stream};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;

use super::{
    ApiError, Coded, RoleGuard,
    feeds::{RenderedEvent, StartAfter},
    types::{Availability, Movement, StockLevel},
};
use crate::{
    auth::Role,
    events::{EventBus, EventFilter, StreamEnd, changes_available, stock_events},
    inventory::{
        InventoryError,
        availability::{self, MAX_SKUS},
        catalogue::{products_by_skus, warehouses_by_codes},
    },
};

#[derive(Default)]
pub struct Subscription;

/// One committed change of a stock level.
#[derive(SimpleObject)]
pub struct StockLevelEvent {
    /// movement.id is the cursor to resume from.
    pub movement: Movement,
    /// The stock level as this movement left it.
    pub stock_level: StockLevel,
}

#[Subscription]
impl Subscription {
    /// Every change of a stock level, in commit order, from any server
    /// replica, filtered by SKU and warehouse. With `after` (a movement id),
    /// first replays the movements after it, then goes live without a gap
    /// or a duplicate. If the stream must end, its last message is an error
    /// whose `extensions.lastDeliveredId` is where to resume.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn stock_level_changed(
        &self,
        ctx: &Context<'_>,
        skus: Option<Vec<String>>,
        warehouse_codes: Option<Vec<String>>,
        after: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<StockLevelEvent>> + use<>>
    {
        let db = ctx.data::<DatabaseConnection>()?.clone();
        let bus = ctx.data::<EventBus>()?;
        let after = after
            .map(|id| {
                id.parse::<i64>().ok().filter(|id| *id >= 0).ok_or_else(|| {
                    ApiError::BadUserInput(format!("after: `{}` is not a movement id", id.as_str()))
                })
            })
            .transpose()
            .coded()?;
        // A shared feed (see `feeds`) starts at a point of its own choosing.
        let after = after.or_else(|| ctx.data_opt::<StartAfter>().map(|start| start.0));
        let rendered = ctx.data_opt::<RenderedEvent>().cloned();
        let filter = filter(&db, skus, warehouse_codes).await.coded()?;
        Ok(
            stock_events(bus, db, filter, after).map(move |item| match item {
                Ok(event) => {
                    if let Some(rendered) = &rendered {
                        rendered.set(event.movement.id);
                    }
                    Ok(StockLevelEvent {
                        stock_level: StockLevel::with(
                            event.level.clone(),
                            event.product.clone(),
                            event.warehouse.clone(),
                        ),
                        movement: Movement::named(
                            event.movement.clone(),
                            event.product.clone(),
                            event.warehouse.clone(),
                        ),
                    })
                }
                Err(end) => Err(ended(end)),
            }),
        )
    }

    /// The summed availability of each SKU: first as it is now, then
    /// whenever its `available` changes. Bursts are coalesced: a slow
    /// client gets the latest value, never a stale one last.
    async fn availability_changed(
        &self,
        ctx: &Context<'_>,
        skus: Vec<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Availability>> + use<>>
    {
        let db = ctx.data::<DatabaseConnection>()?.clone();
        let bus = ctx.data::<EventBus>()?;
        if skus.is_empty() || skus.len() > MAX_SKUS {
            return Err(ApiError::BadUserInput(format!(
                "skus: between 1 and {MAX_SKUS} SKUs, got {}",
                skus.len()
            ))
            .extend());
        }
        // Checks the SKUs (unknown ones are refused) and takes the first values.
        let first = availability::availability_for_skus(&db, &skus, None)
            .await
            .coded()?;
        let ids: HashMap<i32, String> = products_by_skus(&db, &skus, "skus")
            .await
            .coded()?
            .into_iter()
            .map(|p| (p.id, p.sku))
            .collect();
        let watch = AvailabilityWatch {
            db,
            live: bus.subscribe(),
            closing: bus.closing(),
            products: ids,
            last: HashMap::new(),
            ready: first.into_iter().collect(),
            done: false,
        };
        Ok(stream::unfold(watch, |mut watch| async move {
            if watch.done {
                return None;
            }
            let item = watch.next().await;
            watch.done = item.is_err();
            Some((item, watch))
        }))
    }
}

/// An ended stream's last message: a coded error that says where to resume.
fn ended(end: StreamEnd) -> async_graphql::Error {
    ApiError::Interrupted(format!("{}; resume with `after`", end.reason))
        .extend()
        .extend_with(|_, ext| {
            if let Some(id) = end.last_delivered {
                ext.set("lastDeliveredId", id.to_string());
            }
        })
}

async fn filter(
    db: &DatabaseConnection,
    skus: Option<Vec<String>>,
    codes: Option<Vec<String>>,
) -> Result<EventFilter, InventoryError> {
    let mut filter = EventFilter::default();
    if let Some(skus) = skus {
        let products = products_by_skus(db, &skus, "skus").await?;
        filter.product_ids = Some(products.iter().map(|p| p.id).collect());
    }
    if let Some(codes) = codes {
        let warehouses = warehouses_by_codes(db, &codes, "warehouseCodes").await?;
        filter.warehouse_ids = Some(warehouses.iter().map(|w| w.id).collect());
    }
    Ok(filter)
}

/// One storefront's watch over a few SKUs' availability.
struct AvailabilityWatch {
    db: DatabaseConnection,
    live: broadcast::Receiver<std::sync::Arc<crate::events::StockEvent>>,
    closing: tokio::sync::watch::Receiver<bool>,
    /// Product id -> SKU, for the SKUs watched.
    products: HashMap<i32, String>,
    /// The `available` last sent per SKU.
    last: HashMap<String, i64>,
    ready: VecDeque<availability::Availability>,
    done: bool,
}

impl AvailabilityWatch {
    async fn next(&mut self) -> async_graphql::Result<Availability> {
        loop {
            while let Some(next) = self.ready.pop_front() {
                if self.last.get(&next.sku) != Some(&next.available()) {
                    self.last.insert(next.sku.clone(), next.available());
                    return Ok(Availability::from(next));
                }
            }
            // Wait for a change, then take every change already queued: the
            // values are read once for the whole burst.
            let mut changed: Vec<String> = Vec::new();
            let note = |event: &crate::events::StockEvent, changed: &mut Vec<String>| {
                if changes_available(&event.movement)
                    && let Some(sku) = self.products.get(&event.movement.product_id)
                    && !changed.contains(sku)
                {
                    changed.push(sku.clone());
                }
            };
            let closing = &mut self.closing;
            let received = tokio::select! {
                received = self.live.recv() => Some(received),
                _ = async { let _ = closing.wait_for(|closed| *closed).await; } => None,
            };
            match received {
                Some(Ok(event)) => note(&event, &mut changed),
                Some(Err(broadcast::error::RecvError::Lagged(_))) => {
                    changed = self.products.values().cloned().collect();
                }
                Some(Err(broadcast::error::RecvError::Closed)) => {
                    return Err(ended(StreamEnd {
                        reason: "the server stopped publishing events".into(),
                        last_delivered: None,
                    }));
                }
                None => {
                    return Err(ended(StreamEnd {
                        reason: "the server is shutting down".into(),
                        last_delivered: None,
                    }));
                }
            }
            loop {
                match self.live.try_recv() {
                    Ok(event) => note(&event, &mut changed),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => {
                        changed = self.products.values().cloned().collect();
                    }
                    Err(_) => break,
                }
            }
            if changed.is_empty() {
                continue;
            }
            changed.sort();
            let fresh = availability::availability_for_skus(&self.db, &changed, None)
                .await
                .map_err(|e| ApiError::from(e).extend())?;
            self.ready.extend(fresh);
        }
    }
}
