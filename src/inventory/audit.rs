//! Reading the movement ledger: who changed which stock level, how, when.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    InventoryError, Page, PageSize,
    catalogue::{product_by_sku, warehouse_by_code},
};
use crate::entities::movement;

/// Which way a page of movements runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovementOrder {
    NewestFirst,
    OldestFirst,
}

/// Which movements to list; `None` lists all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MovementFilter {
    pub sku: Option<String>,
    pub warehouse_code: Option<String>,
}

/// A page of movements in id order (the order they were written), after
/// the movement `after` when given. An unknown SKU or code is refused
/// rather than answered with an empty page, which would hide a typo.
pub async fn movements_page(
    db: &DatabaseConnection,
    filter: &MovementFilter,
    order: MovementOrder,
    size: PageSize,
    after: Option<i64>,
) -> Result<Page<movement::Model>, InventoryError> {
    use movement::Column;
    let mut query = movement::Entity::find();
    if let Some(sku) = &filter.sku {
        let product = product_by_sku(db, sku)
            .await?
            .ok_or_else(|| InventoryError::invalid("sku", format!("unknown SKU `{sku}`")))?;
        query = query.filter(Column::ProductId.eq(product.id));
    }
    if let Some(code) = &filter.warehouse_code {
        let warehouse = warehouse_by_code(db, code).await?.ok_or_else(|| {
            InventoryError::invalid("warehouseCode", format!("unknown warehouse code `{code}`"))
        })?;
        query = query.filter(Column::WarehouseId.eq(warehouse.id));
    }
    query = match (order, after) {
        (MovementOrder::NewestFirst, Some(after)) => query.filter(Column::Id.lt(after)),
        (MovementOrder::OldestFirst, Some(after)) => query.filter(Column::Id.gt(after)),
        (_, None) => query,
    };
    query = match order {
        MovementOrder::NewestFirst => query.order_by_desc(Column::Id),
        MovementOrder::OldestFirst => query.order_by_asc(Column::Id),
    };
    let rows = query.limit(size.get() + 1).all(db).await?;
    Ok(Page::from_overfetch(rows, size))
}
