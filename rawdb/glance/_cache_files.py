"""File-system helpers of the glance image cache (rawdb.glance.image_cache), run in worker threads.

Scanning a directory for regular files, removing files, syncing a written file to disk, and
the ``flock`` protocol that tells a live writer of an ``incomplete/`` file from a dead one,
with the writers' operations that rely on it (claim a file, probe it, rename it out, delete
the stalled ones).  Nothing here knows the cache's metadata store or which names may be
images: the driver passes the directories and the name filter in.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import anyio.to_thread

from rawdb import errors

T = TypeVar("T")


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class _File:
    name: str
    size: int
    mtime: float


def _scan(directory: Path, keep: Callable[[str], bool] = lambda name: True) -> list[_File]:
    """The regular files directly in ``directory`` whose names ``keep`` accepts, by name."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if not keep(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed while we looked
                continue
            found.append(_File(entry.name, stat.st_size, stat.st_mtime))
    return sorted(found, key=lambda f: f.name)


def _sync(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())


def _remove_all(paths: list[Path]) -> int:
    return sum(_remove(path) for path in paths)


# --- writers' locks ----------------------------------------------------------------------
# A writer holds flock(LOCK_EX) on its incomplete file's open file description until it closes
# it: the kernel drops the lock when the writer dies, so a free lock means a dead writer, and
# two writers in one process exclude each other too (POSIX fcntl locks would not).  Every change
# of a name under incomplete/ (claim, rename out, removal) and every liveness probe runs under
# flock on the incomplete directory itself, so "the name is this file, its writer is dead" and
# the change that relies on it are never interleaved with another process's.


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held for a few system calls, never across an await
        yield
    finally:
        os.close(fd)


def _try_lock(fd: int, how: int) -> bool:
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _writer_alive(fd: int) -> bool:
    """Whether a writer holds the lock of the file open as ``fd`` (probed with a shared lock)."""
    return not _try_lock(fd, fcntl.LOCK_SH)


def _names(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


# The writers' operations on incomplete/, each under the directory's lock.


def _claim(incomplete_dir: Path, image_id: str) -> BinaryIO:
    """``incomplete/<id>`` opened for writing, under the exclusive lock: a new file, or the
    file of a writer that died (its lock was free), emptied.

    :raises ImageBeingCached: a live writer holds the file's lock
    """
    with _locked(incomplete_dir):
        fd = os.open(incomplete_dir / image_id, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        try:
            if not _try_lock(fd, fcntl.LOCK_EX):
                raise errors.ImageBeingCached(image_id=image_id)
            os.ftruncate(fd, 0)
            os.utime(fd)  # the stall time counts from the takeover
            return os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise


def _owns(incomplete_dir: Path, file: BinaryIO, path: Path) -> bool:
    """Whether ``path`` still names the writer's file (clean() deletes a stalled writer's
    file, and a new writer may own the name since)."""
    with _locked(incomplete_dir):
        return _names(file.fileno(), path)


def _move(incomplete_dir: Path, file: BinaryIO, source: Path, target: Path) -> bool:
    """Rename the writer's file, if ``source`` still names it; False when it does not."""
    with _locked(incomplete_dir):
        if not _names(file.fileno(), source):
            return False
        os.replace(source, target)
        return True


def _has_live_writer(incomplete_dir: Path, path: Path) -> bool:
    """Whether a live writer holds the incomplete file ``path`` (False when there is none)."""
    with _locked(incomplete_dir):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return False
        try:
            return _writer_alive(fd)
        finally:
            os.close(fd)


def _delete_stalled(incomplete_dir: Path, older_than: float) -> int:
    """Delete the incomplete files whose writer died, and those last written before
    ``older_than`` (epoch seconds); returns how many."""
    deleted = 0
    with _locked(incomplete_dir):
        for found in _scan(incomplete_dir):
            path = incomplete_dir / found.name
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except FileNotFoundError:
                continue
            try:
                if not _writer_alive(fd) or os.fstat(fd).st_mtime < older_than:
                    deleted += _remove(path)
            finally:
                os.close(fd)
    return deleted
