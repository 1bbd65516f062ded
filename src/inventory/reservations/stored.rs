//! Reading a hold back: the reservation, its shipments and their lines,
//! with the warehouses and products they name.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::Hold;
use crate::{
    db::bulk,
    entities::{product, reservation, reservation_line, reservation_shipment, warehouse},
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

/// The holds with these ids that exist, by id: five statements for any
/// number of them.
pub async fn find_many(
    connection: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, Hold>, InventoryError> {
    let backend = connection.get_database_backend();
    let reservations = reservation::Entity::find()
        .filter(bulk::is_one_of(
            backend,
            reservation::Column::Id,
            ids.clone(),
        ))
        .all(connection)
        .await?;
    if reservations.is_empty() {
        return Ok(HashMap::new());
    }
    // Rows come back in the order they were written: the plan's order.
    let mut shipments: HashMap<Uuid, Vec<reservation_shipment::Model>> = HashMap::new();
    for shipment in reservation_shipment::Entity::find()
        .filter(bulk::is_one_of(
            backend,
            reservation_shipment::Column::ReservationId,
            ids.clone(),
        ))
        .order_by_asc(reservation_shipment::Column::Id)
        .all(connection)
        .await?
    {
        shipments
            .entry(shipment.reservation_id)
            .or_default()
            .push(shipment);
    }
    let mut lines: HashMap<Uuid, Vec<reservation_line::Model>> = HashMap::new();
    for line in reservation_line::Entity::find()
        .filter(bulk::is_one_of(
            backend,
            reservation_line::Column::ReservationId,
            ids,
        ))
        .order_by_asc(reservation_line::Column::Id)
        .all(connection)
        .await?
    {
        lines.entry(line.reservation_id).or_default().push(line);
    }
    let mut warehouse_ids: Vec<i32> = shipments
        .values()
        .flatten()
        .map(|s| s.warehouse_id)
        .collect();
    warehouse_ids.sort_unstable();
    warehouse_ids.dedup();
    let warehouses: HashMap<i32, warehouse::Model> = warehouse::Entity::find()
        .filter(warehouse::Column::Id.is_in(warehouse_ids))
        .all(connection)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let mut product_ids: Vec<i32> = lines.values().flatten().map(|l| l.product_id).collect();
    product_ids.sort_unstable();
    product_ids.dedup();
    let products: HashMap<i32, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(product_ids))
        .all(connection)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    reservations
        .into_iter()
        .map(|reservation| {
            let id = reservation.id;
            let hold = assemble(
                reservation,
                shipments.remove(&id).unwrap_or_default(),
                lines.remove(&id).unwrap_or_default(),
                &warehouses,
                &products,
            )?;
            Ok((id, hold))
        })
        .collect()
}

/// A hold from its rows, with the warehouses and products they name.
fn assemble(
    reservation: reservation::Model,
    shipments: Vec<reservation_shipment::Model>,
    lines: Vec<reservation_line::Model>,
    warehouses: &HashMap<i32, warehouse::Model>,
    products: &HashMap<i32, product::Model>,
) -> Result<Hold, InventoryError> {
    let id = reservation.id;
    let missing = |what: &str, row: i32| {
        InventoryError::Internal(format!("reservation {id} names a missing {what} {row}"))
    };
    let shipments = shipments
        .into_iter()
        .map(|shipment| {
            let warehouse = warehouses
                .get(&shipment.warehouse_id)
                .ok_or_else(|| missing("warehouse", shipment.warehouse_id))?;
            // A product's units on hand and on each inbound are rows of
            // their own; the shipment shows one line per product.
            let mut merged: Vec<PricedLine> = Vec::new();
            for line in lines
                .iter()
                .filter(|l| l.warehouse_id == shipment.warehouse_id)
            {
                let part = line.inbound_id.map(|inbound_id| InboundPart {
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
                            .clone(),
                        quantity: line.quantity,
                        from_inbound: part.into_iter().collect(),
                    }),
                }
            }
            let lines = merged;
            Ok(PricedShipment {
                warehouse: warehouse.clone(),
                distance_km: shipment.distance_km,
                weight_grams: shipment.weight_grams,
                cost_cents: shipment.cost_cents,
                lines,
                ready_at: shipment.ready_at,
            })
        })
        .collect::<Result<_, InventoryError>>()?;
    Ok(Hold {
        reservation,
        shipments,
    })
}
