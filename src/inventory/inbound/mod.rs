//! Inbound stock: units on their way to a warehouse, expected at a time.
//!
//! An inbound is not on hand: nothing ships from it and the stock level
//! does not count it. What it changes is what may be promised:
//! storefronts see it as incoming, and as available to promise by a date.
//! Announcing, receiving and cancelling one are each one transaction that
//! posts to the ledger of the stock level it is bound for, so every state
//! change is in `movements` and the live feeds.

mod changes;
mod holds;
mod incoming;
mod offers;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{InventoryError, rules, stock_changes::Units};
use crate::entities::inbound_shipment;

pub use changes::{cancel, expect, pre_order_units, receive};
pub use holds::{keep_expected, shift_held};
pub use incoming::{Incoming, available_to_promise, in_promise_order, incoming_of_skus, listed};
pub use offers::{InboundOffer, inbound_offers};

/// The most units one inbound shipment may bring.
pub const MAX_INBOUND_UNITS: i32 = 1_000_000;

/// An inbound shipment as a caller announces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The caller's own reference: a retry with the same id and input
    /// finds the first announcement.
    pub id: Uuid,
    /// The SKU, the warehouse it is bound for, and how many units.
    pub units: Units,
    pub expected_at: DateTime<Utc>,
    pub reference_id: Option<String>,
}

impl Expectation {
    /// Checks the shape of what is announced, in field order. Whether
    /// `expected_at` is still ahead is decided when it is written: a retry
    /// of an announcement whose time has come still finds it.
    pub fn new(
        id: Uuid,
        sku: String,
        warehouse_code: String,
        quantity: i32,
        expected_at: DateTime<Utc>,
        reference_id: Option<&str>,
    ) -> Result<Self, InventoryError> {
        let units = Units::inbound(sku, warehouse_code, quantity, MAX_INBOUND_UNITS)?;
        Ok(Expectation {
            id,
            units,
            // As precise as both databases keep it, so that a retry
            // compares equal to what was stored.
            expected_at: crate::db::to_stored_precision(expected_at),
            reference_id: rules::optional_text(reference_id, "referenceId")?,
        })
    }

    /// Whether `stored` is this announcement, for a product and warehouse
    /// resolved from its names.
    fn is(&self, stored: &inbound_shipment::Model, product_id: i32, warehouse_id: i32) -> bool {
        stored.product_id == product_id
            && stored.warehouse_id == warehouse_id
            && stored.quantity == self.units.units
            && stored.expected_at == self.expected_at
            && stored.reference_id == self.reference_id
    }
}
