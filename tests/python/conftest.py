"""Shared pytest fixtures: demo data roots, dbt runs and the Spark builds.

Demo data is generated once per session and parameter set; dbt runs get their own
DuckDB file, target and log folders so tests never share state. The expensive builds
are session fixtures that tests only read: ``built_warehouse(spelling)`` (the default
demo on DuckDB), ``everything`` (the faults root of test_read_everything and its DuckDB
build) and ``spark_build(name)`` (the two Spark builds, shared by every
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest

from butter_warehouse.contract import Spelling
from butter_warehouse.settings import decode_store_beside

PROJECT_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

#: What the tests' dbt and butter commands get by default (set here unless the environment already
#: sets it; every command a test starts inherits it), each to spend less CPU: the suite runs three
#: workers on two cores, so the cores are busy anyway.
#: - BUTTER_THREADS, BUTTER_DUCKDB_THREADS: one dbt thread and one DuckDB thread, where users get
#:   two (settings.py). A second dbt thread cost about 2 CPU-seconds of a small build; a second
#:   DuckDB thread 1.5 to 2 (the tiny calibration build, alternated: 29.7 and 31.6 CPU-seconds
#:   with two, 27.4 and 30.1 with one).
#: - JDK_JAVA_OPTIONS: the Spark JVMs (the session build's, the cluster's daemons, driver and
#:   executor) use the serial garbage collector; G1's concurrent threads only add CPU. The Spark
#:   session test alone, alternated: its JVM took 328 and 347 CPU-seconds with G1, 307 and 305 with
#:   the serial collector, in the same wall time. The JVM reads the variable itself.
#: - DBT_LOG_LEVEL_FILE: no dbt.log (dbt writes every debug event there, about 1.6 CPU-seconds of a
#:   small build; nothing reads it, and a failing test shows dbt's output); test_publish, which
#:   waits on lines of that file, asks for it (info).
#: - DBT_EXCLUDE_RESOURCE_TYPES: no unit tests (models/*/_*unit_tests.yml; about 2.5 CPU-seconds and
#:   15 nodes of a small build). They test the models' SQL on literal rows, not the data, so each
#:   gives the same result in every build of one engine.
TEST_ENV = {
    "BUTTER_THREADS": "1",
    "BUTTER_DUCKDB_THREADS": "1",
    "JDK_JAVA_OPTIONS": "-XX:+UseSerialGC",
    "DBT_LOG_LEVEL_FILE": "none",
    "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",
}
for _name, _value in TEST_ENV.items():
    os.environ.setdefault(_name, _value)
#: every unit test runs (the variable removed): the shared default-demo builds and the Spark build
ALL_RESOURCE_TYPES: dict[str, str | None] = {"DBT_EXCLUDE_RESOURCE_TYPES": None}
#: the shared default-demo builds (``built_warehouse``, every layout) as users build: two dbt and
#: two DuckDB threads, so concurrent threads are still tested on every mart, and every unit test
SHARED_BUILD_ENV: dict[str, str | None] = {"BUTTER_THREADS": "2", "BUTTER_DUCKDB_THREADS": "2", **ALL_RESOURCE_TYPES}
#: every test's warehouse keeps its own decode store beside it (<warehouse>.store): a store set for
#: the user's builds would be shared by the tests' builds, on different data and at the same time
os.environ.pop("BUTTER_DECODE_STORE", None)


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


def changed(env: dict[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """``env`` with ``changes`` applied in place: each variable set, or removed where None."""
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_dbt(
    args: list[str],
    *,
    data_root: Path | str,
    workdir: Path,
    extra_env: Mapping[str, str | None] | None = None,
    timeout: float = 600,
) -> DbtResult:
    """Run dbt in the project with its own DuckDB file/target/logs under ``workdir``
    (``extra_env``: variables to set, or to remove where None)."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "butter.duckdb"
    target_path = workdir / "target"
    env = dict(os.environ)
    env.update(
        {
            "DBT_PROFILES_DIR": str(PROJECT_ROOT),
            "BUTTER_DATA_ROOT": str(data_root),
            "BUTTER_DUCKDB_PATH": str(db_path),
            "BUTTER_DECODE_STORE": str(decode_store_beside(db_path)),  # kept, as `butter build` keeps it
            "DBT_TARGET_PATH": str(target_path),
            "DBT_LOG_PATH": str(workdir / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
        }
    )
    changed(env, extra_env or {})
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


#: the tests' base training length unless a test names its own: the demo's default is the
#: real one (contract.CORE_EPOCHS, 3000), a hundred times the data and its generation time
TEST_EPOCHS = 30


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``demo_root(spelling=None, layout=None, **sizes)`` -> a generated demo data root (once per
    test run; tests copy it before changing anything), of TEST_EPOCHS epochs unless ``epochs``
    is given. The layout defaults to the spelling's
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
        kwargs.setdefault("epochs", TEST_EPOCHS)
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
        result = run_dbt(["build"], data_root=demo_root(spelling), workdir=workdir,
                         extra_env=SHARED_BUILD_ENV)
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


#: dbt's own generic tests (their SQL is dbt-spark's, not the project's), left out of the Spark build
#: should a model use one: they pass on the DuckDB build, and the equality test finds every Spark
#: table equal to DuckDB's, so they would pass on Spark too. The project writes its rules as its own
#: model-level tests (butter_not_null, butter_column_rules, ...), one instance of each run on Spark.
BUILT_IN_TESTS = ("not_null", "unique", "relationships", "accepted_values")


def spark_test_exclusions(manifest: Path) -> list[str]:
    """The data tests the Spark build leaves to DuckDB (node names, for ``--exclude``), read from
    the DuckDB build's ``manifest.json``: every BUILT_IN_TESTS test, and every instance of a
    project generic test (macros/tests/) but one: the instance using the most of the test's
    arguments (butter_column_rules with unique, accepted values and relationships;
    butter_not_null with column_names and when), the first by unique id among those. It runs
    that test's Spark SQL (the engine macros it calls); the others differ only by the columns
    they name, pass on DuckDB, and would pass on Spark, whose every table equals DuckDB's (119
    of the 131 project generic tests). Singular tests (tests/*.sql) all run."""
    import json

    nodes = json.loads(manifest.read_text())["nodes"]
    instances: dict[str, list[tuple[int, str]]] = {}
    excluded = []
    for unique_id, node in nodes.items():
        generic = (node.get("test_metadata") or {}).get("name") if node["resource_type"] == "test" else None
        if generic is None:
            continue
        if generic in BUILT_IN_TESTS:
            excluded.append(node["name"])
            continue
        kwargs = node["test_metadata"].get("kwargs") or {}
        used = sum(1 for key, value in kwargs.items() if value and key not in ("model", "column_name"))
        instances.setdefault(generic, []).append((-used, unique_id))
    for ranked in instances.values():
        excluded += [nodes[unique_id]["name"] for _, unique_id in sorted(ranked)[1:]]
    return sorted(excluded)


#: what the cluster build builds (``--target spark_cluster``): the staging views of every folder
#: and the seeds (tables the executors write), without their data tests. The warehouse itself
#: is built and compared on Spark once, by the session build of the faults root, which holds
#: both layouts; this build shows the cluster's own path: its Thrift endpoint, sources
#: registered through it, executors reading the landed copy and writing tables.
CLUSTER_SELECTION = ("--select", "path:models/staging", "resource_type:seed", "--exclude", "resource_type:test")


def build_on_spark(data_root: Path, workdir: Path, selection: list[str] | tuple[str, ...], target: str = "spark",
                   env_extra: dict[str, str] | None = None) -> tuple[float, str]:
    """`butter build --target <target>` of ``selection`` (dbt's arguments) on a data root (a Brotli
    root is landed as zstd in ``workdir/cache``); (seconds, output). BUTTER_SPARK_WAREHOUSE is
    ``workdir/spark`` unless ``env_extra`` (a cluster's settings) says otherwise."""
    env = dict(os.environ)
    env.update({
        "BUTTER_DATA_ROOT": str(data_root),
        "BUTTER_SPARK_WAREHOUSE": str(workdir / "spark"),
        "BUTTER_S3_CACHE": str(workdir / "cache"),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        **(env_extra or {}),
    })
    changed(env, ALL_RESOURCE_TYPES)  # every unit test runs on Spark
    started = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("butter")), "build", "--target", target, "--skip-docs",
         *(f"--dbt-arg={arg}" for arg in selection)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )
    seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:  # the error lines first: a Spark error's tail is a Java stack
        errors = [line[:600] for line in output.splitlines() if "Error" in line or "ERROR" in line][:8]
        raise AssertionError(f"butter build --target {target} failed:\n" + "\n".join(errors)
                             + f"\n...\n{output[-3000:]}")
    return seconds, output


