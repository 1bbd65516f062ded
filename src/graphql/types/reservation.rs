use async_graphql::{Enum, InputObject, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{FulfilmentStrategy, LocationInput, OrderLineInput, Shipment, Shortage, parse_order};
use crate::{
    entities::reservation::ReservationStatus as StoredStatus,
    graphql::{ApiError, Coded},
    inventory::reservations::{
        DEFAULT_TTL_SECONDS, Hold, HoldRequest, ReserveOutcome, Ttl, strategy_of,
    },
};

/// Where a hold is in its life.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReservationStatus {
    /// Stock is held until expiresAt.
    Active,
    /// Paid: the units have left the warehouse's stock.
    Confirmed,
    /// Cancelled by the checkout: the units are available again.
    Released,
    /// Not confirmed in time: the units are (or are being) returned.
    Expired,
}

impl From<StoredStatus> for ReservationStatus {
    fn from(status: StoredStatus) -> Self {
        match status {
            StoredStatus::Active => ReservationStatus::Active,
            StoredStatus::Confirmed => ReservationStatus::Confirmed,
            StoredStatus::Released => ReservationStatus::Released,
            StoredStatus::Expired => ReservationStatus::Expired,
        }
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct ReserveOrderInput {
    /// The checkout's order reference; a retry with the same id and input
    /// returns the same reservation.
    pub reservation_id: Uuid,
    /// 1..100 lines.
    pub lines: Vec<OrderLineInput>,
    pub ship_to: LocationInput,
    #[graphql(default_with = "FulfilmentStrategy::Nearest")]
    pub strategy: FulfilmentStrategy,
    /// 1..86400.
    #[graphql(default = 900)]
    pub ttl_seconds: Option<i32>,
    /// Optional cap on the number of shipments.
    pub max_shipments: Option<i32>,
    /// When set, inbound stock expected by then may be held (a pre-order).
    pub promise_by: Option<DateTime<Utc>>,
}

impl ReserveOrderInput {
    /// Checks the request's shape; errors name the field at fault.
    pub fn parse(self) -> Result<HoldRequest, ApiError> {
        let order = parse_order(
            self.lines,
            self.ship_to,
            self.max_shipments,
            self.promise_by,
        )?;
        let ttl = Ttl::new(
            self.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS),
            "ttlSeconds",
        )?;
        Ok(HoldRequest {
            id: self.reservation_id,
            order,
            strategy: self.strategy.into(),
            ttl,
        })
    }
}

/// A held order, or why the stock could not hold it.
#[derive(Union)]
pub enum ReserveOrderResult {
    Reservation(Reservation),
    InsufficientStock(InsufficientStock),
}

impl From<ReserveOutcome> for ReserveOrderResult {
    fn from(outcome: ReserveOutcome) -> Self {
        match outcome {
            ReserveOutcome::Reserved(hold) => ReserveOrderResult::Reservation(Reservation(hold)),
            ReserveOutcome::InsufficientStock { message, shortages } => {
                ReserveOrderResult::InsufficientStock(InsufficientStock {
                    message,
                    shortages: shortages.iter().map(Shortage::from).collect(),
                })
            }
        }
    }
}

/// Nothing was held: the active warehouses cannot cover the order.
#[derive(SimpleObject)]
pub struct InsufficientStock {
    pub message: String,
    pub shortages: Vec<Shortage>,
}

/// Stock held for one checkout.
pub struct Reservation(pub Hold);

#[Object]
impl Reservation {
    /// The checkout's order reference.
    async fn id(&self) -> Uuid {
        self.0.reservation.id
    }

    /// A hold past expiresAt reads EXPIRED even before its stock is swept
    /// back.
    async fn status(&self) -> ReservationStatus {
        self.0.status_at(Utc::now()).into()
    }

    async fn strategy(&self) -> async_graphql::Result<FulfilmentStrategy> {
        Ok(strategy_of(&self.0.reservation).coded()?.into())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.reservation.created_at
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.reservation.expires_at
    }

    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reservation.confirmed_at
    }

    /// When the stock came back: on release, or when an expired hold was
    /// swept.
    async fn released_at(&self) -> Option<DateTime<Utc>> {
        self.0.reservation.released_at
    }

    /// The plan as it was reserved, priced at that time.
    async fn shipments(&self) -> Vec<Shipment> {
        self.0.shipments.iter().cloned().map(Shipment).collect()
    }

    async fn total_cost_cents(&self) -> i32 {
        super::saturating_int(self.0.reservation.total_cost_cents)
    }
}
