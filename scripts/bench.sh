#!/usr/bin/env bash
# Signed IAM throughput and latency: trailguard and Moto's server, same machine,
# same load generator, same run. Results go to stdout as JSON lines; copy them
# into BENCHMARKS.md with the machine and date.
#
#   ./scripts/bench.sh            # 10 s per workload, 8 connections
#   SECONDS_PER=30 CONNECTIONS=16 ./scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${SECONDS_PER:-10}
CONNECTIONS=${CONNECTIONS:-8}
TG_PORT=${TG_PORT:-47470}
MOTO_PORT=${MOTO_PORT:-47471}
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

if [ ! -x .venv/bin/moto_server ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet -r tests/e2e/requirements.txt
fi
cargo build --release --quiet -p trailguard -p trailguard-loadgen

data=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$data"; }
trap cleanup EXIT

TRAILGUARD_ACCOUNT_ID=123456789012 TRAILGUARD_ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
TRAILGUARD_ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY TRAILGUARD_LOG=warn \
  target/release/trailguard serve --listen 127.0.0.1:$TG_PORT --data-dir "$data/tg" >/dev/null &
pids+=($!)
.venv/bin/moto_server -p $MOTO_PORT >/dev/null 2>&1 &
pids+=($!)
for port in $TG_PORT $MOTO_PORT; do
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
done

for workload in get-role create-delete-role; do
  for target in trailguard moto; do
    port=$TG_PORT; [ "$target" = moto ] && port=$MOTO_PORT
    target/release/trailguard-loadgen --endpoint "http://127.0.0.1:$port" --workload "$workload" \
      --connections "$CONNECTIONS" --seconds "$SECONDS_PER" --target "$target"
  done
done
echo "trailguard peak RSS: $(awk '/VmHWM/{print $2" "$3}' /proc/${pids[0]}/status)"
