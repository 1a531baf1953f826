"""The Spark engine's requirements and folder (its build steps: ``pipeline.SparkEngine``).

Spark keeps its tables as parquet under ``BUTTER_SPARK_WAREHOUSE`` (default
``warehouse/spark/`` in the project): ``<dir>/<schema>.db/<table>/``, with a
Derby metastore in ``<dir>/metastore_db``. The build scans the data root
(the same inventory as the DuckDB build, written to ``<dir>/inventory``),
(a root compressed with Brotli is first re-encoded as zstd into the landing
cache, ``BUTTER_S3_CACHE``), then runs ``dbt build``, which first registers the published
folders as partitioned source tables (its on-run-start hook with ``BUTTER_REGISTER_SOURCES=1``).
Unlike the DuckDB build there is no atomic swap: dbt-spark replaces each
table in place.
"""

from __future__ import annotations

import os
import shutil

ENV_VAR = "BUTTER_SPARK_WAREHOUSE"  # with a cluster (target spark_cluster) only the inventory goes there
#: set to 1 for the build's dbt command: its on-run-start hook registers the sources first
#: (macros/engine/sources.sql, butter_register_sources_on_run_start)
REGISTER_SOURCES_VAR = "BUTTER_REGISTER_SOURCES"
#: parquet codecs Spark's bundled Hadoop cannot decompress (NREL's export is Brotli): a data
#: root using one is built from a zstd copy (``landing.land_for_build``, docs/engines.md)
UNREADABLE_CODECS = frozenset({"BROTLI", "LZO"})


#: the Python modules each dbt-spark connection method needs on this machine
METHOD_MODULES = {"session": ("pyspark", "dbt.adapters.spark"),
                  "thrift": ("dbt.adapters.spark", "pyhive", "thrift", "thrift_sasl")}


def spark_missing(method: str = "session") -> str | None:
    """Why a Spark build cannot run from here (no Java, no pyspark/dbt-spark; for ``thrift``, which
    runs Spark elsewhere, no PyHive), or None."""
    import importlib.util

    if method not in METHOD_MODULES:
        return f"dbt-spark method {method!r} is not one butter builds with ({', '.join(METHOD_MODULES)})"
    if method == "session" and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs a JRE 17+, e.g. apt-get install openjdk-17-jre-headless)"
    for module in METHOD_MODULES[method]:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{module} is not installed: run `make install-spark` (requirements-spark.lock)"
    return None


def thrift_unreachable(host: str, port: int, timeout: float = 10.0) -> str | None:
    """Why no Thrift server answers at host:port (checked before a cluster build reads anything), or None."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return (f"no Spark Thrift server answers at {host}:{port} ({exc.strerror or exc}): start one "
                f"(`butter spark-cluster` for a local cluster) or set BUTTER_SPARK_HOST / BUTTER_SPARK_PORT")
