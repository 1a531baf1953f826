#!/usr/bin/env bash
# The one lint entry point (`make lint`, `make test`, CI), fine on a fresh clone:
#   generated dbt files are current (butter codegen --check),
#   ruff over the Python (rules and pin in pyproject.toml / requirements-dev.lock),
#   mypy over butter_warehouse/ and tests/python (config [tool.mypy] in pyproject.toml),
#   sqlfluff over models/ macros/ tests/ analyses/ (scripts/lint-sql.sh).
# Extra arguments go to sqlfluff (e.g. `scripts/lint.sh --processes 1`, as
# scripts/test.sh runs it beside pytest).
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
scripts/lint-sql.sh "$@"
