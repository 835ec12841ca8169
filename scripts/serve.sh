#!/usr/bin/env bash
# Runs trailguard on the embedded store, after installing what Polly's speech
# needs when it can (a machine without them still serves everything else).
# Arguments go to `trailguard serve` (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
SPEECH_DEPS_REQUIRED=0 ./scripts/speech-deps.sh || true
exec cargo run --release -- serve "$@"
