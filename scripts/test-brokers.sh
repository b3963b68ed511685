#!/usr/bin/env bash
# `make test-brokers`: the three-broker stack's acceptance (tests/integration/stack/
# test_three_brokers.py). The test starts a stack of its own, `scv stack up --brokers 3` in
# $SCV_3B_STATE_DIR (default .scv-3b) on ports beside the plain stack's, kills one broker
# (election outage, nothing lost, `scv sim verify` clean), then a second (writes refused), and
# stops that stack at its end. The plain stack, if one runs, is not touched. The jar cache
# comes from the plain stack's state dir when it has one (no second download).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/bootstrap.sh
export SCV_3B_STATE_DIR="${SCV_3B_STATE_DIR:-$PWD/.scv-3b}"
if [ -z "${SCV_3B_JAR_CACHE:-}" ] && [ -d .scv/cache ]; then
  export SCV_3B_JAR_CACHE="$PWD/.scv/cache"
fi
mkdir -p artifacts
say "pytest: three brokers in $SCV_3B_STATE_DIR"
.venv/bin/python -m pytest tests/integration/stack/test_three_brokers.py -s \
  -p no:cacheprovider --junitxml=artifacts/junit-brokers.xml "$@"
