#!/usr/bin/env bash
# Every test: lint (scripts/lint.sh: generated files current, ruff, sqlfluff),
# then pytest (which builds the warehouse with dbt on demo data of both
# spellings, against local files and an S3 emulator, and on Spark). Run through
# `make test`, which installs the dev environment (requirements-dev.lock) first.
# pytest runs two workers (pytest-xdist; BUTTER_TEST_WORKERS, default 2: one per
# core), each a whole module at a time, the slowest modules first
# (tests/python/conftest.py: SLOW_MODULES_FIRST); demo data and the shared builds
# are made once per run (conftest.shared_once). BUTTER_TEST_WORKERS=0 runs in one
# process.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
scripts/lint.sh
echo "== pytest"
python -m pytest -n "${BUTTER_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder --durations=30 "$@"
