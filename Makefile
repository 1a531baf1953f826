# Two commands for a fresh clone (see README):
#   make build   install the runtime environment (requirements.lock) into .venv, build the warehouse and its docs
#   make test    install the dev environment (requirements-dev.lock), then lint and run every test
#   make test-fast   the edit-test loop (scripts/test-fast.sh; docs/development.md)
# Also: make lint (codegen check, ruff, mypy, sqlfluff), make install (the dev environment), make benchmark,
#   make install-spark (dbt-spark + pyspark from requirements-spark.lock, for `butter build --target spark`),
#   make install-bi (SQLAlchemy 2.0.x, duckdb-engine, pandas from requirements-bi.lock, as docs/bi-access.md uses).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: build test test-fast lint install install-runtime install-spark install-bi benchmark clean

# Python 3.11+ (pyproject.toml requires-python): refuse an older interpreter before making the venv
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	    { echo "butter needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1). Run make with PYTHON=python3.11 (or newer)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# runtime: dbt, DuckDB, pyarrow, numpy (no test tools)
$(RUNTIME): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# development: runtime + pytest, sqlfluff, ruff, moto, playwright, SQLAlchemy
$(DEV): requirements-dev.lock $(RUNTIME)
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $@

# Spark engine (docs/engines.md): dbt-spark[session] + pyspark on top of the runtime,
# --no-deps so no pin of requirements.lock moves; pip check proves nothing is missing.
# Needs Java 17+ to run. `make test` installs it: the Spark equality test runs there.
SPARK := $(VENV)/.installed-spark
$(SPARK): requirements-spark.lock $(RUNTIME)
	$(BIN)/pip install --quiet --no-deps -r requirements-spark.lock
	$(BIN)/pip check
	touch $@

# BI and notebooks (docs/bi-access.md): SQLAlchemy 2.0.x, duckdb-engine, pandas on top of the
# runtime; --no-deps so no pin of requirements.lock moves; pip check proves nothing is missing.
BI := $(VENV)/.installed-bi
$(BI): requirements-bi.lock $(RUNTIME)
	$(BIN)/pip install --quiet --no-deps -r requirements-bi.lock
	$(BIN)/pip check
	touch $@

install-bi: $(BI)

install-runtime: $(RUNTIME)

install-spark: $(SPARK)

install: $(DEV)

build: $(RUNTIME)
	$(BIN)/butter build
	$(BIN)/butter figures

lint: $(DEV)
	scripts/lint.sh

test: $(DEV) $(SPARK)
	scripts/test.sh

test-fast: $(DEV)
	scripts/test-fast.sh

benchmark: $(RUNTIME)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf target logs warehouse data/demo
