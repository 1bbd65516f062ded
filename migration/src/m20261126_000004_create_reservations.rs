use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The id is the checkout's own order reference, so it is also the
        // idempotency key; `fingerprint` is a hash of the request, to tell a
        // retry from a different order reusing the id.
        manager
            .create_table(
                Table::create()
                    .table("reservations")
                    .col(pk_uuid("id"))
                    .col(string_len("status", 16))
                    .col(string_len("strategy", 16))
                    .col(double("ship_to_latitude"))
                    .col(double("ship_to_longitude"))
                    .col(integer_null("max_shipments"))
                    .col(string_len("fingerprint", 64))
                    .col(big_integer("total_cost_cents"))
                    .col(string_len_null("created_by", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("confirmed_at"))
                    .col(timestamp_with_time_zone_null("released_at"))
                    .check(Expr::col("status").is_in([
                        "ACTIVE",
                        "CONFIRMED",
                        "RELEASED",
                        "EXPIRED",
                    ]))
                    .to_owned(),
            )
            .await?;
        // The sweeper only ever looks for ACTIVE holds past their expiry; a
        // partial index keeps that scan proportional to the live holds, on
        // both backends (SQLite has had partial indexes since 3.8).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_reservations_active_expiry ON reservations (expires_at) \
                 WHERE status = 'ACTIVE'",
            )
            .await?;

        // A shipment is one warehouse's part of the plan, as it was reserved:
        // rates and distances may change later, the hold's cost does not.
        manager
            .create_table(
                Table::create()
                    .table("reservation_shipments")
                    .col(pk_auto("id"))
                    .col(uuid("reservation_id"))
                    .col(integer("warehouse_id"))
                    .col(double("distance_km"))
                    .col(integer("weight_grams"))
                    .col(big_integer("cost_cents"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reservation_shipments_reservation")
                            .from("reservation_shipments", "reservation_id")
                            .to("reservations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reservation_shipments_warehouse")
                            .from("reservation_shipments", "warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_reservation_shipments_warehouse")
                    .table("reservation_shipments")
                    .col("reservation_id")
                    .col("warehouse_id")
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("reservation_lines")
                    .col(pk_auto("id"))
                    .col(uuid("reservation_id"))
                    .col(integer("product_id"))
                    .col(integer("warehouse_id"))
                    .col(integer("quantity"))
                    .check(Expr::col("quantity").gt(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reservation_lines_reservation")
                            .from("reservation_lines", "reservation_id")
                            .to("reservations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reservation_lines_product")
                            .from("reservation_lines", "product_id")
                            .to("products", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reservation_lines_warehouse")
                            .from("reservation_lines", "warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reservation_lines_reservation")
                    .table("reservation_lines")
                    .col("reservation_id")
                    .to_owned(),
            )
            .await?;
        // Reconciliation sums active lines per stock level.
        manager
            .create_index(
                Index::create()
                    .name("ix_reservation_lines_stock_level")
                    .table("reservation_lines")
                    .col("product_id")
                    .col("warehouse_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["reservation_lines", "reservation_shipments", "reservations"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
