"""``butter demo``: deterministic BUTTER-shaped demo data, in either layout."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import ClassVar

from .. import contract
from ..context import Context
from ..errors import InputError
from ..settings import DEFAULT_DEMO_ROOT


class DemoInputError(InputError):
    """Arguments the demo cannot be written from (exit code 2), named in one line."""

    names_command: ClassVar[bool] = True


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="write deterministic BUTTER-shaped demo data")
    p.add_argument("--out", default=None, metavar="DIR", help=f"default: {DEFAULT_DEMO_ROOT} in the project")
    p.add_argument("--layout", choices=list(contract.LAYOUTS), default="template",
                   help="template (default): the template's 16 folders (all_runs/, complete_summary/, seven "
                        "sweeps' runs and summaries); current: NREL's current release as its dataset page "
                        "documents it (all_repetitions/, complete_summary/, eight sweeps' summaries with the "
                        "optimizer sweep's, complete_executive_summary/, NREL's best-point columns)")
    defaults = ", ".join(f"{layout}: {spelling}" for layout, spelling in contract.LAYOUT_SPELLING.items())
    p.add_argument("--spelling", choices=list(contract.SPELLINGS), default=None,
                   help=f"column spelling; default: the layout's ({defaults}); the template layout can also "
                        "be written in the framework spelling, the current layout only in its own")
    p.add_argument("--experiments", type=int, default=None, metavar="N", help="target number of experiments")
    p.add_argument("--runs", type=int, default=3, metavar="N", help="runs (seeds) per experiment")
    p.add_argument("--epochs", type=int, default=contract.CORE_EPOCHS, metavar="N",
                   help=f"base epochs (default: the real data's {contract.CORE_EPOCHS}); the 300-epoch sweep "
                        "trains a tenth of it, the 30000-epoch sweep ten times it, so at the default each "
                        "sweep's swept_value reads as the real one; fewer (tests use 30) give the same "
                        "curve shapes at a coarser grain, and a smaller, faster demo")
    p.add_argument("--seed", type=int, default=0, metavar="N")
    p.add_argument("--compression", choices=["brotli", "zstd"], default="brotli",
                   help="brotli as NREL's export (default); zstd, data page v1, no byte-stream-split: for Spark")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return args.out is None  # the default folder is in the project


def outcome(ctx: Context, args: argparse.Namespace) -> str:
    """What a stopped demo leaves (``cli.guarded``'s line): it is written beside its folder and
    renamed into place only when complete."""
    return f"{args.out or 'the demo folder'} was left as it was (a demo is put there only when complete)"


def run(ctx: Context, args: argparse.Namespace) -> int:
    from .. import demo
    from ..demo.generator import LAYOUT_SPELLINGS

    allowed = LAYOUT_SPELLINGS[args.layout]
    if args.spelling is not None and args.spelling not in allowed:
        raise DemoInputError(f"--spelling {args.spelling} does not go with --layout {args.layout} "
                             f"(the {args.layout} layout is written in the {' or '.join(allowed)} spelling)")
    spelling = args.spelling or contract.LAYOUT_SPELLING[args.layout]
    sizes = {"experiments": args.experiments} if args.experiments is not None else {}
    out = Path(args.out) if args.out else ctx.demo_root
    try:
        manifest = demo.generate(
            out,
            layout=args.layout,
            spelling=spelling,
            runs_per_experiment=args.runs,
            epochs=args.epochs,
            seed=args.seed,
            compression=args.compression,
            progress=None,
            **sizes,
        )
    except ValueError as exc:  # sizes the demo cannot be written with (runs, epochs, experiments)
        raise DemoInputError(str(exc)) from exc
    counts = manifest.get("counts", {})
    total_rows = sum(v.get("rows", 0) for v in counts.values()) if isinstance(counts, dict) else "?"
    print(f"demo data ({args.layout} layout, {spelling} spelling) written to {out}: "
          f"{total_rows} rows in {len(counts)} folders")
    return 0
