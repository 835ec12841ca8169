#!/usr/bin/env bash
# Runs every test trailguard has, on a fresh machine: installs what it needs
# (a Python virtual environment with pinned boto3, AWS CLI and pytest), then
# formatting and lint checks, the Rust unit and integration tests, and the
# end-to-end suites against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Python environment (.venv, pinned in tests/e2e/requirements.txt)"
req=tests/e2e/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi

step "speech synthesis for Polly (Debian: espeak-ng, lame, vorbis-tools)"
./scripts/speech-deps.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test (unit and integration tests)"
cargo test --workspace --quiet

step "fuzz: every cargo-fuzz target briefly (FUZZ_SECONDS, default 15)"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} ./scripts/fuzz.sh

step "end-to-end: AWS CLI and boto3 against the real binary"
cargo build --quiet -p trailguard
TRAILGUARD_BIN="$PWD/target/debug/trailguard" .venv/bin/pytest tests/e2e -q -p no:cacheprovider

step "all tests passed"
