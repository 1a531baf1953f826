"""Safe publish (butter_warehouse/publish.py) under readers and a kill -9.

One scenario, run once for the module, through the real command
(``python -m butter_warehouse.cli build``), while separate reader processes
query the marts in a loop with ``duckdb.connect(..., read_only=True)``:

1. the warehouse of the default demo is published (copied from the session
   build) -- build A;
2. a rebuild on other demo data (smaller, other seed: every mart count differs)
   is started in its own process group and killed with SIGKILL midway;
3. the same rebuild is run again to the end -- build B.

Readers must see A, then B, never an error and never anything else (each
observation is every mart's row count plus the build's dbt invocation id, read
in one connection). The kill must leave A intact and the next build must
succeed and clear the leftover.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import PROJECT_ROOT, DbtResult

pytestmark = [pytest.mark.slow]

MARTS = [
    "marts.run_best_epochs", "marts.experiment_summary", "marts.experiment_best_epochs",
    "marts.sweep_comparisons", "audit.source_reconciliation", "audit.load_audit",
]
B_SIZES = {"experiments": 20, "runs_per_experiment": 2, "epochs": 10}
READERS = 2
BUILD_TIMEOUT = 300  # seconds for one `butter build --skip-docs` of the small demo

READER = r"""
import json, sys, time, duckdb
db, out, stop, marts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
import os
with open(out, "w") as log:
    while not os.path.exists(stop):
        started = time.time()
        try:
            with duckdb.connect(db, read_only=True) as con:
                counts = [con.execute(f"select count(*) from {m}").fetchall()[0][0] for m in marts]
                build = con.execute("select min(invocation_id) from audit.load_audit").fetchall()[0][0]
            log.write(json.dumps({"t0": started, "t1": time.time(), "seen": [build, *counts]}) + "\n")
        except Exception as exc:
            log.write(json.dumps({"t0": started, "t1": time.time(), "error": f"{type(exc).__name__}: {exc}"}) + "\n")
        log.flush()
        time.sleep(0.2)
