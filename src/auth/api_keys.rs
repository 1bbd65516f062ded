//! Creating, listing, revoking and checking API keys. Only a SHA-256 hash of
//! a key is stored: the keys are 256 random bits, so a fast hash is enough and
//! lets a request be checked with one indexed lookup.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, SqlErr,
};
use sha2::{Digest, Sha256};

use super::{Caller, KeyRole, Role};
use crate::{db::bulk::is_one_of, digest::lower_hex, entities::api_key};

const KEY_PREFIX: &str = "sr_";
const MAX_NAME_LEN: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header must be `Bearer <key>`")]
    MalformedHeader,
    #[error("the API key is not known")]
    UnknownKey,
    #[error("the API key was revoked")]
    RevokedKey,
    #[error("a key name must be 1 to {MAX_NAME_LEN} characters")]
    InvalidName,
    #[error("a key named `{0}` already exists")]
    DuplicateName(String),
    #[error("no key is named `{0}`")]
    NoSuchKey(String),
    #[error(transparent)]
    Database(#[from] DbErr),
    /// The database could not answer a lookup another request shared:
    /// its cause, as [`crate::db::unavailability`] names it.
    #[error("the database is unavailable ({})", .0.message())]
    Unavailable(crate::db::Outage),
}

/// A key just created: the secret is shown once and never stored.
pub struct CreatedKey {
    pub secret: String,
    pub record: api_key::Model,
}

pub(super) fn hash(secret: &str) -> String {
    lower_hex(&Sha256::digest(secret.as_bytes()))
}

pub async fn create_key(
    db: &DatabaseConnection,
    role: KeyRole,
    name: Option<String>,
) -> Result<CreatedKey, AuthError> {
    let secret = format!("{KEY_PREFIX}{}", lower_hex(&rand::random::<[u8; 32]>()));
    let prefix = secret[..KEY_PREFIX.len() + 8].to_owned();
    let role = Role::from(role);
    let name = match name {
        Some(name) => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
                return Err(AuthError::InvalidName);
            }
            name
        }
        None => format!("{role}-{}", &prefix[KEY_PREFIX.len()..]),
    };
    let record = api_key::ActiveModel {
        name: Set(name.clone()),
        role: Set(role.as_str().to_owned()),
        prefix: Set(prefix),
        key_hash: Set(hash(&secret)),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AuthError::DuplicateName(name),
        _ => AuthError::Database(e),
    })?;
    Ok(CreatedKey { secret, record })
}

pub async fn list_keys(db: &DatabaseConnection) -> Result<Vec<api_key::Model>, AuthError> {
    Ok(api_key::Entity::find()
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// Revokes the key with this name; revoking a revoked key changes nothing.
pub async fn revoke_key(db: &DatabaseConnection, name: &str) -> Result<api_key::Model, AuthError> {
    let key = api_key::Entity::find()
        .filter(api_key::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| AuthError::NoSuchKey(name.to_owned()))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut active = key.into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    Ok(active.update(db).await?)
}

/// The secret in an `Authorization` header value: `Bearer <key>`.
pub(super) fn secret_of(header: &str) -> Result<&str, AuthError> {
    header
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| header.trim().strip_prefix("bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(AuthError::MalformedHeader)
}

/// The stored key whose secret hashes to `key_hash`, revoked or not.
/// The stored keys among `key_hashes`, in one statement for any count.
pub(super) async fn find_by_hashes(
    db: &DatabaseConnection,
    key_hashes: Vec<String>,
) -> Result<Vec<api_key::Model>, DbErr> {
    let backend = db.get_database_backend();
    api_key::Entity::find()
        .filter(is_one_of(backend, api_key::Column::KeyHash, key_hashes))
        .all(db)
        .await
}

/// Why a stored key (or its absence) makes no caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    Unknown,
    Revoked,
}

impl From<Refusal> for AuthError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unknown => AuthError::UnknownKey,
            Refusal::Revoked => AuthError::RevokedKey,
        }
    }
}

/// The caller a stored key makes, or why it makes none.
pub(super) fn caller_for(key: Option<api_key::Model>) -> Result<Caller, Refusal> {
    let key = key.ok_or(Refusal::Unknown)?;
    if key.revoked_at.is_some() {
        return Err(Refusal::Revoked);
    }
    let role = match key.role.as_str() {
        "admin" => Role::Admin,
        "checkout" => Role::Checkout,
        // The CHECK constraint allows nothing else; refuse rather than guess.
        _ => return Err(Refusal::Unknown),
    };
    Ok(Caller {
        role,
        key_name: Some(key.name.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::hash;

    #[test]
    fn the_hash_is_stable_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
