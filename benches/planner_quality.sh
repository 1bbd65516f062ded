#!/usr/bin/env bash
# Plan quality against the true optimum, in one command: random instances
# planned by the release build, each solved again by the HiGHS MILP solver
# (from PyPI, into a virtualenv under target/), one table per run.
#
#   benches/planner_quality.sh                      # 20 each of 10×100 and 20×200, 10 of 50×400
#   benches/planner_quality.sh 20x200:5             # LINESxWAREHOUSES:INSTANCES ...
#   HIGHS_TIME_LIMIT=60 benches/planner_quality.sh  # seconds per solver run (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/highs-venv
if ! "$venv/bin/python" -c 'import highspy' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet highspy
fi
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10x100:20 20x200:20 50x400:10)

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; one core per plan, one per solver run"
echo "HiGHS $("$venv/bin/python" -c 'import highspy; print(highspy.Highs().version())' 2>/dev/null | tail -1)"
cargo run --release --quiet --example planner_instances -- "${sizes[@]}" > target/planner_instances.jsonl
"$venv/bin/python" benches/planner_optimum.py "${HIGHS_TIME_LIMIT:-600}" < target/planner_instances.jsonl
