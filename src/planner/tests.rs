//! The planner on instances whose answer can be checked by hand, and on
//! random small instances against an exhaustive search.

use proptest::prelude::*;

use super::{
    Offer, OrderLine, Plan, PlanRequest, ShipmentLine, ShippingRate, Shortage, Site, Strategy,
    Wording,
    brute_force::{all_allocations, evaluate},
    plan,
};
use crate::geography::{Location, distance_km};

/// Sites along the equator, `degrees` east of the destination (1° ≈ 111 km).
fn site(id: i32, code: &str, degrees: f64, rate: (i64, i64, i64)) -> Site {
    Site {
        id,
        code: code.to_owned(),
        label: format!("City {code}"),
        location: Location::new(0.0, degrees).unwrap(),
        rate: ShippingRate {
            base_cents: rate.0,
            cents_per_100km: rate.1,
            cents_per_kg: rate.2,
        },
        active: true,
    }
}

fn line(sku: &str, quantity: u32, grams: u32) -> OrderLine {
    OrderLine {
        sku: sku.to_owned(),
        quantity,
        unit_weight_grams: grams,
    }
}

fn offer(sku: &str, site_id: i32, available: u32) -> Offer {
    Offer {
        sku: sku.to_owned(),
        site_id,
        available,
    }
}

fn home() -> Location {
    Location::new(0.0, 0.0).unwrap()
}

fn run(
    strategy: Strategy,
    lines: &[OrderLine],
    sites: &[Site],
    offers: &[Offer],
    max_shipments: Option<u32>,
) -> Plan {
    plan(&PlanRequest {
        lines,
        destination: home(),
        sites,
        offers,
        strategy,
        max_shipments,
        wording: Wording::Explained,
    })
}

fn codes(plan: &Plan) -> Vec<&str> {
    plan.shipments.iter().map(|s| s.code.as_str()).collect()
}

#[test]
fn nearest_ships_the_whole_order_from_the_nearest_warehouse_that_holds_it() {
    let sites = [
        site(1, "NEAR", 1.0, (500, 0, 0)),
        site(2, "FAR", 3.0, (100, 0, 0)),
    ];
    let lines = [line("A", 2, 500), line("B", 1, 500)];
    // NEAR lacks B; FAR holds everything.
    let offers = [offer("A", 1, 5), offer("A", 2, 5), offer("B", 2, 1)];
    let plan = run(Strategy::Nearest, &lines, &sites, &offers, None);
    assert_eq!(codes(&plan), ["FAR"]);
    assert!(
        plan.explanation[0].contains("ships all 2 lines"),
        "{:?}",
        plan.explanation
    );
    assert!(
        plan.explanation[0].contains("334 km"),
        "{:?}",
        plan.explanation
    );
}

#[test]
fn nearest_takes_each_line_from_the_nearest_holder_and_splits_what_none_holds() {
    let sites = [
        site(1, "A1", 1.0, (0, 0, 0)),
        site(2, "A2", 2.0, (0, 0, 0)),
        site(3, "A3", 3.0, (0, 0, 0)),
    ];
    let lines = [line("X", 3, 100), line("Y", 5, 100)];
    let offers = [
        offer("X", 2, 3),
        offer("Y", 1, 2),
        offer("Y", 2, 2),
        offer("Y", 3, 9),
    ];
    let plan = run(Strategy::Nearest, &lines, &sites, &offers, None);
    // Nobody holds both. X whole from A2; only A3 holds 5 Y.
    assert_eq!(codes(&plan), ["A2", "A3"]);
    let offers = [
        offer("X", 2, 3),
        offer("Y", 1, 2),
        offer("Y", 2, 2),
        offer("Y", 3, 1),
    ];
    let plan = run(Strategy::Nearest, &lines, &sites, &offers, None);
    // No site holds 5 Y: split nearest first, 2 + 2 + 1.
    let y: Vec<u32> = plan
        .shipments
        .iter()
        .flat_map(|s| s.lines.iter().filter(|l| l.sku == "Y").map(|l| l.quantity))
        .collect();
    assert_eq!(y, [2, 2, 1]);
    assert!(
        plan.explanation
            .iter()
            .any(|e| e.contains("Y is split over 3 warehouses"))
    );
}

