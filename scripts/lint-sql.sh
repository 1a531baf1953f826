#!/usr/bin/env bash
# The SQL lint of scripts/lint.sh: sqlfluff (duckdb dialect, dbt templater) over
# models/ macros/ tests/ analyses/; why macro files are skipped is in .sqlfluff.
# The dbt templater compiles every model, so it gets its own scratch DuckDB file
# (never warehouse/butter.duckdb, which a fresh clone does not have) and sees the
# same data root as the build (absent folders compile as empty).
# Extra arguments go to sqlfluff (e.g. `scripts/lint-sql.sh --processes 1`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
echo "== sqlfluff"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export DBT_PROFILES_DIR="$PWD"
export BUTTER_DUCKDB_PATH="$scratch/lint.duckdb"
export DBT_TARGET_PATH="$scratch/target"
export DBT_LOG_PATH="$scratch/logs"
"$BIN/sqlfluff" lint models macros tests analyses --disable-progress-bar "$@"
