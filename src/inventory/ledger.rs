//! Changing stock levels, and writing down every change.
//!
//! A change is one guarded UPDATE: the database applies the deltas only if
//! the level stays valid (nothing reserved that is not on hand, nothing
//! negative, nothing past [`MAX_ON_HAND`]), so concurrent writers never
//! lose an update and never oversell, on either backend, without reading
//! the level into Rust first. Every change that happens is posted to the
//! movement ledger in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use crate::entities::{
    movement::{self, MovementType},
    stock_level,
};

/// The most units one stock level may hold. Far above any real warehouse
/// bin, and low enough that no sum of two levels or of a level and a
/// delta can overflow a 32-bit column.
pub const MAX_ON_HAND: i32 = 1_000_000_000;

/// How one stock level is to change, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    pub product_id: i32,
    pub warehouse_id: i32,
    pub movement_type: MovementType,
    pub quantity_delta: i32,
    pub reserved_delta: i32,
}

impl Shift {
    /// Changes on-hand by `quantity_delta`, recorded as `movement_type`.
    pub fn on_hand(
        product_id: i32,
        warehouse_id: i32,
        quantity_delta: i32,
        movement_type: MovementType,
    ) -> Self {
        Shift {
            product_id,
            warehouse_id,
            movement_type,
            quantity_delta,
            reserved_delta: 0,
        }
    }

    /// Holds `units` more for a reservation.
    pub fn reserve(product_id: i32, warehouse_id: i32, units: i32) -> Self {
        Shift {
            product_id,
            warehouse_id,
            movement_type: MovementType::Reserve,
            quantity_delta: 0,
            reserved_delta: units,
        }
    }

    /// Lets go of `units` held units: `Release`, `Expire`, or `Order`, which
    /// also ships them out of the warehouse.
    pub fn settle(
        product_id: i32,
        warehouse_id: i32,
        units: i32,
        movement_type: MovementType,
    ) -> Self {
        let quantity_delta = if movement_type == MovementType::Order {
            -units
        } else {
            0
        };
        Shift {
            product_id,
            warehouse_id,
            movement_type,
            quantity_delta,
            reserved_delta: -units,
        }
    }
}

/// Creates the stock level of a product in a warehouse, empty, unless it
/// exists. Concurrent callers are safe: one creates it, the rest find it.
pub async fn ensure_level(
    connection: &impl ConnectionTrait,
    product_id: i32,
    warehouse_id: i32,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    use stock_level::Column;
    stock_level::Entity::insert(stock_level::ActiveModel {
        product_id: Set(product_id),
        warehouse_id: Set(warehouse_id),
        quantity: Set(0),
        reserved: Set(0),
        version: Set(0),
        updated_at: Set(at),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([Column::ProductId, Column::WarehouseId])
    .exec_without_returning(connection)
    .await?;
    Ok(())
}

/// The movements of one transaction, written together at its end.
pub struct Postings {
    reference_id: Option<String>,
    created_by: Option<String>,
    at: DateTime<Utc>,
    movements: Vec<movement::ActiveModel>,
}

impl Postings {
    pub fn new(
        reference_id: Option<String>,
        created_by: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Postings {
            reference_id,
            created_by,
            at,
            movements: Vec::new(),
        }
    }

    /// Applies `shift` to its stock level and notes the movement. `None`
    /// when the level does not exist or would become invalid; then nothing
    /// changed.
    pub async fn post(
        &mut self,
        connection: &impl ConnectionTrait,
        shift: Shift,
    ) -> Result<Option<stock_level::Model>, DbErr> {
        use stock_level::Column;
        let (dq, dr) = (shift.quantity_delta, shift.reserved_delta);
        // Each guard is written so that nothing in it can overflow: the
        // deltas are bounded by the callers, the columns by MAX_ON_HAND.
        let after = stock_level::Entity::update_many()
            .col_expr(Column::Quantity, Expr::col(Column::Quantity).add(dq))
            .col_expr(Column::Reserved, Expr::col(Column::Reserved).add(dr))
            .col_expr(Column::Version, Expr::col(Column::Version).add(1))
            .col_expr(Column::UpdatedAt, Expr::val(self.at))
            .filter(Column::ProductId.eq(shift.product_id))
            .filter(Column::WarehouseId.eq(shift.warehouse_id))
            // reserved + dr >= 0
            .filter(Column::Reserved.gte(-i64::from(dr)))
            // (quantity + dq) - (reserved + dr) >= 0
            .filter(
                Expr::col(Column::Quantity)
                    .sub(Expr::col(Column::Reserved))
                    .gte(i64::from(dr) - i64::from(dq)),
            )
            // quantity + dq <= MAX_ON_HAND
            .filter(Column::Quantity.lte(i64::from(MAX_ON_HAND) - i64::from(dq)))
            .exec_with_returning(connection)
            .await?
            .into_iter()
            .next();
        if let Some(level) = &after {
            self.movements.push(movement::ActiveModel {
                product_id: Set(shift.product_id),
                warehouse_id: Set(shift.warehouse_id),
                movement_type: Set(shift.movement_type),
                quantity_delta: Set(dq),
                reserved_delta: Set(dr),
                quantity_after: Set(level.quantity),
                reserved_after: Set(level.reserved),
                reference_id: Set(self.reference_id.clone()),
                created_by: Set(self.created_by.clone()),
                created_at: Set(self.at),
                ..Default::default()
            });
        }
        Ok(after)
    }

    /// Writes the noted movements: one statement.
    pub async fn write(self, connection: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.movements.is_empty() {
            return Ok(());
        }
        movement::Entity::insert_many(self.movements)
            .exec_without_returning(connection)
            .await?;
        Ok(())
    }
}
