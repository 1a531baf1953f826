#!/usr/bin/env bash
# Every test: generated files current, SQL lint, then pytest (which builds the
# warehouse with dbt on demo data of both spellings, against local files and an
# S3 emulator). Run through `make test`, which installs first.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PATH="$PWD/$BIN:$PATH"
echo "== generated dbt files are current"
butter codegen --check
echo "== sqlfluff lint"
scripts/lint.sh
echo "== pytest"
python -m pytest "$@"
