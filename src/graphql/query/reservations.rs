use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    auth::Role,
    graphql::{Coded, RoleGuard, types::Reservation},
    inventory::reservations,
};

#[derive(Default)]
pub struct ReservationQuery;

#[Object]
impl ReservationQuery {
    /// A hold by its id (the checkout's order reference), in any status.
    #[graphql(guard = "RoleGuard(Role::Checkout)")]
    async fn reservation(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<Reservation>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let hold = reservations::find(db, id).await.coded()?;
        Ok(hold.map(Reservation))
    }
}
