"""Safe publish: build into a new DuckDB file, then swap it in atomically.

DuckDB allows one writer or many readers per file, so building in place would
fail while a BI tool holds the warehouse open, and an interrupted build would
leave readers with a half-built file. Instead every build writes
``<dir>/.build-<pid>-<time>/<name>.duckdb`` (same file name, so the catalog name
that views refer to is unchanged), runs the docs against it, checkpoints it so
no write-ahead log is left beside it, and only then ``os.replace``-s it over the
published file: readers already connected keep the old file (its inode lives on
until they close it), new readers open the new one, and a build killed midway
leaves the published file untouched. Leftover build folders of dead processes
are removed at the next build.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Callable

import duckdb

BUILD_PREFIX = ".build-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_builds(final_path: Path) -> list[Path]:
    """Remove build folders left by builds whose process is gone; returns them."""
    removed = []
    for folder in final_path.parent.glob(f"{BUILD_PREFIX}*"):
        try:
            pid = int(folder.name[len(BUILD_PREFIX):].split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def new_build_path(final_path: Path) -> Path:
    """A fresh path for the next build, beside the published file."""
    folder = final_path.parent / f"{BUILD_PREFIX}{os.getpid()}-{time.time_ns()}"
    folder.mkdir(parents=True)
    return folder / final_path.name


def checkpoint(path: Path) -> None:
    """Fold any write-ahead log into the file so the file alone is complete."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("checkpoint")
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{wal} still exists after a checkpoint; not publishing {path}")


def publish(build_path: Path, final_path: Path) -> None:
    """Atomically replace the published warehouse with a finished build."""
    checkpoint(build_path)
    os.replace(build_path, final_path)
    shutil.rmtree(build_path.parent, ignore_errors=True)


def build_and_publish(final_path: Path, build: Callable[[Path], int]) -> int:
    """Run ``build(path)`` on a new file; publish it when it returns 0.

    On failure the published warehouse is left as it was and the failed build
    is removed. Returns the build's exit code.
    """
    final_path = final_path.resolve()
    final_path.parent.mkdir(parents=True, exist_ok=True)
    for folder in clean_stale_builds(final_path):
        print(f"removed the leftover of an interrupted build: {folder}")
    build_path = new_build_path(final_path)
    try:
        code = build(build_path)
        if code == 0:
            publish(build_path, final_path)
            print(f"published {final_path}")
        else:
            print(f"build failed (exit {code}): {final_path} was left as it was")
        return code
    finally:
        if build_path.parent.exists():
            shutil.rmtree(build_path.parent, ignore_errors=True)
