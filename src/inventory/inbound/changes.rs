//! Announcing, receiving and cancelling inbound shipments.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, TryInsertResult,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{Expectation, keep_expected};
use crate::{
    db::now,
    entities::{
        inbound_shipment::{self, InboundStatus},
        movement::MovementType,
        reservation::ReservationStatus,
    },
    inventory::{
        InventoryError,
        ledger::{MAX_ON_HAND, Postings, Shift, ensure_level},
        stock_changes::{lock_level, resolve},
    },
    inventory::{Store, WriteTransaction},
};

/// Announces an inbound shipment (INBOUND_EXPECTED on its stock level,
/// which is created if there is none yet). Idempotent by id: the same id
/// with the same input answers the inbound as it now is, in whatever
/// status; with another input it is a CONFLICT.
pub async fn expect(
    store: &Store,
    expectation: &Expectation,
    created_by: Option<&str>,
) -> Result<inbound_shipment::Model, InventoryError> {
    let db = store.connection();
    let (product, warehouse) = resolve(db, &expectation.units, "warehouseCode").await?;
    let replayed = |stored: inbound_shipment::Model| {
        if expectation.is(&stored, product.id, warehouse.id) {
            Ok(stored)
        } else {
            Err(InventoryError::Conflict(format!(
                "inbound shipment {} was announced with other details; a different \
                 shipment needs an id of its own",
                expectation.id
            )))
        }
    };
    if let Some(stored) = find(db, expectation.id).await? {
        return replayed(stored);
    }
    let now = now();
    if expectation.expected_at <= now {
        return Err(InventoryError::invalid(
            "expectedAt",
            format!(
                "must be in the future, got {}",
                expectation.expected_at.to_rfc3339()
            ),
        ));
    }
    let inbound = inbound_shipment::Model {
        id: expectation.id,
        product_id: product.id,
        warehouse_id: warehouse.id,
        quantity: expectation.units.units,
        reserved: 0,
        expected_at: expectation.expected_at,
        status: InboundStatus::Expected,
        reference_id: expectation.reference_id.clone(),
        created_by: created_by.map(str::to_owned),
        created_at: now,
        received_at: None,
        cancelled_at: None,
    };
    let txn = store.begin_write().await?;
    let inserted = inbound_shipment::Entity::insert(inbound_shipment::ActiveModel {
        id: Set(inbound.id),
        product_id: Set(inbound.product_id),
        warehouse_id: Set(inbound.warehouse_id),
        quantity: Set(inbound.quantity),
        reserved: Set(inbound.reserved),
        expected_at: Set(inbound.expected_at),
        status: Set(inbound.status),
        reference_id: Set(inbound.reference_id.clone()),
        created_by: Set(inbound.created_by.clone()),
        created_at: Set(inbound.created_at),
        received_at: Set(None),
        cancelled_at: Set(None),
    })
    .on_conflict_do_nothing_on([inbound_shipment::Column::Id])
    .exec_without_returning(&*txn)
    .await?;
    if !matches!(inserted, TryInsertResult::Inserted(1)) {
        // A retry with the same id committed while this one ran.
        txn.rollback().await?;
        let stored = find(db, expectation.id).await?.ok_or_else(|| {
            InventoryError::Internal("an inbound both exists and does not".into())
        })?;
        return replayed(stored);
    }
    ensure_level(&*txn, product.id, warehouse.id, now).await?;
    let mark = Shift::note_only(product.id, warehouse.id, MovementType::InboundExpected);
    post(&txn, &inbound, &[mark], created_by, now).await?;
    txn.commit().await?;
    Ok(inbound)
}

