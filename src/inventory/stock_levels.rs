//! Reading stock levels in batches, for the loaders behind nested fields.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait, Order, Query},
};

use super::{InventoryError, Page, PageSize};
use crate::entities::stock_level;

/// Every stock level of these products, in (product, warehouse) order.
pub async fn levels_of_products(
    db: &DatabaseConnection,
    product_ids: &[i32],
) -> Result<Vec<stock_level::Model>, InventoryError> {
    Ok(stock_level::Entity::find()
        .filter(stock_level::Column::ProductId.is_in(product_ids.iter().copied()))
        .order_by_asc(stock_level::Column::ProductId)
        .order_by_asc(stock_level::Column::WarehouseId)
        .all(db)
        .await?)
}

/// The rows of `E` whose `id` column is one of `ids`: one `IN (...)`
/// statement, in no particular order (loaders key the result by id).
pub async fn rows_by_id<E: EntityTrait>(
    db: &DatabaseConnection,
    id: E::Column,
    ids: &[i32],
) -> Result<Vec<E::Model>, InventoryError> {
    Ok(E::find()
        .filter(id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// One page of stock levels for each of several warehouses, in id order
/// after `after_id`, in a single statement: a window function numbers each
/// warehouse's rows so that the page limit applies per warehouse.
pub async fn pages_by_warehouse(
    db: &DatabaseConnection,
    warehouse_ids: &[i32],
    size: PageSize,
    after_id: Option<i32>,
) -> Result<HashMap<i32, Page<stock_level::Model>>, InventoryError> {
    let mut ranked = Query::select();
    ranked
        .columns([
            "id",
            "product_id",
            "warehouse_id",
            "quantity",
            "reserved",
            "safety_stock",
            "version",
            "updated_at",
        ])
        .expr_as(
            Expr::cust("ROW_NUMBER() OVER (PARTITION BY warehouse_id ORDER BY id)"),
            "position",
        )
        .from("inventory")
        .and_where(Expr::col("warehouse_id").is_in(warehouse_ids.iter().copied()))
        .and_where(Expr::col("id").gt(after_id.unwrap_or(0)));
    let mut page = Query::select();
    page.columns([
        "id",
        "product_id",
        "warehouse_id",
        "quantity",
        "reserved",
        "safety_stock",
        "version",
        "updated_at",
    ])
    .from_subquery(ranked, "ranked")
    // One row beyond the page says whether another page follows.
    .and_where(Expr::col("position").lte(size.get() + 1))
    .order_by("warehouse_id", Order::Asc)
    .order_by("id", Order::Asc);
    let statement = db.get_database_backend().build(&page);
    let rows = stock_level::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await?;

    let mut grouped: HashMap<i32, Vec<stock_level::Model>> = HashMap::new();
    for row in rows {
        grouped.entry(row.warehouse_id).or_default().push(row);
    }
    Ok(warehouse_ids
        .iter()
        .map(|&id| {
            let rows = grouped.remove(&id).unwrap_or_default();
            (id, Page::from_overfetch(rows, size))
        })
        .collect())
}
