"""Per-hold summary of a callgrind profile of the server
(TOOL=callgrind bash benches/allocations.sh).

    python3 benches/support/callgrind_summary.py target/allocations/callgrind.out HOLDS [TOP]

Prints the instructions counted per hold in all, then the inclusive cost
per hold of the functions that stand for the parts of a hold (a part's
functions can call each other's: the parts overlap and do not add up),
then the TOP functions by their own (exclusive) instructions per hold.
Counts, not seconds: compare runs of this script with each other.
"""

import re
import subprocess
import sys

# A part of a hold: the functions whose inclusive costs stand for it,
# matched against "file:function" as callgrind_annotate names them (the
# file is where the inlined code came from); the largest one is shown.
PARTS = [
    ("the subscriber's event: its rendering", r":stockroute::graphql::feeds::render"),
    ("the subscriber's event: the websocket", r":axum::extract::ws::WebSocketUpgrade<F>::on_upgrade"),
    ("the batch (planning, the inserts)", r":stockroute::inventory::reservations::queue::settle"),
    ("the rows as typed arrays", r":stockroute::db::bulk::as_array_insert"),
    ("the request's JSON body", r"serde_json[^/]*/src/de\.rs:<F as axum::handler::Handler"),
    ("async-graphql's execution", r":async_graphql::schema::Schema<[^>]*>::execute::"),
    ("the response objects put in order", r":stockroute::graphql::field_order::order"),
    ("allocating (Rust's allocations, on mimalloc)", r":__rustc::__rust_alloc$"),
    ("freeing", r":__rustc::__rust_dealloc$"),
    ("SipHash (std's HashMap and IndexMap hashing)", r":<core::hash::sip::Hasher<S> as core::hash::Hasher>::write$"),
]

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)(?: \[[^\]]*\])?$")


def annotate(path, inclusive):
    """(instructions, function) pairs from callgrind_annotate, largest first."""
    out = subprocess.run(
        ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows, total = [], None
    for line in out.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        count = int(match.group(1).replace(",", ""))
        name = match.group(2)
        if name.startswith("=>"):
            continue
        if name.startswith("PROGRAM TOTALS"):
            total = count
            continue
        rows.append((count, name.strip()))
    return total, rows


def function(name):
    """The function of a "file:function" name."""
    file, _, rest = name.partition(":")
    return rest if rest and " " not in file else name


def main():
    path, holds = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    if holds <= 0:
        sys.exit("no holds were counted")
    total, inclusive = annotate(path, True)
    print(f"instructions per hold: {total / holds / 1000:.1f}k ({total:,} over {holds:,} holds)")
    print("\nparts (inclusive, per hold; they overlap):")
    for label, pattern in PARTS:
        found = [(count, name) for count, name in inclusive if re.search(pattern, name)]
        if found:
            count, name = max(found)
            print(f"  {count / holds / 1000:7.1f}k  {label}  [{function(name)[:90]}]")
        else:
            print(f"        -   {label}  [not found]")
    _, exclusive = annotate(path, False)
    print(f"\nthe {top} functions with the most instructions of their own, per hold:")
    for count, name in exclusive[:top]:
        print(f"  {count / holds / 1000:7.2f}k  {function(name)[:110]}")


if __name__ == "__main__":
    main()
