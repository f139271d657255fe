#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo-fuzz, libFuzzer) for FUZZ_SECONDS each (default 60), one after the
# other, single process. Each run starts from a temporary copy of the committed seed corpus (fuzz/corpus/), so
# what the fuzzer adds never dirties the tree. Fails when any target crashes, leaks past the RSS limit or hangs,
# naming the input libFuzzer saved under fuzz/artifacts/<target>/.
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz if missing.
# FUZZ_TARGETS="cel jwt" limits the run to some targets.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== fuzzing (cargo-fuzz, ${FUZZ_SECONDS:-60} s per target)"
root=$PWD
seconds="${FUZZ_SECONDS:-60}"
# Separate from the workspace's target dir: sanitizer flags would otherwise rebuild everything each time.
target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: a nightly toolchain is needed (libFuzzer instrumentation); install it with" >&2
    echo "      rustup toolchain install nightly --profile minimal" >&2
    exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

cd fuzz
# -a: debug assertions and overflow checks, so an arithmetic overflow is a crash, not a silent wrap.
fuzz=(cargo +nightly fuzz)
build=(-a --target-dir "$target_dir")
targets=(${FUZZ_TARGETS:-$("${fuzz[@]}" list)})

started=$(date +%s)
"${fuzz[@]}" build "${build[@]}"
echo "fuzz: built ${#targets[@]} targets in $(($(date +%s) - started)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    cp -r "corpus/$target" "$work/$target"
    log="$work/$target.log"
    # -timeout: one input running longer than this is a hang, reported like a crash.
    if "${fuzz[@]}" run "${build[@]}" "$target" "$work/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        # libFuzzer's last stats line: "Done <runs> runs in <seconds> second(s)".
        runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$log" | tail -1)
        read -r count took <<<"${runs:-0 0}"
        echo "fuzz: $target: $count execs in $took s ($((count / (took > 0 ? took : 1))) execs/s)," \
            "corpus $(find "$work/$target" -type f | wc -l) inputs"
    else
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "fuzz: $target FAILED; input: ${artifact:-none saved}" >&2
        # The panic message (line after "panicked at") or sanitizer report, then the stack.
        grep -E -A1 '^thread .* panicked at' "$log" | head -4 >&2 || true
        grep -E '^(==[0-9]+== *ERROR|SUMMARY|    #[0-9]+ )' "$log" | head -40 >&2 || tail -40 "$log" >&2
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    echo "fuzz: reproduce with: (cd fuzz && cargo +nightly fuzz run -a <target> <artifact>)" >&2
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s each without a crash"
