//! Idempotency keys for admin stock changes.
//!
//! A client that timed out does not know whether its receiveStock landed.
//! With an `idempotencyKey` it may simply send the request again: the same
//! key with the same input returns the first change's result and changes
//! nothing; the same key with another input is a CONFLICT, as a reused
//! reservationId is. The key is written in the change's own transaction,
//! so the two commit together; two racing requests with one key both try,
//! and the one whose key row loses rolls back and answers as the replay.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, TryInsertResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{InventoryError, rules};
use crate::entities::{stock_change_key, stock_level};

/// A key, checked: 1 to 200 characters of free text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, InventoryError> {
        Ok(rules::optional_text(raw, "idempotencyKey")?.map(IdempotencyKey))
    }
}

/// One keyed change: its key, the operation, and a fingerprint of what it
/// was asked to do.
pub struct Keyed<'a> {
    key: &'a IdempotencyKey,
    operation: &'static str,
    fingerprint: String,
}

impl<'a> Keyed<'a> {
    /// `input` is every part of the request that decides what the change
    /// does, in a fixed order.
    pub fn new(key: &'a IdempotencyKey, operation: &'static str, input: &[&str]) -> Self {
        let mut hash = Sha256::new();
        hash.update(operation.as_bytes());
        for part in input {
            // Lengths first, so that ("ab", "c") and ("a", "bc") differ.
            hash.update(part.len().to_le_bytes());
            hash.update(part.as_bytes());
        }
        Keyed {
            key,
            operation,
            fingerprint: crate::digest::lower_hex(&hash.finalize()),
        }
    }

    /// The stock levels the first change with this key left, when there
    /// was one with the same input; CONFLICT when it had another.
    pub async fn replay(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<Option<Vec<stock_level::Model>>, InventoryError> {
        let Some(stored) = stock_change_key::Entity::find_by_id(self.key.0.clone())
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if stored.operation != self.operation || stored.fingerprint != self.fingerprint {
            return Err(InventoryError::Conflict(format!(
                "idempotencyKey `{}` was used for a different change ({}); a retry must send \
                 the same input, a new change needs a new key",
                self.key.0, stored.operation
            )));
        }
        let levels: Vec<Recorded> = serde_json::from_str(&stored.result).map_err(|e| {
            InventoryError::Internal(format!("the result kept for a key does not read: {e}"))
        })?;
        Ok(Some(
            levels.into_iter().map(stock_level::Model::from).collect(),
        ))
    }

    /// Records the change's result in its transaction. False when another
    /// request with this key committed first: roll back and replay.
    pub async fn record(
        &self,
        txn: &impl ConnectionTrait,
        levels: &[&stock_level::Model],
        created_by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, InventoryError> {
        let result: Vec<Recorded> = levels.iter().map(|level| Recorded::from(*level)).collect();
        let row = stock_change_key::ActiveModel {
            idempotency_key: Set(self.key.0.clone()),
            operation: Set(self.operation.to_owned()),
            fingerprint: Set(self.fingerprint.clone()),
            result: Set(serde_json::to_string(&result).expect("levels serialize")),
            created_by: Set(created_by.map(str::to_owned)),
            created_at: Set(at),
        };
        let inserted = stock_change_key::Entity::insert(row)
            .on_conflict_do_nothing()
            .exec_without_returning(txn)
            .await?;
        Ok(matches!(inserted, TryInsertResult::Inserted(1)))
    }
}

/// A stock level as a change left it, as kept with its key.
#[derive(Serialize, Deserialize)]
struct Recorded {
    id: i32,
    product_id: i32,
    warehouse_id: i32,
    quantity: i32,
    reserved: i32,
    /// Absent in results kept before safety stock existed: 0 then.
    #[serde(default)]
    safety_stock: i32,
    version: i32,
    updated_at: DateTime<Utc>,
}

impl From<&stock_level::Model> for Recorded {
    fn from(level: &stock_level::Model) -> Self {
        Recorded {
            id: level.id,
            product_id: level.product_id,
            warehouse_id: level.warehouse_id,
            quantity: level.quantity,
            reserved: level.reserved,
            safety_stock: level.safety_stock,
            version: level.version,
            updated_at: level.updated_at,
        }
    }
}

impl From<Recorded> for stock_level::Model {
    fn from(level: Recorded) -> Self {
        stock_level::Model {
            id: level.id,
            product_id: level.product_id,
            warehouse_id: level.warehouse_id,
            quantity: level.quantity,
            reserved: level.reserved,
            safety_stock: level.safety_stock,
            version: level.version,
            updated_at: level.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_inputs_and_operations_apart() {
        let key = IdempotencyKey("k".into());
        let of = |operation, input: &[&str]| Keyed::new(&key, operation, input).fingerprint;
        assert_eq!(
            of("receiveStock", &["A", "B", "1"]),
            of("receiveStock", &["A", "B", "1"])
        );
        assert_ne!(
            of("receiveStock", &["A", "B", "1"]),
            of("receiveStock", &["A", "B", "2"])
        );
        assert_ne!(
            of("receiveStock", &["AB", "", "1"]),
            of("receiveStock", &["A", "B", "1"])
        );
        assert_ne!(
            of("receiveStock", &["A", "B", "1"]),
            of("returnStock", &["A", "B", "1"])
        );
    }

    #[test]
    fn a_key_is_free_text_of_bounded_length() {
        assert!(
            IdempotencyKey::parse(Some("delivery-42"))
                .unwrap()
                .is_some()
        );
        assert!(IdempotencyKey::parse(None).unwrap().is_none());
        assert!(IdempotencyKey::parse(Some("")).is_err());
        assert!(IdempotencyKey::parse(Some(&"x".repeat(201))).is_err());
    }
}
