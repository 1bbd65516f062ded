//! Which database, and where: the URLs stockroute accepts.

use std::{fmt, str::FromStr};

/// The two databases stockroute runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// A database URL whose scheme stockroute supports.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The URL without its password, for logs.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            _ => self.url.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let url = raw.trim();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let parsed =
                url::Url::parse(url).map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
            if parsed.path().trim_start_matches('/').is_empty() {
                return Err(format!(
                    "`{url}` names no database: add one, e.g. postgres://postgres@127.0.0.1:5432/stockroute"
                ));
            }
            Backend::Postgres
        } else {
            return Err(format!(
                "`{url}` is not supported: use sqlite://FILE?mode=rwc or postgres://USER@HOST:PORT/DB"
            ));
        };
        Ok(DatabaseUrl {
            url: url.to_owned(),
            backend,
        })
    }
}
