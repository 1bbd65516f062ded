//! Proven lower bounds by Lagrangian relaxation.
//!
//! The plan problem, written as an integer program: open warehouses `y_c`,
//! units `x_lc` of line `l` from warehouse `c` (at most what it holds, and
//! only if open), and billed kilograms `k_c >= grams_c / 1000`; minimise
//! `Σ fixed_c·y_c + perKg_c·k_c` so that every line gets its quantity.
//!
//! Pricing each line's demand at `u_l` instead of requiring it splits the
//! problem by warehouse: each one, on its own, opens if the units it could
//! sell at those prices pay for its fixed cost and the kilograms they fill.
//! With units taken fractionally (kilograms stay whole) that subproblem is a
//! fractional knapsack per candidate kilogram count, solved exactly, and
//! for every price vector `Σ u_l·q_l + Σ min(0, value_c)` is a floor no plan
//! can beat. Subgradient ascent moves the prices towards the highest floor.
//!
//! The same floor with the warehouses fixed open or closed bounds every
//! branch of the exact search, cheaply: candidates sorted by value, the
//! best completion of a branch is a prefix sum (see [`Relaxation::branch`]).
//! With each warehouse costing 1 and kilograms free, the same machinery
//! bounds the number of shipments.

use super::instance::Instance;

/// How many warehouses a plan may open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Limit {
    AtMost(usize),
    Exactly(usize),
}

/// What a warehouse costs in the relaxed problem.
pub(super) struct Costs {
    fixed: Vec<f64>,
    per_kg: Vec<f64>,
}

impl Costs {
    /// The real shipping cost: base fee and distance once, then per kilogram.
    pub fn shipping(instance: &Instance<'_>) -> Self {
        Costs {
            fixed: instance
                .candidates
                .iter()
                .map(|c| c.fixed_cents as f64)
                .collect(),
            per_kg: instance
                .candidates
                .iter()
                .map(|c| c.cents_per_kg as f64)
                .collect(),
        }
    }

    /// One per shipment, whatever it weighs: the floor is a shipment count.
    pub fn shipments(instance: &Instance<'_>) -> Self {
        let n = instance.candidates.len();
        Costs {
            fixed: vec![1.0; n],
            per_kg: vec![0.0; n],
        }
    }
}

/// What a candidate could sell of one line: up to `units`, `grams` each.
#[derive(Clone, Copy)]
struct Item {
    line: usize,
    units: f64,
    grams: f64,
}

/// The relaxation at its best prices: the floor, and what opening each
/// candidate adds to it.
pub(super) struct Relaxation {
    /// `Σ u_l·q_l`.
    base: f64,
    /// What opening each candidate adds to the floor; negative when it pays.
    pub value: Vec<f64>,
    limit: Limit,
    /// Candidates by value, most attractive first (ties by index).
    order: Vec<usize>,
    /// Sets the relaxation opened along the ascent, for plans to start from.
    pub visited: Vec<Vec<usize>>,
    /// The prices, for a branch to start its own ascent from.
    pub prices: Vec<f64>,
    /// Prefix sums of `value` and of `min(0, value)` along `order`.
    sum: Vec<f64>,
    gain: Vec<f64>,
}

/// A floor from floating-point sums, lowered by a margin that covers their
/// rounding, so it stays proven.
fn floor_of(bound: f64) -> f64 {
    bound - 1e-7 * bound.abs().max(1.0)
}

impl Relaxation {
    fn new(base: f64, value: Vec<f64>, limit: Limit) -> Self {
        let mut order: Vec<usize> = (0..value.len()).collect();
        order.sort_by(|&a, &b| value[a].total_cmp(&value[b]).then(a.cmp(&b)));
        let mut sum = vec![0.0; order.len() + 1];
        let mut gain = vec![0.0; order.len() + 1];
        for (i, &c) in order.iter().enumerate() {
            sum[i + 1] = sum[i] + value[c];
            gain[i + 1] = gain[i] + value[c].min(0.0);
        }
        Relaxation {
            base,
            value,
            limit,
            order,
            visited: Vec::new(),
            prices: Vec::new(),
            sum,
            gain,
        }
    }

