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

#[cfg(test)]
mod tests {
    use async_graphql::{ContainerType, Context};

    use super::*;

    /// The size of the future `resolve` returns, without calling it.
    fn future_size<'a, T: 'a, F>(_resolve: impl Fn(&'a T, &'a Context<'a>) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// async-graphql boxes a root field's future at the size of the merged
    /// type's largest resolver, and a checkout's `reserveOrder` waits in it
    /// for its batch: an admin mutation that awaits its transaction inline
    /// (6.7 KB, unboxed) makes every checkout carry it.
    #[test]
    fn a_root_mutation_future_stays_small() {
        let size = future_size(<Mutation as ContainerType>::resolve_field);
        assert!(
            size <= 2048,
            "the root Mutation's future is {size} bytes: box the store call the new resolver awaits"
        );
    }
}