@dataclass(frozen=True)
class SparkBuild:
    """One Spark build (``butter build --target spark``, or ``spark_cluster`` against the
    project's local cluster) and the DuckDB build of the same data root."""

    name: str  # "session" or "cluster"
    root: Path  # the data root both engines built
    workdir: Path  # BUTTER_S3_CACHE is workdir/cache
    warehouse: Path  # where Spark wrote the tables: <schema>.db/<table>/*.parquet
    seconds: float
    output: str
    duckdb: DbtResult
    #: the cluster build only: what `butter spark-cluster` printed and what was read through its endpoint
    cluster: ClusterRun | None = None


@dataclass(frozen=True)
class ClusterRun:
    """``butter spark-cluster`` as a user runs it: started, used by one build, stopped with Ctrl-C."""

    directory: Path
    output: str  # everything it printed, the stop included
    exit_code: int
    #: processes still running from the cluster's folder after it exited (must be none)
    left_running: list[str]
    #: (columns, rows) of each query of ``cluster_queries`` run through the Thrift endpoint
    endpoint: dict[str, tuple[list[str], list[tuple]]]


def processes_under(directory: Path) -> list[str]:
    """``pid command`` of every process whose working directory or command line is in ``directory``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(directory)) or str(directory) in cmdline:
            found.append(f"{entry.name} {cmdline[:200]}")
    return found


def build_on_cluster(data_root: Path, workdir: Path, queries: dict[str, str]) -> tuple[float, str, Path, ClusterRun]:
    """Start ``butter spark-cluster`` (a master, a worker, the Thrift server), build
    CLUSTER_SELECTION of the data root with ``--target spark_cluster``, run ``queries`` (name ->
    SQL) through the endpoint, stop the cluster with Ctrl-C (SIGINT);
    (seconds, build output, the cluster's Spark warehouse, the ClusterRun)."""
    import re
    import signal

    from pyhive import hive

    directory = workdir / "cluster"
    butter = str(Path(sys.executable).with_name("butter"))
    log = workdir / "spark-cluster.out"
    with open(log, "wb") as out:
        cluster = subprocess.Popen([butter, "spark-cluster", "--dir", str(directory)], cwd=PROJECT_ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        exports: dict[str, str] = {}
        while not exports:
            text = log.read_text()
            found = re.search(r"^  export (.*)$", text, re.MULTILINE)
            if found:
                exports = dict(pair.split("=", 1) for pair in found.group(1).split())
            elif cluster.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"butter spark-cluster did not start:\n{text[-4000:]}")
            else:
                time.sleep(1)
        seconds, output = build_on_spark(data_root, workdir, CLUSTER_SELECTION, target="spark_cluster",
                                         env_extra=exports)
        connection = hive.connect(host=exports["BUTTER_SPARK_HOST"], port=int(exports["BUTTER_SPARK_PORT"]),
                                  username="analyst")
        try:
            cursor = connection.cursor()
            endpoint = {}
            for name, sql in queries.items():
                cursor.execute(sql)
                endpoint[name] = ([d[0].split(".")[-1] for d in cursor.description], [tuple(r) for r in cursor.fetchall()])
        finally:
            connection.close()
    finally:
        if cluster.poll() is None:
            cluster.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
        try:
            exit_code = cluster.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            exit_code = cluster.wait()
    left = processes_under(directory)
    for line in left:  # never leave a JVM behind, even when the test is about to fail
        os.kill(int(line.split()[0]), signal.SIGKILL)
    run = ClusterRun(directory, log.read_text(), exit_code, left, endpoint)
    return seconds, output, Path(exports["BUTTER_SPARK_WAREHOUSE"]), run


@pytest.fixture(scope="session")
def spark_build(demo_root: Callable[..., Path], built_warehouse: Callable[[str], DbtResult],
                everything: tuple[Path, dict, DbtResult],
                tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], SparkBuild]:
    """``spark_build(name)`` -> one of the two Spark builds (each made once per test run).

    Both roots are encoded as NREL's export (Brotli), so Spark builds each from a zstd copy.
    ``session``: the warehouse, built and compared on Spark once: the faults root of
    test_read_everything (``everything``: both layouts' folders written from one demo, every
    trap, odd file names, a NULL-text partition, partition values stored in files, q1/q3
    missing from one file) in this process (``--target spark``, dbt-spark's session method),
    models, seeds, every unit test, every singular data test and one instance of each project
    generic test (``spark_test_exclusions``).
    ``cluster``: the default demo in the current release's layout on the project's local
    standalone cluster through its Thrift server (``butter spark-cluster``, ``--target
    spark_cluster``), CLUSTER_SELECTION only (staging and seeds), read back through the
    endpoint (``cluster_queries``); the cluster is stopped when that is done.
    Skipped without Java or pyspark, except under CI (CI=true), where it fails.
    """
    from butter_warehouse.spark import spark_missing

    reason = spark_missing() or spark_missing("thrift")
    cache: dict[str, SparkBuild] = {}
    failed: dict[str, str] = {}  # a build that failed is not run again by the next test that asks

    def build(name: str) -> SparkBuild:
        if reason is not None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"the Spark builds must run under CI: {reason}")
            pytest.skip(reason)
        if name in failed:
            pytest.fail(f"the {name} Spark build failed (see the first test that asked for it): {failed[name][:2000]}")
        try:
            return made(name)
        except (AssertionError, subprocess.SubprocessError) as exc:
            failed[name] = str(exc)
            raise

    def made(name: str) -> SparkBuild:
        if name not in cache:
            workdir = tmp_path_factory.mktemp(f"spark-{name}")
            cluster: ClusterRun | None = None
            if name == "session":
                root, _, duck = everything
                assert duck.ok, duck
                selection = ["--exclude", *spark_test_exclusions(duck.target_path / "manifest.json")]
                seconds, output = build_on_spark(root, workdir, selection)
                warehouse = workdir / "spark"
            elif name == "cluster":
                root, duck = demo_root("current"), built_warehouse("current")
                seconds, output, warehouse, cluster = build_on_cluster(root, workdir, cluster_queries(duck))
            else:
                raise ValueError(f"no Spark build {name!r}: session or cluster")
            print(f"butter build --target {'spark' if cluster is None else 'spark_cluster'} ({name}): {seconds:.1f} s")
            cache[name] = SparkBuild(name, root, workdir, warehouse, seconds, output, duck, cluster)
        return cache[name]

    return build


