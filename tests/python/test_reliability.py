"""The fault matrix, part 2 (issue 9): never publish a wrong warehouse, never read less than the folders hold.

Every case runs the real command (``python -m butter_warehouse.cli``) or the
publish step on a COPY of small demo data, and asserts the message it prints
and, where the build must refuse, that the previously published warehouse is
byte-for-byte unchanged (and that no build folder is left behind).

======================================  ===============================================================
fault                                   outcome asserted
======================================  ===============================================================
data root misspelt / missing            refused before dbt: "data root '<abs path>' does not exist"
data root is a file                     refused: "is not a folder"
data root empty                         refused: "holds none of the published BUTTER folders"
only sweep summary folders              scanned: "no runs folder found ... built from primary_sweep_summary/"
relative data root                      resolved against the caller's directory (scan and build)
symlinked partition folder              refused, naming the folder and its target
unreadable partition folder             refused, naming the folder (run as an unprivileged user)
unreadable file                         refused, naming the file
integer arrays in the first file        refused, naming the file and both types
depth=2.6 / learning_rate=abc / -1      refused, naming the partition folder and why
corrupt / truncated / column missing    refused before dbt, naming the file
apostrophe in the data root             staging reads it (paths quoted)
BUTTER_HTTP_TIMEOUT=30s                 one line, no traceback
read-write connection on published      publish refused naming the process; a read-only one is fine
far fewer runs than published           refused naming both counts; --allow-shrink publishes
published mode 0640 + group, umask 077  kept on the new file
two builds of one warehouse             the second waits (--lock-wait), then stops naming the first
disk full while building                one line, no traceback, nothing left behind
unwritable warehouse folder             one line, no traceback
Ctrl-C (SIGINT to butter)               one line, exit 130, the dbt child is gone
kill -9 of butter                       its dbt child ends too (PR_SET_PDEATHSIG) and the lock is free
dbt compile while a reader holds it     ``butter compile`` works (scratch catalog)
demo --out on a download / own files    refused in one line, exit 2, the folder byte-for-byte unchanged
  / a demo with a file added / a file     (issue 29)
demo stopped part-way (new or over a    nothing at --out (an earlier demo unchanged), no work folder
  demo), SIGINT to butter demo            left; "interrupted; <out> was left as it was ..." exit 130
======================================  ===============================================================

Issue 29's other cases are in test_download.py (the download record, keys leaving the folder,
selections matching nothing, the folder lock), test_export.py (what --out may replace),
test_data_root.py (one definition of a parquet file, an unknown partition level),
test_quarantine.py (--dbt-arg --vars, the exact limit, epochs = 0) and test_copies.py
(contradictions on every column that defines an experiment).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from butter_warehouse import cli, inventory, ownership, project, publish
from butter_warehouse.context import Context
from butter_warehouse.settings import load

from conftest import PROJECT_ROOT, run_dbt

SIZES = {"experiments": 20, "runs_per_experiment": 2, "epochs": 10}
NOBODY = 65534
CMD_TIMEOUT = 120  # seconds for a refused `butter build` (it stops before dbt)


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_demo(demo_root: Callable[..., Path]) -> Path:
    return demo_root("published", **SIZES)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder an unprivileged user can enter (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="butter-faults-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for dirpath, dirnames, _ in os.walk(path):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)
        shutil.rmtree(path, ignore_errors=True)


def copy_demo(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for dirpath, _dirnames, filenames in os.walk(target):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return target


def parquet_files(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder).rglob("*.parquet"))


REQUIRED = ownership.published_relations(PROJECT_ROOT, project.read_config(PROJECT_ROOT))


def build_and_publish(final_path: Path, build: Callable[[Path], int], required: Mapping[str, Sequence[str]], *,
                      allow_shrink: bool = False, lock_wait: float = 0.0, replace_unrecognized: bool = False) -> int:
    """What ``butter build`` does around its steps (``pipeline.DuckDBEngine``: ``publish.new_build``,
    then ``publish.publish``), with ``build(path)`` in place of the scan and dbt."""
    with publish.new_build(final_path, load(), lock_wait=lock_wait, replace_unrecognized=replace_unrecognized) as new:
        code = build(new.path)
        return code if code else publish.publish(new, required, allow_shrink=allow_shrink)


def fake_warehouse(path: Path, runs: int, experiments: int, marked: bool = False) -> Path:
    """A warehouse file with every published model (one-column tables) and the
    counted marts holding ``runs`` / ``experiments`` rows; ``marked``: with the
    marker the publish step writes (a warehouse butter published)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for schema, names in REQUIRED.items():
            con.execute(f"create schema if not exists {schema}")
            for name in names:
                con.execute(f"create table {schema}.{name} as select 1 as x")
        con.execute(f"create or replace table marts.run_best_epochs as select range as run_id from range({runs})")
        con.execute("create or replace table marts.experiment_summary as select range as experiment_id "
                    f"from range({experiments})")
        if marked:
            ownership.mark(con)
        con.execute("checkpoint")
    return path


