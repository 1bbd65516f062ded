use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Only a hash of each key is stored; `prefix` (the first characters of
        // the key) lets an operator tell keys apart without seeing them.
        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .col(pk_auto("id"))
                    .col(string_len_uniq("name", 100))
                    .col(string_len("role", 16))
                    .col(string_len("prefix", 16))
                    .col(string_len_uniq("key_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .check(Expr::col("role").is_in(["checkout", "admin"]))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("api_keys").to_owned())
            .await
    }
}
