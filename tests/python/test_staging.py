"""Staging: one spelling out whatever the spelling in, every parquet row staged."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from butter_warehouse import codegen, contract

from conftest import PROJECT_ROOT, DbtResult, run_dbt

pytestmark = pytest.mark.slow

COLUMNS_SQL = """
    select table_name, column_name, data_type
    from information_schema.columns
    where table_schema = 'staging'
    order by table_name, ordinal_position
"""


def _parquet_rows(folder: Path) -> int:
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return 0
    return ds.dataset([str(f) for f in files], format="parquet").count_rows()


@pytest.mark.fast
def test_generated_files_are_current() -> None:
    assert codegen.stale(PROJECT_ROOT) == []


#: the models that read every staging model of a kind, written by hand: each imports them
#: (one CTE `stg_<folder>` per folder) and maps folder -> CTE for the copies macros
STAGING_READERS = {
    "store/store_run_copies": contract.RUN_FOLDERS,
    "intermediate/int_runs_deduplicated": contract.RUN_FOLDERS,
    "store/store_experiment_copies": contract.SUMMARY_FOLDERS,
    "intermediate/int_experiments_deduplicated": contract.SUMMARY_FOLDERS,
}


@pytest.mark.fast
@pytest.mark.parametrize("model", sorted(STAGING_READERS))
def test_copies_models_import_the_contracts_staging_models(model: str) -> None:
    """The staging parents of the copies models follow from the contract (its folders, in
    order): the import CTEs and the folder -> relation mapping name exactly those."""
    sql = (PROJECT_ROOT / "models" / f"{model}.sql").read_text()
    folders = list(STAGING_READERS[model])
    imports = re.findall(r"^(\w+) as \(\n    select \* from \{\{ ref\('stg_butter__(\w+)'\) \}\}\n\),$", sql, re.M)
    assert imports == [(f"stg_{f}", f) for f in folders]
    mapping = re.findall(r"^ +'(\w+)': '(\w+)',$", sql, re.M)
    assert mapping == [(f, f"stg_{f}") for f in folders]
    assert sql.count("ref('stg_butter__") == len(folders)


#: `make test-fast` builds the published spelling once (its one DuckDB build)
FAST_SPELLING = [pytest.param(s, marks=pytest.mark.fast) if s == "published" else s for s in contract.SPELLINGS]


@pytest.mark.parametrize("spelling", FAST_SPELLING)
def test_staging_row_counts_equal_parquet_row_counts(
    spelling: str, demo_root: Callable[..., Path], built_warehouse: Callable[[str], DbtResult]
) -> None:
    root = demo_root(spelling)
    with duckdb.connect(str(built_warehouse(spelling).db_path), read_only=True) as conn:
        for folder in contract.LAYOUT_FOLDERS["current" if spelling == "current" else "template"]:
            expected = _parquet_rows(root / folder)
            staged = conn.sql(f'select count(*) from staging."stg_butter__{folder}"').fetchall()[0][0]
            assert expected > 0, f"demo data has no rows in {folder}"
            assert staged == expected, f"{folder}: {staged} staged rows, {expected} parquet rows"


def test_both_spellings_give_identical_staging_columns(built_warehouse: Callable[[str], DbtResult]) -> None:
    described = {}
    for spelling in contract.SPELLINGS:
        with duckdb.connect(str(built_warehouse(spelling).db_path), read_only=True) as conn:
            described[spelling] = conn.sql(COLUMNS_SQL).fetchall()
    assert described["published"] == described["framework"]
    names = {(table, column) for table, column, _ in described["published"]}
    # the warehouse spelling, not either source spelling
    assert ("stg_butter__all_runs", "test_loss") in names
    assert ("stg_butter__all_runs", "val_loss") not in names
    assert ("stg_butter__complete_summary", "kernel_regularizer_type") in names
    assert ("stg_butter__complete_summary", "is_primary_sweep") in names


@pytest.mark.fast
def test_staging_types_follow_the_contract(built_warehouse: Callable[[str], DbtResult]) -> None:
    with duckdb.connect(str(built_warehouse("published").db_path), read_only=True) as conn:
        kinds: tuple[tuple[contract.Kind, str], ...] = (("runs", "all_runs"), ("summary", "complete_summary"))
        for kind, folder in kinds:
            types = dict(
                conn.sql(
                    "select column_name, lower(data_type) from information_schema.columns "
                    f"where table_schema = 'staging' and table_name = 'stg_butter__{folder}'"
                ).fetchall()
            )
            for col in contract.columns(kind):
                expected = duckdb.sql(f"select typeof(cast(null as {col.sql_type}))").fetchall()[0][0].lower()
                assert types[col.name] == expected, f"{folder}.{col.name}: {types[col.name]} != {expected}"
            # partition values (path text) are cast: float32 stays float
            assert types["learning_rate"] == "float"
            assert types["depth"] == "utinyint"


@pytest.mark.parametrize("spelling", contract.SPELLINGS)
def test_partition_values_round_trip(spelling: contract.Spelling, demo_root: Callable[..., Path],
                                     built_warehouse: Callable[[str], DbtResult]) -> None:
    """The hyperparameters read back from the path equal the generator's values."""
    root = demo_root(spelling)
    parts = contract.partition_names(spelling)
    with duckdb.connect(str(built_warehouse(spelling).db_path), read_only=True) as conn:
        staged = conn.sql(
            "select distinct dataset, learning_rate, batch_size, kernel_regularizer_type, "
            "label_noise, epochs, shape, depth from staging.stg_butter__complete_summary"
        ).fetchall()
    partitions = [
        dict(part.split("=", 1) for part in leaf.parent.relative_to(root / "complete_summary").parts)
        for leaf in (root / "complete_summary").rglob("*.parquet")
    ]
    for values in partitions:
        assert tuple(values) == parts
    assert contract.HIVE_NULL in {values[parts[3]] for values in partitions}, "demo data should hold an unregularized partition"
    assert any(row[3] is None for row in staged), "the hive NULL partition must stage as NULL"
    by_path = {
        (values["dataset"], duckdb.sql(f"select cast('{values['learning_rate']}' as float)").fetchall()[0][0])
        for values in partitions
    }
    assert {(row[0], row[1]) for row in staged} == by_path


def test_absent_folder_is_skipped_with_a_message(demo_root: Callable[..., Path], tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(demo_root("published"), root)
    shutil.rmtree(root / "300_epoch_sweep_runs")
    result = run_dbt(["build", "--select", "path:models/staging"], data_root=root, workdir=tmp_path / "dbt")
    assert result.ok, result
    assert "no parquet files under" in result.output
    assert "'300_epoch_sweep_runs' is skipped" in result.output
    with duckdb.connect(str(result.db_path), read_only=True) as conn:
        assert conn.sql('select count(*) from staging."stg_butter__300_epoch_sweep_runs"').fetchall()[0][0] == 0
        assert conn.sql("select count(*) from staging.stg_butter__all_runs").fetchall()[0][0] == _parquet_rows(root / "all_runs")
