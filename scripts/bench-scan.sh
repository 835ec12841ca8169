#!/usr/bin/env bash
# `trailguard scan` over a CloudTrail corpus in AWS's layout, against the
# inflate-plus-parse ceiling, rsigma and DuckDB with pySigma, in one run on
# one machine. Results go to stdout as JSON lines; copy them into
# BENCHMARKS.md with the machine and date.
#
#   SIGMA_RULES=path/to/sigma/rules/cloud/aws/cloudtrail ./scripts/bench-scan.sh
#   RECORDS=8000000 ...       # corpus size (default 2,000,000; 4x for the memory figure)
#   ROUNDS=3 ...              # runs of each trailguard configuration (median kept)
#   RSIGMA=/path/to/rsigma    # `cargo install rsigma --version 0.23.0 --locked`; skipped if absent
#   DUCKDB_PYTHON=/path/to/python   # with duckdb, pysigma, pysigma-backend-duckdb; skipped if absent
#   BASE=<commit> ...         # A/B: the scan at BASE against this tree, turn about
#
# SigmaHQ's rules are not part of this repository (their licence is theirs):
# clone https://github.com/SigmaHQ/sigma and point SIGMA_RULES at
# rules/cloud/aws/cloudtrail.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-2000000}
ROUNDS=${ROUNDS:-3}
THREADS=$(nproc)
work=target/bench-scan
corpus=$work/corpus-$RECORDS
mkdir -p "$work"

cargo build --release --quiet -p trailguard -p trailguard-loadgen
tg=target/release/trailguard
if [ ! -d "$corpus/AWSLogs" ]; then
  echo "writing $RECORDS records to $corpus" >&2
  target/release/trailguard-corpus --out "$corpus" --records "$RECORDS"
fi
json_bytes=$(find "$corpus/" -name '*.json.gz' -print0 | sort -z | xargs -0 cat | gzip -dc | wc -c)
gz_bytes=$(du -sbL "$corpus/" | cut -f1)

# A rule that looks at no record: what is left is reading, inflating and parsing.
never=$work/never
mkdir -p "$never"
printf 'title: never\nid: 00000000-0000-4000-8000-000000000000\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName: NoSuchEventName\n  condition: sel\n' > "$never/never.yml"

run() { # label binary args...
  local label=$1 bin=$2; shift 2
  local times=()
  for _ in $(seq "$ROUNDS"); do
    /usr/bin/time -f '%e %M' -o "$work/time" "$bin" scan -q "$@" "$corpus" > "$work/out" || true
    times+=("$(tail -1 "$work/time")")
  done
  local best
  best=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")
  local secs=${best% *} kb=${best#* }
  local findings
  findings=$(wc -l < "$work/out")
  python3 -c "import json,sys; s=float('$secs'); print(json.dumps({'run': '$label', 'records': $RECORDS, 'seconds': s, 'records_per_s': round($RECORDS/s), 'json_mb_per_s': round($json_bytes/s/1e6), 'peak_rss_mb': round($kb/1024), 'findings': $findings}))"
}

echo "{\"machine\": \"$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\", \"records\": $RECORDS, \"json_bytes\": $json_bytes, \"gzip_bytes\": $gz_bytes}"
run "ceiling: read, inflate, parse (no rule looks)" "$tg" --no-builtin --rules "$never"
run "trailguard: built-in detections" "$tg"
if [ -n "${SIGMA_RULES:-}" ]; then
  run "trailguard: built-in + SigmaHQ CloudTrail rules" "$tg" --rules "$SIGMA_RULES"
fi

if [ -n "${BASE:-}" ]; then
  base_tree=$work/base-tree
  rev=$(git rev-parse --verify "$BASE^{commit}")
  if [ ! -d "$base_tree" ]; then git worktree add --detach "$base_tree" "$rev" >/dev/null; fi
  git -C "$base_tree" checkout --quiet --detach "$rev"
  (cd "$base_tree" && CARGO_TARGET_DIR="$PWD/../base-target" cargo build --release --quiet -p trailguard)
  run "BASE $BASE: built-in detections" "$work/base-target/release/trailguard"
  run "this tree: built-in detections" "$tg"
fi

if [ -n "${SIGMA_RULES:-}" ]; then
  rsigma=${RSIGMA:-$(command -v rsigma || true)}
  if [ -n "$rsigma" ] && [ -x "$rsigma" ]; then
    nd=$work/corpus-$RECORDS.ndjson
    if [ ! -f "$nd" ]; then
      python3 -c 'import gzip,json,pathlib,sys
out = open(sys.argv[2], "w")
for f in sorted(pathlib.Path(sys.argv[1]).rglob("*.json.gz")):
    for r in json.loads(gzip.decompress(f.read_bytes()))["Records"]:
        out.write(json.dumps(r, separators=(",", ":")) + "\n")' "$corpus/" "$nd.part"
      mv "$nd.part" "$nd"
    fi
    /usr/bin/time -f '%e %M' -o "$work/time" "$rsigma" engine eval -r "$SIGMA_RULES" -q --no-stats < "$nd" > "$work/out" || true
    read -r secs kb < <(tail -1 "$work/time")
    python3 -c "import json; s=float('$secs'); print(json.dumps({'run': 'rsigma 0.23 engine eval (NDJSON already inflated, one core)', 'records': $RECORDS, 'seconds': s, 'records_per_s': round($RECORDS/s), 'peak_rss_mb': round($kb/1024), 'matches': $(wc -l < "$work/out")}))"
  else
    echo '{"run": "rsigma", "skipped": "no rsigma binary (RSIGMA=...)"}'
  fi
  if [ -n "${DUCKDB_PYTHON:-}" ]; then
    /usr/bin/time -f '%e %M' -o "$work/time" "$DUCKDB_PYTHON" benches/scan/duckdb_sigma.py "$corpus" "$SIGMA_RULES" "$THREADS" 2>/dev/null
    read -r secs kb < <(tail -1 "$work/time")
    python3 -c "import json; s=float('$secs'); print(json.dumps({'run': 'duckdb+pysigma (whole process)', 'records': $RECORDS, 'seconds': s, 'records_per_s': round($RECORDS/s), 'peak_rss_mb': round($kb/1024)}))"
  else
    echo '{"run": "duckdb", "skipped": "DUCKDB_PYTHON not set"}'
  fi
fi
