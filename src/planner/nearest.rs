//! NEAREST: the nearest warehouse that can ship the whole order; else each
//! line from the nearest warehouse that has all of it; a line no single
//! warehouse holds is split, nearest first.

use super::instance::{Allocation, Chosen, Instance, Reason};

pub(super) fn plan(instance: &Instance<'_>) -> Option<Chosen> {
    let mut allocation = Allocation::empty(instance);
    let whole = (0..instance.candidates.len()).find(|&c| {
        instance
            .lines
            .iter()
            .enumerate()
            .all(|(l, line)| instance.stock[l][c] >= line.quantity)
    });
    if let Some(c) = whole {
        for (l, line) in instance.lines.iter().enumerate() {
            allocation.units[l][c] = line.quantity;
        }
        return Some(Chosen::new(instance, allocation, Reason::WholeOrder));
    }
    for (l, line) in instance.lines.iter().enumerate() {
        if let Some(c) =
            (0..instance.candidates.len()).find(|&c| instance.stock[l][c] >= line.quantity)
        {
            allocation.units[l][c] = line.quantity;
            continue;
        }
        let mut missing = line.quantity;
        for c in 0..instance.candidates.len() {
            let take = instance.stock[l][c].min(missing);
            allocation.units[l][c] = take;
            missing -= take;
            if missing == 0 {
                break;
            }
        }
    }
    Some(Chosen::new(instance, allocation, Reason::LineByLine))
}
