#!/usr/bin/env bash
# The project's one test command: every check and test, on memory and on DynamoDB protocol (moto), the Lambda
# binaries under cargo lambda, the arm64 release build, and the CDK app. Installs what it needs (rustup
# components and target, moto, cargo-lambda, npm packages, cfn-lint); needs rustup, python3 with pip, node/npm.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Every function crate, as cargo -p arguments.
FUNCTIONS=()
for dir in functions/*/; do FUNCTIONS+=(-p "$(basename "$dir")"); done

echo "== tools"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add aarch64-unknown-linux-gnu >/dev/null
python3 -c "import moto.server, werkzeug" 2>/dev/null || python3 -m pip install --quiet 'moto[server]'
command -v cargo-lambda >/dev/null || python3 -m pip install --quiet cargo-lambda
# Built from source, outside the shared target dir (8 min on 2 cores, once).
command -v cargo-deny >/dev/null || env -u CARGO_TARGET_DIR cargo install --locked cargo-deny

echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== docs (rustdoc warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
echo "== dependencies (cargo deny, deny.toml: licenses, bans, sources; advisories when the RustSec database can be fetched)"
cargo deny check --hide-inclusion-graph licenses bans sources
# Advisories need the RustSec database, fetched from outside the package registries: only on request.
if [ "${PROVISIO_DENY_ADVISORIES:-0}" = 1 ]; then cargo deny check --hide-inclusion-graph advisories; else echo "advisories skipped (set PROVISIO_DENY_ADVISORIES=1 where the advisory database can be fetched)"; fi
echo "== tests (end-to-end on memory; store conformance on memory and on DynamoDB/moto)"
cargo test --workspace --locked
echo "== end-to-end scenarios on DynamoDB (moto)"
PROVISIO_E2E_STORE=dynamodb cargo test --locked -p provisio-tests
echo "== load scenario on memory (2,000 parallel submits; scripts/load.sh dynamodb runs it on moto)"
./scripts/load.sh memory
echo "== function binaries under cargo lambda watch, dynamodb backend on moto"
# `cargo test --workspace` above already built the function binaries (packages with integration tests get
# their binaries built), with the same features; a separate `cargo build -p ...` would rebuild the dependencies.
cargo test --locked -p provisio-tests --test lambda_smoke -- --ignored
echo "== API fuzzing: schemathesis against the local stack, one run per role"
./scripts/schemathesis.sh
echo "== release build for Lambda (arm64)"
cargo lambda build --release --arm64 --locked "${FUNCTIONS[@]}"
echo "== infrastructure (CDK tests, synth, cfn-lint, asl-validator)"
./scripts/infra-check.sh
./scripts/fuzz.sh