class Published:
    """A published warehouse and its bytes, to check it is left as it was."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bytes = path.read_bytes()
        self.mode = path.stat().st_mode

    def unchanged(self) -> bool:
        leftovers = list(self.path.parent.glob(".build-*"))
        return self.path.read_bytes() == self.bytes and self.path.stat().st_mode == self.mode and not leftovers


@pytest.fixture
def published(shared_tmp: Path) -> Published:
    warehouse = shared_tmp / "warehouse"
    warehouse.mkdir()
    warehouse.chmod(0o777)
    return Published(fake_warehouse(warehouse / "butter.duckdb", 100, 40, marked=True))


def butter_env(data_root: Path | str, warehouse: Path, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "BUTTER_DATA_ROOT": str(data_root),
        "BUTTER_DUCKDB_PATH": str(warehouse),
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "BUTTER_PROJECT_DIR": str(PROJECT_ROOT),  # butter may run outside the project folder
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    })
    return env


def as_nobody() -> None:  # pragma: no cover - runs in the child
    os.setgid(NOBODY)
    os.setgroups([])
    os.setuid(NOBODY)


def butter(*args: str, env: dict[str, str], cwd: Path | str = PROJECT_ROOT, unprivileged: bool = False,
           timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run the real command; ``unprivileged`` runs it as nobody when the tests run as root
    (root reads any file, so permission faults need another user): in a forked copy of this
    process, because the interpreter may live where nobody cannot execute it."""
    if unprivileged and os.getuid() == 0:
        return forked_as_nobody(list(args), env, Path(cwd))
    return subprocess.run(
        [sys.executable, "-m", "butter_warehouse.cli", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout,
    )


def forked_as_nobody(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    out = tempfile.TemporaryFile(mode="w+")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            sys.stdout = sys.stderr = os.fdopen(os.dup(out.fileno()), "w", buffering=1)
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(env)
            as_nobody()
            code = cli.main(args)
        finally:
            sys.stdout.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    out.seek(0)
    text = out.read()
    return subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(status), "", text)


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def assert_refused(proc: subprocess.CompletedProcess[str], message: str, published: Published) -> None:
    text = output(proc)
    assert proc.returncode != 0, text
    assert message in text, text
    assert "Traceback" not in text, text
    assert "+ dbt build" not in text, text  # refused before dbt started
    assert published.unchanged()


def rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(pq.ParquetFile(path).read()), path)


def move_leaf(path: Path, key: str, value: str) -> Path:
    """Move a file into a sibling partition folder with ``key=value``."""
    parts = [f"{key}={value}" if p.startswith(f"{key}=") else p for p in path.parts]
    target = Path(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    path.rename(target)
    return target.parent


# --- data roots that must not be built from -------------------------------------------------


def test_misspelt_data_root_is_refused(published: Published, shared_tmp: Path) -> None:
    root = shared_tmp / "demo-typo"
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp))
    assert_refused(proc, f"BUTTER scan error: data root '{root}' does not exist.", published)


