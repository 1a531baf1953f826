"""``butter export MODEL_OR_SELECT --out PATH``: a model or a select to parquet/csv (``export``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import export, project
from ..context import Context, NoProject
from ..settings import DEFAULT_DEMO_ROOT, DEFAULT_DUCKDB_PATH
from ..storage import is_s3, normalize_root


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
    parser.add_argument("--replace", action="store_true",
                        help="replace --out when it exists and is not a parquet file export wrote (a CSV file)")
    parser.add_argument("--warehouse", default=None, metavar="FILE",
                        help=f"the DuckDB file (default: BUTTER_DUCKDB_PATH, else {DEFAULT_DUCKDB_PATH})")
    return parser


def needs_project(args: argparse.Namespace) -> bool:
    return False  # --warehouse or BUTTER_DUCKDB_PATH are enough; the project is looked for only without them


def outcome(ctx: Context, args: argparse.Namespace) -> str:
    """What a stopped export leaves (``cli.guarded``'s line): it reads the warehouse read-only."""
    return f"{args.out} was left as it was (the export is written beside it and renamed when complete)"


def _data_roots(ctx: Context) -> tuple[Path, ...]:
    """The local data roots an export must not write into: BUTTER_DATA_ROOT, the demo folder."""
    roots = [] if not ctx.cfg.data_root or is_s3(ctx.cfg.data_root) else [Path(normalize_root(ctx.cfg.data_root))]
    try:
        roots.append(ctx.demo_root)
    except NoProject:
        pass
    if ctx.project_root is None:
        try:
            roots.append(project.find_root(ctx.project_dir) / DEFAULT_DEMO_ROOT)
        except project.ProjectNotFound:
            pass
    return tuple(roots)


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Export; bad input raises ``export.ExportError`` (``cli.guarded``: ``butter export: ...``, exit 2)."""
    export.output_format(Path(args.out), args.format)  # the cheap checks first
    if not export.is_model_name(args.what):
        export.check_select(args.what)
    warehouse = Path(args.warehouse) if args.warehouse else export.default_warehouse(ctx.project_dir, ctx.cfg)
    result = export.export(warehouse, args.what, Path(args.out), args.format, protected=_data_roots(ctx),
                           replace=args.replace)
    size = result.path.stat().st_size
    print(f"exported {result.rows:,} rows of {result.source} to {result.path} "
          f"({result.file_format}, {size:,} bytes) in {result.seconds:.1f}s")
    return 0
