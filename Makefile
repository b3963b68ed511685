# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
.PHONY: demo test test-secure test-brokers lint up down

demo:
	@scripts/demo.sh $(ARGS)

test:
	@scripts/test.sh

# The secure stack (SASL_SSL, REST basic auth): refused clients, exactly once, `scv demo`.
test-secure:
	@scripts/test-secure.sh

# Three brokers (`scv stack up --brokers 3`) on a stack of its own (state dir .scv-3b, ports
# 49092-49097, 48083, 45432, 43306), started and stopped by the test: about 10 minutes.
test-brokers:
	@scripts/test-brokers.sh

lint:
	@scripts/bootstrap.sh
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

up:
	@scripts/bootstrap.sh
	.venv/bin/scv stack up

down:
	.venv/bin/scv stack down
