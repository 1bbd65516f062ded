//! What can be sold: stock summed over the active warehouses, and where it is.

use std::collections::{HashMap, hash_map::Entry};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, FromQueryResult,
    sea_query::{Expr, ExprTrait, JoinType, Query},
};

use super::{InventoryError, WAREHOUSE_COLUMNS, catalogue::location_of, rules};
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
    distances: Option<&HashMap<i32, f64>>,
) -> Availability {
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
            let distance_km = distances.and_then(|d| d.get(&warehouse.id).copied());
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
    summary
}

/// Availability of each requested SKU, in request order (a SKU asked twice
/// is answered twice), in one statement however many SKUs.
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
    for (i, sku) in skus.iter().enumerate() {
        rules::identifier(sku, &format!("skus[{i}]"))?;
    }
    if skus.is_empty() {
        return Ok(Vec::new());
    }
    // One statement: each requested product with its levels and their
    // warehouses (a product without levels still answers, so that unknown
    // SKUs show). Storefronts send this on every page view, so it is one
    // round trip rather than one per table.
    let mut query = Query::select();
    query
        .column(("p", "sku"))
        .columns([("i", "quantity"), ("i", "reserved")])
        .columns(WAREHOUSE_COLUMNS.map(|c| ("w", c)))
        .from_as("products", "p")
        .join_as(
            JoinType::LeftJoin,
            "inventory",
            "i",
            Expr::col(("i", "product_id")).equals(("p", "id")),
        )
        .join_as(
            JoinType::LeftJoin,
            "warehouses",
            "w",
            Expr::col(("w", "id")).equals(("i", "warehouse_id")),
        )
        .and_where(Expr::col(("p", "sku")).is_in(skus.iter().map(String::as_str)));
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;

    let mut levels_by_sku: HashMap<String, Vec<LevelCounts>> = HashMap::new();
    let mut warehouses: HashMap<i32, warehouse::Model> = HashMap::new();
    for row in &rows {
        let sku: String = row.try_get("", "sku")?;
        let levels = levels_by_sku.entry(sku).or_default();
        let Some(warehouse_id) = row.try_get::<Option<i32>>("", "id")? else {
            continue;
        };
        levels.push(LevelCounts {
            warehouse_id,
            quantity: row.try_get("", "quantity")?,
            reserved: row.try_get("", "reserved")?,
        });
        if let Entry::Vacant(slot) = warehouses.entry(warehouse_id) {
            slot.insert(warehouse::Model::from_query_result(row, "")?);
        }
    }
    let mut unknown: Vec<&str> = skus
        .iter()
        .map(String::as_str)
        .filter(|sku| !levels_by_sku.contains_key(*sku))
        .collect();
    if !unknown.is_empty() {
        unknown.dedup();
        return Err(InventoryError::invalid(
            "skus",
            format!("unknown SKU: {}", unknown.join(", ")),
        ));
    }

    // A warehouse's distance is the same for every SKU it holds.
    let distances = match ship_to {
        Some(to) => Some(distances_from(to, warehouses.values())?),
        None => None,
    };
    Ok(skus
        .iter()
        .map(|sku| summarize(sku, &levels_by_sku[sku], &warehouses, distances.as_ref()))
        .collect())
}

/// Geodesic distance from `to` to each warehouse, by warehouse id.
pub fn distances_from<'a>(
    to: Location,
    warehouses: impl IntoIterator<Item = &'a warehouse::Model>,
) -> Result<HashMap<i32, f64>, InventoryError> {
    warehouses
        .into_iter()
        .map(|w| Ok((w.id, distance_km(to, location_of(w)?))))
        .collect()
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

        let distances = distances_from(potsdam, warehouses.values()).unwrap();
        let near = summarize("X", &levels, &warehouses, Some(&distances));
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

        let anywhere = summarize("X", &levels, &warehouses, None);
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
        let distances = distances_from(here, warehouses.values()).unwrap();
        let summary = summarize("X", &levels, &warehouses, Some(&distances));
        assert_eq!(summary.warehouses[0].warehouse.code, "A");
    }
}
