"""How butter writes parquet: codecs, levels, page versions and dictionary columns.

Shared by the demo's writer (``demo/writer.py``: files encoded as NREL's export was)
and ``butter download --compression`` / the landing of ``butter build``
(``download``, ``landing``: copies re-encoded for an engine without a Brotli codec).

The export wrote Brotli-compressed parquet (level 6 for runs, 9 for summaries),
data page v2 and dictionary-encoded hyperparameter columns.
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from . import contract

COMPRESSION = "brotli"
#: level of the runs and of the summary files, per codec: NREL's Brotli levels, and
#: zstd for engines without a Brotli codec (Spark's bundled Hadoop has none)
CODEC_LEVELS: dict[str, dict[contract.Kind, int]] = {
    "brotli": {"runs": 6, "summary": 9},
    "zstd": {"runs": 3, "summary": 3},
}
DATA_PAGE_VERSION = "2.0"


def page_version(compression: str) -> str:
    """NREL's data page v2 with its Brotli files; the portable zstd files use v1
    pages without byte-stream-split (Spark 4.1's reader skipped the v2 / split files)."""
    return DATA_PAGE_VERSION if compression == COMPRESSION else "1.0"


def encoding_options(compression: str, kind: contract.Kind) -> dict[str, object]:
    """Codec, level and page version of ``pq.ParquetWriter`` for a folder kind (the demo's
    files and ``butter download --compression``'s re-encoded copies)."""
    return {
        "compression": compression,
        "compression_level": CODEC_LEVELS[compression][kind],
        "data_page_version": page_version(compression),
    }


def is_hyperparameter(column: contract.Column) -> bool:
    """A stored scalar setting of the experiment (string or number; not a flag, an id or an array)."""
    return (
        column in contract.SHARED_COLUMNS
        and not column.partition
        and column.name != "experiment_id"
        and not pa.types.is_list(column.arrow)
        and not pa.types.is_boolean(column.arrow)
    )


@cache
def dictionary_columns(kind: contract.Kind, spelling: contract.Spelling) -> tuple[str, ...]:
    """Stored names of the dictionary-encoded columns: the hyperparameters."""
    return tuple(
        stored for c in contract.columns(kind)
        if is_hyperparameter(c) and (stored := c.source_name(spelling)) is not None
    )


def portable_dictionary_columns(kind: contract.Kind, column_names: list[str]) -> list[str]:
    """The hyperparameter columns (either spelling) among ``column_names``: dictionary-encoded."""
    wanted = set(dictionary_columns(kind, "published")) | set(dictionary_columns(kind, "framework"))
    return [name for name in column_names if name in wanted]