def cluster_relations(duck: DbtResult) -> dict[str, list[str]]:
    """What the cluster build builds, as the DuckDB build of the same root has it: every staging
    view and seed table (schema.name) -> its columns that are not lists (what is compared row by
    row through the endpoint; a list arrives there as text)."""
    import duckdb

    con = duckdb.connect(str(duck.db_path), read_only=True)
    try:
        rows = con.execute(
            "select table_schema || '.' || table_name, column_name from information_schema.columns "
            "where table_schema in ('staging', 'seeds') and not data_type like '%[]' "
            "order by table_schema, table_name, ordinal_position").fetchall()
    finally:
        con.close()
    relations: dict[str, list[str]] = {}
    for relation, column in rows:
        relations.setdefault(relation, []).append(column)
    return relations


def cluster_queries(duck: DbtResult) -> dict[str, str]:
    """The queries run through the cluster's endpoint, by relation: the columns of
    ``cluster_relations``, every row."""
    return {relation: f"select {', '.join(columns)} from {relation}"
            for relation, columns in cluster_relations(duck).items()}


def make_mixed_root(current: Path, folder: Path) -> Path:
    """A mix of the two layouts from the current release's demo root ``current``: the runs in
    ``all_repetitions/`` (current spelling) and again in ``all_runs/`` (the template's published
    spelling: ``val_loss``, ``kernel_regularizer.l1``, ``kernel_regularizer.type=`` folders), the
    optimizer sweep's runs also in ``optimizer_sweep_runs/``, and one summary copy,
    ``complete_summary/``, missing (the executive summary is then the all-sweeps summary copy)."""
    root = folder / "mixed"
    shutil.copytree(current, root)
    shutil.rmtree(root / "complete_summary")
    write_in_spelling(root / "all_repetitions", root / "all_runs", "published")
    write_in_spelling(root / "all_repetitions", root / "optimizer_sweep_runs", "current", "optimizer")
    assert (root / "optimizer_sweep_runs").exists(), "the current demo has no optimizer sweep runs"
    return root


