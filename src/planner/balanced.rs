//! BALANCED: each unit comes from the warehouse with the most of that SKU
//! left after the order, so that levels even out; equal levels give way to
//! the nearer warehouse, then the lower code.

use super::instance::{Allocation, Chosen, Instance, Reason};

pub(super) fn plan(instance: &Instance<'_>) -> Option<Chosen> {
    let mut allocation = Allocation::empty(instance);
    for (l, line) in instance.lines.iter().enumerate() {
        allocation.units[l] = level_off(&instance.stock[l], line.quantity);
    }
    Some(Chosen::new(instance, allocation, Reason::Balanced))
}

/// Takes `quantity` units from `stock` (in tie-break order) as if one at a
/// time from the fullest: everything above a water level `level` goes, and
/// the rest comes one unit each from the sources standing exactly at it.
/// The caller guarantees the stock covers the quantity.
fn level_off(stock: &[u32], quantity: u32) -> Vec<u32> {
    let above = |level: u32| -> u64 {
        stock
            .iter()
            .map(|&s| u64::from(s.saturating_sub(level)))
            .sum()
    };
    // The lowest level whose surplus fits in the quantity.
    let (mut low, mut high) = (0u32, stock.iter().copied().max().unwrap_or(0));
    while low < high {
        let mid = low + (high - low) / 2;
        if above(mid) <= u64::from(quantity) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    let level = low;
    let mut taken: Vec<u32> = stock.iter().map(|&s| s.saturating_sub(level)).collect();
    let mut rest = u64::from(quantity) - above(level);
    for (i, &s) in stock.iter().enumerate() {
        if rest == 0 {
            break;
        }
        if s >= level && level > 0 {
            taken[i] += 1;
            rest -= 1;
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::level_off;

    #[test]
    fn units_come_from_the_fullest_until_levels_meet() {
        assert_eq!(level_off(&[10, 4, 7], 5), vec![4, 0, 1]);
        assert_eq!(level_off(&[10, 4, 7], 9), vec![6, 0, 3]);
        assert_eq!(
            level_off(&[3, 3, 3], 2),
            vec![1, 1, 0],
            "ties go to the nearer"
        );
        assert_eq!(
            level_off(&[2, 5], 7),
            vec![2, 5],
            "everything when it takes everything"
        );
    }
}
