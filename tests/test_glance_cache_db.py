"""The image cache's database calls (glance's centralized_db driver, spec glance.md E.3).

With rawdb's fixes: a repeated insert refreshes the row, epoch seconds are UTC whatever
the process's zone, images come back ordered, LRU ties go to the smallest image id and
an empty node answers None.  Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors, schema
from rawdb.glance import cache_db

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)
PGBOUNCER = True  # and through a PgBouncer in transaction pooling mode (conftest.py)

URL1 = "http://node-1:9292"
URL2 = "http://node-2:9292"
UNKNOWN = "http://nowhere:9292"
T0 = datetime(2024, 1, 2, 3, 4, 5, 123456)  # naive UTC
T0_EPOCH = 1704164645.123456
T1 = datetime(2024, 6, 1, 12, 0, 0, 1)
T1_EPOCH = 1717243200.000001
FOUR_BYTE = "\U0001f600"
TX_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
CACHED_IMAGE_KEYS = ["id", "image_id", "last_accessed", "last_modified", "size", "hits", "checksum"]


# --- helpers ------------------------------------------------------------------------------


def ctx(db: rawdb.Database) -> rawdb.Context:
    """A context with no identity at all: like glance, no call checks it."""
    return rawdb.Context(db)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def rows(db: rawdb.Database) -> list[dict[str, Any]]:
    """Every cached_images row with its node's url, as stored."""
    return await select(
        db,
        "SELECT n.node_reference_url AS url, c.image_id, c.size, c.checksum, c.last_accessed, c.last_modified,"
        " c.hits FROM cached_images AS c JOIN node_reference AS n ON n.node_reference_id = c.node_reference_id"
        " ORDER BY n.node_reference_url, c.image_id",
    )


async def row(db: rawdb.Database, image_id: str, url: str = URL1) -> dict[str, Any]:
    found = [r for r in await rows(db) if r["image_id"] == image_id and r["url"] == url]
    assert len(found) == 1, found
    return found[0]


async def nodes(db: rawdb.Database, *urls: str) -> None:
    for url in urls:
        await cache_db.node_reference_create(ctx(db), url)


def statements(counter: rawdb.StatementCounter) -> list[str]:
    """The names of the statements sent, without BEGIN and COMMIT/ROLLBACK."""
    return [event.name for event in counter.events if event.name not in TX_CONTROL]


