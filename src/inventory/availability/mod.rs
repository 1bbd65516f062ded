//! What can be sold: stock summed over the active warehouses, and where it is.

mod cache;

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::Arc,
};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, FromQueryResult,
    sea_query::{Expr, ExprTrait, JoinType, Query},
};

use super::{InventoryError, WAREHOUSE_COLUMNS, catalogue::location_of, rules};
use crate::{
    entities::{stock_level, warehouse},
    geography::{Location, distance_km},
};
pub use cache::{AvailabilityCache, DEFAULT_MAX_AGE, StockChanged};
pub use cache::{Lookup, ReadStart};

/// The most SKUs one availability request may ask about.
pub const MAX_SKUS: usize = 100;

/// A product's stock, summed over active warehouses. Sums are 64-bit: a
/// catalogue may hold more units in total than one 32-bit level can.
#[derive(Clone, Debug, PartialEq)]
pub struct Availability {
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    /// What the active warehouses offer: each one's on hand less its
    /// reserved units and safety stock, never below 0.
    pub available: i64,
    /// Active warehouses with something available: nearest first when there
    /// was a destination, else by code.
    pub warehouses: Vec<WarehouseAvailability>,
}

impl Availability {
    pub fn available(&self) -> i64 {
        self.available
    }

    pub fn in_stock(&self) -> bool {
        self.available() > 0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct WarehouseAvailability {
    pub warehouse: Arc<warehouse::Model>,
    pub available: i32,
    pub distance_km: Option<f64>,
}

/// What one stock level holds, and where: what availability needs of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Holding {
    pub warehouse: Arc<warehouse::Model>,
    pub quantity: i32,
    pub reserved: i32,
    pub safety_stock: i32,
}

impl Holding {
    /// What this level offers.
    pub fn available(&self) -> i32 {
        stock_level::available(self.quantity, self.reserved, self.safety_stock)
    }
}

/// Sums one product's holdings. Holdings in inactive warehouses count for
/// nothing: they cannot ship.
pub fn summarize<'a>(
    sku: &str,
    holdings: impl IntoIterator<Item = &'a Holding>,
    distances: Option<&HashMap<i32, f64>>,
) -> Availability {
    let mut summary = Availability {
        sku: sku.to_owned(),
        on_hand: 0,
        reserved: 0,
        available: 0,
        warehouses: Vec::new(),
    };
    for holding in holdings {
        let warehouse = &holding.warehouse;
        if !warehouse.active {
            continue;
        }
        let available = holding.available();
        summary.on_hand += i64::from(holding.quantity);
        summary.reserved += i64::from(holding.reserved);
        summary.available += i64::from(available);
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
/// is answered twice), read from the database in one statement however
/// many SKUs: for those who must see every commit, such as a subscription
/// answering an event.
pub async fn availability_for_skus(
    db: &DatabaseConnection,
    skus: &[String],
    ship_to: Option<Location>,
) -> Result<Vec<Availability>, InventoryError> {
    AvailabilityCache::disabled()
        .availability_for_skus(db, skus, ship_to)
        .await
}

impl AvailabilityCache {
    /// As [`availability_for_skus`], reading only the SKUs this cache has
    /// no current entry for, and keeping what it read.
    pub async fn availability_for_skus(
        &self,
        db: &DatabaseConnection,
        skus: &[String],
        ship_to: Option<Location>,
    ) -> Result<Vec<Availability>, InventoryError> {
        check_skus(skus)?;
        let found = self.holdings(db, skus).await?;
        let mut unknown: Vec<&str> = skus
            .iter()
            .map(String::as_str)
            .filter(|sku| !found.contains_key(*sku))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            unknown.dedup();
            return Err(InventoryError::invalid(
                "skus",
                format!("unknown SKU: {}", unknown.join(", ")),
            ));
        }
        // A warehouse's distance is the same for every SKU it holds.
        let distances = match ship_to {
            Some(to) => {
                let mut warehouses: HashMap<i32, &warehouse::Model> = HashMap::new();
                for holdings in found.values() {
                    for holding in holdings.iter() {
                        warehouses.insert(holding.warehouse.id, &holding.warehouse);
                    }
                }
                Some(distances_from(to, warehouses.into_values())?)
            }
            None => None,
        };
        Ok(skus
            .iter()
            .map(|sku| summarize(sku, found[sku].iter(), distances.as_ref()))
            .collect())
    }

    /// The holdings of each of `skus` in the catalogue (an unknown SKU is
    /// left out): from memory where current, the rest read in one
    /// statement and kept.
    pub async fn holdings(
        &self,
        db: &DatabaseConnection,
        skus: &[String],
    ) -> Result<HashMap<String, Arc<[Holding]>>, InventoryError> {
        let Lookup { read, mut found } = self.lookup(skus);
        let mut missing: Vec<&str> = skus
            .iter()
            .map(String::as_str)
            .filter(|sku| !found.contains_key(*sku))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let loaded = holdings_of(db, &missing).await?;
            self.keep(
                read,
                loaded
                    .iter()
                    .map(|(sku, (id, holdings))| (sku.clone(), *id, holdings.clone())),
            );
            found.extend(
                loaded
                    .into_iter()
                    .map(|(sku, (_, holdings))| (sku, holdings)),
            );
        }
        Ok(found)
    }
}

