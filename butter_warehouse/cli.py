"""The ``butter`` command: demo data, code generation and the warehouse build.

    butter demo [--out DIR] [--spelling published|framework] [sizes...]
    butter codegen [--check]
    butter scan [--out DIR]
    butter build [--skip-docs] [--allow-shrink] [--replace-unrecognized] [--quarantine-limit SHARE] [--lock-wait SECONDS]
                 [--dbt-arg ARG ...]
    butter compile [DBT_ARG ...]
    butter download --out DIR [--folders F,..] [--sweeps S,..] [--datasets D,..] [--where KEY=V,..] [--compression zstd]
    butter export MODEL_OR_SELECT --out PATH [--format parquet|csv]
    butter figures [--out DIR] [--dataset NAME] [--shape NAME] [--depth N]

The dbt project is --project-dir, else BUTTER_PROJECT_DIR, else the nearest
folder at or above the working directory whose dbt_project.yml is named butter.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from . import dbt_progress, download, export, project

# Set by main() (use_project): --project-dir, BUTTER_PROJECT_DIR or the nearest
# dbt_project.yml named butter at or above the working directory.
PROJECT_ROOT: Path
DEFAULT_DEMO_ROOT: Path


def use_project(root: Path) -> None:
    """Make ``root`` the project the commands work on."""
    global PROJECT_ROOT, DEFAULT_DEMO_ROOT
    PROJECT_ROOT = root
    DEFAULT_DEMO_ROOT = root / "data" / "demo"


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    sizes = {"experiments": args.experiments} if args.experiments is not None else {}
    out = Path(args.out) if args.out else DEFAULT_DEMO_ROOT
    manifest = demo.generate(
        out,
        spelling=args.spelling,
        runs_per_experiment=args.runs,
        epochs=args.epochs,
        seed=args.seed,
        compression=args.compression,
        progress=None,
        **sizes,
    )
    counts = manifest.get("counts", {})
    total_rows = sum(v.get("rows", 0) for v in counts.values()) if isinstance(counts, dict) else "?"
    print(f"demo data ({args.spelling} spelling) written to {out}: {total_rows} rows in {len(counts)} folders")
    return 0


def _codegen(args: argparse.Namespace) -> int:
    from . import codegen

    if args.check:
        stale = codegen.stale(PROJECT_ROOT)
        for path in stale:
            print(f"stale generated file: {path.relative_to(PROJECT_ROOT)}", file=sys.stderr)
        if stale:
            print("run `butter codegen` and commit the result", file=sys.stderr)
        return 1 if stale else 0
    for path in codegen.write(PROJECT_ROOT):
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    return 0


def data_root() -> str:
    """The configured data root (env BUTTER_DATA_ROOT), or the demo folder.
    A relative local path is resolved against the directory butter was
    started in, not the project folder where dbt runs."""
    from .inventory import normalize_root

    return normalize_root(os.environ.get("BUTTER_DATA_ROOT") or str(DEFAULT_DEMO_ROOT))


def dbt_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DBT_PROFILES_DIR", str(PROJECT_ROOT))
    env["DBT_PROJECT_DIR"] = str(PROJECT_ROOT)  # the project butter found, not a stray DBT_PROJECT_DIR
    for name in ("DBT_PROFILES_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH"):
        if env.get(name):  # absolute: `butter build` runs dbt from the build folder
            env[name] = os.path.abspath(env[name])
    env["BUTTER_DATA_ROOT"] = data_root()
    # When butter ends dbt (Ctrl-C, SIGTERM), multiprocessing's resource tracker
    # frees dbt's semaphores and warns that they "leaked": noise after the one line
    # butter prints about the interruption.
    quiet = "ignore:resource_tracker:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(filter(None, (env.get("PYTHONWARNINGS"), quiet)))
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM when butter dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run_dbt(*args: str, env: dict[str, str] | None = None, keep_fds: tuple[int, ...] = (),
            cwd: Path | None = None) -> int:
    """Run one dbt command in the project (from ``cwd``, default the project
    folder); returns its exit code. The child
    dies with butter (PR_SET_PDEATHSIG) and inherits ``keep_fds`` (the build
    locks, so they stay held while it runs). It runs in its own process group,
    so Ctrl-C reaches butter only, which then ends dbt (SIGTERM: no traceback)."""
    cmd = [str(Path(sys.executable).with_name("dbt")), *args]
    print("+ dbt " + " ".join(args), flush=True)
    popen = {"pass_fds": keep_fds, "preexec_fn": _die_with_parent, "process_group": 0}
    return dbt_progress.run(cmd, cwd=cwd or PROJECT_ROOT, env=env or dbt_env(), popen_kwargs=popen)


def warehouse_path() -> Path:
    """Where the published warehouse lives (env BUTTER_DUCKDB_PATH; relative
    to the directory butter was started in)."""
    return Path(os.path.abspath(os.environ.get("BUTTER_DUCKDB_PATH") or PROJECT_ROOT / "warehouse" / "butter.duckdb"))


def _run_scan(root: str, out_dir: Path) -> bool:
    """Scan the data root, write the inventory, print what was found; False on errors."""
    from . import inventory

    try:
        inv = inventory.scan(root)
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


def _scan(args: argparse.Namespace) -> int:
    from .duckdb_plugin import check_settings

    check_settings()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="butter-inventory-"))
    ok = _run_scan(data_root(), out)
    print(f"inventory written to {out}")
    return 0 if ok else 1


def _build(args: argparse.Namespace) -> int:
    from . import drift, quarantine
    from .duckdb_plugin import check_settings
    from .ownership import published_relations
    from .publish import build_and_publish, held_lock_fds

    check_settings()
    if args.quarantine_limit is not None:
        try:
            limit = quarantine.parse_limit(args.quarantine_limit)
        except quarantine.LimitError as exc:
            print(f"butter: {exc}", file=sys.stderr)
            return 2
        limit_args = ["--vars", f"{{{quarantine.VAR}: {limit!r}}}"]
    else:
        limit, limit_args = quarantine.default_limit(PROJECT_ROOT), []
    if not download.land_for_build(PROJECT_ROOT, args.target):  # s3:// roots are built from a local copy
        return 2
    if not os.environ.get("BUTTER_DATA_ROOT") and not (DEFAULT_DEMO_ROOT / "all_runs").exists():
        print(f"BUTTER_DATA_ROOT is not set: generating demo data in {DEFAULT_DEMO_ROOT}")
        from . import demo

        demo.generate(DEFAULT_DEMO_ROOT, spelling="published")

    if args.target != "dev":
        from . import spark

        return spark.build(
            project_root=PROJECT_ROOT, env=dbt_env(), root=data_root(), scan=_run_scan, run_dbt=run_dbt,
            target=args.target, dbt_args=[*limit_args, *args.dbt_arg], docs=not args.skip_docs,
        )

    def build(path: Path) -> int:
        inventory_dir = path.parent / "inventory"
        if not _run_scan(data_root(), inventory_dir):
            return 2
        # dbt runs in the build folder with the file name as DuckDB path and the
        # inventory folder's name: the compiled SQL names no build folder.
        env = dbt_env()
        env["BUTTER_DUCKDB_PATH"] = path.name
        env["BUTTER_INVENTORY"] = inventory_dir.name  # relative to the build folder
        locks = held_lock_fds()
        code = run_dbt("build", *limit_args, *args.dbt_arg, env=env, keep_fds=locks, cwd=path.parent)
        folders = quarantine.damaged_folders(path) if path.exists() else None
        for line in quarantine.summary(folders or [], limit):
            print(line, file=sys.stderr if line.startswith("refused") else sys.stdout)
        if code == 0 and not args.skip_docs:
            code = run_dbt("docs", "generate", env=env, keep_fds=locks, cwd=path.parent)
        changed = drift.check(data_root(), inventory_dir)  # also explains a failure it caused
        if changed:
            print(f"BUTTER: {changed}", file=sys.stderr)
            return code or 3
        return code

    return build_and_publish(warehouse_path(), build, required=published_relations(PROJECT_ROOT),
                             allow_shrink=args.allow_shrink, lock_wait=args.lock_wait,
                             replace_unrecognized=args.replace_unrecognized, data_root=data_root())


def _compile(args: argparse.Namespace) -> int:
    """dbt compile against a scratch copy of the catalog name, so it works
    while readers (or a BI tool) hold the published warehouse open."""
    scratch = Path(tempfile.mkdtemp(prefix="butter-compile-")) / warehouse_path().name
    env = dbt_env()
    env["BUTTER_DUCKDB_PATH"] = str(scratch)
    try:
        return run_dbt("compile", *args.dbt_args, env=env)
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)


def _figures(args: argparse.Namespace) -> int:
    from . import figures

    site = Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_ROOT / "target")
    return figures.run(args, warehouse_path(), PROJECT_ROOT, site)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="butter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project-dir", default=None,
                        help=f"the butter dbt project (default: ${project.ENV_VAR}, else found from the working directory)")
    parser.set_defaults(needs_project=True)
    sub = parser.add_subparsers(dest="command", required=True)

    demo_p = sub.add_parser("demo", help="write deterministic BUTTER-shaped demo data")
    demo_p.add_argument("--out", default=None, help="default: data/demo in the project")
    demo_p.add_argument("--spelling", choices=["published", "framework"], default="published")
    demo_p.add_argument("--experiments", type=int, default=None, help="target number of experiments")
    demo_p.add_argument("--runs", type=int, default=3, help="runs (seeds) per experiment")
    demo_p.add_argument("--epochs", type=int, default=30, help="base epochs (the real data's 3000)")
    demo_p.add_argument("--seed", type=int, default=0)
    demo_p.add_argument("--compression", choices=["brotli", "zstd"], default="brotli",
                        help="brotli as NREL's export (default); zstd, data page v1, no byte-stream-split: for Spark")
    demo_p.set_defaults(func=_demo, needs_project=False)

    codegen_p = sub.add_parser("codegen", help="write the dbt files derived from the contract")
    codegen_p.add_argument("--check", action="store_true", help="fail if generated files are stale")
    codegen_p.set_defaults(func=_codegen)

    scan_p = sub.add_parser("scan", help="inventory and check the data root (what build runs first)")
    scan_p.add_argument("--out", default=None, help="folder for the inventory parquet files (default: a temp folder)")
    scan_p.set_defaults(func=_scan)

    build_p = sub.add_parser("build", help="scan the data root, build the warehouse and its docs, publish")
    build_p.add_argument("--skip-docs", action="store_true")
    build_p.add_argument("--target", default="dev",
                         help="dbt target: dev (DuckDB, published with an atomic swap) or spark (README: Engines)")
    build_p.add_argument("--allow-shrink", action="store_true",
                         help="publish even if the new warehouse has far fewer runs or experiments")
    build_p.add_argument("--lock-wait", type=float, default=60.0, metavar="SECONDS",
                         help="how long to wait for another build of the same warehouse (default 60)")
    build_p.add_argument("--quarantine-limit", default=None, metavar="SHARE",
                         help="largest share of any folder's rows that may be damaged and quarantined before the "
                              "build is refused (default: var butter_quarantine_limit in dbt_project.yml, 0.01)")
    build_p.add_argument("--replace-unrecognized", action="store_true",
                         help="replace a file at the warehouse path that is not a warehouse butter built")
    build_p.add_argument("--dbt-arg", action="append", default=[], help="extra argument passed to dbt build")
    build_p.set_defaults(func=_build)

    compile_p = sub.add_parser("compile", help="dbt compile (e.g. the analyses) without opening the warehouse")
    compile_p.add_argument("dbt_args", nargs=argparse.REMAINDER, help="arguments for dbt compile")
    compile_p.set_defaults(func=_compile)

    export.register(sub)
    download.register(sub)

    figures_p = sub.add_parser("figures", help="draw the study's figures from the published warehouse")
    figures_p.add_argument("--out", default=None, help="output folder (default: assets/figures, shown in the docs)")
    figures_p.add_argument("--dataset", default=None,
                           help="dataset of the figures that show one (default: each where its sweep has most)")
    figures_p.add_argument("--shape", default=None,
                           help="network shape of the figures that show one (others say it does not apply)")
    figures_p.add_argument("--depth", type=int, default=None,
                           help="depth of the learning-curve and double-descent figures (others say it does not apply)")
    figures_p.set_defaults(func=_figures)

    argv = sys.argv[1:] if argv is None else list(argv)
    at = _command_index(argv)
    if at is not None and argv[at] == "compile":  # everything after it goes to dbt unchanged
        args = parser.parse_args([*argv[:at], "compile"])
        args.dbt_args = argv[at + 1:]
    else:
        args = parser.parse_args(argv)
    if args.needs_project or (args.command == "demo" and args.out is None):
        try:
            use_project(project.find_root(args.project_dir))
        except project.ProjectNotFound as exc:
            print(f"butter: {exc}", file=sys.stderr)
            return 2
    return _guarded(args)


def _command_index(argv: list[str]) -> int | None:
    """Position of the subcommand in ``argv`` (after the global options)."""
    i = 0
    while i < len(argv):
        if argv[i] == "--project-dir":
            i += 2
        elif argv[i].startswith("-"):
            i += 1
        else:
            return i
    return None


def _guarded(args: argparse.Namespace) -> int:
    """Run a command; expected failures end with one line, never a traceback."""
    import duckdb

    from .duckdb_plugin import SettingError
    from .ownership import UnrecognizedTarget
    from .publish import PublishError

    where = warehouse_path() if "PROJECT_ROOT" in globals() else "the published warehouse"
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    for sig in previous:
        signal.signal(sig, _term_as_interrupt)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"butter: interrupted; {where} was left as it was.", file=sys.stderr)
        return 130
    except (SettingError, PublishError, UnrecognizedTarget) as exc:
        print(f"butter: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:  # e.g. the disk filling up while the new file is checkpointed
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"butter: {first}. {where} was left as it was.", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            reason = "the disk is full"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = "permission denied"
        else:
            reason = exc.strerror or str(exc)
        target = f" ({exc.filename})" if exc.filename else ""
        print(f"butter: {reason}{target}: {exc.__class__.__name__}. {where} was left as it was.", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _term_as_interrupt(signum: int, frame: object) -> None:  # pragma: no cover - signal handler
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