def test_data_root_that_is_a_file_is_refused(published: Published, shared_tmp: Path) -> None:
    root = shared_tmp / "a-file"
    root.write_text("not a folder\n")
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp))
    assert_refused(proc, f"BUTTER scan error: data root '{root}' is not a folder.", published)


def test_empty_data_root_is_refused(published: Published, shared_tmp: Path) -> None:
    root = shared_tmp / "empty"
    root.mkdir()
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp))
    assert_refused(proc, f"BUTTER scan error: data root '{root}' holds none of the published BUTTER folders", published)


def test_root_with_only_sweep_summaries_is_scanned(shared_tmp: Path, small_demo: Path) -> None:
    """A root with summaries and no runs folder is built (test_layouts_scan builds one); the scan says
    in one line that the run-level marts are empty."""
    root = shared_tmp / "data"
    root.mkdir()
    shutil.copytree(small_demo / "primary_sweep_summary", root / "primary_sweep_summary")
    proc = butter("scan", "--out", str(shared_tmp / "inv"), env=butter_env(root, shared_tmp / "w.duckdb", shared_tmp))
    assert proc.returncode == 0, output(proc)
    lines = [line for line in proc.stdout.splitlines() if "no runs folder found" in line]
    assert len(lines) == 1 and lines[0].endswith("the summary marts are built from primary_sweep_summary/"), output(proc)


def test_relative_data_root_is_resolved_where_it_was_typed(shared_tmp: Path, small_demo: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    caller = shared_tmp / "caller"
    copy_demo(small_demo, caller / "demo")
    env = butter_env("demo/", shared_tmp / "w" / "butter.duckdb", shared_tmp)
    proc = butter("scan", "--out", str(shared_tmp / "inventory"), env=env, cwd=caller)
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in (caller / "demo").rglob("*.parquet"))
    assert proc.returncode == 0, output(proc)
    assert f"scanned {caller}/demo: {len(list((caller / 'demo').rglob('*.parquet')))} parquet files, {rows} rows" \
        in proc.stdout, output(proc)
    # what `butter build` hands to dbt (which runs in the project folder)
    monkeypatch.chdir(caller)
    monkeypatch.setenv("BUTTER_DATA_ROOT", "demo/")
    assert Context(project_root=PROJECT_ROOT).dbt_env()["BUTTER_DATA_ROOT"] == str(caller / "demo")


# --- folders and files the reader would not see ----------------------------------------------


def test_symlinked_partition_folder_is_refused(published: Published, shared_tmp: Path, small_demo: Path) -> None:
    root = copy_demo(small_demo, shared_tmp / "data")
    leaf = parquet_files(root, "all_runs")[-1].parent
    elsewhere = shared_tmp / "elsewhere"
    shutil.move(str(leaf), elsewhere)
    leaf.symlink_to(elsewhere, target_is_directory=True)
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp))
    assert_refused(
        proc,
        f"folder '{leaf}' is a symbolic link (to '{elsewhere}'): DuckDB's reader does not follow linked "
        "folders, so its files would silently not be read.",
        published,
    )


def test_unreadable_partition_folder_is_refused(published: Published, shared_tmp: Path, small_demo: Path) -> None:
    root = copy_demo(small_demo, shared_tmp / "data")
    leaf = parquet_files(root, "all_runs")[3].parent
    leaf.chmod(0o000)
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp), unprivileged=True)
    assert_refused(proc, f"folder '{leaf}' cannot be listed (Permission denied): its files would not be read.",
                   published)


def test_unreadable_file_is_refused(published: Published, shared_tmp: Path, small_demo: Path) -> None:
    root = copy_demo(small_demo, shared_tmp / "data")
    bad = parquet_files(root, "complete_summary")[5]
    bad.chmod(0o000)
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp), unprivileged=True)
    assert_refused(proc, f"file '{bad}' cannot be read by the build user (permission denied)", published)


# --- files whose content the reader would get wrong ------------------------------------------


