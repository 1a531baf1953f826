"""``butter export MODEL_OR_SELECT --out PATH``: a model or a select to parquet/csv (``export``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import export
from ..context import Context
from ..settings import DEFAULT_DUCKDB_PATH


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "export",
        help="write a mart (any model) or a select to a parquet or csv file",
        description=export.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("what", metavar="MODEL_OR_SELECT",
                        help="a model (experiment_summary, marts.sweep_comparisons) or one select statement")
    parser.add_argument("--out", required=True, metavar="PATH", help="the file to write")
    parser.add_argument("--format", choices=export.FORMATS, default=None,
                        help="parquet or csv (default: from the --out suffix)")
    parser.add_argument("--warehouse", default=None, metavar="FILE",
                        help=f"the DuckDB file (default: BUTTER_DUCKDB_PATH, else {DEFAULT_DUCKDB_PATH})")
    return parser


def needs_project(args: argparse.Namespace) -> bool:
    return False  # --warehouse or BUTTER_DUCKDB_PATH are enough; the project is looked for only without them


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Export; bad input raises ``export.ExportError`` (``cli.guarded``: ``butter export: ...``, exit 2)."""
    export.output_format(Path(args.out), args.format)  # the cheap checks first
    if not export.is_model_name(args.what):
        export.check_select(args.what)
    warehouse = Path(args.warehouse) if args.warehouse else export.default_warehouse(ctx.project_dir, ctx.cfg)
    result = export.export(warehouse, args.what, Path(args.out), args.format)
    size = result.path.stat().st_size
    print(f"exported {result.rows:,} rows of {result.source} to {result.path} "
          f"({result.file_format}, {size:,} bytes) in {result.seconds:.1f}s")
    return 0
