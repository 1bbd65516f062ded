//! The service layer: what stockroute does with stock, independent of GraphQL.
//!
//! Functions here take a database handle and domain values, and return
//! entities or domain results with a typed [`InventoryError`].

pub mod availability;
pub mod catalogue;
mod error;
mod paging;
pub mod stock_levels;

pub use error::InventoryError;
pub use paging::{Page, PageSize};
