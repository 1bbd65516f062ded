//! Plan quality over the demo network: 1,000 random orders planned with each
//! strategy against the demo stock, with the mean cost, shipments and
//! distance per strategy, and what CHEAPEST saves against a greedy
//! nearest-first baseline (each line from the nearest warehouse that has it,
//! split nearest first). `cargo run --release --example planner_report`

use std::collections::HashMap;

use stockroute::{
    demo::{WAREHOUSES, demo_products, demo_stock},
    geography::{Location, distance_km},
    planner::{
        Offer, OrderLine, Plan, PlanRequest, SearchBudget, ShippingRate, Site, Strategy, Wording,
        plan, plan_with_budget,
    },
};

#[path = "../benches/support/orders.rs"]
mod orders;

const ORDERS: usize = 1_000;

/// Big cities where orders go, on the continents the demo serves.
const DESTINATIONS: &[(f64, f64)] = &[
    (48.1351, 11.5820),   // Munich
    (50.1109, 8.6821),    // Frankfurt
    (45.7640, 4.8357),    // Lyon
    (41.3874, 2.1686),    // Barcelona
    (53.4808, -2.2426),   // Manchester
    (50.0755, 14.4378),   // Prague
    (59.3293, 18.0686),   // Stockholm
    (42.3601, -71.0589),  // Boston
    (39.9526, -75.1652),  // Philadelphia
    (29.7604, -95.3698),  // Houston
    (37.7749, -122.4194), // San Francisco
    (47.6062, -122.3321), // Seattle
    (45.5019, -73.5674),  // Montreal
    (-22.9068, -43.1729), // Rio de Janeiro
    (34.6937, 135.5023),  // Osaka
    (-37.8136, 144.9631), // Melbourne
];

fn main() {
    let sites: Vec<Site> = WAREHOUSES
        .iter()
        .enumerate()
        .map(|(i, w)| Site {
            id: i as i32,
            code: w.code.to_owned(),
            label: w.city.to_owned(),
            location: Location::new(w.latitude, w.longitude).expect("demo coordinates"),
            rate: ShippingRate {
                base_cents: i64::from(w.rate.0),
                cents_per_100km: i64::from(w.rate.1),
                cents_per_kg: i64::from(w.rate.2),
            },
            active: w.active,
        })
        .collect();
    let site_of: HashMap<&str, i32> = sites.iter().map(|s| (s.code.as_str(), s.id)).collect();
    let offers: Vec<Offer> = demo_stock()
        .into_iter()
        .filter(|(_, _, units)| *units > 0)
        .map(|(sku, code, units)| Offer {
            sku,
            site_id: site_of[code],
            available: units as u32,
        })
        .collect();
    let stocked: Vec<(String, u32)> = demo_products()
        .into_iter()
        .filter(|p| offers.iter().any(|o| o.sku == p.sku))
        .map(|p| (p.sku, p.weight_grams as u32))
        .collect();

    let mut rng = orders::Rng(2026);
    let mut totals: HashMap<Strategy, (i64, usize, f64, usize)> = HashMap::new();
    let mut baseline_cost = 0i64;
    let mut cheapest_cost_where_baseline = 0i64;
    let mut planned = 0usize;
    let mut unproven = 0usize;
    for _ in 0..ORDERS {
        let (lat, lon) = DESTINATIONS[rng.below(DESTINATIONS.len() as u64) as usize];
        let destination = Location::new(lat, lon).unwrap();
        let count = 1 + rng.below(5) as usize;
        let mut lines: Vec<OrderLine> = Vec::new();
        while lines.len() < count {
            let (sku, grams) = &stocked[rng.below(stocked.len() as u64) as usize];
            if lines.iter().all(|l| &l.sku != sku) {
                lines.push(OrderLine {
                    sku: sku.clone(),
                    quantity: 1 + rng.below(3) as u32,
                    unit_weight_grams: *grams,
                });
            }
        }
        let plans: Vec<Plan> = Strategy::ALL
            .iter()
            .map(|&strategy| {
                plan(&PlanRequest {
                    lines: &lines,
                    destination,
                    sites: &sites,
                    offers: &offers,
                    strategy,
                    max_shipments: None,
                    wording: Wording::Explained,
                })
            })
            .collect();
        if plans.iter().any(|p| !p.feasible) {
            continue;
        }
        planned += 1;
        for plan in &plans {
            let entry = totals.entry(plan.strategy).or_default();
            entry.0 += plan.total_cost_cents;
            entry.1 += plan.shipment_count();
            entry.2 += plan.total_distance_km;
            entry.3 += usize::from(!plan.proven);
            unproven += usize::from(!plan.proven);
        }
        baseline_cost += greedy_nearest_first(&lines, destination, &sites, &offers);
        cheapest_cost_where_baseline += plans[1].total_cost_cents;
    }

    println!(
        "{planned} of {ORDERS} random orders (1-5 lines, 1-3 units each) could be filled from the demo stock.\n"
    );
    println!("| strategy | mean cost | mean shipments | mean distance km | not proven optimal |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for strategy in Strategy::ALL {
        let (cost, shipments, distance, unproven) = totals[&strategy];
        println!(
            "| {:?} | {:.2} | {:.2} | {:.0} | {} |",
            strategy,
            cost as f64 / planned as f64 / 100.0,
            shipments as f64 / planned as f64,
            distance / planned as f64,
            unproven
        );
    }
    println!(
        "| greedy nearest-first (baseline) | {:.2} | | | |",
        baseline_cost as f64 / planned as f64 / 100.0
    );
    println!(
        "\nCHEAPEST saves {:.1} % of shipping cost against the greedy nearest-first baseline \
         ({:.2} per order). Plans not proven optimal: {unproven}.",
        100.0 * (baseline_cost - cheapest_cost_where_baseline) as f64 / baseline_cost as f64,
        (baseline_cost - cheapest_cost_where_baseline) as f64 / planned as f64 / 100.0
    );
    exactness();
}

