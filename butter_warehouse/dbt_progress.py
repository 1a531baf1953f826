"""A heartbeat for long dbt commands: nodes done of total, rate, time left.

dbt prints a line when a node starts and one when it ends, and nothing while
a model runs, which at full scale is hours for the marts that read the arrays.
``run`` passes dbt's output through unchanged and, every ``interval`` seconds
while a node has been running for at least that long (or dbt, parsing or
globbing, has printed nothing for that long), adds one line:

    BUTTER progress: 45/322 nodes done (13%), 0.8 nodes/s, ~5m 50s left; running marts.run_best_epochs (2m 10s)

Only on a terminal and not under CI (see ``progress.enabled_for``); otherwise
dbt's standard output is not piped. Its standard error always is, and is
drained before ``run`` returns, so a caller's closing line comes last.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

from . import settings
from .progress import enabled_for, format_duration, format_rate

#: environment variable: seconds between heartbeats (default 30)
INTERVAL_ENV = "BUTTER_HEARTBEAT_SECONDS"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NODE_LINE = re.compile(r"\b(\d+) of (\d+) (START|OK|PASS|FAIL|WARN|ERROR|SKIP|NO-OP)\b\s*(.*?)\s*(?:\.{2,}.*|\[.*)?$")


@dataclass
class DbtWatcher:
    """Follows dbt's ``N of M START|OK|...`` lines; says what is running and how far along."""

    clock: Callable[[], float] = time.monotonic
    total: int | None = None
    done: int = 0
    first_start: float | None = None
    running: dict[int, tuple[str, float]] = field(default_factory=dict)
    last_line: float | None = None

    def __post_init__(self) -> None:
        self.last_line = self.clock()

    def feed(self, line: str) -> None:
        self.last_line = self.clock()
        match = _NODE_LINE.search(_ANSI.sub("", line))
        if not match:
            return
        index, total, status, desc = int(match[1]), int(match[2]), match[3], match[4]
        if desc.startswith("hook:"):  # project hooks count "1 of 1" on their own
            return
        self.total = total
        now = self.clock()
        if status == "START":
            if self.first_start is None:
                self.first_start = now
            self.running[index] = (desc.split()[-1] if desc else f"node {index}", now)
        else:
            self.running.pop(index, None)
            self.done += 1

    def heartbeat(self, min_running: float) -> str | None:
        """The progress line, if a node has been running for ``min_running`` seconds
        (or dbt has printed nothing for that long, e.g. while it parses or globs)."""
        now = self.clock()
        long_ones = [(name, now - began) for name, began in self.running.values() if now - began >= min_running]
        silent = now - (self.last_line if self.last_line is not None else now)
        if not long_ones and (self.running or silent < min_running):
            return None
        parts = []
        if self.total:
            parts.append(f"{self.done}/{self.total} nodes done ({100 * self.done // self.total}%)")
            elapsed = now - (self.first_start or now)
            if self.done and elapsed > 0:
                rate = self.done / elapsed
                parts.append(format_rate(rate, "node"))
                parts.append(f"~{format_duration((self.total - self.done) / rate)} left")
        if long_ones:
            name, seconds = max(long_ones, key=lambda item: item[1])
            doing = f"running {name} ({format_duration(seconds)})"
            if len(long_ones) > 1:
                doing += f" and {len(long_ones) - 1} more"
        else:
            doing = f"dbt has printed nothing for {format_duration(silent)}"
        return "BUTTER progress: " + ", ".join(parts) + ("; " if parts else "") + doing


def heartbeat_interval(environ: Mapping[str, str]) -> float:
    """BUTTER_HEARTBEAT_SECONDS in ``environ`` (butter_warehouse.settings)."""
    return float(settings.get(INTERVAL_ENV, environ))


def run(
    cmd: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str],
    stream: TextIO | None = None,
    enabled: bool | None = None,
    interval: float | None = None,
    popen_kwargs: Mapping[str, Any] | None = None,
) -> int:
    """Run a dbt command; returns its exit code. Adds heartbeats on a terminal.

    ``popen_kwargs`` go to ``subprocess.Popen`` (the caller's process group,
    inherited lock descriptors, ...). If this process is interrupted while dbt
    runs, dbt is terminated (then killed after 20 s) before the interrupt
    propagates, so it never outlives its caller."""
    out = stream if stream is not None else sys.stdout
    extra = dict(popen_kwargs or {})
    if not (enabled_for(out, env) if enabled is None else enabled):
        # stdout passes straight through; stderr is pumped so that everything dbt
        # and its helper processes print is out before the caller's last line.
        plain = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stderr=subprocess.PIPE, text=True,
                                 errors="replace", **extra)
        errors = _pump(plain.stderr, sys.stderr, threading.Lock(), None)
        try:
            return plain.wait()
        except BaseException:
            _end(plain)
            raise
        finally:
            errors.join(timeout=_DRAIN_SECONDS)
    every = interval if interval is not None else heartbeat_interval(env)
    watcher = DbtWatcher()
    lock = threading.Lock()
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1, errors="replace", **extra)

    reader = _pump(proc.stdout, out, lock, watcher.feed)
    next_beat = time.monotonic() + every
    try:
        while True:
            try:
                code = proc.wait(timeout=min(1.0, every))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() < next_beat:
                    continue
                next_beat = time.monotonic() + every
                with lock:
                    line = watcher.heartbeat(every)
                    if line:
                        out.write(line + "\n")
                        out.flush()
    except BaseException:
        _end(proc)
        raise
    finally:
        reader.join(timeout=_DRAIN_SECONDS)
    return code


#: seconds to wait, once dbt has ended, for the last of its output (a helper
#: process such as multiprocessing's resource tracker may still hold the pipe)
_DRAIN_SECONDS = 10.0


def _pump(source: IO[str] | None, sink: TextIO, lock: threading.Lock,
          feed: Callable[[str], None] | None) -> threading.Thread:
    """Copy ``source`` to ``sink`` line by line in a daemon thread until every
    writer has closed it; ``feed`` sees each line."""
    assert source is not None

    def copy() -> None:
        for line in source:
            with lock:
                sink.write(line)
                sink.flush()
                if feed is not None:
                    feed(line)

    thread = threading.Thread(target=copy, name="dbt-output", daemon=True)
    thread.start()
    return thread


def _end(proc: subprocess.Popen[Any]) -> None:
    """Terminate a child that is still running; kill it if it does not stop in 20 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
