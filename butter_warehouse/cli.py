"""The ``butter`` command: demo data, code generation and the warehouse build.

    butter demo [--out DIR] [--spelling published|framework] [sizes...]
    butter codegen [--check]
    butter build [--skip-docs] [--dbt-arg ARG ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEMO_ROOT = PROJECT_ROOT / "data" / "demo"


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    sizes = {"experiments": args.experiments} if args.experiments is not None else {}
    manifest = demo.generate(
        Path(args.out),
        spelling=args.spelling,
        runs_per_experiment=args.runs,
        epochs=args.epochs,
        seed=args.seed,
        progress=None,
        **sizes,
    )
    counts = manifest.get("counts", {})
    total_rows = sum(v.get("rows", 0) for v in counts.values()) if isinstance(counts, dict) else "?"
    print(f"demo data ({args.spelling} spelling) written to {args.out}: {total_rows} rows in {len(counts)} folders")
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
    """The configured data root (env BUTTER_DATA_ROOT, a local one made absolute), or the demo folder."""
    root = os.environ.get("BUTTER_DATA_ROOT") or str(DEFAULT_DEMO_ROOT)
    return root if "://" in root else os.path.abspath(root)


def dbt_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DBT_PROFILES_DIR", str(PROJECT_ROOT))
    env.setdefault("DBT_PROJECT_DIR", str(PROJECT_ROOT))
    for name in ("DBT_PROFILES_DIR", "DBT_PROJECT_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH"):
        if env.get(name):  # absolute: `butter build` runs dbt from the build folder
            env[name] = os.path.abspath(env[name])
    env["BUTTER_DATA_ROOT"] = data_root()
    return env


def run_dbt(*args: str, env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT) -> int:
    """Run one dbt command in the project (from ``cwd``); returns its exit code."""
    cmd = [str(Path(sys.executable).with_name("dbt")), *args]
    print("+ dbt " + " ".join(args), flush=True)
    return subprocess.call(cmd, cwd=cwd, env=env or dbt_env())


def warehouse_path() -> Path:
    """Where the published warehouse lives (env BUTTER_DUCKDB_PATH)."""
    return Path(os.environ.get("BUTTER_DUCKDB_PATH") or PROJECT_ROOT / "warehouse" / "butter.duckdb")


def _build(args: argparse.Namespace) -> int:
    from .publish import build_and_publish

    if not os.environ.get("BUTTER_DATA_ROOT") and not (DEFAULT_DEMO_ROOT / "all_runs").exists():
        print(f"BUTTER_DATA_ROOT is not set: generating demo data in {DEFAULT_DEMO_ROOT}")
        from . import demo

        demo.generate(DEFAULT_DEMO_ROOT, spelling="published")

    def build(path: Path) -> int:
        # dbt runs in the build folder with the file name as DuckDB path, so the
        # profile dbt hashes is the same for every build and dbt reuses its
        # parse (target/partial_parse.msgpack) instead of parsing again.
        env = dbt_env()
        env["BUTTER_DUCKDB_PATH"] = path.name
        code = run_dbt("build", *args.dbt_arg, env=env, cwd=path.parent)
        if code == 0 and not args.skip_docs:
            code = run_dbt("docs", "generate", env=env, cwd=path.parent)
        return code

    return build_and_publish(warehouse_path(), build)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="butter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo_p = sub.add_parser("demo", help="write deterministic BUTTER-shaped demo data")
    demo_p.add_argument("--out", default=str(DEFAULT_DEMO_ROOT))
    demo_p.add_argument("--spelling", choices=["published", "framework"], default="published")
    demo_p.add_argument("--experiments", type=int, default=None, help="target number of experiments")
    demo_p.add_argument("--runs", type=int, default=3, help="runs (seeds) per experiment")
    demo_p.add_argument("--epochs", type=int, default=30, help="base epochs (the real data's 3000)")
    demo_p.add_argument("--seed", type=int, default=0)
    demo_p.set_defaults(func=_demo)

    codegen_p = sub.add_parser("codegen", help="write the dbt files derived from the contract")
    codegen_p.add_argument("--check", action="store_true", help="fail if generated files are stale")
    codegen_p.set_defaults(func=_codegen)

    build_p = sub.add_parser("build", help="build the warehouse and its docs")
    build_p.add_argument("--skip-docs", action="store_true")
    build_p.add_argument("--dbt-arg", action="append", default=[], help="extra argument passed to dbt build")
    build_p.set_defaults(func=_build)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
