#!/usr/bin/env bash
# The demo (`make demo`): install what is missing, then `scv demo`: start the real stack, seed
# the legacy ERP and WMS, apply the connectors, run the pipeline and the views under live
# simulator traffic with a live view, verify the ledger against the stream, write the quality
# report. Extra arguments go to `scv demo` (e.g. `make demo ARGS="--duration 60 --down"`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/scv demo "$@"
