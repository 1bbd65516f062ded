use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The idempotency keys of admin stock changes: a retried receiveStock,
/// returnStock, writeOffStock, setStock or transferStock with the same key
/// returns the first change's result instead of changing stock again. A
/// row is written in the change's own transaction, so a change and its key
/// commit together or not at all.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("stock_change_keys")
                    .if_not_exists()
                    .col(string_len("idempotency_key", 200).primary_key())
                    .col(string_len("operation", 32))
                    // What the change was asked: the same key with another
                    // input is a conflict.
                    .col(string_len("fingerprint", 64))
                    // The stock levels as the change left them (JSON).
                    .col(text("result"))
                    .col(string_len_null("created_by", 100))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("stock_change_keys").to_owned())
            .await
    }
}
