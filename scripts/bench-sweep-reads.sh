#!/usr/bin/env bash
# Scale benchmark: DynamoDB reads of the daily compliance sweep over 1,000 and 100,000 holdings with the same due
# set, on moto (installed by the test harness if missing). Prints calls and items read per size; fails if the
# larger table costs more reads. Seeding 100,000 holdings into moto takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PROVISIO_SWEEP_BENCH_HOLDINGS="${PROVISIO_SWEEP_BENCH_HOLDINGS:-1000,100000}" \
  cargo test --locked -p provisio-aws --test sweep_reads -- --nocapture
