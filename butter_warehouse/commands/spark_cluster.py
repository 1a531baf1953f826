"""``butter spark-cluster``: a local standalone Spark cluster with a Thrift server, until Ctrl-C."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import spark_cluster
from ..context import Context

#: the cluster's folder in the project when --dir is not given
DEFAULT_DIR = "warehouse/spark-cluster"


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "spark-cluster",
        help="run a local standalone Spark cluster and Thrift server for `--target spark_cluster` (Ctrl-C stops it)",
        description=spark_cluster.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dir", default=None, metavar="DIR",
                   help=f"the cluster's folder: logs, warehouse, metastore (default: {DEFAULT_DIR} in the project)")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 2, metavar="N",
                   help="the worker's cores (default: this machine's)")
    p.add_argument("--worker-memory", default="2g", metavar="SIZE", help="the worker's memory (default: 2g)")
    p.add_argument("--executor-memory", default="1g", metavar="SIZE", help="each executor's heap (default: 1g)")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return args.dir is None


def run(ctx: Context, args: argparse.Namespace) -> int:
    directory = Path(os.path.abspath(args.dir)) if args.dir else ctx.root / DEFAULT_DIR
    spec = spark_cluster.ClusterSpec(directory, worker_cores=args.cores, worker_memory=args.worker_memory,
                                     executor_memory=args.executor_memory, driver_memory=ctx.cfg.spark_driver_memory)
    print(f"starting a Spark master, a worker ({spec.worker_cores} cores, {spec.worker_memory}) and a Thrift "
          f"server; logs in {directory / 'logs'}", flush=True)
    try:
        with spark_cluster.running(spec, ctx.process_env()) as cluster:
            exports = " ".join(f"{k}={v}" for k, v in cluster.env().items())
            print(f"Spark cluster ready: master {cluster.master_url}, Thrift server "
                  f"{spark_cluster.HOST}:{cluster.thrift_port}\n"
                  f"in another shell:\n"
                  f"  export {exports}\n"
                  f"  butter build --target spark_cluster\n"
                  f"Ctrl-C stops the cluster.", flush=True)
            spark_cluster.watch(cluster)
    except KeyboardInterrupt:
        print("Spark cluster stopped (Thrift server, worker and executors, master); nothing is left running.")
        return 0
    return 0  # pragma: no cover - watch returns only by raising
