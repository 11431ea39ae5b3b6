"""The glance image cache (spec glance.md E): image files in a directory, their metadata in a store.

One async :class:`Driver` serves both of glance's drivers.  Without a database the metadata
lives in ``<cache dir>/cache.db`` (glance's sqlite driver, the embedded default); with one it
lives in the glance database's ``node_reference`` / ``cached_images`` tables, shared by every
node (glance's centralized_db driver)::

    async with Driver("/var/lib/glance/image-cache") as cache:                # local file
        ...
    async with Driver(cache_dir, database=db, node_url="http://node1:9292") as cache:   # shared
        async with cache.open_for_write(image_id) as f:
            async for chunk in source:
                await f.write(chunk)

A cached image is ``<dir>/<id>`` and its row; ``incomplete/<id>`` is being written,
``invalid/<id>`` is a write that failed, ``queue/<id>`` an empty marker for the prefetcher.
File-system work runs in worker threads.  Unlike glance:

* an id is refused (``Invalid``) unless it can only name an image's files: never the
  directory's own names (``cache.db`` and SQLite's companions, the folders, glance's lock
  files), and no listing reports or counts those names;
* a writer holds an exclusive ``flock`` on its incomplete file while it writes, so a second
  writer of the image gets :class:`~rawdb.errors.ImageBeingCached` only while the first one
  lives: the file of a writer that died is taken over at once, and ``clean()`` deletes it
  whatever its age (glance blocked the image for ``stall_time``, a day);
* an image is cached when its file and its row are both there.  A crash between the two
  leaves a half-known image, which is not cached (not served, listed or counted) until
  ``clean()`` or ``prune()`` adopt the file or forget the row;
* database errors are raised, never logged and swallowed; ``get_least_recently_accessed``
  answers None when there is nothing, and ``prune`` always ends; a second write of an image
  refreshes its row; a failed or cancelled write leaves the cached copy and its row as they
  were; timestamps are epoch seconds, right whatever the time zone.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import anyio
from anyio import AsyncFile

from rawdb import Database, errors
from rawdb.glance._cache_files import (
    _claim,
    _delete_stalled,
    _File,
    _has_live_writer,
    _in_thread,
    _move,
    _owns,
    _remove,
    _remove_all,
    _scan,
    _sync,
)
from rawdb.glance._cache_stores import LocalStore, SharedStore, _Store

CACHE_DB = "cache.db"
DEFAULT_STALL_TIME = 86400  # seconds a live writer may leave its file unwritten before clean() removes it
DEFAULT_MAX_SIZE = 10 * 1024**3  # glance's image_cache_max_size
CHUNK_SIZE = 64 * 1024

# An id becomes a file name: no separators, no leading dot, at most glance's 36 characters.
_IMAGE_ID = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,35}")
# Names in the directory that are never images, besides the metadata file and its companions:
# the folders, and the lock files glance's drivers leave here (oslo lockutils, lock_path = the
# cache directory).  Compared case-folded: on a case-insensitive file system, QUEUE is queue.
_OWN_NAMES = frozenset({"incomplete", "invalid", "queue", "image_cache_db_init", "sqlite_centralized_migrate"})


async def delete_cached_file(path: str | os.PathLike[str]) -> bool:
    """Delete a file if it exists (glance's ``delete_cached_file``); True when one was deleted."""
    return await _in_thread(_remove, Path(path))


# --- the driver --------------------------------------------------------------------------


class Driver:
    """An image cache directory and its metadata (glance's cache driver API, async).

    :param cache_dir: the cache directory (glance's ``image_cache_dir``); created if missing
    :param database: a Database or URL holding the glance schema: the metadata then lives in
        its shared tables, for this node; without it, in ``<cache_dir>/<sqlite_db>``
    :param node_url: this node's url (glance's ``worker_self_reference_url``); required with
        a database
    :param stall_time: seconds without a write before ``clean()`` removes an incomplete file
        whose writer may still be alive (a dead writer's file goes at once)
    :param max_size: the size ``prune()`` brings the cache down to, in bytes
    :param take_legacy_db: a shared cache's ``configure()`` moves the rows of a legacy
        ``cache.db`` in the directory into the shared tables (glance does so at start)
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None,
        *,
        database: Database | str | None = None,
        node_url: str | None = None,
        stall_time: float = DEFAULT_STALL_TIME,
        max_size: int = DEFAULT_MAX_SIZE,
        sqlite_db: str = CACHE_DB,
        take_legacy_db: bool = True,
    ) -> None:
        if not cache_dir:
            raise errors.BadDriverConfiguration(driver_name="image cache", reason="no image cache directory is set")
        if database is not None and not node_url:
            raise errors.BadDriverConfiguration(
                driver_name="image cache", reason="a shared cache needs this node's url (node_url)"
            )
        self.base_dir = Path(cache_dir).absolute()
        self.incomplete_dir = self.base_dir / "incomplete"
        self.invalid_dir = self.base_dir / "invalid"
        self.queue_dir = self.base_dir / "queue"
        self.db_path = self.base_dir / sqlite_db
        self.stall_time = stall_time
        self.max_size = max_size
        self.node_url = node_url
        self.shared = database is not None
        self.take_legacy_db = take_legacy_db
        self._store: _Store = (
            SharedStore(database, node_url) if database is not None and node_url else LocalStore(self.db_path, node_url)
        )
        self._configured = False

    def __repr__(self) -> str:
        return f"<Driver {self.base_dir} {'shared ' + str(self.node_url) if self.shared else 'local'}>"

    async def __aenter__(self) -> Driver:
        await self.configure()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- set-up ----------------------------------------------------------------------

    async def configure(self) -> None:
        """Create the directories and the metadata store; a shared cache also registers this
        node and takes over the rows of a legacy ``cache.db`` found in the directory.

        :raises BadDriverConfiguration: a directory cannot be created, or the store cannot be used
        """
        await self.set_paths()
        try:
            await self.initialize_db()
            self._configured = True
            if self.shared and self.take_legacy_db:
                await self.migrate_legacy()
        except BaseException:
            await self.close()  # nothing stays open when configuring fails
            raise

    async def set_paths(self) -> None:
        """Create the cache directory and its ``incomplete``, ``invalid`` and ``queue`` folders."""

        def make() -> None:
            for path in (self.base_dir, self.incomplete_dir, self.invalid_dir, self.queue_dir):
                path.mkdir(parents=True, exist_ok=True)

        try:
            await _in_thread(make)
        except OSError as exc:
            raise errors.BadDriverConfiguration(driver_name="image cache", reason=str(exc)) from exc

    async def initialize_db(self) -> None:
        """Open the metadata store: create ``cache.db``'s table, or register this node."""
        await self._store.open()

    async def close(self) -> None:
        """Close the store's connections (a Database passed in stays open)."""
        await self._store.close()
        self._configured = False

    def _require(self) -> None:
        if not self._configured:
            raise errors.BadDriverConfiguration(
                driver_name="image cache", reason="configure() the driver (or use it with `async with`) first"
            )

    def _is_image(self, name: Any) -> bool:
        """Whether ``name`` can be an image id here, so the cache may see a file of that name:
        1-36 letters, digits, '-', '_' or '.', not starting with '.', and none of the
        directory's own names, case-folded: the metadata file and every ``<it>-…`` (SQLite's
        -wal, -shm, -journal, -mj…), the folders, glance's lock files; in a shared cache also
        every ``*.db`` (glance's centralized_db driver takes them for legacy cache files)."""
        if not isinstance(name, str) or not _IMAGE_ID.fullmatch(name):
            return False
        folded, db = name.casefold(), self.db_path.name.casefold()
        return not (
            folded in _OWN_NAMES
            or folded == db
            or folded.startswith(db + "-")
            or (self.shared and folded.endswith(".db"))
        )

    def _check(self, image_id: Any) -> str:
        """The id, when the driver is configured and the id can be an image's file name.

        :raises BadDriverConfiguration: the driver is not configured
        :raises Invalid: the id is not one ``_is_image`` accepts; nothing is touched
        """
        self._require()
        if not isinstance(image_id, str) or not _IMAGE_ID.fullmatch(image_id):
            raise errors.Invalid(
                f"image_id {image_id!r:.80} cannot be cached: 1-36 characters of letters, digits, '-', '_' "
                "or '.', not starting with '.'."
            )
        if not self._is_image(image_id):
            raise errors.Invalid(
                f"image_id {image_id!r} cannot be cached: the cache directory keeps that name for its own "
                "files (its database and SQLite's companions, its folders, glance's lock files)."
            )
        return image_id

    async def _image_files(self) -> dict[str, _File]:
        """The files in the directory whose names can be image ids (cached or half-known)."""
        return {f.name: f for f in await _in_thread(_scan, self.base_dir, self._is_image)}

    async def _cached(self) -> tuple[list[dict[str, Any]], dict[str, _File]]:
        """The rows of the cached images (those with a file) and the files.  The rows are read
        first: a commit puts its file in place before it writes its row."""
        self._require()
        rows = await self._store.images()
        found = await self._image_files()
        return [row for row in rows if row["image_id"] in found], found

    # --- sizes and listings ----------------------------------------------------------
    # An image is cached when it has both its file and its row.  A half-known image (a file
    # without a row or a row without a file, what a crash leaves) is not cached: it is not
    # served, listed or counted until clean() or prune() repair it.

    async def get_cache_size(self) -> int:
        """Bytes of the cached images' files (half-known images and other files not counted)."""
        rows, found = await self._cached()
        return sum(found[row["image_id"]].size for row in rows)

    async def get_cache_files(self, basepath: str | os.PathLike[str]) -> list[str]:
        """Paths of the regular files directly in ``basepath`` whose names can be image ids
        (the cache's own files left out; in the cache directory, half-known images included)."""
        self._require()
        return [os.path.join(basepath, f.name) for f in await _in_thread(_scan, Path(basepath), self._is_image)]

    async def get_cached_images(self) -> list[dict[str, Any]]:
        """Every cached image's row, by id: ``image_id, last_accessed, last_modified, size,
        hits, checksum`` (timestamps as epoch seconds).  Half-known images are left out."""
        rows, _ = await self._cached()
        return rows

    async def get_hit_count(self, image_id: str) -> int:
        """How often the cached image was read (0 when it is not cached, or half-known)."""
        if not await self.is_cached(image_id):
            return 0
        return await self._store.hit_count(image_id)

    async def get_cached_nodes(self, image_id: str) -> list[str]:
        """The urls of the nodes that cache the image, from the rows (this one alone, for a
        local cache); this node is left out while its copy is half-known."""
        nodes = await self._store.nodes(self._check(image_id))
        here = self._store.node_url
        if here in nodes and not await _in_thread((self.base_dir / image_id).is_file):
            nodes.remove(here)
        return nodes

    async def get_least_recently_accessed(self) -> tuple[str, int] | None:
        """``(image_id, file size)`` of the row read longest ago, or None when no row is left.
        The rows alone decide: a row without its file answers a size of 0."""
        self._require()
        image_id = await self._store.least_recently_accessed()
        if image_id is None:
            return None

        def size() -> int:
            try:
                return (self.base_dir / image_id).stat().st_size if self._is_image(image_id) else 0
            except FileNotFoundError:
                return 0

        return image_id, await _in_thread(size)

    # --- states ----------------------------------------------------------------------

    async def is_cached(self, image_id: str) -> bool:
        """Whether the image is cached: its file and its row are both there."""
        path = self.base_dir / self._check(image_id)
        return await _in_thread(path.is_file) and await self._store.has(image_id)

    async def is_being_cached(self, image_id: str) -> bool:
        """Whether a live writer is writing the image (a dead writer's file is not: the next
        writer takes it over, ``clean()`` deletes it)."""
        path = self.incomplete_dir / self._check(image_id)
        return await _in_thread(_has_live_writer, self.incomplete_dir, path)

    async def is_queued(self, image_id: str) -> bool:
        """Whether the image waits for the prefetcher."""
        return await _in_thread((self.queue_dir / self._check(image_id)).exists)

    async def is_cacheable(self, image_id: str) -> bool:
        """Neither cached nor being cached (a half-known image is cacheable: writing it heals it)."""
        return not (await self.is_cached(image_id) or await self.is_being_cached(image_id))

    # --- deleting --------------------------------------------------------------------

    async def delete_all_cached_images(self) -> int:
        """Delete every image file (cached or half-known) and this node's rows; returns how
        many files were deleted.  The cache's own files and other names are left alone."""
        self._require()
        files = await self._image_files()
        deleted = await _in_thread(_remove_all, [self.base_dir / name for name in files])
        await self._store.forget_all()
        return deleted

    async def delete_cached_image(self, image_id: str) -> None:
        """Delete the image's cached file and its row (whichever of them is there)."""
        await self._drop(self._check(image_id))

    async def _drop(self, image_id: str) -> None:
        if self._is_image(image_id):  # a row named like the cache's own files has no file to delete
            await delete_cached_file(self.base_dir / image_id)
        await self._store.forget(image_id)

    async def delete_all_queued_images(self) -> int:
        """Delete every queue marker; returns how many."""
        return await self._delete_files(self.queue_dir)

    async def delete_queued_image(self, image_id: str) -> bool:
        """Take the image off the queue; True when it was queued."""
        return await delete_cached_file(self.queue_dir / self._check(image_id))

    async def delete_invalid_files(self) -> int:
        """Delete every file of a failed write; returns how many."""
        return await self._delete_files(self.invalid_dir)

    async def _delete_files(self, directory: Path) -> int:
        self._require()
        return await _in_thread(lambda: _remove_all([directory / f.name for f in _scan(directory)]))

    async def delete_stalled_files(self, older_than: float) -> int:
        """Delete the incomplete files whose writer died, whatever their age, and those of live
        writers last written before ``older_than`` (epoch seconds: glance's rule for a writer
        that may be hung, whose commit then fails); returns how many."""
        self._require()
        return await _in_thread(_delete_stalled, self.incomplete_dir, older_than)

    async def clean(self, stall_time: float | None = None) -> dict[str, int]:
        """Repair what failed writes and crashes leave; safe alongside readers and writers.

        Deletes the failed writes (``invalid``) and the incomplete files of dead writers, or
        of live ones after ``stall_time`` seconds without a write (``stalled``; default: the
        driver's stall time), then makes rows and files agree: a file without a row is
        adopted (size from the file, last read and modified = its mtime; ``adopted``) and a
        row without a file deleted (``forgotten``).  Cached images are never deleted.
        Returns the four counts.
        """
        invalid = await self.delete_invalid_files()
        stall = self.stall_time if stall_time is None else stall_time
        stalled = await self.delete_stalled_files(time.time() - stall)
        adopted, forgotten = await self._reconcile()
        return {"invalid": invalid, "stalled": stalled, "adopted": adopted, "forgotten": forgotten}

    async def prune(self, max_size: int | None = None) -> dict[str, int]:
        """Delete least-recently-read images until the cache is at most ``max_size`` bytes.

        Half-known images are repaired first, as ``clean()`` does, so the loop only meets
        images it can delete, and ends when none is left.
        Returns ``{"deleted": images, "freed": bytes, "size": bytes left}``.
        """
        limit = self.max_size if max_size is None else max_size
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise errors.Invalid(f"max_size must be a non-negative number of bytes, not {limit!r}")
        await self._reconcile()
        size = await self.get_cache_size()
        deleted = freed = 0
        while size > limit:
            lru = await self.get_least_recently_accessed()
            if lru is None:
                break
            await self._drop(lru[0])
            deleted, freed, size = deleted + 1, freed + lru[1], size - lru[1]
        return {"deleted": deleted, "freed": freed, "size": await self.get_cache_size()}

    async def _reconcile(self) -> tuple[int, int]:
        """Forget rows without a file, then adopt files without a row; ``(adopted, forgotten)``.

        Each pass reads the rows before the files.  A commit puts its file in place before it
        writes its row, so a row seen without a file is one whose file is gone; and a commit
        whose fresh row the first pass forgot has its file seen, and adopted, by the second.
        """
        self._require()
        rows = {row["image_id"] for row in await self._store.images()}
        forgotten = sorted(rows - (await self._image_files()).keys())
        for image_id in forgotten:
            await self._store.forget(image_id)
        rows = {row["image_id"] for row in await self._store.images()}
        found = await self._image_files()
        adopted = sorted(found.keys() - rows)
        for name in adopted:
            await self._store.adopt(name, found[name].size, found[name].mtime)
        return len(adopted), len(forgotten)

    # --- reading and writing ---------------------------------------------------------

    @contextlib.asynccontextmanager
    async def open_for_write(self, image_id: str) -> AsyncIterator[AsyncFile[bytes]]:
        """Write the image into the cache: a file in ``incomplete/``, locked while it is open,
        that becomes the cached copy when the block succeeds, and its row is written then.
        On an error or a cancellation the file goes to ``invalid/`` and a previous copy stays
        as it was.  The file of a writer that died is taken over.

        :raises ImageBeingCached: a live writer is writing this image
        :raises Conflict: at the end, when ``clean()`` deleted this write as stalled
        """
        self._check(image_id)
        with anyio.CancelScope(shield=True):  # a claimed file must not be lost: its lock would block the image
            raw = await _in_thread(_claim, self.incomplete_dir, image_id)
        file = AsyncFile(raw)
        try:
            try:
                yield file
                with anyio.CancelScope(shield=True):
                    await _in_thread(_sync, raw)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await _in_thread(
                        _move, self.incomplete_dir, raw, self.incomplete_dir / image_id, self.invalid_dir / image_id
                    )
                raise
            with anyio.CancelScope(shield=True):
                await self._commit(image_id, raw)
        finally:
            with anyio.CancelScope(shield=True):
                await file.aclose()  # releases the lock, once the file has left incomplete/

    async def _commit(self, image_id: str, file: BinaryIO) -> None:
        incomplete, cached = self.incomplete_dir / image_id, self.base_dir / image_id
        size = os.fstat(file.fileno()).st_size
        where = incomplete
        try:
            # The old row goes before the file comes: a crash in between leaves a file without a
            # row, which clean() adopts with the file's own size, never a row describing a replaced
            # file.  Unless clean() deleted this write as stalled: then the row may be a newer
            # writer's, and stays.
            if await _in_thread(_owns, self.incomplete_dir, file, incomplete):
                await self._store.forget(image_id)
            if not await _in_thread(_move, self.incomplete_dir, file, incomplete, cached):
                raise errors.Conflict(
                    f"The write of image {image_id} was deleted by clean() after stalling for the stall time; "
                    "write the image again.",
                    image_id=image_id,
                )
            where = cached
            await self._store.record(image_id, size)
        except BaseException:
            # no untracked cached file
            await _in_thread(_move, self.incomplete_dir, file, where, self.invalid_dir / image_id)
            raise
        await delete_cached_file(self.queue_dir / image_id)

    @contextlib.asynccontextmanager
    async def open_for_read(self, image_id: str) -> AsyncIterator[AsyncFile[bytes]]:
        """Read the cached image; a read that ends without an error counts one hit.

        :raises ImageNotCached: the image is not cached (no file, or a half-known one)
        """
        try:
            file = await anyio.open_file(self.base_dir / self._check(image_id), "rb")
        except FileNotFoundError:
            raise errors.ImageNotCached(image_id=image_id) from None
        try:
            if not await self._store.has(image_id):
                raise errors.ImageNotCached(image_id=image_id)
            yield file
        finally:
            with anyio.CancelScope(shield=True):
                await file.aclose()
        await self._store.hit(image_id)

    async def read_chunks(self, image_id: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Stream the cached image in chunks (one hit, counted when the last chunk was read)."""
        async with self.open_for_read(image_id) as file:
            while chunk := await file.read(chunk_size):
                yield chunk

    # --- the prefetcher's queue ------------------------------------------------------

    async def queue_image(self, image_id: str) -> bool:
        """Queue the image for the prefetcher; False when it is cached, being cached or queued."""
        if not await self.is_cacheable(image_id) or await self.is_queued(image_id):
            return False

        def touch() -> bool:
            try:
                (self.queue_dir / image_id).touch(exist_ok=False)
            except FileExistsError:
                return False
            return True

        return await _in_thread(touch)

    async def get_queued_images(self) -> list[str]:
        """The queued image ids, oldest first."""
        self._require()
        files = await _in_thread(_scan, self.queue_dir, self._is_image)
        return [f.name for f in sorted(files, key=lambda f: (f.mtime, f.name))]

    # --- the one-time migration ------------------------------------------------------

    async def migrate_legacy(self) -> int:
        """Move the rows of a legacy ``cache.db`` in the directory into the shared tables.

        A row this node already has in the shared tables wins; the legacy rows are deleted
        once copied.  Running it again (or on two processes at once) changes nothing more.
        Returns how many rows were copied.
        """
        self._require()
        if not self.shared:
            raise errors.BadDriverConfiguration(
                driver_name="image cache", reason="migrating cache.db needs a shared cache (a database and node_url)"
            )
        if not await _in_thread(self.db_path.is_file):
            return 0
        assert isinstance(self._store, SharedStore)
        return await self._store.take_legacy(self.db_path, self._is_image)
