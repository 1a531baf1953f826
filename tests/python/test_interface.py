"""The analyst's interface of the marts (docs/warehouse-interface.md), checked on a built demo warehouse.

- Exact values: real-valued hyperparameters are DOUBLE equal to the decimal they
  were published with, so a float literal, a double cast and a bound parameter
  (DuckDB and SQLAlchemy / duckdb-engine) find the same rows, and the count is
  the one the published data (read with pyarrow) gives for that decimal.
- Types: no unsigned integer column in any mart (information_schema), and every
  mart is under an enforced dbt model contract whose declared types are the
  table's.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

import reference as ref
from conftest import DbtResult

pytestmark = pytest.mark.slow

REAL_HYPERPARAMETERS = ("learning_rate", "label_noise", "kernel_regularizer_l1", "kernel_regularizer_l2")
MART_SCHEMA = "marts"
#: audit tables, which the interface places in their own `audit` schema, are not analyst marts
AUDIT_TABLES = frozenset({"load_audit", "source_reconciliation"})


@pytest.fixture(scope="module")
def built(built_warehouse: Callable[[str], DbtResult]) -> DbtResult:
    return built_warehouse("published")


@pytest.fixture(scope="module")
def con(built: DbtResult):
    connection = duckdb.connect(str(built.db_path), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def experiments(demo_root: Callable[..., Path]) -> dict[int, dict]:
    return ref.experiment_summary(ref.load(demo_root("published")))


def published_decimal(value: float) -> float:
    """The float32's shortest round-trip decimal, as a Python float (numpy prints float32 that way)."""
    return float(str(np.float32(value)))


def expected_count(experiments: dict[int, dict], column: str, decimal: float) -> int:
    return sum(1 for e in experiments.values() if e[column] is not None and published_decimal(e[column]) == decimal)


@pytest.mark.parametrize(
    ("column", "literal", "decimal"),
    [
        ("learning_rate", "1e-4", 0.0001),
        ("learning_rate", "0.001", 0.001),
        ("label_noise", "0.1", 0.1),
        ("label_noise", "0.05", 0.05),
    ],
)
def test_exact_match_duckdb(
    con: duckdb.DuckDBPyConnection, experiments: dict[int, dict], column: str, literal: str, decimal: float
) -> None:
    want = expected_count(experiments, column, decimal)
    assert want > 0, f"the demo has no experiment with {column} = {decimal}"
    sql = f"select count(*) from marts.experiment_summary where {column} = "
    got = {
        "literal": con.execute(sql + literal).fetchall()[0][0],
        "double": con.execute(sql + f"{literal}::double").fetchall()[0][0],
        "parameter": con.execute(sql + "?", [decimal]).fetchall()[0][0],
    }
    assert got == dict.fromkeys(got, want)
    # the float32 value itself is not what is stored
    f32 = float(np.float32(decimal))
    if f32 != decimal:
        [(stale,)] = con.execute(
            f"select count(*) from marts.experiment_summary where {column} = ?", [f32]
        ).fetchall()
        assert stale == 0


def test_exact_match_sqlalchemy(
    built: DbtResult, experiments: dict[int, dict], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # a private copy: this process already holds the warehouse open with another configuration
    copy = tmp_path_factory.mktemp("interface-sqlalchemy") / "butter.duckdb"
    shutil.copy(built.db_path, copy)
    engine = sa.create_engine(f"duckdb:///{copy}?access_mode=read_only", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            for column, decimal in (("learning_rate", 0.0001), ("label_noise", 0.1)):
                want = expected_count(experiments, column, decimal)
                assert want > 0
                bound = conn.execute(
                    sa.text(f"select count(*) from marts.experiment_summary where {column} = :value"),
                    {"value": decimal},
                ).scalar_one()
                table = sa.table("sweep_comparisons", sa.column("sweep"), sa.column("learning_rate"),
                                 schema=MART_SCHEMA)
                built_query = conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(
                        table.c.sweep == "learning_rate", table.c.learning_rate == 0.0001
                    )
                ).scalar_one()
                assert bound == want, (column, bound, want)
                assert built_query > 0
    finally:
        engine.dispose()


def test_real_hyperparameters_are_published_decimals(con: duckdb.DuckDBPyConnection) -> None:
    """Every real-valued hyperparameter of every mart is DOUBLE and equal to its float32's shortest decimal."""
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        f"where table_schema = '{MART_SCHEMA}' and column_name in {REAL_HYPERPARAMETERS}"
    ).fetchall()
    assert {c for _, c, _ in columns} == set(REAL_HYPERPARAMETERS)
    problems = [f"{t}.{c}: {d}" for t, c, d in columns if d != "DOUBLE"]
    for table, column, _ in columns:
        for (value,) in con.execute(f"select distinct {column} from {MART_SCHEMA}.{table}").fetchall():
            if value is not None and value != published_decimal(value):
                problems.append(f"{table}.{column} = {value!r}, published as {published_decimal(value)!r}")
    assert not problems, "\n".join(problems)
    values = {v for (v,) in con.execute("select distinct swept_value_numeric from marts.sweep_comparisons "
                                        "where sweep = 'learning_rate'").fetchall()}
    assert 0.01 in values and 0.0001 in values, values


