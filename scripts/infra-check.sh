#!/usr/bin/env bash
# Checks the CDK app (infra/cdk) without AWS credentials or a Rust build: type check, unit tests,
# synth with bundling skipped, cfn-lint, ASL validation, and a second synth that must be identical.
# Installs what it needs: npm packages from package-lock.json, cfn-lint from PyPI. Needs Node 20+,
# npm and Python 3. Runs from any directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CDK="$ROOT/infra/cdk"
cd "$CDK"

# Offline-friendly CLI: no notices fetch, no telemetry.
export CDK_DISABLE_CLI_TELEMETRY=true
OUT_FIRST=cdk.out
OUT_SECOND=cdk.out.second
SYNTH_CONTEXT=(-c jwtIssuer=https://login.example.com/ -c jwtAudience=provisio-api)

started=$SECONDS
section_name=""
section() {
  if [ -n "$section_name" ]; then echo "   ($section_name: $((SECONDS - section_started)) s)"; fi
  section_name="$1"
  section_started=$SECONDS
  echo "== $1"
}

synth() {
  PROVISIO_SKIP_BUNDLING=1 ./node_modules/.bin/cdk synth --quiet --no-notices --output "$1" "${SYNTH_CONTEXT[@]}"
}

cfn_lint() {
  if command -v cfn-lint >/dev/null 2>&1; then
    cfn-lint "$@"
    return
  fi
  # Not installed: a private virtualenv (Debian's Python refuses a global `pip install`, PEP 668),
  # or the user site where venv is unavailable.
  local venv="$CDK/.venv"
  if [ ! -x "$venv/bin/cfn-lint" ] && ! python3 -c 'import cfnlint' 2>/dev/null; then
    echo "cfn-lint not found: installing it"
    if python3 -m venv "$venv" 2>/dev/null; then
      "$venv/bin/pip" install --quiet --disable-pip-version-check cfn-lint
    else
      rm -rf "$venv"
      python3 -m pip install --quiet --user --disable-pip-version-check cfn-lint
    fi
  fi
  if [ -x "$venv/bin/cfn-lint" ]; then
    "$venv/bin/cfn-lint" "$@"
  else
    python3 -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())' "$@"
  fi
}

section "npm ci"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  echo "node_modules up to date"
fi

section "type check"
./node_modules/.bin/tsc -p .

section "unit tests"
node --import tsx --test --test-reporter=spec test/*.test.ts

section "synth (bundling skipped) into $OUT_FIRST"
rm -rf "$OUT_FIRST" "$OUT_SECOND"
synth "$OUT_FIRST"

section "cfn-lint"
cfn_lint -i W3005 -- "$OUT_FIRST"/*.template.json

section "asl-validator"
for definition in "$ROOT"/statemachines/*.asl.json; do
  ./node_modules/.bin/asl-validator --json-path "$definition"
done

section "second synth into $OUT_SECOND, compared byte for byte"
synth "$OUT_SECOND"
# performance-counters.json holds the synth's timings (written by aws-cdk-lib for the CLI): never identical.
diff -r --exclude=performance-counters.json "$OUT_FIRST" "$OUT_SECOND"
echo "identical"

section "done"
echo "infra-check passed in $((SECONDS - started)) s"
