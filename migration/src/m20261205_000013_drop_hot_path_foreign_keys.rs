use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

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
const DROPPED: [(&str, &str, ForeignKeyRestore); 7] = [
    (
        "reservation_lines",
        "fk_reservation_lines_reservation",
        ("reservation_id", "reservations", "id", true),
    ),
    (
        "reservation_lines",
        "fk_reservation_lines_product",
        ("product_id", "products", "id", false),
    ),
    (
        "reservation_lines",
        "fk_reservation_lines_warehouse",
        ("warehouse_id", "warehouses", "id", false),
    ),
    (
        "reservation_shipments",
        "fk_reservation_shipments_reservation",
        ("reservation_id", "reservations", "id", true),
    ),
    (
        "reservation_shipments",
        "fk_reservation_shipments_warehouse",
        ("warehouse_id", "warehouses", "id", false),
    ),
    (
        "inventory_movements",
        "fk_inventory_movements_product",
        ("product_id", "products", "id", false),
    ),
    (
        "inventory_movements",
        "fk_inventory_movements_warehouse",
        ("warehouse_id", "warehouses", "id", false),
    ),
];

/// What `down` puts back: column, referenced table and column, and whether
/// deleting the referenced row deletes this one.
type ForeignKeyRestore = (&'static str, &'static str, &'static str, bool);

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, name, _) in DROPPED {
            manager
                .drop_foreign_key(ForeignKey::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, name, (column, to_table, to_column, cascade)) in DROPPED {
            let mut key = ForeignKey::create();
            key.name(name).from(table, column).to(to_table, to_column);
            if cascade {
                key.on_delete(ForeignKeyAction::Cascade);
            }
            manager.create_foreign_key(key.to_owned()).await?;
        }
        Ok(())
    }
}
