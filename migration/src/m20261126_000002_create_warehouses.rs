use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Latitude and longitude stay plain doubles: they are the portable
        // truth on both backends; distances are computed geodesically in Rust.
        manager
            .create_table(
                Table::create()
                    .table("warehouses")
                    .col(pk_auto("id"))
                    .col(string_len_uniq("code", 64))
                    .col(string_len("name", 200))
                    .col(string_len_null("city", 200))
                    .col(double("latitude"))
                    .col(double("longitude"))
                    .col(boolean("active").default(true))
                    .col(integer("base_cents"))
                    .col(integer("cents_per_100km"))
                    .col(integer("cents_per_kg"))
                    .col(timestamp_with_time_zone("created_at"))
                    .check(Expr::col("latitude").between(-90.0, 90.0))
                    .check(Expr::col("longitude").between(-180.0, 180.0))
                    .check(
                        Expr::col("base_cents")
                            .gte(0)
                            .and(Expr::col("cents_per_100km").gte(0))
                            .and(Expr::col("cents_per_kg").gte(0)),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("warehouses").to_owned())
            .await
    }
}
