"""Hive partition paths and deterministic parquet files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract

#: every leaf partition holds exactly one file, with this name
FILE_NAME = "part-0.parquet"
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3
#: a file's pending rows are written as a row group once they exceed this size
ROW_GROUP_BYTES = 64 * 2**20


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
    """One leaf file, opened on the first rows, written in row groups of bounded size."""

    path: Path
    schema: pa.Schema
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

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.path,
                self.schema,
                compression=COMPRESSION,
                compression_level=COMPRESSION_LEVEL,
                use_dictionary=False,  # constant strings compress as well without; float arrays never gain
            )
        table = pa.concat_tables(self._pending)
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._pending, self._pending_bytes = [], 0

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@cache
def file_schema(kind: contract.Kind, spelling: contract.Spelling) -> pa.Schema:
    """The contract's file schema (cached: it is asked for once per file)."""
    return contract.file_schema(kind, spelling)


def write_common_metadata(folder: Path, kind: contract.Kind, spelling: contract.Spelling) -> None:
    """The ``_common_metadata`` file: the folder's full arrow schema, partitions included."""
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_metadata(contract.arrow_schema(kind, spelling), folder / "_common_metadata")
