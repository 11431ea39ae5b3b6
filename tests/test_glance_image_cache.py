"""The image cache driver: files and rows, on the local store and on the shared tables of both backends."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

import rawdb
from rawdb import errors, schema
from rawdb.glance import cache_db
from rawdb.glance.image_cache import Driver, delete_cached_file
from tests.conftest import OpenDb
from tests.sqltools import execute

NODE_A = "http://node-a:9292"
NODE_B = "http://node-b:9292"
STORES = ["local", "sqlite", "postgresql"]


async def shared_db(url: str, open_db: OpenDb) -> rawdb.Database:
    db = await open_db(url)
    await schema.bootstrap(db, "glance")
    return db


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(store: str, request: pytest.FixtureRequest) -> str | None:
    """The shared store's database URL (None for the local store)."""
    if store == "local":
        return None
    return str(request.getfixturevalue("sqlite_url" if store == "sqlite" else "pg_url"))


@pytest.fixture
async def cache(store_url: str | None, tmp_path: Path, open_db: OpenDb) -> AsyncIterator[Driver]:
    """A configured driver on a fresh directory: local cache.db, or node A of a shared database."""
    if store_url is None:
        driver = Driver(tmp_path / "cache")
    else:
        driver = Driver(tmp_path / "cache", database=await shared_db(store_url, open_db), node_url=NODE_A)
    async with driver:
        yield driver


async def put(cache: Driver, image_id: str, data: bytes, chunk: int = 7) -> None:
    async with cache.open_for_write(image_id) as f:
        for start in range(0, len(data), chunk):
            await f.write(data[start : start + chunk])


async def read(cache: Driver, image_id: str) -> bytes:
    async with cache.open_for_read(image_id) as f:
        return await f.read()


def files(directory: Path) -> list[str]:
    """The regular files in a directory, the local store's cache.db (and its -wal, -shm) left out."""
    return sorted(p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith("cache.db"))


# --- configuration ---------------------------------------------------------------------------


async def test_configure_creates_the_layout(cache: Driver) -> None:
    for path in (cache.base_dir, cache.incomplete_dir, cache.invalid_dir, cache.queue_dir):
        assert path.is_dir()
    assert await cache.get_cache_size() == 0
    assert await cache.get_cached_images() == []
    assert await cache.get_cache_files(cache.base_dir) == []


async def test_a_driver_needs_a_directory_and_a_shared_one_a_node_url(tmp_path: Path) -> None:
    with pytest.raises(errors.BadDriverConfiguration, match="no image cache directory"):
        Driver(None)
    with pytest.raises(errors.BadDriverConfiguration, match="node_url"):
        Driver(tmp_path, database="sqlite:///x.sqlite")
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(errors.BadDriverConfiguration):
        await Driver(tmp_path / "file").configure()


async def test_an_unconfigured_driver_refuses_to_work(tmp_path: Path) -> None:
    driver = Driver(tmp_path / "cache")
    with pytest.raises(errors.BadDriverConfiguration, match="configure"):
        await driver.get_cache_size()
    with pytest.raises(errors.BadDriverConfiguration, match="configure"):
        await driver.is_cached("a")
    with pytest.raises(errors.BadDriverConfiguration, match="configure"):
        async with driver.open_for_write("a"):
            pass
    assert not (tmp_path / "cache").exists()


async def test_a_shared_cache_needs_the_glance_tables(url: str, tmp_path: Path, open_db: OpenDb) -> None:
    db = await open_db(url)
    with pytest.raises(errors.BadDriverConfiguration, match="rawdb schema bootstrap"):
        await Driver(tmp_path / "cache", database=db, node_url=NODE_A).configure()


async def test_a_failed_configure_leaves_nothing_open(url: str, tmp_path: Path, open_db: OpenDb) -> None:
    await shared_db(url, open_db)
    driver = Driver(tmp_path / "cache", database=url, node_url="http://\U0001f600:9292")  # 4-byte: Invalid
    with pytest.raises(errors.Invalid, match="4 byte"):
        await driver.configure()
    assert driver._store._db is None  # type: ignore[attr-defined]  # the database it opened is closed
    with pytest.raises(errors.BadDriverConfiguration, match="configure"):
        await driver.get_cached_images()


