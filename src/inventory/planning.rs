//! Planning an order on current stock: validating the order, reading a
//! snapshot of what the active warehouses hold, and handing both to the
//! pure [`crate::planner`].

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    sea_query::{Expr, ExprTrait, JoinType, LockType, Order as SortOrder, Query},
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    InventoryError, WAREHOUSE_COLUMNS,
    availability::Holding,
    capacity::{day_of, used_from},
    catalogue::location_of,
    inbound::{InboundOffer, inbound_offers},
    rules,
};
use crate::{
    entities::{product, stock_level, warehouse},
    geography::Location,
    planner::{
        self, Offer, OrderLine, Plan, PlanRequest, SearchBudget, ShippingRate, Site, Strategy,
        Wording,
    },
};

pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: i32 = 1_000_000;

/// A line as the client sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedLine {
    pub sku: String,
    pub quantity: i32,
}

/// An order whose shape has been checked: 1 to 100 lines, each SKU once,
/// quantities 1 to 1,000,000. Whether the SKUs exist is checked on read.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub lines: Vec<RequestedLine>,
    pub ship_to: Location,
    pub max_shipments: Option<u32>,
    /// When set, inbound stock expected by then may be planned: the caller
    /// accepts that a shipment waits for it.
    pub promise_by: Option<DateTime<Utc>>,
}

impl Order {
    pub fn new(
        lines: Vec<RequestedLine>,
        ship_to: Location,
        max_shipments: Option<i32>,
    ) -> Result<Self, InventoryError> {
        if lines.is_empty() || lines.len() > MAX_LINES {
            return Err(InventoryError::invalid(
                "lines",
                format!("an order has 1 to {MAX_LINES} lines, got {}", lines.len()),
            ));
        }
        let mut seen = HashSet::new();
        for (i, line) in lines.iter().enumerate() {
            rules::identifier(&line.sku, &format!("lines[{i}].sku"))?;
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                return Err(InventoryError::invalid(
                    format!("lines[{i}].quantity"),
                    format!(
                        "must be between 1 and {MAX_QUANTITY}, got {}",
                        line.quantity
                    ),
                ));
            }
            if !seen.insert(line.sku.as_str()) {
                return Err(InventoryError::invalid(
                    format!("lines[{i}].sku"),
                    format!(
                        "`{}` appears more than once; send one line per SKU",
                        line.sku
                    ),
                ));
            }
        }
        let max_shipments = match max_shipments {
            None => None,
            Some(n) if n >= 1 => Some(n as u32),
            Some(n) => {
                return Err(InventoryError::invalid(
                    "maxShipments",
                    format!("must be at least 1, got {n}"),
                ));
            }
        };
        Ok(Order {
            lines,
            ship_to,
            max_shipments,
            promise_by: None,
        })
    }

    /// The same order, accepting inbound stock expected by `by`.
    pub fn promising_by(self, by: Option<DateTime<Utc>>) -> Self {
        Order {
            promise_by: by.map(crate::db::to_stored_precision),
            ..self
        }
    }
}

/// What the planner was given, kept so that a plan's warehouses and
/// products can be shown without reading them again.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub products: HashMap<String, Arc<product::Model>>,
    /// The active warehouses that offer something, on hand or inbound.
    pub warehouses: HashMap<i32, Arc<warehouse::Model>>,
    /// Those with stock on hand to offer, and what they offer.
    sites: Vec<Site>,
    offers: Vec<Offer>,
    /// Those that offer only inbound stock.
    waiting_sites: Vec<Site>,
    /// EXPECTED inbounds with units free, soonest first; read only for
    /// orders with a promise date.
    inbound: Vec<InboundOffer>,
    /// The UTC day the snapshot was read: when stock on hand ships.
    today: String,
    /// Shipments used per (warehouse, day) from today on, of the
    /// warehouses with a daily limit.
    used: HashMap<(i32, String), i32>,
    /// Every level of each product read, by product id: what the
    /// availability cache keeps of it.
    pub holdings: HashMap<i32, Vec<Holding>>,
}

/// Where the units of one planned line come from: stock on hand first,
/// then inbound shipments, soonest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct LineSources {
    from_stock: u32,
    /// (index into the snapshot's inbound, units)
    from_inbound: Vec<(usize, u32)>,
}

impl Snapshot {
    /// The first line of `order` whose SKU the snapshot does not know.
    pub fn unknown_line(&self, order: &Order) -> Option<usize> {
        order
            .lines
            .iter()
            .position(|l| !self.products.contains_key(&l.sku))
    }

