use async_graphql::{Context, Object};
use futures_util::FutureExt;

use super::author_name;
use crate::{
    auth::Role,
    entities::movement::MovementType,
    graphql::{
        Coded, RoleGuard,
        types::{
            ReconciliationReport, SetStockInput, StockChangeInput, StockLevel, StockTransfer,
            TransferStockInput,
        },
    },
    inventory::Store,
    inventory::{
        reconciliation,
        stock_changes::{self, Author, Units},
    },
};

#[derive(Default)]
pub struct StockMutation;

fn author(
    ctx: &Context<'_>,
    reference_id: Option<&str>,
    idempotency_key: Option<&str>,
) -> async_graphql::Result<Author> {
    Author::new(
        author_name(ctx).map(str::to_owned),
        reference_id,
        idempotency_key,
    )
    .coded()
}

/// Stock arriving, as `movement_type`.
async fn receipt(
    ctx: &Context<'_>,
    input: StockChangeInput,
    movement_type: MovementType,
) -> async_graphql::Result<StockLevel> {
    let units = input.units().coded()?;
    let author = author(
        ctx,
        input.reference_id.as_deref(),
        input.idempotency_key.as_deref(),
    )?;
    let level = stock_changes::receive(ctx.data::<Store>()?, &units, movement_type, &author)
        .boxed()
        .await
        .coded()?;
    Ok(StockLevel::from(level))
}

#[Object]
impl StockMutation {
    /// Stock arrives from a supplier (RESTOCK).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn receive_stock(
        &self,
        ctx: &Context<'_>,
        input: StockChangeInput,
    ) -> async_graphql::Result<StockLevel> {
        receipt(ctx, input, MovementType::Restock).await
    }

    /// Stock comes back from a customer (RETURN).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn return_stock(
        &self,
        ctx: &Context<'_>,
        input: StockChangeInput,
    ) -> async_graphql::Result<StockLevel> {
        receipt(ctx, input, MovementType::Return).await
    }

    /// Damaged or lost stock leaves (DAMAGE); never below reserved: a
    /// write-off larger than what is available is a CONFLICT.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn write_off_stock(
        &self,
        ctx: &Context<'_>,
        input: StockChangeInput,
    ) -> async_graphql::Result<StockLevel> {
        let units = input.units().coded()?;
        let author = author(
            ctx,
            input.reference_id.as_deref(),
            input.idempotency_key.as_deref(),
        )?;
        let level = stock_changes::write_off(ctx.data::<Store>()?, &units, &author)
            .boxed()
            .await
            .coded()?;
        Ok(StockLevel::from(level))
    }

    /// A count: on-hand becomes the counted quantity (ADJUSTMENT). With
    /// expectedVersion, only if the level is still at that version.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn set_stock(
        &self,
        ctx: &Context<'_>,
        input: SetStockInput,
    ) -> async_graphql::Result<StockLevel> {
        let count = Units::counted(input.sku, input.warehouse_code, input.quantity).coded()?;
        let author = author(
            ctx,
            input.reference_id.as_deref(),
            input.idempotency_key.as_deref(),
        )?;
        let level = stock_changes::set_count(
            ctx.data::<Store>()?,
            &count,
            input.expected_version,
            &author,
        )
        .boxed()
        .await
        .coded()?;
        Ok(StockLevel::from(level))
    }

    /// Holds `units` of a stock level back from sale (SAFETY_STOCK in the
    /// ledger): they stay on hand, counted and writable-off, but are never
    /// offered, planned nor reserved. 0 gives them all back.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn set_safety_stock(
        &self,
        ctx: &Context<'_>,
        sku: String,
        warehouse_code: String,
        units: i32,
    ) -> async_graphql::Result<StockLevel> {
        let held = Units::held_back(sku, warehouse_code, units).coded()?;
        let author = author(ctx, None, None)?;
        let level = stock_changes::set_safety_stock(ctx.data::<Store>()?, &held, &author)
            .boxed()
            .await
            .coded()?;
        Ok(StockLevel::from(level))
    }

    /// Moves units between warehouses: TRANSFER_OUT + TRANSFER_IN in one
    /// transaction, at most what is available at the source.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn transfer_stock(
        &self,
        ctx: &Context<'_>,
        input: TransferStockInput,
    ) -> async_graphql::Result<StockTransfer> {
        let units = Units::change(input.sku, input.from_warehouse_code, input.quantity).coded()?;
        let author = author(
            ctx,
            input.reference_id.as_deref(),
            input.idempotency_key.as_deref(),
        )?;
        let (from, to) = stock_changes::transfer(
            ctx.data::<Store>()?,
            &units,
            &input.to_warehouse_code,
            &author,
        )
        .boxed()
        .await
        .coded()?;
        Ok(StockTransfer {
            from: StockLevel::from(from),
            to: StockLevel::from(to),
        })
    }

    /// Fixes what reconcile finds: quantity drift gets an ADJUSTMENT
    /// movement, reserved is recomputed from active holds; returns what was
    /// found and repaired.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn repair_stock(&self, ctx: &Context<'_>) -> async_graphql::Result<ReconciliationReport> {
        let report = reconciliation::repair(ctx.data::<Store>()?, author_name(ctx))
            .boxed()
            .await
            .coded()?;
        Ok(ReconciliationReport(report))
    }
}
