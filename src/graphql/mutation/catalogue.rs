use async_graphql::{Context, Object};
use futures_util::FutureExt;

use crate::{
    auth::Role,
    graphql::{
        Coded, RoleGuard,
        types::{CreateProductInput, CreateWarehouseInput, Product, Warehouse},
    },
    inventory::Store,
    inventory::registration,
};

#[derive(Default)]
pub struct CatalogueMutation;

#[Object]
impl CatalogueMutation {
    /// Adds a product; a SKU already taken is a CONFLICT.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> async_graphql::Result<Product> {
        let product = input.parse().coded()?;
        let store = ctx.data::<Store>()?;
        let created = registration::register_product(store, product)
            .boxed()
            .await
            .coded()?;
        Ok(Product::from(created))
    }

    /// Adds an active warehouse; a code already taken is a CONFLICT.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn create_warehouse(
        &self,
        ctx: &Context<'_>,
        input: CreateWarehouseInput,
    ) -> async_graphql::Result<Warehouse> {
        let warehouse = input.parse().coded()?;
        let store = ctx.data::<Store>()?;
        let created = registration::register_warehouse(store, warehouse)
            .boxed()
            .await
            .coded()?;
        Ok(Warehouse::from(created))
    }

    /// Switches a warehouse off or on. An inactive warehouse is never
    /// offered, planned or reserved from; its stock and holds stay.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn set_warehouse_active(
        &self,
        ctx: &Context<'_>,
        code: String,
        active: bool,
    ) -> async_graphql::Result<Warehouse> {
        let store = ctx.data::<Store>()?;
        let warehouse = registration::set_warehouse_active(store, &code, active)
            .boxed()
            .await
            .coded()?;
        Ok(Warehouse::from(warehouse))
    }

    /// A warehouse ships at most `dailyShipments` shipments per UTC day
    /// (0..1000000); null removes the limit. A limit below what a day
    /// already uses cancels nothing: that day takes no more.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn set_warehouse_capacity(
        &self,
        ctx: &Context<'_>,
        code: String,
        daily_shipments: Option<i32>,
    ) -> async_graphql::Result<Warehouse> {
        let store = ctx.data::<Store>()?;
        let warehouse = registration::set_daily_capacity(store, &code, daily_shipments)
            .boxed()
            .await
            .coded()?;
        Ok(Warehouse::from(warehouse))
    }
}
