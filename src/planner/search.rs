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

use super::{
    budget::{Counter, SearchBudget},
    cover,
    instance::{Allocation, Chosen, Instance, Reason},
    neighbourhood::{Moves, Pricer},
    relaxation::{ASCENT_STEPS, Ascent, Costs, Fix, Limit, Relaxation},
};

/// What a search found.
pub(super) struct Searched {
    pub chosen: Option<Chosen>,
    /// No plan ships the order in fewer shipments than this: proven, by
    /// bound or by searching every smaller set to the end.
    pub fewest_floor: usize,
}

/// How many moves the neighbourhood search makes from each start.
const MOVES: usize = 40;

/// How many of the best starts get the neighbourhood search's pair moves.
const DEEP_STARTS: usize = 4;

/// How many of the cheapest starts above a cap get moves without it.
const WIDE_STARTS: usize = 4;

/// How many of the relaxation's most attractive warehouses a move may open.
const POOL: usize = 40;

/// The plan of minimum total cost with at most `cap` shipments.
pub(super) fn cheapest(
    instance: &Instance<'_>,
    cap: Option<usize>,
    budget: SearchBudget,
) -> Searched {
    let n = instance.candidates.len();
    let cap = cap.unwrap_or(n).min(n);
    let mut counter = Counter::new(budget);
    let mut pricer = Pricer::new(instance);
    let mut fewest_floor = 1;
    let mut starts: Vec<Vec<usize>> = [greedy_cover(instance), cost_effective_cover(instance)]
        .into_iter()
        .flatten()
        .map(|cover| trim(instance, cover))
        .collect();
    if starts.iter().all(|cover| cover.len() > cap) {
        // The greedy covers need more shipments than allowed: look for a
        // cover within the cap, or the proof that there is none.
        let count = fewest_cover(instance, cap, &mut counter);
        fewest_floor = count.floor;
        starts.extend(count.cover);
    }
    let found = cheapest_within(
        instance,
        &mut pricer,
        Limit::AtMost(cap),
        &starts,
        &mut counter,
    );
    Searched {
        chosen: found.map(|(cost, allocation, floor)| {
            let proven = floor >= cost;
            Chosen::new(instance, allocation, Reason::Cheapest { proven }).floored(floor)
        }),
        fewest_floor,
    }
}

/// The plan with the fewest shipments (at most `cap`), and among those the
/// cheapest.
pub(super) fn fewest(
    instance: &Instance<'_>,
    cap: Option<usize>,
    budget: SearchBudget,
) -> Searched {
    let n = instance.candidates.len();
    let cap = cap.unwrap_or(n).min(n);
    // The count gets at most a third of the budget, so the cost is
    // searched too; what it leaves goes to the cost.
    let share = budget.nodes / 3;
    let mut counting = Counter::new(SearchBudget { nodes: share });
    let count = fewest_cover(instance, cap, &mut counting);
    let Some(cover) = count.cover.filter(|c| c.len() <= cap) else {
        return Searched {
            chosen: None,
            fewest_floor: count.floor,
        };
    };
    let size = cover.len();
    let count_proven = count.floor >= size;
    let mut counter = Counter::new(SearchBudget {
        nodes: budget.nodes - (share - counting.left),
    });
    let mut pricer = Pricer::new(instance);
    // The cheapest plan within `size` shipments: when no plan has fewer,
    // exactly the cheapest plan with the fewest shipments; when the count
    // is not proven, its floor holds for fewer shipments too.
    // The greedy covers, and the same brought down to the count by the swap
    // search: cheap members kept, at the size that matters.
    let greedy: Vec<Vec<usize>> = [greedy_cover(instance), cost_effective_cover(instance)]
        .into_iter()
        .flatten()
        .map(|cover| trim(instance, cover))
        .collect();
    let mut starts = greedy.clone();
    for start in greedy {
        if start.len() > size {
            starts.push(shrink_on_a_tenth(instance, start, size, &mut counter));
        }
    }
    starts.push(cover);
    // With the count proven, every plan with the fewest shipments opens
    // exactly `size` warehouses, which the relaxation can require.
    let limit = if count_proven {
        Limit::Exactly(size)
    } else {
        Limit::AtMost(size)
    };
    let (cost, allocation, floor) =
        cheapest_within(instance, &mut pricer, limit, &starts, &mut counter)
            .expect("the count's cover is a plan within its size");
    let proven = count_proven && floor >= cost;
    Searched {
        chosen: Some(
            Chosen::new(
                instance,
                allocation,
                Reason::Fewest {
                    count_proven,
                    proven,
                },
            )
            .floored(floor),
        ),
        fewest_floor: count.floor,
    }
}