#[test]
fn inactive_warehouses_and_empty_stock_never_ship() {
    let mut closed = site(1, "CLOSED", 0.1, (0, 0, 0));
    closed.active = false;
    let sites = [
        closed,
        site(2, "EMPTY", 0.2, (0, 0, 0)),
        site(3, "OPEN", 5.0, (900, 0, 0)),
    ];
    let lines = [line("A", 1, 100)];
    let offers = [offer("A", 1, 50), offer("A", 2, 0), offer("A", 3, 1)];
    for strategy in Strategy::ALL {
        let plan = run(strategy, &lines, &sites, &offers, None);
        assert_eq!(codes(&plan), ["OPEN"], "{strategy:?}");
    }
}

#[test]
fn an_order_the_stock_cannot_cover_is_infeasible_with_its_shortages() {
    let sites = [site(1, "A", 1.0, (0, 0, 0)), site(2, "B", 2.0, (0, 0, 0))];
    let lines = [line("X", 10, 100), line("Y", 1, 100)];
    let offers = [offer("X", 1, 4), offer("X", 2, 3), offer("Y", 2, 1)];
    let plan = run(Strategy::Cheapest, &lines, &sites, &offers, None);
    assert!(!plan.feasible);
    assert!(plan.shipments.is_empty());
    assert_eq!(
        plan.shortages,
        [Shortage {
            sku: "X".into(),
            requested: 10,
            available: 7
        }]
    );
    assert!(plan.explanation[0].contains("only 7 available"));
}

#[test]
fn a_terse_plan_is_the_same_plan_without_its_sentences_unless_it_is_infeasible() {
    let sites = [
        site(1, "NEAR", 1.0, (500, 0, 0)),
        site(2, "FAR", 3.0, (100, 0, 0)),
    ];
    let lines = [line("A", 2, 500), line("B", 1, 500)];
    let offers = [offer("A", 1, 5), offer("A", 2, 5), offer("B", 2, 1)];
    for strategy in Strategy::ALL {
        let request = PlanRequest {
            lines: &lines,
            destination: home(),
            sites: &sites,
            offers: &offers,
            strategy,
            max_shipments: None,
            wording: Wording::Explained,
        };
        let explained = plan(&request);
        let terse = plan(&PlanRequest {
            wording: Wording::Terse,
            ..request
        });
        assert!(!explained.explanation.is_empty(), "{strategy:?}");
        assert!(
            terse.explanation.is_empty(),
            "{strategy:?}: {:?}",
            terse.explanation
        );
        assert_eq!(
            Plan {
                explanation: Vec::new(),
                ..explained
            },
            terse,
            "{strategy:?}"
        );
    }
    // An infeasible plan's sentences are its answer: they stay.
    let short = [line("B", 5, 500)];
    let terse = plan(&PlanRequest {
        lines: &short,
        destination: home(),
        sites: &sites,
        offers: &offers,
        strategy: Strategy::Nearest,
        max_shipments: None,
        wording: Wording::Terse,
    });
    assert!(!terse.feasible);
    assert!(
        terse.explanation[0].contains("only 1 available"),
        "{:?}",
        terse.explanation
    );
}

