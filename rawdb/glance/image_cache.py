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

A cached image is ``<dir>/<id>``; ``incomplete/<id>`` is being written, ``invalid/<id>`` is a
write that failed, ``queue/<id>`` an empty marker for the prefetcher.  File-system work runs
in worker threads.  Unlike glance, database errors are raised, never logged and swallowed;
``get_least_recently_accessed`` answers None when there is nothing, and ``prune`` reconciles
files without rows and rows without files, so it always ends; a second write of an image
refreshes its row; concurrent writers of one image cannot interleave (the second one gets
:class:`~rawdb.errors.ImageBeingCached`); a failed or cancelled write leaves the cached copy
and its row as they were; timestamps are epoch seconds, right whatever the time zone.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol, TypeVar

import anyio
import anyio.to_thread
from anyio import AsyncFile

from rawdb import errors
from rawdb.context import Context
from rawdb.database import Database, connect
from rawdb.glance import cache_db

CACHE_DB = "cache.db"
DEFAULT_STALL_TIME = 86400  # seconds an incomplete file may sit before clean() removes it
DEFAULT_MAX_SIZE = 10 * 1024**3  # glance's image_cache_max_size
CHUNK_SIZE = 64 * 1024

# An id becomes a file name: no separators, no leading dot, at most glance's 36 characters.
_IMAGE_ID = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,35}")
T = TypeVar("T")


def check_image_id(image_id: Any) -> str:
    """An id that is safe as a file name in the cache, or Invalid."""
    if not isinstance(image_id, str) or not _IMAGE_ID.fullmatch(image_id):
        raise errors.Invalid(
            f"Image id {image_id!r} cannot be cached: 1-36 characters of letters, digits, '-', '_' or '.', "
            "not starting with '.'."
        )
    return image_id


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


async def delete_cached_file(path: str | os.PathLike[str]) -> bool:
    """Delete a file if it exists (glance's ``delete_cached_file``); True when one was deleted."""
    return await _in_thread(_remove, Path(path))


@dataclass(frozen=True)
class _File:
    name: str
    size: int
    mtime: float


def _scan(directory: Path, skip: Callable[[str], bool] = lambda name: False) -> list[_File]:
    """The regular files directly in ``directory``, by name."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if skip(entry.name):
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


# --- metadata stores ---------------------------------------------------------------------


class _Store(Protocol):
    """Where the cache keeps its rows; every method is one statement."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def images(self) -> list[dict[str, Any]]: ...
    async def hit_count(self, image_id: str) -> int: ...
    async def record(self, image_id: str, size: int) -> None: ...
    async def adopt(self, image_id: str, size: int, mtime: float) -> None: ...
    async def hit(self, image_id: str) -> None: ...
    async def forget(self, image_id: str) -> None: ...
    async def forget_all(self) -> None: ...
    async def least_recently_accessed(self) -> str | None: ...
    async def nodes(self, image_id: str) -> list[str]: ...


class _Opened:
    _db: Database | None

    @property
    def db(self) -> Database:
        """The store's database (BadDriverConfiguration before ``open()``)."""
        if self._db is None:
            raise errors.BadDriverConfiguration(driver_name="image cache", reason="the driver is not configured")
        return self._db


