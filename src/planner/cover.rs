//! Fewer shipments by local search: given a set of warehouses that can
//! cover the order, look for one with a member less.
//!
//! Exact search proves a count; it is slow to *find* a small cover among
//! hundreds of warehouses, where most sets of the right size miss some
//! line. A weighted swap search finds them fast: drop a member, then swap
//! one member for one outsider at a time so as to shrink the units still
//! missing, weighting lines by how long they have stayed short, and keeping
//! a warehouse just swapped where it is for a few swaps, so that the search
//! does not circle round the same hard lines (the scheme of the strongest
//! set-cover local searches). Nothing here proves anything; the covers it
//! finds are upper bounds for the exact search to start from.

use super::{budget::Counter, instance::Instance};

/// Swaps tried per target size before giving up on it.
const STEPS_PER_SIZE: usize = 1000;

/// Swaps for which a warehouse just swapped stays where it is.
const TENURE: usize = 4;

/// The smallest cover found from `cover` down to `smallest` members,
/// spending the counter's nodes (one per swap, one more per 400 candidates
/// scanned). Never larger than `cover`.
pub(super) fn shrink(
    instance: &Instance<'_>,
    cover: Vec<usize>,
    smallest: usize,
    counter: &mut Counter,
) -> Vec<usize> {
    let mut search = Swaps::new(instance, &cover);
    let mut best = cover;
    let price = 1 + instance.candidates.len().div_ceil(400) as u64;
    'sizes: while best.len() > smallest.max(1) {
        search.drop_cheapest();
        for _ in 0..STEPS_PER_SIZE {
            if search.missing == 0 {
                best = search.members();
                continue 'sizes;
            }
            if !counter.spend_many(price) || !search.swap() {
                break;
            }
        }
        if search.missing != 0 {
            break;
        }
        best = search.members();
    }
    best
}

/// A set of warehouses and what it still misses of each line.
struct Swaps {
    /// `holders[line]`: the candidates holding some of it, with the units
    /// they can give (capped at the line's quantity).
    holders: Vec<Vec<(usize, u64)>>,
    /// `holds[candidate]`: the lines it holds some of, with the units.
    holds: Vec<Vec<(usize, u64)>>,
    need: Vec<u64>,
    member: Vec<bool>,
    /// Units of each line the members hold.
    held: Vec<u64>,
    /// How long each line has been short, plus one.
    weight: Vec<u64>,
    /// Units missing over all lines: 0 means a cover.
    missing: u64,
    /// The swap each warehouse last took part in.
    moved_at: Vec<usize>,
    step: usize,
    /// Scratch: what each outsider would cover of the weighted shortfall.
    gain: Vec<u64>,
}

impl Swaps {
    fn new(instance: &Instance<'_>, cover: &[usize]) -> Self {
        let (lines, n) = (instance.lines.len(), instance.candidates.len());
        let mut holders = vec![Vec::new(); lines];
        let mut holds = vec![Vec::new(); n];
        for (l, line_holders) in holders.iter_mut().enumerate() {
            for (c, candidate_holds) in holds.iter_mut().enumerate() {
                let units = u64::from(instance.usable(l, c));
                if units > 0 {
                    line_holders.push((c, units));
                    candidate_holds.push((l, units));
                }
            }
        }
        let need: Vec<u64> = instance
            .lines
            .iter()
            .map(|l| u64::from(l.quantity))
            .collect();
        let missing = need.iter().sum();
        let mut swaps = Swaps {
            holders,
            holds,
            held: vec![0; lines],
            need,
            member: vec![false; n],
            weight: vec![1; lines],
            missing,
            moved_at: vec![0; n],
            step: TENURE,
            gain: vec![0; n],
        };
        for &c in cover {
            swaps.set(c, true);
        }
        swaps
    }

    fn short(&self, line: usize) -> u64 {
        self.need[line].saturating_sub(self.held[line])
    }

    fn members(&self) -> Vec<usize> {
        (0..self.member.len()).filter(|&c| self.member[c]).collect()
    }

    fn recent(&self, c: usize) -> bool {
        self.moved_at[c] + TENURE > self.step
    }

    /// What removing member `c` would add to the weighted shortfall.
    fn loss(&self, c: usize) -> u64 {
        self.holds[c]
            .iter()
            .map(|&(l, units)| {
                let after = self.need[l].saturating_sub(self.held[l] - units);
                self.weight[l] * (after - self.short(l))
            })
            .sum()
    }

    fn set(&mut self, c: usize, on: bool) {
        self.member[c] = on;
        for &(l, units) in &self.holds[c] {
            let before = self.short(l);
            if on {
                self.held[l] += units;
            } else {
                self.held[l] -= units;
            }
            self.missing = self.missing - before + self.short(l);
        }
    }

    fn moved(&mut self, moved: &[usize]) {
        self.step += 1;
        for &c in moved {
            self.moved_at[c] = self.step;
        }
    }

    /// Drops the member whose loss is least: the start of the next size.
    fn drop_cheapest(&mut self) {
        if let Some(c) = self
            .members()
            .into_iter()
            .min_by_key(|&c| (self.loss(c), c))
        {
            self.set(c, false);
            self.moved(&[c]);
        }
    }

    /// One swap: out goes the member not just moved whose loss is least
    /// (if all just moved, the one that moved longest ago); in comes the
    /// outsider not just moved that covers most of the weighted shortfall
    /// then; lines still short weigh more. False when nothing can come in.
    fn swap(&mut self) -> bool {
        let members = self.members();
        let Some(out) = members
            .iter()
            .copied()
            .filter(|&c| !self.recent(c))
            .min_by_key(|&c| (self.loss(c), c))
            .or_else(|| {
                members
                    .iter()
                    .copied()
                    .min_by_key(|&c| (self.moved_at[c], c))
            })
        else {
            return false;
        };
        self.set(out, false);
        self.gain.iter_mut().for_each(|g| *g = 0);
        for l in 0..self.need.len() {
            let short = self.short(l);
            if short > 0 {
                for &(c, units) in &self.holders[l] {
                    self.gain[c] += self.weight[l] * short.min(units);
                }
            }
        }
        let incoming = (0..self.member.len())
            .filter(|&c| !self.member[c] && c != out && !self.recent(c))
            .max_by_key(|&c| (self.gain[c], std::cmp::Reverse(c)));
        let Some(incoming) = incoming else {
            self.set(out, true);
            return false;
        };
        self.set(incoming, true);
        self.moved(&[out, incoming]);
        for l in 0..self.need.len() {
            if self.short(l) > 0 {
                self.weight[l] += 1;
            }
        }
        true
    }
}
