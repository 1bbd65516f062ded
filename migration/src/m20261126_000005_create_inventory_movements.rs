use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The ledger: one row for every change of quantity or reserved, written
        // in the same transaction as the change. It is the audit trail, the
        // input of reconciliation and the log subscriptions replay from, so the
        // id must only ever grow (AUTOINCREMENT on SQLite never reuses an id).
        manager
            .create_table(
                Table::create()
                    .table("inventory_movements")
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
                    .check(Expr::col("movement_type").is_in([
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
                    ]))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inventory_movements_product")
                            .from("inventory_movements", "product_id")
                            .to("products", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_inventory_movements_warehouse")
                            .from("inventory_movements", "warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // The audit trail is read by sku, by warehouse, or both, paged by id.
        manager
            .create_index(
                Index::create()
                    .name("ix_inventory_movements_stock_level")
                    .table("inventory_movements")
                    .col("product_id")
                    .col("warehouse_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_inventory_movements_warehouse")
                    .table("inventory_movements")
                    .col("warehouse_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("inventory_movements").to_owned())
            .await
    }
}
