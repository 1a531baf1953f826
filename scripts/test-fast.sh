#!/usr/bin/env bash
# The edit-test loop (`make test-fast`, under 5 minutes on the 2-core machine):
#   generated dbt files are current (butter codegen --check), ruff and mypy (seconds once
#   .mypy_cache is warm; no sqlfluff: it compiles every model and takes minutes; `make lint` runs it),
#   then pytest on the tests marked `fast` or not `slow`: the Python unit tests plus
#   one dbt build of the default demo data on DuckDB. No Spark, no browser.
# `make test` (scripts/test.sh) runs everything, as CI does.
# Two pytest workers (BUTTER_TEST_WORKERS; scripts/test.sh runs three).
# Extra arguments go to pytest (e.g. `scripts/test-fast.sh -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
export PATH="$BIN:$PATH"
echo "== generated dbt files are current"
butter codegen --check
echo "== ruff"
ruff check .
echo "== mypy"
mypy
echo "== pytest (fast)"
python -m pytest tests/python -n "${BUTTER_TEST_WORKERS:-2}" --dist loadscope --no-loadscope-reorder \
    -m "fast or not (slow or spark)" "$@"
