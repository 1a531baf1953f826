"""The cluster target's plumbing that needs no JVM: the refusal when no Thrift server answers,
what each dbt-spark method needs installed, the Thrift server's command line, and the stop
that leaves no process of a group behind. The cluster itself (start, build, read through the
endpoint, Ctrl-C) is tested once, in test_spark_equality.py::TestClusterCurrentLayout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from butter_warehouse import spark, spark_cluster

from conftest import PROJECT_ROOT


def test_a_cluster_build_without_a_thrift_server_is_refused_before_reading(
        demo_root: Callable[..., Path], tmp_path: Path) -> None:
    port = spark_cluster.free_port()  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUTTER_")}
    env.update({"BUTTER_DATA_ROOT": str(demo_root("published")), "BUTTER_SPARK_PORT": str(port),
                "BUTTER_SPARK_WAREHOUSE": str(tmp_path / "spark"), "BUTTER_S3_CACHE": str(tmp_path / "cache")})
    proc = subprocess.run([str(Path(sys.executable).with_name("butter")), "build", "--target", "spark_cluster"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"no Spark Thrift server answers at 127.0.0.1:{port}" in lines[0]
    assert "butter spark-cluster" in lines[0]
    assert not (tmp_path / "spark").exists() and not (tmp_path / "cache").exists()  # nothing landed or scanned


def test_each_method_names_what_it_lacks() -> None:
    assert spark.spark_missing("odbc") is not None and "'odbc'" in str(spark.spark_missing("odbc"))
    for method, modules in spark.METHOD_MODULES.items():
        missing = spark.spark_missing(method)
        assert missing is None or any(module in missing for module in modules), (method, missing)
    # the thrift method runs Spark elsewhere: it never asks for Java or pyspark
    assert "pyspark" not in spark.METHOD_MODULES["thrift"]


def test_the_thrift_server_gets_its_warehouse_metastore_and_port(tmp_path: Path) -> None:
    spec = spark_cluster.ClusterSpec(tmp_path, worker_cores=3, executor_memory="768m", driver_memory="1g")
    args = spark_cluster.thrift_server_args(Path("/spark"), spec, "spark://127.0.0.1:7077", 12345)
    confs = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--conf")
    assert confs["spark.sql.warehouse.dir"] == str(tmp_path / "warehouse")
    assert confs["spark.hadoop.javax.jdo.option.ConnectionURL"] == \
        f"jdbc:derby:;databaseName={tmp_path / 'metastore_db'};create=true"
    assert (confs["spark.executor.memory"], confs["spark.cores.max"]) == ("768m", "3")
    assert args[args.index("--master") + 1] == "spark://127.0.0.1:7077"
    assert args[args.index("--driver-memory") + 1] == "1g"
    assert "hive.server2.thrift.port=12345" in args and "hive.server2.thrift.bind.host=127.0.0.1" in args
    assert args[-1] == "spark-internal" and args[args.index("--class") + 1] == spark_cluster.THRIFT_SERVER_CLASS


def test_stop_kills_the_whole_group_even_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    """As the worker's executors: a child in the leader's group that ignores SIGTERM is killed too."""
    spec = spark_cluster.ClusterSpec(tmp_path)
    (tmp_path / "logs").mkdir()
    script = "trap '' TERM; sleep 300 & echo child $!; trap '' TERM; wait"
    process = spark_cluster.launch("stubborn", ["bash", "-c", script], spec, dict(os.environ))
    deadline = time.monotonic() + 30
    while "child" not in process.log.read_text():
        assert time.monotonic() < deadline, "the test's process did not start"
        time.sleep(0.1)
    child = int(process.log.read_text().split("child")[1].split()[0])
    assert spark_cluster.group_alive(process.popen.pid)
    assert spark_cluster.stop_group(process, grace=1.0) == []
    assert not spark_cluster.group_alive(process.popen.pid)
    assert spark_cluster.zombie(child)  # gone, or dead and not yet reaped by its new parent
