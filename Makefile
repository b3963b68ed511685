# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
.PHONY: demo test lint up down

demo:
	@scripts/demo.sh $(ARGS)

test:
	@scripts/test.sh

lint:
	@scripts/bootstrap.sh
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

up:
	@scripts/bootstrap.sh
	.venv/bin/scv stack up

down:
	.venv/bin/scv stack down