async def test_configuring_twice_and_a_second_driver_on_the_same_node_work(cache: Driver, store: str) -> None:
    await put(cache, "img", b"data")
    database = None if store == "local" else cache._store.db  # type: ignore[attr-defined]
    async with Driver(cache.base_dir, database=database, node_url=None if store == "local" else NODE_A) as again:
        assert [row["image_id"] for row in await again.get_cached_images()] == ["img"]


@pytest.mark.parametrize("image_id", ["", ".hidden", "../escape", "a/b", "x" * 37, "nul\x00", 5, None])
async def test_ids_that_are_not_safe_file_names_are_invalid(cache: Driver, image_id: Any) -> None:
    for call in (cache.is_cached, cache.is_queued, cache.queue_image, cache.delete_cached_image, cache.get_hit_count):
        with pytest.raises(errors.Invalid):
            await call(image_id)
    with pytest.raises(errors.Invalid):
        async with cache.open_for_write(image_id):
            pass
    with pytest.raises(errors.Invalid):
        async with cache.open_for_read(image_id):
            pass
    assert not (cache.base_dir.parent / "escape").exists() and not (cache.base_dir / "a").exists()
    assert files(cache.base_dir) == files(cache.incomplete_dir) == files(cache.queue_dir) == []


# --- writing and reading ---------------------------------------------------------------------


async def test_a_write_becomes_the_cached_file_and_its_row(cache: Driver) -> None:
    data = bytes(range(256)) * 40
    before = time.time()
    await put(cache, "img-1", data, chunk=1000)
    assert await cache.is_cached("img-1") and not await cache.is_being_cached("img-1")
    assert not await cache.is_cacheable("img-1")
    assert (cache.base_dir / "img-1").read_bytes() == data
    assert files(cache.incomplete_dir) == files(cache.invalid_dir) == []
    [row] = await cache.get_cached_images()
    assert set(row) == {"image_id", "last_accessed", "last_modified", "size", "hits", "checksum"}
    assert (row["image_id"], row["size"], row["hits"], row["checksum"]) == ("img-1", len(data), 0, None)
    assert before - 1 <= row["last_modified"] <= time.time() + 1
    assert isinstance(row["last_accessed"], float) and row["last_accessed"] == row["last_modified"]
    assert await cache.get_cache_size() == len(data)
    assert await cache.get_cache_files(cache.base_dir) == [str(cache.base_dir / "img-1")]


async def test_while_writing_the_image_is_being_cached_not_cached(cache: Driver) -> None:
    async with cache.open_for_write("img") as f:
        await f.write(b"partial")
        assert await cache.is_being_cached("img") and not await cache.is_cached("img")
        assert not await cache.is_cacheable("img")
        assert await cache.get_cached_images() == []
    assert await cache.is_cached("img")


async def test_reads_count_one_hit_each_and_only_when_they_succeed(cache: Driver) -> None:
    await put(cache, "img", b"0123456789")
    assert await cache.get_hit_count("img") == 0
    assert await read(cache, "img") == b"0123456789"
    chunks = [chunk async for chunk in cache.read_chunks("img", chunk_size=4)]
    assert chunks == [b"0123", b"4567", b"89"]
    with pytest.raises(RuntimeError):
        async with cache.open_for_read("img"):
            raise RuntimeError("the client went away")
    assert await cache.get_hit_count("img") == 2
    assert await cache.get_hit_count("never-cached") == 0


async def test_large_images_stream_in_chunks(cache: Driver) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    await put(cache, "big", data, chunk=64 * 1024)
    chunks = [chunk async for chunk in cache.read_chunks("big", chunk_size=256 * 1024)]
    assert b"".join(chunks) == data
    assert [len(c) for c in chunks[:-1]] == [256 * 1024] * (len(chunks) - 1) and 0 < len(chunks[-1]) <= 256 * 1024
    [row] = await cache.get_cached_images()
    assert (row["size"], row["hits"]) == (len(data), 1)