@pytest.fixture
def non_utc_process() -> Iterator[None]:
    """Run the Python process in UTC+05:30 (no zoneinfo needed), then restore its zone."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "IST-5:30"
    time.tzset()
    try:
        assert time.timezone == -19800  # the zone really changed: the test can fail
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


# --- node_reference_create / node_reference_get_by_url --------------------------------------


async def test_node_reference_create_returns_the_id_and_url(glance_db: rawdb.Database) -> None:
    first = await cache_db.node_reference_create(ctx(glance_db), URL1)
    second = await cache_db.node_reference_create(ctx(glance_db), URL2)

    assert list(first) == ["node_reference_id", "node_reference_url"]
    assert first["node_reference_url"] == URL1 and type(first["node_reference_id"]) is int
    assert second["node_reference_id"] != first["node_reference_id"]
    stored = await select(glance_db, "SELECT * FROM node_reference ORDER BY node_reference_id")
    assert stored == [first, second]


async def test_node_reference_create_of_a_registered_url_is_duplicate_and_the_transaction_goes_on(
    glance_db: rawdb.Database,
) -> None:
    await nodes(glance_db, URL1)

    async with ctx(glance_db).writer() as tx:
        with pytest.raises(errors.Duplicate) as caught:
            await cache_db.node_reference_create(tx, URL1)
        await cache_db.node_reference_create(tx, URL2)  # no savepoint needed: nothing failed in the database

    assert caught.value.node_reference_url == URL1
    urls = await select(glance_db, "SELECT node_reference_url FROM node_reference ORDER BY node_reference_url")
    assert [r["node_reference_url"] for r in urls] == [URL1, URL2]


async def test_node_reference_create_with_a_bad_url_is_invalid(glance_db: rawdb.Database) -> None:
    for url in ("", None, 42, b"http://x", "h" * 256, f"http://{FOUR_BYTE}", "http://a\x00b"):
        with pytest.raises(errors.Invalid):
            await cache_db.node_reference_create(ctx(glance_db), url)
    assert await count_rows(glance_db, "node_reference") == 0

    longest = "h" * 255
    assert (await cache_db.node_reference_create(ctx(glance_db), longest))["node_reference_url"] == longest


async def test_node_reference_get_by_url_returns_the_node(glance_db: rawdb.Database) -> None:
    created = await cache_db.node_reference_create(ctx(glance_db), URL1)
    await nodes(glance_db, URL2)

    assert await cache_db.node_reference_get_by_url(ctx(glance_db), URL1) == created


async def test_node_reference_get_by_url_of_an_unknown_url_is_node_reference_not_found(
    glance_db: rawdb.Database,
) -> None:
    await nodes(glance_db, URL1)
    for url in (UNKNOWN, "", "h" * 256, URL1.upper()):
        with pytest.raises(errors.NodeReferenceNotFound) as caught:
            await cache_db.node_reference_get_by_url(ctx(glance_db), url)
        assert isinstance(caught.value, errors.NotFound)
        assert caught.value.node_reference_url == url
    with pytest.raises(errors.Invalid):
        await cache_db.node_reference_get_by_url(ctx(glance_db), None)


# --- insert_cache_details -------------------------------------------------------------------


async def test_insert_cache_details_stores_the_row_with_defaults(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    before = utcnow()

    assert await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 1024) is True

    after = utcnow()
    stored = await row(glance_db, "img-1")
    assert (stored["size"], stored["checksum"], stored["hits"]) == (1024, None, 0)
    assert before <= stored["last_accessed"] <= after
    assert stored["last_modified"] == stored["last_accessed"]


async def test_insert_cache_details_takes_datetimes_and_epoch_seconds_as_utc(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    india = timezone(timedelta(hours=5, minutes=30))
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "naive", 1, "c" * 32, T0, T1, 7)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "aware", 2, None, T0.replace(tzinfo=UTC))
    await cache_db.insert_cache_details(
        ctx(glance_db), URL1, "india", 3, last_accessed=(T0 + timedelta(hours=5, minutes=30)).replace(tzinfo=india)
    )
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "epoch", 4, None, T0_EPOCH, int(T1_EPOCH), hits=2)

    assert (await row(glance_db, "naive"))["last_accessed"] == T0
    assert (await row(glance_db, "naive"))["last_modified"] == T1
    assert (await row(glance_db, "naive"))["hits"] == 7
    assert (await row(glance_db, "aware"))["last_accessed"] == T0
    assert (await row(glance_db, "india"))["last_accessed"] == T0
    epoch = await row(glance_db, "epoch")
    assert (epoch["last_accessed"], epoch["last_modified"]) == (T0, T1.replace(microsecond=0))


async def test_insert_cache_details_again_refreshes_the_row(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, "a" * 32, T0, T0, 5)
    first_id = (await cache_db.get_cached_images(ctx(glance_db), URL1))[0]["id"]

    assert await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 20, "b" * 32, T1, T1, 1) is True

    assert await rows(glance_db) == [
        {
            "url": URL1,
            "image_id": "img-1",
            "size": 20,
            "checksum": "b" * 32,
            "last_accessed": T1,
            "last_modified": T1,
            "hits": 1,
        }
    ]
    assert (await cache_db.get_cached_images(ctx(glance_db), URL1))[0]["id"] == first_id

    before = utcnow()
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 30)  # defaults replace too
    stored = await row(glance_db, "img-1")
    assert (stored["size"], stored["checksum"], stored["hits"]) == (30, None, 0)
    assert stored["last_accessed"] >= before and stored["last_modified"] >= before


async def test_insert_cache_details_without_replace_keeps_an_existing_row_and_returns_false(
    glance_db: rawdb.Database,
) -> None:
    await nodes(glance_db, URL1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, "a" * 32, T0, T0, 5)
    kept = await rows(glance_db)

    written = await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 20, None, T1, T1, 1, replace=False)

    assert written is False
    assert await rows(glance_db) == kept
    # the same details again: the row already holds them, so they count as written
    assert await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, "a" * 32, T0, T0, 5, replace=False)
    assert await rows(glance_db) == kept


async def test_insert_cache_details_without_replace_writes_a_new_row(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, None, T0, T0, 5)

    assert await cache_db.insert_cache_details(ctx(glance_db), URL2, "img-1", 20, None, T1, T1, 1, replace=False)

    assert [(r["url"], r["size"], r["hits"]) for r in await rows(glance_db)] == [(URL1, 10, 5), (URL2, 20, 1)]


@pytest.mark.parametrize("replace", [True, False])
async def test_insert_cache_details_for_an_unknown_node_is_node_reference_not_found_and_writes_nothing(
    glance_db: rawdb.Database, replace: bool
) -> None:
    await nodes(glance_db, URL1)

    async with ctx(glance_db).writer() as tx:
        with pytest.raises(errors.NodeReferenceNotFound) as caught:
            await cache_db.insert_cache_details(tx, UNKNOWN, "img-1", 10, replace=replace)
        assert await cache_db.insert_cache_details(tx, URL1, "img-2", 10, replace=replace)  # the transaction goes on

    assert caught.value.node_reference_url == UNKNOWN
    assert [(r["url"], r["image_id"]) for r in await rows(glance_db)] == [(URL1, "img-2")]


BAD_DETAILS: list[dict[str, Any]] = [
    {"node_reference_url": ""},
    {"node_reference_url": None},
    {"node_reference_url": "h" * 256},
    {"node_reference_url": "http://a\x00"},
    {"image_id": ""},
    {"image_id": None},
    {"image_id": 7},
    {"image_id": "i" * 37},
    {"image_id": FOUR_BYTE},
    {"filesize": -1},
    {"filesize": 2**63},
    {"filesize": True},
    {"filesize": 1.0},
    {"filesize": "10"},
    {"filesize": None},
    {"checksum": "c" * 33},
    {"checksum": 5},
    {"checksum": ""},
    {"checksum": FOUR_BYTE},
    {"hits": -1},
    {"hits": 2**31},
    {"hits": True},
    {"hits": 1.0},
    {"last_accessed": "2024-01-02 03:04:05"},
    {"last_accessed": date(2024, 1, 2)},
    {"last_accessed": True},
    {"last_accessed": float("nan")},
    {"last_accessed": float("inf")},
    {"last_accessed": 1e20},
    {"last_modified": 10**30},
    {"last_modified": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))},
]


async def test_insert_cache_details_with_bad_input_is_invalid_and_changes_nothing(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, "a" * 32, T0, T0, 5)
    before = await rows(glance_db)
    counter = rawdb.StatementCounter(keep=True)

    for bad in BAD_DETAILS:
        values: dict[str, Any] = {"node_reference_url": URL1, "image_id": "img-1", "filesize": 99, **bad}
        for replace in (True, False):
            with glance_db.hooked(counter), pytest.raises(errors.Invalid):
                await cache_db.insert_cache_details(ctx(glance_db), **values, replace=replace)

    assert statements(counter) == []
    assert await rows(glance_db) == before


async def test_insert_cache_details_accepts_the_largest_values(glance_db: rawdb.Database) -> None:
    url = "h" * 255
    await nodes(glance_db, url)
    image_id = "i" * 36

    await cache_db.insert_cache_details(ctx(glance_db), url, image_id, 2**63 - 1, "c" * 32, hits=2**31 - 1)

    stored = await row(glance_db, image_id, url)
    assert (stored["size"], stored["checksum"], stored["hits"]) == (2**63 - 1, "c" * 32, 2**31 - 1)


# --- get_hit_count / update_hit_count ---------------------------------------------------------


async def test_get_hit_count_returns_the_hits_of_the_nodes_row(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, hits=3)
    await cache_db.insert_cache_details(ctx(glance_db), URL2, "img-1", 10, hits=8)

    assert await cache_db.get_hit_count(ctx(glance_db), "img-1", URL1) == 3
    assert await cache_db.get_hit_count(ctx(glance_db), "img-1", URL2) == 8


async def test_get_hit_count_is_zero_without_a_row(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, hits=3)

    assert await cache_db.get_hit_count(ctx(glance_db), "img-2", URL1) == 0
    assert await cache_db.get_hit_count(ctx(glance_db), "img-1", URL2) == 0
    assert await cache_db.get_hit_count(ctx(glance_db), "img-1", UNKNOWN) == 0
    assert await cache_db.get_hit_count(ctx(glance_db), "i" * 37, URL1) == 0


async def test_update_hit_count_adds_one_and_stamps_last_accessed_with_rawdbs_clock(
    glance_db: rawdb.Database,
) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, None, T0, T0, 4)
    await cache_db.insert_cache_details(ctx(glance_db), URL2, "img-1", 10, None, T0, T0, 4)
    before = utcnow()

    assert await cache_db.update_hit_count(ctx(glance_db), "img-1", URL1) == 1

    after = utcnow()
    stored = await row(glance_db, "img-1", URL1)
    assert stored["hits"] == 5 and stored["last_modified"] == T0
    assert before <= stored["last_accessed"] <= after
    other = await row(glance_db, "img-1", URL2)
    assert (other["hits"], other["last_accessed"]) == (4, T0)


async def test_update_hit_count_without_a_row_changes_nothing_and_returns_zero(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, None, T0, T0, 4)
    before = await rows(glance_db)

    assert await cache_db.update_hit_count(ctx(glance_db), "img-2", URL1) == 0
    assert await cache_db.update_hit_count(ctx(glance_db), "img-1", UNKNOWN) == 0
    assert await cache_db.update_hit_count(ctx(glance_db), "img-1", "h" * 256) == 0
    assert await rows(glance_db) == before


async def test_update_hit_count_counts_every_one_of_concurrent_calls(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, None, T0, T0)
    counter = rawdb.StatementCounter()

    with glance_db.hooked(counter):
        updated = await asyncio.gather(*(cache_db.update_hit_count(ctx(glance_db), "img-1", URL1) for _ in range(20)))

    assert updated == [1] * 20
    assert counter.scopes == 20  # each call ran in a transaction of its own
    assert await cache_db.get_hit_count(ctx(glance_db), "img-1", URL1) == 20


async def test_update_hit_count_stops_at_the_integer_maximum(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10, None, T0, T0, 2**31 - 1)

    assert await cache_db.update_hit_count(ctx(glance_db), "img-1", URL1) == 1

    stored = await row(glance_db, "img-1")
    assert stored["hits"] == 2**31 - 1 and stored["last_accessed"] > T0


# --- get_cached_images / get_cached_nodes ---------------------------------------------------------


async def test_get_cached_images_returns_the_nodes_rows_by_image_id_with_utc_epoch_seconds(
    glance_db: rawdb.Database,
) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-b", 20, "b" * 32, T1, T0, 2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-a", 10, None, T0, T1, 0)
    await cache_db.insert_cache_details(ctx(glance_db), URL2, "img-c", 30, None, T0, T0, 0)

    images = await cache_db.get_cached_images(ctx(glance_db), URL1)

    # ids as the table gave them (on Galera they step by the cluster's size)
    ids = {row["image_id"]: row["id"] for row in await select(glance_db, "SELECT id, image_id FROM cached_images")}
    assert ids["img-a"] > ids["img-b"]
    assert images == [
        {
            "id": ids["img-a"],
            "image_id": "img-a",
            "last_accessed": T0_EPOCH,
            "last_modified": T1_EPOCH,
            "size": 10,
            "hits": 0,
            "checksum": None,
        },
        {
            "id": ids["img-b"],
            "image_id": "img-b",
            "last_accessed": T1_EPOCH,
            "last_modified": T0_EPOCH,
            "size": 20,
            "hits": 2,
            "checksum": "b" * 32,
        },
    ]
    for image in images:
        assert list(image) == CACHED_IMAGE_KEYS
        assert [type(image[k]) for k in ("id", "last_accessed", "last_modified", "size", "hits")] == [
            int,
            float,
            float,
            int,
            int,
        ]


async def test_get_cached_images_of_an_unknown_or_empty_node_is_empty(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10)

    assert await cache_db.get_cached_images(ctx(glance_db), URL2) == []
    assert await cache_db.get_cached_images(ctx(glance_db), UNKNOWN) == []
    assert await cache_db.get_cached_images(ctx(glance_db), "h" * 256) == []


async def test_two_nodes_caching_the_same_images_see_each_other_and_delete_only_their_own(
    glance_db: rawdb.Database,
) -> None:
    await nodes(glance_db, URL2, URL1)
    for url in (URL2, URL1):
        for image_id in ("img-1", "img-2"):
            await cache_db.insert_cache_details(ctx(glance_db), url, image_id, 10)
    await cache_db.insert_cache_details(ctx(glance_db), URL2, "img-3", 10)

    assert await cache_db.get_cached_nodes(ctx(glance_db), "img-1") == [URL1, URL2]
    assert await cache_db.get_cached_nodes(ctx(glance_db), "img-3") == [URL2]
    assert await cache_db.get_cached_nodes(ctx(glance_db), "img-4") == []

    assert await cache_db.delete_cached_image(ctx(glance_db), "img-1", URL1) == 1
    assert await cache_db.get_cached_nodes(ctx(glance_db), "img-1") == [URL2]
    assert await cache_db.delete_all_cached_images(ctx(glance_db), URL2) == 3
    assert await cache_db.get_cached_nodes(ctx(glance_db), "img-2") == [URL1]
    assert [(r["url"], r["image_id"]) for r in await rows(glance_db)] == [(URL1, "img-2")]


async def test_get_cached_images_is_identical_on_sqlite_and_postgresql(
    sqlite_db: rawdb.Database, pg_db: rawdb.Database
) -> None:
    results = []
    for db in (sqlite_db, pg_db):
        await schema.bootstrap(db, "glance")
        await nodes(db, URL1, URL2)
        await cache_db.insert_cache_details(ctx(db), URL1, "img-b", 2**40, "b" * 32, T1, T0_EPOCH, 2)
        await cache_db.insert_cache_details(ctx(db), URL1, "img-a", 0, None, T0, T1.replace(tzinfo=UTC), 0)
        await cache_db.insert_cache_details(ctx(db), URL2, "img-a", 5, None, T0, T0, 1)
        results.append(
            (
                await cache_db.get_cached_images(ctx(db), URL1),
                await cache_db.get_cached_nodes(ctx(db), "img-a"),
                await cache_db.get_least_recently_accessed(ctx(db), URL1),
                await cache_db.get_hit_count(ctx(db), "img-b", URL1),
                await cache_db.node_reference_get_by_url(ctx(db), URL2),
            )
        )

    sqlite_result, pg_result = results
    assert repr(sqlite_result) == repr(pg_result)  # values, types and order
    assert [image["image_id"] for image in sqlite_result[0]] == ["img-a", "img-b"]


# --- delete_cached_image / delete_all_cached_images --------------------------------------------


async def test_delete_cached_image_returns_how_many_rows_went(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-2", 10)

    assert await cache_db.delete_cached_image(ctx(glance_db), "img-1", URL1) == 1
    assert await cache_db.delete_cached_image(ctx(glance_db), "img-1", URL1) == 0
    assert await cache_db.delete_cached_image(ctx(glance_db), "img-2", UNKNOWN) == 0
    assert await cache_db.delete_cached_image(ctx(glance_db), "i" * 37, URL1) == 0
    assert [r["image_id"] for r in await rows(glance_db)] == ["img-2"]


async def test_delete_all_cached_images_of_an_unknown_node_deletes_nothing(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10)

    assert await cache_db.delete_all_cached_images(ctx(glance_db), UNKNOWN) == 0
    assert await cache_db.delete_all_cached_images(ctx(glance_db), URL2) == 0
    assert await cache_db.delete_all_cached_images(ctx(glance_db), "h" * 256) == 0
    assert await count_rows(glance_db, "cached_images") == 1
    assert await cache_db.delete_all_cached_images(ctx(glance_db), URL1) == 1
    assert await count_rows(glance_db, "cached_images") == 0


# --- get_least_recently_accessed / is_image_cached_for_node ------------------------------------


async def test_get_least_recently_accessed_returns_the_oldest_and_breaks_ties_by_image_id(
    glance_db: rawdb.Database,
) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-c", 10, None, T1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-b", 10, None, T0)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-a", 10, None, T0)
    await cache_db.insert_cache_details(ctx(glance_db), URL2, "img-0", 10, None, T0 - timedelta(days=1))

    assert await cache_db.get_least_recently_accessed(ctx(glance_db), URL1) == "img-a"
    await cache_db.update_hit_count(ctx(glance_db), "img-a", URL1)
    assert await cache_db.get_least_recently_accessed(ctx(glance_db), URL1) == "img-b"
    assert await cache_db.get_least_recently_accessed(ctx(glance_db), URL2) == "img-0"


async def test_get_least_recently_accessed_of_an_empty_or_unknown_node_is_none(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    assert await cache_db.get_least_recently_accessed(ctx(glance_db), URL1) is None
    assert await cache_db.get_least_recently_accessed(ctx(glance_db), UNKNOWN) is None
    assert await cache_db.get_least_recently_accessed(ctx(glance_db), "h" * 256) is None

    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10)
    assert await cache_db.get_least_recently_accessed(ctx(glance_db), URL1) == "img-1"
    await cache_db.delete_cached_image(ctx(glance_db), "img-1", URL1)
    assert await cache_db.get_least_recently_accessed(ctx(glance_db), URL1) is None


async def test_is_image_cached_for_node_is_true_only_for_the_nodes_own_row(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1, URL2)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10)

    assert await cache_db.is_image_cached_for_node(ctx(glance_db), URL1, "img-1") is True
    assert await cache_db.is_image_cached_for_node(ctx(glance_db), URL2, "img-1") is False
    assert await cache_db.is_image_cached_for_node(ctx(glance_db), URL1, "img-2") is False
    assert await cache_db.is_image_cached_for_node(ctx(glance_db), UNKNOWN, "img-1") is False
    assert await cache_db.is_image_cached_for_node(ctx(glance_db), URL1, "i" * 37) is False


# --- time zones -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("non_utc_process")
async def test_timestamps_are_utc_when_the_process_is_not(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    before = utcnow()
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "epoch", 1, None, T0_EPOCH, T1_EPOCH)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "default", 1)
    await cache_db.update_hit_count(ctx(glance_db), "default", URL1)
    after = utcnow()

    epoch, default = await row(glance_db, "epoch"), await row(glance_db, "default")
    assert (epoch["last_accessed"], epoch["last_modified"]) == (T0, T1)
    assert before <= default["last_modified"] <= default["last_accessed"] <= after
    images = {i["image_id"]: i for i in await cache_db.get_cached_images(ctx(glance_db), URL1)}
    assert (images["epoch"]["last_accessed"], images["epoch"]["last_modified"]) == (T0_EPOCH, T1_EPOCH)
    assert abs(images["default"]["last_accessed"] - time.time()) < 60


async def test_timestamps_ignore_a_non_utc_postgresql_time_zone(pg_url: str, open_db: Any) -> None:
    db: rawdb.Database = await open_db(pg_url, server_settings={"TimeZone": "Pacific/Chatham"})
    await schema.bootstrap(db, "glance")
    async with db.reader() as rx:
        assert await rx.fetchval(rawdb.Statement.portable("test.tz", "SHOW TimeZone")) == "Pacific/Chatham"
    await nodes(db, URL1)
    before = utcnow()
    await cache_db.insert_cache_details(ctx(db), URL1, "img-1", 1, None, T0_EPOCH, T1)
    await cache_db.insert_cache_details(ctx(db), URL1, "img-2", 1)
    await cache_db.update_hit_count(ctx(db), "img-1", URL1)
    after = utcnow()

    stored = {r["image_id"]: r for r in await rows(db)}
    assert stored["img-1"]["last_modified"] == T1
    assert before <= stored["img-1"]["last_accessed"] <= after
    assert before <= stored["img-2"]["last_modified"] <= after
    images = await cache_db.get_cached_images(ctx(db), URL1)
    assert images[0]["last_modified"] == T1_EPOCH


# --- statements, bad lookups, scopes, database errors ---------------------------------------------


async def test_every_call_sends_exactly_one_statement(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL2)
    c = ctx(glance_db)
    calls: list[tuple[str, Any]] = [
        ("node_reference_create", cache_db.node_reference_create(c, URL1)),
        ("node_reference_create", cache_db.node_reference_create(c, URL1)),  # Duplicate
        ("node_reference_get_by_url", cache_db.node_reference_get_by_url(c, URL1)),
        ("node_reference_get_by_url", cache_db.node_reference_get_by_url(c, UNKNOWN)),  # NotFound
        ("cache_details_upsert", cache_db.insert_cache_details(c, URL1, "img-1", 10)),
        ("cache_details_upsert", cache_db.insert_cache_details(c, URL1, "img-1", 11)),
        ("cache_details_upsert", cache_db.insert_cache_details(c, UNKNOWN, "img-1", 11)),  # NotFound
        ("cache_details_keep", cache_db.insert_cache_details(c, URL1, "img-1", 12, replace=False)),
        ("cache_details_keep", cache_db.insert_cache_details(c, UNKNOWN, "img-1", 12, replace=False)),  # NotFound
        ("hit_count_get", cache_db.get_hit_count(c, "img-1", URL1)),
        ("cached_images_get", cache_db.get_cached_images(c, URL1)),
        ("cached_nodes_get", cache_db.get_cached_nodes(c, "img-1")),
        ("least_recently_accessed_get", cache_db.get_least_recently_accessed(c, URL1)),
        ("image_cached_for_node", cache_db.is_image_cached_for_node(c, URL1, "img-1")),
        ("hit_count_update", cache_db.update_hit_count(c, "img-1", URL1)),
        ("cached_image_delete", cache_db.delete_cached_image(c, "img-1", URL1)),
        ("cached_images_delete_all", cache_db.delete_all_cached_images(c, URL1)),
    ]
    for name, call in calls:
        counter = rawdb.StatementCounter(keep=True)
        with glance_db.hooked(counter):
            try:
                await call
            except (errors.NotFound, errors.Duplicate):
                pass
        assert statements(counter) == [f"glance.cache_db.{name}"], name
        assert counter.scopes == 1


async def test_lookups_that_cannot_match_send_no_statement_and_wrong_types_are_invalid(
    glance_db: rawdb.Database,
) -> None:
    await nodes(glance_db, URL1)
    await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10)
    before = await rows(glance_db)
    c = ctx(glance_db)
    long_url, long_id = URL1 + "x" * 256, "i" * 37
    counter = rawdb.StatementCounter(keep=True)

    with glance_db.hooked(counter):
        assert await cache_db.get_hit_count(c, long_id, URL1) == 0
        assert await cache_db.get_hit_count(c, "img-1", long_url) == 0
        assert await cache_db.get_cached_images(c, long_url) == []
        assert await cache_db.get_cached_nodes(c, long_id) == []
        assert await cache_db.get_cached_nodes(c, "") == []
        assert await cache_db.get_least_recently_accessed(c, long_url) is None
        assert await cache_db.is_image_cached_for_node(c, URL1, long_id) is False
        assert await cache_db.is_image_cached_for_node(c, "http://a\x00", "img-1") is False
        assert await cache_db.update_hit_count(c, long_id, URL1) == 0
        assert await cache_db.delete_cached_image(c, "img-1", long_url) == 0
        assert await cache_db.delete_all_cached_images(c, long_url) == 0
        with pytest.raises(errors.NodeReferenceNotFound):
            await cache_db.node_reference_get_by_url(c, long_url)

        bad: Any = None
        for call in (
            lambda: cache_db.get_hit_count(c, bad, URL1),
            lambda: cache_db.get_hit_count(c, "img-1", 5),
            lambda: cache_db.get_cached_images(c, bad),
            lambda: cache_db.get_cached_nodes(c, 5),
            lambda: cache_db.get_least_recently_accessed(c, bad),
            lambda: cache_db.is_image_cached_for_node(c, URL1, bad),
            lambda: cache_db.is_image_cached_for_node(c, b"url", "img-1"),
            lambda: cache_db.update_hit_count(c, "img-1", bad),
            lambda: cache_db.delete_cached_image(c, bad, long_url),  # Invalid even when the url cannot match
            lambda: cache_db.delete_all_cached_images(c, bad),
        ):
            with pytest.raises(errors.Invalid):
                await call()

    assert statements(counter) == []
    assert await rows(glance_db) == before


async def test_calls_join_the_callers_transaction(glance_db: rawdb.Database) -> None:
    with pytest.raises(RuntimeError):
        async with ctx(glance_db).writer() as tx:
            await cache_db.node_reference_create(tx, URL1)
            await cache_db.insert_cache_details(tx, URL1, "img-1", 10)
            assert await cache_db.get_cached_nodes(tx, "img-1") == [URL1]
            raise RuntimeError("roll back")

    assert await count_rows(glance_db, "node_reference") == 0
    assert await count_rows(glance_db, "cached_images") == 0


async def test_database_errors_are_raised(glance_db: rawdb.Database) -> None:
    await nodes(glance_db, URL1)
    await execute(glance_db, "DROP TABLE cached_images")

    with pytest.raises(errors.DBNonExistentTable):
        await cache_db.get_cached_images(ctx(glance_db), URL1)
    with pytest.raises(errors.DBNonExistentTable):
        await cache_db.insert_cache_details(ctx(glance_db), URL1, "img-1", 10)
