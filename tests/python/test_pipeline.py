"""The build pipeline: the engine is the target's type in profiles.yml, and the steps run in order
(no dbt: dbt_runner.run_dbt and the scan are replaced)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from butter_warehouse import cli, dbt_runner, pipeline, spark
from butter_warehouse.context import Context
from butter_warehouse.pipeline import DuckDBEngine, SparkEngine, TargetError, engine_for

from conftest import PROJECT_ROOT


def project(tmp_path: Path, outputs: dict[str, dict[str, str]], default: str = "dev") -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "dbt_project.yml", root / "dbt_project.yml")
    (root / "profiles.yml").write_text(yaml.safe_dump({"butter": {"target": default, "outputs": outputs}}))
    return root


def test_the_engine_is_the_targets_type_not_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    root = project(tmp_path, {"dev": {"type": "duckdb"}, "ci": {"type": "duckdb"}, "cluster": {"type": "spark"},
                              "pg": {"type": "postgres"}})
    ctx = Context(project_root=root)
    dev, ci, cluster = engine_for(ctx, "dev"), engine_for(ctx, "ci"), engine_for(ctx, "cluster")
    assert (type(dev), type(ci), type(cluster)) == (DuckDBEngine, DuckDBEngine, SparkEngine)
    assert dev.target_args == () and ci.target_args == ("--target", "ci")  # the profile's default needs none
    with pytest.raises(TargetError, match="no target 'nope' in profiles.yml"):
        engine_for(ctx, "nope")
    with pytest.raises(TargetError, match="of type 'postgres'"):
        engine_for(ctx, "pg")


def test_the_project_profile_has_one_engine_per_target() -> None:
    ctx = Context(project_root=PROJECT_ROOT)
    assert type(engine_for(ctx, "dev")) is DuckDBEngine
    assert type(engine_for(ctx, "spark")) is SparkEngine


def test_spark_steps_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, {"dev": {"type": "duckdb"}, "lake": {"type": "spark"}})
    data, warehouse = tmp_path / "data", tmp_path / "spark"
    data.mkdir()
    for key, value in {"BUTTER_DATA_ROOT": str(data), "BUTTER_SPARK_WAREHOUSE": str(warehouse),
                       "BUTTER_PROJECT_DIR": str(root), "DBT_PROFILES_DIR": str(root)}.items():
        monkeypatch.setenv(key, value)
    calls: list[tuple[str, ...]] = []
    scanned: list[tuple[str, Path]] = []

    def run_dbt(ctx: Context, *args: str, env: dict[str, str] | None = None, **kwargs: object) -> int:
        assert env is not None and env["BUTTER_SPARK_WAREHOUSE"] == str(warehouse)
        assert env["BUTTER_INVENTORY"] == str(warehouse / "inventory")
        assert env["BUTTER_REGISTER_SOURCES"] == "1"  # dbt build registers the sources first (on-run-start)
        calls.append(args)
        return 0

    def run_scan(data_root: str, out: Path, ctx: Context | None = None) -> bool:
        scanned.append((data_root, out))
        return True

    monkeypatch.setattr(spark, "spark_missing", lambda method="session": None)
    monkeypatch.setattr(dbt_runner, "run_dbt", run_dbt)
    monkeypatch.setattr(pipeline, "run_scan", run_scan)
    assert cli.main(["build", "--target", "lake", "--dbt-arg=--fail-fast"]) == 0
    assert scanned == [(str(data), warehouse / "inventory")]
    assert calls == [("build", "--target", "lake", "--fail-fast"),
                     ("docs", "generate", "--target", "lake")]
    assert f"Spark warehouse: {warehouse}" in capsys.readouterr().out


def test_duckdb_build_keeps_its_decode_store_beside_the_warehouse(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The store outlives the build folder (dbt runs there); --full-refresh reaches dbt build only."""
    root = project(tmp_path, {"dev": {"type": "duckdb"}})
    data, published = tmp_path / "data", tmp_path / "w" / "butter.duckdb"
    data.mkdir()
    for key, value in {"BUTTER_DATA_ROOT": str(data), "BUTTER_DUCKDB_PATH": str(published),
                       "BUTTER_PROJECT_DIR": str(root), "DBT_PROFILES_DIR": str(root)}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BUTTER_DECODE_STORE", raising=False)
    calls: list[tuple[tuple[str, ...], str]] = []

    def run_dbt(ctx: Context, *args: str, env: dict[str, str] | None = None, **kwargs: object) -> int:
        assert env is not None
        calls.append((args, env["BUTTER_DECODE_STORE"]))
        return 0 if args[0] == "build" and "--fail-fast" not in args else 1  # a failure: nothing is published

    monkeypatch.setattr(dbt_runner, "run_dbt", run_dbt)
    monkeypatch.setattr(pipeline, "run_scan", lambda data_root, out, ctx=None: True)
    monkeypatch.setattr(DuckDBEngine, "finish", lambda self, ctx, request, ws, code: code)
    assert cli.main(["build", "--full-refresh"]) == 1
    store = str(published.with_name("butter.duckdb.store"))
    assert calls == [(("build", "--full-refresh"), store), (("docs", "generate"), store)]
    monkeypatch.setenv("BUTTER_DECODE_STORE", str(tmp_path / "elsewhere.store"))
    calls.clear()
    assert cli.main(["build", "--skip-docs", "--dbt-arg=--fail-fast"]) == 1
    assert calls == [(("build", "--fail-fast"), str(tmp_path / "elsewhere.store"))]