def test_integer_arrays_in_the_first_file_are_refused(published: Published, shared_tmp: Path,
                                                      small_demo: Path) -> None:
    """DuckDB would take the first file's types and round every other file's floats."""
    root = copy_demo(small_demo, shared_tmp / "data")
    first = parquet_files(root, "all_runs")[0]

    def to_int(table: pa.Table) -> pa.Table:
        index = table.schema.get_field_index("val_accuracy")
        return table.set_column(index, "val_accuracy", table["val_accuracy"].cast(pa.list_(pa.int64()), safe=False))

    rewrite(first, to_int)
    others = len(parquet_files(root, "all_runs")) - 1
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp))
    assert_refused(
        proc,
        f"column 'val_accuracy' of '{root}/all_runs' is stored as list<int64> in 1 file(s), e.g. '{first}', but as "
        "list<float> in the others (the published type is list<float>)",
        published,
    )
    assert others > 0


@pytest.mark.parametrize(("key", "value", "why"), [
    ("depth", "2.6", "is not a whole number >= 0 (depth is uint8)"),
    ("depth", "-1", "is not a whole number >= 0 (depth is uint8)"),
    ("depth", "300", "is out of range for uint8"),
    ("learning_rate", "abc", "is not a number (learning_rate is float)"),
])
def test_partition_value_that_does_not_parse_is_refused(published: Published, shared_tmp: Path, small_demo: Path,
                                                       key: str, value: str, why: str) -> None:
    root = copy_demo(small_demo, shared_tmp / "data")
    folder = move_leaf(parquet_files(root, "primary_sweep_runs")[2], key, value)
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp))
    assert_refused(
        proc,
        f"partition folder '{folder}': {key}={value} {why}. Rename the folder to the published value or move "
        "it out of the data root.",
        published,
    )


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "column_missing"])
def test_damaged_file_is_refused_before_dbt(published: Published, shared_tmp: Path, small_demo: Path,
                                             damage: str) -> None:
    """The cases test_faults.py runs through plain dbt, through `butter build`: refused, nothing published."""
    root = copy_demo(small_demo, shared_tmp / "data")
    bad = parquet_files(root, "primary_sweep_runs")[-1]
    if damage == "corrupt":
        bad.write_bytes(b"this is not parquet\n" * 100)
        message = f"'{bad}' is not a readable parquet file ("
    elif damage == "truncated":
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
        message = f"'{bad}' is not a readable parquet file ("
    else:
        rewrite(bad, lambda t: t.drop_columns(["val_loss"]))
        message = (f"column 'val_loss' (or 'test_loss') is missing from 1 file(s) of '{root}/primary_sweep_runs', "
                   f"e.g. '{bad}'")
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp))
    assert_refused(proc, message, published)


def test_apostrophe_in_the_data_root_is_quoted(shared_tmp: Path, small_demo: Path) -> None:
    root = copy_demo(small_demo, shared_tmp / "it's data")
    result = run_dbt(["run", "--select", "stg_butter__all_runs", "stg_butter__complete_summary"],
                     data_root=root, workdir=shared_tmp / "work", timeout=300)
    assert result.ok, result
    with duckdb.connect(str(result.db_path), read_only=True) as con:
        for folder in ("all_runs", "complete_summary"):
            staged = con.execute(f"select count(*) from staging.stg_butter__{folder}").fetchall()[0][0]
            on_disk = sum(pq.ParquetFile(f).metadata.num_rows for f in parquet_files(root, folder))
            assert staged == on_disk > 0


def test_clean_scan_inventory_matches_the_footers(shared_tmp: Path, small_demo: Path) -> None:
    out = shared_tmp / "inventory"
    proc = butter("scan", "--out", str(out), env=butter_env(small_demo, shared_tmp / "w.duckdb", shared_tmp))
    assert proc.returncode == 0, output(proc)
    files = pq.read_table(out / inventory.FILES).to_pylist()
    on_disk = {str(p): pq.ParquetFile(p).metadata.num_rows for p in small_demo.rglob("*.parquet")}
    assert {f["path"]: f["num_rows"] for f in files} == on_disk
    assert pq.read_table(out / inventory.PROBLEMS).num_rows == 0


