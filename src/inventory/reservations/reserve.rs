//! Taking a hold: plan on fresh stock, then take every planned row with one
//! guarded statement, all in one transaction.

use std::sync::Arc;

use sea_orm::{ActiveValue::Set, EntityTrait, IntoActiveModel, TryInsertResult};

use super::{Hold, HoldRequest, fingerprint::fingerprint, now, strategy_name};
use crate::{
    db::{self, Store},
    entities::{
        reservation::{self, ReservationStatus},
        reservation_line, reservation_shipment,
    },
    inventory::{
        InventoryError,
        ledger::{Postings, Shift},
        planning::{PricedShipment, plan_once, snapshot},
    },
    planner::{Plan, Shortage},
};

/// How many times a reservation is planned again when the stock it planned
/// on was taken by someone else before it could hold it.
const MAX_ATTEMPTS: usize = 5;

/// What became of a request to hold stock.
#[derive(Clone, Debug, PartialEq)]
pub enum ReserveOutcome {
    /// Held now, or earlier by the same request.
    Reserved(Hold),
    /// Not enough stock for the order (or no plan within its shipment cap);
    /// nothing was held.
    InsufficientStock {
        message: String,
        shortages: Vec<Shortage>,
    },
}

/// Holds stock for `request`, or says why it cannot. `created_by` names the
/// API key, for the ledger.
pub async fn reserve(
    store: &Store,
    request: &HoldRequest,
    created_by: Option<&str>,
) -> Result<ReserveOutcome, InventoryError> {
    let fingerprint = fingerprint(request);
    if let Some(hold) = replay(store, request, &fingerprint).await? {
        return Ok(ReserveOutcome::Reserved(hold));
    }
    let mut contested = None;
    let mut last_transient = None;
    for _ in 0..MAX_ATTEMPTS {
        let snapshot = Arc::new(snapshot(store.connection(), &request.order).await?);
        let plan = plan_once(snapshot.clone(), request.order.clone(), request.strategy).await?;
        if !plan.feasible {
            return Ok(insufficient(plan));
        }
        let shipments = snapshot.priced_shipments(&plan)?;
        let held = hold(store, request, &fingerprint, &plan, shipments, created_by).await;
        match held {
            Ok(Attempt::Held(hold)) => return Ok(ReserveOutcome::Reserved(hold)),
            // Another request with this id got there first, and committed.
            Ok(Attempt::Duplicate) => {
                let hold = replay(store, request, &fingerprint).await?.ok_or_else(|| {
                    InventoryError::Internal(format!(
                        "reservation {} both exists and does not",
                        request.id
                    ))
                })?;
                return Ok(ReserveOutcome::Reserved(hold));
            }
            Ok(Attempt::Stale { sku }) => contested = Some(sku),
            Err(e) if db::is_transient(&e) => {
                tracing::debug!(error = %e, "reservation transaction will be retried");
                last_transient = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Out of attempts: answer with the stock as it is now. Usually it has
    // run out (the real shortages); if it is there but keeps being taken
    // first, say which SKU and how much of it there is.
    let snapshot = Arc::new(snapshot(store.connection(), &request.order).await?);
    let plan = plan_once(snapshot.clone(), request.order.clone(), request.strategy).await?;
    if !plan.feasible {
        return Ok(insufficient(plan));
    }
    let Some(sku) = contested else {
        // Every attempt met a deadlock or a busy database: the database's
        // trouble, not the stock's.
        return Err(last_transient
            .map(InventoryError::from)
            .unwrap_or_else(|| InventoryError::Internal("no attempt was made".into())));
    };
    let requested = request
        .order
        .lines
        .iter()
        .find(|l| l.sku == sku)
        .map_or(0, |l| l.quantity.unsigned_abs());
    Ok(ReserveOutcome::InsufficientStock {
        message: format!(
            "the stock of {sku} kept being taken by other checkouts while this order was \
             being reserved ({MAX_ATTEMPTS} attempts); try again"
        ),
        shortages: vec![Shortage {
            available: snapshot.available(&sku),
            sku,
            requested,
        }],
    })
}

/// The stored hold when this request was already made: the same id with
/// the same input. The same id with another input is a conflict.
async fn replay(
    store: &Store,
    request: &HoldRequest,
    fingerprint: &str,
) -> Result<Option<Hold>, InventoryError> {
    let Some(hold) = super::find(store.connection(), request.id).await? else {
        return Ok(None);
    };
    if hold.reservation.fingerprint != fingerprint {
        return Err(InventoryError::Conflict(format!(
            "reservation {} already exists for a different order; a retry must send the \
             same input, a new order needs a new reservationId",
            request.id
        )));
    }
    Ok(Some(hold))
}

fn insufficient(plan: Plan) -> ReserveOutcome {
    let message = if plan.shortages.is_empty() {
        plan.explanation.join(" ")
    } else {
        let skus: Vec<&str> = plan.shortages.iter().map(|s| s.sku.as_str()).collect();
        format!(
            "not enough stock in the active warehouses for {}",
            skus.join(", ")
        )
    };
    ReserveOutcome::InsufficientStock {
        message,
        shortages: plan.shortages,
    }
}

enum Attempt {
    Held(Hold),
    Duplicate,
    /// The plan's read of this SKU's stock was stale.
    Stale {
        sku: String,
    },
}

/// One transaction: the reservation row first (so that concurrent requests
/// with one id queue on its key before touching stock), then each planned
/// stock level in (product, warehouse) order (so that two orders can never
/// wait on each other's rows), then the lines, shipments and movements.
async fn hold(
    store: &Store,
    request: &HoldRequest,
    fingerprint: &str,
    plan: &Plan,
    shipments: Vec<PricedShipment>,
    created_by: Option<&str>,
) -> Result<Attempt, sea_orm::DbErr> {
    let now = now();
    let reservation = reservation::Model {
        id: request.id,
        status: ReservationStatus::Active,
        strategy: strategy_name(request.strategy).to_owned(),
        ship_to_latitude: request.order.ship_to.latitude(),
        ship_to_longitude: request.order.ship_to.longitude(),
        max_shipments: request.order.max_shipments.map(|n| n as i32),
        fingerprint: fingerprint.to_owned(),
        total_cost_cents: plan.total_cost_cents,
        created_by: created_by.map(str::to_owned),
        created_at: now,
        expires_at: request.ttl.after(now),
        confirmed_at: None,
        released_at: None,
    };
    let txn = store.begin_write().await?;
    let inserted = reservation::Entity::insert(reservation.clone().into_active_model())
        .on_conflict_do_nothing()
        .exec_without_returning(&*txn)
        .await?;
    if !matches!(inserted, TryInsertResult::Inserted(1)) {
        txn.rollback().await?;
        return Ok(Attempt::Duplicate);
    }

    let mut takes: Vec<(i32, i32, i32, &str)> = shipments
        .iter()
        .flat_map(|s| {
            s.lines.iter().map(|l| {
                (
                    l.product.id,
                    s.warehouse.id,
                    l.quantity,
                    l.product.sku.as_str(),
                )
            })
        })
        .collect();
    takes.sort_unstable();
    let mut postings = Postings::new(
        Some(request.id.to_string()),
        created_by.map(str::to_owned),
        now,
    );
    for &(product_id, warehouse_id, units, sku) in &takes {
        let shift = Shift::reserve(product_id, warehouse_id, units);
        if postings.post(&*txn, shift).await?.is_none() {
            txn.rollback().await?;
            return Ok(Attempt::Stale {
                sku: sku.to_owned(),
            });
        }
    }
    write_plan(&txn, &reservation, &shipments).await?;
    postings.write(&txn).await?;
    txn.commit().await?;
    Ok(Attempt::Held(Hold {
        reservation,
        shipments,
    }))
}

async fn write_plan(
    txn: &db::WriteTransaction,
    reservation: &reservation::Model,
    shipments: &[PricedShipment],
) -> Result<(), sea_orm::DbErr> {
    reservation_shipment::Entity::insert_many(shipments.iter().map(|s| {
        reservation_shipment::ActiveModel {
            reservation_id: Set(reservation.id),
            warehouse_id: Set(s.warehouse.id),
            distance_km: Set(s.distance_km),
            weight_grams: Set(s.weight_grams),
            cost_cents: Set(s.cost_cents),
            ..Default::default()
        }
    }))
    .exec_without_returning(&**txn)
    .await?;
    reservation_line::Entity::insert_many(shipments.iter().flat_map(|s| {
        s.lines.iter().map(|l| reservation_line::ActiveModel {
            reservation_id: Set(reservation.id),
            product_id: Set(l.product.id),
            warehouse_id: Set(s.warehouse.id),
            quantity: Set(l.quantity),
            ..Default::default()
        })
    }))
    .exec_without_returning(&**txn)
    .await?;
    Ok(())
}
