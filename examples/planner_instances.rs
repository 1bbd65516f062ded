//! Plans random orders with CHEAPEST and SPLIT and writes each instance with
//! the plans, their floors and their latencies as one JSON line, for
//! `benches/planner_optimum.py` to check against an independent MILP solver.
//!
//! `cargo run --release --example planner_instances -- 10x100:20 20x200:20 50x400:10`
//! (lines × warehouses : instances; seeds start at 1000, as in the benchmark).

use std::time::Instant;

use serde_json::{Value, json};
use stockroute::{
    geography::distance_km,
    planner::{Plan, Strategy, plan},
};

#[path = "../benches/support/orders.rs"]
mod orders;

/// Runs per plan; the median is reported.
const RUNS: usize = 5;

fn main() {
    let sizes: Vec<(usize, usize, u64)> = std::env::args()
        .skip(1)
        .map(|arg| {
            let parse = || -> Option<(usize, usize, u64)> {
                let (size, count) = arg.split_once(':')?;
                let (lines, warehouses) = size.split_once('x')?;
                Some((
                    lines.parse().ok()?,
                    warehouses.parse().ok()?,
                    count.parse().ok()?,
                ))
            };
            parse().unwrap_or_else(|| panic!("{arg}: expected LINESxWAREHOUSES:COUNT"))
        })
        .collect();
    for (lines, warehouses, count) in sizes {
        for seed in 1000..1000 + count {
            let instance = orders::instance(seed, lines, warehouses);
            println!("{}", describe(&instance, seed, lines, warehouses));
        }
    }
}

fn describe(instance: &orders::Instance, seed: u64, lines: usize, warehouses: usize) -> Value {
    let sites: Vec<Value> = instance
        .sites
        .iter()
        .filter(|s| s.active)
        .map(|s| {
            let km = distance_km(instance.destination, s.location);
            json!({
                "id": s.id,
                "fixed_cents": s.rate.fixed_cents(km),
                "cents_per_kg": s.rate.cents_per_kg,
            })
        })
        .collect();
    let order: Vec<Value> = instance
        .lines
        .iter()
        .map(|l| json!({ "sku": l.sku, "quantity": l.quantity, "grams": l.unit_weight_grams }))
        .collect();
    let stock: Vec<Value> = instance
        .offers
        .iter()
        .filter(|o| o.available > 0)
        .map(|o| json!({ "sku": o.sku, "site": o.site_id, "available": o.available }))
        .collect();
    let plans: Vec<Value> = [Strategy::Cheapest, Strategy::Split]
        .into_iter()
        .map(|strategy| {
            let mut times = Vec::with_capacity(RUNS);
            let mut planned = None;
            for _ in 0..RUNS {
                let started = Instant::now();
                let found = plan(&instance.request(strategy));
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                planned = Some(found);
            }
            times.sort_by(f64::total_cmp);
            describe_plan(strategy, &planned.expect("planned"), times[RUNS / 2])
        })
        .collect();
    json!({
        "seed": seed,
        "size": format!("{lines}x{warehouses}"),
        "sites": sites,
        "lines": order,
        "stock": stock,
        "plans": plans,
    })
}

fn describe_plan(strategy: Strategy, plan: &Plan, millis: f64) -> Value {
    let units: Vec<Value> = plan
        .shipments
        .iter()
        .flat_map(|s| {
            s.lines
                .iter()
                .map(move |l| json!({ "site": s.site_id, "sku": l.sku, "quantity": l.quantity }))
        })
        .collect();
    json!({
        "strategy": format!("{strategy:?}").to_uppercase(),
        "feasible": plan.feasible,
        "cost_cents": plan.total_cost_cents,
        "shipments": plan.shipment_count(),
        "lower_bound_cents": plan.lower_bound_cents,
        "gap_percent": plan.gap_percent(),
        "optimal": plan.proven,
        "millis": millis,
        "units": units,
    })
}
