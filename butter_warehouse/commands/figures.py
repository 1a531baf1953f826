"""``butter figures``: draw the study's figures from the published warehouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..context import Context


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("figures", help="draw the study's figures from the published warehouse")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: assets/figures, shown in the docs)")
    p.add_argument("--dataset", default=None, metavar="NAME",
                   help="dataset of the figures that show one (default: each where its sweep has most)")
    p.add_argument("--shape", default=None, metavar="NAME",
                   help="network shape of the figures that show one (others say it does not apply)")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="depth of the learning-curve and double-descent figures (others say it does not apply)")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return True


def run(ctx: Context, args: argparse.Namespace) -> int:
    from .. import figures

    return figures.run(ctx.warehouse_path(), ctx.root, ctx.site_dir(), out=Path(args.out) if args.out else None,
                       dataset=args.dataset, shape=args.shape, depth=args.depth)
