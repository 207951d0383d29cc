# The README's two commands are `make run` and `make test`; each sets itself up on a fresh
# Debian 12 machine with Python 3.11: uv, the locked environment, the embedded TimescaleDB,
# migrations.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.local/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
CHITIEU := $(UV) run --frozen chitieu
# Grafana's published dashboard schema and tsc, pinned in its package-lock.json (tests type-check
# the built dashboards against it).
SCHEMA_CHECK := infra/grafana/schema-check

.PHONY: help setup run test up down lint bench

help:
	@echo "make run    set up and run the whole pipeline on samples/ through real Airflow"
	@echo "make test   set up and run the whole test suite"
	@echo "make up     start the local services and keep them running; make down stops them"
	@echo "make lint   ruff + mypy;  make bench   the benchmarks"

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --user --break-system-packages uv

$(SCHEMA_CHECK)/node_modules/.package-lock.json: $(SCHEMA_CHECK)/package-lock.json
	infra/local/install-node.sh
	npm ci --prefix $(SCHEMA_CHECK) --no-audit --no-fund

setup: $(UV) $(SCHEMA_CHECK)/node_modules/.package-lock.json
	$(UV) sync --frozen --all-extras
	$(CHITIEU) db up
	$(CHITIEU) db migrate

run: setup
	$(CHITIEU) pipeline run

# The suite on both cores (pytest-xdist; each worker its own databases and free ports), then the
# tests marked `serial` in one process: the CeleryExecutor test (two real Airflow deployments and a
# heartbeat timed, so it gets the machine to itself) and tests sharing an id, which xdist cannot tell
# apart. Whole files go to a worker (`loadfile`), so a module's expensive fixture (Airflow's metadata
# database, a loaded sample database) is built once. Both parts run even if the first fails; either
# failing fails the target.
TEST_WORKERS ?= 2

test: setup
	status=0; \
	$(UV) run --frozen pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial" || status=$$?; \
	$(UV) run --frozen pytest -m serial || status=$$?; \
	exit $$status

up: setup
	$(CHITIEU) pipeline up

down:
	-$(CHITIEU) pipeline down
	$(CHITIEU) db down

lint: $(UV)
	$(UV) sync --frozen --all-extras
	$(UV) run --frozen ruff check services tests dags benchmarks dashboards
	$(UV) run --frozen ruff format --check services tests dags benchmarks dashboards
	$(UV) run --frozen mypy
	$(UV) run --frozen deptry services

bench: setup
	$(UV) run --frozen python -m benchmarks
