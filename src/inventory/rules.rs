//! The shape rules for what admins write: identifiers, names, quantities,
//! money. Each check names the field it refuses, so the client can point at
//! it.

use super::{InventoryError, ledger::MAX_ON_HAND};

/// The longest SKU or warehouse code.
pub const MAX_IDENTIFIER_CHARS: usize = 64;
/// The longest name, city or reference.
pub const MAX_TEXT_CHARS: usize = 200;
/// The heaviest product: a tonne.
pub const MAX_WEIGHT_GRAMS: i32 = 1_000_000;
/// The highest shipping rate component, in cents: 100,000.00 per unit.
/// Keeps every computed cost far inside 64 bits.
pub const MAX_RATE_CENTS: i32 = 10_000_000;

/// A SKU or warehouse code: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn identifier(raw: &str, field: &str) -> Result<(), InventoryError> {
    let len = raw.chars().count();
    if len == 0 || len > MAX_IDENTIFIER_CHARS {
        return Err(InventoryError::invalid(
            field,
            format!("must be 1 to {MAX_IDENTIFIER_CHARS} characters, got {len}"),
        ));
    }
    if let Some(bad) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(InventoryError::invalid(
            field,
            format!("may hold only letters, digits, `.`, `_` and `-`, found {bad:?}"),
        ));
    }
    Ok(())
}

/// Free text shown to people: a name, a city, a reference. Trimmed; 1 to
/// 200 characters, no control characters.
pub fn text(raw: &str, field: &str) -> Result<String, InventoryError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > MAX_TEXT_CHARS {
        return Err(InventoryError::invalid(
            field,
            format!(
                "must be 1 to {MAX_TEXT_CHARS} characters (not counting surrounding spaces), got {len}"
            ),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InventoryError::invalid(
            field,
            "may not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Optional free text: absent stays absent; present follows [`text`].
pub fn optional_text(raw: Option<&str>, field: &str) -> Result<Option<String>, InventoryError> {
    raw.map(|raw| text(raw, field)).transpose()
}

/// Units moved by one change: 1 to [`MAX_ON_HAND`].
pub fn units(n: i32, field: &str) -> Result<i32, InventoryError> {
    between(n, 1, MAX_ON_HAND, field)
}

/// A counted on-hand quantity: 0 to [`MAX_ON_HAND`].
pub fn count(n: i32, field: &str) -> Result<i32, InventoryError> {
    between(n, 0, MAX_ON_HAND, field)
}

pub fn weight_grams(n: i32, field: &str) -> Result<i32, InventoryError> {
    between(n, 1, MAX_WEIGHT_GRAMS, field)
}

pub fn rate_cents(n: i32, field: &str) -> Result<i32, InventoryError> {
    between(n, 0, MAX_RATE_CENTS, field)
}

/// `n` within `min..=max`.
pub fn between(n: i32, min: i32, max: i32, field: &str) -> Result<i32, InventoryError> {
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(InventoryError::invalid(
            field,
            format!("must be between {min} and {max}, got {n}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: Result<impl std::fmt::Debug, InventoryError>) -> String {
        match result {
            Err(InventoryError::InvalidInput { field, message }) => format!("{field}: {message}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn identifiers_are_short_and_plain() {
        assert!(identifier("TENT-2P_GRN.v2", "sku").is_ok());
        assert!(identifier(&"A".repeat(64), "sku").is_ok());
        assert!(refused(identifier("", "sku")).starts_with("sku: must be 1 to 64"));
        assert!(refused(identifier(&"A".repeat(65), "sku")).contains("got 65"));
        assert!(refused(identifier("TENT 2P", "sku")).contains("' '"));
        assert!(refused(identifier("ZELT-Ü", "code")).starts_with("code:"));
        assert!(refused(identifier("X';DROP TABLE products;--", "sku")).contains("'\\''"));
    }

    #[test]
    fn text_is_trimmed_bounded_and_printable() {
        assert_eq!(text("  Berlin ", "city").unwrap(), "Berlin");
        assert_eq!(text(&"é".repeat(200), "name").unwrap().chars().count(), 200);
        assert!(refused(text("   ", "name")).contains("got 0"));
        assert!(refused(text(&"x".repeat(201), "name")).contains("got 201"));
        assert!(refused(text("a\u{0}b", "name")).contains("control"));
        assert_eq!(optional_text(None, "city").unwrap(), None);
    }

    #[test]
    fn numbers_stay_in_their_ranges() {
        assert_eq!(units(1, "quantity").unwrap(), 1);
        assert!(refused(units(0, "quantity")).contains("between 1 and 1000000000"));
        assert!(refused(units(MAX_ON_HAND + 1, "quantity")).contains("got 1000000001"));
        assert_eq!(count(0, "quantity").unwrap(), 0);
        assert!(count(-1, "quantity").is_err());
        assert!(weight_grams(0, "weightGrams").is_err());
        assert!(weight_grams(MAX_WEIGHT_GRAMS + 1, "weightGrams").is_err());
        assert!(rate_cents(-1, "baseCents").is_err());
        assert_eq!(rate_cents(0, "baseCents").unwrap(), 0);
    }
}
