//! Reading the event log: committed movements after an id, with the stock
//! level as each left it.

use std::{collections::HashMap, sync::Arc};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, JoinType},
};

use super::EventFilter;
use crate::entities::{movement, product, stock_level, warehouse};

/// One committed change of one stock level.
#[derive(Clone, Debug, PartialEq)]
pub struct StockEvent {
    pub movement: movement::Model,
    /// The stock level right after this movement.
    pub level: stock_level::Model,
    /// What the movement names, as they were when it was read: a
    /// subscriber renders them without reading them again.
    pub product: Arc<product::Model>,
    pub warehouse: Arc<warehouse::Model>,
}

impl StockEvent {
    /// The event of `movement`, which changed the stock level `level_id` of
    /// `product` in `warehouse`.
    pub fn new(
        movement: movement::Model,
        level_id: i32,
        product: Arc<product::Model>,
        warehouse: Arc<warehouse::Model>,
    ) -> Self {
        let level = stock_level::Model {
            id: level_id,
            product_id: movement.product_id,
            warehouse_id: movement.warehouse_id,
            quantity: movement.quantity_after,
            reserved: movement.reserved_after,
            safety_stock: movement.safety_stock_after,
            version: movement.version_after,
            updated_at: movement.created_at,
        };
        StockEvent {
            movement,
            level,
            product,
            warehouse,
        }
    }
}

#[derive(FromQueryResult)]
struct LevelId {
    level_id: i32,
}

/// Column aliases of the product (`p_…`) and warehouse (`w_…`) joined onto
/// each movement.
const PRODUCT: &str = "p_";
const WAREHOUSE: &str = "w_";

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
    for column in product::Column::iter() {
        select.expr_as(
            Expr::col(("p", column)),
            format!("{PRODUCT}{}", column.as_str()),
        );
    }
    for column in warehouse::Column::iter() {
        select.expr_as(
            Expr::col(("w", column)),
            format!("{WAREHOUSE}{}", column.as_str()),
        );
    }
    select
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
    // One copy of each product and warehouse per read, however many of
    // its movements it holds.
    let mut products: HashMap<i32, Arc<product::Model>> = HashMap::new();
    let mut warehouses: HashMap<i32, Arc<warehouse::Model>> = HashMap::new();
    rows.iter()
        .map(|row| {
            let movement = movement::Model::from_query_result(row, "")?;
            let level_id = LevelId::from_query_result(row, "")?.level_id;
            let product = match products.get(&movement.product_id) {
                Some(known) => known.clone(),
                None => {
                    let read = Arc::new(product::Model::from_query_result(row, PRODUCT)?);
                    products.insert(read.id, read.clone());
                    read
                }
            };
            let warehouse = match warehouses.get(&movement.warehouse_id) {
                Some(known) => known.clone(),
                None => {
                    let read = Arc::new(warehouse::Model::from_query_result(row, WAREHOUSE)?);
                    warehouses.insert(read.id, read.clone());
                    read
                }
            };
            Ok(StockEvent::new(movement, level_id, product, warehouse))
        })
        .collect()
}