def write_in_spelling(source: Path, target: Path, spelling: Spelling, sweep: str | None = None) -> None:
    """Write the folder ``target`` from a folder ``source`` of the current release's demo in
    another ``spelling``: file columns renamed (a hyperparameter or flag the spelling lacks keeps
    its name, so the copies agree; an array or best point it lacks
    is left out), partition folders renamed (``kernel_regularizer.type=`` in the
    published spelling), Brotli, a ``_common_metadata``; with ``sweep``, only the rows of that
    sweep (its flag true), as a per-sweep folder holds them. The rows agree with the source's."""
    import pyarrow.parquet as pq

    from butter_warehouse import contract
    from butter_warehouse.demo import writer

    kind = contract.folder_kind(source.name)
    shared = {col.name for col in contract.SHARED_COLUMNS}
    names = {col.source_name("current"): col.source_name(spelling) or (col.source_name("current")
                                                                        if col.name in shared else None)
             for col in contract.columns(kind) if col.source_name("current") and not col.partition}
    keys = {col.stored_name("current"): col.stored_name(spelling) for col in contract.SHARED_COLUMNS if col.partition}
    flag = f"{sweep}_sweep" if sweep else None
    for path in sorted(source.rglob("*.parquet")):
        table = pq.read_table(path, partitioning=None)
        if flag is not None:
            table = table.filter(table[flag])
            if not table.num_rows:
                continue
        table = table.select([n for n in table.column_names if names.get(n, n)])
        table = table.rename_columns([names.get(n, n) for n in table.column_names])
        relative = path.relative_to(source)
        leaf = Path(*("=".join([keys[part.split("=", 1)[0]], part.split("=", 1)[1]]) for part in relative.parent.parts))
        out = target / leaf / relative.name
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out, compression="brotli")
    writer.write_common_metadata(target, kind, spelling)