    /// The candidates the relaxation opens at its prices.
    pub fn opened(&self) -> &[usize] {
        let n = self.order.len();
        let count = match self.limit {
            Limit::Exactly(size) => size.min(n),
            Limit::AtMost(cap) => self
                .order
                .iter()
                .take(cap)
                .take_while(|&&c| self.value[c] < 0.0)
                .count(),
        };
        &self.order[..count]
    }

    /// The order a branch and bound should try candidates in.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// No plan within the limit costs less than this.
    pub fn bound(&self) -> f64 {
        self.branch(0, 0.0, 0)
    }

    /// The floor over plans that open the candidates already chosen (`opened`
    /// of them, with values summing to `chosen`) plus any from `order[from..]`.
    /// Infinite when the limit cannot be met.
    pub fn branch(&self, opened: usize, chosen: f64, from: usize) -> f64 {
        let n = self.order.len();
        let from = from.min(n);
        let rest = match self.limit {
            Limit::AtMost(cap) => {
                let more = cap.saturating_sub(opened).min(n - from);
                self.gain[from + more] - self.gain[from]
            }
            Limit::Exactly(size) => {
                let more = size.saturating_sub(opened);
                if opened > size || from + more > n {
                    return f64::INFINITY;
                }
                self.sum[from + more] - self.sum[from]
            }
        };
        floor_of(self.base + chosen + rest)
    }
}

/// How hard the ascent works: iterations, deterministic.
pub(super) const ASCENT_STEPS: u32 = 100;

/// How many of the sets met along an ascent are kept as starts.
const VISITED: usize = 12;

/// Whether a branch has decided a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fix {
    Free,
    Open,
    Closed,
}

/// The relaxation of one instance under one cost model, ready to be
/// solved for the whole problem or for a branch of it.
pub(super) struct Ascent {
    costs: Costs,
    /// Each candidate's items with their worth per gram at the last prices
    /// it was valued at, most worth first. Kept between steps: prices move
    /// little from one step to the next, so the ranking is nearly sorted
    /// already and re-sorting it costs about one pass.
    ranked: Vec<Vec<(f64, Item)>>,
    demand: Vec<f64>,
    start: Vec<f64>,
    supply: Vec<(usize, f64)>,
}

impl Ascent {
    pub fn new(instance: &Instance<'_>, costs: Costs) -> Self {
        let items: Vec<Vec<Item>> = (0..instance.candidates.len())
            .map(|c| {
                (0..instance.lines.len())
                    .filter_map(|l| {
                        let units = instance.usable(l, c);
                        (units > 0).then(|| Item {
                            line: l,
                            units: f64::from(units),
                            grams: f64::from(instance.lines[l].unit_weight_grams).max(1e-3),
                        })
                    })
                    .collect()
            })
            .collect();
        let demand = instance
            .lines
            .iter()
            .map(|l| f64::from(l.quantity))
            .collect();
        let start = starting_prices(instance, &costs, &items);
        let ranked = items
            .into_iter()
            .map(|items| items.into_iter().map(|item| (0.0, item)).collect())
            .collect();
        Ascent {
            costs,
            ranked,
            demand,
            start,
            supply: Vec::new(),
        }
    }

    /// Finds prices with a high floor over the whole problem. `upper` is the
    /// cost of a known plan (the target the step size aims at); the ascent
    /// stops early once the floor meets it, since nothing then remains to
    /// prove.
    pub fn relax(&mut self, limit: Limit, upper: Option<f64>, steps: u32) -> Relaxation {
        let fixes = vec![Fix::Free; self.ranked.len()];
        let start = self.start.clone();
        let mut visited = Vec::new();
        let (_, prices) = self.climb(limit, &fixes, upper, steps, start, Some(&mut visited));
        let value = self.values(&prices, &fixes);
        let base = self.base(&prices);
        Relaxation {
            visited,
            prices,
            ..Relaxation::new(base, value, limit)
        }
    }

