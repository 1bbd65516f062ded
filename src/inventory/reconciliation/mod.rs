//! Checking that the books balance, and balancing them when they do not.
//!
//! A stock level's on-hand and safety stock must equal the sums of its
//! movements' deltas, and its reserved count the units its ACTIVE holds
//! take of it. All are checked by one set-based statement over every level,
//! whatever their number; a repair is three more statements, not a loop
//! over rows. What is promised beyond stock levels, inbound shipments'
//! holds and warehouses' daily capacity, is checked the same way
//! ([`promises`]).

mod promises;

pub use promises::{CapacityDrift, InboundDrift};

use chrono::{DateTime, Utc};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult,
    IsolationLevel, Statement, TransactionTrait, Value,
};

use super::InventoryError;
use super::ledger::{announce, take_append_lock};
use crate::{
    db::{self, now},
    inventory::Store,
};

/// What the ledger records as the reference of a repair's movements.
pub const REPAIR_REFERENCE: &str = "repairStock";

/// One column of one stock level that disagrees with what derives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discrepancy {
    pub sku: String,
    pub warehouse_code: String,
    pub field: DriftingField,
    /// What the stock level says.
    pub recorded: i64,
    /// What the movements (quantity, safety stock) or the active holds
    /// (reserved) add up to.
    pub derived: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftingField {
    Quantity,
    Reserved,
    SafetyStock,
}

impl DriftingField {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftingField::Quantity => "quantity",
            DriftingField::Reserved => "reserved",
            DriftingField::SafetyStock => "safetyStock",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconciliationReport {
    pub checked_at: DateTime<Utc>,
    pub stock_levels_checked: i64,
    pub discrepancies: Vec<Discrepancy>,
    /// EXPECTED inbounds whose held count differs from their pre-orders'.
    pub inbound: Vec<InboundDrift>,
    /// Warehouse days whose shipment count differs from their live holds'.
    pub capacity: Vec<CapacityDrift>,
}

impl ReconciliationReport {
    fn of(
        checked_at: DateTime<Utc>,
        stock_levels_checked: i64,
        levels: &[LevelSums],
        inbound: Vec<InboundDrift>,
        capacity: Vec<CapacityDrift>,
    ) -> Self {
        ReconciliationReport {
            checked_at,
            stock_levels_checked,
            discrepancies: levels.iter().flat_map(LevelSums::discrepancies).collect(),
            inbound,
            capacity,
        }
    }

    pub fn ok(&self) -> bool {
        self.discrepancies.is_empty() && self.inbound.is_empty() && self.capacity.is_empty()
    }
}

/// Each level's sums. `COALESCE` because a level without movements or holds
/// sums to nothing, not NULL; `CAST` so both backends return 64-bit
/// integers.
const DERIVED: &str = "
    FROM inventory i
    JOIN products p ON p.id = i.product_id
    JOIN warehouses w ON w.id = i.warehouse_id
    LEFT JOIN (SELECT product_id, warehouse_id,
                      SUM(quantity_delta) AS quantity, SUM(reserved_delta) AS reserved,
                      SUM(safety_stock_delta) AS safety_stock
               FROM inventory_movements GROUP BY product_id, warehouse_id) m
           ON m.product_id = i.product_id AND m.warehouse_id = i.warehouse_id
    LEFT JOIN (SELECT l.product_id, l.warehouse_id, SUM(l.quantity) AS units
               FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
               WHERE r.status = 'ACTIVE' AND l.inbound_id IS NULL
               GROUP BY l.product_id, l.warehouse_id) h
           ON h.product_id = i.product_id AND h.warehouse_id = i.warehouse_id";
const DRIFTS: &str = "(i.quantity <> COALESCE(m.quantity, 0) OR i.reserved <> COALESCE(h.units, 0)
      OR i.safety_stock <> COALESCE(m.safety_stock, 0))";

#[derive(FromQueryResult)]
struct LevelSums {
    id: i64,
    sku: String,
    warehouse_code: String,
    quantity: i64,
    reserved: i64,
    ledger_quantity: i64,
    held: i64,
    safety_stock: i64,
    ledger_safety_stock: i64,
}

impl LevelSums {
    fn discrepancies(&self) -> impl Iterator<Item = Discrepancy> + '_ {
        [
            (DriftingField::Quantity, self.quantity, self.ledger_quantity),
            (DriftingField::Reserved, self.reserved, self.held),
            (
                DriftingField::SafetyStock,
                self.safety_stock,
                self.ledger_safety_stock,
            ),
        ]
        .into_iter()
        .filter(|(_, recorded, derived)| recorded != derived)
        .map(|(field, recorded, derived)| Discrepancy {
            sku: self.sku.clone(),
            warehouse_code: self.warehouse_code.clone(),
            field,
            recorded,
            derived,
        })
    }
}

/// Compares every stock level with its ledger and its holds, from one
/// consistent snapshot.
pub async fn reconcile(db: &DatabaseConnection) -> Result<ReconciliationReport, InventoryError> {
    let checked_at = now();
    let txn = match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => db.begin().await?,
    };
    let levels = drifting_levels(&txn).await?;
    let checked = count_levels(&txn).await?;
    let inbound = promises::drifting_inbound(&txn).await?;
    let capacity = promises::drifting_capacity(&txn).await?;
    txn.commit().await?;
    Ok(ReconciliationReport::of(
        checked_at, checked, &levels, inbound, capacity,
    ))
}

