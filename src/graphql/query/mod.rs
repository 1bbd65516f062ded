//! The root query type, merged from one object per area.

mod audit;
mod availability;
mod catalogue;
mod planning;
mod reservations;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    catalogue::CatalogueQuery,
    availability::AvailabilityQuery,
    planning::PlanningQuery,
    reservations::ReservationQuery,
    viewer::ViewerQuery,
    audit::AuditQuery,
);
