//! The root query type, merged from one object per area.

mod catalogue;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(catalogue::CatalogueQuery, viewer::ViewerQuery);
