#!/usr/bin/env bash
# sqlfluff (duckdb dialect, dbt templater) over models/ macros/ tests/ analyses/.
# The dbt templater compiles every model, so it gets its own scratch DuckDB file
# and sees the same data root as the build (absent folders compile as empty).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export DBT_PROFILES_DIR="$PWD"
export BUTTER_DUCKDB_PATH="$scratch/lint.duckdb"
exec sqlfluff lint models macros tests analyses --disable-progress-bar "$@"
