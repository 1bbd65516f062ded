//! What can be sold: stock summed over the active warehouses, and where it is.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::{InventoryError, catalogue::location_of};
use crate::{
    entities::{product, stock_level, warehouse},
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

/// Sums one product's stock levels. Levels in warehouses that are inactive
/// or not in `warehouses` count for nothing: they cannot ship.
pub fn summarize<'a>(
    sku: &str,
    levels: impl IntoIterator<Item = &'a stock_level::Model>,
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
        summary.on_hand += i64::from(level.quantity);
        summary.reserved += i64::from(level.reserved);
        if level.available() > 0 {
            let distance_km = match ship_to {
                Some(to) => Some(distance_km(to, location_of(warehouse)?)),
                None => None,
            };
            summary.warehouses.push(WarehouseAvailability {
                warehouse: warehouse.clone(),
                available: level.available(),
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
/// is answered twice). Three statements, however many SKUs: products,
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
    let products = product::Entity::find()
        .filter(product::Column::Sku.is_in(skus.iter().map(String::as_str)))
        .all(db)
        .await?;
    let by_sku: HashMap<&str, &product::Model> =
        products.iter().map(|p| (p.sku.as_str(), p)).collect();
    let mut unknown: Vec<&str> = skus
        .iter()
        .map(String::as_str)
        .filter(|sku| !by_sku.contains_key(sku))
        .collect();
    if !unknown.is_empty() {
        unknown.dedup();
        return Err(InventoryError::invalid(
            "skus",
            format!("unknown SKU: {}", unknown.join(", ")),
        ));
    }

    let levels = stock_level::Entity::find()
        .filter(stock_level::Column::ProductId.is_in(products.iter().map(|p| p.id)))
        .all(db)
        .await?;
    let mut warehouse_ids: Vec<i32> = levels.iter().map(|l| l.warehouse_id).collect();
    warehouse_ids.sort_unstable();
    warehouse_ids.dedup();
    let warehouses: HashMap<i32, warehouse::Model> = warehouse::Entity::find()
        .filter(warehouse::Column::Id.is_in(warehouse_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let mut levels_by_product: HashMap<i32, Vec<stock_level::Model>> = HashMap::new();
    for level in levels {
        levels_by_product
            .entry(level.product_id)
            .or_default()
            .push(level);
    }

    skus.iter()
        .map(|sku| {
            let product = by_sku[sku.as_str()];
            let levels = levels_by_product.get(&product.id).into_iter().flatten();
            summarize(sku, levels, &warehouses, ship_to)
        })
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

    fn level(warehouse_id: i32, quantity: i32, reserved: i32) -> stock_level::Model {
        stock_level::Model {
            id: warehouse_id,
            product_id: 1,
            warehouse_id,
            quantity,
            reserved,
            version: 0,
            updated_at: Utc::now(),
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