def test_bad_http_timeout_is_one_line(published: Published, shared_tmp: Path, small_demo: Path) -> None:
    env = butter_env(small_demo, published.path, shared_tmp)
    env["BUTTER_HTTP_TIMEOUT"] = "30s"
    proc = butter("build", "--skip-docs", env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "butter: BUTTER_HTTP_TIMEOUT must be a number of seconds (e.g. 30), got '30s'"
    assert published.unchanged()


# --- the publish step -------------------------------------------------------------------------


def fake_build(runs: int, experiments: int) -> Callable[[Path], int]:
    def build(path: Path) -> int:
        fake_warehouse(path, runs, experiments)
        return 0
    return build


HOLDER = r"""
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
con.execute("select count(*) from marts.run_best_epochs").fetchall()
print("open", flush=True)
time.sleep(120)
"""


def hold(path: Path, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
    return proc


def test_read_write_connection_on_published_file_refuses_publish(
        published: Published, capsys: pytest.CaptureFixture[str]) -> None:
    holder = hold(published.path, "rw")
    try:
        code = build_and_publish(published.path, fake_build(100, 40), REQUIRED)
    finally:
        holder.kill()
        holder.wait()
    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"not published: process {holder.pid} holds {published.path} open read-write (a DuckDB CLI started without "
        "-readonly, or duckdb.connect(path) without read_only=True)."
    ) in out, out
    assert "Close that connection (or reopen it read-only) and build again" in out
    assert published.unchanged()


def test_read_only_connection_does_not_stop_publish(published: Published) -> None:
    holder = hold(published.path, "ro")
    try:
        assert build_and_publish(published.path, fake_build(90, 40), REQUIRED) == 0
    finally:
        holder.kill()
        holder.wait()
    assert publish.warehouse_counts(published.path) == (90, 40)


@pytest.mark.parametrize(("runs", "experiments", "name", "before", "after"), [
    (10, 40, "runs", 100, 10),
    (100, 3, "experiments", 40, 3),
])
def test_far_fewer_runs_or_experiments_are_refused(published: Published, capsys: pytest.CaptureFixture[str],
                                                   runs: int, experiments: int, name: str, before: int,
                                                   after: int) -> None:
    assert build_and_publish(published.path, fake_build(runs, experiments), REQUIRED) == 1
    out = capsys.readouterr().out
    assert (
        f"not published: the new warehouse has {after} {name}, the published one {before} (less than 50%): a "
        "wrong or partial data root? Check BUTTER_DATA_ROOT, or build with --allow-shrink to publish it anyway."
    ) in out, out
    assert published.unchanged()
    assert build_and_publish(published.path, fake_build(runs, experiments), REQUIRED,
                                     allow_shrink=True) == 0
    assert publish.warehouse_counts(published.path) == (runs, experiments)


def test_mode_and_group_of_the_published_file_are_kept(published: Published) -> None:
    group = 100 if os.getuid() == 0 else os.getgid()  # root can give the file another group
    os.chown(published.path, -1, group)
    published.path.chmod(0o640)
    old_umask = os.umask(0o077)
    try:
        assert build_and_publish(published.path, fake_build(95, 40), REQUIRED) == 0
    finally:
        os.umask(old_umask)
    st = published.path.stat()
    assert (st.st_mode & 0o7777, st.st_gid) == (0o640, group)
    assert publish.warehouse_counts(published.path) == (95, 40)


def test_second_build_of_one_warehouse_stops_at_once(published: Published) -> None:
    seen: list[str] = []

    def build(path: Path) -> int:
        with pytest.raises(publish.BuildLocked) as refused:
            build_and_publish(published.path, fake_build(99, 40), REQUIRED)
        seen.append(str(refused.value))
        assert path.parent.exists()  # the first build's folder survives the second's clean-up
        fake_warehouse(path, 98, 40)
        return 0

    assert build_and_publish(published.path, build, REQUIRED) == 0
    assert seen and seen[0].startswith(f"another butter build (pid {os.getpid()}, started ")
    assert f"is building {published.path}; wait for it to finish" in seen[0]
    assert publish.warehouse_counts(published.path) == (98, 40)


LOCKER = r"""
import sys, time
from pathlib import Path
from butter_warehouse import publish
lock = publish.acquire_build_lock(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(120)
"""


def test_second_butter_build_stops_with_a_clear_message(published: Published, shared_tmp: Path,
                                                         small_demo: Path) -> None:
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(published.path)], stdout=subprocess.PIPE, text=True,
                              cwd=PROJECT_ROOT)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        proc = butter("build", "--skip-docs", "--lock-wait", "2", env=butter_env(small_demo, published.path, shared_tmp))
    finally:
        locker.kill()
        locker.wait()
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"waiting up to 2s for another butter build (pid {locker.pid}, started "), proc.stdout
    assert proc.stderr.startswith(f"butter: another butter build (pid {locker.pid}, started "), proc.stderr
    assert "Traceback" not in output(proc)
    assert published.unchanged()