    /// The floor over one branch (candidates fixed open or closed), from
    /// `prices` on for a few steps.
    pub fn floor(
        &mut self,
        limit: Limit,
        fixes: &[Fix],
        upper: f64,
        steps: u32,
        prices: &[f64],
    ) -> f64 {
        self.climb(limit, fixes, Some(upper), steps, prices.to_vec(), None)
            .0
    }

    fn base(&self, prices: &[f64]) -> f64 {
        prices.iter().zip(&self.demand).map(|(u, q)| u * q).sum()
    }

    /// Each candidate's value at `prices` (closed ones: infinite).
    fn values(&mut self, prices: &[f64], fixes: &[Fix]) -> Vec<f64> {
        (0..self.ranked.len())
            .map(|c| {
                if fixes[c] == Fix::Closed {
                    return f64::INFINITY;
                }
                let weighed = weigh(self.costs.per_kg[c], &mut self.ranked[c], prices);
                self.exact_value(c, weighed)
            })
            .collect()
    }

    /// What [`select`] needs of each candidate's value at `prices`: exact
    /// where the limit could choose it, elsewhere a floor that already shows
    /// it cannot be chosen (saving the fill, most of a step's work when
    /// hundreds of candidates are far from paying). The step's floor and
    /// choice are those of the exact values.
    fn choosable_values(&mut self, prices: &[f64], fixes: &[Fix], limit: Limit) -> Vec<f64> {
        let n = self.ranked.len();
        let mut values = vec![f64::INFINITY; n];
        let mut free = Vec::with_capacity(n);
        for c in 0..n {
            if fixes[c] == Fix::Closed {
                continue;
            }
            let weighed = weigh(self.costs.per_kg[c], &mut self.ranked[c], prices);
            if fixes[c] == Fix::Open {
                values[c] = self.exact_value(c, weighed);
            } else {
                values[c] = self.costs.fixed[c] - weighed.surplus;
                free.push((values[c], c, weighed));
            }
        }
        // Floors this close to a bound are filled anyway, so that rounding
        // in the floor never hides a candidate that could be chosen.
        let margin = |v: f64| 1e-9 * v.abs().max(1.0);
        match limit {
            Limit::AtMost(_) => {
                // Only candidates that pay can be chosen.
                for (floor, c, weighed) in free {
                    if floor < margin(floor) {
                        values[c] = self.exact_value(c, weighed);
                    }
                }
            }
            Limit::Exactly(size) => {
                let open = (0..n).filter(|&c| fixes[c] == Fix::Open).count();
                let more = size.saturating_sub(open);
                if more == 0 {
                    return values;
                }
                if more < free.len() {
                    // The `more` lowest floors, filled, bound the `more`-th
                    // lowest value from above; no floor over that bound can
                    // be among the chosen.
                    free.select_nth_unstable_by(more - 1, |a, b| {
                        a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
                    });
                    let (lowest, rest) = free.split_at(more);
                    let mut bound = f64::NEG_INFINITY;
                    for &(_, c, weighed) in lowest {
                        values[c] = self.exact_value(c, weighed);
                        bound = bound.max(values[c]);
                    }
                    for &(floor, c, weighed) in rest {
                        if floor <= bound + margin(bound) {
                            values[c] = self.exact_value(c, weighed);
                        }
                    }
                } else {
                    for (_, c, weighed) in free {
                        values[c] = self.exact_value(c, weighed);
                    }
                }
            }
        }
        values
    }

    /// One candidate's value once [`weigh`] has run at the step's prices.
    fn exact_value(&mut self, c: usize, weighed: Weighed) -> f64 {
        filled_value(
            self.costs.fixed[c],
            self.costs.per_kg[c],
            &mut self.ranked[c],
            weighed,
            None,
        )
    }

