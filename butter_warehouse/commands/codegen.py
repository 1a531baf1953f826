"""``butter codegen``: write (or check) the dbt files derived from the contract."""

from __future__ import annotations

import argparse
import sys

from ..context import Context


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("codegen", help="write the dbt files derived from the contract")
    p.add_argument("--check", action="store_true", help="fail if generated files are stale")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return True


def run(ctx: Context, args: argparse.Namespace) -> int:
    from .. import codegen

    root = ctx.root
    if args.check:
        stale = codegen.stale(root)
        for path in stale:
            print(f"stale generated file: {path.relative_to(root)}", file=sys.stderr)
        if stale:
            print("run `butter codegen` and commit the result", file=sys.stderr)
        return 1 if stale else 0
    for path in codegen.write(root):
        print(f"wrote {path.relative_to(root)}")
    return 0
