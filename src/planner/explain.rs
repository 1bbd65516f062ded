//! Turning a chosen allocation into a [`Plan`], with the sentences that say
//! why: short, plain, and about this order.

use super::{
    Plan, Shipment, ShipmentLine, Shortage, Strategy, Wording,
    instance::{Chosen, Instance, Reason},
};

fn name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Nearest => "NEAREST",
        Strategy::Cheapest => "CHEAPEST",
        Strategy::Balanced => "BALANCED",
        Strategy::Split => "SPLIT",
    }
}

/// Cents as a decimal amount, `1234` as `12.34`.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn feasible(
    instance: &Instance<'_>,
    strategy: Strategy,
    chosen: Chosen,
    wording: Wording,
) -> Plan {
    let weights = chosen.allocation.weights(instance);
    let shipments: Vec<Shipment> = chosen
        .allocation
        .used(instance)
        .into_iter()
        .map(|c| {
            let candidate = &instance.candidates[c];
            Shipment {
                site_id: candidate.site.id,
                code: candidate.site.code.clone(),
                distance_km: candidate.distance_km,
                weight_grams: weights[c],
                cost_cents: candidate.fixed_cents + candidate.site.rate.weight_cents(weights[c]),
                lines: instance
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(l, _)| chosen.allocation.units[*l][c] > 0)
                    .map(|(l, line)| ShipmentLine {
                        sku: line.sku.clone(),
                        quantity: chosen.allocation.units[l][c],
                    })
                    .collect(),
            }
        })
        .collect();
    let total_cost_cents = shipments.iter().map(|s| s.cost_cents).sum();
    let total_distance_km = shipments.iter().map(|s| s.distance_km).sum();
    let lower_bound_cents = chosen
        .floor_cents
        .unwrap_or(total_cost_cents)
        .min(total_cost_cents);
    let explanation = match wording {
        Wording::Explained => sentences(
            instance,
            strategy,
            &chosen,
            &shipments,
            total_cost_cents,
            lower_bound_cents,
        ),
        Wording::Terse => Vec::new(),
    };
    Plan {
        strategy,
        feasible: true,
        shipments,
        total_cost_cents,
        total_distance_km,
        shortages: Vec::new(),
        proven: chosen.proven(),
        lower_bound_cents,
        explanation,
    }
}

/// Why `chosen` ships as `shipments` do, in plain sentences.
fn sentences(
    instance: &Instance<'_>,
    strategy: Strategy,
    chosen: &Chosen,
    shipments: &[Shipment],
    total_cost_cents: i64,
    lower_bound_cents: i64,
) -> Vec<String> {
    let label = |code: &str| {
        instance
            .candidates
            .iter()
            .find(|c| c.site.code == code)
            .map_or_else(|| code.to_owned(), |c| format!("{} ({code})", c.site.label))
    };

    let lines = instance.lines.len();
    let count = shipments.len();
    let mut explanation = Vec::new();
    match &chosen.reason {
        Reason::WholeOrder => explanation.push(format!(
            "{} ships all {}: the nearest warehouse holding the whole order, {:.0} km away.",
            label(&shipments[0].code),
            plural(lines, "line", "lines"),
            shipments[0].distance_km
        )),
        Reason::LineByLine => explanation.push(
            "No single warehouse holds the whole order, so each line ships from the nearest \
             warehouse that has it."
                .to_owned(),
        ),
        Reason::Balanced => explanation.push(
            "Units come from the warehouses with the most stock left after this order, so that \
             stock levels even out."
                .to_owned(),
        ),
        Reason::Cheapest { proven } => explanation.push(format!(
            "The lowest shipping cost: {} in {}{}",
            money(total_cost_cents),
            plural(count, "shipment", "shipments"),
            if *proven {
                "; no other plan costs less."
            } else {
                ". The search stopped at its budget, so this is the cheapest plan found, not proven the cheapest."
            }
        )),
        Reason::Fewest {
            count_proven,
            proven,
        } => explanation.push(format!(
            "The fewest shipments: {}{}; {}, {}.",
            plural(count, "shipment", "shipments"),
            if *count_proven {
                if count == 1 {
                    " (one warehouse holds the whole order)".to_owned()
                } else {
                    format!(
                        " (no {} can hold the whole order)",
                        plural(count - 1, "warehouse", "warehouses")
                    )
                }
            } else {
                " found (the search stopped at its budget, so fewer may be possible)".to_owned()
            },
            if *proven {
                "among such plans this one costs least"
            } else {
                "the cheapest such plan found"
            },
            money(total_cost_cents)
        )),
        Reason::Capped { wanted, proven } => explanation.push(format!(
            "The {} plan needs {}, more than allowed; this is the {} plan within the limit: {} in {}.",
            name(strategy),
            plural(*wanted, "shipment", "shipments"),
            if *proven { "cheapest" } else { "cheapest found" },
            money(total_cost_cents),
            plural(count, "shipment", "shipments"),
        )),
    }
    if !chosen.proven() {
        explanation.push(bound_sentence(total_cost_cents, lower_bound_cents));
    }
    for (l, line) in instance.lines.iter().enumerate() {
        let sources = chosen.allocation.units[l]
            .iter()
            .filter(|&&u| u > 0)
            .count();
        if sources > 1 {
            explanation.push(format!(
                "{} is split over {}: {}.",
                line.sku,
                plural(sources, "warehouse", "warehouses"),
                if instance.stock[l].iter().any(|&s| s >= line.quantity) {
                    "that is cheaper or more even than one source"
                } else {
                    "no single warehouse holds all of it"
                }
            ));
        }
    }
    for shipment in shipments {
        let items: Vec<String> = shipment
            .lines
            .iter()
            .map(|l| format!("{} × {}", l.sku, l.quantity))
            .collect();
        explanation.push(format!(
            "{} ships {}: {:.1} kg over {:.0} km for {}.",
            label(&shipment.code),
            items.join(", "),
            shipment.weight_grams as f64 / 1000.0,
            shipment.distance_km,
            money(shipment.cost_cents)
        ));
    }
    explanation
}

