"""One file inventory of a BUTTER data root: what is on disk, read once.

``butter scan`` (and ``butter build``, before it starts dbt) lists every file
under each published folder *independently of the SQL reader* (local: walks
the folders following symbolic links and checks that each can be read; S3:
lists the prefix), reads each parquet footer ONCE and records per file: path,
folder, partition values (as text), rows, row groups, bytes, column names and
stored arrow types. It checks that against the contract
(:mod:`butter_warehouse.contract`) and writes three parquet files into one
folder, which dbt reads (``BUTTER_INVENTORY``):

``files.parquet``     one row per parquet data file
``folders.parquet``   one row per published folder (present, files, rows, bytes, the
                      ``spelling`` its column names use), then one per other entry
                      at the data root (``unknown`` / ``archive``, never read: files,
                      bytes, ``not_read_reason``)
``problems.parquet``  one row per finding: ``error`` stops the build, ``warning``
                      is reported (and shown in ``audit.load_audit``)

No folder is skipped in silence. Every folder or file at the data root that is
not a published folder is recorded: ``archive`` when its name ends in
``contract.ARCHIVE_SUFFIXES`` (``all_runs.tar.xz``: an archive of ``all_runs/``,
never unpacked), ``unknown`` otherwise, with its file and parquet counts (parquet
by name) and bytes; one warning line names them all ("not read: extra_folder/
(12 files, 3 parquet), all_runs.tar.xz (archive of all_runs/)") and
``audit.load_audit`` has a row for each. The files butter writes at a root
(``_demo_manifest.json``, ``butter download``'s ``_butter_download.json[l]``) are
not reported. A local copy made by ``butter download`` (or the landing of an
``s3://`` build) names the entries of its source's root it did not copy.

A root with summaries and no runs folder (the dataset page's recommended start,
``complete_executive_summary/`` alone included) is built: one warning line says
the run-level marts are empty because no runs folder was found.

The spelling of each folder (``checks.folder_spelling``) is read from the names
of its columns and partition keys, column by column: ``published``,
``framework``, ``current``, ``framework or current`` (no stored name tells them
apart) or ``mixed: published (a, b); framework (c)``; ``butter scan`` prints one
line per folder with it.

Errors (the build refuses to start):

* the data root is missing, not a folder, or none of its published folders holds
  a parquet data file (the entries it does hold are named);
* a folder or file the build user cannot read, a folder linked by a symbolic
  link (DuckDB's ``**`` glob does not follow it, so its files would silently
  not be read), a parquet file whose footer cannot be read;
* a partition value that does not parse as its contract type
  (``depth=2.6``, ``depth=-1``, ``learning_rate=abc``);
* files of one folder storing one column with different types (DuckDB reads
  every file with the first file's types: integer arrays in the first file
  would round every other file's floats);
* a ``.parquet`` name that is not a regular file (a FIFO, socket or device:
  opening it could block the build forever); it is never opened. Other
  special files are warnings;
* a data root whose path holds ``{ } [ ] * ?``: DuckDB's reader would take
  them as glob characters (and dbt ``{`` as a format field).

NULL elements inside per-epoch arrays are data (NREL's export holds them:
"no value at this epoch"); a NULL, empty or short array damages only its row,
which the build quarantines (macros/intermediate/butter_damage.sql).

Each file's identity (local: size, modification time in ns and inode; S3:
size and last-modified time) is recorded in ``files.parquet``
(``file_identity``), so a build can check that nothing it read changed
(:mod:`butter_warehouse.drift`).


What is a data file: every file that is parquet by its magic bytes (``PAR1``
at start and end), whatever its name. Files named ``*.parquet`` are read by
the folder's glob; parquet files with other names (``part-1.PARQUET``,
Hive's ``000001_0``) are recorded too and staging reads them by name. Files
whose name starts with ``_`` or ``.`` and does not end in ``.parquet``
(``_common_metadata``, ``_metadata``, ``.crc``) are metadata, as Spark, Hive
and pyarrow treat them, and with every non-parquet file count as
``other_files``.

Partition values: ``__HIVE_DEFAULT_PARTITION__`` (the published NULL) and
the text ``NULL`` (any case; DuckDB reads it as NULL, and staging makes Spark
do the same) are NULL; the literal is reported. A partition column also
stored inside a file must hold the folder's value: the folder's value is
used (as DuckDB, Spark and pyarrow read hive partitions) and every row whose
file value differs is recorded (``partition_conflicts.parquet``, a row of
``audit.source_reconciliation``) and reported.

Modules: ``model`` (what a scan found), ``listing`` (local and S3 listings, file
identity), ``checks`` (the contract's checks), ``scanning`` (``scan``) and
``writing`` (the inventory files, the scan inside dbt, the terminal's lines).
"""

from __future__ import annotations

from .checks import is_null_partition, partition_problem, type_text
from .listing import list_folder, local_identity
from .model import (
    ARCHIVE,
    FILES,
    FOLDERS,
    PARTITION_CONFLICTS,
    PROBLEMS,
    UNKNOWN,
    FileEntry,
    FolderState,
    Inventory,
    PartitionConflict,
    Problem,
    RootEntry,
    ScanError,
)
from .scanning import scan
from .writing import scan_for_dbt, summary_lines, write

__all__ = [
    "ARCHIVE", "FILES", "FOLDERS", "PARTITION_CONFLICTS", "PROBLEMS", "FileEntry", "FolderState", "Inventory",
    "PartitionConflict", "Problem", "RootEntry", "ScanError", "UNKNOWN", "is_null_partition", "list_folder", "local_identity",
    "partition_problem", "scan", "scan_for_dbt", "summary_lines", "type_text", "write",
]
