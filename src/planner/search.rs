//! CHEAPEST and SPLIT: exact branch and bound over warehouse subsets.
//!
//! A plan is a set of shipping warehouses plus how each line's units are
//! spread over them. The outer search enumerates subsets; each warehouse in a
//! subset pays its fixed cost (base fee and distance term), so subsets are
//! tried cheapest-fixed-cost first and cut off as soon as their fixed costs
//! plus a lower bound on the weight charge reach the best plan so far. The
//! inner search spreads units over one subset, exactly: the weight charge
//! rounds up per started kilogram per shipment, so moving a unit can save a
//! kilogram, and a greedy fill is not always optimal.
//!
//! Both searches count their nodes against a [`SearchBudget`]. Within it the
//! answer is proven optimal; past it the best plan found is returned and
//! marked as not proven (the explanation says so).

use super::instance::{Allocation, Chosen, Instance, Reason};

/// How much searching one plan may do, in search nodes: deterministic, so
/// the same input always gives the same plan. The default keeps a 50-line
/// order over 400 warehouses under 20 ms on one core (see README).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchBudget {
    pub nodes: u64,
}

impl Default for SearchBudget {
    fn default() -> Self {
        SearchBudget { nodes: 50_000 }
    }
}

struct Counter {
    left: u64,
    exhausted: bool,
}

impl Counter {
    fn new(budget: SearchBudget) -> Self {
        Counter {
            left: budget.nodes,
            exhausted: false,
        }
    }

    /// Spends one node; false once the budget is gone.
    fn spend(&mut self) -> bool {
        if self.left == 0 {
            self.exhausted = true;
            return false;
        }
        self.left -= 1;
        true
    }
}

/// The plan of minimum total cost with at most `cap` shipments.
pub(super) fn cheapest(
    instance: &Instance<'_>,
    cap: Option<usize>,
    budget: SearchBudget,
) -> Option<Chosen> {
    let n = instance.candidates.len();
    let cap = cap.unwrap_or(n).min(n);
    let mut counter = Counter::new(budget);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&c| (instance.candidates[c].fixed_cents, c));
    let suffix = SuffixCapacity::new(instance, &order);
    let weight_floor = weight_floor(instance);
    let best = {
        let mut search = Outer {
            instance,
            order: &order,
            suffix: &suffix,
            cap,
            weight_floor,
            best: incumbent(instance, cap),
            counter: &mut counter,
        };
        search.extend(0, &mut Cover::new(instance), 0);
        search.best
    };
    let proven = !counter.exhausted;
    let (_, allocation) = best?;
    Some(Chosen::new(
        instance,
        allocation,
        Reason::Cheapest { proven },
    ))
}

/// The plan with the fewest shipments (at most `cap`), and among those the
/// cheapest.
pub(super) fn fewest(
    instance: &Instance<'_>,
    cap: Option<usize>,
    budget: SearchBudget,
) -> Option<Chosen> {
    let n = instance.candidates.len();
    let cap = cap.unwrap_or(n).min(n);
    let mut counter = Counter::new(budget);
    let order: Vec<usize> = (0..n).collect();
    let suffix = SuffixCapacity::new(instance, &order);
    let floor = weight_floor(instance);
    // The greedy covers, spread: incumbents for the size they happen to have.
    let mut side = Counter::new(SearchBudget { nodes: 10_000 });
    let greedy: Vec<(usize, (i64, Allocation))> =
        [greedy_cover(instance), cost_effective_cover(instance)]
            .into_iter()
            .flatten()
            .filter_map(|cover| {
                Inner::solve(instance, &cover, i64::MAX, &mut side)
                    .map(|found| (cover.len(), found))
            })
            .collect();
    for size in 1..=cap {
        let mut best: Option<(i64, Allocation)> = None;
        for (_, found) in greedy.iter().filter(|(len, _)| *len == size) {
            if beats(instance, found, best.as_ref()) {
                best = Some(found.clone());
            }
        }
        let mut cover = Cover::new(instance);
        let mut search = SizedSearch {
            instance,
            suffix: &suffix,
            size,
            floor,
            best: &mut best,
            counter: &mut counter,
        };
        search.extend(0, &mut cover, 0);
        if let Some((_, allocation)) = best {
            let proven = !counter.exhausted;
            return Some(Chosen::new(instance, allocation, Reason::Fewest { proven }));
        }
        if counter.exhausted {
            break;
        }
    }
    if !counter.exhausted {
        return None;
    }
    // Out of budget before any size worked: of the two greedy covers, the
    // smaller, then the cheaper.
    let (_, (_, allocation)) = greedy
        .into_iter()
        .filter(|(len, _)| *len <= cap)
        .min_by_key(|(len, (cost, _))| (*len, *cost))?;
    Some(Chosen::new(
        instance,
        allocation,
        Reason::Fewest { proven: false },
    ))
}

