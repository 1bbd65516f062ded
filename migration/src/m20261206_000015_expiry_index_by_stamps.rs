use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The sweeper's index of unended holds by expiry, keyed on the stamps an
/// ending sets instead of on `status`.
///
/// A confirm or release claims its holds by id, guarded by `status =
/// 'ACTIVE'` and the expiry. That guard implied the old index's predicate
/// (`WHERE status = 'ACTIVE'`), so PostgreSQL could plan the claim through
/// it, and did whenever its statistics said few holds were active, as they
/// do at the start of a flash sale (or before a new table is first
/// analysed): it then read the whole index, every active hold, for each
/// batch of claims instead of probing the primary key 250 times. Measured
/// with 150,000 active holds: 20.8 ms for a batch of 250 through the
/// index, 1.1 ms by the primary key. No claim names the stamps, so none can
/// be planned through this index; the sweeper, which does, still finds due
/// holds in the order they fall due. Every ending sets one stamp in the
/// same statement that moves the status off ACTIVE, and nothing else
/// changes either: a hold is ACTIVE exactly while both are NULL.
const OLD: &str = "ix_reservations_active_expiry";
const NEW: &str = "ix_reservations_unended_expiry";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX {NEW} ON reservations (expires_at) \
             WHERE confirmed_at IS NULL AND released_at IS NULL"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX {OLD}")).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX {OLD} ON reservations (expires_at) WHERE status = 'ACTIVE'"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX {NEW}")).await?;
        Ok(())
    }
}
