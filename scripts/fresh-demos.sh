#!/usr/bin/env bash
# Issue 15.1's check: `scv demo` started the moment `scv stack up` returns on a purged stack,
# N times in a row (default 10); any traceback or non-zero exit fails the loop.
#
# It purges the state directory each round (the jar cache survives: set SCV_JAR_CACHE to keep
# it outside), so run it with its own SCV_STATE_DIR and no other stack running on the ports
# (or with its own ports: SCV_KAFKA_PORT etc., and DEMO_CONSOLE_PORT for the web console).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-10}
duration=${DEMO_DURATION:-20}
out=${FRESH_DEMOS_OUT:-artifacts/fresh-demos}
mkdir -p "$out"
SCV=.venv/bin/scv

for i in $(seq 1 "$rounds"); do
  $SCV stack down --purge >"$out/down-$i.log" 2>&1
  start=$(date +%s)
  $SCV stack up >"$out/up-$i.log" 2>&1
  set +e
  $SCV demo --duration "$duration" --console-port "${DEMO_CONSOLE_PORT:-18080}" --out "$out/demo-$i" >"$out/demo-$i.log" 2>&1
  rc=$?
  set -e
  seconds=$(($(date +%s) - start))
  if [ "$rc" != 0 ] || grep -q 'Traceback' "$out/up-$i.log" "$out/demo-$i.log"; then
    echo "round $i: FAILED (exit $rc, ${seconds}s): see $out/demo-$i.log" >&2
    $SCV stack down >/dev/null 2>&1 || true
    exit 1
  fi
  echo "round $i: passed (${seconds}s, no traceback)"
done
$SCV stack down --purge >/dev/null 2>&1
echo "$rounds rounds in a row passed"
