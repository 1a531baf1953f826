"""What a scan found: the inventory's records and the names of its files (``inventory``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import contract
from ..errors import InputError

FILES = "files.parquet"
FOLDERS = "folders.parquet"
PROBLEMS = "problems.parquet"
PARTITION_CONFLICTS = "partition_conflicts.parquet"


class ScanError(InputError):
    """The data root cannot be built from; the message says why and what to do."""


@dataclass
class FileEntry:
    path: str
    folder: str
    kind: str
    partition_values: dict[str, str]
    rows: int
    row_groups: int
    bytes: int
    column_names: list[str]
    column_types: list[str]
    null_partition_columns: str | None = None
    identity: str | None = None  # size:mtime_ns:inode (local) or size:mtime_ns (S3)


#: what an entry at the data root that is not a published folder is (``RootEntry.kind``)
UNKNOWN = "unknown"
ARCHIVE = "archive"


@dataclass
class FolderState:
    folder: str
    kind: contract.Kind
    folder_path: str
    present: bool = False
    parquet_files: int = 0
    other_files: int = 0
    rows: int = 0
    #: which spelling the folder's column names use (``checks.folder_spelling``); None without data files
    spelling: str | None = None


@dataclass
class RootEntry:
    """A folder or file at the data root that is not a published folder: recorded, never read."""

    name: str  # as listed, a folder without its trailing "/"
    kind: str  # UNKNOWN or ARCHIVE
    path: str
    is_folder: bool
    files: int = 0
    parquet_files: int = 0
    bytes: int = 0
    #: the folder an archive packs (the name without its archive suffix), None when none is known
    archive_of: str | None = None
    #: whether that folder is at the root beside the archive
    folder_beside: bool = False
    #: where it was listed when that is not the data root itself (a landed copy's source)
    listed_at: str | None = None

    @property
    def label(self) -> str:
        """``extra_folder/ (12 files, 3 parquet)``, ``all_runs.tar.xz (archive of all_runs/)``; an
        entry of a landed copy's source is named with it (``extra_folder/ in s3://... (...)``)."""
        name = self.name + ("/" if self.is_folder else "") + (f" in {self.listed_at}" if self.listed_at else "")
        if self.kind == ARCHIVE:
            if self.archive_of is None:
                return f"{name} (archive)"
            return f"{name} (archive of {self.archive_of}/{'' if self.folder_beside else ', which is absent'})"
        if self.is_folder:
            return f"{name} ({self.files} files, {self.parquet_files} parquet)"
        return f"{name} ({'parquet' if self.parquet_files else 'file'}, {self.bytes} bytes)"

    @property
    def reason(self) -> str:
        """What it is and why it is not read (its ``audit.load_audit`` note)."""
        where = f" (listed at {self.listed_at}, not copied)" if self.listed_at else ""
        if self.kind == ARCHIVE:
            what = (f"an archive of {self.archive_of}/" if self.archive_of else "an archive")
            absent = (f"; {self.archive_of}/ is not beside it: unpack the archive into the data root to read it"
                      if self.archive_of in contract.FOLDERS and not self.folder_beside else "")
            return (f"not read: {what}{where} ({self.bytes} bytes); archives are never unpacked or read, "
                    f"the build reads the published folders themselves{absent}")
        what = (f"a folder with {self.files} file(s), {self.parquet_files} of them parquet, {self.bytes} bytes"
                if self.is_folder else f"a file of {self.bytes} bytes")
        return (f"not read: {what}{where}; it is not a published BUTTER folder, so the build does not know its "
                "schema. Rename it to a published folder if it holds one, or move it out of the data root")


@dataclass
class Problem:
    severity: str  # "error" or "warning"
    folder: str | None
    path: str | None
    problem: str
    #: problems of one group are one line on the terminal (each is still its folder's row)
    group: str | None = None

    def line(self) -> str:
        return f"BUTTER scan {self.severity}: {self.problem}"


@dataclass
class PartitionConflict:
    """One row whose file stores a partition column with another value than its folder."""
    folder: str
    kind: str
    path: str
    entity_id: str | None
    experiment_id: int | None
    column: str
    folder_value: str  # key=value as in the path
    file_value: str | None


@dataclass
class Inventory:
    root: str
    files: list[FileEntry] = field(default_factory=list)
    folders: dict[str, FolderState] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    partition_conflicts: list[PartitionConflict] = field(default_factory=list)
    #: entries at the data root that are not published folders (not read; reported)
    root_entries: list[RootEntry] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def error(self, problem: str, folder: str | None = None, path: str | None = None) -> None:
        self.problems.append(Problem("error", folder, path, problem))

    def warning(self, problem: str, folder: str | None = None, path: str | None = None,
                group: str | None = None) -> None:
        self.problems.append(Problem("warning", folder, path, problem, group))
