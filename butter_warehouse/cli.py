"""The ``butter`` command: demo data, code generation and the warehouse build.

    butter demo [--out DIR] [--spelling published|framework] [sizes...]
    butter codegen [--check]
    butter scan [--out DIR]
    butter build [--skip-docs] [--allow-shrink] [--replace-unrecognized] [--quarantine-limit SHARE] [--lock-wait SECONDS]
                 [--dbt-arg ARG ...]
    butter compile [DBT_ARG ...]
    butter download --out DIR [--folders F,..] [--sweeps S,..] [--datasets D,..] [--where KEY=V,..] [--compression zstd]
    butter export MODEL_OR_SELECT --out PATH [--format parquet|csv]
    butter figures [--out DIR] [--dataset NAME] [--shape NAME] [--depth N]

The dbt project is --project-dir, else BUTTER_PROJECT_DIR, else the nearest
folder at or above the working directory whose dbt_project.yml is named butter.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
from pathlib import Path

from . import project
from .commands import register_all
from .context import Context


def parser() -> argparse.ArgumentParser:
    """The argument parser: global options and every command (``commands.COMMANDS``)."""
    top = argparse.ArgumentParser(prog="butter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--project-dir", default=None,
                     help=f"the butter dbt project (default: ${project.ENV_VAR}, else found from the working directory)")
    register_all(top.add_subparsers(dest="command", required=True))
    return top


def main(argv: list[str] | None = None) -> int:
    """Parse, find the project, run the command under the error guard; the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    at = _command_index(argv)
    if at is not None and argv[at] == "compile":  # everything after it goes to dbt unchanged
        args = parser().parse_args([*argv[:at], "compile"])
        args.dbt_args = argv[at + 1:]
    else:
        args = parser().parse_args(argv)
    command = args.command_module
    root: Path | None = None
    if command.needs_project(args):
        try:
            root = project.find_root(args.project_dir)
        except project.ProjectNotFound as exc:
            print(f"butter: {exc}", file=sys.stderr)
            return 2
    return guarded(Context(project_root=root, project_dir=args.project_dir), args)


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


def guarded(ctx: Context, args: argparse.Namespace) -> int:
    """Run a command; expected failures end with one line, never a traceback."""
    import duckdb

    from .ownership import UnrecognizedTarget
    from .publish import PublishError
    from .settings import SettingError

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    for sig in previous:
        signal.signal(sig, _term_as_interrupt)
    try:
        return int(args.command_module.run(ctx, args))
    except KeyboardInterrupt:
        print(f"butter: interrupted; {_where(ctx)} was left as it was.", file=sys.stderr)
        return 130
    except (SettingError, PublishError, UnrecognizedTarget) as exc:
        print(f"butter: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:  # e.g. the disk filling up while the new file is checkpointed
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"butter: {first}. {_where(ctx)} was left as it was.", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            reason = "the disk is full"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = "permission denied"
        else:
            reason = exc.strerror or str(exc)
        target = f" ({exc.filename})" if exc.filename else ""
        print(f"butter: {reason}{target}: {exc.__class__.__name__}. {_where(ctx)} was left as it was.",
              file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _term_as_interrupt(signum: int, frame: object) -> None:  # pragma: no cover - signal handler
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