/// EXPECTED -> RECEIVED, in one transaction: the inbound's units come on
/// hand and the holds of its pre-orders move onto the stock level with them
/// (one RESTOCK of quantity and held units, naming the inbound); the units
/// of pre-orders confirmed before it came ship out at once (ORDER). From
/// then on its pre-orders are ordinary holds. Receiving it again changes
/// nothing.
pub async fn receive(
    store: &Store,
    id: Uuid,
    received_by: Option<&str>,
) -> Result<inbound_shipment::Model, InventoryError> {
    let at = now();
    let announced = existing(store, id).await?;
    let txn = store.begin_write().await?;
    // The level first, as every writer of both takes them.
    ensure_level(&*txn, announced.product_id, announced.warehouse_id, at).await?;
    lock_level(&txn, announced.product_id, announced.warehouse_id).await?;
    // What its pre-orders hold, counted while it is locked and still
    // EXPECTED: once received, their plans' units on it count as held on
    // the level (see `reservations::plan`).
    let held = if keep_expected(&*txn, id).await? {
        Some(pre_ordered(&txn, id).await?)
    } else {
        None
    };
    let (Some((active, confirmed)), Some(inbound)) = (
        held,
        leave_expected(&txn, id, InboundStatus::Received, at).await?,
    ) else {
        txn.rollback().await?;
        let inbound = existing(store, id).await?;
        return match inbound.status {
            InboundStatus::Received => Ok(inbound),
            InboundStatus::Cancelled => Err(InventoryError::Conflict(format!(
                "inbound shipment {id} was cancelled; stock that came after all is \
                 received with receiveStock"
            ))),
            InboundStatus::Expected => Err(InventoryError::Internal(
                "an expected inbound refused to be received".into(),
            )),
        };
    };
    if active + confirmed != i64::from(inbound.reserved) {
        return Err(InventoryError::Internal(format!(
            "inbound shipment {id} shows {} units held, its pre-orders {}",
            inbound.reserved,
            active + confirmed
        )));
    }
    let confirmed = i32::try_from(confirmed)
        .map_err(|_| InventoryError::Internal("a pre-order total overflows".into()))?;
    let (product_id, warehouse_id) = (inbound.product_id, inbound.warehouse_id);
    let mut shifts = vec![Shift::receipt(
        product_id,
        warehouse_id,
        inbound.quantity,
        inbound.reserved,
    )];
    if confirmed > 0 {
        shifts.push(Shift::settle(
            product_id,
            warehouse_id,
            confirmed,
            MovementType::Order,
        ));
    }
    if !post(&txn, &inbound, &shifts, received_by, at).await? {
        txn.rollback().await?;
        return Err(InventoryError::Conflict(format!(
            "receiving inbound shipment {id} would put more than {MAX_ON_HAND} units in \
             one stock level"
        )));
    }
    txn.commit().await?;
    Ok(inbound)
}

/// Units of inbound `id` that ACTIVE and CONFIRMED pre-orders hold.
async fn pre_ordered(txn: &WriteTransaction, id: Uuid) -> Result<(i64, i64), InventoryError> {
    let rows = txn
        .query_all_raw(pre_order_units(txn.get_database_backend(), id))
        .await?;
    let (mut active, mut confirmed) = (0, 0);
    for row in rows {
        let status: ReservationStatus = row.try_get("", "status")?;
        let units: i64 = row.try_get("", "units")?;
        match status {
            ReservationStatus::Active => active += units,
            ReservationStatus::Confirmed => confirmed += units,
            ReservationStatus::Released | ReservationStatus::Expired => {}
        }
    }
    Ok((active, confirmed))
}

/// The units of inbound `id` that live holds pre-order, by the holds'
/// status. It reads the plans themselves rather than the
/// `reservation_lines` view, which would unpack every hold ever made: the
/// first condition is the predicate of migration 17's index of the holds
/// that pre-order, word for word, so that both backends can read only
/// those; the second skips, as text, the plans of other inbounds' holds.
/// Public so that a test can check the index serves it.
pub fn pre_order_units(backend: DbBackend, id: Uuid) -> Statement {
    let hex = id.simple().to_string();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT r.status AS status,
                    CAST(SUM(CAST(l.value ->> 'quantity' AS INTEGER)) AS BIGINT) AS units
             FROM reservations r
             CROSS JOIN LATERAL json_array_elements(r.plan::json) AS s(value)
             CROSS JOIN LATERAL json_array_elements(s.value -> 'lines') AS l(value)
             WHERE r.plan LIKE '%\"inbound_id\"%' AND r.plan LIKE $1
               AND r.status IN ('ACTIVE', 'CONFIRMED') AND l.value ->> 'inbound_id' = $2
             GROUP BY r.status"
        }
        _ => {
            "SELECT r.status AS status,
                    CAST(SUM(json_extract(l.value, '$.quantity')) AS BIGINT) AS units
             FROM reservations r, json_each(r.plan) s, json_each(s.value, '$.lines') l
             WHERE r.plan LIKE '%\"inbound_id\"%' AND r.plan LIKE ?
               AND r.status IN ('ACTIVE', 'CONFIRMED')
               AND json_extract(l.value, '$.inbound_id') = ?
             GROUP BY r.status"
        }
    };
    Statement::from_sql_and_values(backend, sql, [format!("%{hex}%").into(), hex.into()])
}

