//! An order made ready for planning: the candidate warehouses in tie-break
//! order with their distance and fixed cost, and what each holds of each
//! line.

use std::collections::HashMap;

use super::{OrderLine, PlanRequest, Shortage, Site};
use crate::geography::distance_km;

/// An active warehouse holding something of the order.
pub(super) struct Candidate<'a> {
    pub site: &'a Site,
    pub distance_km: f64,
    /// Base fee plus the distance term: paid once if it ships at all.
    pub fixed_cents: i64,
    pub cents_per_kg: i64,
}

pub(super) struct Instance<'a> {
    pub lines: &'a [OrderLine],
    /// Nearest first, then by code: the order every tie breaks in.
    pub candidates: Vec<Candidate<'a>>,
    /// `stock[line][candidate]`: units available there.
    pub stock: Vec<Vec<u32>>,
}

impl<'a> Instance<'a> {
    pub fn new(request: &PlanRequest<'a>) -> Self {
        let line_of: HashMap<&str, usize> = request
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.sku.as_str(), i))
            .collect();
        let mut held: HashMap<(usize, i32), u32> = HashMap::new();
        for offer in request.offers {
            if let Some(&line) = line_of.get(offer.sku.as_str())
                && offer.available > 0
            {
                *held.entry((line, offer.site_id)).or_default() += offer.available;
            }
        }
        let mut candidates: Vec<Candidate<'a>> = request
            .sites
            .iter()
            .filter(|site| site.active)
            .filter(|site| (0..request.lines.len()).any(|l| held.contains_key(&(l, site.id))))
            .map(|site| {
                let distance_km = distance_km(request.destination, site.location);
                Candidate {
                    site,
                    distance_km,
                    fixed_cents: site.rate.fixed_cents(distance_km),
                    cents_per_kg: site.rate.cents_per_kg,
                }
            })
            .collect();
        candidates.sort_by(|a, b| {
            a.distance_km
                .total_cmp(&b.distance_km)
                .then_with(|| a.site.code.cmp(&b.site.code))
        });
        let stock = (0..request.lines.len())
            .map(|l| {
                candidates
                    .iter()
                    .map(|c| held.get(&(l, c.site.id)).copied().unwrap_or(0))
                    .collect()
            })
            .collect();
        Instance {
            lines: request.lines,
            candidates,
            stock,
        }
    }

    /// The lines the active warehouses cannot cover together, if any.
    pub fn shortages(&self) -> Option<Vec<Shortage>> {
        let short: Vec<Shortage> = self
            .lines
            .iter()
            .zip(&self.stock)
            .filter_map(|(line, stock)| {
                let available: u64 = stock.iter().map(|&s| u64::from(s)).sum();
                (available < u64::from(line.quantity)).then(|| Shortage {
                    sku: line.sku.clone(),
                    requested: line.quantity,
                    available,
                })
            })
            .collect();
        (!short.is_empty()).then_some(short)
    }

    /// Units of `line` that `candidate` can contribute.
    pub fn usable(&self, line: usize, candidate: usize) -> u32 {
        self.stock[line][candidate].min(self.lines[line].quantity)
    }

    pub fn line_grams(&self, line: usize, units: u32) -> u64 {
        u64::from(units) * u64::from(self.lines[line].unit_weight_grams)
    }
}

/// Units of each line taken from each candidate: `units[line][candidate]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Allocation {
    pub units: Vec<Vec<u32>>,
}

impl Allocation {
    pub fn empty(instance: &Instance<'_>) -> Self {
        Allocation {
            units: vec![vec![0; instance.candidates.len()]; instance.lines.len()],
        }
    }

    /// Grams leaving each candidate.
    pub fn weights(&self, instance: &Instance<'_>) -> Vec<u64> {
        let mut grams = vec![0u64; instance.candidates.len()];
        for (line, units) in self.units.iter().enumerate() {
            for (c, &n) in units.iter().enumerate() {
                grams[c] += instance.line_grams(line, n);
            }
        }
        grams
    }

    /// Candidates that ship something, in tie-break order.
    pub fn used(&self, instance: &Instance<'_>) -> Vec<usize> {
        (0..instance.candidates.len())
            .filter(|&c| self.units.iter().any(|u| u[c] > 0))
            .collect()
    }
}

/// Why a plan is what it is; the explanation is written from this.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Reason {
    /// NEAREST: one warehouse holds the whole order.
    WholeOrder,
    /// NEAREST: each line from the nearest warehouse that has it.
    LineByLine,
    Balanced,
    Cheapest {
        proven: bool,
    },
    Fewest {
        /// No plan ships in fewer (searched to the end, or bounded).
        count_proven: bool,
        proven: bool,
    },
    /// The strategy's own plan needed `wanted` shipments, over the cap; this
    /// is the cheapest plan within it.
    Capped {
        wanted: usize,
        proven: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Chosen {
    pub allocation: Allocation,
    pub reason: Reason,
    /// Shipments, counted when chosen.
    pub shipment_count: usize,
    /// A proven floor on the cost of any plan for this strategy's objective
    /// (for SPLIT: of the plans with the fewest shipments); `None` when the
    /// strategy's rule defines the plan, which is then its own floor.
    pub floor_cents: Option<i64>,
}

impl Chosen {
    pub fn new(instance: &Instance<'_>, allocation: Allocation, reason: Reason) -> Self {
        let shipment_count = allocation.used(instance).len();
        Chosen {
            allocation,
            reason,
            shipment_count,
            floor_cents: None,
        }
    }

    /// This plan, with a proven floor under its objective.
    pub fn floored(self, floor_cents: i64) -> Self {
        Chosen {
            floor_cents: Some(floor_cents),
            ..self
        }
    }

    pub fn shipments(&self) -> usize {
        self.shipment_count
    }

    /// This plan, chosen because `original` had too many shipments.
    pub fn instead_of(self, original: Chosen) -> Chosen {
        let proven = matches!(
            self.reason,
            Reason::Cheapest { proven: true } | Reason::Fewest { proven: true, .. }
        );
        Chosen {
            reason: Reason::Capped {
                wanted: original.shipment_count,
                proven,
            },
            ..self
        }
    }

    pub fn proven(&self) -> bool {
        match self.reason {
            Reason::WholeOrder | Reason::LineByLine | Reason::Balanced => true,
            Reason::Cheapest { proven }
            | Reason::Fewest { proven, .. }
            | Reason::Capped { proven, .. } => proven,
        }
    }
}
