use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DbBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Safety stock: units of a stock level kept on hand but never offered nor
/// reserved. Movements carry its change and its value after, like quantity
/// and reserved, and a new type, SAFETY_STOCK, records each setting.
/// Existing levels and movements read 0: nothing was held back before.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: the ledger is rebuilt there, and a
    /// step half done would leave it without its table. (Outside one, each
    /// statement may also take another pooled connection, which can still
    /// see the schema as it was.)
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("inventory")
                    .add_column(
                        integer("safety_stock")
                            .default(0)
                            .check(Expr::col("safety_stock").gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        match manager.get_database_backend() {
            DbBackend::Sqlite => rebuild_ledger(manager, true).await,
            _ => {
                for column in ["safety_stock_delta", "safety_stock_after"] {
                    add_or_drop(manager, column, true).await?;
                }
                allow_types(manager, &with_safety_stock()).await
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // What safety stock was set goes with it; those rows moved no units.
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("inventory_movements")
                    .and_where(Expr::col("movement_type").eq(SAFETY_STOCK))
                    .to_owned(),
            )
            .await?;
        match manager.get_database_backend() {
            DbBackend::Sqlite => rebuild_ledger(manager, false).await?,
            _ => {
                allow_types(manager, &BEFORE).await?;
                for column in ["safety_stock_after", "safety_stock_delta"] {
                    add_or_drop(manager, column, false).await?;
                }
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table("inventory")
                    .drop_column("safety_stock")
                    .to_owned(),
            )
            .await
    }
}

const SAFETY_STOCK: &str = "SAFETY_STOCK";

/// The movement types before this step.
const BEFORE: [&str; 10] = [
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

fn with_safety_stock() -> Vec<&'static str> {
    BEFORE.iter().copied().chain([SAFETY_STOCK]).collect()
}

async fn add_or_drop(
    manager: &SchemaManager<'_>,
    column: &'static str,
    add: bool,
) -> Result<(), DbErr> {
    let mut alter = Table::alter();
    alter.table("inventory_movements");
    if add {
        alter.add_column(integer(column).default(0));
    } else {
        alter.drop_column(column);
    }
    manager.alter_table(alter).await
}

/// PostgreSQL: replaces the CHECK on movement types (named by PostgreSQL's
/// rule for a one-column CHECK) with one allowing `types`.
async fn allow_types(manager: &SchemaManager<'_>, types: &[&str]) -> Result<(), DbErr> {
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

/// SQLite cannot change a CHECK in place, so the ledger is copied into a
/// table of the new shape (`safety`: with the safety stock columns and
/// type) under the same ids, the old one dropped and the new one renamed.
/// The AUTOINCREMENT high-water mark is carried over, so that no id is
/// ever handed out twice.
async fn rebuild_ledger(manager: &SchemaManager<'_>, safety: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let types = if safety {
        with_safety_stock()
    } else {
        BEFORE.to_vec()
    };
    let mut table = Table::create();
    table
        .table("inventory_movements_rebuilt")
        .col(big_pk_auto("id"))
        .col(integer("product_id"))
        .col(integer("warehouse_id"))
        .col(string_len("movement_type", 16))
        .col(integer("quantity_delta"))
        .col(integer("reserved_delta"))
        .col(integer("quantity_after"))
        .col(integer("reserved_after"))
        .col(string_len_null("reference_id", 200))
        .col(string_len_null("created_by", 200))
        .col(timestamp_with_time_zone("created_at"))
        .col(integer("version_after").default(0));
    if safety {
        table
            .col(integer("safety_stock_delta").default(0))
            .col(integer("safety_stock_after").default(0));
    }
    table
        .check(Expr::col("movement_type").is_in(types))
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
    let kept = "id, product_id, warehouse_id, movement_type, quantity_delta, reserved_delta, \
                quantity_after, reserved_after, reference_id, created_by, created_at, version_after";
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