/// The cheapest plan with at most `cap` shipments, its cost and its proven
/// floor: the best of `starts` after the neighbourhood search, then of the
/// relaxation's own choices, as the incumbent of an exact branch and bound.
fn cheapest_within(
    instance: &Instance<'_>,
    pricer: &mut Pricer<'_, '_>,
    limit: Limit,
    starts: &[Vec<usize>],
    counter: &mut Counter,
) -> Option<(i64, Allocation, i64)> {
    let cap = match limit {
        Limit::AtMost(n) | Limit::Exactly(n) => n,
    };
    let upper = starts
        .iter()
        .filter(|cover| cover.len() <= cap)
        .filter_map(|cover| pricer.cost(cover))
        .min()?;
    let mut ascent = Ascent::new(instance, Costs::shipping(instance));
    let relaxation = ascent.relax(limit, Some(upper as f64), ASCENT_STEPS);
    // Warehouses worth opening, by the relaxation's prices: the moves open
    // only these, which keeps a move cheap at hundreds of candidates.
    let mut pool: Vec<usize> = relaxation.order().iter().copied().take(POOL).collect();
    // Starts: the given covers, and the relaxation's own choices along its
    // ascent made into plans, from other parts of the space.
    let mut covers: Vec<Vec<usize>> = starts.to_vec();
    covers.extend(
        relaxation
            .visited
            .iter()
            .chain([&relaxation.opened().to_vec()])
            .filter_map(|opened| complete_cover(instance, opened, relaxation.order())),
    );
    // Several starts often reach the same set; one search serves them all.
    for cover in &mut covers {
        cover.sort_unstable();
    }
    let mut seen = std::collections::HashSet::new();
    covers.retain(|cover| seen.insert(cover.clone()));
    for &c in covers.iter().flatten() {
        if !pool.contains(&c) {
            pool.push(c);
        }
    }
    let mut improved: Vec<(i64, Vec<usize>)> = covers
        .iter()
        .filter_map(|cover| pricer.improve(cover, &pool, cap, MOVES, Moves::Single))
        .collect();
    // Under a cap, the cheapest starts above it may still lead under it:
    // moved freely they reach cheap plans the capped moves cannot, and one
    // that ends above the cap is brought down to it by the swap search,
    // which keeps most of its cheap members.
    let n = instance.candidates.len();
    if cap < n {
        let mut above: Vec<(i64, &Vec<usize>)> = covers
            .iter()
            .filter(|cover| cover.len() > cap)
            .filter_map(|cover| pricer.cost(cover).map(|cost| (cost, cover)))
            .collect();
        above.sort_unstable();
        for (_, cover) in above.into_iter().take(WIDE_STARTS) {
            let Some((cost, set)) = pricer.improve(cover, &pool, n, MOVES, Moves::Single) else {
                continue;
            };
            if set.len() <= cap {
                improved.push((cost, set));
                continue;
            }
            let small = shrink_on_a_tenth(instance, set, cap, counter);
            if small.len() <= cap {
                improved.extend(pricer.improve(&small, &pool, cap, MOVES, Moves::Single));
            }
        }
    }
    improved.sort_unstable();
    improved.dedup();
    // The deeper moves from the best few: each ends somewhere else.
    let mut start: Option<(i64, Vec<usize>)> = None;
    for (cost, set) in improved.into_iter().take(DEEP_STARTS) {
        keep_cheaper(&mut start, Some((cost, set.clone())));
        keep_cheaper(
            &mut start,
            pricer.improve(&set, &pool, cap, MOVES, Moves::Pairs),
        );
    }
    let incumbent = start.map(|(cost, set)| spread_exactly(instance, pricer, cost, &set));
    let mut branching = Branching::new(
        instance,
        &relaxation,
        limit,
        Goal::Cheapest,
        incumbent,
        counter,
    );
    branching.ascent = Some(&mut ascent);
    let (cost, allocation) = branching.run()?;
    let floor = proven_floor(&relaxation, cost, counter.exhausted);
    Some((cost, allocation, floor))
}

