"""``butter compile [DBT_ARG ...]``: dbt compile without opening the published warehouse: the compiled
SQL goes to ``target/compiled/butter/`` and, for one selected node, to the terminal too (dbt's preview)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from .. import dbt_runner
from ..context import Context

#: everything after the command word goes to dbt unchanged (cli passes it through)
PASS_THROUGH = True


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("compile", help="dbt compile (e.g. the analyses) without opening the warehouse: writes the "
                                       "SQL to target/compiled/butter/ and prints one selected node's")
    p.add_argument("dbt_args", nargs=argparse.REMAINDER, help="arguments for dbt compile")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return True


def run(ctx: Context, args: argparse.Namespace) -> int:
    """dbt compile against a scratch copy of the catalog name, so it works
    while readers (or a BI tool) hold the published warehouse open."""
    scratch = Path(tempfile.mkdtemp(prefix="butter-compile-")) / ctx.warehouse_path().name
    env = ctx.dbt_env()
    env["BUTTER_DUCKDB_PATH"] = str(scratch)
    try:
        return dbt_runner.run_dbt(ctx, "compile", *args.dbt_args, env=env)
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)