    /// Subgradient ascent from `prices`: the best floor met and its prices.
    fn climb(
        &mut self,
        limit: Limit,
        fixes: &[Fix],
        upper: Option<f64>,
        steps: u32,
        mut prices: Vec<f64>,
        mut visited: Option<&mut Vec<Vec<usize>>>,
    ) -> (f64, Vec<f64>) {
        let mut best: Option<(f64, Vec<f64>)> = None;
        let mut scale = 2.0;
        let mut since_better = 0;
        let mut taken = vec![0.0; self.demand.len()];
        for step_number in 0..steps.max(1) {
            let values = self.choosable_values(&prices, fixes, limit);
            let (bound, chosen) = select(self.base(&prices), &values, fixes, limit);
            if best.as_ref().is_none_or(|(b, _)| bound > *b) {
                best = Some((bound, prices.clone()));
                since_better = 0;
            } else {
                since_better += 1;
                if since_better >= 6 {
                    scale /= 2.0;
                    since_better = 0;
                }
            }
            if let Some(visited) = visited.as_deref_mut()
                && step_number % 5 == 4
                && visited.len() < VISITED
            {
                let mut opened = chosen.clone();
                opened.sort_unstable();
                if !visited.contains(&opened) {
                    visited.push(opened);
                }
            }
            if bound == f64::INFINITY || upper.is_some_and(|u| bound.ceil() >= u) || scale < 5e-3 {
                break;
            }
            // The subgradient: demand minus what the opened candidates supply.
            taken.iter_mut().for_each(|t| *t = 0.0);
            for &c in &chosen {
                self.supply.clear();
                open_value(
                    self.costs.fixed[c],
                    self.costs.per_kg[c],
                    &mut self.ranked[c],
                    &prices,
                    Some(&mut self.supply),
                );
                for &(l, x) in &self.supply {
                    taken[l] += x;
                }
            }
            let step: Vec<f64> = self.demand.iter().zip(&taken).map(|(q, t)| q - t).collect();
            let norm: f64 = step.iter().map(|g| g * g).sum();
            if norm < 1e-12 {
                break;
            }
            let target = upper.unwrap_or(bound.abs() * 1.1 + 1.0).max(bound + 1.0);
            let t = scale * (target - bound) / norm;
            for (u, g) in prices.iter_mut().zip(&step) {
                *u = (*u + t * g).max(0.0);
            }
        }
        best.expect("at least one step")
    }
}

/// The floor at one set of prices and the candidates it opens: every
/// candidate fixed open, and the most attractive free ones the limit allows.
fn select(base: f64, values: &[f64], fixes: &[Fix], limit: Limit) -> (f64, Vec<usize>) {
    let mut chosen: Vec<usize> = (0..values.len())
        .filter(|&c| fixes[c] == Fix::Open)
        .collect();
    let mut bound = base + chosen.iter().map(|&c| values[c]).sum::<f64>();
    let (more, all) = match limit {
        Limit::AtMost(cap) => (cap.checked_sub(chosen.len()), false),
        Limit::Exactly(size) => (size.checked_sub(chosen.len()), true),
    };
    let Some(more) = more else {
        return (f64::INFINITY, chosen);
    };
    // Only the candidates that can be chosen need ordering.
    let mut free: Vec<usize> = (0..values.len())
        .filter(|&c| fixes[c] == Fix::Free && (all || values[c] < 0.0))
        .collect();
    if all && free.len() < more {
        return (f64::INFINITY, chosen);
    }
    let by_value = |a: &usize, b: &usize| values[*a].total_cmp(&values[*b]).then(a.cmp(b));
    if more < free.len() {
        if more > 0 {
            free.select_nth_unstable_by(more - 1, by_value);
        }
        free.truncate(more);
    }
    for c in free {
        bound += values[c];
        chosen.push(c);
    }
    (floor_of(bound), chosen)
}

