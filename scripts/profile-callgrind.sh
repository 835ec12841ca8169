#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: stable on a noisy
# machine, so two binaries can be compared (see BENCHMARKS.md).
#
#   cargo build --release -p trailguard -p trailguard-loadgen
#   ./scripts/profile-callgrind.sh target/release/trailguard now [PORT]
#
# GetRole, then CreateRole+DeleteRole, one connection each; the counters are
# zeroed after a 3 s warm-up, so start-up is not counted. Leaves the callgrind
# files in /tmp/prof-LABEL/ (cg.PID.1 GetRole, cg.PID.2 CreateRole+DeleteRole)
# for `callgrind_annotate --inclusive=yes`.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$1 label=$2 port=${3:-47201}
lg=target/release/trailguard-loadgen
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export TRAILGUARD_ACCOUNT_ID=123456789012 TRAILGUARD_ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID TRAILGUARD_ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
out=/tmp/prof-$label; rm -rf $out; mkdir -p $out/data; chmod 700 $out/data
valgrind --tool=callgrind --callgrind-out-file=$out/cg.%p "$bin" serve --listen 127.0.0.1:$port --data-dir $out/data > $out/server.log 2>&1 &
vpid=$!
for _ in $(seq 1 600); do curl -s -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.2; done
for w in get-role create-delete-role; do
  $lg --endpoint http://127.0.0.1:$port --workload $w --connections 1 --seconds 3 --target warm > /dev/null
  callgrind_control -z $vpid > /dev/null
  $lg --endpoint http://127.0.0.1:$port --workload $w --connections 1 --seconds 20 --target $label > $out/$w.json
  callgrind_control -d $w $vpid > /dev/null
  sleep 1
done
kill $vpid; wait $vpid 2>/dev/null
i=0
for w in get-role create-delete-role; do
  i=$((i + 1))
  f=$(ls $out/cg.*.$i 2>/dev/null | head -1)
  n=$(python3 -c "import json;print(json.load(open('$out/$w.json'))['requests'])")
  total=$(callgrind_annotate "$f" 2>/dev/null | grep -m1 "PROGRAM TOTALS" | awk '{gsub(",","",$1); print $1}')
  echo "$label $w requests=$n Ir=$total Ir/request=$((total / n))"
done