def test_disk_full_is_one_line(published: Published, small_demo: Path, shared_tmp: Path,
                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def full(inv: object, out_dir: Path) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / inventory.FILES))

    monkeypatch.setattr(inventory, "write", full)
    for key, value in butter_env(small_demo, published.path, shared_tmp).items():
        monkeypatch.setenv(key, value)
    assert cli.main(["build", "--skip-docs"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("butter: the disk is full ("), err
    assert err[0].endswith(f"/inventory/files.parquet): OSError. {published.path} was left as it was."), err
    assert published.unchanged()


def test_unwritable_warehouse_folder_is_one_line(published: Published, shared_tmp: Path, small_demo: Path) -> None:
    published.path.parent.chmod(0o555)
    try:
        proc = butter("build", "--skip-docs", env=butter_env(small_demo, published.path, shared_tmp),
                      unprivileged=True)
    finally:
        published.path.parent.chmod(0o777)
    assert proc.returncode == 1, output(proc)
    assert proc.stderr.strip() == (
        f"butter: permission denied ({published.path}.build.lock): PermissionError. {published.path} was left as "
        "it was."
    ), output(proc)
    assert published.unchanged()


# --- interrupted builds -------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def ignore_sigint() -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_build(published: Published, small_demo: Path, work: Path,
                sigint_ignored: bool = False) -> tuple[subprocess.Popen[str], int]:
    """`butter build` in its own session (``sigint_ignored``: started with SIGINT ignored, as a
    script's background job or a CI runner starts it); returns it and its dbt child once dbt runs."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "butter_warehouse.cli", "build", "--skip-docs"], cwd=PROJECT_ROOT,
        env=butter_env(small_demo, published.path, work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=ignore_sigint if sigint_ignored else None,
    )
    deadline = time.monotonic() + 120
    while not children(proc.pid):
        assert proc.poll() is None and time.monotonic() < deadline, "the build never started dbt"
        time.sleep(0.1)
    time.sleep(2)  # let dbt get going
    return proc, children(proc.pid)[0]


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["sigint-default", "sigint-ignored-by-parent"])
def test_ctrl_c_is_one_line_and_stops_dbt(published: Published, small_demo: Path, shared_tmp: Path,
                                          sigint_ignored: bool) -> None:
    """Ctrl-C stops a build, also one started with SIGINT ignored (butter installs its own handler)."""
    proc, dbt = start_build(published, small_demo, shared_tmp, sigint_ignored)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    # nothing after (or before) it: not even the resource tracker's "leaked semaphore" warning of the ended dbt
    assert err.strip() == f"butter: interrupted; {published.path} was left as it was.", err
    assert "Traceback" not in out + err, err
    assert wait_gone(dbt, 30)
    assert published.unchanged()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill_9_of_butter_ends_its_dbt_child(published: Published, small_demo: Path, shared_tmp: Path) -> None:
    proc, dbt = start_build(published, small_demo, shared_tmp)
    proc.kill()
    proc.wait()
    assert wait_gone(dbt, 30), "dbt kept running after butter was killed"
    # free again once dbt's own short-lived helpers have exited (a loaded machine needs seconds)
    lock = publish.acquire_build_lock(published.path, wait=30)
    lock.close()
    assert published.path.read_bytes() == published.bytes


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_compile_analyses_while_a_reader_holds_the_warehouse(published: Published, shared_tmp: Path,
                                                             small_demo: Path) -> None:
    reader = hold(published.path, "ro")
    try:
        proc = butter("compile", "--select", "resource_type:analysis",
                      env=butter_env(small_demo, published.path, shared_tmp), timeout=300)
    finally:
        reader.kill()
        reader.wait()
    assert proc.returncode == 0, output(proc)[-3000:]
    compiled = list((shared_tmp / "target" / "compiled").rglob("*.sql"))
    assert compiled and all("marts" in p.read_text() for p in compiled), compiled
    assert published.unchanged()


# --- issue 29: butter demo writes only into a folder it made ------------------------------------------


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


DEMO_ARGS = ("--experiments", "90", "--runs", "2", "--epochs", "10")


def test_demo_refuses_a_folder_it_did_not_make(small_demo: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A download (its record, the user's file in a folder), a demo with a file added, a file: refused
    in one line, exit 2, byte-for-byte unchanged."""
    from butter_warehouse import download

    download.download(str(small_demo), tmp_path / "download", download.Selection.parse(folders=["complete_summary"]),
                      concurrency=2, progress=False, log=lambda line: None)
    (tmp_path / "download" / "complete_summary" / "my-notes.txt").write_text("mine")
    shutil.copytree(small_demo, tmp_path / "demo")
    (tmp_path / "demo" / "all_runs" / "dataset=mine").mkdir()
    (tmp_path / "demo" / "all_runs" / "dataset=mine" / "part-0.parquet").write_bytes(b"the user's")
    (tmp_path / "a-file").write_text("not a folder")
    wrote = len(list((small_demo / "all_runs").rglob("*.parquet")))
    cases = {"download": "holds _butter_download.json, _butter_download.jsonl, _butter_download.lock, "
                         "complete_summary and no demo manifest",
             "demo": f"holds {wrote + 1} parquet files in all_runs/, where the demo wrote {wrote} parquet files",
             "a-file": "is not a folder the demo made"}
    before = tree(tmp_path)
    for name, message in cases.items():
        assert cli.main(["demo", "--out", str(tmp_path / name), *DEMO_ARGS]) == 2, name
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"butter demo: {tmp_path / name} ") and message in err[0], err
        assert tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "demo", "download"]  # no work folder left