def test_no_unsigned_column_in_any_mart(con: duckdb.DuckDBPyConnection) -> None:
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        f"where table_schema = '{MART_SCHEMA}'"
    ).fetchall()
    assert len({t for t, _, _ in columns}) >= 5
    unsigned = [f"{t}.{c}: {d}" for t, c, d in columns if d.startswith("U")]
    assert not unsigned, unsigned
    # the arithmetic the issue reports overflowing now works
    con.execute("select min(num_free_parameters - size), min(depth - 3), min(num_runs - 5) "
                "from marts.experiment_summary").fetchone()


#: declared type -> the type DuckDB reports for it
DUCKDB_ALIASES = {"STRING": "VARCHAR"}


def test_marts_have_enforced_contracts(con: duckdb.DuckDBPyConnection, built: DbtResult) -> None:
    """Every model in the marts schema declares every column's type and enforces it; the table agrees."""
    manifest = json.loads((built.target_path / "manifest.json").read_text())
    marts = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == MART_SCHEMA and node["name"] not in AUDIT_TABLES
    }
    assert "experiment_learning_curves" in marts and "experiment_summary" in marts
    problems = []
    for name, node in marts.items():
        if not node["config"]["contract"]["enforced"]:
            problems.append(f"{name}: contract not enforced")
            continue
        table = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = '{MART_SCHEMA}' and table_name = '{name}'"
        ).fetchall())
        # `string` is the portable spelling (Spark); DuckDB stores it as VARCHAR
        declared = {c: DUCKDB_ALIASES.get(t, t) for c, t in
                    ((c, (v.get("data_type") or "").upper()) for c, v in node["columns"].items())}
        if declared != table:
            problems.append(f"{name}: declared {declared} vs table {table}")
    assert not problems, "\n".join(problems)


# --- documents (their links and wording: test_house.py) ----------------------------------------

REPOSITORY = Path(__file__).resolve().parents[2]


def test_every_analysis_is_described(built: DbtResult) -> None:
    """The docs site shows a description for every analysis (analyses/_analyses.yml)."""
    manifest = json.loads((built.target_path / "manifest.json").read_text())
    analyses = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "analysis"}
    assert len(analyses) >= 4
    undescribed = sorted(name for name, node in analyses.items() if len(node["description"].split()) < 10)
    assert not undescribed, undescribed


# --- the README guides ---------------------------------------------------------------------------


def _readme_guide() -> list[list[str]]:
    """Rows of the README's question -> table / figure / metric / analysis table."""
    text = (REPOSITORY / "README.md").read_text()
    section = text.split("## Which question, which table", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| question")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_readme_is_a_guide_of_at_most_200_lines() -> None:
    text = (REPOSITORY / "README.md").read_text()
    assert len(text.splitlines()) <= 200, len(text.splitlines())
    headings = re.findall(r"^## (.+)$", text, re.M)
    for wanted in ("Two commands", "Which question, which table", "The real data", "Read more"):
        assert wanted in headings, (wanted, headings)
    # the citation as the dataset page asks: the arXiv paper under both its titles, the dataset's DOI,
    # no venue that is not confirmed; and the licence
    assert all(name in text for name in ("Tripp", "Perr-Sauer", "Hayne", "Lunacek")) and "Gafur" not in text
    assert "arXiv:2207.12547" in text and "The BUTTER Zone" in text and "Empirical Deep Dive" in text
    assert "NeurIPS" not in text and "Datasets and Benchmarks" not in text
    assert "doi.org/10.25984/1872441" in text and "licence" in text.lower() and "CC BY-SA 4.0" in text
    # one full-scale estimate, and the reference material lives in docs/
    assert text.count("Full-scale estimate") == 1
    for moved in ("## Reliability", "## Performance", "## Engines", "Migration note", "Targets of issue"):
        assert moved not in text, moved
    # every document under docs/ is listed in the README's reading list
    for doc in (REPOSITORY / "docs").glob("*.md"):
        assert f"(docs/{doc.name})" in text, doc.name


def test_readme_guide_names_what_exists(built: DbtResult) -> None:
    """Every table, figure, metric, saved query and analysis the README's guide names exists."""
    from butter_warehouse import figures

    manifest = json.loads((built.target_path / "manifest.json").read_text())
    semantic = json.loads((built.target_path / "semantic_manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    analyses = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "analysis"}
    metrics = {m["name"] for m in semantic["metrics"]}
    saved = {q["name"] for q in semantic["saved_queries"]}
    rows = _readme_guide()
    assert len(rows) >= 6, rows
    named = 0
    for question, table, figure, metric, analysis in rows:
        for name in re.findall(r"`(?:audit\.)?([a-z_]+)`", table):
            if name != "group_is_complete":
                assert name in models, (question, name)
                named += 1
        for name in re.findall(r"`([a-z_]+)`", figure):
            assert name in figures.FIGURES, (question, name)
            named += 1
        for name in re.findall(r"saved query `([a-z_]+)`", metric):
            assert name in saved, (question, name)
            named += 1
        for name in re.findall(r"(?<!saved query )`([a-z_]+)`", metric):
            assert name in metrics, (question, name)
            named += 1
        for name in re.findall(r"`([a-z_]+)`", analysis):
            assert name in analyses, (question, name)
            named += 1
    assert named >= 20, named
