#!/usr/bin/env bash
# Runs every check and test of the workspace. Needs only a Rust toolchain (cargo, rustfmt, clippy).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== state machine definitions are valid JSON"
for f in statemachines/*.asl.json; do python3 -m json.tool "$f" > /dev/null; done
echo "== tests"
cargo test --workspace --locked