/// Every subset of exactly `size` candidates that covers the order, cut
/// where the fixed costs alone already exceed the best plan of this size.
struct SizedSearch<'i, 'a, 'b> {
    instance: &'i Instance<'a>,
    suffix: &'i SuffixCapacity,
    size: usize,
    floor: i64,
    best: &'b mut Option<(i64, Allocation)>,
    counter: &'b mut Counter,
}

impl SizedSearch<'_, '_, '_> {
    fn bound(&self) -> i64 {
        self.best.as_ref().map_or(i64::MAX, |(cost, _)| *cost)
    }

    fn extend(&mut self, start: usize, cover: &mut Cover, fixed: i64) {
        if cover.subset.len() == self.size {
            if cover.complete(self.instance) {
                let bound = self.bound().saturating_add(1);
                if let Some(found) = Inner::solve(self.instance, &cover.subset, bound, self.counter)
                    && beats(self.instance, &found, self.best.as_ref())
                {
                    *self.best = Some(found);
                }
            }
            return;
        }
        let n = self.instance.candidates.len();
        for c in start..n {
            if n - c < self.size - cover.subset.len() || !self.counter.spend() {
                return;
            }
            let with = fixed + self.instance.candidates[c].fixed_cents;
            if with + self.floor > self.bound() {
                continue;
            }
            cover.push(self.instance, c);
            // Skip branches that cannot cover the order even with every
            // later candidate added.
            if self.suffix.can_cover(self.instance, cover, c + 1) {
                self.extend(c + 1, cover, with);
            }
            cover.pop(self.instance);
        }
    }
}

/// A subset being built, with what it holds of each line, kept as
/// candidates come and go so that checking coverage costs one pass over the
/// lines.
struct Cover {
    subset: Vec<usize>,
    held: Vec<u64>,
}

impl Cover {
    fn new(instance: &Instance<'_>) -> Self {
        Cover {
            subset: Vec::new(),
            held: vec![0; instance.lines.len()],
        }
    }

    fn push(&mut self, instance: &Instance<'_>, candidate: usize) {
        for (l, held) in self.held.iter_mut().enumerate() {
            *held += u64::from(instance.usable(l, candidate));
        }
        self.subset.push(candidate);
    }

    fn pop(&mut self, instance: &Instance<'_>) {
        if let Some(candidate) = self.subset.pop() {
            for (l, held) in self.held.iter_mut().enumerate() {
                *held -= u64::from(instance.usable(l, candidate));
            }
        }
    }

    fn complete(&self, instance: &Instance<'_>) -> bool {
        instance
            .lines
            .iter()
            .zip(&self.held)
            .all(|(line, &held)| held >= u64::from(line.quantity))
    }
}

struct Outer<'i, 'a> {
    instance: &'i Instance<'a>,
    order: &'i [usize],
    suffix: &'i SuffixCapacity,
    cap: usize,
    weight_floor: i64,
    best: Option<(i64, Allocation)>,
    counter: &'i mut Counter,
}

impl Outer<'_, '_> {
    fn bound(&self) -> i64 {
        self.best.as_ref().map_or(i64::MAX, |(cost, _)| *cost)
    }

    /// Tries every subset that adds candidates from `order[from..]` to
    /// `subset`, cheapest fixed cost first.
    fn extend(&mut self, from: usize, cover: &mut Cover, fixed: i64) {
        if cover.subset.len() == self.cap {
            return;
        }
        for i in from..self.order.len() {
            let c = self.order[i];
            let with = fixed + self.instance.candidates[c].fixed_cents;
            // Later candidates cost at least as much: nothing after can win
            // (or tie: equal costs are still compared, for the tie-break).
            if with + self.weight_floor > self.bound() || !self.counter.spend() {
                return;
            }
            cover.push(self.instance, c);
            if cover.complete(self.instance) {
                let mut sorted = cover.subset.clone();
                sorted.sort_unstable();
                let bound = self.bound().saturating_add(1);
                if let Some(found) = Inner::solve(self.instance, &sorted, bound, self.counter)
                    && beats(self.instance, &found, self.best.as_ref())
                {
                    self.best = Some(found);
                }
            }
            if self.suffix.can_cover(self.instance, cover, i + 1) {
                self.extend(i + 1, cover, with);
            }
            cover.pop(self.instance);
        }
    }
}

/// What the candidates from a position of the search order on can supply
/// of each line: `capacity[position][line]`.
struct SuffixCapacity {
    order: Vec<usize>,
    capacity: Vec<Vec<u64>>,
}