    /// Takes what `plan` (made for an order promised by `by`) ships out of
    /// the snapshot, so that the next plan over it sees only what is left.
    pub fn take(&mut self, plan: &Plan, by: Option<DateTime<Utc>>) {
        let sources = self.sources(plan, by);
        for (shipment, lines) in plan.shipments.iter().zip(sources) {
            let day = self.ship_day(&lines);
            *self.used.entry((shipment.site_id, day)).or_default() += 1;
            for (line, from) in shipment.lines.iter().zip(lines) {
                if let Some(offer) = self
                    .offers
                    .iter_mut()
                    .find(|o| o.site_id == shipment.site_id && o.sku == line.sku)
                {
                    offer.available = offer.available.saturating_sub(from.from_stock);
                }
                for (i, units) in from.from_inbound {
                    self.inbound[i].free = self.inbound[i].free.saturating_sub(units);
                }
            }
        }
    }

    /// Plans `order` over this snapshot, searching within `budget`. With a
    /// promise date, inbound stock expected by then is offered too, at the
    /// warehouse it is bound for; where a plan on stock on hand alone is as
    /// good for the strategy, that plan wins, so nothing waits that need
    /// not. A plan that waits says so in its explanation; `wording` says
    /// whether a feasible plan explains itself at all.
    pub fn plan(
        &self,
        order: &Order,
        strategy: Strategy,
        budget: SearchBudget,
        wording: Wording,
    ) -> Plan {
        let lines: Vec<OrderLine> = order
            .lines
            .iter()
            .map(|line| OrderLine {
                sku: line.sku.clone(),
                quantity: line.quantity as u32,
                unit_weight_grams: self
                    .products
                    .get(&line.sku)
                    .map_or(0, |p| u32::try_from(p.weight_grams).unwrap_or(0)),
            })
            .collect();
        let over = |sites: &[Site], offers: &[Offer]| {
            planner::plan_with_budget(
                &PlanRequest {
                    lines: &lines,
                    destination: order.ship_to,
                    sites,
                    offers,
                    strategy,
                    max_shipments: order.max_shipments,
                    wording,
                },
                budget,
            )
        };
        let open = self.open_today();
        let (sites, offers) = match &open {
            Some((sites, offers)) => (&sites[..], &offers[..]),
            None => (&self.sites[..], &self.offers[..]),
        };
        let mut plan = match order.promise_by {
            None => over(sites, offers),
            Some(by) => match self.offers_by(by, sites, offers) {
                None => over(sites, offers),
                Some((with_inbound, offered)) => {
                    let mut promised = over(&with_inbound, &offered);
                    let waits = self.waits(&promised, by);
                    let now = (promised.feasible && !waits.is_empty()).then(|| over(sites, offers));
                    match now {
                        Some(now) if now.feasible && !worse(&now, &promised) => now,
                        _ => {
                            if says_why(&promised, wording) {
                                promised.explanation.extend(waits);
                            }
                            promised
                        }
                    }
                }
            },
        };
        if says_why(&plan, wording) {
            plan.explanation.extend(self.capacity_notes(order));
        }
        plan
    }

    /// Whether warehouse `id` may ship one more shipment on `day`.
    fn open_on(&self, id: i32, day: &str) -> bool {
        match self
            .warehouses
            .get(&id)
            .and_then(|w| w.daily_shipment_capacity)
        {
            None => true,
            Some(limit) => self.used.get(&(id, day.to_owned())).copied().unwrap_or(0) < limit,
        }
    }

    /// The sites and on-hand offers of the warehouses that may still ship
    /// today; `None` when all may.
    fn open_today(&self) -> Option<(Vec<Site>, Vec<Offer>)> {
        if self.sites.iter().all(|s| self.open_on(s.id, &self.today)) {
            return None;
        }
        let open = |id: i32| self.open_on(id, &self.today);
        Some((
            self.sites.iter().filter(|s| open(s.id)).cloned().collect(),
            self.offers
                .iter()
                .filter(|o| open(o.site_id))
                .cloned()
                .collect(),
        ))
    }

    /// Why warehouses that hold some of `order` are not offered it: their
    /// shipments for today are all taken. One sentence per warehouse.
    pub fn capacity_notes(&self, order: &Order) -> Vec<String> {
        let mut full: Vec<&Site> = self
            .sites
            .iter()
            .filter(|s| !self.open_on(s.id, &self.today))
            .filter(|s| {
                self.offers
                    .iter()
                    .any(|o| o.site_id == s.id && order.lines.iter().any(|l| l.sku == o.sku))
            })
            .collect();
        full.sort_by(|a, b| a.code.cmp(&b.code));
        full.into_iter()
            .map(|site| {
                let limit = self
                    .warehouses
                    .get(&site.id)
                    .and_then(|w| w.daily_shipment_capacity)
                    .unwrap_or(0);
                format!(
                    "{} ({}) is skipped: its daily capacity of {} is used up for {}.",
                    site.code,
                    site.label,
                    plural(limit, "shipment", "shipments"),
                    self.today
                )
            })
            .collect()
    }

