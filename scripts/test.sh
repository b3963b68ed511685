#!/usr/bin/env bash
# The test command (`make test`, and CI through .ci/run): install what is missing, lint and
# type-check, start the real local stack, run unit and integration tests, stop the stack.
#
# A stack that was already running before this script is left running; one this script
# started is stopped at the end, also when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/bootstrap.sh
SCV=.venv/bin/scv

say "lint: ruff check, ruff format --check, mypy --strict"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

if $SCV stack status >/dev/null 2>&1; then
  say "the local stack is already running; tests use it and leave it running"
else
  trap 'say "stopping the local stack"; $SCV stack down || true' EXIT
  say "starting the local stack"
  $SCV stack up
fi

mkdir -p artifacts
say "pytest: unit and integration"
set +e
# tests/integration/secure needs a secure stack: `make test-secure` runs it.
.venv/bin/python -m pytest tests/unit tests/integration -p no:cacheprovider \
  --ignore=tests/integration/secure --ignore=tests/integration/stack/test_three_brokers.py \
  --junitxml=artifacts/junit.xml "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  say "pytest collected no tests: that is a failure here"
  exit 1
fi
exit "$rc"
