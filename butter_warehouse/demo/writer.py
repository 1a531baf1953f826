"""Hive partition paths and deterministic parquet files, encoded as NREL's export was.

The export wrote Brotli-compressed parquet (level 6 for runs, 9 for summaries),
data page v2, byte-stream-split float columns, dictionary-encoded
hyperparameter columns and files of up to 64 runs or 128 experiments per leaf
partition folder (``part-0.parquet``, ``part-1.parquet``, ... in row order; an
experiment's runs may straddle two files). Codecs, levels and dictionary columns:
``butter_warehouse.encoding`` (shared with ``butter download --compression``).

A folder's files have the contract's schema for that folder; the current
release's ``complete_executive_summary/`` stores NREL's best-point statistics as
one-element lists (``[float32]`` as the dataset page writes it), the other
summary folders as float32 scalars.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract
from ..encoding import COMPRESSION, dictionary_columns, encoding_options

#: rows (runs or experiments) per file of a leaf partition folder
MAX_FILE_ROWS: dict[contract.Kind, int] = {"runs": 64, "summary": 128}
#: a file's pending rows are written as a row group once they exceed this size
ROW_GROUP_BYTES = 64 * 2**20


def file_name(index: int) -> str:
    """The name of the index-th (0-based) file of a leaf partition folder."""
    return f"part-{index}.parquet"


def _is_float(type_: pa.DataType) -> bool:
    return pa.types.is_floating(type_) or (pa.types.is_list(type_) and pa.types.is_floating(type_.value_type))


@cache
def byte_stream_split_columns(kind: contract.Kind, spelling: contract.Spelling,
                              folder: str | None = None) -> tuple[str, ...]:
    """Parquet leaf paths of the float columns that are not dictionary-encoded (all per-epoch arrays)."""
    dictionary = set(dictionary_columns(kind, spelling))
    return tuple(
        f"{f.name}.list.element" if pa.types.is_list(f.type) else f.name
        for f in file_schema(kind, spelling, folder)
        if _is_float(f.type) and f.name not in dictionary
    )


def format_partition_value(value: object) -> str:
    """The hive text of a partition value.

    Floats are written as the shortest decimal that reads back as the same float32
    (0.0001 -> "0.0001", 0 -> "0.0"); NULL as ``__HIVE_DEFAULT_PARTITION__``.
    """
    if value is None:
        return contract.HIVE_NULL
    if isinstance(value, float):
        return repr(float(str(np.float32(value))))
    return str(value)


def partition_dir(shared: Mapping[str, object], spelling: contract.Spelling) -> str:
    """The relative leaf directory of an experiment, e.g. ``dataset=x/.../depth=2``."""
    canonical = {c.source_name(spelling): c.name for c in contract.SHARED_COLUMNS if c.partition}
    return "/".join(
        f"{name}={format_partition_value(shared[canonical[name]])}" for name in contract.partition_names(spelling)
    )


@dataclass
class PartitionFile:
    """One file of a leaf folder, opened on the first rows, written in row groups of bounded size."""

    path: Path
    kind: contract.Kind
    spelling: contract.Spelling
    compression: str = COMPRESSION
    folder: str | None = None  # the BUTTER folder (its schema); None: any but the executive summary
    rows: int = 0
    _pending: list[pa.Table] = field(default_factory=list)
    _pending_bytes: int = 0
    _writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._pending_bytes += table.nbytes
        self.rows += table.num_rows
        if self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    @property
    def as_nrel(self) -> bool:
        return self.compression == COMPRESSION

    def _open(self) -> pq.ParquetWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        schema = file_schema(self.kind, self.spelling, self.folder)
        split = list(byte_stream_split_columns(self.kind, self.spelling, self.folder)) if self.as_nrel else False
        return pq.ParquetWriter(
            self.path,
            schema,
            use_dictionary=[c for c in dictionary_columns(self.kind, self.spelling) if c in schema.names],
            use_byte_stream_split=split,
            **encoding_options(self.compression, self.kind),
        )

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._writer is None:
            self._writer = self._open()
        table = pa.concat_tables(self._pending)
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._pending, self._pending_bytes = [], 0

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@dataclass
class PartitionFolder:
    """The files of one leaf partition folder: a new file whenever one holds MAX_FILE_ROWS rows."""

    path: Path
    kind: contract.Kind
    spelling: contract.Spelling
    compression: str = COMPRESSION
    folder: str | None = None  # the BUTTER folder (its schema), as PartitionFile's
    files: int = 0
    rows: int = 0
    _current: PartitionFile | None = None

    def _next_file(self) -> PartitionFile:
        if self._current is not None:
            self._current.close()
        self._current = PartitionFile(self.path / file_name(self.files), self.kind, self.spelling, self.compression,
                                      self.folder)
        self.files += 1
        return self._current

    def write(self, table: pa.Table) -> None:
        """Append rows in order, splitting them across files at the row limit."""
        limit = MAX_FILE_ROWS[self.kind]
        offset = 0
        while offset < table.num_rows:
            current = self._current
            if current is None or current.rows >= limit:
                current = self._next_file()
            take = min(limit - current.rows, table.num_rows - offset)
            current.write(table.slice(offset, take))
            offset += take
        self.rows += table.num_rows

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


def best_point_names() -> frozenset[str]:
    """Stored names of NREL's best-point statistics (current spelling)."""
    return frozenset(contract.best_point_name(m, p, s) for m in contract.BEST_POINT_METRICS
                     for p in contract.BEST_POINT_PARTS for s in contract.BEST_POINT_STATS)


@cache
def arrow_schema(kind: contract.Kind, spelling: contract.Spelling, folder: str | None = None) -> pa.Schema:
    """The contract's schema of a folder, best-point statistics as one-element lists in the
    executive summary (what its ``_common_metadata`` holds)."""
    schema = contract.arrow_schema(kind, spelling, folder)
    if folder != contract.EXECUTIVE_FOLDER:
        return schema
    as_list = best_point_names()
    return pa.schema([pa.field(f.name, pa.list_(f.type)) if f.name in as_list else f for f in schema])


@cache
def file_schema(kind: contract.Kind, spelling: contract.Spelling, folder: str | None = None) -> pa.Schema:
    """The schema of a folder's files: ``arrow_schema`` without the partition columns
    (cached: it is asked for once per file)."""
    parts = set(contract.partition_names(spelling))
    return pa.schema([f for f in arrow_schema(kind, spelling, folder) if f.name not in parts])


def write_common_metadata(folder: Path, kind: contract.Kind, spelling: contract.Spelling) -> None:
    """The ``_common_metadata`` file: the folder's full arrow schema, partitions included."""
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_metadata(arrow_schema(kind, spelling, folder.name), folder / "_common_metadata")
