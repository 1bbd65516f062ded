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

/// Prices warehouse sets, reusing its buffers.
pub(super) struct Pricer<'i, 'a> {
    instance: &'i Instance<'a>,
    /// Each candidate's place in the order lines are filled in: cheapest per
    /// kilogram, then tie-break order.
    rank: Vec<usize>,
    grams: Vec<u64>,
}

impl<'i, 'a> Pricer<'i, 'a> {
    pub fn new(instance: &'i Instance<'a>) -> Self {
        let mut by_rate: Vec<usize> = (0..instance.candidates.len()).collect();
        by_rate.sort_by_key(|&c| (instance.candidates[c].cents_per_kg, c));
        let mut rank = vec![0; by_rate.len()];
        for (r, &c) in by_rate.iter().enumerate() {
            rank[c] = r;
        }
        Pricer {
            instance,
            rank,
            grams: Vec::new(),
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
    /// shipping, for at most `rounds` moves). Returns the cost and set (in tie-break order) it ends at, or
    /// `None` when `start` cannot cover the order within the cap.
    pub fn improve(
        &mut self,
        start: &[usize],
        pool: &[usize],
        cap: usize,
        rounds: usize,
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
        for _ in 0..rounds {
            let mut best: Option<(i64, Option<usize>, Option<usize>)> = None;
            let consider = |best: &mut Option<(i64, Option<usize>, Option<usize>)>,
                            priced: Option<(i64, usize)>,
                            out: Option<usize>,
                            into: Option<usize>| {
                if let Some((c, _)) = priced
                    && c < best.map_or(cost, |(b, _, _)| b)
                {
                    *best = Some((c, out, into));
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
                consider(&mut best, self.price(&trial), Some(set[i]), None);
            }
            if set.len() < cap {
                for &c in pool.iter().filter(|&&c| !inside[c]) {
                    self.with(&set, None, c, &mut trial);
                    consider(&mut best, self.price(&trial), None, Some(c));
                }
            }
            if best.is_none() {
                for i in 0..set.len() {
                    for &c in pool.iter().filter(|&&c| !inside[c]) {
                        self.with(&set, Some(i), c, &mut trial);
                        consider(&mut best, self.price(&trial), Some(set[i]), Some(c));
                    }
                }
            }
            let Some((new_cost, out, into)) = best else {
                break;
            };
            if let Some(out) = out {
                set.retain(|&c| c != out);
            }
            if let Some(into) = into {
                set.push(into);
                self.arrange(&mut set);
            }
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
