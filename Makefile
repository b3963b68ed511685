# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
.PHONY: demo test test-secure lint up down

demo:
	@scripts/demo.sh $(ARGS)

test:
	@scripts/test.sh

# The secure stack (SASL_SSL, REST basic auth): refused clients, exactly once, `scv demo`.
test-secure:
	@scripts/test-secure.sh

lint:
	@scripts/bootstrap.sh
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

up:
	@scripts/bootstrap.sh
	.venv/bin/scv stack up

down:
	.venv/bin/scv stack down
