//! What a request to hold stock comes to.

use crate::planner::{Plan, Shortage};

/// What became of a request to hold stock.
#[derive(Clone, Debug, PartialEq)]
pub enum ReserveOutcome {
    /// Held now, or earlier by the same request.
    Reserved(super::Hold),
    /// Not enough stock for the order (or no plan within its shipment cap);
    /// nothing was held.
    InsufficientStock {
        message: String,
        shortages: Vec<Shortage>,
    },
}

/// The answer to an order whose plan is infeasible; `notes` say which
/// warehouses with stock could not ship it today, and why.
pub(super) fn insufficient(plan: Plan, notes: &[String]) -> ReserveOutcome {
    if plan.shortages.is_empty() {
        ReserveOutcome::InsufficientStock {
            message: plan.explanation.join(" "),
            shortages: Vec::new(),
        }
    } else {
        match short_of(plan.shortages) {
            ReserveOutcome::InsufficientStock { message, shortages } if !notes.is_empty() => {
                ReserveOutcome::InsufficientStock {
                    message: format!("{message}. {}", notes.join(" ")),
                    shortages,
                }
            }
            outcome => outcome,
        }
    }
}

/// The answer to an order some of whose lines the stock cannot cover.
pub(super) fn short_of(shortages: Vec<Shortage>) -> ReserveOutcome {
    let skus: Vec<&str> = shortages.iter().map(|s| s.sku.as_str()).collect();
    ReserveOutcome::InsufficientStock {
        message: format!(
            "not enough stock in the active warehouses for {}",
            skus.join(", ")
        ),
        shortages,
    }
}
