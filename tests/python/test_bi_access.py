"""The BI recipe of docs/bi-access.md, as a BI tool uses it.

SQLAlchemy + duckdb-engine (what Superset uses) on a copy of the demo
warehouse, with the connection URLs taken from the document itself: column
reflection of every mart, typical dashboard queries built from the reflected
tables, writes refused, the locked-down URL refusing file access, new
connections seeing a new publish, and no secret in the repository.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool, QueuePool

from conftest import PROJECT_ROOT, DbtResult

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DOC = PROJECT_ROOT / "docs" / "bi-access.md"
#: the tables a BI tool gets, by schema
TABLES = {
    "experiment_summary": "marts", "run_best_epochs": "marts", "experiment_best_epochs": "marts",
    "sweep_comparisons": "marts", "experiment_learning_curves": "marts",
    "source_reconciliation": "audit", "load_audit": "audit",
}
MARTS = list(TABLES)


def doc_urls() -> list[str]:
    """The `duckdb:////...` URLs of the document, in order (plain, locked down)."""
    return sorted(set(re.findall(r"duckdb:////[^\s\"'`]+", DOC.read_text())), key=len)


def url_for(template: str, db_path: Path) -> str:
    """A URL of the document pointed at ``db_path`` (its path part replaced)."""
    query = template.split("?", 1)[1]
    return f"duckdb:///{db_path}?{query}"


@pytest.fixture(scope="module")
def warehouse(built_warehouse: Callable[[str], DbtResult], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the published demo warehouse (tests swap and write around it)."""
    path = tmp_path_factory.mktemp("h6-bi") / "butter.duckdb"
    shutil.copy(built_warehouse("published").db_path, path)
    return path


@pytest.fixture(scope="module")
def engine(warehouse: Path) -> sa.Engine:
    plain = doc_urls()[0]
    assert plain.endswith("?access_mode=read_only"), plain
    return sa.create_engine(url_for(plain, warehouse), poolclass=NullPool)


def test_sqlalchemy_is_pinned_to_2_0() -> None:
    assert sa.__version__.startswith("2.0."), sa.__version__
    lock = (PROJECT_ROOT / "requirements-dev.lock").read_text()  # a client library: dev, not runtime
    assert re.search(r"^SQLAlchemy==2\.0\.\d+$", lock, re.MULTILINE), "requirements-dev.lock must pin SQLAlchemy 2.0.x"
    assert re.search(r"^duckdb_engine==", lock, re.MULTILINE | re.IGNORECASE)