/// [`cover::shrink`] on a tenth of what `counter` has left, so that the
/// exact search after it keeps enough to prove what it can.
fn shrink_on_a_tenth(
    instance: &Instance<'_>,
    cover: Vec<usize>,
    size: usize,
    counter: &mut Counter,
) -> Vec<usize> {
    let mut share = Counter::new(SearchBudget {
        nodes: counter.left / 10,
    });
    let small = cover::shrink(instance, cover, size, &mut share);
    counter.spend_many(counter.left / 10 - share.left);
    small
}

/// The floor under a search's answer: its own cost when the search ran to
/// the end, else what the relaxation proves (never above the answer).
fn proven_floor(relaxation: &Relaxation, cost: i64, exhausted: bool) -> i64 {
    let bound = relaxation.bound();
    if !exhausted || bound.ceil() >= cost as f64 {
        return cost;
    }
    (bound.ceil().max(0.0) as i64).min(cost)
}

fn keep_cheaper(best: &mut Option<(i64, Vec<usize>)>, found: Option<(i64, Vec<usize>)>) {
    if let Some(found) = found
        && best
            .as_ref()
            .is_none_or(|b| (found.0, &found.1) < (b.0, &b.1))
    {
        *best = Some(found);
    }
}

/// The cheapest spread of units over `set` a small side budget finds (it
/// starts from the fill the pricer charges `cost` for, so it is never worse).
fn spread_exactly(
    instance: &Instance<'_>,
    pricer: &Pricer<'_, '_>,
    cost: i64,
    set: &[usize],
) -> (i64, Allocation) {
    let mut side = Counter::new(SearchBudget { nodes: 5_000 });
    Inner::solve(instance, set, cost.saturating_add(1), &mut side)
        .unwrap_or_else(|| (cost, pricer.allocation(set)))
}

/// The fewest shipments: the smallest cover found, and how far down no
/// smaller one is proven to exist.
struct CountSearch {
    cover: Option<Vec<usize>>,
    /// No cover has fewer members than this.
    floor: usize,
}

/// Looks for the smallest set of warehouses that can cover the order:
/// greedy covers trimmed of members they do not need; the proven floor of
/// the shipment-count relaxation, raised size by size while the relaxation
/// for exactly that many proves it impossible; a swap search for smaller
/// covers ([`cover::shrink`]); then, from the top, an exact search for a
/// cover with one member less (at most `cap`): one found starts the next
/// round, none at all proves the count, and a spent budget ends it unproven.
/// A cover of n members and any warehouse more is a cover of n + 1, so
/// none of n - 1 means none smaller either.
fn fewest_cover(instance: &Instance<'_>, cap: usize, counter: &mut Counter) -> CountSearch {
    let n = instance.candidates.len();
    let counting = Ascent::new(instance, Costs::shipments(instance)).relax(
        Limit::AtMost(n),
        None,
        ASCENT_STEPS,
    );
    let Some(mut best) = [
        greedy_cover(instance),
        cost_effective_cover(instance),
        complete_cover(instance, &[], counting.order()),
    ]
    .into_iter()
    .flatten()
    .map(|cover| trim(instance, cover))
    .min_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b))) else {
        let floor = (counting.bound().ceil().max(1.0) as usize).min(n + 1);
        return CountSearch { cover: None, floor };
    };
    let mut floor = (counting.bound().ceil().max(1.0) as usize).min(best.len());
    // Sizes the relaxation alone rules out, from the floor up.
    while floor < best.len() {
        let sized = sized_relaxation(instance, floor);
        if sized.bound() <= floor as f64 {
            if let Some(cover) = sized
                .visited
                .iter()
                .find(|set| set.len() == floor && covers(instance, set))
            {
                best = cover.clone();
            }
            break;
        }
        floor += 1;
    }
    best = cover::shrink(instance, best, floor, counter);
    while best.len() > floor {
        let size = (best.len() - 1).min(cap);
        if size < floor {
            break;
        }
        let sized = sized_relaxation(instance, size);
        if sized.bound() > size as f64 {
            floor = size + 1;
            continue;
        }
        let mut search = Branching::new(
            instance,
            &sized,
            Limit::Exactly(size),
            Goal::AnyCover,
            None,
            counter,
        );
        match search.run() {
            Some((_, allocation)) => {
                best = cover::shrink(instance, allocation.used(instance), floor, counter);
            }
            None if counter.exhausted => break,
            None => floor = size + 1,
        }
    }
    CountSearch {
        cover: Some(best),
        floor,
    }
}

