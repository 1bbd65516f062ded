//! What can be sold: stock summed over the active warehouses, and where it is.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    sea_query::{Expr, ExprTrait, JoinType, Query},
};

use super::{InventoryError, catalogue::location_of};
use crate::{
    entities::{stock_level, warehouse},
    geography::{Location, distance_km},
};

/// The most SKUs one availability request may ask about.
pub const MAX_SKUS: usize = 100;

/// A product's stock, summed over active warehouses. Sums are 64-bit: a
/// catalogue may hold more units in total than one 32-bit level can.
#[derive(Clone, Debug, PartialEq)]
pub struct Availability {
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    /// Active warehouses with something available: nearest first when there
    /// was a destination, else by code.
    pub warehouses: Vec<WarehouseAvailability>,
}

impl Availability {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }

    pub fn in_stock(&self) -> bool {
        self.available() > 0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct WarehouseAvailability {
    pub warehouse: warehouse::Model,
    pub available: i32,
    pub distance_km: Option<f64>,
}

/// The counts of one stock level that availability needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelCounts {
    pub warehouse_id: i32,
    pub quantity: i32,
    pub reserved: i32,
}

impl From<&stock_level::Model> for LevelCounts {
    fn from(level: &stock_level::Model) -> Self {
        LevelCounts {
            warehouse_id: level.warehouse_id,
            quantity: level.quantity,
            reserved: level.reserved,
        }
    }
}

/// Sums one product's stock levels. Levels in warehouses that are inactive
/// or not in `warehouses` count for nothing: they cannot ship.
pub fn summarize<'a>(
    sku: &str,
    levels: impl IntoIterator<Item = &'a LevelCounts>,
    warehouses: &HashMap<i32, warehouse::Model>,
    ship_to: Option<Location>,
) -> Result<Availability, InventoryError> {
    let mut summary = Availability {
        sku: sku.to_owned(),
        on_hand: 0,
        reserved: 0,
        warehouses: Vec::new(),
    };
    for level in levels {
        let Some(warehouse) = warehouses.get(&level.warehouse_id).filter(|w| w.active) else {
            continue;
        };
        let available = level.quantity - level.reserved;
        summary.on_hand += i64::from(level.quantity);
        summary.reserved += i64::from(level.reserved);
        if available > 0 {
            let distance_km = match ship_to {
                Some(to) => Some(distance_km(to, location_of(warehouse)?)),
                None => None,
            };
            summary.warehouses.push(WarehouseAvailability {
                warehouse: warehouse.clone(),
                available,
                distance_km,
            });
        }
    }
    summary.warehouses.sort_by(|a, b| {
        let by_distance = match (a.distance_km, b.distance_km) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => std::cmp::Ordering::Equal,
        };
        by_distance.then_with(|| a.warehouse.code.cmp(&b.warehouse.code))
    });
    Ok(summary)
}

