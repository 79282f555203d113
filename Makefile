# huitouke — `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint test-sqlite test-postgres test-postgres-citus-keys test-browser bench install messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

run: install
	@bash scripts/run.sh $(PORT)

test: install
	@bash scripts/ensure-system-deps.sh
	$(MAKE) lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgres
	$(MAKE) test-postgres-citus-keys

lint: install
	$(BIN)/ruff check huitouke bench conftest.py
	$(BIN)/python -m huitouke makemigrations --check --dry-run > /dev/null

# The whole suite on SQLite, browser tests included (Playwright on Debian's chromium).
test-sqlite: install
	HUITOUKE_VAR_DIR=$(CURDIR)/var $(BIN)/pytest -p no:cacheprovider

# The suite again on a throwaway PostgreSQL cluster started and stopped here (browser tests ran above).
test-postgres: install
	bash scripts/with-postgres.sh $(BIN)/pytest -p no:cacheprovider -m "not browser"

# Once more on the Citus-ready keys ((shop_id, id) primary and foreign keys, `huitouke citus convert`).
test-postgres-citus-keys: install
	HUITOUKE_CITUS_KEYS=1 bash scripts/with-postgres.sh $(BIN)/pytest -p no:cacheprovider -m "not browser"

test-browser: install
	$(BIN)/pytest -p no:cacheprovider -m browser

bench: install
	$(BIN)/python -m huitouke bench http

messages: install
	$(BIN)/python -m huitouke makemessages -l zh_Hans --ignore=.venv --ignore=var
	$(BIN)/python -m huitouke compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var/static .pytest_cache