def marts_columns(warehouse: Path) -> dict[str, list[str]]:
    """Column names of every mart as DuckDB lists them (closed before SQLAlchemy opens
    the file: one process cannot hold it open with two configurations)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            mart: [name for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position", [TABLES[mart], mart]
            ).fetchall()]
            for mart in MARTS
        }


def reflected_table(engine: sa.Engine, name: str, metadata: sa.MetaData) -> sa.Table:
    """A mart as a chart builder sees it: the columns the inspector reflects."""
    columns = sa.inspect(engine).get_columns(name, schema="marts")
    return sa.Table(name, metadata, *(sa.Column(c["name"], c["type"]) for c in columns), schema="marts")


def test_reflects_every_mart_column(engine: sa.Engine, warehouse: Path) -> None:
    expected = marts_columns(warehouse)
    inspector = sa.inspect(engine)
    for schema in set(TABLES.values()):
        assert {t for t, s in TABLES.items() if s == schema} <= set(inspector.get_table_names(schema=schema))
    for mart in MARTS:
        columns = inspector.get_columns(mart, schema=TABLES[mart])
        assert [c["name"] for c in columns] == expected[mart], mart
        assert all(not isinstance(c["type"], sa.types.NullType) for c in columns), mart
        # dbt descriptions travel as table and column comments
        assert any(c.get("comment") for c in columns), mart
        assert inspector.get_table_comment(mart, schema=TABLES[mart])["text"], mart
    names = {c["name"] for c in inspector.get_columns("experiment_summary", schema="marts")}
    assert {"experiment_id", "dataset", "learning_rate", "is_primary_sweep", "median_curve_best_test_loss",
            "num_runs", "runs_found"} <= names


def test_typical_bi_queries(engine: sa.Engine, warehouse: Path) -> None:
    """Group by, filters and top-N built from reflected columns, as a chart builder does."""
    metadata = sa.MetaData()
    runs = reflected_table(engine, "run_best_epochs", metadata)
    comparisons = reflected_table(engine, "sweep_comparisons", metadata)
    experiments = reflected_table(engine, "experiment_summary", metadata)
    by_dataset = (
        sa.select(runs.c.dataset, sa.func.count().label("runs"), sa.func.avg(runs.c.best_test_loss).label("loss"))
        .where(sa.not_(runs.c.is_diverged))
        .group_by(runs.c.dataset)
        .order_by(sa.desc("runs"), runs.c.dataset)
    )
    top_n = (
        sa.select(comparisons.c.dataset, comparisons.c.shape, comparisons.c.swept_value,
                  comparisons.c.median_curve_best_test_loss)
        .where(comparisons.c.sweep == "learning_rate", comparisons.c.rank_in_group == 1)
        .order_by(comparisons.c.median_curve_best_test_loss.asc().nulls_last(), comparisons.c.dataset, comparisons.c.shape)
        .limit(5)
    )
    filtered = sa.select(sa.func.count()).select_from(experiments).where(
        experiments.c.is_learning_rate_sweep, experiments.c.learning_rate > 0.0001, experiments.c.depth.in_([2, 3, 4])
    )
    with engine.connect() as conn:
        got_by_dataset = [tuple(r) for r in conn.execute(by_dataset)]
        got_top_n = [tuple(r) for r in conn.execute(top_n)]
        got_filtered = conn.execute(filtered).scalar_one()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert got_by_dataset == con.execute(
            "select dataset, count(*), avg(best_test_loss) from marts.run_best_epochs where not is_diverged "
            "group by dataset order by 2 desc, dataset"
        ).fetchall()
        assert got_top_n == con.execute(
            "select dataset, shape, swept_value, median_curve_best_test_loss from marts.sweep_comparisons "
            "where sweep = 'learning_rate' and rank_in_group = 1 "
            "order by median_curve_best_test_loss asc nulls last, dataset, shape limit 5"
        ).fetchall()
        assert got_filtered == con.execute(
            "select count(*) from marts.experiment_summary where is_learning_rate_sweep "
            "and learning_rate > 0.0001 and depth in (2, 3, 4)"
        ).fetchall()[0][0]
    assert got_by_dataset and got_top_n and got_filtered > 0


@pytest.mark.parametrize("statement", [
    "insert into audit.load_audit select * from audit.load_audit",
    "update marts.run_best_epochs set best_test_loss = 0",
    "delete from marts.experiment_summary",
    "drop table marts.sweep_comparisons",
    "create table marts.scratch as select 1 as x",
])
def test_writes_are_refused(engine: sa.Engine, warehouse: Path, statement: str) -> None:
    before = warehouse.stat().st_mtime_ns, warehouse.stat().st_size
    with engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match=r'attached in read-only mode'):
            conn.execute(sa.text(statement))
    assert (warehouse.stat().st_mtime_ns, warehouse.stat().st_size) == before
    assert not warehouse.with_name(warehouse.name + ".wal").exists()


def test_locked_down_url_refuses_file_access(warehouse: Path, tmp_path: Path) -> None:
    locked = doc_urls()[-1]
    assert "enable_external_access=false" in locked and "lock_configuration=true" in locked
    engine = sa.create_engine(url_for(locked, warehouse), poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from marts.run_best_epochs")).scalar_one() > 0
    leak = tmp_path / "leak.csv"
    for statement in [
        f"copy (select * from marts.run_best_epochs) to '{leak}'",
        f"attach '{tmp_path / 'other.duckdb'}' as other",
        "set enable_external_access = true",
    ]:
        with engine.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError, match=r"disabled by configuration|configuration has been locked"):
                conn.execute(sa.text(statement))
    assert not leak.exists()
    # the plain read-only URL does not stop file writes: why the locked-down one exists
    plain = sa.create_engine(url_for(doc_urls()[0], warehouse), poolclass=NullPool)
    with plain.connect() as conn:
        conn.execute(sa.text(f"copy (select 1 as x) to '{leak}'"))
    assert leak.exists()


def test_new_connections_see_a_new_publish(engine: sa.Engine, warehouse: Path, tmp_path: Path) -> None:
    """What butter build's atomic swap means for a BI tool: a connection kept open
    keeps the old warehouse, a new one (NullPool) sees the new warehouse."""
    published = tmp_path / "butter.duckdb"
    shutil.copy(warehouse, published)
    new = tmp_path / "next" / "butter.duckdb"
    new.parent.mkdir()
    shutil.copy(warehouse, new)
    with duckdb.connect(str(new)) as con:  # a "rebuild" with fewer runs
        con.execute("delete from marts.run_best_epochs where is_diverged or dataset = '529_pollen'")
        con.execute("checkpoint")
        new_count = con.execute("select count(*) from marts.run_best_epochs").fetchall()[0][0]
    url = url_for(doc_urls()[0], published)
    count = sa.text("select count(*) from marts.run_best_epochs")
    pooled = sa.create_engine(url)  # default QueuePool: keeps its connection open
    fresh = sa.create_engine(url, poolclass=NullPool)
    with pooled.connect() as conn:
        old_count = conn.execute(count).scalar_one()
    assert old_count > new_count
    os.replace(new, published)  # what publish.py does
    # the pool's open connection still reads the old warehouse, and so does every new
    # connection of this process while it is open (DuckDB shares one database per path)
    with pooled.connect() as conn:
        assert conn.execute(count).scalar_one() == old_count
    with fresh.connect() as conn:
        assert conn.execute(count).scalar_one() == old_count
    pooled.dispose()  # the last connection to the old file closes
    with fresh.connect() as conn:
        assert conn.execute(count).scalar_one() == new_count


def pooled_recipe(warehouse: Path) -> sa.Engine:
    """The pooled-connection recipe of the document, pointed at ``warehouse``."""
    text = DOC.read_text()
    start = text.index("WAREHOUSE = ")
    code = text[text.rindex("```python", 0, start) + len("```python"):text.index("```", start)]
    code = re.sub(r'WAREHOUSE = "[^"]+"', f"WAREHOUSE = {str(warehouse)!r}", code)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - the documented recipe itself
    return namespace["engine"]


def test_pooled_recipe_picks_up_a_new_build(warehouse: Path, tmp_path: Path) -> None:
    """A pool of two open connections keeps the old build without the recipe's listener
    (previous test); with it, the next checkout after the swap reads the new build."""
    published = tmp_path / "butter.duckdb"
    shutil.copy(warehouse, published)
    new = tmp_path / "next" / "butter.duckdb"
    new.parent.mkdir()
    shutil.copy(warehouse, new)
    with duckdb.connect(str(new)) as con:
        con.execute("delete from marts.run_best_epochs where is_diverged or dataset = '529_pollen'")
        con.execute("checkpoint")
        new_count = con.execute("select count(*) from marts.run_best_epochs").fetchall()[0][0]
    engine = pooled_recipe(published)
    count = sa.text("select count(*) from marts.run_best_epochs")
    try:
        with engine.connect() as first, engine.connect() as second:  # two pooled connections
            old_count = first.execute(count).scalar_one()
            assert second.execute(count).scalar_one() == old_count > new_count
        assert isinstance(engine.pool, QueuePool) and engine.pool.checkedin() == 2
        os.replace(new, published)  # what publish.py does
        with engine.connect() as conn:
            assert conn.execute(count).scalar_one() == new_count
        with engine.connect() as first, engine.connect() as second:
            assert first.execute(count).scalar_one() == second.execute(count).scalar_one() == new_count
    finally:
        engine.dispose()


def test_no_secret_in_profiles_or_repository() -> None:
    profiles = (PROJECT_ROOT / "profiles.yml").read_text()
    for line in profiles.splitlines():
        if re.search(r"(?i)(secret|password|token|key_id|access_key)\s*:", line):
            assert "env_var(" in line, line
    skip = {".git", ".venv", "target", "logs", "data", "warehouse", "__pycache__", ".pytest_cache", "dbt_packages"}
    key = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
    assigned = re.compile(r"(?i)aws_secret_access_key\s*[:=]\s*['\"]?[A-Za-z0-9/+]{40}\b")
    found = []
    for path in PROJECT_ROOT.rglob("*"):
        if not path.is_file() or skip & set(path.relative_to(PROJECT_ROOT).parts):
            continue
        if path.suffix not in {".py", ".sql", ".yml", ".yaml", ".md", ".toml", ".cfg", ".ini", ".sh", ".txt", ".lock", ""}:
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if key.search(text) or assigned.search(text):
            found.append(str(path.relative_to(PROJECT_ROOT)))
    assert found == []
