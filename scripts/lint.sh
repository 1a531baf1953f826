#!/usr/bin/env bash
# The one lint entry point (`make lint`, `make test`, CI), fine on a fresh clone:
#   generated dbt files are current (butter codegen --check),
#   ruff over the Python (rules and pin in pyproject.toml / requirements-dev.lock),
#   mypy over butter_warehouse/ and tests/python (config [tool.mypy] in pyproject.toml),
#   sqlfluff (duckdb dialect, dbt templater) over models/ macros/ tests/ analyses/;
#   why macro files are skipped by the templater is in .sqlfluff.
# The dbt templater compiles every model, so it gets its own scratch DuckDB file
# (never warehouse/butter.duckdb, which a fresh clone does not have) and sees the
# same data root as the build (absent folders compile as empty).
# Extra arguments go to sqlfluff (e.g. `scripts/lint.sh --processes 1`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
for tool in butter ruff mypy sqlfluff; do
    if [ ! -x "$BIN/$tool" ]; then
        echo "lint: $BIN/$tool is missing: run \`make lint\` (installs the dev environment first)" >&2
        exit 2
    fi
done
echo "== generated dbt files are current"
"$BIN/butter" codegen --check
echo "== ruff"
"$BIN/ruff" check .
echo "== mypy"
"$BIN/mypy"
echo "== sqlfluff"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export DBT_PROFILES_DIR="$PWD"
export BUTTER_DUCKDB_PATH="$scratch/lint.duckdb"
export DBT_TARGET_PATH="$scratch/target"
export DBT_LOG_PATH="$scratch/logs"
"$BIN/sqlfluff" lint models macros tests analyses --disable-progress-bar "$@"
