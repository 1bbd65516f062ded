"""Per-hold summary of a DHAT profile of the server (benches/allocations.sh).

    python3 benches/support/dhat_summary.py target/allocations/dhat.json HOLDS [TOP]

Prints allocations and bytes per hold, split by the part of the server
whose code is on the allocation's stack (the first rule that matches, in
the order below), then the TOP call sites that allocate most often, each
named by its innermost frame in stockroute's own code (or the innermost
frame outside the standard library when none of ours is on the stack).
"""

import collections
import json
import re
import sys

# Which part made an allocation: the first pattern found on its stack
# (functions by their paths; the debug info names a file by its base name).
PARTS = [
    ("subscriber", r"stockroute::graphql::(feeds|subscription)|stockroute::http::websocket|stockroute::events|tungstenite"),
    ("batch and database", r"stockroute::(inventory::reservations|inventory::planning|inventory::ledger|inventory::capacity|planner|db)|sqlx|sea_orm|sea_query|\((queue|bulk|planning|ledger)\.rs"),
    ("GraphQL request", r"async_graphql|stockroute::graphql"),
    ("HTTP", r"hyper|axum|tower|stockroute::http"),
]
STD = re.compile(r"library/(alloc|core|std)/|/rustc/|vgpreload|^\?\?\?")


def frame(text):
    """(function, file:line) of one DHAT frame."""
    match = re.match(r"0x[0-9A-Fa-f]+: (.*) \((.*)\)$", text)
    return (match.group(1), match.group(2)) if match else (text, "")


def site(stack, addresses):
    """The innermost frame of ours: a stockroute function, or a closure or
    async block inlined into one (same address, a file named without a
    directory, as ours are)."""
    fallback = None
    for (function, path), address in zip(stack, addresses):
        inlined_into_ours = "/" not in path and any(
            "stockroute::" in f for (f, _), a in zip(stack, addresses) if a == address
        )
        if "stockroute::" in function or inlined_into_ours:
            return f"{re.sub(r'<.*', '', function)[:70]} ({path})"
        if fallback is None and not STD.search(path) and not STD.search(function):
            fallback = f"{re.sub(r'<.*', '', function)[:70]} ({path})"
    return fallback or "(the standard library only)"


def main():
    profile = json.load(open(sys.argv[1]))
    holds = float(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    frames = profile["ftbl"]
    parts, part_bytes = collections.Counter(), collections.Counter()
    sites, site_bytes = collections.Counter(), collections.Counter()
    for point in profile["pps"]:
        # tbk: blocks allocated there over the whole run; tb: their bytes.
        stack = [frame(frames[i]) for i in point["fs"]]
        addresses = [frames[i].split(":")[0] for i in point["fs"]]
        text = "\n".join(f"{f} {p}" for f, p in stack)
        part = next((name for name, rule in PARTS if re.search(rule, text)), "other")
        parts[part] += point["tbk"]
        part_bytes[part] += point["tb"]
        where = site(stack, addresses)
        sites[where] += point["tbk"]
        site_bytes[where] += point["tb"]
    total = sum(parts.values())
    print(f"{total / holds:.1f} allocations and {sum(part_bytes.values()) / holds:,.0f} bytes per hold")
    for name, _ in PARTS + [("other", "")]:
        print(f"  {name:20} {parts[name] / holds:6.1f} allocations {part_bytes[name] / holds:8,.0f} bytes")
    print(f"the {top} sites that allocate most often, per hold:")
    for where, count in sites.most_common(top):
        print(f"  {count / holds:6.1f} {site_bytes[where] / holds:7,.0f} B  {where}")


if __name__ == "__main__":
    main()