/// The shipment-count relaxation for exactly `size` shipments: a bound
/// above `size` proves no cover of that size exists.
fn sized_relaxation(instance: &Instance<'_>, size: usize) -> Relaxation {
    Ascent::new(instance, Costs::shipments(instance)).relax(
        Limit::Exactly(size),
        Some(size as f64 + 1.0),
        ASCENT_STEPS,
    )
}

/// Whether `set` holds enough of every line.
fn covers(instance: &Instance<'_>, set: &[usize]) -> bool {
    (0..instance.lines.len()).all(|l| {
        set.iter()
            .map(|&c| u64::from(instance.usable(l, c)))
            .sum::<u64>()
            >= u64::from(instance.lines[l].quantity)
    })
}

/// `cover` without the members it does not need, the farthest dropped first.
fn trim(instance: &Instance<'_>, mut cover: Vec<usize>) -> Vec<usize> {
    cover.sort_unstable();
    for i in (0..cover.len()).rev() {
        let without: Vec<usize> = cover
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &c)| c)
            .collect();
        if covers(instance, &without) {
            cover = without;
        }
    }
    cover
}

/// `chosen` completed to a cover by adding candidates in `order` that hold
/// something still missing; `None` when even all of them cannot cover.
fn complete_cover(
    instance: &Instance<'_>,
    chosen: &[usize],
    order: &[usize],
) -> Option<Vec<usize>> {
    let mut missing: Vec<u32> = instance.lines.iter().map(|l| l.quantity).collect();
    let mut cover = Vec::new();
    let take = |c: usize, missing: &mut Vec<u32>, cover: &mut Vec<usize>| {
        let mut adds = false;
        for (l, m) in missing.iter_mut().enumerate() {
            let units = instance.stock[l][c].min(*m);
            adds |= units > 0;
            *m -= units;
        }
        if adds {
            cover.push(c);
        }
    };
    for &c in chosen {
        take(c, &mut missing, &mut cover);
    }
    for &c in order {
        if missing.iter().all(|&m| m == 0) {
            break;
        }
        if !cover.contains(&c) {
            take(c, &mut missing, &mut cover);
        }
    }
    missing.iter().all(|&m| m == 0).then(|| {
        cover.sort_unstable();
        cover
    })
}

/// What the branch and bound is after.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// The cheapest plan within the limit.
    Cheapest,
    /// Any cover of exactly the limit's size (the relaxation counts shipments).
    AnyCover,
}

/// Branch and bound over warehouse sets, in the relaxation's order (most
/// attractive first). A branch is cut when the relaxation's floor over every
/// set it can still become exceeds the best plan (or, for [`Goal::AnyCover`],
/// the size); since that floor only rises along the order, the first cut
/// ends the loop. Equal floors are still explored, for the tie-break.
struct Branching<'r, 'i, 'a> {
    instance: &'i Instance<'a>,
    relaxation: &'r Relaxation,
    suffix: SuffixCapacity,
    limit: Limit,
    goal: Goal,
    weight_floor: i64,
    best: Option<(i64, Allocation)>,
    counter: &'r mut Counter,
    /// When set, branches near the root get their own ascent: a floor that
    /// knows what the branch has fixed open and closed.
    ascent: Option<&'r mut Ascent>,
    fixes: Vec<Fix>,
    /// `holders[line]`: the search-order positions of the candidates that
    /// hold some of it, ascending.
    holders: Vec<Vec<u32>>,
    /// Scratch for [`Branching::last_member`]: the lines still short, with
    /// the units missing.
    short: Vec<(usize, u64)>,
}

/// Branches this close to the root get their own ascent.
const REFLOOR_DEPTH: usize = 1;

/// Steps of a branch's own ascent (each counted as a search node).
const REFLOOR_STEPS: u32 = 30;

