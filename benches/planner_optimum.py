"""Plan quality against the true optimum.

Reads the JSON lines `examples/planner_instances.rs` writes (each random
instance with the planner's CHEAPEST and SPLIT plans, their proven floors and
latencies), solves every instance exactly with the HiGHS MILP solver, and
prints, per size, how far the planner is from the optimum and whether every
floor it reported is below the optimum.

Nothing is taken on trust from the planner: each of its plans is re-checked
against the stock and the order and re-priced from the contract's formula
(fixed cost per shipment + cents per started kilogram). Run it through
`benches/planner_quality.sh`.
"""

import json
import math
import statistics
import sys
from collections import defaultdict

import highspy

TIME_LIMIT = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0


def solver():
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", TIME_LIMIT)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.5)  # costs are whole cents
    h.setOptionValue("threads", 1)
    return h


def model(inst, shipments=None, count_only=False):
    """The plan problem as a MILP: open y_c, units x_lc, billed kg k_c."""
    h = solver()
    sites = {s["id"]: s for s in inst["sites"]}
    lines = {l["sku"]: l for l in inst["lines"]}
    y = {c: h.addBinary() for c in sites}
    kg = {c: h.addIntegral(lb=0, ub=10**7) for c in sites}
    x = {}
    caps = {}
    for st in inst["stock"]:
        c, sku = st["site"], st["sku"]
        if c not in sites or sku not in lines:
            continue
        cap = min(st["available"], lines[sku]["quantity"])
        if cap > 0:
            x[(sku, c)] = h.addIntegral(lb=0, ub=cap)
            caps[(sku, c)] = cap
    for sku, line in lines.items():
        h.addConstr(h.qsum(x[k] for k in x if k[0] == sku) == line["quantity"])
    for (sku, c), var in x.items():
        h.addConstr(var <= caps[(sku, c)] * y[c])
    for c in sites:
        grams = [lines[sku]["grams"] * var for (sku, cc), var in x.items() if cc == c]
        if grams:
            h.addConstr(h.qsum(grams) <= 1000 * kg[c])
    if shipments is not None:
        h.addConstr(h.qsum(y.values()) == shipments)
    if count_only:
        h.minimize(h.qsum(y.values()))
    else:
        h.minimize(h.qsum(sites[c]["fixed_cents"] * y[c] + sites[c]["cents_per_kg"] * kg[c] for c in sites))
    status = h.getModelStatus()
    proven = status == highspy.HighsModelStatus.kOptimal
    value = h.getInfo().objective_function_value
    bound = h.getInfo().mip_dual_bound
    return round(value), proven, bound


def price(inst, plan):
    """Checks a plan against stock and order and prices it from the formula."""
    sites = {s["id"]: s for s in inst["sites"]}
    lines = {l["sku"]: l for l in inst["lines"]}
    held = defaultdict(int)
    for st in inst["stock"]:
        held[(st["sku"], st["site"])] += st["available"]
    shipped = defaultdict(int)
    grams = defaultdict(int)
    for u in plan["units"]:
        assert u["site"] in sites, f"seed {inst['seed']}: ships from an unknown or inactive site"
        assert 0 < u["quantity"] <= held[(u["sku"], u["site"])], f"seed {inst['seed']}: more than held"
        shipped[u["sku"]] += u["quantity"]
        grams[u["site"]] += u["quantity"] * lines[u["sku"]]["grams"]
    for sku, line in lines.items():
        assert shipped[sku] == line["quantity"], f"seed {inst['seed']}: {sku} shipped {shipped[sku]}"
    cost = sum(sites[c]["fixed_cents"] + sites[c]["cents_per_kg"] * math.ceil(g / 1000) for c, g in grams.items())
    assert cost == plan["cost_cents"], f"seed {inst['seed']}: priced {cost}, planner says {plan['cost_cents']}"
    return cost, len(grams)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def main():
    rows = defaultdict(lambda: defaultdict(list))
    unsolved = 0
    for raw in sys.stdin:
        inst = json.loads(raw)
        plans = {p["strategy"]: p for p in inst["plans"]}
        size = inst["size"]

        cheapest = plans["CHEAPEST"]
        cost, _ = price(inst, cheapest)
        optimum, solved, _ = model(inst)
        unsolved += not solved
        assert cost >= optimum or not solved, f"seed {inst['seed']}: plan below the optimum?"
        r = rows[size]
        r["c_gap"].append((cost - optimum) / optimum * 100)
        r["c_optimal"].append(cost == optimum)
        r["c_proven"].append(cheapest["optimal"])
        r["c_floor_ok"].append(cheapest["lower_bound_cents"] <= optimum)
        r["c_reported"].append(cheapest["gap_percent"])
        r["c_ms"].append(cheapest["millis"])

        split = plans["SPLIT"]
        cost, count = price(inst, split)
        fewest, solved_count, _ = model(inst, count_only=True)
        at_fewest, solved_cost, _ = model(inst, shipments=fewest)
        unsolved += (not solved_count) + (not solved_cost)
        r["s_count_ok"].append(count == fewest)
        r["s_gap"].append((cost - at_fewest) / at_fewest * 100 if count == fewest else float("nan"))
        r["s_proven"].append(split["optimal"])
        r["s_floor_ok"].append(count > fewest or split["lower_bound_cents"] <= at_fewest)
        r["s_ms"].append(split["millis"])
        print(
            f"{size} seed {inst['seed']}: CHEAPEST {cheapest['cost_cents']} vs {optimum} "
            f"(floor {cheapest['lower_bound_cents']}, {cheapest['millis']:.1f} ms); "
            f"SPLIT {count}/{split['cost_cents']} vs {fewest}/{at_fewest} "
            f"(floor {split['lower_bound_cents']}, {split['millis']:.1f} ms)",
            file=sys.stderr,
            flush=True,
        )

    print("| lines × warehouses | instances | CHEAPEST at the optimum | CHEAPEST gap mean / max | proven optimal | reported gap mean | floor ≤ optimum | p50 / p99 ms |"
          " SPLIT fewest shipments | SPLIT cost gap mean / max | proven | floor ≤ optimum | p50 / p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, r in rows.items():
        n = len(r["c_gap"])
        s_gaps = [g for g in r["s_gap"] if not math.isnan(g)] or [float("nan")]
        print(
            f"| {size.replace('x', ' × ')} | {n} | {sum(r['c_optimal'])} | "
            f"{statistics.mean(r['c_gap']):.2f} % / {max(r['c_gap']):.2f} % | {sum(r['c_proven'])} | "
            f"{statistics.mean(r['c_reported']):.2f} % | {sum(r['c_floor_ok'])}/{n} | "
            f"{percentile(r['c_ms'], 50):.1f} / {percentile(r['c_ms'], 99):.1f} | "
            f"{sum(r['s_count_ok'])}/{n} | {statistics.mean(s_gaps):.2f} % / {max(s_gaps):.2f} % | "
            f"{sum(r['s_proven'])} | {sum(r['s_floor_ok'])}/{n} | "
            f"{percentile(r['s_ms'], 50):.1f} / {percentile(r['s_ms'], 99):.1f} |"
        )
    if unsolved:
        print(f"\n{unsolved} solver runs stopped at the {TIME_LIMIT:.0f} s limit: their optimum is the best found.")
    bad = sum(n - sum(r["c_floor_ok"]) + n - sum(r["s_floor_ok"]) for r in rows.values() for n in [len(r["c_gap"])])
    if bad:
        print(f"\n{bad} reported floors lie above the optimum.")
        sys.exit(1)


if __name__ == "__main__":
    main()
