#!/usr/bin/env bash
# Records written per second with a logging trail delivering to S3 (log files
# every second, digests every 10 s) against no trail, and a check that every
# recorded management event was delivered exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install --quiet -r tests/e2e/requirements.txt; }
cargo build --release --quiet -p trailguard -p trailguard-loadgen
.venv/bin/python benches/delivery/delivery_bench.py --seconds "${SECONDS_PER:-10}" --connections "${CONNECTIONS:-8}"
