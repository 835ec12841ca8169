#!/usr/bin/env bash
# LookupEvents latency over a trail of RECORDS records (default one million).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install --quiet -r tests/e2e/requirements.txt; }
cargo build --release --quiet -p trailguard
.venv/bin/python benches/lookup/lookup_bench.py --records "${RECORDS:-1000000}"
