# The two commands of the README: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test setup lint bench clean

$(BIN)/rentwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/rentwatch

setup: $(BIN)/rentwatch

## Set up, migrate, load the demo portfolio, and serve on http://127.0.0.1:8000 (SQLite + embedded MQTT broker).
run: setup
	$(BIN)/rentwatch migrate
	$(BIN)/rentwatch demo-seed
	RW_DEV_LOGIN=1 RW_IOT_SIMULATE=$${RW_IOT_SIMULATE:-1} $(BIN)/rentwatch serve --no-migrate

## Set up and run every test: lint, type check, the suite on SQLite, again on PostgreSQL, and the mini program tests.
test: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/test.sh

lint: setup
	$(BIN)/ruff check .

bench: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/bench.sh

clean:
	rm -rf $(VENV) var .pytest_cache