impl<'r, 'i, 'a> Branching<'r, 'i, 'a> {
    fn new(
        instance: &'i Instance<'a>,
        relaxation: &'r Relaxation,
        limit: Limit,
        goal: Goal,
        incumbent: Option<(i64, Allocation)>,
        counter: &'r mut Counter,
    ) -> Self {
        Branching {
            instance,
            relaxation,
            suffix: SuffixCapacity::new(instance, relaxation.order()),
            limit,
            goal,
            weight_floor: weight_floor(instance),
            best: incumbent,
            counter,
            ascent: None,
            fixes: vec![Fix::Free; instance.candidates.len()],
            holders: (0..instance.lines.len())
                .map(|l| {
                    let order = relaxation.order().iter().enumerate();
                    order
                        .filter(|&(_, &c)| instance.usable(l, c) > 0)
                        .map(|(i, _)| i as u32)
                        .collect()
                })
                .collect(),
            short: Vec::new(),
        }
    }

    /// Whether the branch that opens `cover` plus `c` (at position `i`),
    /// closes every earlier candidate and leaves the later ones free, is
    /// shown hopeless by its own ascent.
    fn refloored_out(&mut self, cover: &Cover, i: usize, c: usize) -> bool {
        let Some(best) = self.best.as_ref().map(|(cost, _)| *cost) else {
            return false;
        };
        if cover.subset.len() >= REFLOOR_DEPTH || self.goal != Goal::Cheapest {
            return false;
        }
        let Some(ascent) = self.ascent.as_deref_mut() else {
            return false;
        };
        // A step reads every candidate: a node per hundred.
        let candidates = self.instance.candidates.len() as u64;
        if !self
            .counter
            .spend_many(u64::from(REFLOOR_STEPS) * candidates.div_ceil(100))
        {
            return false;
        }
        let order = self.relaxation.order();
        for (j, &d) in order.iter().enumerate() {
            self.fixes[d] = if j > i {
                Fix::Free
            } else if d == c || cover.subset.contains(&d) {
                Fix::Open
            } else {
                Fix::Closed
            };
        }
        let floor = ascent.floor(
            self.limit,
            &self.fixes,
            best as f64,
            REFLOOR_STEPS,
            &self.relaxation.prices,
        );
        floor.ceil() > best as f64
    }

    fn run(&mut self) -> Option<(i64, Allocation)> {
        self.extend(0, &mut Cover::new(self.instance), 0, 0.0);
        self.best.take()
    }

    fn most(&self) -> usize {
        match self.limit {
            Limit::AtMost(n) | Limit::Exactly(n) => n,
        }
    }

    fn done(&self) -> bool {
        self.goal == Goal::AnyCover && self.best.is_some()
    }

    /// Whether no set with this floor can be what the search is after.
    fn beyond(&self, floor: f64) -> bool {
        if floor == f64::INFINITY {
            return true;
        }
        match self.goal {
            Goal::Cheapest => self
                .best
                .as_ref()
                .is_some_and(|(cost, _)| floor.ceil() > *cost as f64),
            Goal::AnyCover => floor > self.most() as f64,
        }
    }

    fn extend(&mut self, from: usize, cover: &mut Cover, fixed: i64, value: f64) {
        let order = self.relaxation.order();
        let opened = cover.subset.len() + 1;
        if opened > self.most() {
            return;
        }
        if matches!(self.limit, Limit::Exactly(size) if size == opened) {
            self.last_member(from, cover, value);
            return;
        }
        for (i, &c) in order.iter().enumerate().skip(from) {
            if self.done() {
                return;
            }
            let with_value = value + self.relaxation.value[c];
            if self.beyond(self.relaxation.branch(opened, with_value, i + 1))
                || !self.counter.spend()
            {
                return;
            }
            let with = fixed + self.instance.candidates[c].fixed_cents;
            if self.goal == Goal::Cheapest
                && self
                    .best
                    .as_ref()
                    .is_some_and(|(cost, _)| with + self.weight_floor > *cost)
            {
                continue;
            }
            if self.refloored_out(cover, i, c) {
                continue;
            }
            cover.push(self.instance, c);
            let leaf = match self.limit {
                Limit::AtMost(_) => true,
                Limit::Exactly(size) => opened == size,
            };
            if leaf && cover.complete(self.instance) {
                self.settle(&cover.subset);
            }
            if opened < self.most() && self.suffix.can_cover(self.instance, cover, i + 1) {
                self.extend(i + 1, cover, with, with_value);
            }
            cover.pop(self.instance);
        }
    }

