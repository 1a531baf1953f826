"""Shared pytest fixtures: demo data roots, dbt runs and the Spark builds.

Demo data is generated once per session and parameter set; dbt runs get their own
DuckDB file, target and log folders so tests never share state. The expensive builds
are session fixtures that tests only read: ``built_warehouse(spelling)`` (the default
demo on DuckDB), ``everything`` (the faults root of test_read_everything and its DuckDB
build) and ``spark_build(spelling)`` (one Spark build per spelling, shared by every
Spark assertion).
"""

from __future__ import annotations

import fcntl
import inspect
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest

from butter_warehouse.contract import Spelling

PROJECT_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class DbtResult:
    """Outcome of one dbt command."""

    def __init__(self, proc: subprocess.CompletedProcess[str], db_path: Path, target_path: Path) -> None:
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.db_path = db_path
        self.target_path = target_path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __repr__(self) -> str:  # shows the dbt log tail when an assert fails
        return f"DbtResult(rc={self.returncode}, output tail=\n{self.output[-4000:]})"


def run_dbt(
    args: list[str],
    *,
    data_root: Path | str,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 600,
) -> DbtResult:
    """Run dbt in the project with its own DuckDB file/target/logs under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "butter.duckdb"
    target_path = workdir / "target"
    env = dict(os.environ)
    env.update(
        {
            "DBT_PROFILES_DIR": str(PROJECT_ROOT),
            "BUTTER_DATA_ROOT": str(data_root),
            "BUTTER_DUCKDB_PATH": str(db_path),
            "DBT_TARGET_PATH": str(target_path),
            "DBT_LOG_PATH": str(workdir / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
        }
    )
    env.update(extra_env or {})
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return DbtResult(proc, db_path, target_path)


#: test modules that take minutes, started first (in this order) so that pytest-xdist's
#: workers (``make test`` runs three, a module or test class at a time each) finish together; the
#: rest follow in file order. Only the order changes: every test runs either way.
SLOW_MODULES_FIRST = (  # by the time they took (docs/development.md has the table)
    "test_spark_equality.py",
    "test_quarantine.py",
    "test_faults.py",
    "test_s3.py",
    "test_reliability.py",
    "test_corruptions.py",
    "test_publish.py",
    "test_marts.py",
    "test_data_root.py",
    "test_copies.py",
    "test_read_everything.py",
    "test_layouts_scan.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_MODULES_FIRST.index(name) if name in SLOW_MODULES_FIRST else len(SLOW_MODULES_FIRST)

    items.sort(key=rank)  # stable: the tests of a module keep their order


def shared_once(tmp_path_factory: pytest.TempPathFactory, key: str, make: Callable[[Path], T]) -> T:
    """``make(folder)`` once per test run, whatever the number of pytest-xdist workers.

    The first worker to ask makes it in ``shared/<key>/`` of the run's temporary folder (the
    folder every worker's own one is in) under a file lock, and leaves the value pickled
    beside it; the others wait for the lock and load that. A failed make leaves no value:
    the next asker makes it again (and fails the same way), so each test that needs it fails.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    shared = base / "shared"
    shared.mkdir(exist_ok=True)
    folder, value_file = shared / key, shared / f"{key}.pickle"
    with open(shared / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if value_file.exists():
                return pickle.loads(value_file.read_bytes())
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            value = make(folder)
            value_file.write_bytes(pickle.dumps(value))
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``demo_root(spelling=None, layout=None, **sizes)`` -> a generated demo data root (once per
    test run; tests copy it before changing anything). The layout defaults to the spelling's
    (``current`` for the current spelling, else ``template``), the spelling to the layout's
    (``published`` for the template). ``demo_root("mix")``: the current release's default demo
    mixed with the template's layout (``make_mixed_root``)."""
    from butter_warehouse import demo
    from butter_warehouse.contract import LAYOUT_SPELLING, Layout

    cache: dict[tuple | str, Path] = {}

    def generate(folder: Path, spelling: Spelling, kwargs: dict[str, Any]) -> Path:
        demo.generate(folder, spelling=spelling, **kwargs)
        return folder

    defaults = {name: p.default for name, p in inspect.signature(demo.generate).parameters.items()}

    def make(spelling: Spelling | Literal["mix"] | None = None, layout: Layout | None = None,
             **kwargs: Any) -> Path:
        if spelling == "mix":
            assert layout is None and not kwargs, "the mixed root is made from the default current demo"
            if "mix" not in cache:
                current = make("current")
                cache["mix"] = shared_once(tmp_path_factory, "demo-mix", lambda folder: make_mixed_root(current, folder))
            return cache["mix"]
        layout = layout or ("current" if spelling == "current" else "template")
        spelling = spelling or LAYOUT_SPELLING[layout]
        kwargs["layout"] = layout
        kwargs = {k: v for k, v in kwargs.items() if k not in defaults or defaults[k] != v}  # one key per data
        key = (spelling, tuple(sorted(kwargs.items())))
        if key not in cache:
            name = "-".join(["demo", spelling, *(f"{k}-{v}" for k, v in key[1])])  # no "=": not a hive key
            cache[key] = shared_once(tmp_path_factory, name, lambda folder: generate(folder, spelling, kwargs))
        return cache[key]

    return make


@pytest.fixture(scope="session")
def built_warehouse(demo_root: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], DbtResult]:
    """``built_warehouse(spelling)`` -> result of a full ``dbt build`` on default demo data (once per
    test run; tests only read it, or copy the file): ``published`` and ``framework`` the template's
    layout, ``current`` the current release's, ``mix`` both (``demo_root``)."""
    cache: dict[str, DbtResult] = {}

    def dbt_build(workdir: Path, spelling: str) -> DbtResult:
        result = run_dbt(["build"], data_root=demo_root(spelling), workdir=workdir)
        assert result.ok, result
        return result

    def build(spelling: str = "published") -> DbtResult:
        if spelling not in cache:
            cache[spelling] = shared_once(tmp_path_factory, f"build-{spelling}", lambda w: dbt_build(w, spelling))
        return cache[spelling]

    return build


