use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No total/reserved columns here: totals are sums over `inventory`, so
        // a reservation touches one hot row, not two.
        manager
            .create_table(
                Table::create()
                    .table("products")
                    .col(pk_auto("id"))
                    .col(string_len_uniq("sku", 64))
                    .col(string_len("name", 200))
                    .col(integer("weight_grams"))
                    .col(timestamp_with_time_zone("created_at"))
                    .check(Expr::col("weight_grams").gt(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("products").to_owned())
            .await
    }
}
