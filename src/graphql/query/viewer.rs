use async_graphql::{Context, Object};

use crate::{auth::Caller, graphql::types::Viewer};

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who this request is from: lets a client check its key and role.
    async fn viewer(&self, ctx: &Context<'_>) -> Viewer {
        match ctx.data_opt::<Caller>() {
            Some(caller) => Viewer::from(caller),
            None => Viewer::from(&Caller::public()),
        }
    }
}