#[test]
fn cheapest_consolidates_when_the_base_fee_outweighs_the_distance() {
    // Two near sites hold one line each; a far one holds both.
    // 1 ¢ a km. Near pair: 2 × (400 + 111) = 1,022; far: 500 + 556 = 1,056
    // → the pair. With a base of 600 near: 2 × 711 = 1,422 → the far one.
    let lines = [line("A", 1, 1000), line("B", 1, 1000)];
    let offers = [
        offer("A", 1, 1),
        offer("B", 2, 1),
        offer("A", 3, 1),
        offer("B", 3, 1),
    ];
    for (near_base, expected) in [(400, vec!["N1", "N2"]), (600, vec!["FAR"])] {
        let sites = [
            site(1, "N1", 1.0, (near_base, 100, 0)),
            site(2, "N2", 1.0, (near_base, 100, 0)),
            site(3, "FAR", 5.0, (500, 100, 0)),
        ];
        let plan = run(Strategy::Cheapest, &lines, &sites, &offers, None);
        assert_eq!(codes(&plan), expected, "base {near_base}");
        assert!(plan.proven);
        let by_hand: i64 = plan
            .shipments
            .iter()
            .map(|s| {
                let rate = sites.iter().find(|w| w.code == s.code).unwrap().rate;
                rate.cost_cents(
                    distance_km(
                        home(),
                        sites.iter().find(|w| w.code == s.code).unwrap().location,
                    ),
                    s.weight_grams,
                )
            })
            .sum();
        assert_eq!(plan.total_cost_cents, by_hand);
    }
}

#[test]
fn cheapest_moves_units_to_save_a_started_kilogram() {
    // One line of 3 units × 400 g. Greedy by rate puts all 1,200 g at A
    // (2 kg at 100 ¢); but A and B both ship anyway for line Z, so 2 units at
    // A (800 g, 1 kg) and 1 at B (400 g + Z's 100 g, still 1 kg) saves a kg.
    let sites = [
        site(1, "A", 1.0, (0, 0, 100)),
        site(2, "B", 1.0, (0, 0, 150)),
    ];
    let lines = [line("X", 3, 400), line("Y", 1, 100), line("Z", 1, 100)];
    let offers = [
        offer("X", 1, 3),
        offer("X", 2, 3),
        offer("Y", 1, 1),
        offer("Z", 2, 1),
    ];
    let plan = run(Strategy::Cheapest, &lines, &sites, &offers, None);
    // A: 2 × 400 + 100 = 900 g → 1 kg → 100; B: 400 + 100 = 500 g → 150.
    assert_eq!(plan.total_cost_cents, 250);
    let a = &plan.shipments.iter().find(|s| s.code == "A").unwrap().lines;
    assert!(a.contains(&ShipmentLine {
        sku: "X".into(),
        quantity: 2
    }));
}

#[test]
fn split_uses_the_fewest_shipments_then_the_lowest_cost() {
    let sites = [
        site(1, "NEAR", 1.0, (100, 0, 0)),
        site(2, "MID", 2.0, (100, 0, 0)),
        site(3, "ALL1", 4.0, (900, 0, 0)),
        site(4, "ALL2", 6.0, (700, 0, 0)),
    ];
    let lines = [line("A", 1, 100), line("B", 1, 100)];
    let offers = [
        offer("A", 1, 1),
        offer("B", 2, 1),
        offer("A", 3, 1),
        offer("B", 3, 1),
        offer("A", 4, 1),
        offer("B", 4, 1),
    ];
    let split = run(Strategy::Split, &lines, &sites, &offers, None);
    assert_eq!(
        codes(&split),
        ["ALL2"],
        "one shipment, and ALL2 is cheaper than ALL1"
    );
    assert!(split.explanation[0].contains("one warehouse holds the whole order"));
    let cheapest = run(Strategy::Cheapest, &lines, &sites, &offers, None);
    assert_eq!(
        codes(&cheapest),
        ["NEAR", "MID"],
        "two base fees of 100 beat one of 700"
    );
}

#[test]
fn balanced_draws_from_where_the_most_stock_remains() {
    let sites = [
        site(1, "A", 1.0, (0, 0, 0)),
        site(2, "B", 2.0, (0, 0, 0)),
        site(3, "C", 3.0, (0, 0, 0)),
    ];
    let lines = [line("X", 6, 100)];
    let offers = [offer("X", 1, 3), offer("X", 2, 10), offer("X", 3, 7)];
    let plan = run(Strategy::Balanced, &lines, &sites, &offers, None);
    let taken: Vec<(String, u32)> = plan
        .shipments
        .iter()
        .map(|s| (s.code.clone(), s.lines[0].quantity))
        .collect();
    // 10 → 6 and 7 → 5, leaving 3, 6... then ties: B, C at 6 and 6? Take
    // one at a time from the fullest: B10 B9 B8 (C7 ties B7 → B nearer) B7
    // C7 B6 → B takes 4... the water level: B 10→6 (4), C 7→6 (1), then
    // the sixth unit from the nearer of B and C at 6: B.
    assert_eq!(taken, [("B".into(), 5), ("C".into(), 1)]);
}