impl SuffixCapacity {
    fn new(instance: &Instance<'_>, order: &[usize]) -> Self {
        let lines = instance.lines.len();
        let mut capacity = vec![vec![0u64; lines]; order.len() + 1];
        for i in (0..order.len()).rev() {
            let (here, after) = capacity.split_at_mut(i + 1);
            for (l, cell) in here[i].iter_mut().enumerate() {
                *cell = after[0][l] + u64::from(instance.usable(l, order[i]));
            }
        }
        SuffixCapacity {
            order: order.to_vec(),
            capacity,
        }
    }

    /// Whether `cover` plus every candidate at search position `from` or
    /// later can cover every line.
    fn can_cover(&self, instance: &Instance<'_>, cover: &Cover, from: usize) -> bool {
        let from = from.min(self.order.len());
        instance
            .lines
            .iter()
            .zip(&cover.held)
            .zip(&self.capacity[from])
            .all(|((line, &held), &later)| held + later >= u64::from(line.quantity))
    }
}

/// A lower bound on the weight charge of any plan: every unit pays at least
/// the lowest per-gram rate among the candidates that hold its SKU.
fn weight_floor(instance: &Instance<'_>) -> i64 {
    instance
        .lines
        .iter()
        .enumerate()
        .map(|(l, line)| {
            let cheapest = (0..instance.candidates.len())
                .filter(|&c| instance.stock[l][c] > 0)
                .map(|c| instance.candidates[c].cents_per_kg)
                .min()
                .unwrap_or(0);
            (instance.line_grams(l, line.quantity) as i64 * cheapest) / 1000
        })
        .sum()
}

/// Whether `found` should replace `best`: it costs less, or as much with
/// shipments nearer in total, then from warehouses earlier in tie-break
/// order (distance, then code).
fn beats(
    instance: &Instance<'_>,
    found: &(i64, Allocation),
    best: Option<&(i64, Allocation)>,
) -> bool {
    let Some(best) = best else {
        return true;
    };
    let tie_key = |allocation: &Allocation| {
        let used = allocation.used(instance);
        let distance: f64 = used
            .iter()
            .map(|&c| instance.candidates[c].distance_km)
            .sum();
        (distance, used)
    };
    let ((found_km, found_used), (best_km, best_used)) = (tie_key(&found.1), tie_key(&best.1));
    found
        .0
        .cmp(&best.0)
        .then(found_km.total_cmp(&best_km))
        .then(found_used.cmp(&best_used))
        .is_lt()
}

/// A good plan to start the exact search from: the cheaper of two greedy
/// covers, each spread as cheaply as a small side budget allows. A tight
/// first bound lets the search cut most subsets at once; it never changes
/// what the search proves, since the incumbent is itself a real plan.
fn incumbent(instance: &Instance<'_>, cap: usize) -> Option<(i64, Allocation)> {
    let mut side = Counter::new(SearchBudget { nodes: 5_000 });
    let mut best: Option<(i64, Allocation)> = None;
    for cover in [greedy_cover(instance), cost_effective_cover(instance)]
        .into_iter()
        .flatten()
    {
        if cover.len() > cap {
            continue;
        }
        let bound = best.as_ref().map_or(i64::MAX, |(cost, _)| *cost);
        if let Some(found) = Inner::solve(instance, &cover, bound, &mut side) {
            best = Some(found);
        }
    }
    best
}

/// Repeatedly takes the candidate whose fixed cost per unit it still covers
/// is lowest until the order is covered.
fn cost_effective_cover(instance: &Instance<'_>) -> Option<Vec<usize>> {
    cover_by(instance, |c, gain| {
        instance.candidates[c].fixed_cents as f64 / gain as f64
    })
}

/// Repeatedly takes the candidate that covers the most of what is still
/// missing until the order is covered.
fn greedy_cover(instance: &Instance<'_>) -> Option<Vec<usize>> {
    cover_by(instance, |_, gain| -(gain as f64))
}

/// A greedy cover: each round adds the candidate with the lowest `score`
/// (given the units it would add; ties go to the nearer candidate).
fn cover_by(instance: &Instance<'_>, score: impl Fn(usize, u64) -> f64) -> Option<Vec<usize>> {
    let mut missing: Vec<u32> = instance.lines.iter().map(|l| l.quantity).collect();
    let mut cover = Vec::new();
    while missing.iter().any(|&m| m > 0) {
        let gain = |c: usize| -> u64 {
            missing
                .iter()
                .enumerate()
                .map(|(l, &m)| u64::from(instance.stock[l][c].min(m)))
                .sum()
        };
        let (best, _) = (0..instance.candidates.len())
            .filter(|c| !cover.contains(c))
            .map(|c| (c, gain(c)))
            .filter(|&(_, gain)| gain > 0)
            .min_by(|&(a, gain_a), &(b, gain_b)| {
                score(a, gain_a)
                    .total_cmp(&score(b, gain_b))
                    .then(a.cmp(&b))
            })?;
        for (l, m) in missing.iter_mut().enumerate() {
            *m -= instance.stock[l][best].min(*m);
        }
        cover.push(best);
    }
    cover.sort_unstable();
    Some(cover)
}

