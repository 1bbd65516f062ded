//! Exhaustive search over every allocation of a small order: the reference
//! the planner's property tests hold its plans to.

use super::{OrderLine, Site};
use crate::geography::{Location, distance_km};

/// Every way of taking each line's units from the active sites.
pub(crate) fn all_allocations(lines: &[OrderLine], stock: &[Vec<u32>]) -> Vec<Vec<Vec<u32>>> {
    fn spread(quantity: u32, stock: &[u32]) -> Vec<Vec<u32>> {
        if stock.is_empty() {
            return if quantity == 0 { vec![vec![]] } else { vec![] };
        }
        let mut out = Vec::new();
        for take in 0..=quantity.min(stock[0]) {
            for mut rest in spread(quantity - take, &stock[1..]) {
                rest.insert(0, take);
                out.push(rest);
            }
        }
        out
    }
    let mut all: Vec<Vec<Vec<u32>>> = vec![vec![]];
    for (l, line) in lines.iter().enumerate() {
        let options = spread(line.quantity, &stock[l]);
        all = all
            .into_iter()
            .flat_map(|prefix| {
                options.iter().map(move |option| {
                    let mut next = prefix.clone();
                    next.push(option.clone());
                    next
                })
            })
            .collect();
    }
    all
}

/// (shipments, cost) of an allocation `units[line][site]` to `to`.
pub(crate) fn evaluate(
    lines: &[OrderLine],
    sites: &[Site],
    to: Location,
    units: &[Vec<u32>],
) -> (usize, i64) {
    let mut shipments = 0;
    let mut cost = 0;
    for (s, site) in sites.iter().enumerate() {
        let grams: u64 = lines
            .iter()
            .enumerate()
            .map(|(l, line)| u64::from(units[l][s]) * u64::from(line.unit_weight_grams))
            .sum();
        if units.iter().any(|u| u[s] > 0) {
            shipments += 1;
            cost += site.rate.cost_cents(distance_km(to, site.location), grams);
        }
    }
    (shipments, cost)
}
