//! Error messages a person can act on, for the errors async-graphql makes
//! before a query runs.
//!
//! - A syntax error is one line with its position in `locations`, not the
//!   parser's multi-line drawing of the query.
//! - A variable whose value does not fit its argument is named: async-graphql
//!   checks the value where the variable is used and names the argument
//!   (`Invalid value for argument "first"`), but the client wrote `$n`.

use async_graphql::{
    Pos, ServerError,
    parser::{
        self,
        types::{ExecutableDocument, Selection, SelectionSet},
    },
};
use async_graphql_value::Value;

/// The error a client gets for a document that does not parse.
pub fn syntax_error(error: parser::Error) -> ServerError {
    let locations: Vec<Pos> = error.positions().take(1).collect();
    let message = match &error {
        parser::Error::Syntax { message, .. } => {
            // pest draws the line and a caret; what it expected is the
            // line that starts with `=`. Other syntax errors are one line
            // already, with a position of their own that `locations` gives
            // better.
            let expected = match message
                .lines()
                .find_map(|l| l.trim_start().strip_prefix("= "))
            {
                Some(expected) => expected,
                None if !message.contains('\n') => {
                    message.split(" at line ").next().unwrap_or(message)
                }
                None => "unexpected input",
            };
            match locations.first() {
                Some(at) => format!(
                    "syntax error at line {}, column {}: {expected}",
                    at.line, at.column
                ),
                None => format!("syntax error: {expected}"),
            }
        }
        other => other.to_string().replace('\n', " "),
    };
    let mut error = ServerError::new(message, None);
    error.locations = locations;
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", "BAD_USER_INPUT");
    error
}

const INVALID_ARGUMENT: &str = "Invalid value for argument \"";

/// Rewrites "invalid value for argument" errors whose value came from a
/// variable so that they name the variable.
pub fn name_variables(document: &ExecutableDocument, errors: &mut [ServerError]) {
    for error in errors {
        let Some(rest) = error.message.strip_prefix(INVALID_ARGUMENT) else {
            continue;
        };
        let Some((path, reason)) = rest.split_once("\", ") else {
            continue;
        };
        let Some(at) = error.locations.first() else {
            continue;
        };
        let mut segments = path.split('.');
        let Some(argument) = segments.next() else {
            continue;
        };
        let Some(value) = argument_at(document, *at, argument) else {
            continue;
        };
        if let Some((variable, inside)) = variable_along(value, segments) {
            error.message = if inside.is_empty() {
                format!("Variable \"${variable}\" got an invalid value: {reason}")
            } else {
                format!(
                    "Variable \"${variable}\" got an invalid value at \"{}\": {reason}",
                    inside.join(".")
                )
            };
        }
    }
}

/// The value given to the argument `name` whose name is written at `at`.
fn argument_at<'a>(document: &'a ExecutableDocument, at: Pos, name: &str) -> Option<&'a Value> {
    let operations = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|f| &f.node.selection_set.node);
    operations
        .chain(fragments)
        .find_map(|set| argument_in(set, at, name))
}

fn argument_in<'a>(set: &'a SelectionSet, at: Pos, name: &str) -> Option<&'a Value> {
    set.items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find(|(argument, _)| argument.pos == at && argument.node == name)
                .map(|(_, value)| &value.node)
                .or_else(|| argument_in(&field.node.selection_set.node, at, name)),
            Selection::InlineFragment(fragment) => {
                argument_in(&fragment.node.selection_set.node, at, name)
            }
            Selection::FragmentSpread(_) => None,
        })
}

/// Follows `path` into a literal value until it reaches a variable: the
/// variable's name and the rest of the path inside its value.
fn variable_along<'a, 'p>(
    mut value: &'a Value,
    mut path: impl Iterator<Item = &'p str>,
) -> Option<(&'a str, Vec<&'p str>)> {
    loop {
        match value {
            Value::Variable(name) => return Some((name.as_str(), path.collect())),
            Value::Object(fields) => value = fields.get(path.next()?)?,
            Value::List(items) => value = items.get(path.next()?.parse::<usize>().ok()?)?,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn invalid(message: &str, line: usize, column: usize) -> ServerError {
        ServerError::new(message, Some(Pos { line, column }))
    }

    #[test]
    fn a_syntax_error_is_one_line_with_its_position() {
        let error = syntax_error(parse_query("{ products(first: 5) { edges ").unwrap_err());
        assert!(!error.message.contains('\n'), "{}", error.message);
        assert!(
            error.message.starts_with("syntax error at line 1, column "),
            "{}",
            error.message
        );
        assert_eq!(error.locations.len(), 1);
        let overflow = syntax_error(parse_query("{ a(x: 1e400) }").unwrap_err());
        assert_eq!(
            overflow.message,
            "syntax error at line 1, column 8: invalid number: number out of range"
        );
    }

    #[test]
    fn an_argument_fed_by_a_variable_names_the_variable() {
        let document =
            parse_query("query($n: Int) {\n  products(first: $n) { edges { cursor } } }").unwrap();
        let mut errors = vec![invalid(
            "Invalid value for argument \"first\", expected type \"Int\"",
            2,
            12,
        )];
        name_variables(&document, &mut errors);
        assert_eq!(
            errors[0].message,
            "Variable \"$n\" got an invalid value: expected type \"Int\""
        );
    }

    #[test]
    fn a_variable_inside_a_literal_input_is_found_with_its_inner_path() {
        let document =
            parse_query("query($lines: [OrderLineInput!]!) { planFulfilment(input: { lines: $lines, shipTo: { latitude: 1, longitude: 2 } }) { feasible } }")
                .unwrap();
        let mut errors = vec![invalid(
            "Invalid value for argument \"input.lines.0.quantity\", expected type \"Int\"",
            1,
            52,
        )];
        name_variables(&document, &mut errors);
        assert_eq!(
            errors[0].message,
            "Variable \"$lines\" got an invalid value at \"0.quantity\": expected type \"Int\""
        );
    }

    #[test]
    fn a_literal_argument_keeps_its_message() {
        let document = parse_query("{ products(first: \"x\") { edges { cursor } } }").unwrap();
        let message = "Invalid value for argument \"first\", expected type \"Int\"";
        let mut errors = vec![invalid(message, 1, 12)];
        name_variables(&document, &mut errors);
        assert_eq!(errors[0].message, message);
    }
}