    /// The day a shipment taking `lines` ships: its latest inbound arrival,
    /// else today.
    fn ship_day(&self, lines: &[LineSources]) -> String {
        lines
            .iter()
            .flat_map(|l| &l.from_inbound)
            .map(|(i, _)| self.inbound[*i].expected_at)
            .max()
            .map_or_else(|| self.today.clone(), day_of)
    }

    /// `sites` and `offers` with inbound stock expected by `by` added (of
    /// warehouses that may still ship on its arrival day); `None` when none
    /// is.
    fn offers_by(
        &self,
        by: DateTime<Utc>,
        sites: &[Site],
        offers: &[Offer],
    ) -> Option<(Vec<Site>, Vec<Offer>)> {
        let sku_of: HashMap<i32, &str> = self
            .products
            .values()
            .map(|p| (p.id, p.sku.as_str()))
            .collect();
        let mut offers = offers.to_vec();
        let mut sites = sites.to_vec();
        let mut any = false;
        for inbound in self.inbound.iter().filter(|i| self.offered_by(i, Some(by))) {
            let (Some(sku), true) = (
                sku_of.get(&inbound.product_id),
                self.warehouses.contains_key(&inbound.warehouse_id),
            ) else {
                continue;
            };
            any = true;
            match offers
                .iter_mut()
                .find(|o| o.site_id == inbound.warehouse_id && o.sku == *sku)
            {
                Some(offer) => offer.available = offer.available.saturating_add(inbound.free),
                None => offers.push(Offer {
                    sku: (*sku).to_owned(),
                    site_id: inbound.warehouse_id,
                    available: inbound.free,
                }),
            }
            if !sites.iter().any(|s| s.id == inbound.warehouse_id)
                && let Some(site) = self
                    .waiting_sites
                    .iter()
                    .chain(&self.sites)
                    .find(|s| s.id == inbound.warehouse_id)
            {
                sites.push(site.clone());
            }
        }
        any.then_some((sites, offers))
    }

    /// Whether `inbound` may be planned for an order promised by `by`: it
    /// arrives by then, on a day its warehouse may still ship.
    fn offered_by(&self, inbound: &InboundOffer, by: Option<DateTime<Utc>>) -> bool {
        by.is_some_and(|by| inbound.expected_at <= by)
            && self.open_on(inbound.warehouse_id, &day_of(inbound.expected_at))
    }

    /// Where each line of each shipment of `plan` takes its units from.
    fn sources(&self, plan: &Plan, by: Option<DateTime<Utc>>) -> Vec<Vec<LineSources>> {
        // What earlier lines of the same plan took, per inbound.
        let mut used: HashMap<usize, u32> = HashMap::new();
        plan.shipments
            .iter()
            .map(|shipment| {
                shipment
                    .lines
                    .iter()
                    .map(|line| {
                        let on_hand = self
                            .offers
                            .iter()
                            .filter(|_| self.open_on(shipment.site_id, &self.today))
                            .find(|o| o.site_id == shipment.site_id && o.sku == line.sku)
                            .map_or(0, |o| o.available);
                        let mut from = LineSources {
                            from_stock: std::cmp::min(line.quantity, on_hand),
                            from_inbound: Vec::new(),
                        };
                        let mut missing = line.quantity - from.from_stock;
                        let product_id = self.products.get(&line.sku).map(|p| p.id);
                        for (i, inbound) in self.inbound.iter().enumerate() {
                            if missing == 0 || !self.offered_by(inbound, by) {
                                continue;
                            }
                            if Some(inbound.product_id) != product_id
                                || inbound.warehouse_id != shipment.site_id
                            {
                                continue;
                            }
                            let taken = used.entry(i).or_default();
                            let units = std::cmp::min(missing, inbound.free.saturating_sub(*taken));
                            if units > 0 {
                                *taken += units;
                                missing -= units;
                                from.from_inbound.push((i, units));
                            }
                        }
                        // A plan never asks for more than was offered; if
                        // it did, the guarded UPDATE refuses it.
                        from.from_stock += missing;
                        from
                    })
                    .collect()
            })
            .collect()
    }

