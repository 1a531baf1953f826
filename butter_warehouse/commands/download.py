"""``butter download --out DIR``: copy the published folders, or a selection, to a local data root."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import contract
from ..context import Context
from ..download import ENCODINGS, PUBLIC_ROOT, DownloadError, Selection, default_source, download
from ..storage import normalize_root


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("download", help="copy the published folders, or a selection, to a local data root")
    p.add_argument("--out", required=True, metavar="DIR", help="local folder to copy into (then BUTTER_DATA_ROOT=that folder)")
    p.add_argument("--source", default=None, metavar="ROOT",
                   help=f"data root to copy from (default: BUTTER_DATA_ROOT if s3://, else {PUBLIC_ROOT})")
    p.add_argument("--folders", action="append", default=[], metavar="F,..",
                   help="published folders, comma-separated (default: every one the source has)")
    p.add_argument("--sweeps", action="append", default=[], metavar="S,..",
                   help=f"sweeps (their runs and summary folders; where the source has none of the sweep's own, "
                        f"the all-sweeps folder it has), comma-separated: {', '.join(contract.SWEEPS)}")
    p.add_argument("--datasets", action="append", default=[], metavar="D,..", help="datasets, comma-separated (= --where dataset=...)")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE[,VALUE]",
                   help="keep files under these hive partition values (repeat: all must hold)")
    p.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="files in flight at once (default BUTTER_S3_CONCURRENCY, 32)")
    p.add_argument("--compression", choices=ENCODINGS, default="copy",
                   help="copy: the files as published (default); zstd: re-encoded as `butter demo --compression "
                        "zstd` writes them (zstd, data page v1, no byte-stream-split), for Spark")
    return p


def needs_project(args: argparse.Namespace) -> bool:
    return False


def outcome(ctx: Context, args: argparse.Namespace) -> str:
    """What a stopped download leaves (``cli.guarded``'s line): it never touches the warehouse."""
    return (f"the files that arrived in {args.out} are kept whole and recorded, none half-written; run the same "
            "download again to resume (until it finishes, a build of that folder refuses)")


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Download; a selection or source that cannot be used raises ``DownloadError``
    (``cli.guarded``: ``butter download: ...``, exit 2)."""
    cfg = ctx.cfg  # every setting validated first
    if args.concurrency is not None and args.concurrency < 1:
        raise DownloadError(f"--concurrency must be at least 1, got {args.concurrency}")
    concurrency = args.concurrency or cfg.s3_concurrency
    selection = Selection.parse(args.folders, args.sweeps, args.datasets, args.where)
    source = args.source or default_source(cfg)
    print(f"download {source} -> {args.out}: {selection.describe()}, {concurrency} at once"
          + (f", re-encoded as {args.compression}" if args.compression != "copy" else ""), file=sys.stderr)
    result = download(normalize_root(source), Path(args.out), selection, concurrency=concurrency,
                      encoding=args.compression, env=cfg)
    print(result.summary(Path(args.out).resolve()))
    return 1 if result.failed else 0
