//! Reading a hold back: the reservation, its shipments and their lines,
//! with the warehouses and products they name.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::Hold;
use crate::{
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
    let Some(reservation) = reservation::Entity::find_by_id(id).one(connection).await? else {
        return Ok(None);
    };
    // Rows come back in the order they were written: the plan's order.
    let shipments = reservation_shipment::Entity::find()
        .filter(reservation_shipment::Column::ReservationId.eq(id))
        .order_by_asc(reservation_shipment::Column::Id)
        .all(connection)
        .await?;
    let lines = reservation_line::Entity::find()
        .filter(reservation_line::Column::ReservationId.eq(id))
        .order_by_asc(reservation_line::Column::Id)
        .all(connection)
        .await?;
    let warehouses: HashMap<i32, warehouse::Model> = warehouse::Entity::find()
        .filter(warehouse::Column::Id.is_in(shipments.iter().map(|s| s.warehouse_id)))
        .all(connection)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let products: HashMap<i32, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(lines.iter().map(|l| l.product_id)))
        .all(connection)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();

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
    Ok(Some(Hold {
        reservation,
        shipments,
    }))
}
