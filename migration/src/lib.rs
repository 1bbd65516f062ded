//! The stockroute schema as frozen history: one file per step, applied in
//! the order `Migrator::migrations()` lists them. Each step has the same
//! meaning on SQLite and PostgreSQL; where the two need different SQL the
//! step says why.

pub use sea_orm_migration::prelude::*;

mod hot_path_keys;
mod ledger_table;
mod m20261126_000001_create_products;
mod m20261126_000002_create_warehouses;
mod m20261126_000003_create_inventory;
mod m20261126_000004_create_reservations;
mod m20261126_000005_create_inventory_movements;
mod m20261126_000006_create_api_keys;
mod m20261126_000007_widen_shipment_weight;
mod m20261126_000008_add_movement_version;
mod m20261202_000009_create_stock_change_keys;
mod m20261202_000010_add_safety_stock;
mod m20261203_000011_create_inbound_shipments;
mod m20261203_000012_add_warehouse_capacity;
mod m20261205_000013_drop_hot_path_foreign_keys;
mod m20261206_000014_drop_inbound_foreign_keys;
mod m20261206_000015_expiry_index_by_stamps;
mod m20261207_000016_fold_plan_into_reservations;
mod m20261207_000017_index_pre_order_holds;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_products::Migration),
            Box::new(m20261126_000002_create_warehouses::Migration),
            Box::new(m20261126_000003_create_inventory::Migration),
            Box::new(m20261126_000004_create_reservations::Migration),
            Box::new(m20261126_000005_create_inventory_movements::Migration),
            Box::new(m20261126_000006_create_api_keys::Migration),
            Box::new(m20261126_000007_widen_shipment_weight::Migration),
            Box::new(m20261126_000008_add_movement_version::Migration),
            Box::new(m20261202_000009_create_stock_change_keys::Migration),
            Box::new(m20261202_000010_add_safety_stock::Migration),
            Box::new(m20261203_000011_create_inbound_shipments::Migration),
            Box::new(m20261203_000012_add_warehouse_capacity::Migration),
            Box::new(m20261205_000013_drop_hot_path_foreign_keys::Migration),
            Box::new(m20261206_000014_drop_inbound_foreign_keys::Migration),
            Box::new(m20261206_000015_expiry_index_by_stamps::Migration),
            Box::new(m20261207_000016_fold_plan_into_reservations::Migration),
            Box::new(m20261207_000017_index_pre_order_holds::Migration),
        ]
    }
}
