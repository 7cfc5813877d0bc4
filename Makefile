# Ledgersheet: `make run` for a local demo, `make test` for the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# PostgreSQL + Redis used by `make test` (CI and developers' machines run both locally).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ledgersheet
TEST_REDIS_URL ?= redis://127.0.0.1:6379/5
PYTEST_ARGS ?=

.PHONY: setup run test test-postgres test-sqlite typecheck lint clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/.installed: node_modules/.installed scripts/vendor_static.sh
	bash scripts/vendor_static.sh
	touch $@

setup: $(VENV)/.installed static/vendor/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DEBUG=1 $(PY) manage.py collectstatic --noinput -v0

run: setup
	DEBUG=1 $(PY) manage.py setup_demo
	@echo
	@echo "  Ledgersheet is running at http://$(HOST):$(PORT)/sheets/demo/"
	@echo "  log in as alice / ledgersheet-demo (or bob, editor; carol, viewer)"
	@echo
	DEBUG=1 $(VENV)/bin/daphne -b $(HOST) -p $(PORT) proj.asgi:application

test: setup lint typecheck test-postgres test-sqlite

test-postgres:
	SECRET_KEY=tests-only DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

test-sqlite:
	SECRET_KEY=tests-only DATABASE_URL= REDIS_URL= \
		$(VENV)/bin/pytest -m "not live and not browser and not postgres" $(PYTEST_ARGS)

# ruff over everything we write; lint-imports keeps the layers of .importlinter
# (docs/architecture.md, decision 13).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: setup
	SECRET_KEY=typecheck DATABASE_URL= REDIS_URL= $(VENV)/bin/mypy ledger projections

clean:
	rm -rf $(VENV) node_modules static/vendor var
