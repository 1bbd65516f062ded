//! Relay connections with opaque cursors.
//!
//! A cursor is the base64 of `kind:key`, where key is the unique sort key of
//! the page's order; clients must treat it as opaque.

use async_graphql::SimpleObject;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{
    ApiError,
    types::{Movement, Product, StockLevel},
};

#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether another page follows this one.
    pub has_next_page: bool,
    /// Pass as `after` to get the next page; null on an empty page.
    pub end_cursor: Option<String>,
}

/// Declares a Relay connection type and its edge type for one node type.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty) => {
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// Opaque: pass as `after` to continue after this node.
            pub cursor: String,
            pub node: $node,
        }

        #[derive(async_graphql::SimpleObject)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
        }

        impl $connection {
            /// One page, each node paired with its cursor.
            pub fn new(
                nodes: impl IntoIterator<Item = (String, $node)>,
                has_next_page: bool,
            ) -> Self {
                let edges: Vec<$edge> = nodes
                    .into_iter()
                    .map(|(cursor, node)| $edge { cursor, node })
                    .collect();
                let end_cursor = edges.last().map(|e| e.cursor.clone());
                $connection {
                    edges,
                    page_info: PageInfo {
                        has_next_page,
                        end_cursor,
                    },
                }
            }
        }
    };
}

connection!(ProductConnection, ProductEdge, Product);
connection!(StockLevelConnection, StockLevelEdge, StockLevel);
connection!(MovementConnection, MovementEdge, Movement);

pub fn encode_cursor(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// The key inside a cursor of this kind, or BAD_USER_INPUT for anything this
/// API did not issue.
pub fn decode_cursor(kind: &str, cursor: &str) -> Result<String, ApiError> {
    let refuse = || ApiError::BadUserInput(format!("after: `{cursor}` is not a {kind} cursor"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| refuse())?;
    let text = String::from_utf8(bytes).map_err(|_| refuse())?;
    text.strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::to_owned)
        .ok_or_else(refuse)
}

/// The numeric key inside a cursor of this kind.
pub fn decode_id_cursor<T: std::str::FromStr>(kind: &str, cursor: &str) -> Result<T, ApiError> {
    decode_cursor(kind, cursor)?
        .parse()
        .map_err(|_| ApiError::BadUserInput(format!("after: `{cursor}` is not a {kind} cursor")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = encode_cursor("product", "TENT-2P-GRN");
        assert_eq!(decode_cursor("product", &cursor).unwrap(), "TENT-2P-GRN");
        assert!(decode_cursor("movement", &cursor).is_err());
        assert!(decode_cursor("product", "not base64 !").is_err());
        assert!(decode_cursor("product", &URL_SAFE_NO_PAD.encode([0xff, 0xfe])).is_err());
    }
}
