"""The image cache driver: files and rows, on the local store and on the shared tables of both backends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqltools import OpenDb, execute

import rawdb
from rawdb import errors, schema
from rawdb.glance import cache_db
from rawdb.glance.image_cache import Driver, delete_cached_file

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

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


def id_taking_calls(cache: Driver) -> list[Callable[[Any], Awaitable[Any]]]:
    """The driver's methods that take an image id and nothing else."""
    return [
        cache.is_cached,
        cache.is_being_cached,
        cache.is_queued,
        cache.is_cacheable,
        cache.queue_image,
        cache.delete_cached_image,
        cache.delete_queued_image,
        cache.get_hit_count,
        cache.get_cached_nodes,
    ]


@pytest.mark.parametrize("image_id", ["", ".hidden", "../escape", "a/b", "x" * 37, "nul\x00", 5, None])
async def test_ids_that_are_not_safe_file_names_are_invalid(cache: Driver, image_id: Any) -> None:
    calls = id_taking_calls(cache)
    for call in calls:
        with pytest.raises(errors.Invalid, match="image_id"):
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
    start, others_refused = asyncio.Event(), asyncio.Event()
    refused = 0

    async def write(n: int) -> int:
        nonlocal refused
        await start.wait()
        try:
            async with cache.open_for_write("img") as f:
                # Hold the write open until every other writer has tried (however slowly the
                # machine schedules them): a second winner would leave this waiting in vain.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(others_refused.wait(), 10)
                for offset in range(0, len(payloads[n]), 5000):
                    await f.write(payloads[n][offset : offset + 5000])
                    await asyncio.sleep(0)
        except errors.ImageBeingCached:
            refused += 1
            if refused == len(payloads) - 1:
                others_refused.set()
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


async def test_clean_removes_invalid_and_abandoned_files_only(cache: Driver) -> None:
    await put(cache, "cached", b"keep me")
    with pytest.raises(RuntimeError):
        async with cache.open_for_write("failed"):
            raise RuntimeError("boom")
    (cache.incomplete_dir / "abandoned").write_bytes(b"no writer holds its lock")
    async with cache.open_for_write("active") as f:
        await f.write(b"new")
        assert await cache.clean() == {"invalid": 1, "stalled": 1, "adopted": 0, "forgotten": 0}
        assert files(cache.invalid_dir) == [] and files(cache.incomplete_dir) == ["active"]
        assert await cache.is_cached("cached") and await cache.get_hit_count("cached") == 0
    assert await cache.clean() == {"invalid": 0, "stalled": 0, "adopted": 0, "forgotten": 0}
    assert [row["image_id"] for row in await cache.get_cached_images()] == ["active", "cached"]


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
    assert await cache.get_cache_size() == 200  # the half-known images are not counted ...
    assert await cache.prune(150) == {"deleted": 2, "freed": 200, "size": 100}  # ... until prune repairs them
    assert files(cache.invalid_dir) == []
    assert [row["image_id"] for row in await cache.get_cached_images()] == ["c"]
    assert await cache.prune(0) == {"deleted": 1, "freed": 100, "size": 0}
    assert await cache.get_least_recently_accessed() is None
    assert await cache.prune(0) == {"deleted": 0, "freed": 0, "size": 0}


async def test_prune_stops_when_only_files_it_cannot_own_are_left(cache: Driver) -> None:
    (cache.base_dir / ".not-an-image").write_bytes(b"n" * 50)
    assert await cache.prune(0) == {"deleted": 0, "freed": 0, "size": 0}  # not an image: not counted
    assert (cache.base_dir / ".not-an-image").read_bytes() == b"n" * 50


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
    (directory / "old-1").write_bytes(b"o" * 10)
    (directory / "old-2").write_bytes(b"o" * 99)
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
        assert await cache.get_cache_files(directory) == [str(directory / "old-1"), str(directory / "old-2")]
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


# --- the cache's own names are never image ids ------------------------------------------------

# Every name the directory keeps for itself, in the case a hostile id may use (a case-insensitive
# file system would resolve them to the same file): the metadata file and SQLite's companions,
# the sub-directories, and the lock files glance's own drivers leave in the directory.
OWN_NAMES = [
    "cache.db",
    "cache.db-wal",
    "cache.db-shm",
    "cache.db-journal",
    "cache.db-mj0a1b2c3d",
    "incomplete",
    "invalid",
    "queue",
    "CACHE.DB",
    "Cache.db-WAL",
    "Queue",
    "INVALID",
    "image_cache_db_init",
    "sqlite_centralized_migrate",
]


