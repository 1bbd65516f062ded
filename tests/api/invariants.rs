//! The books must balance after any sequence of requests.

use crate::helpers::TestApp;

/// Stock levels whose on-hand differs from the sum of their movements.
pub const QUANTITY_DRIFT: &str = "SELECT COUNT(*) FROM inventory i WHERE i.quantity <> COALESCE(
    (SELECT SUM(m.quantity_delta) FROM inventory_movements m
     WHERE m.product_id = i.product_id AND m.warehouse_id = i.warehouse_id), 0)";
/// Stock levels whose reserved count differs from the sum of their movements.
pub const RESERVED_DRIFT: &str = "SELECT COUNT(*) FROM inventory i WHERE i.reserved <> COALESCE(
    (SELECT SUM(m.reserved_delta) FROM inventory_movements m
     WHERE m.product_id = i.product_id AND m.warehouse_id = i.warehouse_id), 0)";
/// Stock levels whose safety stock differs from the sum of their movements.
pub const SAFETY_STOCK_DRIFT: &str =
    "SELECT COUNT(*) FROM inventory i WHERE i.safety_stock <> COALESCE(
    (SELECT SUM(m.safety_stock_delta) FROM inventory_movements m
     WHERE m.product_id = i.product_id AND m.warehouse_id = i.warehouse_id), 0)";
/// Stock levels whose reserved count differs from what their ACTIVE holds
/// take of them (not of inbound shipments).
pub const HELD_DRIFT: &str = "SELECT COUNT(*) FROM inventory i WHERE i.reserved <> COALESCE(
    (SELECT SUM(l.quantity) FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
     WHERE r.status = 'ACTIVE' AND l.inbound_id IS NULL
       AND l.product_id = i.product_id AND l.warehouse_id = i.warehouse_id), 0)";
/// Expected inbound shipments whose reserved count differs from what their
/// live (ACTIVE or CONFIRMED) pre-orders hold of them.
pub const INBOUND_HELD_DRIFT: &str =
    "SELECT COUNT(*) FROM inbound_shipments s WHERE s.reserved <> COALESCE(
    (SELECT SUM(l.quantity) FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
     WHERE r.status IN ('ACTIVE', 'CONFIRMED') AND l.inbound_id = s.id), 0)
     AND s.status = 'EXPECTED'";
/// Lines, shipments and movements naming a reservation, stock level or
/// inbound shipment that does not exist (on PostgreSQL no foreign key
/// refuses them: migrations 13 and 14).
pub const ORPHANS: &str = "SELECT
    (SELECT COUNT(*) FROM reservation_lines l WHERE NOT EXISTS
        (SELECT 1 FROM reservations r WHERE r.id = l.reservation_id)
      OR NOT EXISTS (SELECT 1 FROM inventory i
        WHERE i.product_id = l.product_id AND i.warehouse_id = l.warehouse_id)
      OR (l.inbound_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM inbound_shipments s WHERE s.id = l.inbound_id)))
  + (SELECT COUNT(*) FROM reservation_shipments s WHERE NOT EXISTS
        (SELECT 1 FROM reservations r WHERE r.id = s.reservation_id)
      OR NOT EXISTS (SELECT 1 FROM warehouses w WHERE w.id = s.warehouse_id))
  + (SELECT COUNT(*) FROM inventory_movements m WHERE NOT EXISTS (SELECT 1 FROM inventory i
        WHERE i.product_id = m.product_id AND i.warehouse_id = m.warehouse_id)
      OR (m.inbound_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM inbound_shipments s WHERE s.id = m.inbound_id)))";
/// Stock levels that hold more than they have, or less than nothing.
pub const OVERSOLD: &str =
    "SELECT COUNT(*) FROM inventory WHERE reserved < 0 OR quantity < reserved";

/// on-hand >= reserved >= 0; reserved = the ACTIVE holds' lines; on-hand,
/// reserved and safety stock = the sums of their movements' deltas; every
/// line, shipment and movement belongs to what it names.
pub async fn assert_books_balance(app: &TestApp) {
    assert_eq!(
        app.scalar(ORPHANS).await,
        0,
        "lines, shipments or movements name a missing reservation, stock level or inbound shipment"
    );
    for (what, sql) in [
        ("oversold or negative", OVERSOLD),
        ("reserved differs from the active holds", HELD_DRIFT),
        (
            "inbound reserved differs from its pre-orders",
            INBOUND_HELD_DRIFT,
        ),
        ("on-hand differs from the movements", QUANTITY_DRIFT),
        ("reserved differs from the movements", RESERVED_DRIFT),
        (
            "safety stock differs from the movements",
            SAFETY_STOCK_DRIFT,
        ),
    ] {
        assert_eq!(app.scalar(sql).await, 0, "stock levels {what}");
    }
    assert_eq!(
        app.scalar(&capacity_drift(app.db.get_database_backend()))
            .await,
        0,
        "warehouse days whose shipments used differ from their live holds' shipments"
    );
}

/// (warehouse, day) counters that differ from the shipments of ACTIVE and
/// CONFIRMED reservations shipping then, either way round.
fn capacity_drift(backend: sea_orm::DbBackend) -> String {
    let day = match backend {
        sea_orm::DbBackend::Sqlite => "substr(COALESCE(s.ready_at, r.created_at), 1, 10)",
        _ => "to_char(COALESCE(s.ready_at, r.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    };
    let live = format!(
        "SELECT s.warehouse_id, {day} AS day, COUNT(*) AS n FROM reservation_shipments s
         JOIN reservations r ON r.id = s.reservation_id
         WHERE r.status IN ('ACTIVE', 'CONFIRMED') GROUP BY s.warehouse_id, {day}"
    );
    format!(
        "SELECT (SELECT COUNT(*) FROM shipment_days d WHERE d.used <> COALESCE(
             (SELECT n FROM ({live}) l WHERE l.warehouse_id = d.warehouse_id AND l.day = d.day), 0))
         + (SELECT COUNT(*) FROM ({live}) l WHERE NOT EXISTS (
             SELECT 1 FROM shipment_days d WHERE d.warehouse_id = l.warehouse_id AND d.day = l.day))"
    )
}

/// Everything a write would leave behind: catalogue rows, stock levels,
/// holds, movements, and the stock counts. Equal before and after means
/// nothing was written.
pub async fn footprint(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM products",
        "SELECT COUNT(*) FROM warehouses",
        "SELECT COUNT(*) FROM inventory",
        "SELECT COUNT(*) FROM reservations",
        "SELECT COUNT(*) FROM reservation_lines",
        "SELECT COUNT(*) FROM inventory_movements",
        "SELECT COUNT(*) FROM stock_change_keys",
        "SELECT COUNT(*) FROM inbound_shipments",
        "SELECT COALESCE(SUM(used), 0) FROM shipment_days",
        "SELECT COALESCE(SUM(daily_shipment_capacity), -1) FROM warehouses",
        "SELECT COALESCE(SUM(quantity), 0) FROM inventory",
        "SELECT COALESCE(SUM(reserved), 0) FROM inventory",
        "SELECT COALESCE(SUM(version), 0) FROM inventory",
    ] {
        counts.push(app.scalar(sql).await);
    }
    counts
}
