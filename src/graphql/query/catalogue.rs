use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;

use crate::{
    graphql::{
        ApiError, Coded,
        connection::{ProductConnection, decode_cursor, encode_cursor},
        types::{LocationInput, Product, Warehouse},
    },
    inventory::{
        PageSize,
        catalogue::{self, WarehouseSearch},
        rules,
    },
};

const PRODUCT_CURSOR: &str = "product";

#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    /// The product with this SKU, or null.
    async fn product(
        &self,
        ctx: &Context<'_>,
        sku: String,
    ) -> async_graphql::Result<Option<Product>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let found = catalogue::product_by_sku(db, &sku).await.coded()?;
        Ok(found.map(Product::from))
    }

    /// Products in SKU order, `first` (1..100) at a time.
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ProductConnection> {
        let db = ctx.data::<DatabaseConnection>()?;
        let size = PageSize::new(first.unwrap_or(PageSize::DEFAULT)).coded()?;
        let after = after
            .map(|cursor| {
                // A product cursor holds a SKU; anything else was not issued here.
                decode_cursor(PRODUCT_CURSOR, &cursor).and_then(|sku| {
                    rules::identifier(&sku, "after").map(|()| sku).map_err(|_| {
                        ApiError::BadUserInput(format!("after: `{cursor}` is not a product cursor"))
                    })
                })
            })
            .transpose()
            .coded()?;
        let page = catalogue::products_page(db, size, after.as_deref())
            .await
            .coded()?;
        Ok(ProductConnection::new(
            page.items
                .into_iter()
                .map(|p| (encode_cursor(PRODUCT_CURSOR, &p.sku), Product::from(p))),
            page.has_next_page,
        ))
    }

    /// The warehouse with this code, or null.
    async fn warehouse(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<Warehouse>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let found = catalogue::warehouse_by_code(db, &code).await.coded()?;
        Ok(found.map(Warehouse::from))
    }

    /// All warehouses by code; with `near`, nearest first, and with
    /// `radiusKm` (> 0, needs `near`) only those within it.
    async fn warehouses(
        &self,
        ctx: &Context<'_>,
        near: Option<LocationInput>,
        radius_km: Option<f64>,
    ) -> async_graphql::Result<Vec<Warehouse>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let near = near.map(|n| n.parse("near")).transpose().coded()?;
        let search = WarehouseSearch::new(near, radius_km).coded()?;
        let hits = catalogue::find_warehouses(db, search).await.coded()?;
        Ok(hits
            .into_iter()
            .map(|h| Warehouse::from(h.warehouse))
            .collect())
    }
}