#[test]
fn max_shipments_falls_back_to_the_cheapest_plan_within_it_or_says_none_exists() {
    let sites = [
        site(1, "A", 1.0, (100, 0, 0)),
        site(2, "B", 2.0, (100, 0, 0)),
        site(3, "C", 3.0, (100, 0, 0)),
        site(4, "D", 9.0, (2000, 0, 0)),
    ];
    let lines = [line("X", 1, 100), line("Y", 1, 100), line("Z", 1, 100)];
    // Line by line NEAREST needs A, B and C; D holds X and Y.
    let offers = [
        offer("X", 1, 1),
        offer("Y", 2, 1),
        offer("Z", 3, 1),
        offer("X", 4, 1),
        offer("Y", 4, 1),
    ];
    let capped = run(Strategy::Nearest, &lines, &sites, &offers, Some(2));
    assert_eq!(codes(&capped), ["C", "D"]);
    assert!(
        capped.explanation[0].contains("NEAREST plan needs 3 shipments, more than allowed"),
        "{:?}",
        capped.explanation
    );

    let lines = [line("X", 1, 100), line("Y", 1, 100)];
    let offers = [offer("X", 1, 1), offer("Y", 2, 1)];
    for strategy in Strategy::ALL {
        let none = run(strategy, &lines, &sites, &offers, Some(1));
        assert!(!none.feasible, "{strategy:?}");
        assert!(none.shortages.is_empty());
        assert!(
            none.explanation[0].contains("needs at least 2 shipments"),
            "{:?}",
            none.explanation
        );
    }
}

#[test]
fn ties_break_by_distance_then_code() {
    let sites = [
        site(1, "B-SITE", 1.0, (100, 0, 0)),
        site(2, "A-SITE", 1.0, (100, 0, 0)),
    ];
    let lines = [line("X", 1, 100)];
    let offers = [offer("X", 1, 1), offer("X", 2, 1)];
    for strategy in Strategy::ALL {
        let plan = run(strategy, &lines, &sites, &offers, None);
        assert_eq!(codes(&plan), ["A-SITE"], "{strategy:?}");
    }
}

#[test]
fn equal_cost_plans_prefer_the_nearer_warehouse() {
    // Both cost 200: FAR by its base fee, NEAR by its weight charge; the
    // search meets FAR first (lower fixed cost) but NEAR is nearer.
    let sites = [
        site(1, "NEAR", 1.0, (200, 0, 0)),
        site(2, "FAR", 3.0, (100, 0, 100)),
    ];
    let lines = [line("X", 1, 1000)];
    let offers = [offer("X", 1, 1), offer("X", 2, 1)];
    for strategy in [Strategy::Cheapest, Strategy::Split] {
        let plan = run(strategy, &lines, &sites, &offers, None);
        assert_eq!(plan.total_cost_cents, 200);
        assert_eq!(codes(&plan), ["NEAR"], "{strategy:?}");
    }
}

// ---------------------------------------------------------------- property tests

