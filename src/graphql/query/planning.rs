use std::sync::Arc;

use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;

use crate::{
    graphql::{
        Coded,
        types::{FulfilmentPlan, LocationInput, OrderLineInput, PlanInput, parse_order},
    },
    inventory::planning::{plan_off_thread, plan_once, snapshot},
    planner::{SearchBudget, Strategy},
};

#[derive(Default)]
pub struct PlanningQuery;

#[Object]
impl PlanningQuery {
    /// A dry run on current stock: which warehouses would ship this order
    /// under the strategy, at what cost, and why. Reserves nothing. An order
    /// the stock cannot cover is not an error: `feasible` is false and
    /// `shortages` says what is missing.
    async fn plan_fulfilment(
        &self,
        ctx: &Context<'_>,
        input: PlanInput,
    ) -> async_graphql::Result<FulfilmentPlan> {
        let db = ctx.data::<DatabaseConnection>()?;
        let order = parse_order(
            input.lines,
            input.ship_to,
            input.max_shipments,
            input.promise_by,
        )
        .coded()?;
        let promise_by = order.promise_by;
        let budget = *ctx.data::<SearchBudget>()?;
        let snapshot = Arc::new(snapshot(db, &order).await.coded()?);
        let plan = plan_once(snapshot.clone(), order, input.strategy.into(), budget)
            .await
            .coded()?;
        Ok(FulfilmentPlan {
            plan,
            snapshot,
            promise_by,
        })
    }

    /// One plan per strategy for the same order and stock, to compare.
    async fn compare_strategies(
        &self,
        ctx: &Context<'_>,
        lines: Vec<OrderLineInput>,
        ship_to: LocationInput,
    ) -> async_graphql::Result<Vec<FulfilmentPlan>> {
        let db = ctx.data::<DatabaseConnection>()?;
        let order = parse_order(lines, ship_to, None, None).coded()?;
        let budget = *ctx.data::<SearchBudget>()?;
        let snapshot = Arc::new(snapshot(db, &order).await.coded()?);
        let plans = plan_off_thread(snapshot.clone(), order, Strategy::ALL.to_vec(), budget)
            .await
            .coded()?;
        Ok(plans
            .into_iter()
            .map(|plan| FulfilmentPlan {
                plan,
                snapshot: snapshot.clone(),
                promise_by: None,
            })
            .collect())
    }
}