def test_demo_stopped_part_way_is_never_at_its_folder(small_demo: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed part-way, the demo is not at --out (a new folder, or an earlier demo there, unchanged):
    it is written beside it and renamed into place, its manifest last; the line names the folder."""
    from butter_warehouse.demo import generator

    original = generator._write_experiment
    calls = {"n": 0}

    def stops_after_three(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(generator, "_write_experiment", stops_after_three)
    earlier = copy_demo(small_demo, tmp_path / "earlier")
    before = tree(earlier)
    for out in (tmp_path / "new", earlier):
        calls["n"] = 0
        assert cli.main(["demo", "--out", str(out), *DEMO_ARGS]) == 130
        assert capsys.readouterr().err.strip() == (f"butter: interrupted; {out} was left as it was (a demo is put "
                                                   "there only when complete).")
    assert not (tmp_path / "new").exists() and tree(earlier) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier"]


@pytest.mark.timeout(120)
def test_sigint_stops_butter_demo(shared_tmp: Path) -> None:
    out = shared_tmp / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUTTER_")}
    proc = subprocess.Popen([sys.executable, "-m", "butter_warehouse.cli", "demo", "--out", str(out),
                             "--experiments", "400"], cwd=PROJECT_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=ignore_sigint)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".demo.demo-") for p in shared_tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the demo is being written beside its folder
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == f"butter: interrupted; {out} was left as it was (a demo is put there " \
                                           "only when complete)."
    assert list(shared_tmp.iterdir()) == []
