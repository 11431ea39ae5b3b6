"""Host aggregates (rawdb.nova.aggregates) on every backend: aggregates, their hosts and metadata, the
Grizzly bugs fixed (F.3), E.5 case 11, and the races of create, metadata_add and host_add."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import aggregates as db

KEYS = [
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "uuid",
    "name",
    "hosts",
    "metadetails",
    "availability_zone",
]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def make(
    ctx: rawdb.Context, name: str, metadata: dict[str, str] | None = None, hosts: tuple[str, ...] = ()
) -> int:
    aggregate = await db.aggregate_create(ctx, {"name": name}, metadata)
    for host in hosts:
        await db.aggregate_host_add(ctx, aggregate["id"], host)
    return int(aggregate["id"])


async def live_metadata(database: rawdb.Database, aggregate_id: int) -> list[tuple[str, str]]:
    rows = await select(
        database,
        'SELECT "key", value FROM aggregate_metadata WHERE aggregate_id = :a AND deleted = 0 ORDER BY id',
        a=aggregate_id,
    )
    return [(r["key"], r["value"]) for r in rows]


# --- create --------------------------------------------------------------------------------


async def test_aggregate_create_returns_the_aggregate_with_its_metadata_and_a_new_uuid(admin: rawdb.Context) -> None:
    before = datetime.utcnow() - timedelta(seconds=1)
    made = await db.aggregate_create(admin, {"name": "fast"}, {"availability_zone": "az1", "ssd": "true"})

    assert list(made) == KEYS
    assert (made["name"], made["hosts"], made["metadetails"], made["availability_zone"]) == (
        "fast",
        [],
        {"availability_zone": "az1", "ssd": "true"},
        "az1",
    )
    assert UUID.match(made["uuid"])
    assert (made["deleted"], made["deleted_at"], made["updated_at"]) == (0, None, None)
    assert made["created_at"] > before
    assert await db.aggregate_get(admin, made["id"]) == made


async def test_aggregate_create_folds_availability_zone_into_metadata(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await db.aggregate_create(
        admin, {"name": "a", "availability_zone": "zone-b"}, {"availability_zone": "zone-a", "k": "v"}
    )
    assert made["metadetails"] == {"availability_zone": "zone-b", "k": "v"}
    assert made["availability_zone"] == "zone-b"
    assert await live_metadata(nova_db, made["id"]) == [("availability_zone", "zone-b"), ("k", "v")]


async def test_aggregate_create_keeps_a_given_uuid_and_created_at(admin: rawdb.Context) -> None:
    when = datetime(2016, 9, 1, 12, 30, 45, 123456)
    made = await db.aggregate_create(
        admin, {"name": "x", "uuid": "00000000-0000-4000-8000-000000000001", "created_at": when}
    )
    got = await db.aggregate_get_by_uuid(admin, "00000000-0000-4000-8000-000000000001")
    assert (got["id"], got["created_at"], got["metadetails"], got["availability_zone"]) == (made["id"], when, {}, None)


async def test_aggregate_create_a_live_name_twice_is_aggregate_name_exists(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.aggregate_create(admin, {"name": "dup"})
    with pytest.raises(errors.AggregateNameExists) as caught:
        await db.aggregate_create(admin, {"name": "dup"}, {"k": "v"})
    assert caught.value.kwargs["aggregate_name"] == "dup"
    assert await count_rows(nova_db, "aggregates") == 1
    assert await count_rows(nova_db, "aggregate_metadata") == 0
    other = await db.aggregate_create(admin, {"name": "Dup"})  # names compare exactly
    assert other["name"] == "Dup"


async def test_aggregate_create_avoid_name_conflict_e5_case_11(admin: rawdb.Context) -> None:
    """E.5 case 11 (Grizzly test_aggregate_create_avoid_name_conflict): a deleted aggregate's name is
    free again, and the availability zone comes back from the metadata."""
    first = await db.aggregate_create(admin, {"name": "fake_aggregate"})
    await db.aggregate_delete(admin, first["id"])
    second = await db.aggregate_create(admin, {"name": "fake_aggregate"}, {"availability_zone": "new_zone"})
    assert second["id"] != first["id"]
    assert (second["name"], second["availability_zone"]) == ("fake_aggregate", "new_zone")
    assert [a["id"] for a in await db.aggregate_get_all(admin)] == [second["id"]]


@pytest.mark.parametrize(
    ("values", "metadata"),
    [
        ([("name", "x")], None),
        ({}, None),
        ({"name": None}, None),
        ({"name": 5}, None),
        ({"name": "x" * 256}, None),
        ({"name": "a\x00b"}, None),
        ({"name": "x", "hosts": ["h"]}, None),
        ({"name": "x", "id": 7}, None),
        ({"name": "x", "created_at": "yesterday"}, None),
        ({"name": "x", "availability_zone": None}, None),
        ({"name": "x"}, ["k"]),
        ({"name": "x"}, {"k": None}),
        ({"name": "x"}, {"k": 1}),
        ({"name": "x"}, {"k": "v" * 256}),
        ({"name": "x"}, {7: "v"}),
    ],
)
async def test_aggregate_create_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: Any, metadata: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.aggregate_create(admin, values, metadata)
    assert await count_rows(nova_db, "aggregates") == 0
    assert await count_rows(nova_db, "aggregate_metadata") == 0


async def test_aggregate_create_of_one_name_is_race_free_across_connections(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    names = ["race", "race", "other", "race", "other", "race", "race", "other"]
    results = await asyncio.gather(
        *(
            db.aggregate_create(c, {"name": n}, {"who": str(i)})
            for i, (c, n) in enumerate(zip(callers, names, strict=True))
        ),
        return_exceptions=True,
    )

    made = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.AggregateNameExists)]
    assert len(made) == 2 and len(refused) == 6, results
    assert sorted(a["name"] for a in made) == ["other", "race"]
    live = await select(nova_db, "SELECT id, name FROM aggregates WHERE deleted = 0 ORDER BY name")
    assert [row["name"] for row in live] == ["other", "race"]
    assert await count_rows(nova_db, "aggregate_metadata") == 2  # only the winners' metadata


async def test_aggregate_renames_and_creates_of_one_name_are_race_free_across_connections(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    ids = [await make(admin, f"r{i}", {"k": str(i)}) for i in range(4)]
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    calls = [db.aggregate_update(callers[i], ids[i], {"name": "target"}) for i in range(4)]
    calls += [db.aggregate_create(callers[4 + i], {"name": "target"}) for i in range(4)]
    results = await asyncio.gather(*calls, return_exceptions=True)

    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1, results
    assert all(isinstance(r, errors.AggregateNameExists) for r in results if not isinstance(r, dict)), results
    live = await select(nova_db, "SELECT name FROM aggregates WHERE deleted = 0 ORDER BY id")
    names = [row["name"] for row in live]
    assert names.count("target") == 1
    # the losers' renames left no trace: their old names, metadata and updated_at are intact
    for i, aggregate_id in enumerate(ids):
        got = await db.aggregate_get(admin, aggregate_id)
        if got["id"] != winners[0]["id"]:
            assert (got["name"], got["metadetails"], got["updated_at"]) == (f"r{i}", {"k": str(i)}, None)
    assert len(names) == (4 if winners[0]["id"] in ids else 5)


async def test_aggregate_create_refused_inside_a_writer_leaves_the_callers_transaction_usable(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.aggregate_create(admin, {"name": "taken"})
    async with admin.writer() as tx:
        with pytest.raises(errors.AggregateNameExists):
            await db.aggregate_create(tx, {"name": "taken"})
        await db.aggregate_create(tx, {"name": "free"})
    assert sorted(a["name"] for a in await db.aggregate_get_all(admin)) == ["free", "taken"]


async def test_aggregates_keep_unicode_quotes_case_and_trailing_spaces_exactly(admin: rawdb.Context) -> None:
    metadata = {"k": 'say "hi" \\ \n', "K": "\U0001f680 fusée", "k ": "spaced", "availability_zone": "zöne"}
    made = await db.aggregate_create(admin, {"name": "ñame \U0001f600"}, metadata)
    await db.aggregate_host_add(admin, made["id"], "hôst-\U0001f4a1")
    await db.aggregate_host_add(admin, made["id"], "h1 ")
    got = await db.aggregate_get(admin, made["id"])
    assert got["name"] == "ñame \U0001f600"
    assert got["hosts"] == ["hôst-\U0001f4a1", "h1 "]
    assert list(got["metadetails"].items()) == list(metadata.items())
    assert got["availability_zone"] == "zöne"
    assert [a["id"] for a in await db.aggregate_get_by_host(admin, "hôst-\U0001f4a1", key="K")] == [made["id"]]
    assert await db.aggregate_get_by_host(admin, "h1") == []  # "h1 " is another host
    assert await db.aggregate_metadata_get_by_host(admin, "h1 ", key="k") == {"k": {'say "hi" \\ \n'}}
    other = await db.aggregate_create(admin, {"name": "ÑAME \U0001f600"})  # another name
    assert other["id"] != made["id"]


# --- get -----------------------------------------------------------------------------------


async def test_aggregate_get_takes_an_id_string_and_unknown_ids_are_not_found(admin: rawdb.Context) -> None:
    made = await make(admin, "a", {"k": "v"}, ("h1", "h2"))
    got = await db.aggregate_get(admin, str(made))
    assert (got["id"], got["hosts"], got["metadetails"]) == (made, ["h1", "h2"], {"k": "v"})
    for missing in (made + 1, 0, -3, 2**40, "99"):
        with pytest.raises(errors.AggregateNotFound) as caught:
            await db.aggregate_get(admin, missing)
        assert caught.value.kwargs["aggregate_id"] == missing
    for bad in ("abc", None, 1.5, True):
        with pytest.raises(errors.Invalid):
            await db.aggregate_get(admin, bad)


async def test_aggregate_get_of_a_deleted_aggregate_needs_read_deleted_and_has_no_hosts_or_metadata(
    admin: rawdb.Context,
) -> None:
    made = await make(admin, "gone", {"availability_zone": "z"}, ("h1",))
    await db.aggregate_delete(admin, made)
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_get(admin, made)
    got = await db.aggregate_get(admin.elevated(read_deleted="yes"), made)
    assert (got["deleted"], got["hosts"], got["metadetails"], got["availability_zone"]) == (made, [], {}, None)
    assert got["deleted_at"] is not None
    assert (await db.aggregate_get(admin.elevated(read_deleted="only"), made))["id"] == made


async def test_aggregate_get_by_uuid(admin: rawdb.Context) -> None:
    made = await db.aggregate_create(admin, {"name": "u"}, {"k": "v"})
    assert await db.aggregate_get_by_uuid(admin, made["uuid"]) == made
    for missing in ("00000000-0000-4000-8000-000000000000", "x" * 40, ""):
        with pytest.raises(errors.AggregateNotFound) as caught:
            await db.aggregate_get_by_uuid(admin, missing)
        assert caught.value.kwargs["aggregate_id"] == missing
    with pytest.raises(errors.Invalid):
        await db.aggregate_get_by_uuid(admin, None)  # type: ignore[arg-type]


async def test_aggregate_get_all_in_id_order_as_read_deleted_says(admin: rawdb.Context) -> None:
    first = await make(admin, "one", {"a": "1"}, ("h",))
    second = await make(admin, "two")
    third = await make(admin, "three")
    await db.aggregate_delete(admin, second)
    assert [(a["id"], a["hosts"], a["metadetails"]) for a in await db.aggregate_get_all(admin)] == [
        (first, ["h"], {"a": "1"}),
        (third, [], {}),
    ]
    assert [a["id"] for a in await db.aggregate_get_all(admin.elevated(read_deleted="yes"))] == [first, second, third]
    assert [a["id"] for a in await db.aggregate_get_all(admin.elevated(read_deleted="only"))] == [second]
    assert await db.aggregate_get_all(admin.elevated(read_deleted="only")) != []


# --- by host / by metadata key -------------------------------------------------------------


async def test_aggregate_get_by_host_joins_the_hosts_bugs_1187708_1201277(admin: rawdb.Context) -> None:
    """Grizzly's query had no join on aggregate_hosts and returned aggregates without the host."""
    a1 = await make(admin, "a1", {"k1": "v1"}, ("h1", "h2"))
    a2 = await make(admin, "a2", {"k2": "v2", "availability_zone": "z2"}, ("h3", "h1"))
    await make(admin, "a3", {"k1": "v1"}, ("h2", "h3"))
    a4 = await make(admin, "a4", {}, ("h1",))
    await db.aggregate_host_delete(admin, a4, "h1")  # a deleted host row does not count
    a5 = await make(admin, "a5", {}, ("h1",))
    await db.aggregate_delete(admin, a5)  # nor a deleted aggregate

    found = await db.aggregate_get_by_host(admin, "h1")
    assert [(a["id"], a["name"], a["hosts"], a["metadetails"], a["availability_zone"]) for a in found] == [
        (a1, "a1", ["h1", "h2"], {"k1": "v1"}, None),
        (a2, "a2", ["h3", "h1"], {"k2": "v2", "availability_zone": "z2"}, "z2"),
    ]
    assert all(list(a) == KEYS for a in found)
    assert await db.aggregate_get_by_host(admin.elevated(read_deleted="yes"), "h1") == found
    assert await db.aggregate_get_by_host(admin.elevated(read_deleted="only"), "h1") == []
    assert await db.aggregate_get_by_host(admin, "nowhere") == []
    assert await db.aggregate_get_by_host(admin, "h" * 300) == []
    with pytest.raises(errors.Invalid):
        await db.aggregate_get_by_host(admin, None)  # type: ignore[arg-type]


