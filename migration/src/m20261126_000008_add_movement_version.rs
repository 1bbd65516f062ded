use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A movement records the stock level's version after it, so that an event
/// replayed from the ledger shows the level exactly as that change left it.
/// Movements written before this step read 0.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("inventory_movements")
                    .add_column(integer("version_after").default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("inventory_movements")
                    .drop_column("version_after")
                    .to_owned(),
            )
            .await
    }
}
