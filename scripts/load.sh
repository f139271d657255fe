#!/usr/bin/env bash
# Load scenario: 2,000 parallel submits from 200 people over 20 items (plus racing duplicates) on the local stack,
# on memory and on DynamoDB protocol (moto, installed by the harness if missing). Prints outcomes, fulfilled/s in
# the first and last tenth of the run, and fails on a request left open, two open requests of one person for one
# item, seats that do not reconcile, a broken audit chain, or throughput that falls below 80 %.
# Usage: scripts/load.sh [memory|dynamodb ...]   (default: both). Sizes: see tests/tests/load.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
stores=("$@")
[ ${#stores[@]} -gt 0 ] || stores=(memory dynamodb)
for store in "${stores[@]}"; do
  echo "== load scenario on $store"
  PROVISIO_E2E_STORE="$store" cargo test --locked -p provisio-tests --test load -- --ignored --nocapture
done
