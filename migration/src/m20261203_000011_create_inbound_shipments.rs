use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DbBackend, Statement},
};

use crate::{
    ledger_table::{LedgerShape, allow_types, rebuild_ledger},
    m20261202_000010_add_safety_stock::with_safety_stock,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Inbound stock: units on their way to a warehouse with an expected
/// arrival, which storefronts may be promised and checkouts pre-order
/// before they are on hand. The ledger gets the types that record an
/// inbound being expected and cancelled (its receipt is a RESTOCK), and the
/// column naming the inbound; a reservation line may hold units of an
/// inbound instead of the stock level, and a shipment waiting for one says
/// when it is ready. Nothing existing changes meaning: old movements and
/// lines name no inbound, old shipments ship from stock on hand.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction, as step 10, for the SQLite ledger rebuild.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("inbound_shipments")
                    // The caller's own reference, as a reservation's id is:
                    // a retried expectInbound finds the first one.
                    .col(pk_uuid("id"))
                    .col(integer("product_id"))
                    .col(integer("warehouse_id"))
                    .col(integer("quantity").check(Expr::col("quantity").between(1, MAX_UNITS)))
                    // Held by pre-orders: never more than is coming.
                    .col(
                        integer("reserved").default(0).check(
                            Expr::col("reserved")
                                .gte(0)
                                .and(Expr::col("reserved").lte(Expr::col("quantity"))),
                        ),
                    )
                    .col(timestamp_with_time_zone("expected_at"))
                    .col(string_len("status", 16).check(Expr::col("status").is_in([
                        "EXPECTED",
                        "RECEIVED",
                        "CANCELLED",
                    ])))
                    .col(string_len_null("reference_id", 200))
                    .col(string_len_null("created_by", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("received_at"))
                    .col(timestamp_with_time_zone_null("cancelled_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inbound_shipments_product")
                            .from("inbound_shipments", "product_id")
                            .to("products", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inbound_shipments_warehouse")
                            .from("inbound_shipments", "warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // Availability asks per SKU for what is expected, soonest first;
        // a warehouse's page asks per warehouse and status.
        for (name, columns) in [
            (
                "ix_inbound_shipments_product",
                ["product_id", "status", "expected_at"],
            ),
            (
                "ix_inbound_shipments_warehouse",
                ["warehouse_id", "status", "expected_at"],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table("inbound_shipments");
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        pre_orders(manager, true).await?;
        let before = with_safety_stock();
        let after = with_inbound();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                rebuild_ledger(manager, &shape(&before, false), &shape(&after, true)).await
            }
            _ => {
                let db = manager.get_connection();
                // Widening a varchar rewrites nothing on PostgreSQL.
                db.execute_unprepared(
                    "ALTER TABLE inventory_movements
                     ALTER COLUMN movement_type TYPE varchar(32),
                     ADD COLUMN inbound_id uuid NULL
                         CONSTRAINT fk_inventory_movements_inbound
                         REFERENCES inbound_shipments (id)",
                )
                .await?;
                allow_types(manager, &after).await
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // What was expected or cancelled goes with the inbounds; those rows
        // moved no units. A receipt stays, as the RESTOCK it was. (Written
        // before anything is read: on SQLite a transaction that reads first
        // and writes later fails at once if another writer came between.)
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("inventory_movements")
                    .and_where(Expr::col("movement_type").is_in(NEW_TYPES))
                    .to_owned(),
            )
            .await?;
        // A pre-order still holding inbound units would, without its
        // inbound, hold units no stock level counts: refuse rather than
        // break the books.
        let held = manager
            .get_connection()
            .query_one_raw(Statement::from_string(
                manager.get_database_backend(),
                "SELECT COUNT(*) AS n FROM reservation_lines l
                 JOIN reservations r ON r.id = l.reservation_id
                 WHERE l.inbound_id IS NOT NULL AND r.status IN ('ACTIVE', 'CONFIRMED')",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if held > 0 {
            return Err(DbErr::Migration(format!(
                "{held} reservation lines hold inbound stock (pre-orders); receive, release \
                 or let them expire before rolling back inbound stock"
            )));
        }
        pre_orders(manager, false).await?;
        let before = with_safety_stock();
        let after = with_inbound();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                rebuild_ledger(manager, &shape(&after, true), &shape(&before, false)).await?
            }
            _ => {
                allow_types(manager, &before).await?;
                manager
                    .get_connection()
                    .execute_unprepared(
                        "ALTER TABLE inventory_movements
                         DROP COLUMN inbound_id,
                         ALTER COLUMN movement_type TYPE varchar(16)",
                    )
                    .await?;
            }
        }
        manager
            .drop_table(Table::drop().table("inbound_shipments").to_owned())
            .await
    }
}

/// Adds (or drops) what pre-orders need: the inbound a reservation line
/// holds units of, and when a shipment waiting for inbound stock is ready.
async fn pre_orders(manager: &SchemaManager<'_>, add: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if add {
        match manager.get_database_backend() {
            // Without a reference on SQLite: it cannot drop a column that
            // has one, so the step could not be rolled back.
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    "ALTER TABLE reservation_lines ADD COLUMN inbound_id uuid_text NULL",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "ALTER TABLE reservation_lines ADD COLUMN inbound_id uuid NULL \
                     CONSTRAINT fk_reservation_lines_inbound REFERENCES inbound_shipments (id)",
                )
                .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table("reservation_shipments")
                    .add_column(timestamp_with_time_zone_null("ready_at"))
                    .to_owned(),
            )
            .await
    } else {
        for (table, column) in [
            ("reservation_shipments", "ready_at"),
            ("reservation_lines", "inbound_id"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The most units one inbound shipment may bring.
const MAX_UNITS: i32 = 1_000_000;

const NEW_TYPES: [&str; 2] = ["INBOUND_EXPECTED", "INBOUND_CANCELLED"];

fn with_inbound() -> Vec<&'static str> {
    with_safety_stock().into_iter().chain(NEW_TYPES).collect()
}

/// The ledger before this step (`with: false`) and after it.
fn shape<'a>(types: &'a [&'static str], with: bool) -> LedgerShape<'a> {
    LedgerShape {
        types,
        safety_stock: true,
        inbound: with,
    }
}
