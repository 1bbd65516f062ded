use sea_orm_migration::prelude::*;

use crate::hot_path_keys::{HotPathKey, drops_hot_path_keys};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The foreign keys that every hold checks row by row, on PostgreSQL only.
///
/// A hold writes a line, a shipment and a movement, and PostgreSQL checks
/// each of their seven references with a query of its own (`SELECT 1 …
/// FOR KEY SHARE` through SPI) on the same few hot rows. In the flash-sale
/// benchmark (1,000 clients, one SKU; `pg_stat`-style timings from the
/// server log) those checks took 27 of the 44 µs that the three inserts
/// cost per hold, and dropping them took the run from 8,250 to 12,240
/// holds/s (README, "Flash sale"). What they guard is true by
/// construction: the three tables are written only in the transaction that
/// inserts the reservation they belong to and takes, with a guarded UPDATE
/// holding its row lock, the stock level they name (which keeps its own
/// keys onto product and warehouse); nothing deletes a reservation, a
/// stock level, a product or a warehouse. The test suite checks after its
/// races that no row names a missing reservation or stock level, and the
/// inbound references (NULL on a hold, so free) stay.
///
/// SQLite keeps them: it checks a key with an in-process index probe,
/// dropping one means rebuilding the table, and its figures already meet
/// the goal.
const DROPPED: [HotPathKey; 7] = [
    HotPathKey {
        table: "reservation_lines",
        name: "fk_reservation_lines_reservation",
        column: "reservation_id",
        to_table: "reservations",
        to_column: "id",
        cascade: true,
    },
    HotPathKey {
        table: "reservation_lines",
        name: "fk_reservation_lines_product",
        column: "product_id",
        to_table: "products",
        to_column: "id",
        cascade: false,
    },
    HotPathKey {
        table: "reservation_lines",
        name: "fk_reservation_lines_warehouse",
        column: "warehouse_id",
        to_table: "warehouses",
        to_column: "id",
        cascade: false,
    },
    HotPathKey {
        table: "reservation_shipments",
        name: "fk_reservation_shipments_reservation",
        column: "reservation_id",
        to_table: "reservations",
        to_column: "id",
        cascade: true,
    },
    HotPathKey {
        table: "reservation_shipments",
        name: "fk_reservation_shipments_warehouse",
        column: "warehouse_id",
        to_table: "warehouses",
        to_column: "id",
        cascade: false,
    },
    HotPathKey {
        table: "inventory_movements",
        name: "fk_inventory_movements_product",
        column: "product_id",
        to_table: "products",
        to_column: "id",
        cascade: false,
    },
    HotPathKey {
        table: "inventory_movements",
        name: "fk_inventory_movements_warehouse",
        column: "warehouse_id",
        to_table: "warehouses",
        to_column: "id",
        cascade: false,
    },
];

drops_hot_path_keys!(DROPPED);