async def test_reading_an_image_that_is_not_cached(cache: Driver) -> None:
    with pytest.raises(errors.ImageNotCached, match="img"):
        async with cache.open_for_read("img"):
            pass
    async with cache.open_for_write("img") as f:
        await f.write(b"partial")
        with pytest.raises(errors.ImageNotCached):
            await read(cache, "img")


async def test_concurrent_readers_count_every_hit(cache: Driver) -> None:
    await put(cache, "img", b"x" * 10_000)
    results = await asyncio.gather(*(read(cache, "img") for _ in range(25)))
    assert results == [b"x" * 10_000] * 25
    assert await cache.get_hit_count("img") == 25


async def test_a_failed_write_goes_to_invalid_and_leaves_no_row(cache: Driver) -> None:
    with pytest.raises(ValueError, match="checksum mismatch"):
        async with cache.open_for_write("img") as f:
            await f.write(b"half an image")
            raise ValueError("checksum mismatch")
    assert not await cache.is_cached("img") and not await cache.is_being_cached("img")
    assert (cache.invalid_dir / "img").read_bytes() == b"half an image"
    assert await cache.get_cached_images() == []
    assert await cache.is_cacheable("img")


async def test_a_failed_rewrite_keeps_the_cached_copy_and_its_row(cache: Driver) -> None:
    await put(cache, "img", b"good copy")
    await read(cache, "img")
    with pytest.raises(OSError):
        async with cache.open_for_write("img") as f:
            await f.write(b"bad")
            raise OSError("store unreachable")
    assert (cache.base_dir / "img").read_bytes() == b"good copy"
    [row] = await cache.get_cached_images()
    assert (row["size"], row["hits"]) == (9, 1)


async def test_a_cancelled_write_goes_to_invalid(cache: Driver) -> None:
    with anyio.move_on_after(0.2) as scope:
        async with cache.open_for_write("img") as f:
            await f.write(b"first chunk")
            await anyio.sleep(10)
    assert scope.cancelled_caught
    assert not await cache.is_cached("img") and not await cache.is_being_cached("img")
    assert files(cache.invalid_dir) == ["img"]
    assert await cache.get_cached_images() == []


async def test_a_cancelled_asyncio_task_also_leaves_nothing_half_done(cache: Driver) -> None:
    started = asyncio.Event()

    async def writer() -> None:
        async with cache.open_for_write("img") as f:
            await f.write(b"chunk")
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(writer())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files(cache.invalid_dir) == ["img"] and files(cache.incomplete_dir) == []
    assert not await cache.is_cached("img")


