//! Structured logs through `tracing`, filtered by `RUST_LOG`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is not set: the service at `info`, the
/// database drivers only when something is wrong.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn";

/// Installs the global subscriber once; later calls (tests start many apps in
/// one process) are no-ops. `STOCKROUTE_LOG_FORMAT=json` writes one JSON
/// object per line, for log shippers; anything else, plain text.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = std::env::var("STOCKROUTE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let _ = if json {
        // The request's span (with its id) on every line it writes.
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder
            // Colour codes only on a terminal: not in files, pipes or `docker logs`.
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .try_init()
    };
}
