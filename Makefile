# ecrm — `make help` lists the targets. Everything runs in a local .venv that
# the Makefile creates from requirements.lock (pinned), so a fresh machine needs
# only Python >= 3.11, git and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
UV_VERSION := 0.13.9
STAMP  := $(VENV)/.installed
DEMO_CUSTOMERS ?= 30000

.DEFAULT_GOAL := help
.PHONY: help env demo test lint lab bench lock clean clean-data browser

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(PY) requirements.lock
	$(BIN)/uv pip install --quiet --python $(PY) --no-deps -e .
	@# bytecode ahead of time: every report notebook starts a fresh kernel, and where
	@# PYTHONDONTWRITEBYTECODE is set each one would recompile pandas, Ibis... (~3x slower)
	$(PY) -m compileall -q ecrm >/dev/null
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

env: $(STAMP) ## create .venv with the pinned dependencies

demo: $(STAMP) ## generate and ingest the demo shops, render their latest monthly reports
	$(BIN)/ecrm demo --customers $(DEMO_CUSTOMERS) --month 2026-10

# pytest-xdist workers: 2 (the CI machine's cores), fewer on a smaller machine.
# --dist loadfile keeps each test file on one worker, so that a module-scoped
# fixture (a rendered report, a fitted model) is still built once.
TEST_WORKERS ?= $(shell $(PY) -c "import os; print(max(1, min(2, len(os.sched_getaffinity(0)))))" 2>/dev/null || echo 2)

test: $(STAMP) ## run ruff and the whole test suite (pytest -n 2; any failure or no tests fails)
	$(BIN)/ruff check ecrm tests benchmarks
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check ecrm tests benchmarks
	$(BIN)/ruff format --check ecrm tests benchmarks

browser: ## install headless Chromium and a Japanese font (Debian, needs root) for report tests
	@command -v chromium >/dev/null && fc-list | grep -qi ipaex || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-ipaexfont-gothic >/dev/null; }

lab: $(STAMP) ## open JupyterLab on notebooks/ for ad hoc work
	$(BIN)/jupyter lab --notebook-dir=notebooks

BENCH_CUSTOMERS ?= 1000000
BENCH_SIZES ?= 0.1M,1M,10M,30M
BENCH_RECORD := $(PY) benchmarks/run_and_record.py
bench: $(STAMP) ## run every benchmark (~45 min on a quiet 2-core machine) and record it in benchmarks/RESULTS.md
	@echo "make bench: about 45 min on a quiet 2-core machine (20 of them bench_reports.py),"
	@echo "plus about 10 min the first time: demo shops of 10k..3M customers are generated"
	@echo "once into benchmarks/out (the 1M-customer ingest peaks at ~9 GB of RAM)."
	$(PY) benchmarks/bench_segments.py --customers $(BENCH_CUSTOMERS) --record
	$(BENCH_RECORD) "cohort and LTV tables (bench_retention.py)" -- $(PY) \
		benchmarks/bench_retention.py --customers $(BENCH_CUSTOMERS) --shop demo-apparel \
		--data-dir benchmarks/out
	$(BENCH_RECORD) "clusters and CTB (bench_cluster_ctb.py)" -- $(PY) \
		benchmarks/bench_cluster_ctb.py --customers $(BENCH_CUSTOMERS) --workdir benchmarks/out
	$(PY) benchmarks/bench_floor.py --sizes $(BENCH_SIZES) --check-canonical --record
	$(PY) benchmarks/bench_suite.py --sizes $(BENCH_SIZES) --record
	$(PY) benchmarks/bench_peers.py --sizes 1M,10M --record
	$(PY) benchmarks/bench_reports.py --big-customers $(BENCH_CUSTOMERS) --record
	$(BENCH_RECORD) "where the time of the missed scale targets goes (profile_misses.py)" -- \
		$(PY) benchmarks/profile_misses.py --size 10M

lock: ## re-pin requirements.lock from pyproject.toml (after `make env`)
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev --extra lab \
		--output-file requirements.lock pyproject.toml

clean: ## remove the environment and caches (keeps data and reports)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

clean-data: ## remove generated demo shops and rendered reports
	rm -rf data/demo-*/ reports/*/
