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


@dataclass
class FolderState:
    folder: str
    kind: contract.Kind
    folder_path: str
    present: bool = False
    parquet_files: int = 0
    other_files: int = 0
    rows: int = 0


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