/// Availability of each requested SKU, in request order (a SKU asked twice
/// is answered twice). Two statements, however many SKUs: the products with
/// their stock levels, and the warehouses holding them.
pub async fn availability_for_skus(
    db: &DatabaseConnection,
    skus: &[String],
    ship_to: Option<Location>,
) -> Result<Vec<Availability>, InventoryError> {
    if skus.len() > MAX_SKUS {
        return Err(InventoryError::invalid(
            "skus",
            format!("at most {MAX_SKUS} SKUs per request, got {}", skus.len()),
        ));
    }
    if skus.is_empty() {
        return Ok(Vec::new());
    }
    // One statement for the counts: each requested product with its levels
    // (a product without any still answers, so that unknown SKUs show).
    let mut query = Query::select();
    query
        .column(("p", "sku"))
        .column(("i", "warehouse_id"))
        .column(("i", "quantity"))
        .column(("i", "reserved"))
        .from_as("products", "p")
        .join_as(
            JoinType::LeftJoin,
            "inventory",
            "i",
            Expr::col(("i", "product_id")).equals(("p", "id")),
        )
        .and_where(Expr::col(("p", "sku")).is_in(skus.iter().map(String::as_str)));
    let rows = SkuLevel::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;

    let mut levels_by_sku: HashMap<&str, Vec<LevelCounts>> = HashMap::new();
    for row in &rows {
        let levels = levels_by_sku.entry(row.sku.as_str()).or_default();
        if let (Some(warehouse_id), Some(quantity), Some(reserved)) =
            (row.warehouse_id, row.quantity, row.reserved)
        {
            levels.push(LevelCounts {
                warehouse_id,
                quantity,
                reserved,
            });
        }
    }
    let mut unknown: Vec<&str> = skus
        .iter()
        .map(String::as_str)
        .filter(|sku| !levels_by_sku.contains_key(sku))
        .collect();
    if !unknown.is_empty() {
        unknown.dedup();
        return Err(InventoryError::invalid(
            "skus",
            format!("unknown SKU: {}", unknown.join(", ")),
        ));
    }

    // And one for the warehouses that hold them.
    let mut warehouse_ids: Vec<i32> = levels_by_sku
        .values()
        .flatten()
        .map(|l| l.warehouse_id)
        .collect();
    warehouse_ids.sort_unstable();
    warehouse_ids.dedup();
    let warehouses: HashMap<i32, warehouse::Model> = if warehouse_ids.is_empty() {
        HashMap::new()
    } else {
        warehouse::Entity::find()
            .filter(warehouse::Column::Id.is_in(warehouse_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|w| (w.id, w))
            .collect()
    };

    skus.iter()
        .map(|sku| summarize(sku, &levels_by_sku[sku.as_str()], &warehouses, ship_to))
        .collect()
}

#[derive(FromQueryResult)]
struct SkuLevel {
    sku: String,
    warehouse_id: Option<i32>,
    quantity: Option<i32>,
    reserved: Option<i32>,
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn warehouse(id: i32, code: &str, lat: f64, lon: f64, active: bool) -> warehouse::Model {
        warehouse::Model {
            id,
            code: code.into(),
            name: code.into(),
            city: None,
            latitude: lat,
            longitude: lon,
            active,
            base_cents: 0,
            cents_per_100km: 0,
            cents_per_kg: 0,
            created_at: Utc::now(),
        }
    }

    fn level(warehouse_id: i32, quantity: i32, reserved: i32) -> LevelCounts {
        LevelCounts {
            warehouse_id,
            quantity,
            reserved,
        }
    }

    #[test]
    fn sums_active_warehouses_and_lists_those_with_stock_nearest_first() {
        let warehouses: HashMap<i32, warehouse::Model> = [
            warehouse(1, "PAR1", 48.8566, 2.3522, true),
            warehouse(2, "BER1", 52.52, 13.405, true),
            warehouse(3, "DUB1", 53.35, -6.26, false),
            warehouse(4, "MAD1", 40.4168, -3.7038, true),
        ]
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
        let levels = [
            level(1, 10, 4),
            level(2, 5, 0),
            level(3, 100, 0),
            level(4, 3, 3),
        ];
        let potsdam = Location::new(52.39, 13.06).unwrap();

        let near = summarize("X", &levels, &warehouses, Some(potsdam)).unwrap();
        assert_eq!((near.on_hand, near.reserved, near.available()), (18, 7, 11));
        assert!(near.in_stock());
        let codes: Vec<&str> = near
            .warehouses
            .iter()
            .map(|w| w.warehouse.code.as_str())
            .collect();
        assert_eq!(
            codes,
            ["BER1", "PAR1"],
            "inactive and fully reserved are left out"
        );
        assert!(near.warehouses[0].distance_km.unwrap() < 50.0);

        let anywhere = summarize("X", &levels, &warehouses, None).unwrap();
        let codes: Vec<&str> = anywhere
            .warehouses
            .iter()
            .map(|w| w.warehouse.code.as_str())
            .collect();
        assert_eq!(codes, ["BER1", "PAR1"]);
        assert!(anywhere.warehouses.iter().all(|w| w.distance_km.is_none()));
    }

    #[test]
    fn equal_distances_break_ties_by_code() {
        let warehouses: HashMap<i32, warehouse::Model> = [
            warehouse(1, "B", 10.0, 10.0, true),
            warehouse(2, "A", 10.0, 10.0, true),
        ]
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
        let levels = [level(1, 1, 0), level(2, 1, 0)];
        let here = Location::new(0.0, 0.0).unwrap();
        let summary = summarize("X", &levels, &warehouses, Some(here)).unwrap();
        assert_eq!(summary.warehouses[0].warehouse.code, "A");
    }
}
