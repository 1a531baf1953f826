"""The build: one pipeline, engine-specific steps behind one interface. It reads top to bottom::

    build(ctx, request)
        settings, quarantine limit, engine (the target's type), demo data
        data root = landing.land_for_build(...)      an s3:// or unreadable root: its local copy
        with engine.workspace(ctx, request) as ws:  DuckDB: publish.new_build (locks, build folder)
            scan the data root                       -> ws.inventory_dir
            dbt build; engine.after_build            Spark: registers the sources first (on-run-start)
                                                     DuckDB: the quarantine summary
            dbt docs generate
            engine.finish                            DuckDB: the drift check
            engine.publish                           DuckDB: publish.publish (checks, atomic swap)

``build(ctx, request)`` runs the steps every engine shares; an ``Engine`` supplies
the rest. The engine is chosen by the ``type`` of the dbt target in profiles.yml
(``duckdb`` or ``spark``), never by its name.

- ``DuckDBEngine``: builds a new file in a build folder beside the published
  warehouse (dbt runs there), prints the quarantine summary, checks that the
  data root did not change during the build (``drift``) and publishes with an
  atomic swap (``publish.new_build`` / ``publish.publish``).
- ``SparkEngine``: has ``dbt build`` register the published folders as
  partitioned source tables first (``BUTTER_REGISTER_SOURCES=1``: the project's
  on-run-start hook runs ``butter_register_sources`` in the same dbt command) and
  builds in place (dbt-spark replaces each table; no swap): under ``BUTTER_SPARK_WAREHOUSE`` in this process
  (dbt-spark's ``session`` method), or on a cluster through its Thrift server
  (``thrift``), whose executors read the data root and the inventory in
  ``BUTTER_SPARK_WAREHOUSE/inventory`` at the same paths.
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import yaml

from . import dbt_runner, drift, inventory, landing, ownership, publish, quarantine, spark
from .context import Context
from .errors import DATA_ROOT_CHANGED, InputError


class TargetError(InputError, RuntimeError):
    """A dbt target that is not in profiles.yml, of a type butter cannot build, or whose engine is not installed."""

    names_command = True


@dataclass(frozen=True)
class BuildRequest:
    """What ``butter build`` was asked for (its options, parsed)."""

    target: str = "dev"
    docs: bool = True
    dbt_args: tuple[str, ...] = ()
    #: a share of a folder's rows (``quarantine.limit_argument``); None: dbt_project.yml's
    quarantine_limit: float | None = None
    allow_shrink: bool = False
    lock_wait: float = 60.0
    replace_unrecognized: bool = False


@dataclass
class Workspace:
    """Where one build runs: dbt's working folder, the inventory folder and dbt's environment."""

    cwd: Path
    inventory_dir: Path
    env: dict[str, str]
    target_args: tuple[str, ...] = ()
    keep_fds: tuple[int, ...] = ()
    database: Path | None = None
    #: the DuckDB build being made (publish.new_build), None for Spark
    build: publish.Build | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def run_scan(root: str, out_dir: Path, ctx: Context | None = None) -> bool:
    """Scan the data root, write the inventory, print what was found; False on errors."""
    try:
        inv = inventory.scan(root, ctx.cfg if ctx is not None else None)
    except inventory.ScanError as exc:
        print(f"BUTTER scan error: {exc}", file=sys.stderr)
        return False
    inventory.write(inv, out_dir)
    for line in inventory.summary_lines(inv):
        print(line, file=sys.stderr if " error: " in line else sys.stdout)
    if inv.errors:
        print(f"BUTTER scan: {len(inv.errors)} error(s) in {root}; nothing was built.", file=sys.stderr)
        return False
    return True


class Engine(ABC):
    """The engine-specific steps of a build."""

    type: ClassVar[str]
    #: how an s3:// data root is landed for this engine (download.ENCODINGS, via landing)
    landing_encoding: ClassVar[str] = "copy"
    #: parquet codecs the engine cannot read: a local root using one is built from a copy
    #: re-encoded as ``landing_encoding``
    unreadable_codecs: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, target: str, default_target: bool, output: dict[str, Any] | None = None) -> None:
        self.target = target
        #: the target's profiles.yml entry (unrendered)
        self.output: dict[str, Any] = dict(output or {})
        #: dbt's --target argument: none for the profile's default target
        self.target_args: tuple[str, ...] = () if default_target else ("--target", target)

    def missing(self) -> str | None:
        """Why this engine cannot build here (a missing install), or None."""
        return None

    def unreachable(self, ctx: Context) -> str | None:
        """Why the engine's server cannot be reached (checked before anything is read), or None."""
        return None

    @abstractmethod
    def workspace(self, ctx: Context, request: BuildRequest) -> AbstractContextManager[Workspace]:
        """Where the build runs, for the ``with`` block of the whole build (cleaned up on leaving it)."""

    def after_build(self, ctx: Context, request: BuildRequest, ws: Workspace, code: int, limit: float) -> None:
        """After dbt build, whatever its result."""
        return None

    def finish(self, ctx: Context, request: BuildRequest, ws: Workspace, code: int) -> int:
        """After dbt build and docs; the build's exit code."""
        return code

    def publish(self, ctx: Context, request: BuildRequest, ws: Workspace, code: int) -> int:
        """Last, with the build's exit code: publish what was built; the exit code."""
        return code


