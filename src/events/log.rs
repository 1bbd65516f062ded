//! Reading the event log: committed movements after an id, with the stock
//! level as each left it.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, JoinType},
};

use super::EventFilter;
use crate::entities::{movement, product, stock_level, warehouse};

/// One committed change of one stock level.
#[derive(Clone, Debug, PartialEq)]
pub struct StockEvent {
    pub movement: movement::Model,
    pub sku: String,
    pub warehouse_code: String,
    /// The stock level right after this movement.
    pub level: stock_level::Model,
}

#[derive(FromQueryResult)]
struct Names {
    sku: String,
    warehouse_code: String,
    level_id: i32,
}

/// Up to `limit` events after the movement `after`, in id order, that pass
/// `filter`. One statement.
pub async fn events_after(
    db: &impl ConnectionTrait,
    after: i64,
    filter: &EventFilter,
    limit: u64,
) -> Result<Vec<StockEvent>, DbErr> {
    use movement::Column;
    let mut query = movement::Entity::find()
        .filter(Column::Id.gt(after))
        .order_by_asc(Column::Id)
        .limit(limit);
    if let Some(products) = &filter.product_ids {
        query = query.filter(Column::ProductId.is_in(products.iter().copied()));
    }
    if let Some(warehouses) = &filter.warehouse_ids {
        query = query.filter(Column::WarehouseId.is_in(warehouses.iter().copied()));
    }
    let mut select = query.into_query();
    select
        .expr_as(Expr::col(("p", product::Column::Sku)), "sku")
        .expr_as(Expr::col(("w", warehouse::Column::Code)), "warehouse_code")
        .expr_as(Expr::col(("i", stock_level::Column::Id)), "level_id")
        .join_as(
            JoinType::InnerJoin,
            product::Entity,
            "p",
            Expr::col(("p", product::Column::Id)).equals((movement::Entity, Column::ProductId)),
        )
        .join_as(
            JoinType::InnerJoin,
            warehouse::Entity,
            "w",
            Expr::col(("w", warehouse::Column::Id)).equals((movement::Entity, Column::WarehouseId)),
        )
        .join_as(
            JoinType::InnerJoin,
            stock_level::Entity,
            "i",
            Expr::col(("i", stock_level::Column::ProductId))
                .equals((movement::Entity, Column::ProductId))
                .and(
                    Expr::col(("i", stock_level::Column::WarehouseId))
                        .equals((movement::Entity, Column::WarehouseId)),
                ),
        );
    let rows = db
        .query_all_raw(db.get_database_backend().build(&select))
        .await?;
    rows.iter()
        .map(|row| {
            let movement = movement::Model::from_query_result(row, "")?;
            let names = Names::from_query_result(row, "")?;
            let level = stock_level::Model {
                id: names.level_id,
                product_id: movement.product_id,
                warehouse_id: movement.warehouse_id,
                quantity: movement.quantity_after,
                reserved: movement.reserved_after,
                version: movement.version_after,
                updated_at: movement.created_at,
            };
            Ok(StockEvent {
                movement,
                sku: names.sku,
                warehouse_code: names.warehouse_code,
                level,
            })
        })
        .collect()
}
