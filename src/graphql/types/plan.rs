use std::sync::Arc;

use async_graphql::{Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{LocationInput, Product, Warehouse, saturating_int};
use crate::{
    graphql::{ApiError, Coded},
    inventory::planning::{Order, PricedLine, PricedShipment, RequestedLine, Snapshot},
    planner,
};

/// How the planner picks the warehouses that ship an order.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FulfilmentStrategy {
    /// Shortest distance; one warehouse for the whole order when one can.
    Nearest,
    /// Lowest total shipping cost under the warehouses' ShippingRate.
    Cheapest,
    /// Draw from the warehouses with the most stock, to even levels out.
    Balanced,
    /// Fewest shipments that cover the order, then lowest cost.
    Split,
}

impl From<FulfilmentStrategy> for planner::Strategy {
    fn from(strategy: FulfilmentStrategy) -> Self {
        match strategy {
            FulfilmentStrategy::Nearest => planner::Strategy::Nearest,
            FulfilmentStrategy::Cheapest => planner::Strategy::Cheapest,
            FulfilmentStrategy::Balanced => planner::Strategy::Balanced,
            FulfilmentStrategy::Split => planner::Strategy::Split,
        }
    }
}

impl From<planner::Strategy> for FulfilmentStrategy {
    fn from(strategy: planner::Strategy) -> Self {
        match strategy {
            planner::Strategy::Nearest => FulfilmentStrategy::Nearest,
            planner::Strategy::Cheapest => FulfilmentStrategy::Cheapest,
            planner::Strategy::Balanced => FulfilmentStrategy::Balanced,
            planner::Strategy::Split => FulfilmentStrategy::Split,
        }
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct OrderLineInput {
    pub sku: String,
    /// 1..1000000; a SKU appears once per order.
    pub quantity: i32,
}

#[derive(InputObject, Clone, Debug)]
pub struct PlanInput {
    /// 1..100 lines.
    pub lines: Vec<OrderLineInput>,
    pub ship_to: LocationInput,
    #[graphql(default_with = "FulfilmentStrategy::Nearest")]
    pub strategy: FulfilmentStrategy,
    /// Optional cap; an order that cannot meet it is infeasible.
    pub max_shipments: Option<i32>,
    /// When set, inbound stock expected by then may be planned.
    pub promise_by: Option<DateTime<Utc>>,
}

/// Checks an order's shape; errors name the field at fault.
pub fn parse_order(
    lines: Vec<OrderLineInput>,
    ship_to: LocationInput,
    max_shipments: Option<i32>,
    promise_by: Option<DateTime<Utc>>,
) -> Result<Order, ApiError> {
    let ship_to = ship_to.parse("shipTo")?;
    let lines = lines
        .into_iter()
        .map(|l| RequestedLine {
            sku: l.sku,
            quantity: l.quantity,
        })
        .collect();
    Ok(Order::new(lines, ship_to, max_shipments)?.promising_by(promise_by))
}

/// A plan for an order: which warehouses ship what, at what cost, and why.
pub struct FulfilmentPlan {
    pub plan: planner::Plan,
    pub snapshot: Arc<Snapshot>,
    /// The order's promise date, which says what may wait for inbound stock.
    pub promise_by: Option<DateTime<Utc>>,
}

#[Object]
impl FulfilmentPlan {
    async fn strategy(&self) -> FulfilmentStrategy {
        self.plan.strategy.into()
    }

    /// False when the stock cannot cover the order (see shortages) or no plan
    /// meets maxShipments (see explanation).
    async fn feasible(&self) -> bool {
        self.plan.feasible
    }

    /// Nearest first.
    async fn shipments(&self) -> async_graphql::Result<Vec<Shipment>> {
        let shipments = self
            .snapshot
            .priced_shipments(&self.plan, self.promise_by)
            .coded()?;
        Ok(shipments.into_iter().map(Shipment).collect())
    }

    async fn shipment_count(&self) -> i32 {
        saturating_int(self.plan.shipment_count() as i64)
    }

    async fn total_cost_cents(&self) -> i32 {
        saturating_int(self.plan.total_cost_cents)
    }

    /// Summed over shipments.
    async fn total_distance_km(&self) -> f64 {
        self.plan.total_distance_km
    }

    /// Empty when feasible.
    async fn shortages(&self) -> Vec<Shortage> {
        self.plan.shortages.iter().map(Shortage::from).collect()
    }

    /// Why these warehouses, in plain words.
    async fn explanation(&self) -> &[String] {
        &self.plan.explanation
    }

    /// Whether the plan is proven best for its strategy. CHEAPEST and SPLIT
    /// search exactly within a budget; past it they return the best plan
    /// found and this is false.
    async fn optimal(&self) -> bool {
        self.plan.proven
    }

    /// A proven floor: no plan for this order and strategy costs less. For
    /// SPLIT, the floor on cost among plans with the fewest shipments. Equal
    /// to totalCostCents when optimal; 0 when infeasible.
    async fn lower_bound_cents(&self) -> i32 {
        saturating_int(self.plan.lower_bound_cents)
    }

    /// (totalCostCents - lowerBoundCents) / lowerBoundCents * 100: how far
    /// above the best possible plan this one may be, never less than it is.
    /// 0 when optimal.
    async fn gap_percent(&self) -> f64 {
        self.plan.gap_percent()
    }
}

/// What one warehouse sends.
pub struct Shipment(pub PricedShipment);

#[Object]
impl Shipment {
    async fn warehouse(&self) -> Warehouse {
        Warehouse(self.0.warehouse.clone())
    }

    async fn distance_km(&self) -> f64 {
        self.0.distance_km
    }

    async fn weight_grams(&self) -> i32 {
        saturating_int(self.0.weight_grams)
    }

    async fn cost_cents(&self) -> i32 {
        saturating_int(self.0.cost_cents)
    }

    async fn lines(&self) -> Vec<ShipmentLine> {
        self.0.lines.iter().cloned().map(ShipmentLine).collect()
    }

    /// null: ships from stock on hand now; else the inbound arrival it
    /// waits for (the latest, when it waits for several).
    async fn ready_at(&self) -> Option<DateTime<Utc>> {
        self.0.ready_at
    }
}

pub struct ShipmentLine(PricedLine);

#[Object]
impl ShipmentLine {
    async fn sku(&self) -> &str {
        &self.0.product.sku
    }

    async fn product(&self) -> Product {
        Product(self.0.product.clone())
    }

    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
}

/// A line the stock of the active warehouses cannot cover.
#[derive(SimpleObject)]
pub struct Shortage {
    pub sku: String,
    pub requested: i32,
    pub available: i32,
}

impl From<&planner::Shortage> for Shortage {
    fn from(shortage: &planner::Shortage) -> Self {
        Shortage {
            sku: shortage.sku.clone(),
            requested: saturating_int(i64::from(shortage.requested)),
            available: saturating_int(i64::try_from(shortage.available).unwrap_or(i64::MAX)),
        }
    }
}
