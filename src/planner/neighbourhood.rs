//! Good plans fast: a set of shipping warehouses improved by opening,
//! closing and swapping one warehouse at a time.
//!
//! A set is priced by filling each line from its open warehouses cheapest
//! per kilogram first, which is the cheapest spread but for the rounding to
//! started kilograms (the exact search settles that on the final set). The
//! plans found here only ever serve as incumbents: they make the exact
//! search cut sooner, and they are real plans, so they never change what it
//! proves.

use super::instance::{Allocation, Instance};

/// How far one move of [`Pricer::improve`] may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Moves {
    /// Open, close or swap one warehouse.
    Single,
    /// And, where no single move pays, two out and two (or one) in: slower
    /// by the square of the set's size, so kept for the best few starts.
    Pairs,
}

/// Prices warehouse sets, reusing its buffers.
pub(super) struct Pricer<'i, 'a> {
    instance: &'i Instance<'a>,
    /// Each candidate's place in the order lines are filled in: cheapest per
    /// kilogram, then tie-break order.
    rank: Vec<usize>,
    grams: Vec<u64>,
    /// `holders[line]`: the candidates holding some of it.
    holders: Vec<Vec<usize>>,
}

impl<'i, 'a> Pricer<'i, 'a> {
    pub fn new(instance: &'i Instance<'a>) -> Self {
        let mut by_rate: Vec<usize> = (0..instance.candidates.len()).collect();
        by_rate.sort_by_key(|&c| (instance.candidates[c].cents_per_kg, c));
        let mut rank = vec![0; by_rate.len()];
        for (r, &c) in by_rate.iter().enumerate() {
            rank[c] = r;
        }
        let holders = (0..instance.lines.len())
            .map(|l| {
                (0..instance.candidates.len())
                    .filter(|&c| instance.stock[l][c] > 0)
                    .collect()
            })
            .collect();
        Pricer {
            instance,
            rank,
            grams: Vec::new(),
            holders,
        }
    }

    /// Sorts a set into fill order.
    fn arrange(&self, set: &mut [usize]) {
        set.sort_by_key(|&c| self.rank[c]);
    }

    /// The cost of filling the order from `set` (in fill order) and how many
    /// of its warehouses ship; `None` when it cannot cover the order.
    fn price(&mut self, set: &[usize]) -> Option<(i64, usize)> {
        let instance = self.instance;
        self.grams.clear();
        self.grams.resize(set.len(), 0);
        for (l, line) in instance.lines.iter().enumerate() {
            let mut missing = line.quantity;
            for (i, &c) in set.iter().enumerate() {
                if missing == 0 {
                    break;
                }
                let take = instance.stock[l][c].min(missing);
                self.grams[i] += instance.line_grams(l, take);
                missing -= take;
            }
            if missing > 0 {
                return None;
            }
        }
        let mut cost = 0;
        let mut used = 0;
        for (i, &c) in set.iter().enumerate() {
            if self.grams[i] > 0 {
                let candidate = &instance.candidates[c];
                cost += candidate.fixed_cents + candidate.site.rate.weight_cents(self.grams[i]);
                used += 1;
            }
        }
        Some((cost, used))
    }

    /// What filling the order from `set` costs, if it can.
    pub fn cost(&mut self, set: &[usize]) -> Option<i64> {
        let mut set = set.to_vec();
        self.arrange(&mut set);
        self.price(&set).map(|(cost, _)| cost)
    }

    /// The allocation [`Pricer::price`] charges for.
    pub fn allocation(&self, set: &[usize]) -> Allocation {
        let instance = self.instance;
        let mut set = set.to_vec();
        self.arrange(&mut set);
        let mut allocation = Allocation::empty(instance);
        for (l, line) in instance.lines.iter().enumerate() {
            let mut missing = line.quantity;
            for &c in &set {
                let take = instance.stock[l][c].min(missing);
                allocation.units[l][c] = take;
                missing -= take;
            }
        }
        allocation
    }

    /// The warehouses of `set` that ship when it is priced.
    fn shipping(&mut self, set: &[usize]) -> Vec<usize> {
        let _ = self.price(set);
        set.iter()
            .zip(&self.grams)
            .filter(|(_, g)| **g > 0)
            .map(|(&c, _)| c)
            .collect()
    }

