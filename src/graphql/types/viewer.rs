use async_graphql::{Enum, SimpleObject};

use crate::auth::{Caller, Role};

/// What a caller may do: public needs no key; an admin may do all that a
/// checkout may.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(name = "Role")]
pub enum RoleName {
    Public,
    Checkout,
    Admin,
}

/// The caller of this request, as its credentials identify it.
#[derive(SimpleObject)]
pub struct Viewer {
    pub role: RoleName,
    /// The name of the API key sent, if any.
    pub key_name: Option<String>,
}

impl From<&Caller> for Viewer {
    fn from(caller: &Caller) -> Self {
        Viewer {
            role: match caller.role {
                Role::Public => RoleName::Public,
                Role::Checkout => RoleName::Checkout,
                Role::Admin => RoleName::Admin,
            },
            key_name: caller.key_name.as_deref().map(str::to_owned),
        }
    }
}
