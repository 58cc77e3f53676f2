# NeuroNova: the commands a newcomer types. Each target prints what it does; see README.md.
SHELL := /bin/bash
PY := .venv/bin/python
# Python sources checked by ruff and mypy (web folders have their own tooling).
PY_SOURCES := stack contracts orthanc-plugins inference lab django-portal tests bench

.PHONY: up down status logs demo test lint unit bench train bootstrap clean help compose-test

help:
	@echo "make up | down | status | logs | demo | test | bench | lint | clean"

bootstrap:
	@scripts/bootstrap.sh runtime

## Install what is missing, start every service under supervisord, return once /api/health is 200.
up: bootstrap
	@$(PY) -m stack up

## Stop everything `make up` started (no process or port left behind).
down:
	@if [ -x $(PY) ]; then $(PY) -m stack down; else echo "[stack] nothing running"; fi

status:
	@$(PY) -m stack status

logs:
	@$(PY) -m stack logs -f

## Push the synthetic demo brain MR study into the running stack by C-STORE, then wait for its
## AI result and print the volumes (`make demo DEMO_ARGS=--no-wait` only sends it;
## `DEMO_ARGS=--visits` sends the demo patient's three follow-up visits with known tumour volumes).
DEMO_ARGS ?=
demo:
	@$(PY) -m stack demo $(DEMO_ARGS)

lint:
	$(PY) -m ruff format --check $(PY_SOURCES)
	$(PY) -m ruff check $(PY_SOURCES)
	$(PY) -m mypy $(PY_SOURCES)

## The full suite: lint, unit, integration (real Orthanc, nginx, Redis, MariaDB/SQLite) and e2e.
test:
	@scripts/bootstrap.sh test
	@$(MAKE) --no-print-directory lint
	@scripts/run-tests.sh

unit:
	$(PY) -m pytest -m unit -q

## The production compose file for real: images built here (layers reused), secrets generated, `up`
## until every healthcheck is healthy, a smoke through the published ports, then `down -v`.
## Part of `make test` too (tests/integration/compose); prints time to healthy and demo to SEG.
compose-test:
	@scripts/bootstrap.sh test
	$(PY) -m pytest tests/integration/compose -v -p no:cacheprovider

## Benchmarks: baseline and ours side by side in one run, ratios printed.
bench:
	@scripts/bootstrap.sh test
	@for b in bench/*.py; do echo "=== $$b"; $(PY) $$b || exit 1; done

clean: down
	rm -rf var
