"""The metadata stores of the glance image cache (rawdb.glance.image_cache): where its rows live.

:class:`LocalStore` keeps them in ``<cache dir>/cache.db`` (glance's sqlite driver schema);
:class:`SharedStore` in the glance database's ``node_reference`` / ``cached_images`` tables,
under this node (glance's centralized_db driver).  Both answer the ``_Store`` protocol the
driver uses, one statement per method; :meth:`SharedStore.take_legacy` also does the one-time
move of a legacy ``cache.db``'s rows into the shared tables.  No store touches the cache
directory's image files: the driver keeps files and rows in step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from rawdb import Database, connect, errors
from rawdb.context import Context
from rawdb.glance import cache_db


class _Store(Protocol):
    """Where the cache keeps its rows; every method is one statement."""

    node_url: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def images(self) -> list[dict[str, Any]]: ...
    async def has(self, image_id: str) -> bool: ...
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
                await ctx.execute("glance._cache_stores.create_table")
        except errors.DBError as exc:
            await self.close()
            raise errors.BadDriverConfiguration(driver_name="image cache", reason=f"{self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def images(self) -> list[dict[str, Any]]:
        async with self.db.reader() as ctx:
            return [dict(row) for row in await ctx.fetch("glance._cache_stores.images")]

    async def has(self, image_id: str) -> bool:
        async with self.db.reader() as ctx:
            return bool(await ctx.fetchval("glance._cache_stores.has", image_id=image_id))

    async def hit_count(self, image_id: str) -> int:
        async with self.db.reader() as ctx:
            return int(await ctx.fetchval("glance._cache_stores.hit_count", image_id=image_id) or 0)

    async def record(self, image_id: str, size: int) -> None:
        now = time.time()
        async with self.db.writer() as ctx:
            await ctx.execute(
                "glance._cache_stores.record",
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
                "glance._cache_stores.adopt", image_id=image_id, last_accessed=mtime, last_modified=mtime, size=size
            )

    async def hit(self, image_id: str) -> None:
        async with self.db.writer() as ctx:
            await ctx.execute("glance._cache_stores.hit", image_id=image_id, now=time.time())

    async def forget(self, image_id: str) -> None:
        async with self.db.writer() as ctx:
            await ctx.execute("glance._cache_stores.forget", image_id=image_id)

    async def forget_all(self) -> None:
        async with self.db.writer() as ctx:
            await ctx.execute("glance._cache_stores.forget_all")

    async def least_recently_accessed(self) -> str | None:
        async with self.db.reader() as ctx:
            found: str | None = await ctx.fetchval("glance._cache_stores.least_recently_accessed")
            return found

    async def nodes(self, image_id: str) -> list[str]:
        return [self.node_url] if await self.has(image_id) else []


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

    async def has(self, image_id: str) -> bool:
        return await cache_db.is_image_cached_for_node(self._ctx(), self.node_url, image_id)

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

    async def take_legacy(self, path: Path, keep: Callable[[Any], bool]) -> int:
        """Copy the rows of the legacy ``cache.db`` at ``path`` whose ids ``keep`` accepts into
        this node's rows (a row already there wins), then delete the legacy rows.

        Returns how many rows were copied (0 when the file has no cache table).
        """
        async with await connect(f"sqlite:///{path}", readers=1) as legacy, legacy.writer() as local:
            if not await local.fetchval("glance._cache_stores.table_exists"):
                return 0
            rows = [row for row in await local.fetch("glance._cache_stores.images") if keep(row["image_id"])]
            copied = 0
            async with self.db.writer() as shared:
                for row in rows:
                    copied += await cache_db.insert_cache_details(
                        shared,
                        self.node_url,
                        row["image_id"],
                        int(row["size"] or 0),
                        row["checksum"],
                        last_accessed=float(row["last_accessed"] or 0.0),
                        last_modified=float(row["last_modified"] or 0.0),
                        hits=int(row["hits"] or 0),
                        replace=False,
                    )
            await local.execute("glance._cache_stores.forget_all")
            return copied


_IMAGE_KEYS = ("image_id", "last_accessed", "last_modified", "size", "hits", "checksum")
