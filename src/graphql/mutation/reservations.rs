use async_graphql::{Context, Object};
use futures_util::FutureExt;
use uuid::Uuid;

use super::author_name;
use crate::{
    auth::Role,
    graphql::{
        Coded, RoleGuard,
        types::{Reservation, ReserveOrderInput, ReserveOrderResult},
    },
    inventory::{
        InventoryError, Store,
        reservations::{self, ReservationQueue, ReserveOutcome, Ttl},
    },
    metrics::Metrics,
};

#[derive(Default)]
pub struct ReservationMutation;

#[Object]
impl ReservationMutation {
    /// Plans the order on current stock and holds it until confirmed,
    /// released or expired. Not enough stock is an answer, not an error:
    /// InsufficientStock says what is short, and nothing is held.
    #[graphql(guard = "RoleGuard(Role::Checkout)")]
    async fn reserve_order(
        &self,
        ctx: &Context<'_>,
        input: ReserveOrderInput,
    ) -> async_graphql::Result<ReserveOrderResult> {
        let request = input.parse().coded()?;
        let queue = ctx.data::<ReservationQueue>()?;
        let asked = crate::db::now();
        let outcome = queue.reserve(request, author_name(ctx)).await;
        // A hold made before this request is the retry's: replayed.
        let counted = match &outcome {
            Ok(ReserveOutcome::Reserved(hold)) if hold.reservation.created_at < asked => "replayed",
            Ok(ReserveOutcome::Reserved(_)) => "held",
            Ok(ReserveOutcome::InsufficientStock { .. }) => "insufficient",
            Err(InventoryError::Conflict(_)) => "conflict",
            Err(_) => "failed",
        };
        ctx.data::<Metrics>()?.record_reservation(counted);
        Ok(outcome.coded()?.into())
    }

    /// ACTIVE -> CONFIRMED: the held units leave the stock. A repeat is a
    /// no-op; a RELEASED or EXPIRED hold is a CONFLICT.
    #[graphql(guard = "RoleGuard(Role::Checkout)")]
    async fn confirm_reservation(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Reservation> {
        let queue = ctx.data::<ReservationQueue>()?;
        let hold = queue.confirm(id, author_name(ctx)).boxed().await.coded()?;
        Ok(Reservation(hold))
    }

    /// ACTIVE -> RELEASED: the held units are available again. A repeat is
    /// a no-op; a CONFIRMED or EXPIRED hold is a CONFLICT.
    #[graphql(guard = "RoleGuard(Role::Checkout)")]
    async fn release_reservation(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Reservation> {
        let queue = ctx.data::<ReservationQueue>()?;
        let hold = queue.release(id, author_name(ctx)).boxed().await.coded()?;
        Ok(Reservation(hold))
    }

    /// ACTIVE only: expiresAt = now + ttlSeconds (1..86400); otherwise
    /// CONFLICT.
    #[graphql(guard = "RoleGuard(Role::Checkout)")]
    async fn extend_reservation(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        ttl_seconds: i32,
    ) -> async_graphql::Result<Reservation> {
        let ttl = Ttl::new(ttl_seconds, "ttlSeconds").coded()?;
        let store = ctx.data::<Store>()?;
        let hold = reservations::extend(store, id, ttl).boxed().await.coded()?;
        Ok(Reservation(hold))
    }
}
