"""The ``butter`` command: parse the arguments, find the project, run the command under the one
error guard (``guarded``). ``butter --help`` shows every command's usage, from its own parser,
and the exit codes (``errors.EXIT_CODES``).
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
from dataclasses import replace

from . import errors, project
from .commands import register_all
from .context import Context

ABOUT = "butter: demo data, code generation, the warehouse build and reading it back."
PROJECT_HELP = ("The dbt project is --project-dir, else BUTTER_PROJECT_DIR, else the nearest\n"
                "folder at or above the working directory whose dbt_project.yml is named butter.")


def parser() -> argparse.ArgumentParser:
    """The argument parser: global options and every command (``commands.COMMANDS``); its help
    shows each command's usage (from its own parser) and the exit codes (``errors.EXIT_CODES``)."""
    top = argparse.ArgumentParser(prog="butter", formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog=errors.describe_exit_codes())
    top.add_argument("--project-dir", default=None,
                     help=f"the butter dbt project (default: ${project.ENV_VAR}, else found from the working directory)")
    subparsers = top.add_subparsers(dest="command", required=True)
    register_all(subparsers)
    top.description = "\n".join([ABOUT, "", *(_usage(p) for p in subparsers.choices.values()), "", PROJECT_HELP])
    return top


def _usage(command: argparse.ArgumentParser) -> str:
    """A command's usage line(s) as its parser prints them, without ``usage:`` and ``[-h]``."""
    lines = command.format_usage().replace(" [-h]", "").rstrip().splitlines()
    dedent = len("usage: ") - 4
    return "\n".join(["    " + lines[0].removeprefix("usage: "), *(line[dedent:] for line in lines[1:])])


def main(argv: list[str] | None = None) -> int:
    """Parse, find the project, run the command under the error guard; the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    for sig in previous:  # from the start: a Ctrl-C while the modules load stops too
        signal.signal(sig, _term_as_interrupt)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("butter: interrupted before the command started; nothing was changed.", file=sys.stderr)
        return errors.INTERRUPTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main(argv: list[str]) -> int:
    at = _command_index(argv)
    if at is not None and argv[at] == "compile":  # everything after it goes to dbt unchanged
        args = parser().parse_args([*argv[:at], "compile"])
        args.dbt_args = argv[at + 1:]
    else:
        args = parser().parse_args(argv)
    return guarded(Context(project_dir=args.project_dir), args)


def _command_index(argv: list[str]) -> int | None:
    """Position of the subcommand in ``argv`` (after the global options)."""
    i = 0
    while i < len(argv):
        if argv[i] == "--project-dir":
            i += 2
        elif argv[i].startswith("-"):
            i += 1
        else:
            return i
    return None


def _where(ctx: Context) -> object:
    """The published warehouse, for the line that says it was left as it was."""
    try:
        return ctx.warehouse_path()
    except Exception:  # no project, or an unusable setting: say it in words
        return "the published warehouse"


def _outcome(ctx: Context, args: argparse.Namespace) -> str:
    """What a command that stopped leaves behind, as the end of its one line: the command's own
    ``outcome(ctx, args)`` when it has one (download, demo, export, scan: they never touch the
    warehouse), else the published warehouse, left as it was."""
    said = getattr(args.command_module, "outcome", None)
    return str(said(ctx, args)) if said is not None else f"{_where(ctx)} was left as it was"


def guarded(ctx: Context, args: argparse.Namespace) -> int:
    """Find the project (when the command needs it) and run the command: the one place failures
    are caught. Each ends with one line, never a traceback, and its exit code (``errors.EXIT_CODES``):
    a ``ButterError`` its own ``exit_code``; DuckDB and OS errors 1; an interruption 130."""
    import duckdb

    # SIGINT too: a process started with SIGINT ignored (a background job of a script, a CI
    # runner) would otherwise ignore Ctrl-C and an interrupt from its caller
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    for sig in previous:
        signal.signal(sig, _term_as_interrupt)
    try:
        if ctx.project_root is None and args.command_module.needs_project(args):
            ctx = replace(ctx, project_root=project.find_root(ctx.project_dir))
        return int(args.command_module.run(ctx, args))
    except KeyboardInterrupt:
        print(f"butter: interrupted; {_outcome(ctx, args)}.", file=sys.stderr)
        return errors.INTERRUPTED
    except errors.ButterError as exc:
        print(exc.line(args.command), file=sys.stderr)
        return exc.exit_code
    except duckdb.Error as exc:  # e.g. the disk filling up while the new file is checkpointed
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"butter: {first}. {_outcome(ctx, args)}.", file=sys.stderr)
        return errors.FAILED
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            reason = "the disk is full"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = "permission denied"
        else:
            reason = exc.strerror or str(exc)
        target = f" ({exc.filename})" if exc.filename else ""
        print(f"butter: {reason}{target}: {exc.__class__.__name__}. {_outcome(ctx, args)}.", file=sys.stderr)
        return errors.FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _term_as_interrupt(signum: int, frame: object) -> None:  # pragma: no cover - signal handler
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