/// A first guess at what a unit of each line is worth: its cheapest
/// delivered price, with a warehouse's fixed cost shared over what it could
/// carry of the order.
fn starting_prices(instance: &Instance<'_>, costs: &Costs, items: &[Vec<Item>]) -> Vec<f64> {
    let mut prices = vec![f64::INFINITY; instance.lines.len()];
    for (c, items) in items.iter().enumerate() {
        let grams: f64 = items.iter().map(|i| i.units * i.grams).sum();
        for item in items {
            let per_gram = costs.per_kg[c] / 1000.0 + costs.fixed[c] / grams.max(1000.0);
            let price = per_gram * item.grams;
            prices[item.line] = prices[item.line].min(price);
        }
    }
    prices
        .into_iter()
        .map(|p| if p.is_finite() { p } else { 0.0 })
        .collect()
}

/// One candidate's items weighed at a set of prices, before the fill.
#[derive(Clone, Copy)]
struct Weighed {
    /// Grams of everything worth something.
    total: f64,
    /// Grams of what is worth more per gram than a kilogram costs.
    paying: f64,
    /// What those items are worth above the price of their kilograms:
    /// `fixed − surplus` is a floor under the candidate's value (its
    /// kilograms taken fractionally), exact when kilograms cost nothing.
    surplus: f64,
}

/// Sets each item's worth per gram at `prices` and sums what the fill
/// needs; one pass, no ordering.
fn weigh(per_kg: f64, ranked: &mut [(f64, Item)], prices: &[f64]) -> Weighed {
    let mut weighed = Weighed {
        total: 0.0,
        paying: 0.0,
        surplus: 0.0,
    };
    let per_gram = per_kg / 1000.0;
    for (worth, item) in ranked.iter_mut() {
        *worth = prices[item.line] / item.grams;
        if *worth > 0.0 {
            let grams = item.units * item.grams;
            weighed.total += grams;
            if *worth * 1000.0 > per_kg {
                weighed.paying += grams;
                weighed.surplus += grams * (*worth - per_gram);
            }
        }
    }
    weighed
}

/// What opening one candidate adds to the floor at `prices`:
/// `fixed + perKg·k − (the best fractional fill of k kg)`, minimised over
/// whole kilograms `k >= 1`; with `supply`, the units it then sells are
/// pushed there. The fill is concave in `k`, so the minimum lies at one of
/// the two whole kilograms around the weight of everything worth more per
/// gram than a kilogram costs. Items whose line is priced at nothing add
/// nothing and are not sold.
fn open_value(
    fixed: f64,
    per_kg: f64,
    ranked: &mut [(f64, Item)],
    prices: &[f64],
    supply: Option<&mut Vec<(usize, f64)>>,
) -> f64 {
    let weighed = weigh(per_kg, ranked, prices);
    filled_value(fixed, per_kg, ranked, weighed, supply)
}

