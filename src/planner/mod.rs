//! The fulfilment planner: which warehouses ship an order.
//!
//! Pure: no database, no async, no GraphQL. It takes the order lines, the
//! destination, the warehouses with their shipping rates, and a snapshot of
//! what each holds, and returns a [`Plan`]: shipments with their lines,
//! distance, weight and cost, or the shortages that make the order
//! impossible. Every plan says why, in sentences a support agent can read.
//!
//! - NEAREST ([`nearest`]): the nearest warehouse that holds the whole order;
//!   else each line from the nearest warehouse that has it, splitting a line
//!   no single warehouse holds nearest first.
//! - BALANCED ([`balanced`]): units from where the most stock remains after
//!   the order, so levels even out.
//! - CHEAPEST and SPLIT ([`search`]): exact branch and bound over warehouse
//!   subsets (minimum total cost; fewest shipments, then cost), within a
//!   search budget; past it, the best plan found, marked as not proven.
//!
//! Ties break by distance, then warehouse code, so the same input always
//! gives the same plan. Money is integer cents; distances are geodesic km
//! from [`crate::geography`], the one place they are computed.

mod balanced;
mod budget;
mod cover;
mod explain;
mod instance;
mod nearest;
mod neighbourhood;
mod relaxation;
mod search;

#[cfg(test)]
pub(crate) mod brute_force;
#[cfg(test)]
mod tests;

use crate::geography::Location;

pub use budget::SearchBudget;

/// How to choose the warehouses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    Nearest,
    Cheapest,
    Balanced,
    Split,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::Nearest,
        Strategy::Cheapest,
        Strategy::Balanced,
        Strategy::Split,
    ];
}

/// The cost of one shipment from a warehouse, in cents:
/// `base + round(km * per100Km / 100) + perKg * ceil(grams / 1000)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShippingRate {
    pub base_cents: i64,
    pub cents_per_100km: i64,
    pub cents_per_kg: i64,
}

impl ShippingRate {
    /// The part of a shipment's cost that does not depend on its weight.
    pub fn fixed_cents(&self, distance_km: f64) -> i64 {
        self.base_cents + (distance_km * self.cents_per_100km as f64 / 100.0).round() as i64
    }

    pub fn weight_cents(&self, weight_grams: u64) -> i64 {
        self.cents_per_kg * weight_grams.div_ceil(1000) as i64
    }

    pub fn cost_cents(&self, distance_km: f64, weight_grams: u64) -> i64 {
        self.fixed_cents(distance_km) + self.weight_cents(weight_grams)
    }
}

/// A warehouse as the planner sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub id: i32,
    pub code: String,
    /// How explanations name it: the city, or the warehouse name.
    pub label: String,
    pub location: Location,
    pub rate: ShippingRate,
    pub active: bool,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_weight_grams: u32,
}

/// Units of a SKU available at a site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub sku: String,
    pub site_id: i32,
    pub available: u32,
}

/// Everything a plan is made from.
#[derive(Clone, Copy, Debug)]
pub struct PlanRequest<'a> {
    pub lines: &'a [OrderLine],
    pub destination: Location,
    pub sites: &'a [Site],
    pub offers: &'a [Offer],
    pub strategy: Strategy,
    /// A plan with more shipments is not allowed.
    pub max_shipments: Option<u32>,
    pub wording: Wording,
}

/// How much a plan says in words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wording {
    /// Every plan says why (what `planOrder` shows).
    #[default]
    Explained,
    /// A feasible plan says nothing: a hold's answer never shows it, and
    /// its sentences cost more than planning a one-line order (~1 % of the
    /// CPU per hold in the flash-sale benchmark). An infeasible plan still
    /// says why, since that is its answer.
    Terse,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShipmentLine {
    pub sku: String,
    pub quantity: u32,
}

/// What one warehouse sends.
#[derive(Clone, Debug, PartialEq)]
pub struct Shipment {
    pub site_id: i32,
    pub code: String,
    pub distance_km: f64,
    pub weight_grams: u64,
    pub cost_cents: i64,
    pub lines: Vec<ShipmentLine>,
}

/// A line the stock cannot cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortage {
    pub sku: String,
    pub requested: u32,
    /// Summed over the active warehouses.
    pub available: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub strategy: Strategy,
    pub feasible: bool,
    /// Nearest first.
    pub shipments: Vec<Shipment>,
    pub total_cost_cents: i64,
    pub total_distance_km: f64,
    pub shortages: Vec<Shortage>,
    /// Whether the plan is proven best for its strategy's objective (always
    /// true for NEAREST and BALANCED, whose rules define the plan).
    pub proven: bool,
    /// No plan for this order and strategy costs less (for SPLIT: no plan
    /// with the fewest shipments); equal to the cost when proven, 0 when
    /// infeasible.
    pub lower_bound_cents: i64,
    pub explanation: Vec<String>,
}

impl Plan {
    pub fn shipment_count(&self) -> usize {
        self.shipments.len()
    }

    /// How far above the floor the plan may be, in percent of the floor:
    /// never below its true distance from the best plan. A floor under one
    /// cent counts as one cent, since a plan that costs anything costs at
    /// least that.
    pub fn gap_percent(&self) -> f64 {
        if !self.feasible || self.total_cost_cents <= self.lower_bound_cents {
            return 0.0;
        }
        let floor = self.lower_bound_cents.max(1) as f64;
        (self.total_cost_cents as f64 - floor) / floor * 100.0
    }
}

/// Plans an order with the default search budget.
pub fn plan(request: &PlanRequest<'_>) -> Plan {
    plan_with_budget(request, SearchBudget::default())
}

pub fn plan_with_budget(request: &PlanRequest<'_>, budget: SearchBudget) -> Plan {
    let instance = instance::Instance::new(request);
    if let Some(shortages) = instance.shortages() {
        return explain::short_of_stock(request.strategy, shortages);
    }
    let cap = request.max_shipments.map(|n| n as usize);
    let searched = match request.strategy {
        Strategy::Nearest => rule_based(nearest::plan(&instance)),
        Strategy::Balanced => rule_based(balanced::plan(&instance)),
        Strategy::Cheapest => search::cheapest(&instance, cap, budget),
        Strategy::Split => search::fewest(&instance, cap, budget),
    };
    let searched = match (searched.chosen, cap) {
        // A rule-based plan over the cap falls back to the cheapest plan
        // within it, and says so.
        (Some(found), Some(cap)) if found.shipments() > cap => {
            let within = search::cheapest(&instance, Some(cap), budget);
            search::Searched {
                chosen: within.chosen.map(|within| within.instead_of(found)),
                ..within
            }
        }
        (chosen, _) => search::Searched { chosen, ..searched },
    };
    match searched.chosen {
        Some(chosen) => explain::feasible(&instance, request.strategy, chosen, request.wording),
        None => explain::over_cap(request.strategy, cap.unwrap_or(0), searched.fewest_floor),
    }
}

fn rule_based(chosen: Option<instance::Chosen>) -> search::Searched {
    search::Searched {
        chosen,
        fewest_floor: 1,
    }
}
