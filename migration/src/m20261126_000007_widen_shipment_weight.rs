use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A shipment may weigh more than 2^31 grams (100 lines of up to a million
/// units of up to a kilogram each), so its weight needs 64 bits. SQLite's
/// INTEGER already holds 64 bits whatever the declared type, so only
/// PostgreSQL's column changes.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        retype(manager, big_integer("weight_grams")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        retype(manager, integer("weight_grams")).await
    }
}

async fn retype(manager: &SchemaManager<'_>, column: ColumnDef) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    manager
        .alter_table(
            Table::alter()
                .table("reservation_shipments")
                .modify_column(column)
                .to_owned(),
        )
        .await
}