def tree(directory: Path) -> dict[str, tuple[bool, int, int, int]]:
    """Every entry under the directory: (is a directory, inode, size, mtime in ns)."""
    found = {}
    for path in sorted(directory.rglob("*")):
        st = path.stat()
        found[str(path.relative_to(directory))] = (path.is_dir(), st.st_ino, st.st_size, st.st_mtime_ns)
    return found


async def test_the_cache_own_names_are_refused_by_every_method_that_takes_an_id(cache: Driver) -> None:
    await put(cache, "img", b"image data")
    await cache.queue_image("queued")
    (cache.invalid_dir / "failed").write_bytes(b"x")
    rows, before = await cache.get_cached_images(), tree(cache.base_dir)
    calls = id_taking_calls(cache)
    for name in OWN_NAMES:
        for call in calls:
            with pytest.raises(errors.Invalid, match="image_id"):
                await call(name)
        with pytest.raises(errors.Invalid, match="image_id"):
            async with cache.open_for_write(name) as f:
                await f.write(b"overwrites the metadata")
        with pytest.raises(errors.Invalid, match="image_id"):
            async with cache.open_for_read(name):
                pass
        with pytest.raises(errors.Invalid, match="image_id"):
            [chunk async for chunk in cache.read_chunks(name)]
    assert tree(cache.base_dir) == before
    assert await cache.get_cached_images() == rows
    assert await read(cache, "img") == b"image data"


async def test_a_shared_cache_also_keeps_every_db_file_name(url: str, tmp_path: Path, open_db: OpenDb) -> None:
    db = await shared_db(url, open_db)
    async with Driver(tmp_path / "shared", database=db, node_url=NODE_A) as shared:
        with pytest.raises(errors.Invalid, match="image_id"):
            await put(shared, "legacy.db", b"data")
        assert files(shared.base_dir) == files(shared.incomplete_dir) == []
    async with Driver(tmp_path / "local") as local:  # a local cache only keeps its own cache.db
        await put(local, "image.db", b"data")
        assert [row["image_id"] for row in await local.get_cached_images()] == ["image.db"]


async def test_listings_never_report_or_count_the_cache_own_names(cache: Driver) -> None:
    await put(cache, "img", b"0123456789")
    planted = ["image_cache_db_init", "Queue", "cache.db-mj0a1b2c3d"]
    if cache.shared:
        planted += ["cache.db", "cache.db-journal", "other.db"]
    for name in planted:
        (cache.base_dir / name).write_bytes(b"not an image")
    (cache.queue_dir / "cache.db").write_bytes(b"")
    for name in ("queue", "cache.db", "INVALID"):  # rows no image can have: written behind the API's back
        await cache._store.record(name, 5)
    assert [row["image_id"] for row in await cache.get_cached_images()] == ["img"]
    assert await cache.get_cache_size() == 10
    assert await cache.get_cache_files(cache.base_dir) == [str(cache.base_dir / "img")]
    assert await cache.get_queued_images() == []
    assert (await cache.clean())["forgotten"] == 3
    assert await cache.prune(0) == {"deleted": 1, "freed": 10, "size": 0}
    assert await cache.delete_all_cached_images() == 0
    assert sorted(p.name for p in cache.base_dir.iterdir() if p.name in planted) == sorted(planted)
    assert await cache.get_cached_images() == []


# --- crashes: real writer processes, killed with SIGKILL ---------------------------------------

# A writer process on the test's cache directory (and shared database).  Modes: ``write`` writes
# some bytes and reports "ready" while its write is open; ``record`` reports "ready" from inside
# the row write, after the file was renamed into place; ``race`` waits for "go" on stdin, tries to
# write, reports "won" or "busy", and a winner commits when "finish" arrives.
WRITER = """
import asyncio, sys
from rawdb import errors
from rawdb.glance.image_cache import Driver

async def main(directory, url, node_url, image_id, mode, payload):
    async with Driver(directory, database=url or None, node_url=node_url or None) as cache:
        if mode == "record":
            async def stuck(image_id, size):
                print("ready", flush=True)
                await asyncio.sleep(3600)
            cache._store.record = stuck
        if mode == "race":
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        try:
            async with cache.open_for_write(image_id) as f:
                await f.write(payload.encode())
                await f.flush()
                if mode == "write":
                    print("ready", flush=True)
                    await asyncio.sleep(3600)
                if mode == "race":
                    print("won", flush=True)
                    await asyncio.to_thread(sys.stdin.readline)
        except errors.ImageBeingCached:
            print("busy", flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


class Writer:
    """A writer process (see WRITER); killed with SIGKILL at the end of the test if still alive."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def line(self) -> str:
        assert self.proc.stdout is not None
        try:
            text = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        except TimeoutError:
            text = b""
        if not text:
            await self.kill()
            assert self.proc.stderr is not None
            pytest.fail(f"the writer process said nothing: {(await self.proc.stderr.read()).decode()}")
        return text.decode().strip()

    async def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