prop_compose! {
    fn instance()(
        site_specs in prop::collection::vec(
            (-3.0f64..3.0, -3.0f64..3.0, 0i64..800, 0i64..60, 0i64..150, prop::bool::weighted(0.85)),
            1..=6,
        ),
        line_specs in prop::collection::vec((1u32..=3, 100u32..=2500), 1..=4),
        stock_seed in prop::collection::vec(0u32..=3, 24),
        max_shipments in prop::option::weighted(0.3, 1u32..=3),
    ) -> (Vec<Site>, Vec<OrderLine>, Vec<Offer>, Option<u32>) {
        let sites: Vec<Site> = site_specs
            .iter()
            .enumerate()
            .map(|(i, &(lat, lon, base, per100, per_kg, active))| Site {
                id: i as i32 + 1,
                code: format!("W{i}"),
                label: format!("City {i}"),
                location: Location::new(lat, lon).unwrap(),
                rate: ShippingRate { base_cents: base, cents_per_100km: per100, cents_per_kg: per_kg },
                active,
            })
            .collect();
        let lines: Vec<OrderLine> = line_specs
            .iter()
            .enumerate()
            .map(|(i, &(quantity, grams))| line(&format!("SKU{i}"), quantity, grams))
            .collect();
        let mut offers = Vec::new();
        for (l, line) in lines.iter().enumerate() {
            for site in &sites {
                let available = stock_seed[(l * 6 + site.id as usize - 1) % stock_seed.len()];
                offers.push(offer(&line.sku, site.id, available));
            }
        }
        (sites, lines, offers, max_shipments)
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn plans_match_exhaustive_search_and_ship_exactly_the_order(
        (sites, lines, offers, max_shipments) in instance()
    ) {
        let active: Vec<Site> = sites.iter().filter(|s| s.active).cloned().collect();
        let stock: Vec<Vec<u32>> = lines
            .iter()
            .map(|line| {
                active
                    .iter()
                    .map(|site| {
                        offers
                            .iter()
                            .filter(|o| o.sku == line.sku && o.site_id == site.id)
                            .map(|o| o.available)
                            .sum()
                    })
                    .collect()
            })
            .collect();
        let cap = max_shipments.map_or(usize::MAX, |n| n as usize);
        let outcomes: Vec<(usize, i64)> = all_allocations(&lines, &stock)
            .iter()
            .map(|units| evaluate(&lines, &active, home(), units))
            .filter(|(shipments, _)| *shipments <= cap)
            .collect();
        let cheapest = outcomes.iter().map(|o| o.1).min();
        let fewest = outcomes.iter().min_by_key(|o| (o.0, o.1)).copied();

        for strategy in Strategy::ALL {
            let plan = run(strategy, &lines, &sites, &offers, max_shipments);
            prop_assert_eq!(plan.feasible, !outcomes.is_empty(), "{:?} feasibility", strategy);
            if !plan.feasible {
                // Every "needs at least N shipments" is true.
                let any: Vec<(usize, i64)> = all_allocations(&lines, &stock)
                    .iter()
                    .map(|units| evaluate(&lines, &active, home(), units))
                    .collect();
                if let Some(needs) = plan.explanation[0]
                    .split("needs at least ")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    let fewest_any = any.iter().map(|o| o.0).min();
                    prop_assert!(fewest_any.is_none_or(|f| f >= needs), "claims {} but {:?}", needs, fewest_any);
                }
                continue;
            }
            // The floor is proven: never above the best plan, never above
            // this one, and the gap never understates the distance to it.
            let best = match strategy {
                Strategy::Split => fewest.map(|f| f.1),
                _ => cheapest,
            }
            .unwrap();
            if matches!(strategy, Strategy::Cheapest | Strategy::Split) {
                prop_assert!(plan.lower_bound_cents <= best, "{:?} floor {} above {}", strategy, plan.lower_bound_cents, best);
                let true_gap = (plan.total_cost_cents - best) as f64 / best.max(1) as f64 * 100.0;
                prop_assert!(plan.gap_percent() + 1e-9 >= true_gap);
            }
            prop_assert!(plan.lower_bound_cents <= plan.total_cost_cents);
            prop_assert_eq!(plan.proven, plan.lower_bound_cents == plan.total_cost_cents || !matches!(strategy, Strategy::Cheapest | Strategy::Split));
            prop_assert!(plan.proven);
            prop_assert!(plan.shipments.len() <= cap);
            // Exactly the ordered quantities, from active sites that hold them.
            for line in &lines {
                let shipped: u32 = plan
                    .shipments
                    .iter()
                    .flat_map(|s| s.lines.iter().filter(|l| l.sku == line.sku))
                    .map(|l| l.quantity)
                    .sum();
                prop_assert_eq!(shipped, line.quantity);
            }
            for shipment in &plan.shipments {
                let site = active.iter().find(|s| s.id == shipment.site_id);
                prop_assert!(site.is_some(), "ships from an inactive or unknown site");
                for item in &shipment.lines {
                    let held: u32 = offers
                        .iter()
                        .filter(|o| o.sku == item.sku && o.site_id == shipment.site_id)
                        .map(|o| o.available)
                        .sum();
                    prop_assert!(item.quantity <= held);
                }
            }
            let total: i64 = plan.shipments.iter().map(|s| s.cost_cents).sum();
            prop_assert_eq!(total, plan.total_cost_cents);
            match strategy {
                Strategy::Cheapest => prop_assert_eq!(Some(plan.total_cost_cents), cheapest),
                Strategy::Split => prop_assert_eq!(
                    Some((plan.shipments.len(), plan.total_cost_cents)),
                    fewest
                ),
                _ => {}
            }
        }
    }
}

