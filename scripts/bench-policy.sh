#!/usr/bin/env bash
# Policy-engine decisions: trailguard-policy vs cedar-policy on equivalent
# policy sets of 1, 10 and 100 statements with conditions. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../benches/policy-engine"
cargo run --release --quiet
