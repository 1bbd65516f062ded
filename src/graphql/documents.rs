//! Parsed queries, kept by their text.
//!
//! Clients send the same few query documents over and over with different
//! variables; parsing one (pest) costs more than copying the parsed tree.
//! Only documents that parsed are kept, and the cache is bounded: when full
//! it starts over, which is cheap and never wrong.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::parser::{
    self,
    types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};

/// How many distinct documents are kept.
const CAPACITY: usize = 512;

#[derive(Clone, Default)]
pub struct DocumentCache(Arc<Mutex<HashMap<String, Arc<ExecutableDocument>>>>);

impl DocumentCache {
    /// The parsed document of `query`, from the cache or parsed now (and
    /// kept when it parsed).
    pub fn parse(&self, query: &str) -> Result<Arc<ExecutableDocument>, parser::Error> {
        if let Some(document) = self.0.lock().expect("document cache").get(query) {
            return Ok(document.clone());
        }
        let document = Arc::new(parser::parse_query(query)?);
        let mut documents = self.0.lock().expect("document cache");
        if documents.len() >= CAPACITY {
            documents.clear();
        }
        documents.insert(query.to_owned(), document.clone());
        Ok(document)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().expect("document cache").len()
    }
}

/// The operation of `document` that a request naming `name` runs, as
/// GraphQL selects it: the named one, or the only one when none is named.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), None) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_bad_ones_are_not_kept() {
        let cache = DocumentCache::default();
        let first = cache.parse("{ viewer { role } }").unwrap();
        let again = cache.parse("{ viewer { role } }").unwrap();
        assert_eq!(cache.len(), 1);
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second one is the cached tree"
        );
        assert_eq!(again.operations.iter().count(), 1);

        assert!(cache.parse("{ viewer { role ").is_err());
        assert_eq!(cache.len(), 1);
    }
}
