#!/usr/bin/env bash
# Signed IAM throughput and latency, same machine, same load generator, same run.
# Results go to stdout as JSON lines; copy them into BENCHMARKS.md with the
# machine and date.
#
#   ./scripts/bench.sh                 # trailguard vs Moto's server, 10 s per workload
#   SECONDS_PER=30 CONNECTIONS=16 ./scripts/bench.sh
#   BASE=d5d061a ./scripts/bench.sh    # A/B: the binary at BASE vs this tree,
#                                      # alternating ROUNDS times (default 3), then
#                                      # the median of each side
#
# Against Moto, trailguard runs twice, with `--durability normal` (the default)
# and `--durability full` (every commit fsynced), and then each at half of its
# own peak rate (an open loop, `loadgen --rate`) for the latency goal: p99
# under 5 ms at half of peak.
#
# A/B builds BASE in a worktree under target/bench-base (its own target
# directory, kept between runs) so both binaries are release builds measured by
# the same load generator on the same machine, turn about; a noisy machine hides
# a regression otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${SECONDS_PER:-10}
CONNECTIONS=${CONNECTIONS:-8}
ROUNDS=${ROUNDS:-3}
TG_PORT=${TG_PORT:-47470}
OTHER_PORT=${OTHER_PORT:-47471}
FULL_PORT=${FULL_PORT:-47472}
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

cargo build --release --quiet -p trailguard -p trailguard-loadgen

data=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$data"; }
trap cleanup EXIT

serve() { # binary port dir [durability]
  mkdir -m 700 -p "$3"
  TRAILGUARD_ACCOUNT_ID=123456789012 TRAILGUARD_ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
  TRAILGUARD_ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY TRAILGUARD_LOG=warn \
    "$1" serve --listen "127.0.0.1:$2" --data-dir "$3" --durability "${4:-normal}" >/dev/null &
  pids+=($!)
}

if [ -n "${BASE:-}" ]; then
  base_tree=target/bench-base/tree
  rev=$(git rev-parse --verify "$BASE^{commit}")
  if [ "$(git -C "$base_tree" rev-parse HEAD 2>/dev/null)" != "$rev" ]; then
    git worktree remove --force "$base_tree" 2>/dev/null || rm -rf "$base_tree"
    git worktree prune
    git worktree add --detach "$base_tree" "$rev" >/dev/null
  fi
  CARGO_TARGET_DIR="$PWD/target/bench-base/target" \
    cargo build --release --quiet --manifest-path "$base_tree/Cargo.toml" -p trailguard
  serve "$PWD/target/bench-base/target/release/trailguard" "$OTHER_PORT" "$data/base"
  other=base
else
  if [ ! -x .venv/bin/moto_server ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet -r tests/e2e/requirements.txt
  fi
  .venv/bin/moto_server -p "$OTHER_PORT" >/dev/null 2>&1 &
  pids+=($!)
  other=moto
  ROUNDS=1
  serve target/release/trailguard "$FULL_PORT" "$data/full" full
fi
serve target/release/trailguard "$TG_PORT" "$data/tg"
ports="$TG_PORT $OTHER_PORT"; [ -z "${BASE:-}" ] && ports="$ports $FULL_PORT"
for port in $ports; do
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
done

results=$data/results.jsonl
for round in $(seq 1 "$ROUNDS"); do
  for workload in get-role create-delete-role; do
    # Alternate which side goes first, so neither always runs on a warmer machine.
    sides="trailguard $other"; [ $((round % 2)) = 0 ] && sides="$other trailguard"
    [ -z "${BASE:-}" ] && sides="$sides trailguard-full"
    for target in $sides; do
      case $target in
        trailguard) port=$TG_PORT ;;
        trailguard-full) port=$FULL_PORT ;;
        *) port=$OTHER_PORT ;;
      esac
      target/release/trailguard-loadgen --endpoint "http://127.0.0.1:$port" --workload "$workload" \
        --connections "$CONNECTIONS" --seconds "$SECONDS_PER" --target "$target" | tee -a "$results"
    done
  done
done
if [ -z "${BASE:-}" ]; then
  # Latency at half of each trailguard's own peak, same connections.
  for workload in get-role create-delete-role; do
    for target in trailguard trailguard-full; do
      port=$TG_PORT; [ "$target" = trailguard-full ] && port=$FULL_PORT
      peak=$(python3 -c "import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
w={'get-role':'GetRole','create-delete-role':'CreateDeleteRole'}[sys.argv[2]]
print(max(r['requests_per_second'] for r in rows if r['target']==sys.argv[3] and r['workload']==w and r.get('rate') is None))" \
        "$results" "$workload" "$target")
      rate=$(python3 -c "print(round($peak / 2))")
      target/release/trailguard-loadgen --endpoint "http://127.0.0.1:$port" --workload "$workload" \
        --connections "$CONNECTIONS" --seconds "$SECONDS_PER" --rate "$rate" --target "$target" | tee -a "$results"
    done
  done
fi
echo "trailguard peak RSS: $(awk '/VmHWM/{print $2" "$3}' /proc/${pids[-1]}/status)"
if [ "$ROUNDS" -gt 1 ]; then
  python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for w in sorted({r["workload"] for r in rows}):
    for t in sorted({r["target"] for r in rows}):
        rs = [r for r in rows if r["workload"] == w and r["target"] == t]
        print(json.dumps({"summary": True, "workload": w, "target": t, "rounds": len(rs),
                          "median_requests_per_second": statistics.median(r["requests_per_second"] for r in rs),
                          "median_p50_ms": statistics.median(r["p50_ms"] for r in rs),
                          "median_p99_ms": statistics.median(r["p99_ms"] for r in rs)}))
PY
fi
