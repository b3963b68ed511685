#!/usr/bin/env bash
# The demo (`make demo`): install what is missing, start the real stack, and show a committed
# row in each legacy database arriving on Kafka as a Debezium change event.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/scv stack up
.venv/bin/scv stack check
.venv/bin/scv stack status
printf '\nThe stack keeps running; stop it with: .venv/bin/scv stack down\n' >&2