/// EXPECTED -> CANCELLED (INBOUND_CANCELLED): it will not come. A CONFLICT
/// while pre-orders hold any of it, or once it was received. Cancelling it
/// again changes nothing.
pub async fn cancel(
    store: &Store,
    id: Uuid,
    cancelled_by: Option<&str>,
) -> Result<inbound_shipment::Model, InventoryError> {
    let at = now();
    let announced = existing(store, id).await?;
    let txn = store.begin_write().await?;
    lock_level(&txn, announced.product_id, announced.warehouse_id).await?;
    let Some(inbound) = leave_expected(&txn, id, InboundStatus::Cancelled, at).await? else {
        txn.rollback().await?;
        let inbound = existing(store, id).await?;
        return match inbound.status {
            InboundStatus::Cancelled => Ok(inbound),
            InboundStatus::Received => Err(InventoryError::Conflict(format!(
                "inbound shipment {id} was already received: its units are on hand; \
                 write them off or transfer them instead"
            ))),
            InboundStatus::Expected => Err(InventoryError::Conflict(format!(
                "{} units of inbound shipment {id} are held by pre-orders; release them \
                 before cancelling it",
                inbound.reserved
            ))),
        };
    };
    let mark = Shift::note_only(
        inbound.product_id,
        inbound.warehouse_id,
        MovementType::InboundCancelled,
    );
    if !post(&txn, &inbound, &[mark], cancelled_by, at).await? {
        txn.rollback().await?;
        return Err(InventoryError::Internal(
            "an inbound's stock level is gone".into(),
        ));
    }
    txn.commit().await?;
    Ok(inbound)
}

/// The one guarded UPDATE that moves an inbound out of EXPECTED: `None`
/// when it is not EXPECTED (or, to be cancelled, while any of it is held),
/// and then nothing changed. The row stays locked until the transaction
/// ends, so no pre-order can take from it meanwhile.
async fn leave_expected(
    txn: &WriteTransaction,
    id: Uuid,
    to: InboundStatus,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<inbound_shipment::Model>, InventoryError> {
    use inbound_shipment::Column;
    let mut update = inbound_shipment::Entity::update_many()
        .col_expr(Column::Status, Expr::val(to))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(InboundStatus::Expected));
    update = match to {
        InboundStatus::Received => update.col_expr(Column::ReceivedAt, Expr::val(at)),
        _ => update
            .col_expr(Column::CancelledAt, Expr::val(at))
            .filter(Expr::col(Column::Reserved).eq(0)),
    };
    Ok(update.exec_with_returning(&**txn).await?.into_iter().next())
}

/// Applies `shifts` to the inbound's stock level and posts them, naming
/// the inbound and its reference. False when the level refused one; then
/// the transaction must roll back.
async fn post(
    txn: &WriteTransaction,
    inbound: &inbound_shipment::Model,
    shifts: &[Shift],
    by: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, InventoryError> {
    let mut postings = Postings::new(inbound.reference_id.clone(), by.map(str::to_owned), at)
        .about_inbound(inbound.id);
    for shift in shifts {
        if postings.post(&**txn, *shift).await?.is_none() {
            return Ok(false);
        }
    }
    postings.write(txn).await?;
    Ok(true)
}

/// The inbound with this id, if any.
pub(super) async fn find(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<inbound_shipment::Model>, InventoryError> {
    Ok(inbound_shipment::Entity::find_by_id(id).one(db).await?)
}

async fn existing(store: &Store, id: Uuid) -> Result<inbound_shipment::Model, InventoryError> {
    find(store.connection(), id)
        .await?
        .ok_or_else(|| InventoryError::NotFound(format!("no inbound shipment with id {id}")))
}
