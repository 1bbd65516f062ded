//! Foreign keys that steps drop on PostgreSQL only (where each is checked
//! row by row on the hot path, see steps 13 and 14) and put back on the way
//! down. SQLite keeps them.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

/// One such key, and what `down` puts back.
pub struct HotPathKey {
    pub table: &'static str,
    pub name: &'static str,
    pub column: &'static str,
    pub to_table: &'static str,
    pub to_column: &'static str,
    /// Whether deleting the referenced row deletes this one.
    pub cascade: bool,
}

/// The `MigrationTrait` of a step that drops `$keys` (a `[HotPathKey; N]`)
/// on PostgreSQL, and puts them back on the way down.
macro_rules! drops_hot_path_keys {
    ($keys:expr) => {
        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            fn use_transaction(&self) -> Option<bool> {
                Some(true)
            }

            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::hot_path_keys::drop_on_postgres(manager, &$keys).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::hot_path_keys::restore_on_postgres(manager, &$keys).await
            }
        }
    };
}
pub(crate) use drops_hot_path_keys;

pub async fn drop_on_postgres(
    manager: &SchemaManager<'_>,
    keys: &[HotPathKey],
) -> Result<(), DbErr> {
    for key in on_postgres(manager, keys) {
        manager
            .drop_foreign_key(
                ForeignKey::drop()
                    .name(key.name)
                    .table(key.table)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

pub async fn restore_on_postgres(
    manager: &SchemaManager<'_>,
    keys: &[HotPathKey],
) -> Result<(), DbErr> {
    for key in on_postgres(manager, keys) {
        let mut restored = ForeignKey::create();
        restored
            .name(key.name)
            .from(key.table, key.column)
            .to(key.to_table, key.to_column);
        if key.cascade {
            restored.on_delete(ForeignKeyAction::Cascade);
        }
        manager.create_foreign_key(restored.to_owned()).await?;
    }
    Ok(())
}

/// `keys` on PostgreSQL; none elsewhere.
fn on_postgres<'a>(manager: &SchemaManager<'_>, keys: &'a [HotPathKey]) -> &'a [HotPathKey] {
    match manager.get_database_backend() {
        DbBackend::Postgres => keys,
        _ => &[],
    }
}
