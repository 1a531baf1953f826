"""One error path: every failure a user is told about is a ``ButterError`` carrying its exit code.

A module raises the ``ButterError`` subclass of its concern (``settings.SettingError``,
``publish.PublishError``, ``export.ExportError``, ...); ``cli.guarded`` catches them in
one place, prints the one line ``butter: <message>`` (``butter <command>: <message>``
for the errors that name their command) and returns the exception's ``exit_code``.
No command prints its own error line or picks its own exit code for them.

``EXIT_CODES`` is the one list of what ``butter`` returns; ``butter --help`` prints it
(the README points there). Exceptions that never reach the user stay outside the
hierarchy: ``figures.model.FigureSkipped`` (a figure that is skipped, said in its status),
``download.TransferError`` (one file, recorded in the download's result) and
``context.NoProject`` (a programming error: a command whose ``needs_project`` said no
asked for the project; a traceback should show where).
"""

from __future__ import annotations

import textwrap
from typing import ClassVar

#: success
OK = 0
#: the command ran and failed: a dbt build or test, a bad setting, a build not published,
#: a file butter did not build, the disk, a permission; the published warehouse is unchanged
FAILED = 1
#: the command cannot start from what it was given: an argument, the project, the dbt target,
#: the data root (the scan), a download selection, an export (argparse's usage errors too)
INPUT = 2
#: the data root changed while the warehouse was built from it: not published
DATA_ROOT_CHANGED = 3
#: interrupted (Ctrl-C, SIGTERM, SIGHUP): the published warehouse is unchanged
INTERRUPTED = 130

#: every exit code of ``butter`` and what it means (the epilog of ``butter --help``)
EXIT_CODES: dict[int, str] = {
    OK: "success",
    FAILED: "failed: a dbt build or test, a setting, a refused publish, a file butter did not build, "
            "the disk or a permission (the published warehouse is left as it was); "
            "codegen --check: stale files; scan: errors found; download: files not copied",
    INPUT: "cannot start: a bad argument, no project, an unknown or unusable dbt target, a data root "
           "that does not scan or land, a download selection, an export that cannot run",
    DATA_ROOT_CHANGED: "the data root changed during the build: not published",
    INTERRUPTED: "interrupted (Ctrl-C, SIGTERM, SIGHUP): the published warehouse is left as it was",
}


class ButterError(Exception):
    """A failure the user is told about in one line; ``exit_code`` is what ``butter`` returns."""

    exit_code: ClassVar[int] = FAILED
    #: the line names the command (``butter export: ...``) rather than just ``butter: ...``
    names_command: ClassVar[bool] = False

    def line(self, command: str | None = None) -> str:
        """The one line ``cli.guarded`` prints."""
        where = f"butter {command}" if self.names_command and command else "butter"
        return f"{where}: {self}"


class InputError(ButterError):
    """What the command was given cannot be used (exit code 2): the message says what to change."""

    exit_code: ClassVar[int] = INPUT


def describe_exit_codes() -> str:
    """``EXIT_CODES`` as the text of ``butter --help``'s epilog."""
    width = max(len(str(code)) for code in EXIT_CODES)
    lines = [textwrap.fill(meaning, 100, initial_indent=f"  {code:>{width}}  ", subsequent_indent=" " * (width + 4))
             for code, meaning in EXIT_CODES.items()]
    return "\n".join(["exit codes:", *lines])
