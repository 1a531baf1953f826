"""``butter build --target spark``: the same warehouse built by dbt-spark.

Spark keeps its tables as parquet under ``BUTTER_SPARK_WAREHOUSE`` (default
``warehouse/spark/`` in the project): ``<dir>/<schema>.db/<table>/``, with a
Derby metastore in ``<dir>/metastore_db``. The build scans the data root
(the same inventory as the DuckDB build, written to ``<dir>/inventory``),
registers the published folders as partitioned source tables
(``dbt run-operation butter_register_sources``), then runs ``dbt build``.
Unlike the DuckDB build there is no atomic swap: dbt-spark replaces each
table in place.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

ENV_VAR = "BUTTER_SPARK_WAREHOUSE"


def spark_missing() -> str | None:
    """Why a Spark build cannot run here (no Java, no pyspark/dbt-spark), or None."""
    import importlib.util

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs a JRE 17+, e.g. apt-get install openjdk-17-jre-headless)"
    for module in ("pyspark", "dbt.adapters.spark"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{module} is not installed: run `make install-spark` (requirements-spark.lock)"
    return None


def warehouse_dir(project_root: Path) -> Path:
    """The Spark warehouse folder (env BUTTER_SPARK_WAREHOUSE, relative to the
    directory butter was started in; default warehouse/spark in the project)."""
    given = os.environ.get(ENV_VAR)
    return Path(os.path.abspath(given)) if given else project_root / "warehouse" / "spark"


def build(
    *,
    project_root: Path,
    env: dict[str, str],
    root: str,
    scan: Callable[[str, Path], bool],
    run_dbt: Callable[..., int],
    target: str,
    dbt_args: list[str],
    docs: bool,
) -> int:
    """Scan, register the sources, dbt build (and docs) on a Spark target; the exit code."""
    missing = spark_missing()
    if missing:
        print(f"butter build --target {target}: {missing}.")
        return 2
    warehouse = warehouse_dir(project_root)
    warehouse.mkdir(parents=True, exist_ok=True)
    inventory_dir = warehouse / "inventory"
    if not scan(root, inventory_dir):
        return 2
    env = dict(env)
    env[ENV_VAR] = str(warehouse)
    env["BUTTER_INVENTORY"] = str(inventory_dir)
    code = run_dbt("run-operation", "butter_register_sources", "--target", target, env=env)
    if code == 0:
        code = run_dbt("build", "--target", target, *dbt_args, env=env)
    if code == 0 and docs:
        code = run_dbt("docs", "generate", "--target", target, env=env)
    if code == 0:
        print(f"Spark warehouse: {warehouse} (tables as parquet in <schema>.db/<table>/)")
    return code
