//! GraphQL output and input types, converted from entities and domain values.

mod availability;
mod geo;
mod int;
mod plan;
mod product;
mod reservation;
mod stock_level;
mod viewer;
mod warehouse;

pub use availability::{Availability, WarehouseAvailability};
pub use geo::{GeoPoint, LocationInput};
pub use int::saturating_int;
pub use plan::{
    FulfilmentPlan, FulfilmentStrategy, OrderLineInput, PlanInput, Shipment, ShipmentLine,
    Shortage, parse_order,
};
pub use product::Product;
pub use reservation::{
    InsufficientStock, Reservation, ReservationStatus, ReserveOrderInput, ReserveOrderResult,
};
pub use stock_level::StockLevel;
pub use viewer::{RoleName, Viewer};
pub use warehouse::{ShippingRate, Warehouse};
