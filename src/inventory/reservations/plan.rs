//! A hold's shipments and lines as its reservation row keeps them: one
//! JSON text column, `reservations.plan`, written once with the row.
//!
//! They were rows of their own (`reservation_shipments`,
//! `reservation_lines`) until migration 16. A hold is written once and
//! never changed, and it is read back whole, by its id; as rows, each hold
//! cost PostgreSQL two more heap tuples, five index entries and two
//! sequence steps: a quarter of its CPU per hold in the flash-sale benchmark.
//! The SQL that reports across holds (reconciliation, the promise books,
//! the tests' invariants) reads the same two names as views that unpack
//! this column (see the migration), so it did not change.
//!
//! A line is kept as it was planned, one entry per source of its units:
//! those on hand, then one per inbound shipment it pre-orders. When such an
//! inbound is received the entry is left as it is: its units are held on
//! the stock level from then on, which readers tell by the inbound's
//! status (the `reservation_lines` view shows such an entry with no
//! inbound, as the rows were rewritten before).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::inventory::{InventoryError, planning::PricedShipment};

/// One shipment of a stored plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredShipment {
    pub warehouse_id: i32,
    pub distance_km: f64,
    pub weight_grams: i64,
    pub cost_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<DateTime<Utc>>,
    pub lines: Vec<StoredLine>,
}

/// Units of one product in a shipment, from one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLine {
    pub product_id: i32,
    pub quantity: i32,
    /// The inbound shipment the units were pre-ordered from, as 32 hex
    /// digits: the one spelling both backends' views can compare with
    /// their own (PostgreSQL reads it as a uuid, SQLite as the hex of its
    /// blob).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "simple_uuid")]
    pub inbound_id: Option<Uuid>,
}

/// The column's text for `shipments`.
pub fn encode(shipments: &[PricedShipment]) -> String {
    let stored: Vec<StoredShipment> = shipments
        .iter()
        .map(|s| StoredShipment {
            warehouse_id: s.warehouse.id,
            distance_km: s.distance_km,
            weight_grams: s.weight_grams,
            cost_cents: s.cost_cents,
            ready_at: s.ready_at,
            lines: s
                .lines
                .iter()
                .flat_map(|l| {
                    let on_hand = (l.from_stock() > 0).then_some((l.from_stock(), None));
                    let pre_ordered = l
                        .from_inbound
                        .iter()
                        .map(|part| (part.units, Some(part.inbound_id)));
                    on_hand
                        .into_iter()
                        .chain(pre_ordered)
                        .map(|(quantity, inbound_id)| StoredLine {
                            product_id: l.product.id,
                            quantity,
                            inbound_id,
                        })
                })
                .collect(),
        })
        .collect();
    serde_json::to_string(&stored).expect("a plan is plain data")
}

/// The shipments stored in reservation `id`'s `plan`.
pub fn decode(id: Uuid, plan: &str) -> Result<Vec<StoredShipment>, InventoryError> {
    serde_json::from_str(plan).map_err(|e| {
        InventoryError::Internal(format!("reservation {id} has an unreadable plan: {e}"))
    })
}

/// Every line of `shipments` with the warehouse of its shipment.
pub fn lines_of(shipments: &[StoredShipment]) -> impl Iterator<Item = (i32, &StoredLine)> {
    shipments
        .iter()
        .flat_map(|s| s.lines.iter().map(move |l| (s.warehouse_id, l)))
}

mod simple_uuid {
    use serde::{Deserialize, Deserializer, Serializer};
    use uuid::Uuid;

    pub fn serialize<S: Serializer>(id: &Option<Uuid>, to: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => to.collect_str(&id.simple()),
            None => to.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Option<Uuid>, D::Error> {
        Option::<String>::deserialize(from)?
            .map(|text| Uuid::parse_str(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reads_back_as_written_and_spells_inbounds_as_hex() {
        let inbound = Uuid::new_v4();
        let shipments = vec![StoredShipment {
            warehouse_id: 3,
            distance_km: 12.5,
            weight_grams: 900,
            cost_cents: 499,
            ready_at: Some(DateTime::from_timestamp(1_800_000_000, 0).unwrap()),
            lines: vec![
                StoredLine {
                    product_id: 7,
                    quantity: 2,
                    inbound_id: None,
                },
                StoredLine {
                    product_id: 7,
                    quantity: 1,
                    inbound_id: Some(inbound),
                },
            ],
        }];
        let text = serde_json::to_string(&shipments).unwrap();
        assert!(
            text.contains(&format!("\"{}\"", inbound.simple())),
            "{text}"
        );
        // An on-hand line names no inbound at all: the views read NULL.
        assert!(text.contains(r#"{"product_id":7,"quantity":2}"#), "{text}");
        assert_eq!(decode(Uuid::nil(), &text).unwrap(), shipments);
    }

    #[test]
    fn an_unreadable_plan_is_an_internal_error_naming_the_hold() {
        let id = Uuid::new_v4();
        let error = decode(id, "[{").unwrap_err();
        assert!(matches!(error, InventoryError::Internal(ref m) if m.contains(&id.to_string())));
    }
}
