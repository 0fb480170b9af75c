.PHONY: run test lint format

run:  ## set everything up and run Sluice (web + worker) on http://127.0.0.1:8000
	bin/run

test:  ## set everything up and run the whole test suite
	bin/test

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy .

format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
