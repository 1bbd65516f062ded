//! Roles as field guards: `#[graphql(guard = "RoleGuard(Role::Admin)")]`.

use async_graphql::{Context, ErrorExtensions, Guard};

use super::ApiError;
use crate::auth::{Caller, Role};

/// Lets a field run only for callers with at least this role.
pub struct RoleGuard(pub Role);

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let caller = ctx.data_opt::<Caller>();
        let role = caller.map_or(Role::Public, |c| c.role);
        if role >= self.0 {
            return Ok(());
        }
        let needed = a_key_of(self.0);
        let error = if role == Role::Public {
            ApiError::Unauthenticated(format!(
                "this needs {needed}: send `Authorization: Bearer <key>`"
            ))
        } else {
            ApiError::Forbidden(format!(
                "this needs {needed}; the key sent is {}",
                a_key_of(role)
            ))
        };
        Err(error.extend())
    }
}

/// "an admin API key", "a checkout API key".
fn a_key_of(role: Role) -> String {
    let article = if role == Role::Admin { "an" } else { "a" };
    format!("{article} {role} API key")
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema};

    use super::*;

    struct Probe;

    #[Object]
    impl Probe {
        #[graphql(guard = "RoleGuard(Role::Checkout)")]
        async fn checkout_only(&self) -> bool {
            true
        }
        #[graphql(guard = "RoleGuard(Role::Admin)")]
        async fn admin_only(&self) -> bool {
            true
        }
    }

    async fn code_for(caller: Option<Role>, field: &str) -> Option<String> {
        let schema = Schema::new(Probe, EmptyMutation, EmptySubscription);
        let mut request = Request::new(format!("{{ {field} }}"));
        if let Some(role) = caller {
            request = request.data(Caller {
                role,
                key_name: Some("k".into()),
            });
        }
        let response = schema.execute(request).await;
        response.errors.first().map(|e| {
            let ext = e.extensions.as_ref().expect("coded");
            ext.get("code")
                .unwrap()
                .to_string()
                .trim_matches('"')
                .to_owned()
        })
    }

    #[tokio::test]
    async fn no_key_is_unauthenticated_a_weaker_key_is_forbidden_a_strong_one_passes() {
        assert_eq!(
            code_for(None, "checkoutOnly").await.as_deref(),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            code_for(Some(Role::Public), "adminOnly").await.as_deref(),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            code_for(Some(Role::Checkout), "adminOnly").await.as_deref(),
            Some("FORBIDDEN")
        );
        assert_eq!(code_for(Some(Role::Checkout), "checkoutOnly").await, None);
        assert_eq!(code_for(Some(Role::Admin), "checkoutOnly").await, None);
        assert_eq!(code_for(Some(Role::Admin), "adminOnly").await, None);
    }
}
