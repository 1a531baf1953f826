"""``butter scan``: inventory and check the data root (what build runs first)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ..context import Context
from ..pipeline import run_scan


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("scan", help="inventory and check the data root (what build runs first)")
    p.add_argument("--out", default=None, metavar="DIR", help="folder for the inventory parquet files (default: a temp folder)")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return True


def outcome(ctx: Context, args: argparse.Namespace) -> str:
    """What a stopped scan leaves (``cli.guarded``'s line): it reads the data root only."""
    return "the data root and the warehouse were not changed"


def run(ctx: Context, args: argparse.Namespace) -> int:
    ctx.cfg  # noqa: B018 - every setting validated before the scan starts
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="butter-inventory-"))
    ok = run_scan(ctx.data_root(), out, ctx)
    print(f"inventory written to {out}")
    return 0 if ok else 1
