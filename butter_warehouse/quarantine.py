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
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb

from . import project
from .errors import InputError
from .settings import Settings

VAR = "butter_quarantine_limit"


class LimitError(InputError, ValueError):
    """A quarantine limit that is not a share between 0 and 1."""


def parse_limit(text: str, where: str = "--quarantine-limit") -> float:
    """A quarantine limit (``where``: the option or file that gave it, for the message): a share of
    a folder's rows, 0 <= share <= 1, e.g. 0.01 (not ``1%``)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise LimitError(f"{where} must be a number between 0 and 1, not {text!r} (a share of a folder's "
                         "rows, e.g. 0.01)") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise LimitError(f"{where} must be between 0 and 1 (a share of a folder's rows), not {text}")
    return value


def limit_argument(text: str) -> float:
    """``butter build --quarantine-limit``'s argparse ``type``: the share (``parse_limit``), or
    argparse's usage error with ``LimitError``'s message (exit code 2)."""
    try:
        return parse_limit(text)
    except LimitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def default_limit(project_config: Mapping[str, Any]) -> float:
    """The var's value in dbt_project.yml (its one source), from the parsed file
    (``Context.project_config``), validated there (``LimitError`` naming the file)."""
    return parse_limit(project.dbt_var(project_config, VAR), f"vars.{VAR} in dbt_project.yml")


def build_arguments(limit: float | None, dbt_args: Sequence[str],
                    project_config: Mapping[str, Any]) -> tuple[float, tuple[str, ...]]:
    """(the limit a build uses, the extra dbt arguments that go with it). ``--vars`` given with
    ``--dbt-arg`` is merged with butter's own into one ``--vars`` (dbt keeps only the last one):
    the limit a build tests is the one it prints. A limit in those vars is validated like
    ``--quarantine-limit``; both given and different is refused (``LimitError``)."""
    user: dict[Any, Any] = {}
    rest: list[str] = []
    args = list(dbt_args)
    i = 0
    while i < len(args):
        if args[i] == "--vars" and i + 1 < len(args):
            text, i = args[i + 1], i + 2
        elif args[i].startswith("--vars="):
            text, i = args[i][len("--vars="):], i + 1
        elif args[i] == "--vars":
            raise LimitError("--dbt-arg --vars needs its value as the next --dbt-arg, e.g. "
                             "--dbt-arg=--vars --dbt-arg='{key: value}'")
        else:
            rest.append(args[i])
            i += 1
            continue
        try:
            parsed = project.parse_vars(text)
        except ValueError as exc:
            raise LimitError(f"--dbt-arg --vars {text!r} is not YAML ({exc})") from None
        if not isinstance(parsed, dict):
            raise LimitError(f"--dbt-arg --vars {text!r} is not a YAML mapping, e.g. '{{key: value}}'")
        user.update(parsed)
    default = default_limit(project_config)
    if VAR in user:
        given = parse_limit(user[VAR], f"--dbt-arg --vars {VAR}")
        if limit is not None and given != limit:
            raise LimitError(f"--quarantine-limit {limit!r} and --dbt-arg --vars {VAR}: {user[VAR]!r} disagree; "
                             "give the limit once")
        limit = given
    limit = default if limit is None else limit
    merged = {**user, VAR: limit} if user or limit != default else {}
    return limit, ((*dbt_vars_of(merged),) if merged else ()) + tuple(rest)


def dbt_vars_of(values: Mapping[Any, Any]) -> tuple[str, ...]:
    """One ``--vars`` argument setting ``values`` (JSON, which dbt reads as YAML)."""
    return ("--vars", json.dumps(values))


def over_limit(rows_damaged: int, rows_read: int, limit: float) -> bool:
    """Whether a folder's damaged rows exceed the limit, compared exactly: the limit as the decimal
    of 9 places the dbt test compares with (``macros/tests/butter_quarantine_within_limit.sql``),
    not a floating product (29 of 100 rows at 0.29 are within it)."""
    return rows_damaged > Fraction(f"{limit:.9f}") * rows_read


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
    over = [f for f in folders if over_limit(f.rows_damaged, f.rows_read, limit)]
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
