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

The build reads top to bottom::

    with publish.new_build(final_path, cfg) as build:   # ownership check, locks, a new build folder
        ...                                             # scan, dbt build, checks: into build.path
        publish.publish(build, required)                # checks, atomic swap; one line says what happened

Builds of one warehouse are serialised: ``<name>.build.lock`` beside the
published file is ``flock``-ed for the whole build (clean-up, build, publish);
a second build waits (``lock_wait`` seconds) and then stops with a message
naming the holder. Before the
swap the new warehouse is compared with the published one (far fewer runs or
experiments: refused unless ``allow_shrink``), the published file must not be
held by a read-write DuckDB connection (its later writes would land in a
``.wal`` beside the NEW file), and the new file gets the published file's
mode and group.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import struct
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import duckdb

from . import ownership
from .errors import ButterError
from .settings import Settings

BUILD_PREFIX = ".build-"
LOCK_NAME = ".lock"
#: written into every build folder when it is made: only folders holding it
#: (with this content) are ever removed as leftovers of interrupted builds
BUILD_MARKER = ".butter-build"
_BUILD_FOLDER = re.compile(r"^\.build-[0-9]+-[0-9]+$")
#: publishing a warehouse with fewer than this share of the published runs or
#: experiments needs allow_shrink
SHRINK_LIMIT = 0.5


class PublishError(ButterError, RuntimeError):
    """The build is not published; the message says why and what to do."""


class BuildLocked(PublishError):
    """Another build of the same warehouse is running."""


_HELD: dict[int, TextIO] = {}


def held_lock_fds() -> tuple[int, ...]:
    """File descriptors of the locks this process holds for a running build
    (a dbt child inherits them, so they stay held while it runs)."""
    return tuple(fd for fd, handle in _HELD.items() if not handle.closed)


def build_lock_path(final_path: Path) -> Path:
    return final_path.with_name(final_path.name + ".build.lock")


def acquire_build_lock(final_path: Path, wait: float = 0.0) -> TextIO:
    """Hold the warehouse's build lock (keep the returned file open for the
    whole build), waiting up to ``wait`` seconds for a running build to end.
    Raises BuildLocked naming the running build."""
    path = build_lock_path(final_path)
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole build
    deadline = time.monotonic() + wait
    announced = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            if time.monotonic() >= deadline:
                handle.close()
                raise BuildLocked(
                    f"another butter build ({holder}) is building {final_path}; wait for it to finish "
                    f"(or stop that process) and build again. Nothing was changed."
                ) from None
            if not announced:
                print(f"waiting up to {wait:.0f}s for another butter build ({holder}) of {final_path}", flush=True)
                announced = True
            time.sleep(0.5)
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    handle.flush()
    _HELD[handle.fileno()] = handle
    return handle


def _flock_struct(lock_type: int) -> bytes:
    # struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
    return struct.pack("hhqqi4x", lock_type, 0, 0, 0, 0)


def write_lock_holder(path: Path) -> int | None:
    """The pid of a process holding a DuckDB write lock on ``path`` (a
    read-write connection), or None. DuckDB takes POSIX record locks:
    exclusive for read-write, shared for read-only connections."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        result = fcntl.fcntl(fd, fcntl.F_GETLK, _flock_struct(fcntl.F_RDLCK))
    finally:
        os.close(fd)
    lock_type, _, _, _, pid = struct.unpack("hhqqi4x", result)
    return pid if lock_type != fcntl.F_UNLCK else None


def _hold_read_lock(path: Path) -> int | None:
    """A shared POSIX lock on the published file while it is swapped, so no
    read-write connection can open it in between; returns the fd (close it
    after the swap) or None when the file does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.fcntl(fd, fcntl.F_SETLK, _flock_struct(fcntl.F_RDLCK))
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            raise _writer_error(path, write_lock_holder(path)) from None
        raise
    return fd


def _writer_error(path: Path, pid: int | None) -> PublishError:
    who = f"process {pid}" if pid else "another process"
    return PublishError(
        f"{who} holds {path} open read-write (a DuckDB CLI started without -readonly, or "
        f"duckdb.connect(path) without read_only=True). Its later writes would land beside the new "
        f"warehouse and corrupt it. Close that connection (or reopen it read-only) and build again; "
        f"the new build is not published."
    )


