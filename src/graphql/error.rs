//! The one place where errors become GraphQL errors with `extensions.code`.
//!
//! Every layer has its own typed error; here each is given a code from the
//! contract. Database and other internal failures are logged with detail and
//! reach the client as a fixed message, so no SQL or stack trace leaks.

use async_graphql::{ErrorExtensions, Response};

use crate::{auth::AuthError, geography::LocationError, inventory::InventoryError};

#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// An argument breaks a rule; the message names it.
    #[error("{0}")]
    BadUserInput(String),
    #[error("{0}")]
    NotFound(String),
    /// No key, or a key that is unknown or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid key whose role is too weak.
    #[error("{0}")]
    Forbidden(String),
    /// The request is valid but contradicts the current state.
    #[error("{0}")]
    Conflict(String),
    /// The database or a deadline: retry later. The message says which, and
    /// `cause` (`extensions.cause`) names it for programs.
    #[error("{message}")]
    Unavailable {
        cause: &'static str,
        message: String,
    },
    /// The caller already runs as many operations as it may (the number).
    #[error("this client already has {0} requests running, the most it may; retry in a second")]
    Overloaded(usize),
    /// Details were logged where the error happened.
    #[error("internal error: the request could not be completed")]
    Internal,
    /// A subscription the server had to end (it is stopping, or could not
    /// read the event log); the message says why and the error's extensions
    /// where to resume. Coded UNAVAILABLE, cause `interrupted`: nothing is
    /// wrong with the subscription, and subscribing again (here or on
    /// another replica) with `after` carries on where it ended.
    #[error("{0}")]
    Interrupted(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::Unavailable { .. } | ApiError::Overloaded(_) | ApiError::Interrupted(_) => {
                "UNAVAILABLE"
            }
            ApiError::Internal => "INTERNAL",
        }
    }

    /// An input location that failed validation, named by its argument.
    pub fn bad_location(argument: &str, error: LocationError) -> Self {
        ApiError::BadUserInput(format!("{argument}.{}", error))
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                ApiError::Unavailable { cause, .. } => ext.set("cause", *cause),
                ApiError::Overloaded(_) => {
                    ext.set("cause", "overloaded");
                    ext.set("retryAfterSeconds", 1);
                }
                ApiError::Interrupted(_) => ext.set("cause", "interrupted"),
                _ => {}
            }
        })
    }
}

impl From<InventoryError> for ApiError {
    fn from(error: InventoryError) -> Self {
        match error {
            InventoryError::InvalidInput { field, message } => {
                ApiError::BadUserInput(format!("{field}: {message}"))
            }
            InventoryError::NotFound(message) => ApiError::NotFound(message),
            InventoryError::Conflict(message) => ApiError::Conflict(message),
            InventoryError::Database(e) => database(&e),
            InventoryError::Unavailable(outage) => unavailable(outage),
            InventoryError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                ApiError::Internal
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Database(e) => database(&e),
            AuthError::Unavailable(cause) => unavailable(cause),
            other => ApiError::Unauthenticated(other.to_string()),
        }
    }
}

/// A database failure: UNAVAILABLE with its cause when the database cannot
/// serve now, else INTERNAL. The detail goes to the log, never the client.
fn database(error: &sea_orm::DbErr) -> ApiError {
    match crate::db::unavailability(error) {
        Some(cause) => {
            tracing::warn!(error = %error, "database unavailable");
            unavailable(cause)
        }
        None => {
            tracing::error!(error = %error, "database error");
            ApiError::Internal
        }
    }
}

fn unavailable(outage: crate::db::Outage) -> ApiError {
    ApiError::Unavailable {
        cause: outage.label(),
        message: format!(
            "the database is unavailable ({}); retry later",
            outage.message()
        ),
    }
}

/// Turns a typed result into a resolver result that carries its code:
/// `inventory::x(..).await.coded()?`.
pub trait Coded<T> {
    fn coded(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<ApiError>> Coded<T> for Result<T, E> {
    fn coded(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.into().extend())
    }
}

/// Errors raised by async-graphql itself (a query that does not parse, a
/// variable of the wrong type, a limit exceeded) carry no code; they are all
/// the client's input, so they get BAD_USER_INPUT here.
pub fn ensure_codes(mut response: Response) -> Response {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", "BAD_USER_INPUT");
        }
    }
    response
}

/// A response that carries only `error`, for requests refused before they run.
pub fn error_response(error: ApiError) -> Response {
    let mut server_error = error.extend().into_server_error(Default::default());
    // Refused before parsing: there is no position in the query to point at.
    server_error.locations.clear();
    Response::from_errors(vec![server_error])
}
