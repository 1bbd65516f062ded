//! The ledger table's shape as steps change it, and how a step moves it
//! from one shape to the next on each backend.
//!
//! SQLite cannot change a CHECK in place, so there a step copies the ledger
//! into a table of the new shape; PostgreSQL swaps the constraint. Steps
//! share this so that every rebuild keeps the same ids, indexes and
//! AUTOINCREMENT high-water mark.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DbBackend, Statement},
};

/// What the ledger holds after some step: its movement types and which
/// optional column groups it has.
pub struct LedgerShape<'a> {
    pub types: &'a [&'a str],
    /// `safety_stock_delta` and `safety_stock_after` (step 10).
    pub safety_stock: bool,
    /// `inbound_id`, the inbound shipment a movement is about (step 11).
    pub inbound: bool,
}

/// The movement types of the first ledger.
pub const FIRST_TYPES: [&str; 10] = [
    "RESTOCK",
    "RETURN",
    "DAMAGE",
    "ADJUSTMENT",
    "TRANSFER_OUT",
    "TRANSFER_IN",
    "RESERVE",
    "RELEASE",
    "EXPIRE",
    "ORDER",
];

/// The columns every shape has.
const BASE_COLUMNS: &str = "id, product_id, warehouse_id, movement_type, quantity_delta, \
    reserved_delta, quantity_after, reserved_after, reference_id, created_by, created_at, \
    version_after";

/// PostgreSQL: replaces the CHECK on movement types (named by PostgreSQL's
/// rule for a one-column CHECK) with one allowing `types`.
pub async fn allow_types(manager: &SchemaManager<'_>, types: &[&str]) -> Result<(), DbErr> {
    let listed = types
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "ALTER TABLE inventory_movements
             DROP CONSTRAINT inventory_movements_movement_type_check,
             ADD CONSTRAINT inventory_movements_movement_type_check
                 CHECK (movement_type IN ({listed}))"
        ))
        .await
        .map(|_| ())
}

/// SQLite: copies the ledger, in shape `from`, into a table of shape `to`
/// under the same ids (the columns both have), drops the old one and
/// renames the new one. The AUTOINCREMENT high-water mark is carried over,
/// so that no id is ever handed out twice.
pub async fn rebuild_ledger(
    manager: &SchemaManager<'_>,
    from: &LedgerShape<'_>,
    to: &LedgerShape<'_>,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let mut table = Table::create();
    table
        .table("inventory_movements_rebuilt")
        .col(big_pk_auto("id"))
        .col(integer("product_id"))
        .col(integer("warehouse_id"))
        // The names of step 11's types need more than 16 characters (SQLite
        // keeps the declared width only as documentation).
        .col(string_len(
            "movement_type",
            if to.inbound { 32 } else { 16 },
        ))
        .col(integer("quantity_delta"))
        .col(integer("reserved_delta"))
        .col(integer("quantity_after"))
        .col(integer("reserved_after"))
        .col(string_len_null("reference_id", 200))
        .col(string_len_null("created_by", 200))
        .col(timestamp_with_time_zone("created_at"))
        .col(integer("version_after").default(0));
    if to.safety_stock {
        table
            .col(integer("safety_stock_delta").default(0))
            .col(integer("safety_stock_after").default(0));
    }
    if to.inbound {
        table.col(uuid_null("inbound_id")).foreign_key(
            ForeignKey::create()
                .name("fk_inventory_movements_inbound")
                .from("inventory_movements_rebuilt", "inbound_id")
                .to("inbound_shipments", "id"),
        );
    }
    table
        .check(Expr::col("movement_type").is_in(to.types.iter().copied()))
        .foreign_key(
            ForeignKey::create()
                .name("fk_inventory_movements_product")
                .from("inventory_movements_rebuilt", "product_id")
                .to("products", "id"),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_inventory_movements_warehouse")
                .from("inventory_movements_rebuilt", "warehouse_id")
                .to("warehouses", "id"),
        );
    manager.create_table(table).await?;
    let mut kept = BASE_COLUMNS.to_owned();
    if from.safety_stock && to.safety_stock {
        kept.push_str(", safety_stock_delta, safety_stock_after");
    }
    if from.inbound && to.inbound {
        kept.push_str(", inbound_id");
    }
    db.execute_unprepared(&format!(
        "INSERT INTO inventory_movements_rebuilt ({kept}) SELECT {kept} FROM inventory_movements"
    ))
    .await?;
    let high_water: Option<i64> = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT seq FROM sqlite_sequence WHERE name = 'inventory_movements'",
        ))
        .await?
        .map(|row| row.try_get("", "seq"))
        .transpose()?;
    db.execute_unprepared("DROP TABLE inventory_movements")
        .await?;
    db.execute_unprepared("ALTER TABLE inventory_movements_rebuilt RENAME TO inventory_movements")
        .await?;
    if let Some(seq) = high_water {
        db.execute_unprepared(&format!(
            "UPDATE sqlite_sequence SET seq = MAX(seq, {seq}) WHERE name = 'inventory_movements'"
        ))
        .await?;
    }
    // The indexes went with the old table: the same ones again.
    for (name, columns) in [
        (
            "ix_inventory_movements_stock_level",
            &["product_id", "warehouse_id", "id"][..],
        ),
        (
            "ix_inventory_movements_warehouse",
            &["warehouse_id", "id"][..],
        ),
    ] {
        let mut index = Index::create();
        index.name(name).table("inventory_movements");
        for column in columns {
            index.col(*column);
        }
        manager.create_index(index).await?;
    }
    Ok(())
}
