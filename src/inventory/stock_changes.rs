//! What admins do to stock: receive, take back, write off, count, move.
//!
//! Each operation is one transaction whose stock changes go through
//! [`super::ledger`]: guarded by the database, posted as movements that
//! name the API key (`createdBy`) and the caller's reference.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    sea_query::LockType,
};

use super::{
    InventoryError,
    catalogue::{product_by_sku, warehouse_by_code},
    idempotency::{IdempotencyKey, Keyed},
    ledger::{MAX_ON_HAND, Postings, Shift, ensure_level},
    rules,
};
use crate::{
    db::now,
    entities::{movement::MovementType, product, stock_level, warehouse},
    inventory::{Store, WriteTransaction},
};

/// Who asks, under what reference (what the ledger records), and with
/// which idempotency key, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Author {
    pub key_name: Option<String>,
    pub reference_id: Option<String>,
    pub idempotency_key: Option<IdempotencyKey>,
}

impl Author {
    /// `reference_id` and `idempotency_key` are checked as free text (1 to
    /// 200 characters).
    pub fn new(
        key_name: Option<String>,
        reference_id: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Self, InventoryError> {
        Ok(Author {
            key_name,
            reference_id: rules::optional_text(reference_id, "referenceId")?,
            idempotency_key: IdempotencyKey::parse(idempotency_key)?,
        })
    }

    fn postings(&self, at: DateTime<Utc>) -> Postings {
        Postings::new(self.reference_id.clone(), self.key_name.clone(), at)
    }

    /// The change keyed by this author's idempotency key, if any: `input` is
    /// what the request asks, the reference included.
    fn keyed(&self, operation: &'static str, input: &[&str]) -> Option<Keyed<'_>> {
        let reference = self.reference_id.as_deref().unwrap_or("");
        let mut input = input.to_vec();
        input.push(reference);
        Some(Keyed::new(
            self.idempotency_key.as_ref()?,
            operation,
            &input,
        ))
    }

    /// What an earlier change with this author's key left, if there was one.
    async fn replayed(
        keyed: Option<&Keyed<'_>>,
        db: &DatabaseConnection,
    ) -> Result<Option<Vec<stock_level::Model>>, InventoryError> {
        match keyed {
            Some(keyed) => keyed.replay(db).await,
            None => Ok(None),
        }
    }

    /// Keeps the change's result with its key, in its transaction. False
    /// when another request with the key committed first.
    async fn recorded(
        &self,
        keyed: Option<&Keyed<'_>>,
        txn: &WriteTransaction,
        levels: &[&stock_level::Model],
        at: DateTime<Utc>,
    ) -> Result<bool, InventoryError> {
        match keyed {
            Some(keyed) => {
                keyed
                    .record(&**txn, levels, self.key_name.as_deref(), at)
                    .await
            }
            None => Ok(true),
        }
    }
}

/// The first change with a key committed while this one ran: this one rolls
/// back and answers what that one did.
async fn lost_to_retry(
    txn: WriteTransaction,
    keyed: Option<&Keyed<'_>>,
    db: &DatabaseConnection,
) -> Result<Vec<stock_level::Model>, InventoryError> {
    txn.rollback().await?;
    Author::replayed(keyed, db)
        .await?
        .ok_or_else(|| InventoryError::Internal("a key's change both exists and does not".into()))
}

/// The one level of a single-level change's result.
fn only(levels: Vec<stock_level::Model>) -> Result<stock_level::Model, InventoryError> {
    levels
        .into_iter()
        .next()
        .ok_or_else(|| InventoryError::Internal("a keyed change kept no stock level".into()))
}

/// Units of a SKU in a warehouse, as a request names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Units {
    pub sku: String,
    pub warehouse_code: String,
    pub units: i32,
}

impl Units {
    /// A change of 1 to [`MAX_ON_HAND`] units.
    pub fn change(sku: String, warehouse_code: String, units: i32) -> Result<Self, InventoryError> {
        Self::checked(sku, warehouse_code, || rules::units(units, "quantity"))
    }

    /// A counted on-hand quantity, 0 to [`MAX_ON_HAND`].
    pub fn counted(
        sku: String,
        warehouse_code: String,
        units: i32,
    ) -> Result<Self, InventoryError> {
        Self::checked(sku, warehouse_code, || rules::count(units, "quantity"))
    }

