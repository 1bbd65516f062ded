//! Holding stock for a checkout until it is paid for, let go, or expires.
//!
//! A hold (a row of `reservations` with its plan) is taken through the
//! [`ReservationQueue`], which takes concurrent requests in batches of one
//! transaction each, and ends in one transaction by [`confirm`],
//! [`release`] or, once past its expiry, the [`sweeper`]. Every change of
//! stock goes through [`super::ledger`], so it is guarded by the database
//! and written to the movement ledger in the same transaction.
//!
//! The checkout's reservation id is the idempotency key: a request repeated
//! with the same id and input gets the stored hold back, whatever its status
//! now; the same id with another input is a conflict.

mod deadline;
mod endings;
mod fingerprint;
mod plan;
mod queue;
mod reserve;
mod stored;
pub mod sweeper;
mod transitions;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use endings::confirms_claim;
pub use queue::{BATCHES_IN_FLIGHT, ReservationQueue};
pub use reserve::ReserveOutcome;
use reserve::insufficient;
pub use stored::find;
pub use transitions::{confirm, extend, release};

use super::{
    InventoryError, capacity,
    planning::{Order, PricedShipment},
};
use crate::{
    db::now,
    entities::reservation::{self, ReservationStatus},
    planner::Strategy,
};

/// How long a hold lasts unless the checkout says otherwise: 15 minutes.
pub const DEFAULT_TTL_SECONDS: i32 = 900;
/// The longest a hold may last: a day.
pub const MAX_TTL_SECONDS: i32 = 86_400;

/// How long a hold lasts, 1 second to a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl(i32);

impl Ttl {
    /// `field` names the argument in the error.
    pub fn new(seconds: i32, field: &str) -> Result<Self, InventoryError> {
        if (1..=MAX_TTL_SECONDS).contains(&seconds) {
            Ok(Ttl(seconds))
        } else {
            Err(InventoryError::invalid(
                field,
                format!("must be between 1 and {MAX_TTL_SECONDS} seconds, got {seconds}"),
            ))
        }
    }

    pub fn seconds(self) -> i32 {
        self.0
    }

    fn after(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::seconds(i64::from(self.0))
    }
}

/// A checkout's request to hold stock for an order.
#[derive(Clone, Debug, PartialEq)]
pub struct HoldRequest {
    pub id: Uuid,
    pub order: Order,
    pub strategy: Strategy,
    pub ttl: Ttl,
}

/// A reservation as stored, with its shipments as they were priced.
#[derive(Clone, Debug, PartialEq)]
pub struct Hold {
    pub reservation: reservation::Model,
    pub shipments: Vec<PricedShipment>,
}

impl Hold {
    /// The status as a client should see it at `now`: a hold past its expiry
    /// is expired even before the sweeper has returned its stock.
    pub fn status_at(&self, now: DateTime<Utc>) -> ReservationStatus {
        let reservation = &self.reservation;
        if reservation.status == ReservationStatus::Active && reservation.expires_at <= now {
            ReservationStatus::Expired
        } else {
            reservation.status
        }
    }
}

/// The UTC day a shipment of `reservation` ships, and takes capacity on:
/// the day it was held, or the inbound arrival it waits for.
fn ship_day(reservation: &reservation::Model, shipment: &PricedShipment) -> String {
    capacity::day_of(shipment.ready_at.unwrap_or(reservation.created_at))
}

/// The spelling of a strategy in `reservations.strategy`.
pub fn strategy_name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Nearest => "NEAREST",
        Strategy::Cheapest => "CHEAPEST",
        Strategy::Balanced => "BALANCED",
        Strategy::Split => "SPLIT",
    }
}

/// The strategy a stored reservation was planned with.
pub fn strategy_of(reservation: &reservation::Model) -> Result<Strategy, InventoryError> {
    Strategy::ALL
        .into_iter()
        .find(|s| strategy_name(*s) == reservation.strategy)
        .ok_or_else(|| {
            InventoryError::Internal(format!(
                "reservation {} has an unknown strategy `{}`",
                reservation.id, reservation.strategy
            ))
        })
}
