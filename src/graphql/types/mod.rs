//! GraphQL output and input types, converted from entities and domain values.

mod geo;
mod product;
mod viewer;
mod warehouse;

pub use geo::{GeoPoint, LocationInput};
pub use product::Product;
pub use viewer::{RoleName, Viewer};
pub use warehouse::{ShippingRate, Warehouse};
