"""A local standalone Spark cluster with a Thrift server: the ``spark_cluster`` target's endpoint.

``butter spark-cluster`` (and the tests) start, from the pyspark install, the three
processes a real cluster has, each in its own process group, on 127.0.0.1:

1. a master (``org.apache.spark.deploy.master.Master``),
2. a worker (``...deploy.worker.Worker``) that starts the executors,
3. the Thrift server (``HiveThriftServer2`` through ``spark-submit``), the
   application whose driver plans every statement dbt sends and whose
   executors read the data root,

with free ports, logs in ``<dir>/logs/``, the Spark warehouse (tables as parquet in
``<dir>/warehouse/<schema>.db/<table>/``) and a Derby metastore under ``<dir>``.
``stop()`` stops them in reverse order (SIGTERM to each process group, SIGKILL after
a grace period) and checks that none of their processes is left.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

HOST = "127.0.0.1"
THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
#: seconds each process may take to come up (a JVM start on a loaded 2-core machine)
START_TIMEOUT = 240.0
#: seconds a process group gets between SIGTERM and SIGKILL
STOP_GRACE = 30.0


class ClusterError(InputError, RuntimeError):
    """The local cluster could not start: the message names the process and its log."""

    names_command = True


@dataclass(frozen=True)
class ClusterSpec:
    """What to start: the folder, one worker's cores and memory, the driver's memory, SQL settings."""

    directory: Path
    worker_cores: int = 2
    worker_memory: str = "2g"
    executor_memory: str = "1g"
    driver_memory: str = "2g"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class LocalCluster:
    """A running cluster (``start``); ``stop()`` ends it."""

    spec: ClusterSpec
    master_url: str
    thrift_port: int
    processes: list[Process] = field(default_factory=list)

    @property
    def warehouse(self) -> Path:
        """``spark.sql.warehouse.dir``: ``<warehouse>/<schema>.db/<table>/`` (BUTTER_SPARK_WAREHOUSE)."""
        return warehouse_dir(self.spec.directory)

    def env(self) -> dict[str, str]:
        """The settings ``butter build --target spark_cluster`` needs for this cluster."""
        return {"BUTTER_SPARK_HOST": HOST, "BUTTER_SPARK_PORT": str(self.thrift_port),
                "BUTTER_SPARK_WAREHOUSE": str(self.warehouse)}

    def stop(self) -> list[str]:
        """Stop every process group, newest first; what was still running afterwards (empty: all gone)."""
        left: list[str] = []
        for process in reversed(self.processes):
            left += stop_group(process)
        self.processes.clear()
        return left


def warehouse_dir(directory: Path) -> Path:
    return directory / "warehouse"


def spark_home() -> Path:
    """The pyspark install, which carries Spark's ``bin/`` scripts and jars."""
    try:
        import pyspark
    except ImportError:
        raise ClusterError("pyspark is not installed: run `make install-spark`") from None
    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((HOST, port)) == 0


def base_env(spec: ClusterSpec, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of every cluster process: ``environ`` (Java, PATH) with Spark's home and
    local dirs under the cluster's folder."""
    env = dict(environ)
    home = spark_home()
    env.update({
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOCAL_DIRS": str(spec.directory / "tmp"),
        "SPARK_CONF_DIR": str(spec.directory / "conf"),  # empty: no stray spark-defaults.conf is read
        "SPARK_NO_DAEMONIZE": "1",
    })
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    return env


def launch(name: str, args: list[str], spec: ClusterSpec, env: Mapping[str, str]) -> Process:
    """One process in its own process group, its output in ``<dir>/logs/<name>.log``."""
    log = spec.directory / "logs" / f"{name}.log"
    with open(log, "ab") as out:
        popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=dict(env), cwd=spec.directory, start_new_session=True)
    return Process(name, popen, log)


