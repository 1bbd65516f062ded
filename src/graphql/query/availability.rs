use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;

use crate::{
    graphql::{
        Coded,
        types::{Availability, LocationInput},
    },
    inventory::availability::AvailabilityCache,
};

#[derive(Default)]
pub struct AvailabilityQuery;

#[Object]
impl AvailabilityQuery {
    /// One entry per requested SKU (at most 100), in request order. With
    /// shipTo, each entry's warehouses come nearest first with distanceKm.
    /// An unknown SKU is BAD_USER_INPUT naming it. A SKU's stock is kept in
    /// memory until a movement of it commits.
    async fn availability(
        &self,
        ctx: &Context<'_>,
        skus: Vec<String>,
        ship_to: Option<LocationInput>,
    ) -> async_graphql::Result<Vec<Availability>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let ship_to = ship_to.map(|to| to.parse("shipTo")).transpose().coded()?;
        let found = ctx
            .data::<AvailabilityCache>()?
            .availability_for_skus(db, &skus, ship_to)
            .await
            .coded()?;
        Ok(found
            .into_iter()
            .map(|summary| Availability::new(summary, ship_to))
            .collect())
    }
}
