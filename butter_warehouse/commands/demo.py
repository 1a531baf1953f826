"""``butter demo``: deterministic BUTTER-shaped demo data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..context import Context
from ..settings import DEFAULT_DEMO_ROOT


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="write deterministic BUTTER-shaped demo data")
    p.add_argument("--out", default=None, metavar="DIR", help=f"default: {DEFAULT_DEMO_ROOT} in the project")
    p.add_argument("--spelling", choices=["published", "framework"], default="published")
    p.add_argument("--experiments", type=int, default=None, metavar="N", help="target number of experiments")
    p.add_argument("--runs", type=int, default=3, metavar="N", help="runs (seeds) per experiment")
    p.add_argument("--epochs", type=int, default=30, metavar="N", help="base epochs (the real data's 3000)")
    p.add_argument("--seed", type=int, default=0, metavar="N")
    p.add_argument("--compression", choices=["brotli", "zstd"], default="brotli",
                   help="brotli as NREL's export (default); zstd, data page v1, no byte-stream-split: for Spark")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return args.out is None  # the default folder is in the project


def run(ctx: Context, args: argparse.Namespace) -> int:
    from .. import demo

    sizes = {"experiments": args.experiments} if args.experiments is not None else {}
    out = Path(args.out) if args.out else ctx.demo_root
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