"""


def snapshot(db_path: Path) -> list:
    with duckdb.connect(str(db_path), read_only=True) as con:
        counts = [con.execute(f"select count(*) from {m}").fetchall()[0][0] for m in MARTS]
        build = con.execute("select min(invocation_id) from audit.load_audit").fetchall()[0][0]
    return [build, *counts]


def leftovers(warehouse: Path) -> list[Path]:
    return sorted(warehouse.parent.glob(".build-*"))


def start_build(warehouse: Path, data_root: Path, workdir: Path, name: str) -> tuple[subprocess.Popen, Path]:
    """``butter build --skip-docs`` in its own process group; output to a file."""
    env = dict(os.environ)
    env.update({
        "BUTTER_DUCKDB_PATH": str(warehouse),
        "BUTTER_DATA_ROOT": str(data_root),
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_TARGET_PATH": str(workdir / f"target-{name}"),
        "DBT_LOG_PATH": str(workdir / f"logs-{name}"),
        "DBT_LOG_LEVEL_FILE": "info",  # the test waits on a line of logs-<name>/dbt.log (conftest: none)
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    })
    output = workdir / f"{name}.out"
    with open(output, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "butter_warehouse.cli", "build", "--skip-docs"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return proc, output


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def scenario(
    built_warehouse: Callable[[str], DbtResult],
    demo_root: Callable[..., Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    work = tmp_path_factory.mktemp("h6-publish")
    warehouse = work / "warehouse" / "butter.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(built_warehouse("published").db_path, warehouse)  # build A, published
    data_b = demo_root("published", seed=1, **B_SIZES)
    facts: dict = {"warehouse": warehouse, "A": snapshot(warehouse), "data_b": data_b}

    stop = work / "stop"
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(warehouse), str(work / f"reader{i}.jsonl"),
                          str(stop), ",".join(MARTS)])
        for i in range(READERS)
    ]
    try:
        logs = [work / f"reader{i}.jsonl" for i in range(READERS)]
        wait_until(lambda: all(p.exists() and p.stat().st_size > 0 for p in logs), 60, "the readers")

        # 2. a rebuild killed midway: once dbt has created views in the new file
        facts["killed_started"] = time.time()
        proc, output = start_build(warehouse, data_b, work, "killed")
        try:
            log = work / "logs-killed" / "dbt.log"
            wait_until(lambda: log.exists() and "OK created sql view model staging." in log.read_text(),
                       BUILD_TIMEOUT, "the killed build to create its first views")
            facts["killed_leftovers"] = [p for p in leftovers(warehouse) if (p / warehouse.name).exists()]
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        facts["killed_returncode"] = proc.returncode
        facts["after_kill"] = snapshot(warehouse)
        facts["wal_after_kill"] = warehouse.with_name(warehouse.name + ".wal").exists()

        # 3. the next build, to the end
        facts["build_started"] = time.time()
        proc, output = start_build(warehouse, data_b, work, "rebuild")
        facts["rebuild_returncode"] = proc.wait(timeout=BUILD_TIMEOUT)
        facts["build_ended"] = time.time()
        facts["rebuild_output"] = output.read_text()
        time.sleep(2)  # let every reader see the new warehouse
    finally:
        stop.touch()
        for reader in readers:
            try:
                reader.wait(timeout=30)
            except subprocess.TimeoutExpired:
                reader.kill()
    facts["B"] = snapshot(warehouse)
    facts["leftovers_after"] = leftovers(warehouse)
    facts["observations"] = [
        [json.loads(line) for line in (work / f"reader{i}.jsonl").read_text().splitlines()] for i in range(READERS)
    ]
    return facts


@pytest.mark.timeout(900)
def test_kill_9_midway_leaves_the_previous_warehouse(scenario: dict) -> None:
    assert scenario["killed_returncode"] == -signal.SIGKILL
    assert scenario["killed_leftovers"], "the killed build had not started writing its own file"
    assert scenario["after_kill"] == scenario["A"]  # opens, same build, same counts
    assert not scenario["wal_after_kill"]


@pytest.mark.timeout(900)
def test_next_build_after_kill_succeeds_and_clears_the_leftover(scenario: dict) -> None:
    output = scenario["rebuild_output"]
    assert scenario["rebuild_returncode"] == 0, output[-4000:]
    for folder in scenario["killed_leftovers"]:
        assert f"removed the leftover of an interrupted build: {folder}" in output, output[-4000:]
    assert f"published {scenario['warehouse']}" in output
    assert scenario["leftovers_after"] == []
    runs_b = sum(pq.ParquetFile(f).metadata.num_rows for f in (scenario["data_b"] / "all_runs").rglob("*.parquet"))
    b = dict(zip(["build", *MARTS], scenario["B"], strict=True))
    assert b["marts.run_best_epochs"] == runs_b
    assert b["build"] != scenario["A"][0]
    assert all(x != y for x, y in zip(scenario["A"][1:4], scenario["B"][1:4], strict=True)), "builds A and B must differ"


@pytest.mark.timeout(900)
def test_readers_see_the_old_then_the_new_warehouse_never_an_error_or_a_mix(scenario: dict) -> None:
    a, b = scenario["A"], scenario["B"]
    for observations in scenario["observations"]:
        errors = [o["error"] for o in observations if "error" in o]
        assert errors == []
        seen = [o["seen"] for o in observations]
        assert all(s in (a, b) for s in seen), [s for s in seen if s not in (a, b)][:3]
        # A ... A B ... B: once the new warehouse is seen, never the old one again
        first_b = seen.index(b)
        assert a not in seen[first_b:]
        assert seen[0] == a
        # the readers were reading while both builds ran
        during = [o for o in observations if scenario["killed_started"] <= o["t0"] <= scenario["build_ended"]]
        assert len(during) >= 10, len(during)
        assert any(o["t0"] >= scenario["build_started"] and o["seen"] == a for o in observations)