/// [`open_value`] once [`weigh`] has run at the same prices.
fn filled_value(
    fixed: f64,
    per_kg: f64,
    ranked: &mut [(f64, Item)],
    weighed: Weighed,
    supply: Option<&mut Vec<(usize, f64)>>,
) -> f64 {
    let Weighed { total, paying, .. } = weighed;
    if per_kg == 0.0 {
        // Kilograms cost nothing (the shipment count): the best fill takes
        // everything worth something, in any order.
        let mut gained = 0.0;
        let mut supply = supply;
        for (worth, item) in ranked.iter().filter(|(worth, _)| *worth > 0.0) {
            gained += item.units * item.grams * worth;
            if let Some(supply) = supply.as_deref_mut() {
                supply.push((item.line, item.units));
            }
        }
        return fixed - gained;
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.line.cmp(&b.1.line)));
    let sorted = &ranked[..ranked.partition_point(|(worth, _)| *worth > 0.0)];
    let most_kg = (total / 1000.0).ceil().max(1.0);
    let low = (paying / 1000.0).floor().clamp(1.0, most_kg);
    let high = (paying / 1000.0).ceil().clamp(1.0, most_kg);
    // The best fills of `low` and of `high` kilograms, in one pass: the
    // second continues the first.
    let (mut room_low, mut room_high) = (low * 1000.0, high * 1000.0);
    let (mut gained_low, mut gained_high) = (0.0, 0.0);
    for (worth, item) in sorted {
        if room_high <= 0.0 {
            break;
        }
        let grams = item.units * item.grams;
        let to_high = grams.min(room_high);
        gained_high += to_high * worth;
        room_high -= to_high;
        if room_low > 0.0 {
            let to_low = grams.min(room_low);
            gained_low += to_low * worth;
            room_low -= to_low;
        }
    }
    let cost_low = fixed + per_kg * low - gained_low;
    let cost_high = if high > low {
        fixed + per_kg * high - gained_high
    } else {
        f64::INFINITY
    };
    if let Some(supply) = supply {
        let kg = if cost_high < cost_low { high } else { low };
        let mut room = kg * 1000.0;
        for (_, item) in sorted {
            if room <= 0.0 {
                break;
            }
            let grams = (item.units * item.grams).min(room);
            supply.push((item.line, grams / item.grams));
            room -= grams;
        }
    }
    cost_low.min(cost_high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::{Strategy, tests::orders};

    /// `select`'s floor and choice from every value filled.
    fn chosen(
        ascent: &mut Ascent,
        prices: &[f64],
        fixes: &[Fix],
        limit: Limit,
    ) -> (f64, Vec<usize>) {
        let (bound, mut chosen) = select(
            ascent.base(prices),
            &ascent.values(prices, fixes),
            fixes,
            limit,
        );
        chosen.sort_unstable();
        (bound, chosen)
    }

    #[test]
    fn a_step_chooses_as_if_every_candidate_were_filled() {
        for (seed, lines, sites) in [(1002, 20, 200), (1009, 50, 400)] {
            let order = orders::instance(seed, lines, sites);
            let request = order.request(Strategy::Cheapest);
            let instance = Instance::new(&request);
            let n = instance.candidates.len();
            let mut ascent = Ascent::new(&instance, Costs::shipping(&instance));
            let start = ascent.start.clone();
            let mut noise = seed;
            let mut compared = 0;
            for scale in [0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 8.0] {
                // Prices at many heights, unevenly over the lines.
                let prices: Vec<f64> = start
                    .iter()
                    .map(|p| {
                        noise = noise.wrapping_mul(6364136223846793005).wrapping_add(1);
                        p * scale * (0.5 + (noise >> 40) as f64 / (1u64 << 24) as f64)
                    })
                    .collect();
                let mut fixes = vec![Fix::Free; n];
                for limit in [
                    Limit::AtMost(n),
                    Limit::AtMost(3),
                    Limit::Exactly(3),
                    Limit::Exactly(6),
                ] {
                    for branch in 0..3 {
                        if branch == 1 {
                            fixes[7] = Fix::Open;
                            fixes[11] = Fix::Closed;
                        }
                        if branch == 2 {
                            fixes.iter_mut().step_by(5).for_each(|f| *f = Fix::Closed);
                        }
                        let expected = chosen(&mut ascent, &prices, &fixes, limit);
                        let values = ascent.choosable_values(&prices, &fixes, limit);
                        let (bound, mut got) = select(ascent.base(&prices), &values, &fixes, limit);
                        got.sort_unstable();
                        assert_eq!(got, expected.1, "{seed} {scale} {limit:?} {branch}");
                        let tolerance = 1e-9 * expected.0.abs().max(1.0);
                        assert!(
                            bound == expected.0 || (bound - expected.0).abs() <= tolerance,
                            "{bound} vs {}",
                            expected.0
                        );
                        compared += 1;
                    }
                    fixes = vec![Fix::Free; n];
                }
            }
            assert_eq!(compared, 7 * 4 * 3);
        }
    }
}