    /// A sentence per shipment of `plan` that waits for inbound stock: when,
    /// and why.
    fn waits(&self, plan: &Plan, by: DateTime<Utc>) -> Vec<String> {
        let sources = self.sources(plan, Some(by));
        plan.shipments
            .iter()
            .zip(sources)
            .filter_map(|(shipment, lines)| {
                let waiting: Vec<String> = shipment
                    .lines
                    .iter()
                    .zip(&lines)
                    .filter(|(_, from)| !from.from_inbound.is_empty())
                    .map(|(line, from)| {
                        let units: u32 = from.from_inbound.iter().map(|(_, u)| u).sum();
                        format!(
                            "{units} of {} ({} on hand there)",
                            line.sku, from.from_stock
                        )
                    })
                    .collect();
                let ready = lines
                    .iter()
                    .flat_map(|l| &l.from_inbound)
                    .map(|(i, _)| &self.inbound[*i])
                    .max_by_key(|inbound| inbound.expected_at)?;
                let arrival = ready.reference_id.as_deref().map_or_else(
                    || format!("inbound shipment {}", ready.id),
                    |reference| format!("inbound {reference}"),
                );
                Some(format!(
                    "{} waits for inbound stock: {} are not on hand yet; it is ready when {arrival} \
                     arrives, expected {}.",
                    shipment.code,
                    waiting.join(", "),
                    ready
                        .expected_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ))
            })
            .collect()
    }
}

