use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DbBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Daily shipment capacity: a warehouse may ship at most
/// `daily_shipment_capacity` shipments per UTC day (NULL: no limit), and
/// `shipment_days` counts, per warehouse and day, the shipments of ACTIVE
/// and CONFIRMED reservations that ship then: the counter that a guarded
/// UPDATE keeps within the limit, as stock levels keep holds within
/// stock. Existing holds are counted in, so nothing already promised is
/// forgotten; existing warehouses have no limit.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("warehouses")
                    .add_column(
                        integer_null("daily_shipment_capacity")
                            .check(Expr::col("daily_shipment_capacity").gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("shipment_days")
                    .col(integer("warehouse_id"))
                    // The UTC day, `YYYY-MM-DD`.
                    .col(string_len("day", 10))
                    .col(integer("used").default(0).check(Expr::col("used").gte(0)))
                    .primary_key(Index::create().col("warehouse_id").col("day"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_shipment_days_warehouse")
                            .from("shipment_days", "warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // A shipment ships on its readyAt day, else on the day it was held.
        let day = match manager.get_database_backend() {
            DbBackend::Sqlite => "substr(COALESCE(s.ready_at, r.created_at), 1, 10)",
            _ => "to_char(COALESCE(s.ready_at, r.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        };
        manager
            .get_connection()
            .execute_raw(Statement::from_string(
                manager.get_database_backend(),
                format!(
                    "INSERT INTO shipment_days (warehouse_id, day, used)
                     SELECT s.warehouse_id, {day}, COUNT(*)
                     FROM reservation_shipments s JOIN reservations r ON r.id = s.reservation_id
                     WHERE r.status IN ('ACTIVE', 'CONFIRMED')
                     GROUP BY s.warehouse_id, {day}"
                ),
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("shipment_days").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("warehouses")
                    .drop_column("daily_shipment_capacity")
                    .to_owned(),
            )
            .await
    }
}
