use async_graphql::{Context, Object};
use futures_util::FutureExt;
use uuid::Uuid;

use super::author_name;
use crate::{
    auth::Role,
    graphql::{
        Coded, RoleGuard,
        types::{ExpectInboundInput, InboundShipment},
    },
    inventory::Store,
    inventory::inbound,
};

#[derive(Default)]
pub struct InboundMutation;

#[Object]
impl InboundMutation {
    /// Announces units on their way to a warehouse (INBOUND_EXPECTED in the
    /// ledger). Storefronts see them as incoming and available to promise
    /// by their arrival. A retry with the same id and input returns the same
    /// inbound; the same id with another input is a CONFLICT.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn expect_inbound(
        &self,
        ctx: &Context<'_>,
        input: ExpectInboundInput,
    ) -> async_graphql::Result<InboundShipment> {
        let expectation = input.parse().coded()?;
        let inbound = inbound::expect(ctx.data::<Store>()?, &expectation, author_name(ctx))
            .boxed()
            .await
            .coded()?;
        Ok(InboundShipment(inbound))
    }

    /// EXPECTED -> RECEIVED: a RESTOCK of its quantity, naming the inbound;
    /// what pre-orders hold of it stays held on the stock level, in the same
    /// transaction. Receiving it again changes nothing; a cancelled one is
    /// a CONFLICT.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn receive_inbound(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<InboundShipment> {
        let inbound = inbound::receive(ctx.data::<Store>()?, id, author_name(ctx))
            .boxed()
            .await
            .coded()?;
        Ok(InboundShipment(inbound))
    }

    /// EXPECTED -> CANCELLED (INBOUND_CANCELLED in the ledger). A CONFLICT
    /// while pre-orders hold any of it, or once it was received; cancelling
    /// it again changes nothing.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn cancel_inbound(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<InboundShipment> {
        let inbound = inbound::cancel(ctx.data::<Store>()?, id, author_name(ctx))
            .boxed()
            .await
            .coded()?;
        Ok(InboundShipment(inbound))
    }
}