    /// The last member of a set of exactly the limit's size: the candidates
    /// from `from` on that complete the cover, counted as a node per 64
    /// candidates in that range. Cut where the relaxation's floor passes the
    /// best, as in [`Branching::extend`]. Only holders of the line still
    /// short with the fewest holders can complete it, so only those are
    /// read, and only for the lines still short: at hundreds of candidates
    /// and dozens of lines, a fraction of a scan of them all.
    fn last_member(&mut self, from: usize, cover: &mut Cover, value: f64) {
        let order = self.relaxation.order();
        let opened = cover.subset.len() + 1;
        let scanned = order.len().saturating_sub(from) as u64;
        if !self.counter.spend_many(1 + scanned / 64) {
            return;
        }
        let mut short = std::mem::take(&mut self.short);
        short.clear();
        short.extend(
            self.instance
                .lines
                .iter()
                .zip(&cover.held)
                .enumerate()
                .filter(|(_, (line, held))| **held < u64::from(line.quantity))
                .map(|(l, (line, held))| (l, u64::from(line.quantity) - held)),
        );
        let rarest = short
            .iter()
            .map(|&(l, _)| l)
            .min_by_key(|&l| (self.holders[l].len(), l));
        // With nothing short, every candidate completes the cover.
        let holders = std::mem::take(&mut self.holders);
        let listed: &[u32] = rarest.map_or(&[], |l| {
            let positions = &holders[l];
            &positions[positions.partition_point(|&i| (i as usize) < from)..]
        });
        let unlisted = if rarest.is_none() {
            from..order.len()
        } else {
            0..0
        };
        for i in listed.iter().map(|&i| i as usize).chain(unlisted) {
            let c = order[i];
            if self.done()
                || self.beyond(self.relaxation.branch(
                    opened,
                    value + self.relaxation.value[c],
                    i + 1,
                ))
            {
                break;
            }
            // Floors rise along the order, so skipping the candidates that
            // cannot complete the cover never skips the cut.
            if short
                .iter()
                .all(|&(l, missing)| u64::from(self.instance.usable(l, c)) >= missing)
            {
                cover.push(self.instance, c);
                let subset = cover.subset.clone();
                cover.pop(self.instance);
                self.settle(&subset);
            }
        }
        self.holders = holders;
        self.short = short;
    }

    /// A covering set: its cheapest spread, kept if it beats the best.
    fn settle(&mut self, subset: &[usize]) {
        let mut sorted = subset.to_vec();
        sorted.sort_unstable();
        if self.goal == Goal::AnyCover {
            let allocation = Pricer::new(self.instance).allocation(&sorted);
            self.best = Some((0, allocation));
            return;
        }
        let bound = self
            .best
            .as_ref()
            .map_or(i64::MAX, |(cost, _)| *cost)
            .saturating_add(1);
        // Every member's fixed cost plus the weight charge without rounding
        // is the least this set can cost (a plan that leaves a member out is
        // a smaller set, met on its own); only a set below the best is
        // spread exactly.
        if set_floor(self.instance, &sorted) >= bound as f64 {
            return;
        }
        if let Some(found) = Inner::solve(self.instance, &sorted, bound, self.counter)
            && beats(self.instance, &found, self.best.as_ref())
        {
            self.best = Some(found);
        }
    }
}

/// What `set` costs at least when every member ships: fixed costs, and each
/// line filled cheapest per kilogram first with kilograms unrounded.
fn set_floor(instance: &Instance<'_>, set: &[usize]) -> f64 {
    let mut by_rate = set.to_vec();
    by_rate.sort_by_key(|&c| (instance.candidates[c].cents_per_kg, c));
    let fixed: i64 = set
        .iter()
        .map(|&c| instance.candidates[c].fixed_cents)
        .sum();
    let mut weight = 0.0;
    for (l, line) in instance.lines.iter().enumerate() {
        let mut missing = line.quantity;
        for &c in &by_rate {
            let take = instance.stock[l][c].min(missing);
            weight += instance.line_grams(l, take) as f64
                * instance.candidates[c].cents_per_kg as f64
                / 1000.0;
            missing -= take;
            if missing == 0 {
                break;
            }
        }
    }
    fixed as f64 + weight - 1e-6
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
