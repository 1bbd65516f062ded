use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per (product, warehouse): the stock level. The CHECKs are the
        // last line of defence against overselling; the guarded UPDATEs in
        // `inventory::` never rely on them, but a bug can never get past them.
        manager
            .create_table(
                Table::create()
                    .table("inventory")
                    .col(pk_auto("id"))
                    .col(integer("product_id"))
                    .col(integer("warehouse_id"))
                    .col(integer("quantity").default(0))
                    .col(integer("reserved").default(0))
                    .col(integer("version").default(0))
                    .col(timestamp_with_time_zone("updated_at"))
                    .check(Expr::col("reserved").gte(0))
                    .check(Expr::col("quantity").gte(Expr::col("reserved")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inventory_product")
                            .from("inventory", "product_id")
                            .to("products", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inventory_warehouse")
                            .from("inventory", "warehouse_id")
                            .to("warehouses", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_inventory_product_warehouse")
                    .table("inventory")
                    .col("product_id")
                    .col("warehouse_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Warehouse.stockLevels pages by (warehouse_id, id).
        manager
            .create_index(
                Index::create()
                    .name("ix_inventory_warehouse")
                    .table("inventory")
                    .col("warehouse_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("inventory").to_owned())
            .await
    }
}