fn plural(n: i32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Whether `plan` explains itself in words: every plan when `wording` asks
/// for it, an infeasible one always (its sentences are its answer).
fn says_why(plan: &Plan, wording: Wording) -> bool {
    wording == Wording::Explained || !plan.feasible
}

/// Whether `now` (on stock on hand) is worse than `promised` (waiting for
/// inbound stock) by the strategy's own measure. Ties go to stock on hand.
fn worse(now: &Plan, promised: &Plan) -> bool {
    match now.strategy {
        Strategy::Split => {
            (now.shipment_count(), now.total_cost_cents)
                > (promised.shipment_count(), promised.total_cost_cents)
        }
        Strategy::Nearest => now.total_distance_km > promised.total_distance_km + 1e-9,
        Strategy::Cheapest | Strategy::Balanced => now.total_cost_cents > promised.total_cost_cents,
    }
}

/// One warehouse's part of a plan, with the rows it names: what a plan or a
/// stored reservation shows of its shipments.
#[derive(Clone, Debug, PartialEq)]
pub struct PricedShipment {
    /// Shared with the snapshot, as [`PricedLine::product`] is.
    pub warehouse: Arc<warehouse::Model>,
    pub distance_km: f64,
    pub weight_grams: i64,
    pub cost_cents: i64,
    pub lines: Vec<PricedLine>,
    /// When it can ship, if it waits for inbound stock: the latest arrival
    /// it waits for.
    pub ready_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PricedLine {
    /// Shared with the snapshot: every line of every hold names one.
    pub product: Arc<product::Model>,
    pub quantity: i32,
    /// Of `quantity`, the units held on inbound shipments (pre-ordered).
    pub from_inbound: Vec<InboundPart>,
}

impl PricedLine {
    /// The units that come from stock on hand.
    pub fn from_stock(&self) -> i32 {
        self.quantity - self.from_inbound.iter().map(|p| p.units).sum::<i32>()
    }
}

/// Units of a line held on one inbound shipment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundPart {
    pub inbound_id: Uuid,
    pub units: i32,
}

impl Snapshot {
    /// The shipments of `plan` (made for an order promised by `by`) with
    /// their warehouses and products, and what waits for inbound stock.
    pub fn priced_shipments(
        &self,
        plan: &Plan,
        by: Option<DateTime<Utc>>,
    ) -> Result<Vec<PricedShipment>, InventoryError> {
        let overflow = || InventoryError::Internal("a planned quantity overflows".into());
        plan.shipments
            .iter()
            .zip(self.sources(plan, by))
            .map(|(shipment, sources)| {
                let warehouse = self.warehouses.get(&shipment.site_id).ok_or_else(|| {
                    InventoryError::Internal(format!(
                        "the plan ships from warehouse {} outside its snapshot",
                        shipment.site_id
                    ))
                })?;
                let mut ready_at = None;
                let lines = shipment
                    .lines
                    .iter()
                    .zip(sources)
                    .map(|(line, from)| {
                        let product = self.products.get(&line.sku).ok_or_else(|| {
                            InventoryError::Internal(format!(
                                "the plan ships {} outside its snapshot",
                                line.sku
                            ))
                        })?;
                        let from_inbound = from
                            .from_inbound
                            .iter()
                            .map(|&(i, units)| {
                                let inbound = &self.inbound[i];
                                ready_at = std::cmp::max(ready_at, Some(inbound.expected_at));
                                Ok(InboundPart {
                                    inbound_id: inbound.id,
                                    units: i32::try_from(units).map_err(|_| overflow())?,
                                })
                            })
                            .collect::<Result<_, InventoryError>>()?;
                        Ok(PricedLine {
                            product: product.clone(),
                            quantity: i32::try_from(line.quantity).map_err(|_| overflow())?,
                            from_inbound,
                        })
                    })
                    .collect::<Result<_, InventoryError>>()?;
                Ok(PricedShipment {
                    warehouse: warehouse.clone(),
                    distance_km: shipment.distance_km,
                    weight_grams: i64::try_from(shipment.weight_grams).unwrap_or(i64::MAX),
                    cost_cents: shipment.cost_cents,
                    lines,
                    ready_at,
                })
            })
            .collect()
    }
}

/// Plans `order` once per strategy off the async workers: a large order can
/// keep the search busy for tens of milliseconds, and a request thread must
/// not stall other requests that long.
pub async fn plan_off_thread(
    snapshot: Arc<Snapshot>,
    order: Order,
    strategies: Vec<Strategy>,
    budget: SearchBudget,
) -> Result<Vec<Plan>, InventoryError> {
    tokio::task::spawn_blocking(move || {
        strategies
            .into_iter()
            .map(|strategy| snapshot.plan(&order, strategy, budget, Wording::Explained))
            .collect()
    })
    .await
    .map_err(|e| InventoryError::Internal(format!("the planner failed: {e}")))
}

/// Plans `order` under one strategy, off the async workers.
pub async fn plan_once(
    snapshot: Arc<Snapshot>,
    order: Order,
    strategy: Strategy,
    budget: SearchBudget,
) -> Result<Plan, InventoryError> {
    plan_off_thread(snapshot, order, vec![strategy], budget)
        .await?
        .pop()
        .ok_or_else(|| InventoryError::Internal("the planner returned no plan".into()))
}

#[derive(FromQueryResult)]
struct LevelUnits {
    product_id: i32,
    quantity: i32,
    reserved: i32,
    safety_stock: i32,
}

/// Reads the order's products and what the active warehouses have
/// available of them: two statements. An unknown SKU is an error naming it.
pub async fn snapshot(db: &DatabaseConnection, order: &Order) -> Result<Snapshot, InventoryError> {
    let skus: Vec<&str> = order.lines.iter().map(|l| l.sku.as_str()).collect();
    let snapshot = read_snapshot(db, &skus, false, order.promise_by.is_some()).await?;
    if let Some(i) = snapshot.unknown_line(order) {
        return Err(unknown_sku(i, &order.lines[i].sku));
    }
    Ok(snapshot)
}

/// The error for line `i`, whose SKU is not in the catalogue.
pub fn unknown_sku(i: usize, sku: &str) -> InventoryError {
    InventoryError::invalid(format!("lines[{i}].sku"), format!("unknown SKU `{sku}`"))
}

/// Reads the products of `skus` (those in the catalogue) and every stock
/// level of them: two statements, and with `inbound` a third for their
/// EXPECTED inbounds. With `lock`, the levels (and then the inbounds) are
/// locked until the transaction `connection` belongs to ends (on
/// PostgreSQL `FOR UPDATE`, in (product, warehouse) order like every stock
/// writer; SQLite has one writer at a time anyway), so that what is
/// planned on them is still there when it is taken.
pub async fn read_snapshot(
    connection: &impl ConnectionTrait,
    skus: &[&str],
    lock: bool,
    inbound: bool,
) -> Result<Snapshot, InventoryError> {
    let products: HashMap<String, Arc<product::Model>> = product::Entity::find()
        .filter(product::Column::Sku.is_in(skus.iter().copied()))
        .all(connection)
        .await?
        .into_iter()
        .map(|p| (p.sku.clone(), Arc::new(p)))
        .collect();
    if products.is_empty() {
        return Ok(Snapshot {
            products,
            ..Snapshot::default()
        });
    }

    let mut query = Query::select();
    query
        .columns([
            ("i", "product_id"),
            ("i", "quantity"),
            ("i", "reserved"),
            ("i", "safety_stock"),
        ])
        .columns(WAREHOUSE_COLUMNS.map(|c| ("w", c)))
        .from_as("inventory", "i")
        .join_as(
            JoinType::InnerJoin,
            "warehouses",
            "w",
            Expr::col(("w", "id")).equals(("i", "warehouse_id")),
        )
        .and_where(Expr::col(("i", "product_id")).is_in(products.values().map(|p| p.id)))
        .order_by(("i", "product_id"), SortOrder::Asc)
        .order_by(("i", "warehouse_id"), SortOrder::Asc);
    if lock {
        query.lock_with_tables(LockType::Update, ["i"]);
    }
    let rows = connection
        .query_all_raw(connection.get_database_backend().build(&query))
        .await?;

    let sku_of: HashMap<i32, &str> = products.values().map(|p| (p.id, p.sku.as_str())).collect();
    let mut warehouses: HashMap<i32, Arc<warehouse::Model>> = HashMap::new();
    let mut holdings: HashMap<i32, Vec<Holding>> = HashMap::new();
    let mut offers = Vec::with_capacity(rows.len());
    for row in &rows {
        let units = LevelUnits::from_query_result(row, "")?;
        let id: i32 = row.try_get("", "id")?;
        let warehouse = match warehouses.get(&id) {
            Some(known) => known.clone(),
            None => {
                let read = Arc::new(warehouse::Model::from_query_result(row, "")?);
                warehouses.insert(id, read.clone());
                read
            }
        };
        let available = stock_level::available(units.quantity, units.reserved, units.safety_stock);
        if warehouse.active && available > 0 {
            offers.push(Offer {
                sku: sku_of[&units.product_id].to_owned(),
                site_id: id,
                available: u32::try_from(available).unwrap_or(0),
            });
        }
        holdings.entry(units.product_id).or_default().push(Holding {
            warehouse,
            quantity: units.quantity,
            reserved: units.reserved,
            safety_stock: units.safety_stock,
        });
    }
    let product_ids: Vec<i32> = products.values().map(|p| p.id).collect();
    let inbound: Vec<InboundOffer> = if inbound {
        inbound_offers(connection, &product_ids, lock)
            .await?
            .into_iter()
            .filter(|i| warehouses.get(&i.warehouse_id).is_some_and(|w| w.active))
            .collect()
    } else {
        Vec::new()
    };
    // The planner is offered only the warehouses that have something.
    let offered: HashSet<i32> = offers.iter().map(|o| o.site_id).collect();
    let waiting: HashSet<i32> = inbound
        .iter()
        .map(|i| i.warehouse_id)
        .filter(|id| !offered.contains(id))
        .collect();
    let (mut sites, mut waiting_sites) = (Vec::with_capacity(offered.len()), Vec::new());
    for warehouse in warehouses.values() {
        let site = || -> Result<Site, InventoryError> {
            Ok(Site {
                id: warehouse.id,
                code: warehouse.code.clone(),
                label: warehouse
                    .city
                    .clone()
                    .unwrap_or_else(|| warehouse.name.clone()),
                location: location_of(warehouse)?,
                rate: ShippingRate {
                    base_cents: i64::from(warehouse.base_cents),
                    cents_per_100km: i64::from(warehouse.cents_per_100km),
                    cents_per_kg: i64::from(warehouse.cents_per_kg),
                },
                active: warehouse.active,
            })
        };
        if offered.contains(&warehouse.id) {
            sites.push(site()?);
        } else if waiting.contains(&warehouse.id) {
            waiting_sites.push(site()?);
        }
    }
    let today = day_of(crate::db::now());
    let limited: Vec<i32> = warehouses
        .values()
        .filter(|w| w.daily_shipment_capacity.is_some())
        .map(|w| w.id)
        .collect();
    let used = if limited.is_empty() {
        HashMap::new()
    } else {
        used_from(connection, &limited, &today).await?
    };
    Ok(Snapshot {
        today,
        used,
        products,
        warehouses: warehouses
            .into_iter()
            .filter(|(id, _)| offered.contains(id) || waiting.contains(id))
            .collect(),
        sites,
        offers,
        waiting_sites,
        inbound,
        holdings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, quantity: i32) -> RequestedLine {
        RequestedLine {
            sku: sku.into(),
            quantity,
        }
    }

    fn here() -> Location {
        Location::new(0.0, 0.0).unwrap()
    }

    fn field_of(result: Result<Order, InventoryError>) -> String {
        match result {
            Err(InventoryError::InvalidInput { field, .. }) => field,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn an_order_names_the_field_it_breaks() {
        assert_eq!(field_of(Order::new(vec![], here(), None)), "lines");
        let many = (0..101).map(|i| line(&format!("S{i}"), 1)).collect();
        assert_eq!(field_of(Order::new(many, here(), None)), "lines");
        assert_eq!(
            field_of(Order::new(vec![line("A", 0)], here(), None)),
            "lines[0].quantity"
        );
        assert_eq!(
            field_of(Order::new(
                vec![line("A", 1), line("B", 1_000_001)],
                here(),
                None
            )),
            "lines[1].quantity"
        );
        assert_eq!(
            field_of(Order::new(vec![line("A", 1), line("A", 2)], here(), None)),
            "lines[1].sku"
        );
        assert_eq!(
            field_of(Order::new(vec![line("A", 1)], here(), Some(0))),
            "maxShipments"
        );
        assert!(Order::new(vec![line("A", 1_000_000)], here(), Some(1)).is_ok());
    }
}

/// Plans with inbound stock and capacity in the snapshot, on random small
/// instances, against an exhaustive search over what may be planned.
#[cfg(test)]
mod promised {
    use crate::planner::Strategy;
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::planner::brute_force::{all_allocations, evaluate};

    const TODAY: &str = "2026-12-03";

    fn noon(days: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap() + chrono::Duration::days(days)
    }

    /// (longitude, base, per 100 km, per kg, daily limit, used today)
    type SiteSpec = (f64, i64, i64, i64, Option<i32>, i32);
    /// per (line, site): (on hand, inbound free, inbound arrival in days)
    type StockSpec = (u32, u32, i64);

    fn snapshot(
        sites: &[SiteSpec],
        grams: &[u32],
        stock: &[StockSpec],
        used_later: &[i32],
    ) -> Snapshot {
        let mut snapshot = Snapshot {
            today: TODAY.to_owned(),
            ..Snapshot::default()
        };
        for (l, &weight) in grams.iter().enumerate() {
            let sku = format!("SKU{l}");
            snapshot.products.insert(
                sku.clone(),
                Arc::new(product::Model {
                    id: l as i32 + 1,
                    sku,
                    name: "p".into(),
                    weight_grams: weight as i32,
                    created_at: noon(0),
                }),
            );
        }
        for (s, &(lon, base, per100, per_kg, limit, used)) in sites.iter().enumerate() {
            let id = s as i32 + 1;
            snapshot.warehouses.insert(
                id,
                Arc::new(warehouse::Model {
                    id,
                    code: format!("W{s}"),
                    name: format!("W{s}"),
                    city: None,
                    latitude: 0.0,
                    longitude: lon,
                    active: true,
                    base_cents: base as i32,
                    cents_per_100km: per100 as i32,
                    cents_per_kg: per_kg as i32,
                    daily_shipment_capacity: limit,
                    created_at: noon(0),
                }),
            );
            snapshot.used.insert((id, TODAY.to_owned()), used);
            for (d, &later) in used_later.iter().enumerate() {
                snapshot
                    .used
                    .insert((id, day_of(noon(d as i64 + 1))), later);
            }
        }
        let mut on_hand_sites = HashSet::new();
        let mut inbound_sites = HashSet::new();
        for l in 0..grams.len() {
            for s in 0..sites.len() {
                let (units, free, days) = stock[(l * sites.len() + s) % stock.len()];
                let site_id = s as i32 + 1;
                if units > 0 {
                    on_hand_sites.insert(site_id);
                    snapshot.offers.push(Offer {
                        sku: format!("SKU{l}"),
                        site_id,
                        available: units,
                    });
                }
                if free > 0 {
                    inbound_sites.insert(site_id);
                    snapshot.inbound.push(InboundOffer {
                        id: Uuid::from_u128((l * 100 + s) as u128 + 1),
                        product_id: l as i32 + 1,
                        warehouse_id: site_id,
                        free,
                        expected_at: noon(days),
                        reference_id: None,
                    });
                }
            }
        }
        snapshot.inbound.sort_by_key(|i| (i.expected_at, i.id));
        for id in 1..=sites.len() as i32 {
            let warehouse = &snapshot.warehouses[&id];
            let site = Site {
                id,
                code: warehouse.code.clone(),
                label: warehouse.code.clone(),
                location: location_of(warehouse).unwrap(),
                rate: ShippingRate {
                    base_cents: i64::from(warehouse.base_cents),
                    cents_per_100km: i64::from(warehouse.cents_per_100km),
                    cents_per_kg: i64::from(warehouse.cents_per_kg),
                },
                active: true,
            };
            if on_hand_sites.contains(&id) {
                snapshot.sites.push(site);
            } else if inbound_sites.contains(&id) {
                snapshot.waiting_sites.push(site);
            }
        }
        snapshot
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn promised_plans_match_exhaustive_search_within_capacity_and_promise(
            sites in prop::collection::vec(
                (-3.0f64..3.0, 0i64..800, 0i64..60, 0i64..150,
                 prop::option::weighted(0.5, 0i32..=2), 0i32..=2),
                1..=4,
            ),
            lines in prop::collection::vec((1i32..=3, 100u32..=2500), 1..=2),
            stock in prop::collection::vec((0u32..=2, prop_oneof![Just(0u32), 1u32..=3], 1i64..=5), 8),
            used_later in prop::collection::vec(0i32..=2, 5),
            promise in prop::option::weighted(0.8, 0i64..=6),
        ) {
            let grams: Vec<u32> = lines.iter().map(|l| l.1).collect();
            let snapshot = snapshot(&sites, &grams, &stock, &used_later);
            let by = promise.map(|d| noon(d) + chrono::Duration::hours(1));
            let home = Location::new(0.0, 0.0).unwrap();
            let order = Order::new(
                lines.iter().enumerate().map(|(l, &(quantity, _))| RequestedLine { sku: format!("SKU{l}"), quantity }).collect(),
                home,
                None,
            ).unwrap().promising_by(by);

            // What may be planned: stock on hand where today has room, and
            // inbound by the promise date where its arrival day has room.
            let all_sites: Vec<Site> = (1..=sites.len() as i32)
                .map(|id| snapshot.sites.iter().chain(&snapshot.waiting_sites).find(|s| s.id == id).cloned().unwrap_or_else(|| Site {
                    id, code: String::new(), label: String::new(), location: home,
                    rate: ShippingRate { base_cents: 0, cents_per_100km: 0, cents_per_kg: 0 }, active: true,
                }))
                .collect();
            let planner_lines: Vec<OrderLine> = order.lines.iter().zip(&grams).map(|(l, &g)| OrderLine {
                sku: l.sku.clone(), quantity: l.quantity as u32, unit_weight_grams: g,
            }).collect();
            let plannable: Vec<Vec<u32>> = planner_lines.iter().enumerate().map(|(l, line)| {
                all_sites.iter().map(|site| {
                    let on_hand: u32 = snapshot.offers.iter()
                        .filter(|o| o.sku == line.sku && o.site_id == site.id && snapshot.open_on(site.id, TODAY))
                        .map(|o| o.available).sum();
                    let inbound: u32 = snapshot.inbound.iter()
                        .filter(|i| i.product_id == l as i32 + 1 && i.warehouse_id == site.id)
                        .filter(|i| by.is_some_and(|by| i.expected_at <= by) && snapshot.open_on(site.id, &day_of(i.expected_at)))
                        .map(|i| i.free).sum();
                    on_hand + inbound
                }).collect()
            }).collect();
            let outcomes: Vec<(usize, i64)> = all_allocations(&planner_lines, &plannable)
                .iter()
                .map(|units| evaluate(&planner_lines, &all_sites, home, units))
                .collect();
            let cheapest = outcomes.iter().map(|o| o.1).min();
            let fewest = outcomes.iter().min_by_key(|o| (o.0, o.1)).copied();

            for strategy in Strategy::ALL {
                let plan = snapshot.plan(&order, strategy, SearchBudget::default(), Wording::Explained);
                prop_assert_eq!(plan.feasible, !outcomes.is_empty(), "{:?}", strategy);
                // What a hold plans: the same plan; without sentences
                // unless it is infeasible, whose sentences are its answer.
                let terse = snapshot.plan(&order, strategy, SearchBudget::default(), Wording::Terse);
                let said = if plan.feasible { Vec::new() } else { plan.explanation.clone() };
                prop_assert_eq!(&terse, &Plan { explanation: said, ..plan.clone() }, "{:?}", strategy);
                if !plan.feasible {
                    continue;
                }
                match strategy {
                    Strategy::Cheapest => prop_assert_eq!(Some(plan.total_cost_cents), cheapest),
                    Strategy::Split => prop_assert_eq!(Some((plan.shipment_count(), plan.total_cost_cents)), fewest),
                    _ => {}
                }
                let shipments = snapshot.priced_shipments(&plan, by).unwrap();
                for shipment in &shipments {
                    // Never past the promise, never on a full day.
                    if let Some(ready) = shipment.ready_at {
                        prop_assert!(by.is_some_and(|by| ready <= by), "ready {} after {:?}", ready, by);
                    }
                    let day = shipment.ready_at.map_or_else(|| TODAY.to_owned(), day_of);
                    prop_assert!(snapshot.open_on(shipment.warehouse.id, &day), "{:?} ships from a full day", strategy);
                    for line in &shipment.lines {
                        let on_hand: i32 = snapshot.offers.iter()
                            .filter(|o| o.sku == line.product.sku && o.site_id == shipment.warehouse.id)
                            .map(|o| o.available as i32).sum();
                        prop_assert!(line.from_stock() >= 0 && line.from_stock() <= on_hand);
                        for part in &line.from_inbound {
                            let inbound = snapshot.inbound.iter().find(|i| i.id == part.inbound_id).unwrap();
                            prop_assert!(part.units as u32 <= inbound.free);
                            prop_assert!(by.is_some_and(|by| inbound.expected_at <= by));
                        }
                    }
                }
                // Exactly the order.
                for line in &order.lines {
                    let shipped: i32 = shipments.iter().flat_map(|s| &s.lines)
                        .filter(|l| l.product.sku == line.sku).map(|l| l.quantity).sum();
                    prop_assert_eq!(shipped, line.quantity);
                }
            }
        }
    }
}
