use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;

use crate::{
    auth::Role,
    graphql::{
        Coded, RoleGuard,
        connection::{MovementConnection, decode_id_cursor, encode_cursor},
        types::{Movement, MovementOrder, ReconciliationReport},
    },
    inventory::{
        PageSize,
        audit::{self, MovementFilter},
        reconciliation,
    },
};

const MOVEMENT_CURSOR: &str = "movement";

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The ledger: every change of stock, `first` (1..100) at a time,
    /// newest first unless `order` says otherwise; filtered by SKU and/or
    /// warehouse.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn movements(
        &self,
        ctx: &Context<'_>,
        sku: Option<String>,
        warehouse_code: Option<String>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "MovementOrder::NewestFirst")] order: MovementOrder,
    ) -> async_graphql::Result<MovementConnection> {
        let db = ctx.data::<DatabaseConnection>()?;
        let size = PageSize::new(first.unwrap_or(PageSize::DEFAULT)).coded()?;
        let after = after
            .map(|cursor| decode_id_cursor::<i64>(MOVEMENT_CURSOR, &cursor))
            .transpose()
            .coded()?;
        let filter = MovementFilter {
            sku,
            warehouse_code,
        };
        let page = audit::movements_page(db, &filter, order.into(), size, after)
            .await
            .coded()?;
        Ok(MovementConnection::new(
            page.items.into_iter().map(|m| {
                (
                    encode_cursor(MOVEMENT_CURSOR, &m.id.to_string()),
                    Movement::new(m),
                )
            }),
            page.has_next_page,
        ))
    }

    /// Compares every stock level with what its movements and active holds
    /// add up to.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn reconcile(&self, ctx: &Context<'_>) -> async_graphql::Result<ReconciliationReport> {
        let db = ctx.data::<DatabaseConnection>()?;
        let report = reconciliation::reconcile(db).await.coded()?;
        Ok(ReconciliationReport(report))
    }
}
