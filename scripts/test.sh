#!/usr/bin/env bash
# Every test: lint (scripts/lint.sh: generated files current, ruff, sqlfluff),
# then pytest (which builds the warehouse with dbt on demo data of both
# spellings, against local files and an S3 emulator). Run through `make test`,
# which installs the dev environment (requirements-dev.lock) first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
scripts/lint.sh
echo "== pytest"
python -m pytest --durations=30 "$@"
