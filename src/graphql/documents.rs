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

use async_graphql::{Request, parser::types::ExecutableDocument};

/// How many distinct documents are kept.
const CAPACITY: usize = 512;

#[derive(Clone, Default)]
pub struct DocumentCache(Arc<Mutex<HashMap<String, ExecutableDocument>>>);

impl DocumentCache {
    /// Gives `request` its parsed document from the cache, or parses it and
    /// keeps the result. A query that does not parse is left for the
    /// executor to report.
    pub fn prepare(&self, request: &mut Request) {
        let cached = self
            .0
            .lock()
            .expect("document cache")
            .get(&request.query)
            .cloned();
        match cached {
            Some(document) => request.set_parsed_query(document),
            None => {
                let Ok(document) = request.parsed_query().cloned() else {
                    return;
                };
                let mut documents = self.0.lock().expect("document cache");
                if documents.len() >= CAPACITY {
                    documents.clear();
                }
                documents.insert(request.query.clone(), document);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().expect("document cache").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_bad_ones_are_not_kept() {
        let cache = DocumentCache::default();
        let mut first = Request::new("{ viewer { role } }");
        cache.prepare(&mut first);
        let mut again = Request::new("{ viewer { role } }");
        cache.prepare(&mut again);
        assert_eq!(cache.len(), 1);
        assert_eq!(again.parsed_query().unwrap().operations.iter().count(), 1);

        let mut broken = Request::new("{ viewer { role ");
        cache.prepare(&mut broken);
        assert_eq!(cache.len(), 1);
        assert!(
            broken.parsed_query().is_err(),
            "the error is left for the executor"
        );
    }
}