async def test_aggregate_get_by_host_with_a_key_needs_that_live_key_and_returns_all_metadata(
    admin: rawdb.Context,
) -> None:
    a1 = await make(admin, "a1", {"good": "1", "other": "x"}, ("h1",))
    await make(admin, "a2", {"other": "y"}, ("h1",))
    a3 = await make(admin, "a3", {"good": "3"}, ("h1",))
    await db.aggregate_metadata_delete(admin, a3, "good")
    await make(admin, "a4", {"good": "4"}, ("h2",))

    found = await db.aggregate_get_by_host(admin, "h1", key="good")
    assert [(a["id"], a["metadetails"]) for a in found] == [(a1, {"good": "1", "other": "x"})]
    assert [a["name"] for a in await db.aggregate_get_by_host(admin, "h1", key="")] == ["a1", "a2", "a3"]
    assert await db.aggregate_get_by_host(admin, "h1", key="missing") == []
    with pytest.raises(errors.Invalid):
        await db.aggregate_get_by_host(admin, "h1", key=3)  # type: ignore[arg-type]


async def test_aggregate_metadata_get_by_host_key_restricts_what_is_collected_bug_1201283(
    admin: rawdb.Context,
) -> None:
    """Grizzly filtered the aggregates by the key but collected all their metadata."""
    await make(admin, "a1", {"availability_zone": "az1", "ssd": "true"}, ("h1",))
    await make(admin, "a2", {"availability_zone": "az2", "gpu": "yes"}, ("h1", "h2"))
    await make(admin, "a3", {"availability_zone": "az3"}, ("h2",))
    gone = await make(admin, "a4", {"availability_zone": "az4"}, ("h1",))
    await db.aggregate_delete(admin, gone)

    assert await db.aggregate_metadata_get_by_host(admin, "h1", key="availability_zone") == {
        "availability_zone": {"az1", "az2"}
    }
    assert await db.aggregate_metadata_get_by_host(admin, "h1") == {
        "availability_zone": {"az1", "az2"},
        "ssd": {"true"},
        "gpu": {"yes"},
    }
    assert await db.aggregate_metadata_get_by_host(admin, "h2", key="ssd") == {}
    assert await db.aggregate_metadata_get_by_host(admin, "h9") == {}
    with pytest.raises(errors.Invalid):
        await db.aggregate_metadata_get_by_host(admin, 5)  # type: ignore[arg-type]