@pytest.fixture
async def writer(cache: Driver, store_url: str | None) -> AsyncIterator[Callable[..., Awaitable[Writer]]]:
    """``await writer(image_id, mode, payload)``: a writer process on the cache's directory and store."""
    started: list[Writer] = []

    async def start(image_id: str, mode: str, payload: str = "written by a process") -> Writer:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            str(cache.base_dir),
            store_url or "",
            NODE_A if store_url else "",
            image_id,
            mode,
            payload,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=Path(__file__).parent.parent,
        )
        started.append(Writer(proc))
        return started[-1]

    yield start
    for proc in started:
        await proc.kill()


async def killed_mid_write(writer: Callable[..., Awaitable[Writer]], image_id: str) -> None:
    """A writer process that dies with SIGKILL while its write is open."""
    child = await writer(image_id, "write")
    assert await child.line() == "ready"
    await child.kill()
    assert child.proc.returncode == -signal.SIGKILL


async def test_an_image_whose_writer_was_killed_can_be_cached_again_at_once(
    cache: Driver, writer: Callable[..., Awaitable[Writer]]
) -> None:
    await killed_mid_write(writer, "img")
    assert (cache.incomplete_dir / "img").read_bytes() == b"written by a process"  # the dead writer's leftover
    assert not await cache.is_being_cached("img") and await cache.is_cacheable("img")
    assert await cache.queue_image("img") is True
    await put(cache, "img", b"a complete copy")
    assert await read(cache, "img") == b"a complete copy"
    assert files(cache.incomplete_dir) == files(cache.invalid_dir) == []
    assert [row["size"] for row in await cache.get_cached_images()] == [15]


async def test_clean_removes_a_dead_writers_file_without_waiting_for_the_stall_time(
    cache: Driver, writer: Callable[..., Awaitable[Writer]]
) -> None:
    await killed_mid_write(writer, "img")
    assert files(cache.incomplete_dir) == ["img"]
    assert (await cache.clean())["stalled"] == 1  # the default stall time is a day
    assert files(cache.incomplete_dir) == []
    await killed_mid_write(writer, "other")
    assert await cache.delete_stalled_files(older_than=0) == 1  # whatever its age
    assert files(cache.incomplete_dir) == []


async def test_a_live_writers_file_is_being_cached_and_survives_clean(
    cache: Driver, writer: Callable[..., Awaitable[Writer]]
) -> None:
    child = await writer("img", "write")
    assert await child.line() == "ready"
    assert await cache.is_being_cached("img") and not await cache.is_cacheable("img")
    with pytest.raises(errors.ImageBeingCached):
        await put(cache, "img", b"a second writer")
    assert (await cache.clean())["stalled"] == 0
    assert (cache.incomplete_dir / "img").read_bytes() == b"written by a process"
    async with cache.open_for_write("own") as f:  # a writer of this process is just as alive
        await f.write(b"in progress")
        assert (await cache.clean())["stalled"] == 0
        with pytest.raises(errors.ImageBeingCached):
            await put(cache, "own", b"a second writer")
    assert await read(cache, "own") == b"in progress"
    await child.kill()
    assert not await cache.is_being_cached("img")
    await put(cache, "img", b"now it can")
    assert await read(cache, "img") == b"now it can"


async def test_a_live_writer_stalled_past_the_stall_time_is_removed_and_its_commit_fails(cache: Driver) -> None:
    with pytest.raises(errors.Conflict, match="img"):
        async with cache.open_for_write("img") as f:
            await f.write(b"stuck for two days")
            two_days_ago = time.time() - 2 * 86400
            os.utime(cache.incomplete_dir / "img", (two_days_ago, two_days_ago))
            assert (await cache.clean())["stalled"] == 1  # glance's rule for a writer that may be hung
            assert not await cache.is_being_cached("img")
            async with cache.open_for_write("img") as newer:  # the name is free for a new writer ...
                await newer.write(b"a newer copy")
                assert await cache.is_being_cached("img")
    assert await read(cache, "img") == b"a newer copy"  # ... whose copy the stalled one never replaces
    assert files(cache.invalid_dir) == [] and files(cache.incomplete_dir) == []