class DuckDBEngine(Engine):
    type = "duckdb"
    landing_encoding = "copy"

    @contextmanager
    def workspace(self, ctx: Context, request: BuildRequest) -> Iterator[Workspace]:
        with publish.new_build(ctx.warehouse_path(), ctx.cfg, lock_wait=request.lock_wait,
                               replace_unrecognized=request.replace_unrecognized) as build:
            inventory_dir = build.path.parent / "inventory"
            # dbt runs in the build folder with the file name as DuckDB path and the
            # inventory folder's name: the compiled SQL names no build folder.
            env = ctx.dbt_env()
            env["BUTTER_DUCKDB_PATH"] = build.path.name
            env["BUTTER_INVENTORY"] = inventory_dir.name  # relative to the build folder
            # the decode store outlives the build folder: beside the published warehouse
            env["BUTTER_DECODE_STORE"] = str(ctx.cfg.decode_store_path(ctx.root))
            yield Workspace(cwd=build.path.parent, inventory_dir=inventory_dir, env=env, target_args=self.target_args,
                            keep_fds=publish.held_lock_fds(), database=build.path, build=build)

    def after_build(self, ctx: Context, request: BuildRequest, ws: Workspace, code: int, limit: float) -> None:
        path = ws.database
        folders = quarantine.damaged_folders(path, ctx.cfg) if path is not None and path.exists() else None
        for line in quarantine.summary(folders or [], limit):
            print(line, file=sys.stderr if line.startswith("refused") else sys.stdout)

    def finish(self, ctx: Context, request: BuildRequest, ws: Workspace, code: int) -> int:
        changed = drift.check(ctx.data_root(), ws.inventory_dir, ctx.cfg)  # also explains a failure it caused
        if changed:
            print(f"BUTTER: {changed}", file=sys.stderr)
            return code or DATA_ROOT_CHANGED
        return code

    def publish(self, ctx: Context, request: BuildRequest, ws: Workspace, code: int) -> int:
        assert ws.build is not None
        if code != 0:
            print(f"build failed (exit {code}): {ws.build.final_path} was left as it was")
            return code
        return publish.publish(ws.build, ownership.published_relations(ctx.root, ctx.project_config),
                               allow_shrink=request.allow_shrink, data_root=ctx.data_root())


class SparkEngine(Engine):
    type = "spark"
    landing_encoding = "zstd"
    unreadable_codecs = spark.UNREADABLE_CODECS

    @property
    def method(self) -> str:
        """dbt-spark's connection method: ``session`` (Spark in this process) or ``thrift`` (a cluster's endpoint)."""
        return str(self.output.get("method", "session"))

    def missing(self) -> str | None:
        return spark.spark_missing(self.method)

    def unreachable(self, ctx: Context) -> str | None:
        if self.method != "thrift":
            return None
        return spark.thrift_unreachable(ctx.cfg.spark_host, ctx.cfg.spark_port)

    @contextmanager
    def workspace(self, ctx: Context, request: BuildRequest) -> Iterator[Workspace]:
        warehouse = ctx.cfg.spark_warehouse_dir(ctx.root)
        warehouse.mkdir(parents=True, exist_ok=True)
        inventory_dir = warehouse / "inventory"
        env = ctx.dbt_env()
        env[spark.ENV_VAR] = str(warehouse)
        env["BUTTER_INVENTORY"] = str(inventory_dir)
        # dbt build registers the sources first (on-run-start), instead of a dbt run-operation
        # before it: one JVM start (session) and one parse fewer
        env[spark.REGISTER_SOURCES_VAR] = "1"
        yield Workspace(cwd=ctx.root, inventory_dir=inventory_dir, env=env, target_args=self.target_args,
                        notes={"warehouse": warehouse})

    def finish(self, ctx: Context, request: BuildRequest, ws: Workspace, code: int) -> int:
        if code == 0 and self.method == "session":
            print(f"Spark warehouse: {ws.notes['warehouse']} (tables as parquet in <schema>.db/<table>/)")
        elif code == 0:
            print(f"Spark cluster ({ctx.cfg.spark_host}:{ctx.cfg.spark_port}): tables in its metastore's schemas "
                  f"(marts, audit, ...), as parquet under its spark.sql.warehouse.dir; inventory in {ws.inventory_dir}")
        return code


