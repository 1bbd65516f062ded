//! Pre-orders' holds on inbound shipments: each change is one guarded
//! UPDATE, so an inbound is never held past its quantity, nor held or let
//! go once it is no longer EXPECTED, under any concurrency.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::entities::inbound_shipment::{self, Column, InboundStatus};

/// Holds `units` more of inbound `id` (negative: lets go of them). False
/// when it is not EXPECTED, or has not that many free (or held); then
/// nothing changed.
pub async fn shift_held(
    connection: &impl ConnectionTrait,
    id: Uuid,
    units: i32,
) -> Result<bool, DbErr> {
    let units = i64::from(units);
    let updated = inbound_shipment::Entity::update_many()
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).add(units))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(InboundStatus::Expected))
        // 0 <= reserved + units <= quantity
        .filter(Column::Reserved.gte(-units))
        .filter(
            Expr::col(Column::Quantity)
                .sub(Expr::col(Column::Reserved))
                .gte(units),
        )
        .exec(connection)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Locks inbound `id` for this transaction if it is still EXPECTED, so that
/// it cannot be received meanwhile. False when it is not.
pub async fn keep_expected(connection: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    shift_held(connection, id, 0).await
}
