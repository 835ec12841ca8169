#!/usr/bin/env bash
# GuardDuty detection latency (committed call to stored finding) and ListFindings
# latency over FINDINGS stored findings (default 100,000).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install --quiet -r tests/e2e/requirements.txt; }
cargo build --release --quiet -p trailguard
.venv/bin/python benches/guardduty/findings_bench.py --findings "${FINDINGS:-100000}"