def warehouse_counts(path: Path) -> tuple[int, int] | None:
    """(runs, experiments) in a warehouse's marts, or None when there is no file.
    Raises PublishError when they cannot be counted (a renamed or missing mart)."""
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as conn:
            return conn.execute(
                "select (select count(*) from marts.run_best_epochs), "
                "(select count(*) from marts.experiment_summary)"
            ).fetchone()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise PublishError(
            f"cannot count the runs and experiments of {path} ({first}), so the shrink check cannot run. "
            "Build with --allow-shrink to publish anyway; the new build is not published."
        ) from None


def check_shrink(build_path: Path, final_path: Path) -> None:
    """Refuse a new warehouse with far fewer runs or experiments than the published one."""
    old, new = warehouse_counts(final_path), warehouse_counts(build_path)
    if old is None or new is None:
        return
    for name, before, after in (("runs", old[0], new[0]), ("experiments", old[1], new[1])):
        if before > 0 and after < before * SHRINK_LIMIT:
            raise PublishError(
                f"the new warehouse has {after} {name}, the published one {before} (less than "
                f"{SHRINK_LIMIT:.0%}): a wrong or partial data root? Check BUTTER_DATA_ROOT, or build "
                f"with --allow-shrink to publish it anyway. {final_path} was left as it was."
            )


def check_complete(build_path: Path, required: Mapping[str, Sequence[str]]) -> None:
    """Refuse a new warehouse that lacks a published mart or audit table."""
    if not required:
        raise PublishError("no published models were found in the project (models/marts, models/audit); "
                           "the new build is not published.")
    missing = ownership.missing_relations(build_path, required)
    if missing:
        raise PublishError(
            f"the new warehouse lacks {', '.join(missing)} (a build of part of the project, e.g. with "
            "--select or --exclude, or a model that failed to build): only a complete build is published. "
            "Build without selecting models; the new build is not published."
        )


def keep_mode_and_group(build_path: Path, final_path: Path) -> str | None:
    """Give the new file the published file's mode and group; returns a
    warning when the group cannot be kept."""
    try:
        st = os.stat(final_path)
    except FileNotFoundError:
        return None
    os.chmod(build_path, st.st_mode & 0o7777)
    if os.stat(build_path).st_gid != st.st_gid:
        try:
            os.chown(build_path, -1, st.st_gid)
        except PermissionError:
            return (f"could not give the new warehouse the group {st.st_gid} of the published file "
                    f"(you are not a member); readers through that group lose access")
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _marker_text() -> str:
    return f"created by butter build (pid {os.getpid()})\n"


def _is_build_folder(folder: Path) -> bool:
    """Whether butter made this folder: its name and its marker file say so."""
    if not _BUILD_FOLDER.match(folder.name) or folder.is_symlink() or not folder.is_dir():
        return False
    try:
        return (folder / BUILD_MARKER).read_text().startswith("created by butter build (pid ")
    except OSError:
        return False


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
    pid = int(folder.name[len(BUILD_PREFIX):].split("-")[0])
    return pid != os.getpid() and not _pid_alive(pid)