fn check_skus(skus: &[String]) -> Result<(), InventoryError> {
    if skus.len() > MAX_SKUS {
        return Err(InventoryError::invalid(
            "skus",
            format!("at most {MAX_SKUS} SKUs per request, got {}", skus.len()),
        ));
    }
    for (i, sku) in skus.iter().enumerate() {
        rules::identifier(sku, &format!("skus[{i}]"))?;
    }
    Ok(())
}

/// The holdings of each of `skus` that is in the catalogue, with its
/// product id, in one statement: each product with its levels and their
/// warehouses (a product without levels still answers, so that unknown
/// SKUs show).
async fn holdings_of(
    db: &DatabaseConnection,
    skus: &[&str],
) -> Result<HashMap<String, (i32, Arc<[Holding]>)>, InventoryError> {
    let mut query = Query::select();
    query
        .column(("p", "sku"))
        .expr_as(Expr::col(("p", "id")), "product_id")
        .columns([("i", "quantity"), ("i", "reserved"), ("i", "safety_stock")])
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
        .and_where(Expr::col(("p", "sku")).is_in(skus.iter().copied()));
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;

    let mut by_sku: HashMap<String, (i32, Vec<Holding>)> = HashMap::new();
    // One copy of each warehouse, however many SKUs it holds.
    let mut warehouses: HashMap<i32, Arc<warehouse::Model>> = HashMap::new();
    for row in &rows {
        let sku: String = row.try_get("", "sku")?;
        let product_id: i32 = row.try_get("", "product_id")?;
        let (_, holdings) = by_sku
            .entry(sku)
            .or_insert_with(|| (product_id, Vec::new()));
        let Some(warehouse_id) = row.try_get::<Option<i32>>("", "id")? else {
            continue;
        };
        let warehouse = match warehouses.entry(warehouse_id) {
            Entry::Occupied(known) => known.get().clone(),
            Entry::Vacant(slot) => slot
                .insert(Arc::new(warehouse::Model::from_query_result(row, "")?))
                .clone(),
        };
        holdings.push(Holding {
            warehouse,
            quantity: row.try_get("", "quantity")?,
            reserved: row.try_get("", "reserved")?,
            safety_stock: row.try_get("", "safety_stock")?,
        });
    }
    Ok(by_sku
        .into_iter()
        .map(|(sku, (id, holdings))| (sku, (id, Arc::from(holdings))))
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

    fn warehouse(id: i32, code: &str, lat: f64, lon: f64, active: bool) -> Arc<warehouse::Model> {
        Arc::new(warehouse::Model {
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
            daily_shipment_capacity: None,
            created_at: Utc::now(),
        })
    }

    fn holding(warehouse: &Arc<warehouse::Model>, quantity: i32, reserved: i32) -> Holding {
        Holding {
            warehouse: warehouse.clone(),
            quantity,
            reserved,
            safety_stock: 0,
        }
    }

    fn codes(summary: &Availability) -> Vec<&str> {
        summary
            .warehouses
            .iter()
            .map(|w| w.warehouse.code.as_str())
            .collect()
    }

    #[test]
    fn sums_active_warehouses_and_lists_those_with_stock_nearest_first() {
        let paris = warehouse(1, "PAR1", 48.8566, 2.3522, true);
        let berlin = warehouse(2, "BER1", 52.52, 13.405, true);
        let dublin = warehouse(3, "DUB1", 53.35, -6.26, false);
        let madrid = warehouse(4, "MAD1", 40.4168, -3.7038, true);
        let holdings = [
            holding(&paris, 10, 4),
            holding(&berlin, 5, 0),
            holding(&dublin, 100, 0),
            holding(&madrid, 3, 3),
        ];
        let potsdam = Location::new(52.39, 13.06).unwrap();

        let distances =
            distances_from(potsdam, holdings.iter().map(|h| h.warehouse.as_ref())).unwrap();
        let near = summarize("X", &holdings, Some(&distances));
        assert_eq!((near.on_hand, near.reserved, near.available()), (18, 7, 11));
        assert!(near.in_stock());
        assert_eq!(
            codes(&near),
            ["BER1", "PAR1"],
            "inactive and fully reserved are left out"
        );
        assert!(near.warehouses[0].distance_km.unwrap() < 50.0);

        let anywhere = summarize("X", &holdings, None);
        assert_eq!(codes(&anywhere), ["BER1", "PAR1"]);
        assert!(anywhere.warehouses.iter().all(|w| w.distance_km.is_none()));
    }

    #[test]
    fn equal_distances_break_ties_by_code() {
        let b = warehouse(1, "B", 10.0, 10.0, true);
        let a = warehouse(2, "A", 10.0, 10.0, true);
        let holdings = [holding(&b, 1, 0), holding(&a, 1, 0)];
        let here = Location::new(0.0, 0.0).unwrap();
        let distances = distances_from(here, [b.as_ref(), a.as_ref()]).unwrap();
        let summary = summarize("X", &holdings, Some(&distances));
        assert_eq!(codes(&summary), ["A", "B"]);
    }
}
