//! Reading inbound stock: what is incoming per SKU, what may be promised
//! by a date, and a warehouse's inbound list.

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder,
    sea_query::{Expr, ExprTrait, JoinType, Query},
};

use crate::{
    entities::{
        inbound_shipment::{self, InboundStatus},
        warehouse,
    },
    inventory::{InventoryError, WAREHOUSE_COLUMNS},
};

/// Units of one EXPECTED inbound still free to promise, and where and when
/// they arrive.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    pub warehouse: Arc<warehouse::Model>,
    pub quantity: i32,
    pub expected_at: DateTime<Utc>,
}

/// What is incoming for each of `skus` (those with nothing incoming are
/// left out), soonest first: EXPECTED inbounds in active warehouses with
/// units not yet held by pre-orders. One statement, however many SKUs.
pub async fn incoming_of_skus(
    db: &DatabaseConnection,
    skus: &[String],
) -> Result<HashMap<String, Vec<Incoming>>, InventoryError> {
    let mut query = Query::select();
    query
        .column(("p", "sku"))
        .expr_as(
            Expr::col(("s", "quantity")).sub(Expr::col(("s", "reserved"))),
            "free",
        )
        .column(("s", "expected_at"))
        .columns(WAREHOUSE_COLUMNS.map(|c| ("w", c)))
        .from_as("inbound_shipments", "s")
        .join_as(
            JoinType::InnerJoin,
            "products",
            "p",
            Expr::col(("p", "id")).equals(("s", "product_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "warehouses",
            "w",
            Expr::col(("w", "id")).equals(("s", "warehouse_id")),
        )
        .and_where(Expr::col(("p", "sku")).is_in(skus.iter().map(String::as_str)))
        .and_where(Expr::col(("s", "status")).eq(InboundStatus::Expected))
        .and_where(Expr::col(("w", "active")).eq(true))
        .and_where(Expr::col(("s", "quantity")).gt(Expr::col(("s", "reserved"))))
        .order_by(("s", "expected_at"), sea_orm::Order::Asc)
        .order_by(("s", "id"), sea_orm::Order::Asc);
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    let mut by_sku: HashMap<String, Vec<Incoming>> = HashMap::new();
    let mut warehouses: HashMap<i32, Arc<warehouse::Model>> = HashMap::new();
    for row in &rows {
        let warehouse_id: i32 = row.try_get("", "id")?;
        let warehouse = match warehouses.entry(warehouse_id) {
            Entry::Occupied(known) => known.get().clone(),
            Entry::Vacant(slot) => slot
                .insert(Arc::new(warehouse::Model::from_query_result(row, "")?))
                .clone(),
        };
        by_sku
            .entry(row.try_get("", "sku")?)
            .or_default()
            .push(Incoming {
                warehouse,
                quantity: row.try_get("", "free")?,
                expected_at: row.try_get("", "expected_at")?,
            });
    }
    Ok(by_sku)
}

/// Units that may be promised by `by`: what is available now and what is
/// incoming no later than then.
pub fn available_to_promise(available: i64, incoming: &[Incoming], by: DateTime<Utc>) -> i64 {
    incoming
        .iter()
        .filter(|i| i.expected_at <= by)
        .map(|i| i64::from(i.quantity))
        .sum::<i64>()
        + available
}

/// `incoming` (soonest first) in the order a storefront shows it: with
/// distances to a destination, nearest first and then soonest; without,
/// as it is. Ties go by warehouse code.
pub fn in_promise_order(incoming: &mut [(Incoming, Option<f64>)]) {
    incoming.sort_by(|(a, a_km), (b, b_km)| {
        let by_distance = match (a_km, b_km) {
            (Some(x), Some(y)) => x.total_cmp(y),
            _ => std::cmp::Ordering::Equal,
        };
        by_distance
            .then(a.expected_at.cmp(&b.expected_at))
            .then_with(|| a.warehouse.code.cmp(&b.warehouse.code))
    });
}

/// The inbounds bound for each of `warehouse_ids` in `status`, soonest
/// first, in one statement.
pub async fn listed(
    db: &DatabaseConnection,
    warehouse_ids: &[i32],
    status: InboundStatus,
) -> Result<HashMap<i32, Vec<inbound_shipment::Model>>, InventoryError> {
    use inbound_shipment::Column;
    let rows = inbound_shipment::Entity::find()
        .filter(Column::WarehouseId.is_in(warehouse_ids.iter().copied()))
        .filter(Column::Status.eq(status))
        .order_by_asc(Column::ExpectedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let mut by_warehouse: HashMap<i32, Vec<inbound_shipment::Model>> = HashMap::new();
    for inbound in rows {
        by_warehouse
            .entry(inbound.warehouse_id)
            .or_default()
            .push(inbound);
    }
    Ok(by_warehouse)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn warehouse(id: i32, code: &str) -> Arc<warehouse::Model> {
        Arc::new(warehouse::Model {
            id,
            code: code.into(),
            name: code.into(),
            city: None,
            latitude: 0.0,
            longitude: 0.0,
            active: true,
            base_cents: 0,
            cents_per_100km: 0,
            cents_per_kg: 0,
            daily_shipment_capacity: None,
            created_at: Utc::now(),
        })
    }

    fn incoming(code: &str, quantity: i32, in_days: i64) -> Incoming {
        Incoming {
            warehouse: warehouse(1, code),
            quantity,
            expected_at: Utc::now() + Duration::days(in_days),
        }
    }

    #[test]
    fn promises_what_is_available_and_what_arrives_in_time() {
        let coming = [incoming("A", 30, 3), incoming("B", 5, 10)];
        let now = Utc::now();
        assert_eq!(available_to_promise(0, &coming, now + Duration::days(2)), 0);
        assert_eq!(
            available_to_promise(0, &coming, now + Duration::days(4)),
            30
        );
        assert_eq!(
            available_to_promise(7, &coming, now + Duration::days(11)),
            42
        );
        assert_eq!(available_to_promise(7, &[], now + Duration::days(11)), 7);
    }

    #[test]
    fn a_destination_puts_the_nearest_first_and_then_the_soonest() {
        let mut shown = vec![
            (incoming("FAR", 1, 1), Some(900.0)),
            (incoming("NEAR-LATE", 1, 9), Some(10.0)),
            (incoming("NEAR-SOON", 1, 2), Some(10.0)),
        ];
        in_promise_order(&mut shown);
        let codes: Vec<&str> = shown
            .iter()
            .map(|(i, _)| i.warehouse.code.as_str())
            .collect();
        assert_eq!(codes, ["NEAR-SOON", "NEAR-LATE", "FAR"]);

        let mut anywhere = vec![
            (incoming("LATE", 1, 9), None),
            (incoming("SOON", 1, 2), None),
        ];
        in_promise_order(&mut anywhere);
        assert_eq!(anywhere[0].0.warehouse.code, "SOON");
    }
}
