//! The books of what is promised beyond stock levels: an EXPECTED
//! inbound's `reserved` must equal what live (ACTIVE or CONFIRMED)
//! pre-orders hold of it, and a warehouse day's `used` the shipments of
//! live reservations that ship that day.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, Statement, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    entities::{inbound_shipment, shipment_day},
    inventory::capacity,
};

/// An EXPECTED inbound whose held count differs from its pre-orders'.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct InboundDrift {
    pub id: Uuid,
    pub sku: String,
    pub warehouse_code: String,
    pub quantity: i64,
    /// What the inbound says.
    pub reserved: i64,
    /// What its live pre-orders hold.
    pub held: i64,
}

/// A warehouse day whose counter differs from its live shipments.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct CapacityDrift {
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub day: String,
    /// What the counter says.
    pub recorded: i64,
    /// The shipments of ACTIVE and CONFIRMED reservations that day.
    pub derived: i64,
}

pub async fn drifting_inbound(db: &impl ConnectionTrait) -> Result<Vec<InboundDrift>, DbErr> {
    let sql = "SELECT s.id AS id, p.sku AS sku, w.code AS warehouse_code,
            CAST(s.quantity AS BIGINT) AS quantity, CAST(s.reserved AS BIGINT) AS reserved,
            CAST(COALESCE(h.units, 0) AS BIGINT) AS held
        FROM inbound_shipments s
        JOIN products p ON p.id = s.product_id
        JOIN warehouses w ON w.id = s.warehouse_id
        LEFT JOIN (SELECT l.inbound_id, SUM(l.quantity) AS units
                   FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
                   WHERE r.status IN ('ACTIVE', 'CONFIRMED') AND l.inbound_id IS NOT NULL
                   GROUP BY l.inbound_id) h ON h.inbound_id = s.id
        WHERE s.status = 'EXPECTED' AND s.reserved <> COALESCE(h.units, 0)
        ORDER BY p.sku, w.code, s.expected_at";
    InboundDrift::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .all(db)
        .await
}

pub async fn drifting_capacity(db: &impl ConnectionTrait) -> Result<Vec<CapacityDrift>, DbErr> {
    let day = capacity::ship_day_sql(db.get_database_backend());
    let sql = format!(
        "WITH live AS (
            SELECT s.warehouse_id AS warehouse_id, {day} AS day, COUNT(*) AS n
            FROM reservation_shipments s JOIN reservations r ON r.id = s.reservation_id
            WHERE r.status IN ('ACTIVE', 'CONFIRMED') GROUP BY s.warehouse_id, {day}),
         days AS (SELECT warehouse_id, day FROM shipment_days
                  UNION SELECT warehouse_id, day FROM live)
         SELECT CAST(k.warehouse_id AS BIGINT) AS warehouse_id, w.code AS warehouse_code,
                k.day AS day, CAST(COALESCE(d.used, 0) AS BIGINT) AS recorded,
                CAST(COALESCE(l.n, 0) AS BIGINT) AS derived
         FROM days k
         JOIN warehouses w ON w.id = k.warehouse_id
         LEFT JOIN shipment_days d ON d.warehouse_id = k.warehouse_id AND d.day = k.day
         LEFT JOIN live l ON l.warehouse_id = k.warehouse_id AND l.day = k.day
         WHERE COALESCE(d.used, 0) <> COALESCE(l.n, 0)
         ORDER BY w.code, k.day"
    );
    CapacityDrift::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .all(db)
        .await
}

/// Sets each drifting inbound's `reserved` to what its pre-orders hold,
/// unless they hold more than it brings (then it is left for a person).
pub async fn repair_inbound(
    db: &impl ConnectionTrait,
    drifts: &[InboundDrift],
) -> Result<(), DbErr> {
    for drift in drifts {
        if drift.held > drift.quantity {
            tracing::warn!(
                inbound = %drift.id,
                quantity = drift.quantity,
                held = drift.held,
                "pre-orders hold more than an inbound brings; left for a person to resolve"
            );
            continue;
        }
        inbound_shipment::Entity::update_many()
            .col_expr(inbound_shipment::Column::Reserved, Expr::val(drift.held))
            .filter(inbound_shipment::Column::Id.eq(drift.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Sets each drifting day's counter to its live shipments.
pub async fn repair_capacity(
    db: &impl ConnectionTrait,
    drifts: &[CapacityDrift],
) -> Result<(), DbErr> {
    use shipment_day::Column;
    for drift in drifts {
        let warehouse_id = i32::try_from(drift.warehouse_id)
            .map_err(|_| DbErr::Custom("a warehouse id overflows".into()))?;
        shipment_day::Entity::insert(shipment_day::ActiveModel {
            warehouse_id: Set(warehouse_id),
            day: Set(drift.day.clone()),
            used: Set(0),
        })
        .on_conflict_do_nothing_on([Column::WarehouseId, Column::Day])
        .exec_without_returning(db)
        .await?;
        shipment_day::Entity::update_many()
            .col_expr(Column::Used, Expr::val(drift.derived))
            .filter(Column::WarehouseId.eq(warehouse_id))
            .filter(Column::Day.eq(drift.day.as_str()))
            .exec(db)
            .await?;
    }
    Ok(())
}
