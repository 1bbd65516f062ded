//! SeaORM entities: one file per table, named for what a row is.

pub mod api_key;
pub mod inbound_shipment;
pub mod movement;
pub mod product;
pub mod reservation;
pub mod shipment_day;
pub mod stock_change_key;
pub mod stock_level;
pub mod warehouse;
