"""The fault matrix, part 3 (issue 17): butter replaces or deletes only what it can prove it created.

======================================  ===============================================================
fault                                   outcome asserted
======================================  ===============================================================
a CSV at BUTTER_DUCKDB_PATH             refused before the scan, naming the path; the CSV unchanged
another project's DuckDB file there     refused before the scan; its tables still there, bytes unchanged
--replace-unrecognized                  replaces it (the user means it)
a folder at BUTTER_DUCKDB_PATH          refused before the scan, naming it
a build lacking a mart / audit table    not published, naming what is missing (a --select build)
published warehouse without its marts   shrink check cannot count: refused, never skipped
target replaced during the build        refused at publish, the new file left as it is
user's ``.build-<digits>`` folder       never deleted (no marker), even when the build fails
a leftover folder butter made           removed by the next build
======================================  ===============================================================
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import test_reliability as matrix
from test_reliability import REQUIRED, Published, build_and_publish, butter, butter_env, fake_warehouse, output

from butter_warehouse import ownership, publish

from conftest import PROJECT_ROOT

# the fault matrix's fixtures: a published (marked) warehouse, a shared folder, small demo data
published = matrix.published
shared_tmp = matrix.shared_tmp
small_demo = matrix.small_demo


def tree_digest(root: Path) -> dict[str, str]:
    """Every file below ``root`` (and ``root`` itself if a file) -> sha256 of its bytes."""
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def fake_build(runs: int, experiments: int, drop: str | None = None) -> Callable[[Path], int]:
    def build(path: Path) -> int:
        fake_warehouse(path, runs, experiments)
        if drop:
            with duckdb.connect(str(path)) as con:
                con.execute(f"drop table {drop}")
        return 0
    return build


def assert_refused_before_scan(proc, message: str) -> None:  # noqa: ANN001 - CompletedProcess
    text = output(proc)
    assert proc.returncode == 1, text
    assert message in text, text
    assert "Traceback" not in text, text
    assert "scanned" not in text and "+ dbt" not in text, text  # nothing was built


# --- what is at the warehouse path -------------------------------------------------------------


def test_csv_at_the_warehouse_path_is_refused_and_kept(shared_tmp: Path, small_demo: Path) -> None:
    target = shared_tmp / "important.csv"
    target.write_text("name,value\nalpha,1\n")
    before = tree_digest(shared_tmp)
    proc = butter("build", "--skip-docs", env=butter_env(small_demo, target, shared_tmp))
    assert_refused_before_scan(proc, (
        f"butter: {target} is not a DuckDB file: butter replaces only a warehouse it built. Point "
        "BUTTER_DUCKDB_PATH at a new file, or build with --replace-unrecognized to replace it; nothing was "
        "built or changed."
    ))
    assert tree_digest(shared_tmp) == before  # not even a lock file beside it


def test_another_projects_duckdb_file_is_refused_and_kept(shared_tmp: Path, small_demo: Path) -> None:
    target = shared_tmp / "other.duckdb"
    with duckdb.connect(str(target)) as con:
        con.execute("create table sales as select range as id from range(5)")
        con.execute("checkpoint")
    before = tree_digest(shared_tmp)
    proc = butter("build", "--skip-docs", env=butter_env(small_demo, target, shared_tmp))
    assert_refused_before_scan(proc, (
        f"butter: {target} is a DuckDB file but not a BUTTER warehouse (no audit.butter_warehouse marker): "
        "butter replaces only a warehouse it built."
    ))
    assert tree_digest(shared_tmp) == before
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("select count(*) from sales").fetchone() == (5,)


def test_replace_unrecognized_replaces_it(shared_tmp: Path) -> None:
    target = shared_tmp / "important.csv"
    target.write_text("name,value\n")
    with pytest.raises(ownership.UnrecognizedTarget):
        build_and_publish(target, fake_build(10, 4), REQUIRED)
    assert target.read_text() == "name,value\n"
    assert build_and_publish(target, fake_build(10, 4), REQUIRED, replace_unrecognized=True) == 0
    assert publish.warehouse_counts(target) == (10, 4)
    assert ownership.describe(target) is None  # now a warehouse butter built (marked)


def test_folder_at_the_warehouse_path_is_refused_before_the_scan(shared_tmp: Path, small_demo: Path) -> None:
    target = shared_tmp / "butter.duckdb"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    before = tree_digest(shared_tmp)
    proc = butter("build", "--skip-docs", env=butter_env(small_demo, target, shared_tmp))
    assert_refused_before_scan(proc, (
        f"butter: {target} is a folder, not a warehouse file: BUTTER_DUCKDB_PATH must name a warehouse file."
    ))
    assert tree_digest(shared_tmp) == before


# --- what a new build must hold ----------------------------------------------------------------


@pytest.mark.parametrize("drop", ["marts.sweep_comparisons", "audit.load_audit"])
def test_build_lacking_a_published_model_is_not_published(published: Published,
                                                          capsys: pytest.CaptureFixture[str], drop: str) -> None:
    assert build_and_publish(published.path, fake_build(100, 40, drop=drop), REQUIRED) == 1
    out = capsys.readouterr().out
    assert f"not published: the new warehouse lacks {drop} (a build of part of the project" in out, out
    assert published.unchanged()


def test_published_models_come_from_the_models_folders() -> None:
    marts = sorted(p.stem for p in (PROJECT_ROOT / "models" / "marts").glob("*.sql"))
    assert REQUIRED["marts"] == marts and "run_best_epochs" in marts
    assert "load_audit" in REQUIRED["audit"] and "source_reconciliation" in REQUIRED["audit"]


def test_published_warehouse_without_the_counted_marts_is_an_error(published: Published,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with duckdb.connect(str(published.path)) as con:  # a mart renamed in the published file
        con.execute("alter table marts.run_best_epochs rename to run_best_epochs_old")
        con.execute("checkpoint")
    published.bytes = published.path.read_bytes()
    assert build_and_publish(published.path, fake_build(100, 40), REQUIRED) == 1
    out = capsys.readouterr().out
    assert f"not published: cannot count the runs and experiments of {published.path} (Catalog Error" in out, out
    assert "so the shrink check cannot run. Build with --allow-shrink to publish anyway" in out
    assert published.unchanged()


def test_target_replaced_during_the_build_is_not_replaced(published: Published,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def build(path: Path) -> int:
        published.path.unlink()
        published.path.write_text("a,b\n")  # someone's file appears at the path meanwhile
        return fake_build(100, 40)(path)

    assert build_and_publish(published.path, build, REQUIRED) == 1
    out = capsys.readouterr().out
    assert f"not published: {published.path} is not a DuckDB file: butter replaces only a warehouse it built" in out
    assert published.path.read_text() == "a,b\n"


# --- build folders -------------------------------------------------------------------------------


def test_users_build_like_folder_is_never_deleted(published: Published, shared_tmp: Path) -> None:
    mine = published.path.parent / ".build-123-456"
    mine.mkdir()
    (mine / "thesis.tex").write_text("chapter 1")
    (mine / ".lock").write_text("")  # even with a file named like butter's lock
    before = tree_digest(mine)
    proc = butter("build", "--skip-docs", env=butter_env(shared_tmp / "no-such-root", published.path, shared_tmp))
    assert proc.returncode != 0 and "does not exist" in output(proc), output(proc)
    assert "removed the leftover" not in output(proc)
    assert tree_digest(mine) == before
    assert published.path.read_bytes() == published.bytes


def test_leftover_build_folder_butter_made_is_removed(published: Published) -> None:
    build_path, lock = publish.new_build_path(published.path)
    (build_path.parent / "half.duckdb").write_text("x")
    publish._HELD.pop(lock.fileno(), None)
    lock.close()  # the build is gone: its lock is free
    removed = publish.clean_stale_builds(published.path)
    assert removed == [build_path.parent] and not build_path.parent.exists()


def test_running_build_folder_is_kept(published: Published) -> None:
    build_path, lock = publish.new_build_path(published.path)
    try:
        assert publish.clean_stale_builds(published.path) == []
        assert build_path.parent.exists()
    finally:
        publish._HELD.pop(lock.fileno(), None)
        lock.close()
        os.unlink(build_path.parent / publish.BUILD_MARKER)
        os.unlink(build_path.parent / publish.LOCK_NAME)
        build_path.parent.rmdir()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_partial_dbt_build_is_not_published(published: Published, shared_tmp: Path, small_demo: Path) -> None:
    """`--select +run_best_epochs` without tests: one mart, no audit schema."""
    proc = butter("build", "--skip-docs", "--dbt-arg=--select", "--dbt-arg=+run_best_epochs",
                  "--dbt-arg=--exclude", "--dbt-arg=resource_type:test resource_type:unit_test",
                  env=butter_env(small_demo, published.path, shared_tmp), timeout=600)
    text = output(proc)
    assert proc.returncode == 1, text
    assert "+ dbt build" in text  # dbt ran and succeeded; the publish step refused
    missing = ", ".join(f"{schema}.{name}" for schema, names in sorted(REQUIRED.items()) for name in names
                        if name != "run_best_epochs")
    assert f"not published: the new warehouse lacks {missing} (a build of part of the project" in text, text
    assert published.unchanged()
