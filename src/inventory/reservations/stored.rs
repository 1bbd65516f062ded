//! Reading a hold back: the reservation and its plan, with the
//! warehouses, products and inbound shipments the plan names.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{
    Hold,
    plan::{self, StoredShipment},
};
use crate::{
    db::bulk,
    entities::{
        inbound_shipment::{self, InboundStatus},
        product, reservation, warehouse,
    },
    inventory::{
        InventoryError,
        planning::{InboundPart, PricedLine, PricedShipment},
    },
};

/// The hold with this id, if there is one.
pub async fn find(
    connection: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Hold>, InventoryError> {
    Ok(find_many(connection, vec![id]).await?.remove(&id))
}

/// The holds with these ids that exist, by id: three statements for any
/// number of them (four when one pre-orders).
pub async fn find_many(
    connection: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, Hold>, InventoryError> {
    let backend = connection.get_database_backend();
    let reservations = reservation::Entity::find()
        .filter(bulk::is_one_of(backend, reservation::Column::Id, ids))
        .all(connection)
        .await?;
    if reservations.is_empty() {
        return Ok(HashMap::new());
    }
    let plans = reservations
        .iter()
        .map(|r| plan::decode(r.id, &r.plan))
        .collect::<Result<Vec<_>, _>>()?;
    let lines = || plans.iter().flat_map(|p| plan::lines_of(p));
    let mut warehouse_ids: Vec<i32> = plans.iter().flatten().map(|s| s.warehouse_id).collect();
    warehouse_ids.sort_unstable();
    warehouse_ids.dedup();
    let warehouses: HashMap<i32, warehouse::Model> = warehouse::Entity::find()
        .filter(warehouse::Column::Id.is_in(warehouse_ids))
        .all(connection)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let mut product_ids: Vec<i32> = lines().map(|(_, l)| l.product_id).collect();
    product_ids.sort_unstable();
    product_ids.dedup();
    let products: HashMap<i32, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(product_ids))
        .all(connection)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let pre_ordered: Vec<Uuid> = lines().filter_map(|(_, l)| l.inbound_id).collect();
    let received = received_among(connection, pre_ordered).await?;
    reservations
        .into_iter()
        .zip(plans)
        .map(|(reservation, plan)| {
            let id = reservation.id;
            let shipments = assemble(id, plan, &warehouses, &products, &received)?;
            Ok((
                id,
                Hold {
                    reservation,
                    shipments,
                },
            ))
        })
        .collect()
}

/// Which of `inbound_ids` have been received: what a plan pre-ordered from
/// them is held on their stock levels now.
pub async fn received_among(
    connection: &impl ConnectionTrait,
    mut inbound_ids: Vec<Uuid>,
) -> Result<HashSet<Uuid>, DbErr> {
    if inbound_ids.is_empty() {
        return Ok(HashSet::new());
    }
    inbound_ids.sort_unstable();
    inbound_ids.dedup();
    let backend = connection.get_database_backend();
    Ok(inbound_shipment::Entity::find()
        .select_only()
        .column(inbound_shipment::Column::Id)
        .filter(bulk::is_one_of(
            backend,
            inbound_shipment::Column::Id,
            inbound_ids,
        ))
        .filter(inbound_shipment::Column::Status.eq(InboundStatus::Received))
        .into_tuple::<Uuid>()
        .all(connection)
        .await?
        .into_iter()
        .collect())
}

/// A hold's shipments from its stored plan, with the warehouses and
/// products it names; units pre-ordered from an inbound since `received`
/// show as held from stock.
fn assemble(
    id: Uuid,
    plan: Vec<StoredShipment>,
    warehouses: &HashMap<i32, warehouse::Model>,
    products: &HashMap<i32, product::Model>,
    received: &HashSet<Uuid>,
) -> Result<Vec<PricedShipment>, InventoryError> {
    let missing = |what: &str, row: i32| {
        InventoryError::Internal(format!("reservation {id} names a missing {what} {row}"))
    };
    plan.into_iter()
        .map(|shipment| {
            let warehouse = warehouses
                .get(&shipment.warehouse_id)
                .ok_or_else(|| missing("warehouse", shipment.warehouse_id))?;
            // A product's units on hand and on each inbound are entries of
            // their own; the shipment shows one line per product.
            let mut merged: Vec<PricedLine> = Vec::new();
            for line in shipment.lines {
                let part = line
                    .inbound_id
                    .filter(|inbound_id| !received.contains(inbound_id))
                    .map(|inbound_id| InboundPart {
                        inbound_id,
                        units: line.quantity,
                    });
                match merged.iter_mut().find(|m| m.product.id == line.product_id) {
                    Some(known) => {
                        known.quantity += line.quantity;
                        known.from_inbound.extend(part);
                    }
                    None => merged.push(PricedLine {
                        product: products
                            .get(&line.product_id)
                            .ok_or_else(|| missing("product", line.product_id))?
                            .clone()
                            .into(),
                        quantity: line.quantity,
                        from_inbound: part.into_iter().collect(),
                    }),
                }
            }
            Ok(PricedShipment {
                warehouse: warehouse.clone().into(),
                distance_km: shipment.distance_km,
                weight_grams: shipment.weight_grams,
                cost_cents: shipment.cost_cents,
                lines: merged,
                ready_at: shipment.ready_at,
            })
        })
        .collect()
}
