# Two commands for a fresh clone (see README):
#   make build   install everything pinned into .venv, build the warehouse and its docs
#   make test    install, then run every test (lint, pytest, dbt builds)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test lint install benchmark clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

build: $(STAMP)
	$(BIN)/butter build
	$(BIN)/butter figures

lint: $(STAMP)
	$(BIN)/butter codegen --check
	$(BIN)/sqlfluff lint models macros tests analyses

test: $(STAMP)
	scripts/test.sh

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf target logs warehouse data/demo