async def test_aggregate_get_by_metadata_key_returns_only_that_key_as_newton(admin: rawdb.Context) -> None:
    a1 = await make(admin, "a1", {"availability_zone": "z", "ssd": "1"}, ("h1", "h2"))
    await make(admin, "a2", {"gpu": "1"}, ("h3",))
    a3 = await make(admin, "a3", {"ssd": "2"})
    gone = await make(admin, "a4", {"ssd": "3"})
    await db.aggregate_delete(admin, gone)

    found = await db.aggregate_get_by_metadata_key(admin, "ssd")
    assert [(a["id"], a["hosts"], a["metadetails"], a["availability_zone"]) for a in found] == [
        (a1, ["h1", "h2"], {"ssd": "1"}, None),
        (a3, [], {"ssd": "2"}, None),
    ]
    assert all(list(a) == KEYS for a in found)
    by_az = await db.aggregate_get_by_metadata_key(admin, "availability_zone")
    assert [(a["id"], a["availability_zone"]) for a in by_az] == [(a1, "z")]
    assert await db.aggregate_get_by_metadata_key(admin, "none") == []
    with pytest.raises(errors.Invalid):
        await db.aggregate_get_by_metadata_key(admin, None)  # type: ignore[arg-type]


async def test_aggregate_host_get_by_metadata_key_maps_hosts_to_the_keys_values(admin: rawdb.Context) -> None:
    await make(admin, "a1", {"other": "o", "ssd": "fast"}, ("h1", "h2"))
    await make(admin, "a2", {"ssd": "slow"}, ("h2", "h3"))
    await make(admin, "a3", {"gpu": "1"}, ("h4",))
    a4 = await make(admin, "a4", {"ssd": "gone"}, ("h5",))
    await db.aggregate_delete(admin, a4)

    assert await db.aggregate_host_get_by_metadata_key(admin, "ssd") == {
        "h1": {"fast"},
        "h2": {"fast", "slow"},
        "h3": {"slow"},
    }
    assert await db.aggregate_host_get_by_metadata_key(admin, "none") == {}
    with pytest.raises(errors.Invalid):
        await db.aggregate_host_get_by_metadata_key(admin, b"ssd")  # type: ignore[arg-type]


