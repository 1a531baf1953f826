"""Running dbt as a child of butter: in the project, with the context's environment.

``run_dbt`` is the one place a dbt process is started (tests replace it here).
"""

from __future__ import annotations

import ctypes
import signal
import sys
from pathlib import Path

from . import dbt_progress
from .context import Context


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM when butter dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run_dbt(ctx: Context, *args: str, env: dict[str, str] | None = None, keep_fds: tuple[int, ...] = (),
            cwd: Path | None = None) -> int:
    """Run one dbt command in the project (from ``cwd``, default the project
    folder); returns its exit code. The child
    dies with butter (PR_SET_PDEATHSIG) and inherits ``keep_fds`` (the build
    locks, so they stay held while it runs). It runs in its own process group,
    so Ctrl-C reaches butter only, which then ends dbt (SIGTERM: no traceback)."""
    cmd = [str(Path(sys.executable).with_name("dbt")), *args]
    print("+ dbt " + " ".join(args), flush=True)
    popen = {"pass_fds": keep_fds, "preexec_fn": _die_with_parent, "process_group": 0}
    return dbt_progress.run(cmd, cwd=cwd or ctx.root, env=env or ctx.dbt_env(), popen_kwargs=popen)
