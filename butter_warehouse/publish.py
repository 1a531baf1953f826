"""Safe publish: build into a new DuckDB file, then swap it in atomically.

DuckDB allows one writer or many readers per file, so building in place would
fail while a BI tool holds the warehouse open, and an interrupted build would
leave readers with a half-built file. Instead every build writes
``<dir>/.build-<pid>-<time>/<name>.duckdb`` (same file name, so the catalog name
that views refer to is unchanged), runs the docs against it, checkpoints it so
no write-ahead log is left beside it, syncs it to disk and only then
``os.replace``-s it over the published file: readers already connected keep the
old file (its inode lives on until they close it), new readers open the new
one, and a build killed midway (even ``kill -9``) leaves the published file
untouched.

Each build folder holds a ``.lock`` file that the building process keeps
``flock``-ed; the kernel drops the lock when that process dies, however it
dies, so the next build removes exactly the folders nobody holds any more
(a process id alone could be reused, or be a zombie not yet reaped).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path
from typing import Callable, TextIO

import duckdb

from .duckdb_plugin import resource_config

BUILD_PREFIX = ".build-"
LOCK_NAME = ".lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(folder: Path) -> bool:
    """Whether a build folder belongs to no running build."""
    lock = folder / LOCK_NAME
    if lock.exists():
        try:
            with open(lock, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live build holds it
        except OSError:
            return False  # cannot tell: keep it
        return True
    # no lock file (a build killed before it wrote one): fall back to its pid
    try:
        pid = int(folder.name[len(BUILD_PREFIX):].split("-")[0])
    except ValueError:
        return False
    return pid != os.getpid() and not _pid_alive(pid)


def clean_stale_builds(final_path: Path) -> list[Path]:
    """Remove build folders left by builds whose process is gone; returns them."""
    removed = []
    for folder in sorted(final_path.parent.glob(f"{BUILD_PREFIX}*")):
        if folder.is_dir() and _is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def new_build_path(final_path: Path) -> tuple[Path, TextIO]:
    """A fresh path for the next build, beside the published file, and the
    held lock of its folder (keep it open until the build is published)."""
    folder = final_path.parent / f"{BUILD_PREFIX}{os.getpid()}-{time.time_ns()}"
    folder.mkdir(parents=True)
    lock = open(folder / LOCK_NAME, "w")  # noqa: SIM115 - held for the whole build
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return folder / final_path.name, lock


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def checkpoint(path: Path) -> None:
    """Fold any write-ahead log into the file so the file alone is complete."""
    with duckdb.connect(str(path), config=resource_config()) as conn:
        conn.execute("checkpoint")
    if _wal(path).exists():
        raise RuntimeError(f"{_wal(path)} still exists after a checkpoint; not publishing {path}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(build_path: Path, final_path: Path) -> None:
    """Atomically replace the published warehouse with a finished build."""
    checkpoint(build_path)
    if _wal(final_path).exists():
        # Someone wrote the published file in place and did not finish: fold
        # that log into the OLD file first, or DuckDB would replay it against
        # the new one. Fails (nothing published) if that writer is still open.
        try:
            checkpoint(final_path)
        except (duckdb.Error, RuntimeError) as exc:
            raise RuntimeError(
                f"{_wal(final_path)} belongs to a process writing {final_path} in place; close it "
                f"(or delete the .wal if that process is gone) and build again. The new build is "
                f"not published. ({exc})"
            ) from exc
    _fsync(build_path)
    os.replace(build_path, final_path)
    _fsync(final_path.parent)
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
    build_path, lock = new_build_path(final_path)
    try:
        code = build(build_path)
        if code == 0:
            try:
                publish(build_path, final_path)
            except RuntimeError as exc:
                print(f"not published: {exc}")
                return 1
            print(f"published {final_path}")
        else:
            print(f"build failed (exit {code}): {final_path} was left as it was")
        return code
    finally:
        if build_path.parent.exists():
            shutil.rmtree(build_path.parent, ignore_errors=True)
        lock.close()