#: profiles.yml ``type`` -> engine
ENGINES: dict[str, type[Engine]] = {cls.type: cls for cls in (DuckDBEngine, SparkEngine)}


def profile_outputs(ctx: Context) -> tuple[dict[str, Any], str]:
    """The butter profile's outputs and default target, from profiles.yml (DBT_PROFILES_DIR, else the project)."""
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR") or ctx.root)
    name = ctx.project_config.get("profile") or ctx.project_config.get("name")
    path = profiles_dir / "profiles.yml"
    try:
        profile = (yaml.safe_load(path.read_text()) or {})[name]
    except (OSError, KeyError, TypeError) as exc:
        raise TargetError(f"no profile {name!r} in {path}: {exc}") from None
    return dict(profile.get("outputs") or {}), str(profile.get("target", "dev"))


def engine_for(ctx: Context, target: str) -> Engine:
    """The engine of ``target``, by its ``type`` in profiles.yml."""
    outputs, default = profile_outputs(ctx)
    if target not in outputs:
        raise TargetError(f"no target {target!r} in profiles.yml (targets: {', '.join(sorted(outputs))})")
    kind = str(outputs[target].get("type", ""))
    if kind not in ENGINES:
        raise TargetError(f"target {target!r} is of type {kind!r}; butter builds {' or '.join(ENGINES)}")
    return ENGINES[kind](target, default_target=target == default, output=outputs[target])


def build(ctx: Context, request: BuildRequest) -> int:
    """``butter build``: every step; the exit code."""
    cfg = ctx.cfg  # validates every setting before anything runs
    # one --vars for dbt: butter's limit merged with --dbt-arg --vars (LimitError when they disagree)
    limit, dbt_args = quarantine.build_arguments(request.quarantine_limit, request.dbt_args, ctx.project_config)
    request = replace(request, dbt_args=dbt_args)
    engine = engine_for(ctx, request.target)
    missing = engine.missing() or engine.unreachable(ctx)
    if missing:
        raise TargetError(f"--target {request.target}: {missing}")
    if not cfg.data_root and not (ctx.demo_root / "all_runs").exists():
        print(f"BUTTER_DATA_ROOT is not set: generating demo data in {ctx.demo_root}")
        from . import demo

        demo.generate(ctx.demo_root, spelling="published")
    # s3:// roots, and local roots in a codec the engine cannot read, are built from a local copy
    # (held for the whole build: another build's landing of the same root waits)
    with landing.landed_for_build(ctx.root, ctx.data_root(), cfg, engine.landing_encoding,
                                  engine.unreadable_codecs) as landed:  # DownloadError: nothing was built
        if landed != ctx.data_root():
            ctx = ctx.with_data_root(landed)
        with engine.workspace(ctx, request) as ws:
            code = run_steps(ctx, request, engine, ws, limit)
            return engine.publish(ctx, request, ws, code)


def run_steps(ctx: Context, request: BuildRequest, engine: Engine, ws: Workspace, limit: float) -> int:
    """Scan, dbt build, docs and the engine's checks in the workspace; the build's exit code."""
    if not run_scan(ctx.data_root(), ws.inventory_dir, ctx):
        return inventory.ScanError.exit_code
    code = dbt_runner.run_dbt(ctx, "build", *ws.target_args, *request.dbt_args, env=ws.env,
                              keep_fds=ws.keep_fds, cwd=ws.cwd)
    engine.after_build(ctx, request, ws, code, limit)
    if code == 0 and request.docs:
        code = dbt_runner.run_dbt(ctx, "docs", "generate", *ws.target_args, env=ws.env, keep_fds=ws.keep_fds,
                                  cwd=ws.cwd)
    return engine.finish(ctx, request, ws, code)