@pytest.fixture(scope="session")
def everything(demo_root: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, DbtResult]:
    """The faults root of test_read_everything, (root, facts, result of its ``dbt build``), once per test run."""
    from test_read_everything import make_everything

    return shared_once(tmp_path_factory, "everything", lambda folder: make_everything(demo_root, folder))


#: the model whose dbt unit tests (the slowest on Spark: ~90 s each) run on the second Spark build
#: instead of the first, so the two builds take about as long (the unit tests' inputs are given
#: rows, the same whatever the data root)
SPARK_SPLIT_UNIT_TESTS = "sweep_comparisons"


def unit_test_models() -> set[str]:
    """The models the project's dbt unit tests test (read from the unit test yml files)."""
    import yaml

    models: set[str] = set()
    for path in (PROJECT_ROOT / "models").rglob("*.yml"):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests") or []:
            models.add(test["model"])
    return models


def build_on_spark(data_root: Path, workdir: Path, tests: bool) -> tuple[Path, float, str]:
    """`butter build --target spark` on a data root (a Brotli root is landed as zstd in
    ``workdir/cache``); (Spark warehouse dir, seconds, output). With ``tests`` the data tests
    and the unit tests but those of SPARK_SPLIT_UNIT_TESTS; without, models, seeds and those
    unit tests only (CI time: the two builds share the unit tests)."""
    if tests:
        selection = ["--exclude", f"{SPARK_SPLIT_UNIT_TESTS},resource_type:unit_test"]
    else:
        others = sorted(unit_test_models() - {SPARK_SPLIT_UNIT_TESTS})
        selection = ["--exclude", "resource_type:test", *(f"{model},resource_type:unit_test" for model in others)]
    warehouse = workdir / "spark"
    env = dict(os.environ)
    env.update({
        "BUTTER_DATA_ROOT": str(data_root),
        "BUTTER_SPARK_WAREHOUSE": str(warehouse),
        "BUTTER_S3_CACHE": str(workdir / "cache"),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "BUTTER_THREADS": env.get("BUTTER_THREADS", "1"),
    })
    started = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("butter")), "build", "--target", "spark", "--skip-docs",
         *(f"--dbt-arg={arg}" for arg in selection)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )
    seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"butter build --target spark failed:\n{output[-6000:]}"
    return warehouse, seconds, output