/// The instance shape at scale (benches/support/orders.rs, 20 lines
/// over 200 warehouses, seed 1002): the optimum needs 3 shipments (HiGHS
/// agrees), and SPLIT used to answer 4 and then call a cap of 3 infeasible.
#[test]
fn split_finds_the_fewest_shipments_at_scale_and_a_cap_there_is_feasible() {
    let instance = orders::instance(1002, 20, 200);
    let split = plan(&instance.request(Strategy::Split));
    assert!(split.feasible);
    assert_eq!(split.shipment_count(), 3);
    assert!(split.proven, "{:?}", split.explanation);
    let capped = plan(&with_cap(&instance, Strategy::Cheapest, Some(3)));
    assert!(capped.feasible, "{:?}", capped.explanation);
    assert!(capped.shipment_count() <= 3);
    // Two are proven not enough: the claim is made and true.
    let two = plan(&with_cap(&instance, Strategy::Cheapest, Some(2)));
    assert!(!two.feasible);
    assert!(two.proven);
    assert!(
        two.explanation[0].contains("needs at least 3 shipments"),
        "{:?}",
        two.explanation
    );
}

#[test]
fn split_at_scale_finds_a_smaller_cover_than_exact_search_alone() {
    // 50 lines over 400 warehouses: the greedy covers and the exact search
    // within the default budget stop at 5 shipments; 4 are enough.
    let instance = orders::instance(1000, 50, 400);
    let split = plan(&instance.request(Strategy::Split));
    assert!(split.feasible);
    assert_eq!(split.shipment_count(), 4, "{:?}", split.explanation);
    for line in &instance.lines {
        let shipped: u32 = split
            .shipments
            .iter()
            .flat_map(|s| s.lines.iter().map(move |l| (s.site_id, l)))
            .filter(|(_, l)| l.sku == line.sku)
            .map(|(site, l)| {
                let held: u32 = instance
                    .offers
                    .iter()
                    .filter(|o| o.site_id == site && o.sku == l.sku)
                    .map(|o| o.available)
                    .sum();
                assert!(l.quantity <= held, "{} from {site}", l.sku);
                l.quantity
            })
            .sum();
        assert_eq!(shipped, line.quantity, "{}", line.sku);
    }
}

#[test]
fn split_at_scale_starts_its_cost_search_from_cheap_covers_of_its_size() {
    // Seed 1009, 50×400: SPLIT ships in 5, and so does the cheapest plan
    // found (the older search's cheapest shipped in 6). From the count's own
    // cover alone the cost search ended at 26,030 cents, 84 % above the
    // cheapest plan; from the greedy covers brought down to 5 it ends
    // within a few per cent of it.
    let instance = orders::instance(1009, 50, 400);
    let cheapest = plan(&instance.request(Strategy::Cheapest));
    let split = plan(&instance.request(Strategy::Split));
    assert!(split.shipment_count() <= cheapest.shipment_count());
    assert!(
        split.total_cost_cents * 100 <= cheapest.total_cost_cents * 105,
        "{} vs {}",
        split.total_cost_cents,
        cheapest.total_cost_cents
    );
}

