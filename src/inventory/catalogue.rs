//! Reading the catalogue: products and warehouses.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{InventoryError, Page, PageSize, rules};
use crate::{
    entities::{product, warehouse},
    geography::{Location, distance_km},
};

/// The product with this SKU. A string that cannot be a SKU names none,
/// and is not sent to the database.
pub async fn product_by_sku(
    db: &DatabaseConnection,
    sku: &str,
) -> Result<Option<product::Model>, InventoryError> {
    if rules::identifier(sku, "sku").is_err() {
        return Ok(None);
    }
    Ok(product::Entity::find()
        .filter(product::Column::Sku.eq(sku))
        .one(db)
        .await?)
}

/// The products named by `skus` (at most 100), one statement; an unknown or
/// malformed SKU is refused as `{field}[i]`.
pub async fn products_by_skus(
    db: &DatabaseConnection,
    skus: &[String],
    field: &str,
) -> Result<Vec<product::Model>, InventoryError> {
    check_list(skus, field)?;
    let found = product::Entity::find()
        .filter(product::Column::Sku.is_in(skus.iter().map(String::as_str)))
        .all(db)
        .await?;
    in_request_order(skus, found, |p| &p.sku, field, "SKU")
}

/// The warehouses named by `codes` (at most 100), one statement; an unknown
/// or malformed code is refused as `{field}[i]`.
pub async fn warehouses_by_codes(
    db: &DatabaseConnection,
    codes: &[String],
    field: &str,
) -> Result<Vec<warehouse::Model>, InventoryError> {
    check_list(codes, field)?;
    let found = warehouse::Entity::find()
        .filter(warehouse::Column::Code.is_in(codes.iter().map(String::as_str)))
        .all(db)
        .await?;
    in_request_order(codes, found, |w| &w.code, field, "warehouse code")
}

/// The most names one list argument may hold.
pub const MAX_NAMES: usize = 100;

fn check_list(names: &[String], field: &str) -> Result<(), InventoryError> {
    if names.len() > MAX_NAMES {
        return Err(InventoryError::invalid(
            field,
            format!("at most {MAX_NAMES} entries, got {}", names.len()),
        ));
    }
    for (i, name) in names.iter().enumerate() {
        rules::identifier(name, &format!("{field}[{i}]"))?;
    }
    Ok(())
}

fn in_request_order<T: Clone>(
    names: &[String],
    found: Vec<T>,
    name_of: impl Fn(&T) -> &String,
    field: &str,
    what: &str,
) -> Result<Vec<T>, InventoryError> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            found
                .iter()
                .find(|row| name_of(row) == name)
                .cloned()
                .ok_or_else(|| {
                    InventoryError::invalid(
                        format!("{field}[{i}]"),
                        format!("unknown {what} `{name}`"),
                    )
                })
        })
        .collect()
}

/// Products in SKU order, after the SKU `after` when given.
pub async fn products_page(
    db: &DatabaseConnection,
    size: PageSize,
    after: Option<&str>,
) -> Result<Page<product::Model>, InventoryError> {
    let mut query = product::Entity::find().order_by_asc(product::Column::Sku);
    if let Some(after) = after {
        query = query.filter(product::Column::Sku.gt(after));
    }
    let rows = query.limit(size.get() + 1).all(db).await?;
    Ok(Page::from_overfetch(rows, size))
}

/// The warehouse with this code; like [`product_by_sku`], a malformed code
/// names none.
pub async fn warehouse_by_code(
    db: &DatabaseConnection,
    code: &str,
) -> Result<Option<warehouse::Model>, InventoryError> {
    if rules::identifier(code, "code").is_err() {
        return Ok(None);
    }
    Ok(warehouse::Entity::find()
        .filter(warehouse::Column::Code.eq(code))
        .one(db)
        .await?)
}

/// Which warehouses to list: all by code, or those near a point (optionally
/// within a radius) nearest first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WarehouseSearch {
    All,
    Near {
        origin: Location,
        radius_km: Option<f64>,
    },
}

impl WarehouseSearch {
    pub fn new(near: Option<Location>, radius_km: Option<f64>) -> Result<Self, InventoryError> {
        if let Some(radius) = radius_km
            && !(radius.is_finite() && radius > 0.0)
        {
            return Err(InventoryError::invalid(
                "radiusKm",
                format!("must be a positive number of kilometres, got {radius}"),
            ));
        }
        match (near, radius_km) {
            (None, None) => Ok(WarehouseSearch::All),
            (None, Some(_)) => Err(InventoryError::invalid(
                "radiusKm",
                "needs `near`: a radius is measured from a point",
            )),
            (Some(origin), radius_km) => Ok(WarehouseSearch::Near { origin, radius_km }),
        }
    }
}

/// A warehouse with its distance from the search origin, when there was one.
#[derive(Clone, Debug)]
pub struct WarehouseHit {
    pub warehouse: warehouse::Model,
    pub distance_km: Option<f64>,
}

pub async fn find_warehouses(
    db: &DatabaseConnection,
    search: WarehouseSearch,
) -> Result<Vec<WarehouseHit>, InventoryError> {
    let all = warehouse::Entity::find()
        .order_by_asc(warehouse::Column::Code)
        .all(db)
        .await?;
    let WarehouseSearch::Near { origin, radius_km } = search else {
        return Ok(all
            .into_iter()
            .map(|warehouse| WarehouseHit {
                warehouse,
                distance_km: None,
            })
            .collect());
    };
    let mut hits = Vec::with_capacity(all.len());
    for warehouse in all {
        let km = distance_km(origin, location_of(&warehouse)?);
        if radius_km.is_none_or(|radius| km <= radius) {
            hits.push(WarehouseHit {
                warehouse,
                distance_km: Some(km),
            });
        }
    }
    // Already in code order, and the sort is stable: equal distances keep it.
    hits.sort_by(|a, b| a.distance_km.partial_cmp(&b.distance_km).expect("finite"));
    Ok(hits)
}

/// A stored warehouse's position. The table's CHECK constraints keep it in
/// range, so a failure here means the row was corrupted behind our back.
pub fn location_of(warehouse: &warehouse::Model) -> Result<Location, InventoryError> {
    Location::new(warehouse.latitude, warehouse.longitude).map_err(|e| {
        InventoryError::Database(sea_orm::DbErr::Custom(format!(
            "warehouse {} has a stored position out of range: {e}",
            warehouse.code
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_radius_needs_a_point_and_must_be_positive() {
        let berlin = Location::new(52.52, 13.405).unwrap();
        assert!(WarehouseSearch::new(None, Some(10.0)).is_err());
        assert!(WarehouseSearch::new(Some(berlin), Some(0.0)).is_err());
        assert!(WarehouseSearch::new(Some(berlin), Some(f64::NAN)).is_err());
        assert_eq!(
            WarehouseSearch::new(Some(berlin), Some(5.0)).unwrap(),
            WarehouseSearch::Near {
                origin: berlin,
                radius_km: Some(5.0)
            }
        );
        assert_eq!(
            WarehouseSearch::new(None, None).unwrap(),
            WarehouseSearch::All
        );
    }
}
