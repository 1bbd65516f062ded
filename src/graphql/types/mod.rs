//! GraphQL output and input types, converted from entities and domain values.

mod availability;
mod geo;
mod inbound;
mod int;
mod movement;
mod plan;
mod product;
mod reconciliation;
mod reservation;
mod stock_inputs;
mod stock_level;
mod viewer;
mod warehouse;

pub use availability::{Availability, WarehouseAvailability};
pub use geo::{GeoPoint, LocationInput};
pub use inbound::{ExpectInboundInput, InboundShipment, InboundStatus, IncomingStock};
pub use int::saturating_int;
pub use movement::{Movement, MovementOrder, MovementType};
pub use plan::{
    FulfilmentPlan, FulfilmentStrategy, OrderLineInput, PlanInput, Shipment, ShipmentLine,
    Shortage, parse_order,
};
pub use product::Product;
pub use reconciliation::{Discrepancy, ReconciliationReport};
pub use reservation::{
    InsufficientStock, Reservation, ReservationStatus, ReserveOrderInput, ReserveOrderResult,
};
pub use stock_inputs::{
    CreateProductInput, CreateWarehouseInput, SetStockInput, ShippingRateInput, StockChangeInput,
    StockTransfer, TransferStockInput,
};
pub use stock_level::StockLevel;
pub use viewer::{RoleName, Viewer};
pub use warehouse::{ShippingRate, Warehouse, WarehouseCapacity};
