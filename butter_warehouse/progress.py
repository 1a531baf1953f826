"""Progress lines a person can read: items done of total, rate, time left.

    with Progress("demo data", total=9_900, unit="run") as bar:
        for ...:
            bar.update(3)

    for path in track(files, "scan all_runs", unit="file"):
        ...

On a terminal the line is redrawn in place (at most every ``min_interval``
seconds) and a last line with the total time is left when the work ends.
Quiet (writes nothing) when the stream is not a terminal or ``CI`` is set;
``BUTTER_PROGRESS=always|never`` overrides both, e.g. to see progress in a
log file.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from typing import TextIO, TypeVar

from . import settings

T = TypeVar("T")

#: environment variable that forces progress on (always) or off (never)
OVERRIDE_ENV = "BUTTER_PROGRESS"


def enabled_for(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether progress should be shown on ``stream``: a terminal and not CI,
    unless ``BUTTER_PROGRESS`` says otherwise."""
    override = settings.get(OVERRIDE_ENV, environ)
    if override is not None:
        return bool(override)
    if settings.get("CI", environ):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def format_duration(seconds: float) -> str:
    """``42s``, ``3m 05s``, ``2h 10m``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_rate(rate: float, unit: str) -> str:
    """``4,210 rows/s``, ``12.5 runs/s``; below one a second per minute or per hour."""
    if rate >= 100:
        return f"{rate:,.0f} {unit}s/s"
    if rate >= 1:
        return f"{rate:.1f} {unit}s/s"
    if rate * 60 >= 1:
        return f"{rate * 60:.1f} {unit}s/min"
    return f"{rate * 3600:.1f} {unit}s/h"


def status_line(desc: str, done: int, total: int | None, unit: str, elapsed: float, *,
                finished: bool = False) -> str:
    """The text of one progress line (no terminal control characters)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    count = f"{done:,}/{total:,} {unit}s" if total else f"{done:,} {unit}s"
    if total:
        count += f" ({min(100, 100 * done // total)}%)"
    parts = [f"{desc}: {count}"]
    if finished:
        parts[0] += f" in {format_duration(elapsed)}"
        if rate > 0:
            parts.append(format_rate(rate, unit))
        return ", ".join(parts)
    if rate > 0:
        parts.append(format_rate(rate, unit))
    if total and rate > 0:
        parts.append(f"{format_duration(max(0, total - done) / rate)} left")
    else:
        parts.append(f"{format_duration(elapsed)} elapsed")
    return ", ".join(parts)


class Progress:
    """A progress line for ``total`` items (``None`` when the total is unknown)."""

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        unit: str = "item",
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        min_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.desc, self.total, self.unit = desc, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled_for(self.stream) if enabled is None else enabled
        self.min_interval = min_interval
        self.clock = clock
        self.done = 0
        self.started = clock()
        self._last_draw: float | None = None
        self._width = 0
        self._closed = False

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def line(self, *, finished: bool = False) -> str:
        return status_line(self.desc, self.done, self.total, self.unit, self.elapsed, finished=finished)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done; redraw if ``min_interval`` has passed."""
        self.done += n
        if not self.enabled:
            return
        now = self.clock()
        if self._last_draw is None or now - self._last_draw >= self.min_interval:
            self._draw(self.line())
            self._last_draw = now

    def _draw(self, text: str) -> None:
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        """Leave the final line (total time and rate) on the terminal."""
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            self._draw(self.line(finished=True))
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._draw(self.line())
            self._last_draw = self.clock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(
    items: Iterable[T],
    desc: str,
    *,
    total: int | None = None,
    unit: str = "item",
    stream: TextIO | None = None,
    enabled: bool | None = None,
) -> Iterator[T]:
    """Yield ``items`` while showing their progress (e.g. the files of a scan).

    ``total`` defaults to ``len(items)`` when the iterable has a length.
    """
    if total is None and isinstance(items, Sized):
        total = len(items)
    with Progress(desc, total, unit, stream=stream, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.update()