/// Where the exact search stops being exact: random instances of growing
/// size (as in the benchmark), the share of CHEAPEST and SPLIT plans proven
/// optimal within the default budget, and for the others the gap to the plan
/// found with a budget 50 times larger.
fn exactness() {
    println!(
        "\n| lines × warehouses | strategy | proven optimal | mean gap of the others to a 50× budget |"
    );
    println!("| --- | --- | ---: | ---: |");
    for (lines, warehouses) in [(5, 50), (10, 100), (20, 200), (50, 400)] {
        for strategy in [Strategy::Cheapest, Strategy::Split] {
            let (mut proven, mut gaps, mut compared) = (0, 0.0, 0);
            const RUNS: u64 = 20;
            for seed in 0..RUNS {
                let instance = orders::instance(1_000 + seed, lines, warehouses);
                let request = instance.request(strategy);
                let found = plan(&request);
                if !found.feasible || found.proven {
                    proven += 1;
                    continue;
                }
                let deeper = SearchBudget {
                    nodes: SearchBudget::default().nodes * 50,
                };
                let better = plan_with_budget(&request, deeper);
                gaps += (found.total_cost_cents - better.total_cost_cents) as f64
                    / better.total_cost_cents as f64;
                compared += 1;
            }
            println!(
                "| {lines} × {warehouses} | {strategy:?} | {proven} of {RUNS} | {} |",
                if compared == 0 {
                    "-".to_owned()
                } else {
                    format!("{:.2} %", 100.0 * gaps / compared as f64)
                }
            );
        }
    }
}

/// Each line from the nearest warehouse that has it, split nearest first:
/// what many shops do.
fn greedy_nearest_first(
    lines: &[OrderLine],
    to: Location,
    sites: &[Site],
    offers: &[Offer],
) -> i64 {
    let mut by_distance: Vec<&Site> = sites.iter().filter(|s| s.active).collect();
    by_distance.sort_by(|a, b| {
        distance_km(to, a.location)
            .total_cmp(&distance_km(to, b.location))
            .then_with(|| a.code.cmp(&b.code))
    });
    let held = |sku: &str, site: i32| -> u32 {
        offers
            .iter()
            .filter(|o| o.sku == sku && o.site_id == site)
            .map(|o| o.available)
            .sum()
    };
    let mut grams: HashMap<i32, u64> = HashMap::new();
    for line in lines {
        let mut missing = line.quantity;
        let whole = by_distance
            .iter()
            .find(|s| held(&line.sku, s.id) >= line.quantity);
        let sources: Vec<&&Site> = match whole {
            Some(site) => vec![site],
            None => by_distance.iter().collect(),
        };
        for site in sources {
            let take = held(&line.sku, site.id).min(missing);
            if take > 0 {
                *grams.entry(site.id).or_default() +=
                    u64::from(take) * u64::from(line.unit_weight_grams);
                missing -= take;
            }
            if missing == 0 {
                break;
            }
        }
    }
    grams
        .iter()
        .map(|(id, g)| {
            let site = sites.iter().find(|s| s.id == *id).unwrap();
            site.rate.cost_cents(distance_km(to, site.location), *g)
        })
        .sum()
}