async def test_a_row_that_cannot_be_written_leaves_no_untracked_cached_file(
    cache: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(image_id: str, size: int) -> None:
        raise errors.DBConnectionError("the database went away")

    monkeypatch.setattr(cache._store, "record", broken)
    with pytest.raises(errors.DBConnectionError):
        await put(cache, "img", b"data")
    assert not await cache.is_cached("img")
    assert files(cache.invalid_dir) == ["img"]


async def test_concurrent_writers_of_one_image_exactly_one_wins(cache: Driver) -> None:
    payloads = [bytes([n]) * 50_000 for n in range(8)]
    start = asyncio.Event()

    async def write(n: int) -> int:
        await start.wait()
        try:
            async with cache.open_for_write("img") as f:
                for offset in range(0, len(payloads[n]), 5000):
                    await f.write(payloads[n][offset : offset + 5000])
                    await asyncio.sleep(0)
        except errors.ImageBeingCached:
            return -1
        return n

    tasks = [asyncio.create_task(write(n)) for n in range(8)]
    start.set()
    outcomes = await asyncio.gather(*tasks)
    winners = [n for n in outcomes if n >= 0]
    assert len(winners) == 1
    assert (cache.base_dir / "img").read_bytes() == payloads[winners[0]]
    [row] = await cache.get_cached_images()
    assert row["size"] == 50_000


async def test_writing_a_cached_image_again_refreshes_its_row(cache: Driver) -> None:
    await put(cache, "img", b"old")
    await read(cache, "img")
    [old] = await cache.get_cached_images()
    await asyncio.sleep(0.01)
    await put(cache, "img", b"newer and longer")
    [new] = await cache.get_cached_images()
    assert (new["size"], new["hits"]) == (16, 0)
    assert new["last_modified"] > old["last_modified"]
    assert (cache.base_dir / "img").read_bytes() == b"newer and longer"


async def test_timestamps_are_utc_epoch_seconds_whatever_the_time_zone(
    cache: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/St_Johns")  # UTC-3:30 / -2:30
    time.tzset()
    try:
        await put(cache, "img", b"data")
        await read(cache, "img")
        [row] = await cache.get_cached_images()
        assert abs(row["last_accessed"] - time.time()) < 5
        assert abs(row["last_modified"] - time.time()) < 5
    finally:
        monkeypatch.undo()
        time.tzset()


# --- the queue -------------------------------------------------------------------------------


async def test_queueing(cache: Driver) -> None:
    assert await cache.queue_image("b") is True
    assert await cache.queue_image("b") is False  # already queued
    assert await cache.queue_image("a") is True
    old = time.time() - 100
    os.utime(cache.queue_dir / "a", (old, old))
    assert await cache.get_queued_images() == ["a", "b"]
    assert await cache.is_queued("a")
    await put(cache, "c", b"cached")
    assert await cache.queue_image("c") is False  # cached
    async with cache.open_for_write("d"):
        assert await cache.queue_image("d") is False  # being cached
    await put(cache, "a", b"prefetched")
    assert await cache.get_queued_images() == ["b"]  # caching it took it off the queue
    assert await cache.delete_queued_image("b") is True
    assert await cache.delete_queued_image("b") is False
    for image_id in ("x", "y", "z"):
        await cache.queue_image(image_id)
    assert await cache.delete_all_queued_images() == 3
    assert await cache.get_queued_images() == []


# --- deleting, cleaning, pruning ------------------------------------------------------------


async def test_deleting_cached_images(cache: Driver, store: str) -> None:
    for image_id in ("a", "b", "c"):
        await put(cache, image_id, image_id.encode() * 10)
    await cache.delete_cached_image("b")
    assert not await cache.is_cached("b")
    assert [row["image_id"] for row in await cache.get_cached_images()] == ["a", "c"]
    await cache.delete_cached_image("never-cached")  # nothing to do, no error
    assert await cache.delete_all_cached_images() == 2
    assert await cache.get_cached_images() == [] and await cache.get_cache_size() == 0
    assert files(cache.base_dir) == []
    assert await delete_cached_file(cache.base_dir / "a") is False


async def test_clean_removes_invalid_and_stalled_files_only(cache: Driver) -> None:
    await put(cache, "cached", b"keep me")
    with pytest.raises(RuntimeError):
        async with cache.open_for_write("failed"):
            raise RuntimeError("boom")
    (cache.incomplete_dir / "stalled").write_bytes(b"old")
    (cache.incomplete_dir / "active").write_bytes(b"new")
    two_days_ago = time.time() - 2 * 86400
    os.utime(cache.incomplete_dir / "stalled", (two_days_ago, two_days_ago))
    assert await cache.clean() == {"invalid": 1, "stalled": 1}
    assert files(cache.invalid_dir) == [] and files(cache.incomplete_dir) == ["active"]
    assert await cache.is_cached("cached") and await cache.get_hit_count("cached") == 0
    assert await cache.clean(stall_time=0) == {"invalid": 0, "stalled": 1}
    assert files(cache.incomplete_dir) == []
    assert [row["image_id"] for row in await cache.get_cached_images()] == ["cached"]


async def test_least_recently_accessed_follows_reads(cache: Driver) -> None:
    assert await cache.get_least_recently_accessed() is None
    for image_id in ("a", "b", "c"):
        await put(cache, image_id, b"12345")
        await asyncio.sleep(0.01)
    assert await cache.get_least_recently_accessed() == ("a", 5)
    await read(cache, "a")
    assert await cache.get_least_recently_accessed() == ("b", 5)


async def test_ties_in_last_access_go_to_the_smallest_id(cache: Driver) -> None:
    for image_id in ("c", "a", "b"):
        await put(cache, image_id, b"12345")
    same = 1_700_000_000.0 if not cache.shared else datetime(2023, 11, 14, 22, 13, 20)
    await execute(cache._store.db, "UPDATE cached_images SET last_accessed = :same", same=same)  # type: ignore[attr-defined]
    assert await cache.get_least_recently_accessed() == ("a", 5)
    await cache.delete_cached_image("a")
    assert await cache.get_least_recently_accessed() == ("b", 5)


async def _fill(cache: Driver, sizes: dict[str, int]) -> None:
    for image_id, size in sizes.items():
        await put(cache, image_id, b"z" * size, chunk=4096)
        await asyncio.sleep(0.01)  # distinct write times: the insertion order is the LRU order


async def test_prune_removes_least_recently_read_first_and_stops(cache: Driver) -> None:
    await _fill(cache, {"a": 100, "b": 100, "c": 100, "d": 100, "e": 100})
    await read(cache, "a")  # now the most recently read
    assert await cache.prune(500) == {"deleted": 0, "freed": 0, "size": 500}
    assert await cache.prune(250) == {"deleted": 3, "freed": 300, "size": 200}
    assert [row["image_id"] for row in await cache.get_cached_images()] == ["a", "e"]
    assert files(cache.base_dir) == ["a", "e"]
    with pytest.raises(errors.Invalid):
        await cache.prune(-1)


async def test_prune_ends_with_files_without_rows_and_rows_without_files(cache: Driver) -> None:
    await _fill(cache, {"a": 100, "b": 100, "c": 100})
    (cache.base_dir / "b").unlink()  # a row without its file
    (cache.base_dir / "stray").write_bytes(b"s" * 100)  # a file without a row
    old = time.time() - 3600
    os.utime(cache.base_dir / "stray", (old, old))
    assert await cache.get_cache_size() == 300
    assert await cache.prune(150) == {"deleted": 2, "freed": 200, "size": 100}
    assert files(cache.invalid_dir) == []
    assert [row["image_id"] for row in await cache.get_cached_images()] == ["c"]
    assert await cache.prune(0) == {"deleted": 1, "freed": 100, "size": 0}
    assert await cache.get_least_recently_accessed() is None
    assert await cache.prune(0) == {"deleted": 0, "freed": 0, "size": 0}


async def test_prune_stops_when_only_files_it_cannot_own_are_left(cache: Driver) -> None:
    (cache.base_dir / ".not-an-image").write_bytes(b"n" * 50)
    assert await cache.prune(0) == {"deleted": 0, "freed": 0, "size": 50}


# --- shared tables: nodes, errors, migration ------------------------------------------------


async def test_two_nodes_share_one_view(url: str, tmp_path: Path, open_db: OpenDb) -> None:
    db = await shared_db(url, open_db)
    async with (
        Driver(tmp_path / "a", database=db, node_url=NODE_A) as node_a,
        Driver(tmp_path / "b", database=db, node_url=NODE_B) as node_b,
    ):
        await put(node_a, "img", b"on a")
        assert await node_b.get_cached_nodes("img") == [NODE_A]
        assert not await node_b.is_cached("img")  # the file is node a's
        await put(node_b, "img", b"on b")
        await put(node_b, "other", b"only b")
        assert await node_a.get_cached_nodes("img") == [NODE_A, NODE_B]
        assert [row["image_id"] for row in await node_a.get_cached_images()] == ["img"]
        await node_a.delete_all_cached_images()
        assert await node_b.get_cached_nodes("img") == [NODE_B]
        assert [row["image_id"] for row in await node_b.get_cached_images()] == ["img", "other"]
        assert await node_a.get_cached_nodes("nowhere") == []


async def test_a_local_cache_is_its_own_only_node(tmp_path: Path) -> None:
    async with Driver(tmp_path / "cache") as cache:
        assert await cache.get_cached_nodes("img") == []
        await put(cache, "img", b"data")
        assert await cache.get_cached_nodes("img") == [cache.base_dir.as_uri()]
    async with Driver(tmp_path / "cache", node_url=NODE_A) as cache:
        assert await cache.get_cached_nodes("img") == [NODE_A]


async def test_database_errors_are_raised_not_swallowed(url: str, tmp_path: Path, open_db: OpenDb) -> None:
    db = await shared_db(url, open_db)
    async with Driver(tmp_path / "cache", database=db, node_url=NODE_A) as cache:
        await put(cache, "img", b"data")
        async with db.writer() as tx:
            await tx.script("DROP TABLE cached_images")
        with pytest.raises(errors.DBNonExistentTable):
            await cache.get_cached_images()
        with pytest.raises(errors.DBNonExistentTable):
            await read(cache, "img")
        with pytest.raises(errors.DBNonExistentTable):
            await put(cache, "new", b"data")
        assert not await cache.is_cached("new") and files(cache.invalid_dir) == ["new"]


def _legacy_cache_db(path: Path, rows: list[tuple[str, float, float, int, int]]) -> None:
    """A cache.db as glance's sqlite driver wrote it."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE cached_images (image_id TEXT PRIMARY KEY, last_accessed REAL DEFAULT 0.0, "
            "last_modified REAL DEFAULT 0.0, size INTEGER DEFAULT 0, hits INTEGER DEFAULT 0, checksum TEXT)"
        )
        conn.executemany(
            "INSERT INTO cached_images (image_id, last_accessed, last_modified, size, hits) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    conn.close()


def _legacy_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        found = conn.execute("SELECT image_id FROM cached_images").fetchall()
    conn.close()
    return found


async def test_a_legacy_cache_db_moves_into_the_shared_tables_once(url: str, tmp_path: Path, open_db: OpenDb) -> None:
    db = await shared_db(url, open_db)
    directory = tmp_path / "cache"
    directory.mkdir()
    _legacy_cache_db(
        directory / "cache.db",
        [("old-1", 1_600_000_000.5, 1_500_000_000.25, 10, 3), ("old-2", 1_700_000_000.0, 1_700_000_000.0, 20, 0)],
    )
    async with db.writer() as tx:  # this node already knows old-2: its own row wins
        await cache_db.node_reference_create(tx, NODE_A)
        await cache_db.insert_cache_details(tx, NODE_A, "old-2", 99, hits=7)
    async with Driver(directory, database=db, node_url=NODE_A) as cache:
        found = {row["image_id"]: row for row in await cache.get_cached_images()}
        assert found["old-1"] == {
            "image_id": "old-1",
            "last_accessed": 1_600_000_000.5,
            "last_modified": 1_500_000_000.25,
            "size": 10,
            "hits": 3,
            "checksum": None,
        }
        assert (found["old-2"]["size"], found["old-2"]["hits"]) == (99, 7)
        assert _legacy_rows(directory / "cache.db") == []
        assert await cache.migrate_legacy() == 0
        assert await cache.get_cache_files(directory) == []  # cache.db is no image
    async with Driver(directory) as local:  # the local driver still opens the emptied file
        assert await local.get_cached_images() == []


async def test_the_local_driver_uses_a_cache_db_glance_wrote(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir()
    _legacy_cache_db(directory / "cache.db", [("img", 1_600_000_000.0, 1_600_000_000.0, 4, 2)])
    (directory / "img").write_bytes(b"data")
    async with Driver(directory) as cache:
        assert await cache.get_hit_count("img") == 2
        await read(cache, "img")
        assert await cache.get_hit_count("img") == 3
    with pytest.raises(errors.BadDriverConfiguration, match="shared"):
        async with Driver(directory) as cache:
            await cache.migrate_legacy()
