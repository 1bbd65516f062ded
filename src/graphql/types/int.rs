/// Totals are computed in 64 bits; a GraphQL Int has 32. A total beyond it is
/// reported as the largest Int rather than wrapped to a wrong number.
pub fn saturating_int(total: i64) -> i32 {
    i32::try_from(total).unwrap_or(if total < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::saturating_int;

    #[test]
    fn totals_beyond_an_int_saturate() {
        assert_eq!(saturating_int(5), 5);
        assert_eq!(saturating_int(i64::from(i32::MAX) + 10), i32::MAX);
        assert_eq!(saturating_int(i64::from(i32::MIN) - 10), i32::MIN);
    }
}
