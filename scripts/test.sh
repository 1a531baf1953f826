#!/usr/bin/env bash
# Every test: pytest (which builds the warehouse with dbt on demo data of both
# spellings, against local files and an S3 emulator, and on Spark) with every lint
# (scripts/lint.sh: generated files current, ruff, mypy, then sqlfluff through
# scripts/lint-sql.sh) running beside it on one process: pytest keeps the two
# cores busy but for its first minute, and the lint is single-threaded, so beside
# pytest it costs about half its time. The lint's output is printed when pytest
# ends, followed by pytest's closing line again (so the run still ends with it),
# and either failing fails the run. Run through `make test`, which installs the
# dev environment (requirements-dev.lock) first.
# pytest runs three workers (pytest-xdist; BUTTER_TEST_WORKERS, default 3: the
# suite waits on dbt, Spark and subprocesses about half the time, so three keep two
# cores busy; 0 runs in one process), each a whole module (or test class) at a time, the slowest
# modules first (tests/python/conftest.py: SLOW_MODULES_FIRST); demo data and the
# shared builds are made once per run (conftest.shared_once). Extra arguments go
# to pytest. docs/development.md has the time each part takes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
lint_log="$(mktemp)"
pytest_log="$(mktemp)"
scripts/lint.sh --processes 1 >"$lint_log" 2>&1 &
lint=$!
trap 'kill "$lint" 2>/dev/null || true; rm -f "$lint_log" "$pytest_log"' EXIT
echo "== pytest (the lint runs beside it: generated files, ruff, mypy, sqlfluff)"
set +e
python -m pytest -n "${BUTTER_TEST_WORKERS:-3}" --dist loadscope --no-loadscope-reorder --durations=30 "$@" \
    2>&1 | tee "$pytest_log"
pytest_status=${PIPESTATUS[0]}
wait "$lint"
lint_status=$?
set -e
cat "$lint_log"
if [ "$lint_status" -ne 0 ]; then
    echo "the lint failed (exit $lint_status): see its output above" >&2
fi
echo "== pytest, as it ended:"
tail -n 1 "$pytest_log"
if [ "$pytest_status" -ne 0 ]; then
    exit "$pytest_status"
fi
exit "$lint_status"
