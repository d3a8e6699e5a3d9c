# harmonise: two commands on a fresh machine.
#   make demo   creates .venv if needed, ingests the synthetic demo exports, writes the warehouse
#   make test   runs the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench exports docs views clean

demo: $(STAMP)
	$(BIN)/harmonise run --demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)  ## ingest vs raw DuckDB, no-op run, scale-out; e.g. make bench BENCH_ARGS=--million SCALEOUT_ARGS="--centers 16"
	$(BIN)/python -m tests.bench_ingest $(BENCH_ARGS)
	$(BIN)/python -m tests.bench_scaleout $(SCALEOUT_ARGS)  # centers/min, DuckLake, 1 vs 2 workers
	$(BIN)/python -m tests.bench_report $(REPORT_BENCH_ARGS)  # demo + scaled; REPORT_BENCH_ARGS="--patients 1000000"

exports: $(STAMP)  ## regenerate demo/study/inbox (the example project's exports) from the seeded generator
	$(BIN)/python -m harmonise.demo.exports

docs: views  ## regenerate docs/data-dictionary.md from the schemas and the views
	$(BIN)/python -m harmonise.warehouse.dictionary > docs/data-dictionary.md

views: $(STAMP)  ## regenerate warehouse/sql/3*.sql (the analysis views) from demo/study/plan.yaml
	$(BIN)/python -m harmonise.analysis.plan_sql warehouse/sql

clean:
	rm -rf var .pytest_cache

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)