class LocalStore(_Opened):
    """Rows in ``<cache dir>/cache.db``, in glance's sqlite driver schema (a file it made is reused)."""

    def __init__(self, path: Path, node_url: str | None = None) -> None:
        self.path = path
        self.node_url = node_url or path.parent.as_uri()
        self._db: Database | None = None

    async def open(self) -> None:
        if self._db is not None:
            return
        try:
            self._db = await connect(f"sqlite:///{self.path}", readers=2)
            async with self._db.writer() as ctx:
                await ctx.execute("glance.cache_local.create_table")
        except errors.DBError as exc:
            await self.close()
            raise errors.BadDriverConfiguration(driver_name="image cache", reason=f"{self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def images(self) -> list[dict[str, Any]]:
        async with self.db.reader() as ctx:
            return [dict(row) for row in await ctx.fetch("glance.cache_local.images")]

    async def hit_count(self, image_id: str) -> int:
        async with self.db.reader() as ctx:
            return int(await ctx.fetchval("glance.cache_local.hit_count", image_id=image_id) or 0)

    async def record(self, image_id: str, size: int) -> None:
        now = time.time()
        async with self.db.writer() as ctx:
            await ctx.execute(
                "glance.cache_local.record",
                image_id=image_id,
                last_accessed=now,
                last_modified=now,
                size=size,
                hits=0,
                checksum=None,
            )

    async def adopt(self, image_id: str, size: int, mtime: float) -> None:
        async with self.db.writer() as ctx:
            await ctx.execute(
                "glance.cache_local.adopt", image_id=image_id, last_accessed=mtime, last_modified=mtime, size=size
            )

    async def hit(self, image_id: str) -> None:
        async with self.db.writer() as ctx:
            await ctx.execute("glance.cache_local.hit", image_id=image_id, now=time.time())

    async def forget(self, image_id: str) -> None:
        async with self.db.writer() as ctx:
            await ctx.execute("glance.cache_local.forget", image_id=image_id)

    async def forget_all(self) -> None:
        async with self.db.writer() as ctx:
            await ctx.execute("glance.cache_local.forget_all")

    async def least_recently_accessed(self) -> str | None:
        async with self.db.reader() as ctx:
            found: str | None = await ctx.fetchval("glance.cache_local.least_recently_accessed")
            return found

    async def nodes(self, image_id: str) -> list[str]:
        async with self.db.reader() as ctx:
            cached = await ctx.fetchval("glance.cache_local.hit_count", image_id=image_id) is not None
        return [self.node_url] if cached else []


class SharedStore(_Opened):
    """Rows in the glance database's ``cached_images``, under this node's ``node_reference``."""

    def __init__(self, database: Database | str, node_url: str) -> None:
        self._url = database if isinstance(database, str) else None
        self._db = database if isinstance(database, Database) else None
        self.node_url = node_url

    async def open(self) -> None:
        if self._db is None:
            assert self._url is not None
            self._db = await connect(self._url)
        try:
            await cache_db.node_reference_create(self.db.context(is_admin=True), self.node_url)
        except errors.Duplicate:
            pass  # registered earlier, by this node or by glance
        except errors.DBNonExistentTable as exc:
            await self.close()
            raise errors.BadDriverConfiguration(
                driver_name="image cache",
                reason=f"the database has no glance tables: run `rawdb schema bootstrap --service glance` ({exc})",
            ) from exc

    async def close(self) -> None:
        if self._url is not None and self._db is not None:  # only a database we opened ourselves
            db, self._db = self._db, None
            await db.close()

    def _ctx(self) -> Context:
        return self.db.context(is_admin=True)

    async def images(self) -> list[dict[str, Any]]:
        rows = await cache_db.get_cached_images(self._ctx(), self.node_url)
        return [{key: row[key] for key in _IMAGE_KEYS} for row in rows]

    async def hit_count(self, image_id: str) -> int:
        return await cache_db.get_hit_count(self._ctx(), image_id, self.node_url)

    async def record(self, image_id: str, size: int) -> None:
        await cache_db.insert_cache_details(self._ctx(), self.node_url, image_id, size)

    async def adopt(self, image_id: str, size: int, mtime: float) -> None:
        await cache_db.insert_cache_details(
            self._ctx(), self.node_url, image_id, size, last_accessed=mtime, last_modified=mtime, replace=False
        )

    async def hit(self, image_id: str) -> None:
        await cache_db.update_hit_count(self._ctx(), image_id, self.node_url)

    async def forget(self, image_id: str) -> None:
        await cache_db.delete_cached_image(self._ctx(), image_id, self.node_url)

    async def forget_all(self) -> None:
        await cache_db.delete_all_cached_images(self._ctx(), self.node_url)

    async def least_recently_accessed(self) -> str | None:
        return await cache_db.get_least_recently_accessed(self._ctx(), self.node_url)

    async def nodes(self, image_id: str) -> list[str]:
        return await cache_db.get_cached_nodes(self._ctx(), image_id)


_IMAGE_KEYS = ("image_id", "last_accessed", "last_modified", "size", "hits", "checksum")


# --- the driver --------------------------------------------------------------------------


class Driver:
    """An image cache directory and its metadata (glance's cache driver API, async).

    :param cache_dir: the cache directory (glance's ``image_cache_dir``); created if missing
    :param database: a Database or URL holding the glance schema: the metadata then lives in
        its shared tables, for this node; without it, in ``<cache_dir>/<sqlite_db>``
    :param node_url: this node's url (glance's ``worker_self_reference_url``); required with
        a database
    :param stall_time: seconds before ``clean()`` removes an incomplete file
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

    def _is_db_file(self, name: str) -> bool:
        db = self.db_path.name
        return name == db or name.startswith(db + "-") or (self.shared and name.endswith(".db"))

    async def _cached_files(self) -> list[_File]:
        return await _in_thread(_scan, self.base_dir, self._is_db_file)

    # --- sizes and listings ----------------------------------------------------------

    async def get_cache_size(self) -> int:
        """Bytes of the files in the cache directory (the metadata file excluded)."""
        self._require()
        return sum(f.size for f in await self._cached_files())

    async def get_cache_files(self, basepath: str | os.PathLike[str]) -> list[str]:
        """Paths of the regular files directly in ``basepath``, the metadata file excluded."""
        self._require()
        return [os.path.join(basepath, f.name) for f in await _in_thread(_scan, Path(basepath), self._is_db_file)]

    async def get_cached_images(self) -> list[dict[str, Any]]:
        """Every cached image's row, by id: ``image_id, last_accessed, last_modified, size,
        hits, checksum`` (timestamps as epoch seconds)."""
        self._require()
        return await self._store.images()

    async def get_hit_count(self, image_id: str) -> int:
        """How often the cached image was read (0 when it is not cached)."""
        if not await self.is_cached(image_id):
            return 0
        return await self._store.hit_count(image_id)

    async def get_cached_nodes(self, image_id: str) -> list[str]:
        """The urls of the nodes that cache the image (this one alone, for a local cache)."""
        self._require()
        return await self._store.nodes(check_image_id(image_id))

    async def get_least_recently_accessed(self) -> tuple[str, int] | None:
        """``(image_id, file size)`` of the image read longest ago, or None when no row is left."""
        self._require()
        image_id = await self._store.least_recently_accessed()
        if image_id is None:
            return None

        def size() -> int:
            try:
                return (self.base_dir / image_id).stat().st_size
            except FileNotFoundError:
                return 0

        return image_id, await _in_thread(size)

    # --- states ----------------------------------------------------------------------

    async def _exists(self, path: Path) -> bool:
        self._require()
        return await _in_thread(path.exists)

    async def is_cached(self, image_id: str) -> bool:
        """Whether the image has a complete file in the cache."""
        return await self._exists(self.base_dir / check_image_id(image_id))

    async def is_being_cached(self, image_id: str) -> bool:
        """Whether a write of the image is under way (or stalled)."""
        return await self._exists(self.incomplete_dir / check_image_id(image_id))

    async def is_queued(self, image_id: str) -> bool:
        """Whether the image waits for the prefetcher."""
        return await self._exists(self.queue_dir / check_image_id(image_id))

    async def is_cacheable(self, image_id: str) -> bool:
        """Neither cached nor being cached."""
        return not (await self.is_cached(image_id) or await self.is_being_cached(image_id))

    # --- deleting --------------------------------------------------------------------

    async def delete_all_cached_images(self) -> int:
        """Delete every cached file and this node's rows; returns how many files were deleted."""
        self._require()
        files = await self._cached_files()
        deleted = await _in_thread(_remove_all, [self.base_dir / f.name for f in files])
        await self._store.forget_all()
        return deleted

    async def delete_cached_image(self, image_id: str) -> None:
        """Delete the image's cached file and its row."""
        self._require()
        await delete_cached_file(self.base_dir / check_image_id(image_id))
        await self._store.forget(image_id)

    async def delete_all_queued_images(self) -> int:
        """Delete every queue marker; returns how many."""
        return await self._delete_files(self.queue_dir)

    async def delete_queued_image(self, image_id: str) -> bool:
        """Take the image off the queue; True when it was queued."""
        self._require()
        return await delete_cached_file(self.queue_dir / check_image_id(image_id))

    async def delete_invalid_files(self) -> int:
        """Delete every file of a failed write; returns how many."""
        return await self._delete_files(self.invalid_dir)

    async def delete_stalled_files(self, older_than: float) -> int:
        """Delete incomplete files last written before ``older_than`` (epoch seconds); returns how many."""
        return await self._delete_files(self.incomplete_dir, older_than)

    async def _delete_files(self, directory: Path, older_than: float | None = None) -> int:
        self._require()

        def delete() -> int:
            doomed = [f for f in _scan(directory) if older_than is None or f.mtime < older_than]
            return _remove_all([directory / f.name for f in doomed])

        return await _in_thread(delete)

    async def clean(self, stall_time: float | None = None) -> dict[str, int]:
        """Delete failed writes and writes stalled for ``stall_time`` seconds (default: the
        driver's); cached files are never touched.  Returns the counts of each."""
        invalid = await self.delete_invalid_files()
        stall = self.stall_time if stall_time is None else stall_time
        stalled = await self.delete_stalled_files(time.time() - stall)
        return {"invalid": invalid, "stalled": stalled}

    async def prune(self, max_size: int | None = None) -> dict[str, int]:
        """Delete least-recently-read images until the cache is at most ``max_size`` bytes.

        Files without rows are recorded first (last read = their mtime) and rows without files
        dropped, so the loop only meets images it can delete, and ends when none is left.
        Returns ``{"deleted": images, "freed": bytes, "size": bytes left}``.
        """
        limit = self.max_size if max_size is None else max_size
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise errors.Invalid(f"max_size must be a non-negative number of bytes, not {limit!r}")
        files = await self._cached_files()
        size = sum(f.size for f in files)
        deleted = freed = 0
        if size <= limit:
            return {"deleted": 0, "freed": 0, "size": size}
        await self._reconcile(files)
        while size > limit:
            lru = await self.get_least_recently_accessed()
            if lru is None:
                break
            await self.delete_cached_image(lru[0])
            deleted, freed, size = deleted + 1, freed + lru[1], size - lru[1]
        return {"deleted": deleted, "freed": freed, "size": await self.get_cache_size()}

    async def _reconcile(self, files: list[_File]) -> None:
        rows = {row["image_id"] for row in await self._store.images()}
        on_disk = {f.name: f for f in files}
        for image_id in sorted(rows - on_disk.keys()):
            await self._store.forget(image_id)
        for name in sorted(on_disk.keys() - rows):
            if _cacheable(name):
                await self._store.adopt(name, on_disk[name].size, on_disk[name].mtime)

    # --- reading and writing ---------------------------------------------------------

    @contextlib.asynccontextmanager
    async def open_for_write(self, image_id: str) -> AsyncIterator[AsyncFile[bytes]]:
        """Write the image into the cache: a file in ``incomplete/`` that becomes the cached
        copy when the block succeeds, and its row is written then.  On an error or a
        cancellation the file goes to ``invalid/`` and a previous copy stays as it was.

        :raises ImageBeingCached: another write of this image is under way (or stalled)
        """
        self._require()
        incomplete = self.incomplete_dir / check_image_id(image_id)
        try:
            file = await anyio.open_file(incomplete, "xb")
        except FileExistsError:
            raise errors.ImageBeingCached(image_id=image_id) from None
        try:
            try:
                yield file
                with anyio.CancelScope(shield=True):
                    await _in_thread(_sync, file.wrapped)
            finally:
                with anyio.CancelScope(shield=True):
                    await file.aclose()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await _in_thread(os.replace, incomplete, self.invalid_dir / image_id)
            raise
        with anyio.CancelScope(shield=True):
            await self._commit(image_id, incomplete)

    async def _commit(self, image_id: str, incomplete: Path) -> None:
        cached = self.base_dir / image_id

        def put_in_place() -> int:
            size = incomplete.stat().st_size
            os.replace(incomplete, cached)
            return size

        size = await _in_thread(put_in_place)
        try:
            await self._store.record(image_id, size)
        except BaseException:
            await _in_thread(os.replace, cached, self.invalid_dir / image_id)  # no untracked cached file
            raise
        await delete_cached_file(self.queue_dir / image_id)

    @contextlib.asynccontextmanager
    async def open_for_read(self, image_id: str) -> AsyncIterator[AsyncFile[bytes]]:
        """Read the cached image; a read that ends without an error counts one hit.

        :raises ImageNotCached: the image has no cached file
        """
        self._require()
        try:
            file = await anyio.open_file(self.base_dir / check_image_id(image_id), "rb")
        except FileNotFoundError:
            raise errors.ImageNotCached(image_id=image_id) from None
        try:
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
        files = await _in_thread(_scan, self.queue_dir)
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
        async with await connect(f"sqlite:///{self.db_path}", readers=1) as legacy, legacy.writer() as local:
            if not await local.fetchval("glance.cache_local.table_exists"):
                return 0
            rows = [row for row in await local.fetch("glance.cache_local.images") if _cacheable(row["image_id"])]
            copied = 0
            async with self._store.db.writer() as shared:
                for row in rows:
                    copied += await cache_db.insert_cache_details(
                        shared,
                        self._store.node_url,
                        row["image_id"],
                        int(row["size"] or 0),
                        row["checksum"],
                        last_accessed=float(row["last_accessed"] or 0.0),
                        last_modified=float(row["last_modified"] or 0.0),
                        hits=int(row["hits"] or 0),
                        replace=False,
                    )
            await local.execute("glance.cache_local.forget_all")
            return copied


def _cacheable(image_id: Any) -> bool:
    return isinstance(image_id, str) and _IMAGE_ID.fullmatch(image_id) is not None
