#!/usr/bin/env bash
# `make test-secure`: the secure stack's acceptance. Against a stack started with
# `scv stack up --secure` (Kafka on SASL_SSL with SCRAM-SHA-512, Connect's REST API behind basic
# auth): the refused-client tests (tests/integration/secure), the exactly-once integration test,
# and `scv demo`, every client taking its credentials from `scv stack env`.
#
# Its own state directory (default .scv-secure; a plain stack's broker has no SCRAM users and
# cannot turn secure), on the same ports as the plain stack: stop that one first. A stack this
# script started is stopped at the end, also when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/bootstrap.sh
SCV=.venv/bin/scv
export SCV_STATE_DIR="${SCV_STATE_DIR:-$PWD/.scv-secure}"

if $SCV stack status >/dev/null 2>&1; then
  say "the secure stack in $SCV_STATE_DIR is already running; tests use it and leave it running"
else
  trap 'say "stopping the secure stack"; $SCV stack down || true' EXIT
  say "starting the secure stack in $SCV_STATE_DIR"
  $SCV stack up --secure
fi
eval "$($SCV stack env)"
if [ "${SCV_KAFKA_SECURITY_PROTOCOL:-}" != SASL_SSL ]; then
  say "$SCV_STATE_DIR is not a secure stack (started without --secure): use another SCV_STATE_DIR"
  exit 2
fi

mkdir -p artifacts
say "pytest: refused clients, exactly once on SASL_SSL"
.venv/bin/python -m pytest tests/integration/secure tests/integration/transforms/test_exactly_once.py \
  -p no:cacheprovider --junitxml=artifacts/junit-secure.xml "$@"

say "scv demo on the secure stack"
$SCV demo --duration "${SCV_SECURE_DEMO_S:-30}"
