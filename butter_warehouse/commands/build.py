"""``butter build``: scan the data root, build the warehouse and its docs, publish (``pipeline``)."""

from __future__ import annotations

import argparse

from ..context import Context
from ..pipeline import BuildRequest, build
from ..quarantine import limit_argument


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("build", help="scan the data root, build the warehouse and its docs, publish")
    p.add_argument("--skip-docs", action="store_true")
    p.add_argument("--target", default="dev", metavar="NAME",
                   help="dbt target: dev (DuckDB, published with an atomic swap) or spark (README: Engines); "
                        "the engine is the target's type in profiles.yml")
    p.add_argument("--allow-shrink", action="store_true",
                   help="publish even if the new warehouse has far fewer runs or experiments")
    p.add_argument("--lock-wait", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for another build of the same warehouse (default 60)")
    p.add_argument("--quarantine-limit", type=limit_argument, default=None, metavar="SHARE",
                   help="largest share of any folder's rows that may be damaged and quarantined before the "
                        "build is refused (default: var butter_quarantine_limit in dbt_project.yml, 0.01)")
    p.add_argument("--replace-unrecognized", action="store_true",
                   help="replace a file at the warehouse path that is not a warehouse butter built")
    p.add_argument("--full-refresh", action="store_true",
                   help="decode every source file again: the decode store is rebuilt instead of reused "
                        "(DuckDB; a build otherwise decodes only the files it has not seen or that changed)")
    p.add_argument("--dbt-arg", action="append", default=[], metavar="ARG",
                   help="extra argument passed to dbt build (repeat for more)")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return True


def run(ctx: Context, args: argparse.Namespace) -> int:
    return build(ctx, BuildRequest(
        target=args.target, docs=not args.skip_docs, dbt_args=tuple(args.dbt_arg) + (("--full-refresh",) if args.full_refresh else ()),
        quarantine_limit=args.quarantine_limit, allow_shrink=args.allow_shrink, lock_wait=args.lock_wait,
        replace_unrecognized=args.replace_unrecognized,
    ))
