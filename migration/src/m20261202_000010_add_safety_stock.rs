use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::ledger_table::{FIRST_TYPES, LedgerShape, allow_types, rebuild_ledger};

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
            DbBackend::Sqlite => {
                let after = with_safety_stock();
                rebuild_ledger(manager, &shape(&FIRST_TYPES, false), &shape(&after, true)).await
            }
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
            DbBackend::Sqlite => {
                let before = with_safety_stock();
                rebuild_ledger(manager, &shape(&before, true), &shape(&FIRST_TYPES, false)).await?
            }
            _ => {
                allow_types(manager, &FIRST_TYPES).await?;
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

pub(crate) fn with_safety_stock() -> Vec<&'static str> {
    FIRST_TYPES.iter().copied().chain([SAFETY_STOCK]).collect()
}

/// The ledger before this step (`with: false`) and after it.
fn shape<'a>(types: &'a [&'static str], with: bool) -> LedgerShape<'a> {
    LedgerShape {
        types,
        safety_stock: with,
        inbound: false,
    }
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