def clean_stale_builds(final_path: Path) -> list[Path]:
    """Remove build folders left by builds whose process is gone; returns them.
    Only folders carrying butter's marker file are considered: a folder that
    merely looks like one (``.build-123``) is never touched."""
    removed = []
    for folder in sorted(final_path.parent.glob(f"{BUILD_PREFIX}*")):
        if _is_build_folder(folder) and _is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def new_build_path(final_path: Path) -> tuple[Path, TextIO]:
    """A fresh path for the next build, beside the published file, and the
    held lock of its folder (keep it open until the build is published)."""
    folder = final_path.parent / f"{BUILD_PREFIX}{os.getpid()}-{time.time_ns()}"
    folder.mkdir(parents=True)
    (folder / BUILD_MARKER).write_text(_marker_text())
    lock = open(folder / LOCK_NAME, "w")  # noqa: SIM115 - held for the whole build
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    _HELD[lock.fileno()] = lock
    return folder / final_path.name, lock


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def checkpoint(path: Path, resources: Mapping[str, Any]) -> None:
    """Fold any write-ahead log into the file so the file alone is complete (DuckDB
    opened with ``resources``: ``Settings.duckdb_resources()``)."""
    with duckdb.connect(str(path), config=dict(resources)) as conn:
        conn.execute("checkpoint")
    if _wal(path).exists():
        raise RuntimeError(f"{_wal(path)} still exists after a checkpoint; not publishing {path}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap(build: Build, required: Mapping[str, Sequence[str]], *, allow_shrink: bool = False,
         data_root: str | None = None) -> list[str]:
    """Atomically replace the published warehouse with a finished build;
    returns warnings. Raises PublishError (nothing published) when the new
    build lacks a published model, the published file is open read-write,
    is not a warehouse butter built, or the new one shrank."""
    build_path, final_path, resources = build.path, build.final_path, build.cfg.duckdb_resources()
    check_complete(build_path, required)
    with duckdb.connect(str(build_path), config=resources) as conn:
        ownership.mark(conn, data_root)
    checkpoint(build_path, resources)
    holder = write_lock_holder(final_path)
    if holder is not None:
        raise _writer_error(final_path, holder)
    try:
        ownership.check_target(final_path, build.replace_unrecognized)
    except ownership.UnrecognizedTarget as exc:
        raise PublishError(str(exc)) from None
    recognized = ownership.describe(final_path) is None
    if not allow_shrink and recognized:
        check_shrink(build_path, final_path)
    if _wal(final_path).exists() and recognized:
        # Someone wrote the published file in place and did not finish: fold
        # that log into the OLD file first, or DuckDB would replay it against
        # the new one. Fails (nothing published) if that writer is still open.
        try:
            checkpoint(final_path, resources)
        except (duckdb.Error, RuntimeError) as exc:
            raise PublishError(
                f"{_wal(final_path)} belongs to a process writing {final_path} in place; close it "
                f"(or delete the .wal if that process is gone) and build again. The new build is "
                f"not published. ({exc})"
            ) from exc
    warnings = [w for w in [keep_mode_and_group(build_path, final_path)] if w]
    _fsync(build_path)
    held = _hold_read_lock(final_path)
    try:
        os.replace(build_path, final_path)
    finally:
        if held is not None:
            os.close(held)
    _fsync(final_path.parent)
    shutil.rmtree(build_path.parent, ignore_errors=True)
    return warnings


@dataclass(frozen=True)
class Build:
    """A new warehouse being built: ``path`` (the new file, alone in its build folder) will
    replace ``final_path`` (the published file) when ``publish`` accepts it."""

    final_path: Path
    path: Path
    cfg: Settings
    replace_unrecognized: bool = False


@contextmanager
def new_build(final_path: Path, cfg: Settings, *, lock_wait: float = 0.0,
              replace_unrecognized: bool = False) -> Iterator[Build]:
    """A new build of the warehouse ``final_path``: build into ``build.path``, then ``publish(build)``.

    Before anything is built, a path holding something butter did not build
    (a folder, a CSV, another DuckDB file) is refused (ownership.UnrecognizedTarget)
    unless ``replace_unrecognized``. Then the warehouse's build lock is held (waiting
    ``lock_wait`` seconds; BuildLocked names the running build), leftovers of
    interrupted builds are removed and a fresh build folder is made. On leaving the
    block, however it is left (a failure, Ctrl-C), the build folder is removed and the
    locks are released: the published file changes only in ``publish``.
    """
    final_path = final_path.resolve()
    if write_lock_holder(final_path) is None:  # a writer's file cannot be opened: checked at publish
        ownership.check_target(final_path, replace_unrecognized)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    build_lock = acquire_build_lock(final_path, wait=lock_wait)
    try:
        for folder in clean_stale_builds(final_path):
            print(f"removed the leftover of an interrupted build: {folder}")
        build_path, lock = new_build_path(final_path)
        try:
            yield Build(final_path, build_path, cfg, replace_unrecognized)
        finally:
            if build_path.parent.exists():
                shutil.rmtree(build_path.parent, ignore_errors=True)
            _HELD.pop(lock.fileno(), None)
            lock.close()
    finally:
        _HELD.pop(build_lock.fileno(), None)
        build_lock.close()


def publish(build: Build, required: Mapping[str, Sequence[str]], *, allow_shrink: bool = False,
            data_root: str | None = None) -> int:
    """Publish a finished build (its every ``required`` {schema: [model]} present); one line
    says what happened. 0 when published; 1 (the published file left as it was) when
    ``swap`` refuses it."""
    try:
        warnings = swap(build, required, allow_shrink=allow_shrink, data_root=data_root)
    except (PublishError, RuntimeError) as exc:
        print(f"not published: {exc}")
        return 1
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"published {build.final_path}")
    return 0