# --- update --------------------------------------------------------------------------------


async def test_aggregate_update_changes_columns_and_returns_the_aggregate(admin: rawdb.Context) -> None:
    made = await make(admin, "old", {"k": "v"}, ("h1",))
    before = datetime.utcnow() - timedelta(seconds=1)
    updated = await db.aggregate_update(admin, made, {"name": "new"})
    assert (updated["id"], updated["name"], updated["hosts"], updated["metadetails"]) == (
        made,
        "new",
        ["h1"],
        {"k": "v"},
    )
    assert updated["updated_at"] > before
    assert await db.aggregate_get(admin, made) == updated
    again = await db.aggregate_update(admin, str(made), {"name": "new"})  # its own name is no clash
    assert again["name"] == "new"


async def test_aggregate_update_of_only_the_availability_zone_keeps_other_metadata_bug_1200369(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    """Grizzly turned the zone into {'availability_zone': az} with set_delete and lost the rest."""
    made = await make(admin, "a", {"availability_zone": "old", "ssd": "true", "gpu": "no"})
    updated = await db.aggregate_update(admin, made, {"availability_zone": "new"})
    assert updated["metadetails"] == {"availability_zone": "new", "ssd": "true", "gpu": "no"}
    assert updated["availability_zone"] == "new"
    assert updated["updated_at"] is None  # no column changed
    assert await live_metadata(nova_db, made) == [("availability_zone", "new"), ("ssd", "true"), ("gpu", "no")]


async def test_aggregate_update_with_metadata_replaces_it_and_the_zone_joins_it(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await make(admin, "a", {"availability_zone": "z", "ssd": "true", "gpu": "no"})
    updated = await db.aggregate_update(
        admin, made, {"metadata": {"gpu": "yes", "new": "1"}, "availability_zone": "z2", "name": "b"}
    )
    assert updated["metadetails"] == {"availability_zone": "z2", "gpu": "yes", "new": "1"}
    assert updated["name"] == "b"
    cleared = await db.aggregate_update(admin, made, {"metadata": {}})
    assert (cleared["metadetails"], cleared["availability_zone"]) == ({}, None)
    assert await live_metadata(nova_db, made) == []


async def test_aggregate_update_to_another_live_name_is_aggregate_name_exists_and_changes_nothing(
    admin: rawdb.Context,
) -> None:
    first = await make(admin, "first", {"k": "v"})
    second = await make(admin, "second")
    with pytest.raises(errors.AggregateNameExists) as caught:
        await db.aggregate_update(admin, second, {"name": "first", "metadata": {"x": "y"}})
    assert caught.value.kwargs["aggregate_name"] == "first"
    got = await db.aggregate_get(admin, second)
    assert (got["name"], got["metadetails"], got["updated_at"]) == ("second", {}, None)
    await db.aggregate_delete(admin, first)
    assert (await db.aggregate_update(admin, second, {"name": "first"}))["name"] == "first"


async def test_aggregate_update_of_an_unknown_or_deleted_aggregate_is_not_found(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await make(admin, "a")
    await db.aggregate_delete(admin, made)
    for missing in (made, made + 1, 0):
        with pytest.raises(errors.AggregateNotFound):
            await db.aggregate_update(admin, missing, {"metadata": {"k": "v"}})
    assert await count_rows(nova_db, "aggregate_metadata") == 0
    revived = await db.aggregate_update(admin.elevated(read_deleted="yes"), made, {"name": "renamed"})
    assert (revived["name"], revived["deleted"]) == ("renamed", made)


@pytest.mark.parametrize(
    "values",
    [
        {"name": None},
        {"name": 3},
        {"deleted": 1},
        {"id": 9},
        {"hosts": ["h"]},
        {"metadata": ["k"]},
        {"metadata": {"k": None}},
        {"availability_zone": None},
        {"availability_zone": "z" * 256},
        {"name": "x" * 256, "metadata": {"k": "v"}},
    ],
)
async def test_aggregate_update_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any]
) -> None:
    made = await make(admin, "a", {"keep": "me"})
    with pytest.raises(errors.Invalid):
        await db.aggregate_update(admin, made, values)
    got = await db.aggregate_get(admin, made)
    assert (got["name"], got["metadetails"], got["updated_at"]) == ("a", {"keep": "me"}, None)
    with pytest.raises(errors.Invalid):
        await db.aggregate_update(admin, made, "name")  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.aggregate_update(admin, "x", {"name": "b"})


# --- delete --------------------------------------------------------------------------------


async def test_aggregate_delete_soft_deletes_it_and_its_metadata_but_not_its_hosts(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await make(admin, "a", {"k1": "v1", "k2": "v2"}, ("h1",))
    other = await make(admin, "b", {"k1": "v1"})
    await db.aggregate_delete(admin, str(made))

    rows = await select(nova_db, "SELECT deleted, updated_at FROM aggregates WHERE id = :i", i=made)
    assert rows == [{"deleted": made, "updated_at": None}]  # a bulk soft delete keeps updated_at
    deleted = await select(
        nova_db, "SELECT count(*) AS n FROM aggregate_metadata WHERE aggregate_id = :i AND deleted = id", i=made
    )
    assert deleted[0]["n"] == 2
    hosts = await select(nova_db, "SELECT host, deleted FROM aggregate_hosts WHERE aggregate_id = :i", i=made)
    assert hosts == [{"host": "h1", "deleted": 0}]
    assert (await db.aggregate_get(admin, other))["metadetails"] == {"k1": "v1"}
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_delete(admin, made)
    for missing in (other + 1, 0):
        with pytest.raises(errors.AggregateNotFound):
            await db.aggregate_delete(admin, missing)
    with pytest.raises(errors.Invalid):
        await db.aggregate_delete(admin, [made])  # type: ignore[arg-type]


# --- metadata ------------------------------------------------------------------------------


async def test_aggregate_metadata_add_updates_inserts_and_with_set_delete_deletes_the_rest(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await make(admin, "a", {"same": "1", "change": "old", "drop": "x"})
    assert await db.aggregate_metadata_add(admin, made, {"change": "new", "add": "y"}) == {"change": "new", "add": "y"}
    assert await db.aggregate_metadata_get(admin, made) == {"same": "1", "change": "new", "drop": "x", "add": "y"}
    stamps = {
        r["key"]: r["updated_at"]
        for r in await select(nova_db, 'SELECT "key", updated_at FROM aggregate_metadata WHERE deleted = 0')
    }
    assert stamps["same"] is None and stamps["add"] is None and stamps["change"] is not None

    await db.aggregate_metadata_add(admin, made, {"same": "1", "add": "z"}, set_delete=True)
    assert await db.aggregate_metadata_get(admin, made) == {"same": "1", "add": "z"}
    deleted = await select(
        nova_db, 'SELECT "key", value FROM aggregate_metadata WHERE deleted = id AND deleted_at IS NOT NULL ORDER BY id'
    )
    assert [(r["key"], r["value"]) for r in deleted] == [("change", "new"), ("drop", "x")]
    everything = await db.aggregate_metadata_get(admin.elevated(read_deleted="yes"), made)
    assert everything == {"same": "1", "change": "new", "drop": "x", "add": "z"}
    with pytest.raises(errors.AggregateNotFound):  # the aggregate itself must be visible
        await db.aggregate_metadata_get(admin.elevated(read_deleted="only"), made)
    await db.aggregate_metadata_add(admin, made, {}, set_delete="true")
    assert await db.aggregate_metadata_get(admin, made) == {}


async def test_aggregate_metadata_add_errors_write_nothing(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    made = await make(admin, "a", {"k": "v"})
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_metadata_add(admin, made + 1, {"k": "v"})
    for bad in ({"k": None}, {"k": "ok", "": "x" * 256}, {None: "v"}, "k=v"):
        with pytest.raises(errors.Invalid):
            await db.aggregate_metadata_add(admin, made, bad, set_delete=True)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.aggregate_metadata_add(admin, made, {"k": "w"}, set_delete="maybe")  # type: ignore[arg-type]
    assert await live_metadata(nova_db, made) == [("k", "v")]
    assert await count_rows(nova_db, "aggregate_metadata") == 1


async def test_aggregate_metadata_add_of_one_key_is_race_free_across_connections(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    made = await make(admin, "a", {"other": "o"})
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    results = await asyncio.gather(
        *(db.aggregate_metadata_add(c, made, {"shared": f"v{i}", f"own{i}": "x"}) for i, c in enumerate(callers))
    )
    assert [r["shared"] for r in results] == [f"v{i}" for i in range(8)]
    live = await live_metadata(nova_db, made)
    shared = [value for key, value in live if key == "shared"]
    assert len(shared) == 1 and shared[0] in {f"v{i}" for i in range(8)}
    assert sorted(key for key, _ in live) == sorted(["other", "shared", *(f"own{i}" for i in range(8))])


async def test_aggregate_metadata_get(admin: rawdb.Context) -> None:
    made = await make(admin, "a", {"b": "2", "a": "1"})
    assert list((await db.aggregate_metadata_get(admin, made)).items()) == [("b", "2"), ("a", "1")]
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_metadata_get(admin, made + 1)


async def test_aggregate_metadata_delete(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    made = await make(admin, "a", {"k1": "v1", "k2": "v2"})
    await db.aggregate_metadata_delete(admin, made, "k1")
    assert await db.aggregate_metadata_get(admin, made) == {"k2": "v2"}
    for key in ("k1", "nope", "k" * 300):
        with pytest.raises(errors.AggregateMetadataNotFound) as caught:
            await db.aggregate_metadata_delete(admin, made, key)
        assert caught.value.kwargs == {"aggregate_id": made, "metadata_key": key}
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_metadata_delete(admin, made + 1, "k2")
    with pytest.raises(errors.Invalid):
        await db.aggregate_metadata_delete(admin, made, None)  # type: ignore[arg-type]
    assert await live_metadata(nova_db, made) == [("k2", "v2")]


# --- hosts ---------------------------------------------------------------------------------


async def test_aggregate_host_add_returns_the_row_and_a_live_duplicate_is_aggregate_host_exists(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await make(admin, "a")
    row = await db.aggregate_host_add(admin, made, "h1")
    assert (row["host"], row["aggregate_id"], row["deleted"], row["deleted_at"]) == ("h1", made, 0, None)
    assert sorted(row) == sorted(["created_at", "updated_at", "deleted_at", "deleted", "id", "host", "aggregate_id"])
    with pytest.raises(errors.AggregateHostExists) as caught:
        await db.aggregate_host_add(admin, made, "h1")
    assert caught.value.kwargs == {"host": "h1", "aggregate_id": made}
    await db.aggregate_host_delete(admin, made, "h1")
    again = await db.aggregate_host_add(admin, made, "h1")  # a deleted row does not count
    assert again["id"] != row["id"]
    assert await db.aggregate_host_get_all(admin, made) == ["h1"]


async def test_aggregate_host_add_refused_inside_a_writer_leaves_the_callers_transaction_usable(
    admin: rawdb.Context,
) -> None:
    made = await make(admin, "a", hosts=("h1",))
    async with admin.writer() as tx:
        with pytest.raises(errors.AggregateHostExists):
            await db.aggregate_host_add(tx, made, "h1")
        await db.aggregate_host_add(tx, made, "h2")
    assert await db.aggregate_host_get_all(admin, made) == ["h1", "h2"]


async def test_aggregate_host_add_errors_write_nothing(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    made = await make(admin, "a")
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_host_add(admin, made + 1, "h1")
    await db.aggregate_delete(admin, made)
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_host_add(admin, made, "h1")
    live = await make(admin, "b")
    for bad in (None, 5, "h" * 256, "a\x00b"):
        with pytest.raises(errors.Invalid):
            await db.aggregate_host_add(admin, live, bad)  # type: ignore[arg-type]
    assert await count_rows(nova_db, "aggregate_hosts") == 0


async def test_aggregate_host_add_of_one_host_is_race_free_across_connections(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    made = await make(admin, "a")
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    results = await asyncio.gather(
        *(db.aggregate_host_add(c, made, "contended") for c in callers), return_exceptions=True
    )
    added = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.AggregateHostExists)]
    assert len(added) == 1 and len(refused) == 7, results
    rows = await select(nova_db, "SELECT id, host FROM aggregate_hosts WHERE deleted = 0")
    assert rows == [{"id": added[0]["id"], "host": "contended"}]


async def test_aggregate_host_get_all_as_read_deleted_says(admin: rawdb.Context) -> None:
    made = await make(admin, "a", hosts=("h2", "h1", "h3"))
    await db.aggregate_host_delete(admin, made, "h1")
    assert await db.aggregate_host_get_all(admin, made) == ["h2", "h3"]
    assert await db.aggregate_host_get_all(admin.elevated(read_deleted="yes"), made) == ["h2", "h1", "h3"]
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_host_get_all(admin, made + 1)


async def test_aggregate_host_delete(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    made = await make(admin, "a", hosts=("h1", "h2"))
    await db.aggregate_host_delete(admin, made, "h1")
    assert await db.aggregate_host_get_all(admin, made) == ["h2"]
    for host in ("h1", "h9", "h" * 300):
        with pytest.raises(errors.AggregateHostNotFound) as caught:
            await db.aggregate_host_delete(admin, made, host)
        assert caught.value.kwargs == {"aggregate_id": made, "host": host}
    with pytest.raises(errors.AggregateNotFound):
        await db.aggregate_host_delete(admin, made + 1, "h2")
    with pytest.raises(errors.Invalid):
        await db.aggregate_host_delete(admin, made, 7)  # type: ignore[arg-type]
    rows = await select(nova_db, "SELECT host FROM aggregate_hosts WHERE deleted = 0")
    assert rows == [{"host": "h2"}]


# --- uuid migration ------------------------------------------------------------------------


async def test_aggregate_uuids_online_data_migration_gives_uuidless_aggregates_one(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    for name in ("a", "b", "c"):
        await execute(nova_db, "INSERT INTO aggregates (name, deleted) VALUES (:n, 0)", n=name)
    kept = await db.aggregate_create(admin, {"name": "d"})
    ids = [r["id"] for r in await select(nova_db, "SELECT id FROM aggregates WHERE uuid IS NULL ORDER BY id")]

    assert await db.aggregate_uuids_online_data_migration(admin, 2) == (2, 2)
    rows = await select(nova_db, "SELECT id, uuid, updated_at FROM aggregates ORDER BY id")
    assert [r["uuid"] is None for r in rows] == [False, False, True, False]
    assert all(UUID.match(r["uuid"]) and r["updated_at"] is not None for r in rows[:2])
    assert rows[0]["uuid"] != rows[1]["uuid"]
    assert rows[3]["uuid"] == kept["uuid"]
    assert await db.aggregate_uuids_online_data_migration(admin, 0) == (0, 0)
    assert await db.aggregate_uuids_online_data_migration(admin, None) == (1, 1)
    assert await db.aggregate_uuids_online_data_migration(admin, 50) == (0, 0)
    assert (await db.aggregate_get(admin, ids[2]))["uuid"] is not None
    for bad in (-1, "many", 1.5):
        with pytest.raises(errors.Invalid):
            await db.aggregate_uuids_online_data_migration(admin, bad)  # type: ignore[arg-type]
