//! Who is calling: API keys and the roles they grant.
//!
//! A request without a key is public. A key grants `checkout` or `admin`;
//! an admin may do everything a checkout may. An unknown or revoked key is
//! refused outright rather than treated as public, so a misconfigured client
//! notices at once.

mod api_keys;
mod key_checks;

pub use api_keys::{AuthError, CreatedKey, create_key, list_keys, revoke_key};
pub use key_checks::KeyChecks;

use std::{fmt, str::FromStr, sync::Arc, time::Duration};

/// How long a valid key is taken as valid without another lookup, unless
/// configured otherwise: as long as `availability` may answer from memory.
pub const DEFAULT_KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// What a caller may do. Ordered: each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Public,
    Checkout,
    Admin,
}

impl Role {
    /// The spelling stored in `api_keys.role` and used on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Checkout => "checkout",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles a key can be created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyRole {
    Checkout,
    Admin,
}

impl From<KeyRole> for Role {
    fn from(role: KeyRole) -> Self {
        match role {
            KeyRole::Checkout => Role::Checkout,
            KeyRole::Admin => Role::Admin,
        }
    }
}

impl FromStr for KeyRole {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "checkout" => Ok(KeyRole::Checkout),
            "admin" => Ok(KeyRole::Admin),
            other => Err(format!("unknown role `{other}`: use checkout or admin")),
        }
    }
}

/// The caller of one request, as resolved from its credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    /// The name of the key used; recorded as `createdBy` on what it changes.
    /// Shared: every request with the key gets its caller from one lookup.
    pub key_name: Option<Arc<str>>,
}

impl Caller {
    pub fn public() -> Self {
        Caller {
            role: Role::Public,
            key_name: None,
        }
    }

    pub fn may(&self, needed: Role) -> bool {
        self.role >= needed
    }
}