/// The cheapest way to spread every line's units over one subset.
struct Inner<'i, 'a> {
    instance: &'i Instance<'a>,
    /// The subset's candidates, cheapest per kilogram first.
    sites: Vec<usize>,
    /// Lines, heaviest first: big decisions early prune more.
    lines: Vec<usize>,
    grams: Vec<u64>,
    units: Vec<Vec<u32>>,
    /// Grams still to place, per position in `lines`.
    grams_after: Vec<u64>,
    best_cost: i64,
    best: Option<Vec<Vec<u32>>>,
    counter: &'i mut Counter,
}

impl<'i, 'a> Inner<'i, 'a> {
    /// The cheapest allocation over `subset` that costs less than `bound`.
    fn solve(
        instance: &'i Instance<'a>,
        subset: &[usize],
        bound: i64,
        counter: &'i mut Counter,
    ) -> Option<(i64, Allocation)> {
        let mut sites = subset.to_vec();
        sites.sort_by_key(|&c| (instance.candidates[c].cents_per_kg, c));
        let mut lines: Vec<usize> = (0..instance.lines.len()).collect();
        lines.sort_by_key(|&l| {
            (
                std::cmp::Reverse(instance.line_grams(l, instance.lines[l].quantity)),
                l,
            )
        });
        let mut grams_after = vec![0u64; lines.len() + 1];
        for i in (0..lines.len()).rev() {
            let l = lines[i];
            grams_after[i] =
                grams_after[i + 1] + instance.line_grams(l, instance.lines[l].quantity);
        }
        let mut inner = Inner {
            instance,
            units: vec![vec![0; instance.candidates.len()]; instance.lines.len()],
            grams: vec![0; instance.candidates.len()],
            sites,
            lines,
            grams_after,
            best_cost: bound,
            best: None,
            counter,
        };
        inner.line(0);
        let units = inner.best?;
        Some((inner.best_cost, Allocation { units }))
    }

    fn cost_so_far(&self) -> i64 {
        self.sites
            .iter()
            .filter(|&&c| self.grams[c] > 0)
            .map(|&c| {
                let candidate = &self.instance.candidates[c];
                candidate.fixed_cents + candidate.site.rate.weight_cents(self.grams[c])
            })
            .sum()
    }

    /// A lower bound on the cost of any completion: what is paid so far,
    /// plus the grams that do not fit in already-paid kilograms at the
    /// subset's lowest rate.
    fn lower_bound(&self, position: usize) -> i64 {
        let paid_slack: u64 = self
            .sites
            .iter()
            .filter(|&&c| self.grams[c] > 0)
            .map(|&c| self.grams[c].div_ceil(1000) * 1000 - self.grams[c])
            .sum();
        let rest = self.grams_after[position].saturating_sub(paid_slack);
        let lowest_rate = self.instance.candidates[self.sites[0]].cents_per_kg;
        self.cost_so_far() + (rest as i64 * lowest_rate) / 1000
    }

    fn line(&mut self, position: usize) {
        if !self.counter.spend() || self.lower_bound(position) >= self.best_cost {
            return;
        }
        if position == self.lines.len() {
            self.best_cost = self.cost_so_far();
            self.best = Some(self.units.clone());
            return;
        }
        let l = self.lines[position];
        let quantity = self.instance.lines[l].quantity;
        self.spread(position, l, 0, quantity);
    }

    /// Places `missing` units of line `l` on `sites[from..]`, trying the
    /// largest share on the cheapest site first.
    fn spread(&mut self, position: usize, l: usize, from: usize, missing: u32) {
        if missing == 0 {
            self.line(position + 1);
            return;
        }
        if from == self.sites.len() {
            return;
        }
        let c = self.sites[from];
        let later: u64 = self.sites[from + 1..]
            .iter()
            .map(|&s| u64::from(self.instance.usable(l, s)))
            .sum();
        let most = self.instance.usable(l, c).min(missing);
        let least = u64::from(missing).saturating_sub(later) as u32;
        if least > most {
            return;
        }
        let unit_grams = u64::from(self.instance.lines[l].unit_weight_grams);
        for take in (least..=most).rev() {
            self.units[l][c] = take;
            self.grams[c] += u64::from(take) * unit_grams;
            self.spread(position, l, from + 1, missing - take);
            self.grams[c] -= u64::from(take) * unit_grams;
            self.units[l][c] = 0;
            if self.counter.exhausted {
                return;
            }
        }
    }
}