/// Finds what [`reconcile`] finds and fixes it, in one transaction that
/// keeps other writers of stock out meanwhile: on-hand and safety stock
/// stay as recorded and the ledger gets an ADJUSTMENT movement for the
/// differences; reserved is set to what the active holds take, and that
/// ADJUSTMENT records it too. A level whose holds exceed its on-hand cannot be repaired this way
/// (it would need stock that is not there); it is reported and left alone.
pub async fn repair(
    store: &Store,
    by: Option<&str>,
) -> Result<ReconciliationReport, InventoryError> {
    let checked_at = now();
    let txn = store.begin_write().await?;
    if store.backend() == DbBackend::Postgres {
        // Blocks writers of stock levels, inbound holds and capacity
        // (every reservation and stock change), not readers, until the
        // repair commits.
        txn.execute_unprepared(
            "LOCK TABLE inventory, inbound_shipments, shipment_days IN SHARE ROW EXCLUSIVE MODE",
        )
        .await?;
    }
    let inbound = promises::drifting_inbound(&*txn).await?;
    promises::repair_inbound(&*txn, &inbound).await?;
    let capacity = promises::drifting_capacity(&*txn).await?;
    promises::repair_capacity(&*txn, &capacity).await?;
    let levels = drifting_levels(&*txn).await?;
    let checked = count_levels(&*txn).await?;
    let (repairable, stuck): (Vec<&LevelSums>, Vec<&LevelSums>) =
        levels.iter().partition(|l| l.quantity >= l.held);
    for level in &stuck {
        tracing::warn!(
            sku = %level.sku,
            warehouse = %level.warehouse_code,
            on_hand = level.quantity,
            held = level.held,
            "active holds take more than is on hand; left for a person to resolve"
        );
    }
    if !repairable.is_empty() {
        txn.changes_all_stock();
        take_append_lock(&*txn).await?;
        let ids = repairable
            .iter()
            .map(|l| l.id.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let backend = store.backend();
        txn.execute_raw(statement(
            backend,
            &format!(
                "INSERT INTO inventory_movements (product_id, warehouse_id, movement_type,
                    quantity_delta, reserved_delta, quantity_after, reserved_after,
                    safety_stock_delta, safety_stock_after,
                    version_after, reference_id, created_by, created_at)
                 SELECT i.product_id, i.warehouse_id, 'ADJUSTMENT',
                    i.quantity - COALESCE(m.quantity, 0),
                    COALESCE(h.units, 0) - COALESCE(m.reserved, 0),
                    i.quantity, COALESCE(h.units, 0),
                    i.safety_stock - COALESCE(m.safety_stock, 0), i.safety_stock,
                    i.version + 1, ?, ?, ?
                 {DERIVED} WHERE i.id IN ({ids})"
            ),
            [
                REPAIR_REFERENCE.into(),
                by.map(str::to_owned).into(),
                checked_at.into(),
            ],
        ))
        .await?;
        txn.execute_raw(statement(
            backend,
            &format!(
                "UPDATE inventory SET
                    reserved = (SELECT COALESCE(SUM(l.quantity), 0) FROM reservation_lines l
                                JOIN reservations r ON r.id = l.reservation_id
                                WHERE r.status = 'ACTIVE' AND l.inbound_id IS NULL
                                  AND l.product_id = inventory.product_id
                                  AND l.warehouse_id = inventory.warehouse_id),
                    version = version + 1, updated_at = ?
                 WHERE id IN ({ids})"
            ),
            [checked_at.into()],
        ))
        .await?;
        announce(&*txn).await?;
    }
    txn.commit().await?;
    Ok(ReconciliationReport::of(
        checked_at, checked, &levels, inbound, capacity,
    ))
}

async fn drifting_levels(db: &impl ConnectionTrait) -> Result<Vec<LevelSums>, DbErr> {
    let sql = format!(
        "SELECT CAST(i.id AS BIGINT) AS id, p.sku AS sku, w.code AS warehouse_code,
                CAST(i.quantity AS BIGINT) AS quantity, CAST(i.reserved AS BIGINT) AS reserved,
                CAST(COALESCE(m.quantity, 0) AS BIGINT) AS ledger_quantity,
                CAST(COALESCE(h.units, 0) AS BIGINT) AS held,
                CAST(i.safety_stock AS BIGINT) AS safety_stock,
                CAST(COALESCE(m.safety_stock, 0) AS BIGINT) AS ledger_safety_stock
         {DERIVED} WHERE {DRIFTS} ORDER BY p.sku, w.code"
    );
    LevelSums::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .all(db)
        .await
}

async fn count_levels(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    db::scalar_i64(db, "SELECT CAST(COUNT(*) AS BIGINT) FROM inventory").await
}

/// A statement written with `?` placeholders, numbered for PostgreSQL.
fn statement(backend: DbBackend, sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    numbered.push_str(&format!("${n}"));
                } else {
                    numbered.push(c);
                }
            }
            numbered
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
