#!/usr/bin/env bash
# API fuzzing: schemathesis (pinned, in a virtualenv under .tools/) generates requests from shared/openapi.json
# and runs them against the local stack (demo organisation, memory store), once per role with a valid token:
# employee, manager (approver), admin, auditor. It fails on any 5xx, any response that does not match the
# document (status code, content type, headers, body schema), and prints how many cases ran.
#
# Every operation of shared/openapi.json is fuzzed. Not in that document, so not fuzzed here: POST /hr/events
# (HMAC-signed; its parser has a fuzz target) and SCIM /scim/v2 (its own token; scim2-tester covers it), and the
# local-only /_local control endpoints.
#
# Uses $PROVISIO_LOCAL_BIN, else the debug binary in the cargo target dir (built if missing).
# SCHEMATHESIS_MAX_EXAMPLES (default 40) bounds the cases per operation and phase, and so the run time.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

VERSION=4.32.5
VENV=.tools/schemathesis-$VERSION
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-40}"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$VERSION"
fi

BIN="${PROVISIO_LOCAL_BIN:-$CARGO_TARGET_DIR/debug/provisio-local}"
[[ -x "$BIN" ]] || cargo build --locked -p provisio-local

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PROVISIO_DEV_JWT_SECRET="schemathesis-$RANDOM$RANDOM"
WORK=$(mktemp -d)
"$BIN" --port "$PORT" 2>"$WORK/server.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/openapi.json" >/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log"; echo "provisio-local exited"; exit 1; }
  sleep 0.2
done

# role:employee-id:groups, as the demo organisation has them (infra/local/seed/demo).
ROLES=(
  "employee:E013:"
  "manager:E009:"
  "admin:E016:it-fulfilment,provisio-admins"
  "auditor:E021:finance-approvers,provisio-auditors"
)
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance

TOTAL=0
FAILED=()
for role in "${ROLES[@]}"; do
  IFS=: read -r name employee groups <<<"$role"
  token=$("$BIN" token "$employee" --groups "$groups")
  echo "== schemathesis as $name ($employee${groups:+, $groups})"
  status=0
  # One worker: with two threads, hypothesis' lambda-source cache races and schemathesis stops with its own
  # "Runtime Error" (KeyError / SystemError inside hypothesis), which is no finding about the API.
  "$VENV/bin/schemathesis" run shared/openapi.json \
    --url "http://127.0.0.1:$PORT" \
    -H "Authorization: Bearer $token" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --seed 11 \
    --workers 1 \
    --request-timeout 10 \
    --no-color \
    --report ndjson --report-ndjson-path "$WORK/$name.ndjson" \
    >"$WORK/$name.out" 2>&1 || status=$?
  cases=$(python3 - "$WORK/$name.ndjson" <<'EOF'
import json, sys
# One ScenarioFinished event per generated scenario; each carries the cases (requests) it ran.
count = 0
for line in open(sys.argv[1]):
    event = json.loads(line)
    for kind, body in event.items():
        if kind == "ScenarioFinished":
            count += len(body.get("recorder", {}).get("cases", {}))
print(count)
EOF
)
  TOTAL=$((TOTAL + cases))
  if [[ $status -ne 0 ]]; then
    cat "$WORK/$name.out"
    FAILED+=("$name")
  else
    grep -A1 "^Test cases:" "$WORK/$name.out" | tail -1 || true
  fi
  echo "$name: $cases cases, exit $status"
done

echo "schemathesis: $TOTAL cases over ${#ROLES[@]} roles"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo "schemathesis found failures as: ${FAILED[*]}"
  exit 1
fi