async def test_writers_reclaiming_one_dead_writers_file_at_once_exactly_one_wins(
    cache: Driver, writer: Callable[..., Awaitable[Writer]]
) -> None:
    await killed_mid_write(writer, "img")
    racers = [await writer("img", "race", f"payload {n}") for n in range(4)]
    for racer in racers:
        assert await racer.line() == "ready"
    for racer in racers:
        await racer.send("go")
    outcomes = [await racer.line() for racer in racers]
    assert sorted(outcomes) == ["busy", "busy", "busy", "won"]
    await racers[outcomes.index("won")].send("finish")
    for racer in racers:
        assert await racer.proc.wait() == 0
    assert await read(cache, "img") == f"payload {outcomes.index('won')}".encode()
    assert files(cache.incomplete_dir) == files(cache.invalid_dir) == []


async def test_tasks_reclaiming_one_dead_writers_file_at_once_exactly_one_wins(cache: Driver) -> None:
    (cache.incomplete_dir / "img").write_bytes(b"left by a writer that died")  # no one holds its lock
    start = asyncio.Event()

    async def write(n: int) -> int:
        await start.wait()
        try:
            async with cache.open_for_write("img") as f:
                await f.write(bytes([n]) * 1000)
                await asyncio.sleep(0.05)
        except errors.ImageBeingCached:
            return -1
        return n

    tasks = [asyncio.create_task(write(n)) for n in range(8)]
    start.set()
    [winner] = [n for n in await asyncio.gather(*tasks) if n >= 0]
    assert await read(cache, "img") == bytes([winner]) * 1000


async def test_probing_a_dead_writers_file_never_makes_its_next_writer_fail(cache: Driver) -> None:
    for attempt in range(40):
        (cache.incomplete_dir / "img").write_bytes(b"left by a writer that died")
        probes = [cache.is_being_cached("img") for _ in range(4)] + [cache.clean()]
        await asyncio.gather(*probes, put(cache, "img", str(attempt).encode()))
        assert await read(cache, "img") == str(attempt).encode()


# --- crashes between the file and its row ------------------------------------------------------


async def test_a_writer_killed_between_its_file_and_its_row_leaves_nothing_half_served(
    cache: Driver, writer: Callable[..., Awaitable[Writer]]
) -> None:
    await put(cache, "img", b"the old copy, longer")
    child = await writer("img", "record", "new copy")
    assert await child.line() == "ready"  # its file is in place, its row not written yet
    await child.kill()
    assert (cache.base_dir / "img").read_bytes() == b"new copy"
    assert not await cache.is_cached("img") and await cache.get_hit_count("img") == 0
    with pytest.raises(errors.ImageNotCached):
        await read(cache, "img")
    assert await cache.get_cached_images() == [] and await cache.get_cache_size() == 0
    assert await cache.get_cached_nodes("img") == []
    mtime = (cache.base_dir / "img").stat().st_mtime
    assert await cache.clean() == {"invalid": 0, "stalled": 0, "adopted": 1, "forgotten": 0}
    [row] = await cache.get_cached_images()
    assert (row["image_id"], row["size"], row["hits"]) == ("img", 8, 0)  # the file's size, not the old row's
    assert abs(row["last_accessed"] - mtime) < 1e-3
    assert await read(cache, "img") == b"new copy" and await cache.get_cache_size() == 8


async def test_a_file_without_a_row_and_a_row_without_a_file_are_not_cached_until_clean_repairs_them(
    cache: Driver,
) -> None:
    for image_id in ("no-row", "no-file", "whole"):
        await put(cache, image_id, image_id.encode())
    await cache._store.forget("no-row")  # as a crash before the row leaves it
    (cache.base_dir / "no-file").unlink()  # as a crash in delete_cached_image leaves it
    old = time.time() - 3600
    os.utime(cache.base_dir / "no-row", (old, old))
    for image_id in ("no-row", "no-file"):
        assert not await cache.is_cached(image_id) and await cache.is_cacheable(image_id)
        assert await cache.get_hit_count(image_id) == 0 and await cache.get_cached_nodes(image_id) == []
        with pytest.raises(errors.ImageNotCached):
            await read(cache, image_id)
    assert [row["image_id"] for row in await cache.get_cached_images()] == ["whole"]
    assert await cache.get_cache_size() == 5
    assert await cache.get_least_recently_accessed() is not None
    assert await cache.clean() == {"invalid": 0, "stalled": 0, "adopted": 1, "forgotten": 1}
    assert await cache.clean() == {"invalid": 0, "stalled": 0, "adopted": 0, "forgotten": 0}
    rows = {row["image_id"]: row for row in await cache.get_cached_images()}
    assert sorted(rows) == ["no-row", "whole"]
    assert (rows["no-row"]["size"], rows["no-row"]["last_accessed"]) == (6, pytest.approx(old, abs=1e-3))
    assert await cache.get_least_recently_accessed() == ("no-row", 6)
    assert await read(cache, "no-row") == b"no-row" and await cache.get_cache_size() == 11