@dataclass(frozen=True)
class SparkBuild:
    """One ``butter build --target spark`` and the DuckDB build of the same data root."""

    spelling: str
    root: Path  # the data root both engines built
    workdir: Path  # BUTTER_S3_CACHE is workdir/cache
    warehouse: Path  # BUTTER_SPARK_WAREHOUSE: <schema>.db/<table>/*.parquet
    seconds: float
    output: str
    duckdb: DbtResult


@pytest.fixture(scope="session")
def spark_build(demo_root: Callable[..., Path], built_warehouse: Callable[[str], DbtResult],
                everything: tuple[Path, dict, DbtResult],
                tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], SparkBuild]:
    """``spark_build(spelling)`` -> the one Spark build of that spelling (cached for the session).

    Both roots are encoded as NREL's export (Brotli), so Spark builds each from a zstd copy.
    ``published``: the faults root of test_read_everything (``everything``: the small demo with
    every trap, odd file names, a NULL-text partition, partition values stored in files,
    q1/q3 missing from one file), with the data tests. ``current``: the default demo in the
    current release's layout (all_repetitions/, complete_executive_summary/, the optimizer sweep,
    NREL's best-point columns), models, seeds and the unit tests the published build leaves
    (``build_on_spark``: the data and unit tests once are enough for CI's time).
    Skipped without Java or pyspark, except under CI (CI=true), where it fails.
    """
    from butter_warehouse.spark import spark_missing

    reason = spark_missing()
    cache: dict[str, SparkBuild] = {}

    def build(spelling: str) -> SparkBuild:
        if reason is not None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"the Spark builds must run under CI: {reason}")
            pytest.skip(reason)
        if spelling not in cache:
            if spelling == "published":
                root, _, duck = everything
                assert duck.ok, duck
            else:
                root, duck = demo_root(spelling), built_warehouse(spelling)
            workdir = tmp_path_factory.mktemp(f"spark-{spelling}")
            warehouse, seconds, output = build_on_spark(root, workdir, tests=spelling == "published")
            print(f"butter build --target spark ({spelling}): {seconds:.1f} s")
            cache[spelling] = SparkBuild(spelling, root, workdir, warehouse, seconds, output, duck)
        return cache[spelling]

    return build


def make_mixed_root(current: Path, folder: Path) -> Path:
    """A mix of the two layouts from the current release's demo root ``current``: the runs in
    ``all_repetitions/`` (current spelling) and again in ``all_runs/`` (the template's published
    spelling: ``val_loss``, ``kernel_regularizer.l1``, ``kernel_regularizer.type=`` folders), the
    optimizer sweep's runs also in ``optimizer_sweep_runs/``, and one summary copy,
    ``complete_summary/``, missing (the executive summary is then the all-sweeps summary copy)."""
    import pyarrow.parquet as pq

    from butter_warehouse import contract

    root = folder / "mixed"
    shutil.copytree(current, root)
    shutil.rmtree(root / "complete_summary")
    runs = root / "all_repetitions"
    renamed = {
        col.source_name("current"): col.published or col.source_name("current")
        for col in contract.columns("runs") if col.source_name("current")
    }
    dotted = {col.stored_name("framework"): col.stored_name("published")
              for col in contract.SHARED_COLUMNS if col.partition}
    for path in sorted(runs.rglob("*.parquet")):
        relative = path.relative_to(runs)
        table = pq.read_table(path, partitioning=None)
        published_dir = Path(*(
            "=".join([dotted.get(part.split("=", 1)[0], part.split("=", 1)[0]), part.split("=", 1)[1]])
            for part in relative.parent.parts
        ))
        target = root / "all_runs" / published_dir / relative.name
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.rename_columns([renamed.get(n, n) for n in table.column_names]), target,
                       compression="brotli")
        flag = contract.SHARED_COLUMNS[[c.name for c in contract.SHARED_COLUMNS].index("is_optimizer_sweep")]
        members = table.filter(table[flag.stored_name("framework")])
        if members.num_rows:
            target = root / "optimizer_sweep_runs" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(members, target, compression="brotli")
    assert (root / "optimizer_sweep_runs").exists(), "the current demo has no optimizer sweep runs"
    return root
