//! The root mutation type, merged from one object per area.

mod reservations;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(reservations::ReservationMutation);
