#!/usr/bin/env bash
# Runs every check and test of the workspace. Needs a rustup-managed Rust toolchain; adds rustfmt and clippy.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

rustup component add rustfmt clippy >/dev/null 2>&1 || true
echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --locked
