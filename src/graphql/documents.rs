//! Parsed queries, kept by their text, and what is known of each.
//!
//! Clients send the same few query documents over and over with different
//! variables; parsing one (pest) costs more than copying the parsed tree.
//! Only documents that parsed are kept, and the cache is bounded: when full
//! it starts over, which is cheap and never wrong.
//!
//! Validating a document runs some twenty rules over it, and nearly all of
//! them read only the document: once one request of a document has passed
//! them, the next would too. What differs from request to request is the
//! variables. So a document whose variables can only go wrong where nothing
//! has run yet ([`Document::may_skip_validation`]) is validated in full the
//! first time, and after that in async-graphql's fast mode, which leaves a
//! variable that does not fit to fail its root field before that field runs
//! (see [`crate::graphql::pipeline`] for what happens then).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    Positioned,
    parser::{
        self,
        types::{
            Directive, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
            Selection, SelectionSet,
        },
    },
};
use async_graphql_value::Value;

/// How many distinct documents are kept.
const CAPACITY: usize = 512;

/// A parsed document and what has been learnt of it.
pub struct Document {
    pub tree: ExecutableDocument,
    /// Its variables appear only in the arguments of root fields of its one
    /// operation, a query or a mutation of one root field: a variable that
    /// does not fit fails its root field before that field's resolver runs,
    /// and nothing else has run before it.
    variables_at_root: bool,
    /// A request of it has passed every validation rule.
    validated: AtomicBool,
}

impl Document {
    fn new(tree: ExecutableDocument) -> Self {
        Document {
            variables_at_root: variables_at_root(&tree),
            tree,
            validated: AtomicBool::new(false),
        }
    }

    /// Whether a request of this document may skip the rules that read
    /// only the document: they passed before, and a variable that does not
    /// fit still fails before anything runs.
    pub fn may_skip_validation(&self) -> bool {
        self.variables_at_root && self.validated.load(Ordering::Relaxed)
    }

    /// Notes that a request of this document passed every rule.
    pub fn passed_validation(&self) {
        if self.variables_at_root {
            self.validated.store(true, Ordering::Relaxed);
        }
    }
}

#[derive(Clone, Default)]
pub struct DocumentCache(Arc<Mutex<HashMap<String, Arc<Document>>>>);

impl DocumentCache {
    /// The parsed document of `query`, from the cache or parsed now (and
    /// kept when it parsed).
    pub fn parse(&self, query: &str) -> Result<Arc<Document>, parser::Error> {
        if let Some(document) = self.0.lock().expect("document cache").get(query) {
            return Ok(document.clone());
        }
        let document = Arc::new(Document::new(parser::parse_query(query)?));
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

/// See [`Document::variables_at_root`].
fn variables_at_root(document: &ExecutableDocument) -> bool {
    let DocumentOperations::Single(operation) = &document.operations else {
        return false;
    };
    let operation = &operation.node;
    let roots = &operation.selection_set.node.items;
    let one_at_a_time = match operation.ty {
        // Reading twice changes nothing.
        OperationType::Query => true,
        OperationType::Mutation => roots.len() == 1,
        OperationType::Subscription => false,
    };
    one_at_a_time
        && !directed_by_variable(&operation.directives)
        && document
            .fragments
            .values()
            .all(|fragment| !selects_with_variables(&fragment.node.selection_set.node))
        && roots.iter().all(|selection| match &selection.node {
            Selection::Field(field) => {
                !directed_by_variable(&field.node.directives)
                    && !selects_with_variables(&field.node.selection_set.node)
            }
            _ => false,
        })
}

/// Whether any of `directives` reads a variable.
fn directed_by_variable(directives: &[Positioned<Directive>]) -> bool {
    directives
        .iter()
        .any(|d| d.node.arguments.iter().any(|(_, v)| uses_variable(&v.node)))
}

/// Whether anything in `set`, at any depth, reads a variable.
fn selects_with_variables(set: &SelectionSet) -> bool {
    set.items.iter().any(|selection| match &selection.node {
        Selection::Field(field) => {
            let field = &field.node;
            field.arguments.iter().any(|(_, v)| uses_variable(&v.node))
                || directed_by_variable(&field.directives)
                || selects_with_variables(&field.selection_set.node)
        }
        Selection::FragmentSpread(spread) => directed_by_variable(&spread.node.directives),
        Selection::InlineFragment(inline) => {
            directed_by_variable(&inline.node.directives)
                || selects_with_variables(&inline.node.selection_set.node)
        }
    })
}

fn uses_variable(value: &Value) -> bool {
    match value {
        Value::Variable(_) => true,
        Value::List(items) => items.iter().any(uses_variable),
        Value::Object(fields) => fields.values().any(uses_variable),
        _ => false,
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
        assert_eq!(again.tree.operations.iter().count(), 1);

        assert!(cache.parse("{ viewer { role ").is_err());
        assert_eq!(cache.len(), 1);
    }

    fn at_root(query: &str) -> bool {
        variables_at_root(&parser::parse_query(query).unwrap())
    }

    #[test]
    fn variables_only_in_root_arguments_may_skip_validation() {
        let reserve = "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename ... on Reservation { id lines(first: 3) { sku } } } }";
        assert!(at_root(reserve));
        assert!(at_root(
            "query($s: String!, $n: Int) { product(sku: $s) { sku } a: products(first: $n) { totalCount } }"
        ));
        assert!(at_root("{ viewer { role } }"));
        assert!(at_root(
            "query($s: String!) { product(sku: $s) { ...P } } fragment P on Product { sku stock(first: 2) { quantity } }"
        ));
    }

    #[test]
    fn variables_anywhere_else_keep_full_validation() {
        // Below the root: the root field has run (written, for a mutation)
        // when a nested argument fails.
        assert!(!at_root(
            "query($n: Int) { products { nodes { stock(first: $n) { quantity } } } }"
        ));
        assert!(!at_root(
            "query($n: Int) { products { ...P } } fragment P on ProductConnection { nodes { stock(first: $n) { quantity } } }"
        ));
        // Directives decide what runs.
        assert!(!at_root(
            "query($b: Boolean!) { viewer @include(if: $b) { role } }"
        ));
        assert!(!at_root(
            "query($b: Boolean!) { viewer { ... @skip(if: $b) { role } } }"
        ));
        assert!(!at_root(
            "query($b: Boolean!) { viewer { ...V @skip(if: $b) } } fragment V on Viewer { role }"
        ));
        // Two mutations: the second's variable fails after the first ran.
        assert!(!at_root(
            "mutation($a: ReserveOrderInput!, $b: ReserveOrderInput!) { a: reserveOrder(input: $a) { __typename } b: reserveOrder(input: $b) { __typename } }"
        ));
        assert!(!at_root("subscription { stockLevelChanged { sku } }"));
        assert!(!at_root(
            "query A { viewer { role } } query B { viewer { role } }"
        ));
        assert!(!at_root("{ ...Q } fragment Q on Query { viewer { role } }"));
    }

    #[test]
    fn a_document_skips_validation_only_once_a_request_of_it_passed() {
        let cache = DocumentCache::default();
        let document = cache
            .parse("query($s: String!) { product(sku: $s) { sku } }")
            .unwrap();
        assert!(!document.may_skip_validation());
        document.passed_validation();
        assert!(
            cache
                .parse("query($s: String!) { product(sku: $s) { sku } }")
                .unwrap()
                .may_skip_validation()
        );

        let nested = cache
            .parse("query($n: Int) { products { nodes { stock(first: $n) { quantity } } } }")
            .unwrap();
        nested.passed_validation();
        assert!(!nested.may_skip_validation());
    }
}
