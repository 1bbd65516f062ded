//! Response objects in the order the query asked for their fields.
//!
//! async-graphql resolves the fields of a query's objects concurrently and
//! inserts each into the response as it completes, so a field waiting on a
//! loader lands after one answered from memory, and identical requests can
//! come back in different orders. The spec (§7.2.2) asks for the order of
//! CollectFields: fields, aliases and fragments as they appear in the
//! selection set. Here each object of a response is put back in that order
//! after execution, which costs one pass over the response.
//!
//! Without the schema's types at hand, a fragment's type condition is not
//! checked: its fields are keys the object lacks when the condition does not
//! apply, and a missing key takes no place. (Only when two fragments on
//! different types select the same keys in different orders does the first
//! fragment's order win.)

use async_graphql::{
    Name, Value,
    indexmap::IndexMap,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use smallvec::SmallVec;

use super::documents::operation;

/// Puts every object of `data` in the order of the selection of the
/// operation `operation_name` of `document`.
pub fn restore(document: &ExecutableDocument, operation_name: Option<&str>, data: &mut Value) {
    if let Some(operation) = operation(document, operation_name) {
        order(document, &[&operation.selection_set.node], data);
    }
}

/// Orders `value` by the merged selection sets that produced it.
fn order(document: &ExecutableDocument, selections: &[&SelectionSet], value: &mut Value) {
    match value {
        Value::List(items) => {
            for item in items {
                order(document, selections, item);
            }
        }
        Value::Object(fields) => {
            let mut keys = Keys::new();
            for selection in selections {
                collect(document, selection, &mut keys);
            }
            // Mostly the fields already stand in order: then only what is
            // below them may need it, and the object is not rebuilt.
            if in_order(&keys, fields) {
                for (key, field) in fields.iter_mut() {
                    order_below(document, &keys, key, field);
                }
                return;
            }
            let mut unordered = std::mem::take(fields);
            for (at, &(key, _)) in keys.iter().enumerate() {
                if first_place(&keys, key) != Some(at) {
                    continue;
                }
                if let Some(mut field) = unordered.shift_remove(key) {
                    order_below(document, &keys, key, &mut field);
                    fields.insert(key.clone(), field);
                }
            }
            // Nothing should be left; if anything is, it keeps its place
            // after the ordered keys rather than being lost.
            fields.extend(unordered);
        }
        _ => {}
    }
}

/// Orders the value of `key` by every sub-selection merged under it. A
/// scalar has nothing below it, and gathers nothing.
fn order_below(document: &ExecutableDocument, keys: &[Key<'_>], key: &Name, field: &mut Value) {
    if matches!(field, Value::Object(_) | Value::List(_)) {
        let merged: SmallVec<[&SelectionSet; 2]> = keys
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|&(_, selection)| selection)
            .collect();
        order(document, &merged, field);
    }
}

/// Where `key` first stands among `keys`: its place in CollectFields order.
fn first_place(keys: &[Key<'_>], key: &Name) -> Option<usize> {
    keys.iter().position(|(k, _)| *k == key)
}

/// Whether every key of `fields` is one of `keys`, in the same order.
fn in_order(keys: &[Key<'_>], fields: &IndexMap<Name, Value>) -> bool {
    let mut last = None;
    for key in fields.keys() {
        match first_place(keys, key) {
            Some(at) if last.is_none_or(|before| at > before) => last = Some(at),
            _ => return false,
        }
    }
    true
}

/// A response key and one sub-selection under it. A key selected twice
/// appears twice; its first place is its place. A list searched from the
/// front rather than a map: objects have a few keys, and a map hashed each
/// (SipHash) and gave each its own vector, for every object of every
/// response.
type Key<'a> = (&'a Name, &'a SelectionSet);

/// An object's keys, inline up to a size most objects stay under: this
/// runs for every object of every response and every subscription event,
/// and a heap list each was 13 of the ~290 allocations a flash-sale hold
/// cost (DHAT).
type Keys<'a> = SmallVec<[Key<'a>; 8]>;

/// The response keys a selection set yields, in CollectFields order, each
/// with the sub-selection under it.
fn collect<'a>(
    document: &'a ExecutableDocument,
    selection_set: &'a SelectionSet,
    keys: &mut Keys<'a>,
) {
    for selection in &selection_set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                keys.push((&field.response_key().node, &field.selection_set.node));
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect(document, &fragment.node.selection_set.node, keys);
                }
            }
            Selection::InlineFragment(fragment) => {
                collect(document, &fragment.node.selection_set.node, keys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use serde_json::json;

    /// `data` (whose keys serde_json keeps sorted, so scrambled relative to
    /// the query) restored, as JSON text in the order it would be sent.
    fn restored(query: &str, data: serde_json::Value) -> String {
        let document = parse_query(query).unwrap();
        let mut value = Value::from_json(data).unwrap();
        restore(&document, None, &mut value);
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn fields_aliases_and_fragments_come_back_in_query_order() {
        let query = "
            query { b: viewer { role } ...Top  a: product(sku: \"X\") { ... on Product { sku name } id } }
            fragment Top on Query { warehouses { code city } }
        ";
        let scrambled = json!({
            "a": { "id": 1, "name": "n", "sku": "X" },
            "warehouses": [{ "city": "Berlin", "code": "BER1" }, { "city": "Milan", "code": "MIL1" }],
            "b": { "role": "ADMIN" },
        });
        assert_eq!(
            restored(query, scrambled),
            r#"{"b":{"role":"ADMIN"},"warehouses":[{"code":"BER1","city":"Berlin"},{"code":"MIL1","city":"Milan"}],"a":{"sku":"X","name":"n","id":1}}"#
        );
    }

    #[test]
    fn a_key_selected_twice_merges_its_subselections_at_its_first_place() {
        let query = "{ x { c } y x { b a } }";
        let scrambled = json!({ "y": 1, "x": { "b": 2, "a": 1, "c": 3 } });
        assert_eq!(
            restored(query, scrambled),
            r#"{"x":{"c":3,"b":2,"a":1},"y":1}"#
        );
    }

    #[test]
    fn null_objects_and_missing_fields_are_left_alone() {
        let query = "{ z { b } c { d } }";
        assert_eq!(
            restored(query, json!({ "c": null, "z": { "b": null } })),
            r#"{"z":{"b":null},"c":null}"#
        );
    }

    #[test]
    fn an_object_already_in_order_still_has_its_children_ordered() {
        // The outer keys are in order (a before b, as serde_json sorts
        // them too); the inner ones are not.
        let query = "{ a { z y } b }";
        assert_eq!(
            restored(query, json!({ "a": { "y": 1, "z": 2 }, "b": 3 })),
            r#"{"a":{"z":2,"y":1},"b":3}"#
        );
    }
}