def wait_for(process: Process, ready: str | None, port: int | None, deadline: float) -> None:
    """Until the process's log says ``ready`` and ``port`` listens; ClusterError if it exits or time runs out."""
    while True:
        if process.popen.poll() is not None:
            raise ClusterError(f"the {process.name} exited ({process.popen.returncode}) while starting; "
                               f"log {process.log}:\n{tail(process.log)}")
        text = process.log.read_text(errors="replace") if process.log.exists() else ""
        if (ready is None or ready in text) and (port is None or listening(port)):
            return
        if time.monotonic() > deadline:
            raise ClusterError(f"the {process.name} did not start within {START_TIMEOUT:.0f} s; "
                               f"log {process.log}:\n{tail(process.log)}")
        time.sleep(0.5)


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def thrift_server_args(home: Path, spec: ClusterSpec, master_url: str, port: int) -> list[str]:
    """``spark-submit`` of the Thrift server: the cluster's driver, its warehouse and metastore."""
    directory = spec.directory
    conf = {
        "spark.sql.warehouse.dir": str(warehouse_dir(directory)),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={directory / 'metastore_db'};create=true",
        "spark.executor.memory": spec.executor_memory,
        "spark.cores.max": str(spec.worker_cores),
        "spark.ui.enabled": "false",
    }  # the SQL settings a build needs come with its session (profiles.yml, target spark_cluster)
    args = [str(home / "bin" / "spark-submit"), "--class", THRIFT_SERVER_CLASS, "--master", master_url,
            "--name", "butter-thrift-server", "--driver-memory", spec.driver_memory,
            "--driver-java-options", f"-Dderby.system.home={directory}"]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    args += ["--hiveconf", f"hive.server2.thrift.port={port}", "--hiveconf", f"hive.server2.thrift.bind.host={HOST}",
             "spark-internal"]
    return args


def start(spec: ClusterSpec, environ: Mapping[str, str]) -> LocalCluster:
    """Start master, worker and Thrift server with the environment ``environ``; a running cluster
    (stopped again if any step fails)."""
    directory = spec.directory
    for sub in ("logs", "tmp", "conf", "work"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    home = spark_home()
    env = base_env(spec, environ)
    spark_class = str(home / "bin" / "spark-class")
    master_port = free_port()
    cluster = LocalCluster(spec, master_url=f"spark://{HOST}:{master_port}", thrift_port=0)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        master = launch("master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", HOST,
                                   "--port", str(master_port), "--webui-port", str(free_port())], spec, env)
        cluster.processes.append(master)
        wait_for(master, "I have been elected leader", master_port, deadline)
        worker = launch("worker", [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", HOST,
                                   "--webui-port", str(free_port()), "--cores", str(spec.worker_cores),
                                   "--memory", spec.worker_memory, "--work-dir", str(directory / "work"),
                                   cluster.master_url], spec, env)
        cluster.processes.append(worker)
        wait_for(worker, "Successfully registered with master", None, deadline)
        cluster.thrift_port = free_port()
        thrift = launch("thrift-server", thrift_server_args(home, spec, cluster.master_url, cluster.thrift_port),
                        spec, env)
        cluster.processes.append(thrift)
        wait_for(thrift, None, cluster.thrift_port, time.monotonic() + START_TIMEOUT)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def stop_group(process: Process, grace: float = STOP_GRACE) -> list[str]:
    """SIGTERM the process's group, SIGKILL after ``grace`` seconds; ``[name]`` if anything of it is left."""
    pgid = process.popen.pid  # start_new_session: the group's id is the leader's pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        if not group_alive(pgid) and process.popen.poll() is not None:
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            process.popen.poll()  # reap the leader
            if not group_alive(pgid):
                break
            time.sleep(0.2)
    process.popen.poll()
    return [process.name] if group_alive(pgid) else []


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (a reaped leader's executors included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not all(zombie(pid) for pid in group_members(pgid))


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def zombie(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def watch(cluster: LocalCluster, poll: float = 1.0) -> None:
    """Block while every process runs; ClusterError naming the first that exits (Ctrl-C ends it too)."""
    while True:
        for process in cluster.processes:
            if process.popen.poll() is not None:
                raise ClusterError(f"the {process.name} exited ({process.popen.returncode}); "
                                   f"log {process.log}:\n{tail(process.log)}")
        time.sleep(poll)


@contextmanager
def running(spec: ClusterSpec, environ: Mapping[str, str]) -> Iterator[LocalCluster]:
    """A started cluster for the ``with`` block, stopped on leaving it (raises if anything is left running)."""
    cluster = start(spec, environ)
    try:
        yield cluster
    finally:
        left = cluster.stop()
        if left:
            raise ClusterError(f"still running after stop: {', '.join(left)}")
