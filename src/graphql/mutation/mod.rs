//! The root mutation type, merged from one object per area.
//!
//! Resolvers box the store calls they await (`.boxed()`). async-graphql
//! boxes the future of every root field it runs, and that future is as
//! large as the largest resolver of the whole merged type: with the admin
//! mutations' transactions inline it was 6.7 KB, allocated, copied and
//! held for every `reserveOrder` while it waited for its batch.

mod catalogue;
mod inbound;
mod reservations;
mod stock;

use async_graphql::{Context, MergedObject};

use crate::auth::Caller;

#[derive(MergedObject, Default)]
pub struct Mutation(
    reservations::ReservationMutation,
    catalogue::CatalogueMutation,
    stock::StockMutation,
    inbound::InboundMutation,
);

/// The API key's name, which the ledger records as the author of a change.
fn author_name<'a>(ctx: &'a Context<'_>) -> Option<&'a str> {
    ctx.data_opt::<Caller>()
        .and_then(|caller| caller.key_name.as_deref())
}