    /// Units of safety stock, 0 to [`MAX_ON_HAND`], as `units`.
    pub fn held_back(
        sku: String,
        warehouse_code: String,
        units: i32,
    ) -> Result<Self, InventoryError> {
        Self::checked(sku, warehouse_code, || rules::count(units, "units"))
    }

    /// Units of an inbound shipment, 1 to `max`, as `quantity`.
    pub fn inbound(
        sku: String,
        warehouse_code: String,
        units: i32,
        max: i32,
    ) -> Result<Self, InventoryError> {
        Self::checked(sku, warehouse_code, || {
            rules::between(units, 1, max, "quantity")
        })
    }

    /// The names first, then the units, so that errors come in field order.
    fn checked(
        sku: String,
        warehouse_code: String,
        units: impl FnOnce() -> Result<i32, InventoryError>,
    ) -> Result<Self, InventoryError> {
        rules::identifier(&sku, "sku")?;
        rules::identifier(&warehouse_code, "warehouseCode")?;
        Ok(Units {
            units: units()?,
            sku,
            warehouse_code,
        })
    }
}

/// Safety stock becomes `held.units` (SAFETY_STOCK by the difference): from
/// then on, that many units of the level are never offered nor reserved.
/// Units already reserved stay so; if fewer are unreserved than held back,
/// the level offers nothing. Setting the value it has changes nothing.
pub async fn set_safety_stock(
    store: &Store,
    held: &Units,
    author: &Author,
) -> Result<stock_level::Model, InventoryError> {
    let (product, warehouse) = resolve(store.connection(), held, "warehouseCode").await?;
    let now = now();
    let txn = store.begin_write().await?;
    ensure_level(&*txn, product.id, warehouse.id, now).await?;
    let level = lock_level(&txn, product.id, warehouse.id).await?;
    if level.safety_stock == held.units {
        txn.rollback().await?;
        return Ok(level);
    }
    let mut postings = author.postings(now);
    let shift = Shift::safety_stock(product.id, warehouse.id, held.units - level.safety_stock);
    let level = postings.post(&*txn, shift).await?.ok_or_else(|| {
        InventoryError::Internal("a locked stock level refused a checked safety stock".into())
    })?;
    postings.write(&txn).await?;
    txn.commit().await?;
    Ok(level)
}

/// Stock arriving: RESTOCK (from a supplier) or RETURN (from a customer).
/// Creates the stock level when there is none yet.
pub async fn receive(
    store: &Store,
    change: &Units,
    movement_type: MovementType,
    author: &Author,
) -> Result<stock_level::Model, InventoryError> {
    let operation = if movement_type == MovementType::Return {
        "returnStock"
    } else {
        "receiveStock"
    };
    let units = change.units.to_string();
    let keyed = author.keyed(operation, &[&change.sku, &change.warehouse_code, &units]);
    if let Some(levels) = Author::replayed(keyed.as_ref(), store.connection()).await? {
        return only(levels);
    }
    let (product, warehouse) = resolve(store.connection(), change, "warehouseCode").await?;
    let now = now();
    let txn = store.begin_write().await?;
    ensure_level(&*txn, product.id, warehouse.id, now).await?;
    let mut postings = author.postings(now);
    let shift = Shift::on_hand(product.id, warehouse.id, change.units, movement_type);
    let Some(level) = postings.post(&*txn, shift).await? else {
        txn.rollback().await?;
        return Err(InventoryError::Conflict(format!(
            "{} in {} would hold more than {MAX_ON_HAND} units",
            product.sku, warehouse.code
        )));
    };
    if !author
        .recorded(keyed.as_ref(), &txn, &[&level], now)
        .await?
    {
        return only(lost_to_retry(txn, keyed.as_ref(), store.connection()).await?);
    }
    postings.write(&txn).await?;
    txn.commit().await?;
    Ok(level)
}

/// Damaged or lost stock leaves (DAMAGE). Never eats into reserved units: a
/// write-off larger than what is available is a conflict and changes nothing.
pub async fn write_off(
    store: &Store,
    change: &Units,
    author: &Author,
) -> Result<stock_level::Model, InventoryError> {
    let units = change.units.to_string();
    let keyed = author.keyed(
        "writeOffStock",
        &[&change.sku, &change.warehouse_code, &units],
    );
    if let Some(levels) = Author::replayed(keyed.as_ref(), store.connection()).await? {
        return only(levels);
    }
    let (product, warehouse) = resolve(store.connection(), change, "warehouseCode").await?;
    let now = now();
    let txn = store.begin_write().await?;
    let mut postings = author.postings(now);
    let shift = Shift::on_hand(
        product.id,
        warehouse.id,
        -change.units,
        MovementType::Damage,
    );
    if let Some(level) = postings.post(&*txn, shift).await? {
        if !author
            .recorded(keyed.as_ref(), &txn, &[&level], now)
            .await?
        {
            return only(lost_to_retry(txn, keyed.as_ref(), store.connection()).await?);
        }
        postings.write(&txn).await?;
        txn.commit().await?;
        return Ok(level);
    }
    txn.rollback().await?;
    let available = unreserved(store.connection(), &product, &warehouse).await?;
    Err(InventoryError::Conflict(format!(
        "only {available} units of {} in {} are on hand and not reserved; writing off {} \
         would eat into reserved stock",
        product.sku, warehouse.code, change.units
    )))
}

/// A count: on-hand becomes `count.units` (ADJUSTMENT by the difference).
/// With `expected_version`, only if the level is still at that version;
/// a level that does not exist yet is at version 0.
pub async fn set_count(
    store: &Store,
    count: &Units,
    expected_version: Option<i32>,
    author: &Author,
) -> Result<stock_level::Model, InventoryError> {
    let (units, expected) = (count.units.to_string(), format!("{expected_version:?}"));
    let keyed = author.keyed(
        "setStock",
        &[&count.sku, &count.warehouse_code, &units, &expected],
    );
    if let Some(levels) = Author::replayed(keyed.as_ref(), store.connection()).await? {
        return only(levels);
    }
    let (product, warehouse) = resolve(store.connection(), count, "warehouseCode").await?;
    let now = now();
    let txn = store.begin_write().await?;
    ensure_level(&*txn, product.id, warehouse.id, now).await?;
    let level = lock_level(&txn, product.id, warehouse.id).await?;
    let refusal = match expected_version {
        Some(expected) if expected != level.version => Some(format!(
            "the stock level of {} in {} is at version {}, not {expected}: it changed since \
             it was read; read it again and recount",
            product.sku, warehouse.code, level.version
        )),
        _ if count.units < level.reserved => Some(format!(
            "{} units of {} in {} are reserved; a count of {} cannot be below them",
            level.reserved, product.sku, warehouse.code, count.units
        )),
        _ => None,
    };
    if let Some(message) = refusal {
        txn.rollback().await?;
        return Err(InventoryError::Conflict(message));
    }
    let mut postings = author.postings(now);
    let shift = Shift::on_hand(
        product.id,
        warehouse.id,
        count.units - level.quantity,
        MovementType::Adjustment,
    );
    let level = postings.post(&*txn, shift).await?.ok_or_else(|| {
        InventoryError::Internal("a locked stock level refused a checked count".into())
    })?;
    if !author
        .recorded(keyed.as_ref(), &txn, &[&level], now)
        .await?
    {
        return only(lost_to_retry(txn, keyed.as_ref(), store.connection()).await?);
    }
    postings.write(&txn).await?;
    txn.commit().await?;
    Ok(level)
}

/// Moves units between two warehouses (TRANSFER_OUT + TRANSFER_IN, one
/// transaction): at most what is available at the source.
pub async fn transfer(
    store: &Store,
    change: &Units,
    to_warehouse_code: &str,
    author: &Author,
) -> Result<(stock_level::Model, stock_level::Model), InventoryError> {
    rules::identifier(to_warehouse_code, "toWarehouseCode")?;
    if to_warehouse_code == change.warehouse_code {
        return Err(InventoryError::invalid(
            "toWarehouseCode",
            "must differ from fromWarehouseCode",
        ));
    }
    let units = change.units.to_string();
    let keyed = author.keyed(
        "transferStock",
        &[
            &change.sku,
            &change.warehouse_code,
            to_warehouse_code,
            &units,
        ],
    );
    if let Some(levels) = Author::replayed(keyed.as_ref(), store.connection()).await? {
        return pair(levels);
    }
    let (product, from) = resolve(store.connection(), change, "fromWarehouseCode").await?;
    let to = warehouse_by_code(store.connection(), to_warehouse_code)
        .await?
        .ok_or_else(|| unknown_warehouse("toWarehouseCode", to_warehouse_code))?;
    let now = now();
    let txn = store.begin_write().await?;
    ensure_level(&*txn, product.id, to.id, now).await?;
    let mut postings = author.postings(now);
    let out = Shift::on_hand(
        product.id,
        from.id,
        -change.units,
        MovementType::TransferOut,
    );
    let into = Shift::on_hand(product.id, to.id, change.units, MovementType::TransferIn);
    // Rows in warehouse order, like every writer, so that two transfers in
    // opposite directions cannot deadlock.
    let mut shifts = [out, into];
    shifts.sort_by_key(|s| s.warehouse_id);
    let mut levels = Vec::with_capacity(2);
    for shift in shifts {
        match postings.post(&*txn, shift).await? {
            Some(level) => levels.push(level),
            None => {
                txn.rollback().await?;
                return Err(if shift.warehouse_id == from.id {
                    let available = unreserved(store.connection(), &product, &from).await?;
                    InventoryError::Conflict(format!(
                        "only {available} units of {} are available in {}; cannot transfer {}",
                        product.sku, from.code, change.units
                    ))
                } else {
                    InventoryError::Conflict(format!(
                        "{} in {} would hold more than {MAX_ON_HAND} units",
                        product.sku, to.code
                    ))
                });
            }
        }
    }
    // Source first, as the result reads.
    levels.sort_by_key(|l| l.warehouse_id != from.id);
    let kept: Vec<&stock_level::Model> = levels.iter().collect();
    if !author.recorded(keyed.as_ref(), &txn, &kept, now).await? {
        return pair(lost_to_retry(txn, keyed.as_ref(), store.connection()).await?);
    }
    // Read in id order, the ledger says "out" before "in".
    postings.put_first(MovementType::TransferOut);
    postings.write(&txn).await?;
    txn.commit().await?;
    pair(levels)
}

/// A transfer's result: the source's level, then the destination's.
fn pair(
    levels: Vec<stock_level::Model>,
) -> Result<(stock_level::Model, stock_level::Model), InventoryError> {
    let mut levels = levels.into_iter();
    match (levels.next(), levels.next()) {
        (Some(source), Some(destination)) => Ok((source, destination)),
        _ => Err(InventoryError::Internal(
            "a transfer lost one of its stock levels".into(),
        )),
    }
}

/// The product and warehouse a change names; unknown ones are refused by
/// the field that names them.
pub(super) async fn resolve(
    db: &DatabaseConnection,
    change: &Units,
    warehouse_field: &str,
) -> Result<(product::Model, warehouse::Model), InventoryError> {
    let product = product_by_sku(db, &change.sku)
        .await?
        .ok_or_else(|| InventoryError::invalid("sku", format!("unknown SKU `{}`", change.sku)))?;
    let warehouse = warehouse_by_code(db, &change.warehouse_code)
        .await?
        .ok_or_else(|| unknown_warehouse(warehouse_field, &change.warehouse_code))?;
    Ok((product, warehouse))
}

fn unknown_warehouse(field: &str, code: &str) -> InventoryError {
    InventoryError::invalid(field, format!("unknown warehouse code `{code}`"))
}

/// The stock level, locked for this transaction on PostgreSQL (SQLite's
/// writers already take turns).
pub(super) async fn lock_level(
    txn: &WriteTransaction,
    product_id: i32,
    warehouse_id: i32,
) -> Result<stock_level::Model, InventoryError> {
    stock_level::Entity::find()
        .filter(stock_level::Column::ProductId.eq(product_id))
        .filter(stock_level::Column::WarehouseId.eq(warehouse_id))
        .lock(LockType::Update)
        .one(&**txn)
        .await?
        .ok_or_else(|| InventoryError::Internal("a stock level vanished after creation".into()))
}

/// Units on hand and not reserved now, for a refusal's message.
async fn unreserved(
    db: &impl ConnectionTrait,
    product: &product::Model,
    warehouse: &warehouse::Model,
) -> Result<i32, InventoryError> {
    let level = stock_level::Entity::find()
        .filter(stock_level::Column::ProductId.eq(product.id))
        .filter(stock_level::Column::WarehouseId.eq(warehouse.id))
        .one(db)
        .await?;
    Ok(level.map_or(0, |l| l.unreserved()))
}
