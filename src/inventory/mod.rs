//! The service layer: what stockroute does with stock, independent of GraphQL.
//!
//! Functions here take a database handle and domain values, and return
//! entities or domain results with a typed [`InventoryError`].

pub mod audit;
pub mod availability;
pub mod capacity;
pub mod catalogue;
mod error;
mod idempotency;
pub mod inbound;
pub mod ledger;
mod paging;
pub mod planning;
pub mod reconciliation;
pub mod registration;
pub mod reservations;
pub mod rules;
pub mod stock_changes;
pub mod stock_levels;
mod store;

pub use error::InventoryError;
pub use paging::{Page, PageSize};
pub use store::{Store, WriteTransaction};

/// The `warehouses` columns, named as the entity reads them, for statements
/// that join warehouses onto other rows.
const WAREHOUSE_COLUMNS: [&str; 12] = [
    "id",
    "code",
    "name",
    "city",
    "latitude",
    "longitude",
    "active",
    "base_cents",
    "cents_per_100km",
    "cents_per_kg",
    "daily_shipment_capacity",
    "created_at",
];
