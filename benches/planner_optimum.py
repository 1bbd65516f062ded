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


def model(inst, shipments=None, count_only=False, start=None):
    """The plan problem as a MILP: open y_c, units x_lc, billed kg k_c.

    `start`, a plan's units, is handed to HiGHS as its first incumbent: a
    run that stops at its time limit then still knows a plan at least that
    good, and its dual bound says how far from the optimum that plan can be.
    Returns (best cost found, proven optimal, HiGHS's proven lower bound).
    """
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
    # The objective first: setting it afterwards would drop the start.
    if count_only:
        h.setObjective(h.qsum(y.values()), highspy.ObjSense.kMinimize)
    else:
        h.setObjective(
            h.qsum(sites[c]["fixed_cents"] * y[c] + sites[c]["cents_per_kg"] * kg[c] for c in sites),
            highspy.ObjSense.kMinimize,
        )
    if start is not None:
        values = [0.0] * h.getNumCol()
        grams = defaultdict(int)
        for u in start:
            values[x[(u["sku"], u["site"])].index] += u["quantity"]
            values[y[u["site"]].index] = 1.0
            grams[u["site"]] += u["quantity"] * lines[u["sku"]]["grams"]
        for c, g in grams.items():
            values[kg[c].index] = math.ceil(g / 1000)
        solution = highspy.HighsSolution()
        solution.col_value = values
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    status = h.getModelStatus()
    proven = status == highspy.HighsModelStatus.kOptimal
    value = h.getInfo().objective_function_value
    # Costs are whole cents, so a fractional bound rounds up.
    bound = math.ceil(h.getInfo().mip_dual_bound - 1e-6)
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


def gap(cost, best):
    return (cost - best) / best * 100


def main():
    rows = defaultdict(lambda: defaultdict(list))
    unsolved = 0
    for raw in sys.stdin:
        inst = json.loads(raw)
        plans = {p["strategy"]: p for p in inst["plans"]}
        size = inst["size"]
        r = rows[size]

        cheapest = plans["CHEAPEST"]
        cost, _ = price(inst, cheapest)
        best, solved, bound = model(inst, start=cheapest["units"])
        unsolved += not solved
        assert best <= cost, f"seed {inst['seed']}: the solver lost the planner's plan"
        # Unsolved, the true optimum lies in [bound, best]: the gap is at
        # least the gap to `best` and at most the gap to `bound`.
        r["c_gap"].append(gap(cost, best))
        r["c_gap_max"].append(gap(cost, bound if not solved else best))
        r["c_optimal"].append(cost == best)
        r["c_solved"].append(solved)
        r["c_proven"].append(cheapest["optimal"])
        r["c_floor_ok"].append(cheapest["lower_bound_cents"] <= best)
        r["c_reported"].append(cheapest["gap_percent"])
        r["c_ms"].append(cheapest["millis"])

        split = plans["SPLIT"]
        cost, count = price(inst, split)
        fewest, solved_count, fewest_bound = model(inst, count_only=True, start=split["units"])
        assert fewest <= count, f"seed {inst['seed']}: the solver lost the planner's plan"
        r["s_solved"].append(solved_count)
        r["s_count_ok"].append(count == fewest)
        if count == fewest:
            at_fewest, solved_cost, at_bound = model(inst, shipments=fewest, start=split["units"])
            unsolved += (not solved_count) + (not solved_cost)
            r["s_gap"].append(gap(cost, at_fewest))
            r["s_gap_max"].append(gap(cost, at_bound if not solved_cost else at_fewest))
            r["s_floor_ok"].append(split["lower_bound_cents"] <= at_fewest)
        else:
            unsolved += not solved_count
            at_fewest = None
            # A floor for more shipments than needed says nothing of the optimum.
            r["s_floor_ok"].append(True)
        r["s_proven"].append(split["optimal"])
        r["s_ms"].append(split["millis"])
        print(
            f"{size} seed {inst['seed']}: CHEAPEST {cheapest['cost_cents']} vs {best}"
            f"{'' if solved else f' (solver bound {bound})'} "
            f"(floor {cheapest['lower_bound_cents']}, {cheapest['millis']:.1f} ms); "
            f"SPLIT {count}/{split['cost_cents']} vs {fewest}/{at_fewest} "
            f"(floor {split['lower_bound_cents']}, {split['millis']:.1f} ms)",
            file=sys.stderr,
            flush=True,
        )

    print("| lines × warehouses | instances | optimum proven by HiGHS | CHEAPEST at the optimum | CHEAPEST gap mean / max | proven by the planner | reported gap mean | floor ≤ optimum | p50 / p99 ms |"
          " SPLIT fewest shipments | SPLIT cost gap mean / max | proven by the planner | floor ≤ optimum | p50 / p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, r in rows.items():
        n = len(r["c_gap"])
        s_gaps = r["s_gap"] or [float("nan")]
        s_gaps_max = r["s_gap_max"] or [float("nan")]

        def span(low, high):
            # Where HiGHS did not finish, the gap to the optimum is a range.
            if all(abs(a - b) < 1e-9 for a, b in zip(low, high)):
                return f"{statistics.mean(low):.2f} % / {max(low):.2f} %"
            return (f"{statistics.mean(low):.2f}–{statistics.mean(high):.2f} % / "
                    f"{max(low):.2f}–{max(high):.2f} %")

        print(
            f"| {size.replace('x', ' × ')} | {n} | {sum(r['c_solved'])} | {sum(r['c_optimal'])} | "
            f"{span(r['c_gap'], r['c_gap_max'])} | {sum(r['c_proven'])} | "
            f"{statistics.mean(r['c_reported']):.2f} % | {sum(r['c_floor_ok'])}/{n} | "
            f"{percentile(r['c_ms'], 50):.1f} / {percentile(r['c_ms'], 99):.1f} | "
            f"{sum(r['s_count_ok'])}/{n} (HiGHS proved {sum(r['s_solved'])}) | {span(s_gaps, s_gaps_max)} | "
            f"{sum(r['s_proven'])} | {sum(r['s_floor_ok'])}/{n} | "
            f"{percentile(r['s_ms'], 50):.1f} / {percentile(r['s_ms'], 99):.1f} |"
        )
    if unsolved:
        print(f"\n{unsolved} solver runs stopped at the {TIME_LIMIT:.0f} s limit: for those the optimum "
              "lies between HiGHS's proven bound and the best plan known, and the gap is given as that range.")
    bad = sum(len(r["c_floor_ok"]) - sum(r["c_floor_ok"]) + len(r["s_floor_ok"]) - sum(r["s_floor_ok"])
              for r in rows.values())
    if bad:
        print(f"\n{bad} reported floors lie above the optimum.")
        sys.exit(1)


if __name__ == "__main__":
    main()
