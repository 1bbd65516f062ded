//! Adding products and warehouses to the catalogue, and switching
//! warehouses off and on.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TryInsertResult,
};

use super::{InventoryError, capacity::MAX_DAILY_SHIPMENTS, rules};
use crate::{
    entities::{product, warehouse},
    geography::Location,
    inventory::Store,
};

/// A product to add, its fields checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProduct {
    sku: String,
    name: String,
    weight_grams: i32,
}

impl NewProduct {
    pub fn new(sku: String, name: &str, weight_grams: i32) -> Result<Self, InventoryError> {
        rules::identifier(&sku, "sku")?;
        Ok(NewProduct {
            name: rules::text(name, "name")?,
            weight_grams: rules::weight_grams(weight_grams, "weightGrams")?,
            sku,
        })
    }
}

/// A warehouse to add, its fields checked.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWarehouse {
    code: String,
    name: String,
    city: Option<String>,
    location: Location,
    base_cents: i32,
    cents_per_100km: i32,
    cents_per_kg: i32,
}

/// A shipping rate as given, in cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateCents {
    pub base: i32,
    pub per_100km: i32,
    pub per_kg: i32,
}

impl NewWarehouse {
    pub fn new(
        code: String,
        name: &str,
        city: Option<&str>,
        location: Location,
        rate: RateCents,
    ) -> Result<Self, InventoryError> {
        rules::identifier(&code, "code")?;
        Ok(NewWarehouse {
            name: rules::text(name, "name")?,
            city: rules::optional_text(city, "city")?,
            location,
            base_cents: rules::rate_cents(rate.base, "shippingRate.baseCents")?,
            cents_per_100km: rules::rate_cents(rate.per_100km, "shippingRate.centsPer100Km")?,
            cents_per_kg: rules::rate_cents(rate.per_kg, "shippingRate.centsPerKg")?,
            code,
        })
    }
}

/// Adds a product; a SKU already taken is a conflict.
pub async fn register_product(
    store: &Store,
    new: NewProduct,
) -> Result<product::Model, InventoryError> {
    let sku = new.sku.clone();
    let row = product::ActiveModel {
        sku: Set(new.sku),
        name: Set(new.name),
        weight_grams: Set(new.weight_grams),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    insert_unique(store, row, product::Column::Sku, &sku, || {
        format!("a product with SKU `{sku}` already exists")
    })
    .await
}

/// Adds an active warehouse; a code already taken is a conflict.
pub async fn register_warehouse(
    store: &Store,
    new: NewWarehouse,
) -> Result<warehouse::Model, InventoryError> {
    let code = new.code.clone();
    let row = warehouse::ActiveModel {
        code: Set(new.code),
        name: Set(new.name),
        city: Set(new.city),
        latitude: Set(new.location.latitude()),
        longitude: Set(new.location.longitude()),
        active: Set(true),
        base_cents: Set(new.base_cents),
        cents_per_100km: Set(new.cents_per_100km),
        cents_per_kg: Set(new.cents_per_kg),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    insert_unique(store, row, warehouse::Column::Code, &code, || {
        format!("a warehouse with code `{code}` already exists")
    })
    .await
}

/// Switches the warehouse `code` off or on. An inactive warehouse keeps its
/// stock and its holds (they can still be confirmed or released) but is
/// never offered, planned or reserved from. Switching to the state it is in
/// changes nothing.
pub async fn set_warehouse_active(
    store: &Store,
    code: &str,
    active: bool,
) -> Result<warehouse::Model, InventoryError> {
    // What the availability cache holds says which warehouses are active:
    // all of it is stale after a change (on other replicas, within its age
    // limit).
    change_warehouse(
        store,
        code,
        true,
        |w| w.active == active,
        |row| row.active = Set(active),
    )
    .await
}

/// Sets a warehouse's daily shipment capacity (`None` removes the limit,
/// 0 to [`MAX_DAILY_SHIPMENTS`] otherwise). A limit below what a day
/// already uses cancels nothing: that day takes no more.
pub async fn set_daily_capacity(
    store: &Store,
    code: &str,
    daily_shipments: Option<i32>,
) -> Result<warehouse::Model, InventoryError> {
    if let Some(n) = daily_shipments {
        rules::between(n, 0, MAX_DAILY_SHIPMENTS, "dailyShipments")?;
    }
    // Availability does not depend on capacity: the cache stays.
    change_warehouse(
        store,
        code,
        false,
        |w| w.daily_shipment_capacity == daily_shipments,
        |row| row.daily_shipment_capacity = Set(daily_shipments),
    )
    .await
}

/// Changes the warehouse `code` by `change` in one transaction, unless
/// `unchanged` says it already is as asked. `stales_stock`: whether the
/// change makes every cached availability stale.
async fn change_warehouse(
    store: &Store,
    code: &str,
    stales_stock: bool,
    unchanged: impl FnOnce(&warehouse::Model) -> bool,
    change: impl FnOnce(&mut warehouse::ActiveModel),
) -> Result<warehouse::Model, InventoryError> {
    rules::identifier(code, "code")?;
    let txn = store.begin_write().await?;
    let found = warehouse::Entity::find()
        .filter(warehouse::Column::Code.eq(code))
        .one(&*txn)
        .await?
        .ok_or_else(|| InventoryError::NotFound(format!("no warehouse has code `{code}`")))?;
    if unchanged(&found) {
        txn.rollback().await?;
        return Ok(found);
    }
    let mut row = found.into_active_model();
    change(&mut row);
    let updated = row.update(&*txn).await?;
    if stales_stock {
        txn.changes_all_stock();
    }
    txn.commit().await?;
    Ok(updated)
}

/// Inserts `row` unless its `unique` column already holds `key` (then the
/// conflict `taken` describes), and returns it as stored.
async fn insert_unique<A>(
    store: &Store,
    row: A,
    unique: <A::Entity as EntityTrait>::Column,
    key: &str,
    taken: impl FnOnce() -> String,
) -> Result<<A::Entity as EntityTrait>::Model, InventoryError>
where
    A: ActiveModelTrait + Send,
{
    let txn = store.begin_write().await?;
    // (Not `exec_with_returning`: on a conflict it reports a missing row,
    // not a conflict.)
    let inserted = A::Entity::insert(row)
        .on_conflict_do_nothing_on([unique])
        .exec_without_returning(&*txn)
        .await?;
    if !matches!(inserted, TryInsertResult::Inserted(1)) {
        txn.rollback().await?;
        return Err(InventoryError::Conflict(taken()));
    }
    let stored = A::Entity::find()
        .filter(unique.eq(key))
        .one(&*txn)
        .await?
        .ok_or_else(|| InventoryError::Internal(format!("`{key}` vanished after its insert")))?;
    txn.commit().await?;
    Ok(stored)
}
