"""What `butter build` says about damaged rows, read from the build's own audit.

Damaged rows (a NULL key or epochs, a per-epoch array that is NULL, empty or
not ``epochs`` long) are quarantined by the models
(``macros/intermediate/butter_damage.sql``): counted per folder in
``audit.load_audit.rows_damaged`` and named with their file in
``audit.source_reconciliation``. The dbt test ``load_audit__quarantine_within_limit``
refuses the build when a folder's damaged share is above the limit (the var
``butter_quarantine_limit``, declared once in ``dbt_project.yml``). This module
turns those tables into the one line a user reads at the end of a build.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from . import project
from .errors import InputError
from .settings import Settings

VAR = "butter_quarantine_limit"


class LimitError(InputError, ValueError):
    """A quarantine limit that is not a share between 0 and 1."""


def parse_limit(text: str) -> float:
    """A ``--quarantine-limit`` value: a share of a folder's rows, 0 <= share <= 1."""
    try:
        value = float(text)
    except ValueError:
        raise LimitError(f"--quarantine-limit must be a number between 0 and 1, not {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise LimitError(f"--quarantine-limit must be between 0 and 1 (a share of a folder's rows), not {text}")
    return value


def limit_argument(text: str) -> float:
    """``butter build --quarantine-limit``'s argparse ``type``: the share (``parse_limit``), or
    argparse's usage error with ``LimitError``'s message (exit code 2)."""
    try:
        return parse_limit(text)
    except LimitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def dbt_vars(limit: float) -> tuple[str, ...]:
    """The dbt arguments that set the limit for one build (the var ``VAR``)."""
    return ("--vars", f"{{{VAR}: {limit!r}}}")


def default_limit(project_config: Mapping[str, Any]) -> float:
    """The var's value in dbt_project.yml (its one source), from the parsed file
    (``Context.project_config``)."""
    return float(project.dbt_var(project_config, VAR))


#: damaged rows named per refused folder (all of them are in the build's log)
EXAMPLES = 3


@dataclass(frozen=True)
class FolderDamage:
    folder: str
    rows_damaged: int
    rows_read: int
    examples: tuple[str, ...] = ()


def damaged_folders(warehouse: Path, cfg: Settings) -> list[FolderDamage] | None:
    """Folders with damaged rows in a built warehouse, each with a few of its
    damaged rows (file and finding); None when it has no audit."""
    try:
        with duckdb.connect(str(warehouse), read_only=True, config=cfg.duckdb_resources()) as conn:
            rows = conn.execute(
                "select source_folder, rows_damaged, rows_read from audit.load_audit "
                "where rows_damaged > 0 order by source_folder"
            ).fetchall()
            return [
                FolderDamage(folder, int(damaged), int(read), tuple(
                    detail for (detail,) in conn.execute(
                        "select detail from audit.source_reconciliation where difference in "
                        "('run_damaged', 'experiment_damaged') and starts_with(detail, ?) order by detail limit ?",
                        [f"{folder}: ", EXAMPLES],
                    ).fetchall()
                ))
                for folder, damaged, read in rows
            ]
    except duckdb.Error:
        return None


def _share(limit: float) -> str:
    return f"{limit:.4g} ({limit:.2%})"


def summary(folders: list[FolderDamage], limit: float) -> list[str]:
    """The lines a build prints: one on success, one per folder over the limit on refusal."""
    over = [f for f in folders if f.rows_damaged > limit * f.rows_read]
    if over:
        return [
            f"refused: {f.rows_damaged} of the {f.rows_read} rows of {f.folder} are damaged, more than the "
            f"quarantine limit {_share(limit)} of a folder's rows"
            + (f", e.g. {' | '.join(f.examples)}" if f.examples else "")
            + ". Fix or re-download those files, or build with --quarantine-limit to publish the rest anyway."
            for f in over
        ]
    total = sum(f.rows_damaged for f in folders)
    if not total:
        return []
    where = ", ".join(f"{f.folder} {f.rows_damaged}/{f.rows_read}" for f in folders)
    return [
        f"quarantined {total} damaged row(s) ({where}; limit {_share(limit)} of a folder's rows): left out of "
        "the marts; see audit.load_audit (rows_damaged) and audit.source_reconciliation "
        "(run_damaged / experiment_damaged) for each file and reason."
    ]