#[test]
fn split_at_its_count_also_searches_from_cheap_covers_above_it() {
    // Seed 1009, 50×400: HiGHS proves 13,996 cents the cheapest plan, and
    // it ships in 5, the fewest. Moves that never leave 5 shipments ended
    // at 14,373 (2.7 % above); from the cheapest covers of 6 or more,
    // moved freely and kept where they end within 5, SPLIT comes within
    // 2 % of it.
    split_within_two_percent(1009, 5, 13_996);
}

#[test]
fn split_brings_cheap_plans_above_its_count_down_to_it() {
    // Seed 1004, 50×400: HiGHS proves 4 shipments the fewest and, in 900 s,
    // finds 20,572 cents at that count. The count's own covers and the
    // capped moves stopped at 21,415 (4.1 % above); the cheap plan of five
    // that free moves reach, brought down to four by the swap search, gets
    // within 2 % of it.
    split_within_two_percent(1004, 4, 20_572);
}

/// SPLIT on a 50×400 benchmark seed ships in `count` and costs at most 2 %
/// more than `best`, the best plan HiGHS found at that count, with a floor
/// not above it.
fn split_within_two_percent(seed: u64, count: usize, best: i64) {
    let instance = orders::instance(seed, 50, 400);
    let split = plan(&instance.request(Strategy::Split));
    assert_eq!(split.shipment_count(), count);
    assert!(
        split.total_cost_cents * 100 <= best * 102,
        "seed {seed}: {} vs {best}",
        split.total_cost_cents
    );
    assert!(split.lower_bound_cents <= best);
}

#[test]
fn at_the_fewest_shipments_split_trades_two_warehouses_for_two() {
    // Seed 1002, 50×400: 5 shipments at least. No single swap of a
    // warehouse improved the older plan (15,652 cents) without leaving
    // some line short; HiGHS, started from it, found 14,791 in 60 s with
    // four of its five warehouses different. Trading two for two gets
    // below that.
    let instance = orders::instance(1002, 50, 400);
    let split = plan(&instance.request(Strategy::Split));
    assert_eq!(split.shipment_count(), 5);
    assert!(
        split.total_cost_cents <= 14_791,
        "{}",
        split.total_cost_cents
    );
    assert!(split.lower_bound_cents <= split.total_cost_cents);
}

#[test]
fn cheapest_at_scale_reaches_the_optimum_the_solver_proved() {
    // Seed 1003, 50×400: HiGHS proves 12,413 cents the cheapest; the
    // single-move search stopped at 12,535.
    let instance = orders::instance(1003, 50, 400);
    let cheapest = plan(&instance.request(Strategy::Cheapest));
    assert_eq!(cheapest.total_cost_cents, 12_413);
    assert!(cheapest.lower_bound_cents <= 12_413);
}

#[test]
fn an_unproven_plan_says_how_far_from_the_cheapest_it_may_be() {
    let instance = orders::instance(1000, 50, 400);
    let cheapest = plan(&instance.request(Strategy::Cheapest));
    assert!(cheapest.feasible);
    assert!(
        cheapest.lower_bound_cents > 0 && cheapest.lower_bound_cents <= cheapest.total_cost_cents
    );
    if !cheapest.proven {
        assert!(cheapest.gap_percent() > 0.0);
        assert!(
            cheapest
                .explanation
                .iter()
                .any(|e| e.contains("above the cheapest possible")),
            "{:?}",
            cheapest.explanation
        );
    }
    // Deterministic: the same input gives the same plan.
    assert_eq!(plan(&instance.request(Strategy::Cheapest)), cheapest);
}

// The benchmark's own instances, so that a test and the report speak of
// the same seeds.
#[allow(dead_code)]
#[path = "../../benches/support/orders.rs"]
pub(super) mod orders;

/// `instance` under `strategy` with at most `max_shipments`.
fn with_cap(
    instance: &orders::Instance,
    strategy: Strategy,
    max_shipments: Option<u32>,
) -> PlanRequest<'_> {
    PlanRequest {
        max_shipments,
        ..instance.request(strategy)
    }
}