    /// Improves `start` by opening, closing or swapping one warehouse at a
    /// time (opening only those of `pool`; best move first, at most `cap`
    /// shipping, for at most `rounds` moves), and with [`Moves::Pairs`] two
    /// at a time where one is not enough. Returns the cost and set (in
    /// tie-break order) it ends at, or `None` when `start` cannot cover the
    /// order within the cap.
    pub fn improve(
        &mut self,
        start: &[usize],
        pool: &[usize],
        cap: usize,
        rounds: usize,
        moves: Moves,
    ) -> Option<(i64, Vec<usize>)> {
        let n = self.instance.candidates.len();
        let mut set = start.to_vec();
        self.arrange(&mut set);
        let (mut cost, _) = self.price(&set)?;
        set = self.shipping(&set);
        if set.len() > cap {
            return None;
        }
        let mut inside = vec![false; n];
        for &c in &set {
            inside[c] = true;
        }
        let mut trial = Vec::with_capacity(set.len() + 1);
        let mut rest = Vec::with_capacity(set.len());
        let (mut held, mut pair_held) = (Vec::new(), Vec::new());
        let mut arranged = Vec::with_capacity(set.len() + 2);
        for _ in 0..rounds {
            let mut best: Option<(i64, Vec<usize>, Vec<usize>)> = None;
            let consider = |best: &mut Option<(i64, Vec<usize>, Vec<usize>)>,
                            priced: Option<(i64, usize)>,
                            out: &[usize],
                            into: &[usize]| {
                if let Some((c, _)) = priced
                    && c < best.as_ref().map_or(cost, |(b, _, _)| *b)
                {
                    *best = Some((c, out.to_vec(), into.to_vec()));
                }
            };
            for i in 0..set.len() {
                trial.clear();
                trial.extend(
                    set.iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, &c)| c),
                );
                consider(&mut best, self.price(&trial), &[set[i]], &[]);
            }
            if set.len() < cap {
                for &c in pool.iter().filter(|&&c| !inside[c]) {
                    self.with(&set, None, c, &mut trial);
                    consider(&mut best, self.price(&trial), &[], &[c]);
                }
            }
            if best.is_none() {
                for i in 0..set.len() {
                    for &c in pool.iter().filter(|&&c| !inside[c]) {
                        self.with(&set, Some(i), c, &mut trial);
                        consider(&mut best, self.price(&trial), &[set[i]], &[c]);
                    }
                }
            }
            if best.is_none() && set.len() >= cap {
                // At the cap the pool is often no help: a member that alone
                // holds some line can only give way to another holder of
                // it, which may be anywhere among hundreds. Those few are
                // found from the lines the member leaves short.
                let all = self.held(&set);
                for i in 0..set.len() {
                    self.without(&all, &[set[i]], &mut held);
                    for c in self.completing(&held).unwrap_or_default() {
                        if inside[c] || pool.contains(&c) {
                            continue;
                        }
                        self.with(&set, Some(i), c, &mut trial);
                        consider(&mut best, self.price(&trial), &[set[i]], &[c]);
                    }
                }
            }
            if best.is_none() && moves == Moves::Pairs {
                // Still stuck: two members out, one from the pool and one
                // that completes the cover in. Plans at the fewest shipments
                // that differ in one warehouse are rarely both covers.
                let all = self.held(&set);
                for i in 0..set.len() {
                    for j in i + 1..set.len() {
                        let out = [set[i], set[j]];
                        self.without(&all, &out, &mut pair_held);
                        rest.clear();
                        rest.extend(set.iter().copied().filter(|c| !out.contains(c)));
                        for &a in pool.iter().filter(|&&a| !inside[a]) {
                            held.clone_from(&pair_held);
                            for (l, h) in held.iter_mut().enumerate() {
                                *h += u64::from(self.instance.usable(l, a));
                            }
                            trial.clone_from(&rest);
                            trial.push(a);
                            let Some(completing) = self.completing(&held) else {
                                // Two out, one in: a cover already.
                                self.arrange(&mut trial);
                                consider(&mut best, self.price(&trial), &out, &[a]);
                                continue;
                            };
                            for b in completing {
                                if inside[b] || b == a {
                                    continue;
                                }
                                trial.truncate(rest.len() + 1);
                                trial.push(b);
                                arranged.clone_from(&trial);
                                self.arrange(&mut arranged);
                                consider(&mut best, self.price(&arranged), &out, &[a, b]);
                            }
                        }
                    }
                }
            }
            let Some((new_cost, out, into)) = best else {
                break;
            };
            set.retain(|c| !out.contains(c));
            set.extend(into);
            self.arrange(&mut set);
            cost = new_cost;
            set = self.shipping(&set);
            inside.iter_mut().for_each(|i| *i = false);
            for &c in &set {
                inside[c] = true;
            }
        }
        set.sort_unstable();
        Some((cost, set))
    }

    /// Units of each line that `members` hold.
    fn held(&self, members: &[usize]) -> Vec<u64> {
        (0..self.instance.lines.len())
            .map(|l| {
                members
                    .iter()
                    .map(|&c| u64::from(self.instance.usable(l, c)))
                    .sum()
            })
            .collect()
    }

    /// `held` less what `out` holds, into `into`.
    fn without(&self, held: &[u64], out: &[usize], into: &mut Vec<u64>) {
        into.clear();
        into.extend(held.iter().enumerate().map(|(l, &h)| {
            h - out
                .iter()
                .map(|&c| u64::from(self.instance.usable(l, c)))
                .sum::<u64>()
        }));
    }

    /// The candidates that complete a set holding `held` of each line to a
    /// cover: each holds, of every line still short, at least what is
    /// missing. `None` when nothing is short.
    fn completing(&self, held: &[u64]) -> Option<Vec<usize>> {
        let instance = self.instance;
        let short: Vec<(usize, u64)> = instance
            .lines
            .iter()
            .zip(held)
            .enumerate()
            .filter(|(_, (line, held))| **held < u64::from(line.quantity))
            .map(|(l, (line, held))| (l, u64::from(line.quantity) - held))
            .collect();
        let &(rarest, _) = short
            .iter()
            .min_by_key(|&&(l, _)| (self.holders[l].len(), l))?;
        Some(
            self.holders[rarest]
                .iter()
                .copied()
                .filter(|&c| {
                    short
                        .iter()
                        .all(|&(l, missing)| u64::from(instance.usable(l, c)) >= missing)
                })
                .collect(),
        )
    }

    /// `set` without its `out`-th member and with `into`, in fill order.
    fn with(&self, set: &[usize], out: Option<usize>, into: usize, trial: &mut Vec<usize>) {
        trial.clear();
        let rank = self.rank[into];
        let mut placed = false;
        for (j, &c) in set.iter().enumerate() {
            if Some(j) == out {
                continue;
            }
            if !placed && self.rank[c] > rank {
                trial.push(into);
                placed = true;
            }
            trial.push(c);
        }
        if !placed {
            trial.push(into);
        }
    }
}