/// How far an unproven plan may be from the best, in words.
fn bound_sentence(cost: i64, floor: i64) -> String {
    let plan = Plan {
        strategy: Strategy::Cheapest,
        feasible: true,
        shipments: Vec::new(),
        total_cost_cents: cost,
        total_distance_km: 0.0,
        shortages: Vec::new(),
        proven: false,
        lower_bound_cents: floor,
        explanation: Vec::new(),
    };
    let gap = plan.gap_percent();
    format!(
        "No plan can cost less than {}, so this one is at most {} above the cheapest possible.",
        money(floor),
        percent(gap)
    )
}

/// A percentage rounded up, so that it never understates.
fn percent(gap: f64) -> String {
    if gap >= 10.0 {
        format!("{:.0} %", gap.ceil())
    } else {
        format!("{:.1} %", (gap * 10.0).ceil() / 10.0)
    }
}

pub(super) fn short_of_stock(strategy: Strategy, shortages: Vec<Shortage>) -> Plan {
    let explanation = shortages
        .iter()
        .map(|s| {
            format!(
                "{}: {} requested, only {} available in the active warehouses.",
                s.sku, s.requested, s.available
            )
        })
        .collect();
    infeasible(strategy, shortages, true, explanation)
}

/// No plan within the cap: proven when no set of `cap` warehouses can hold
/// the order (`fewest_floor` above the cap), else the search ran out first.
pub(super) fn over_cap(strategy: Strategy, cap: usize, fewest_floor: usize) -> Plan {
    let proven = fewest_floor > cap;
    let why = if proven {
        format!(
            "No plan ships this order in at most {}: it needs at least {}.",
            plural(cap, "shipment", "shipments"),
            plural(fewest_floor, "shipment", "shipments")
        )
    } else {
        format!(
            "No plan that ships this order in at most {} was found before the search stopped at \
             its budget; one may exist.",
            plural(cap, "shipment", "shipments")
        )
    };
    infeasible(strategy, Vec::new(), proven, vec![why])
}

fn infeasible(
    strategy: Strategy,
    shortages: Vec<Shortage>,
    proven: bool,
    explanation: Vec<String>,
) -> Plan {
    Plan {
        strategy,
        feasible: false,
        shipments: Vec::new(),
        total_cost_cents: 0,
        total_distance_km: 0.0,
        shortages,
        proven,
        lower_bound_cents: 0,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn cents_read_as_an_amount() {
        assert_eq!(money(1234), "12.34");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-250), "-2.50");
    }
}
