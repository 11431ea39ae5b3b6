"""An instance's children (nova 14.0.0): network info cache, metadata, system metadata, instance_extra, tags.

Spec nova_cinder.md A.4, B, D.2, F.1 item 21 and F.3 (nova bug 1378459: a re-created info cache
is persisted).  Every test runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from novatools import make_instance
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import instance_data as db

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

CACHE_KEYS = {"created_at", "updated_at", "deleted_at", "deleted", "id", "network_info", "instance_uuid"}
EXTRA_BASE_KEYS = {"created_at", "updated_at", "deleted_at", "deleted", "id", "instance_uuid"}
EXTRA_DEFAULT = {"numa_topology", "pci_requests", "flavor", "vcpu_model", "migration_context"}
MISSING = "00000000-0000-0000-0000-000000000000"


async def rows_of(database: rawdb.Database, table: str, instance_uuid: str) -> list[dict[str, Any]]:
    """Every row of a metadata table for the instance, deleted ones too, oldest first."""
    return await select(
        database,
        f'SELECT id, "key", value, deleted, deleted_at, created_at, updated_at FROM {table} '
        "WHERE instance_uuid = :u ORDER BY id",
        u=instance_uuid,
    )


async def tags_of(database: rawdb.Database, instance_uuid: str) -> list[str]:
    rows = await select(database, "SELECT tag FROM tags WHERE resource_id = :u", u=instance_uuid)
    return sorted(row["tag"] for row in rows)


async def blocked_behind(first: rawdb.Context, call: Awaitable[Any]) -> asyncio.Task[Any]:
    """Start ``call`` while ``first``'s transaction is open and check that it waits for it."""
    task = asyncio.ensure_future(call)
    await asyncio.sleep(0.3)
    assert not task.done(), "the second caller did not wait for the first one's transaction"
    return task


# --- network info cache ----------------------------------------------------------------


async def test_info_cache_update_creates_a_missing_row_that_get_returns(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    assert await db.instance_info_cache_get(alice, uuid) is None
    created = await db.instance_info_cache_update(alice, uuid, {"network_info": "[]"})
    assert set(created) == CACHE_KEYS
    assert created["instance_uuid"] == uuid and created["network_info"] == "[]" and created["deleted"] == 0
    assert isinstance(created["created_at"], datetime) and created["updated_at"] is None
    assert await db.instance_info_cache_get(alice, uuid) == created


async def test_info_cache_update_changes_the_live_row_and_moves_updated_at(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    first = await db.instance_info_cache_update(alice, uuid, {"network_info": "net1"})
    second = await db.instance_info_cache_update(alice, uuid, {"network_info": "net2"})
    assert second["id"] == first["id"] and second["network_info"] == "net2"
    assert second["created_at"] == first["created_at"] and second["updated_at"] >= first["created_at"]
    assert await db.instance_info_cache_get(alice, uuid) == second
    assert await count_rows(nova_db, "instance_info_caches") == 1


async def test_info_cache_update_reads_iso_times_and_keeps_a_given_updated_at(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    row = await db.instance_info_cache_update(admin, uuid, {"created_at": "2016-01-02T03:04:05.000006"})
    assert row["created_at"] == datetime(2016, 1, 2, 3, 4, 5, 6)
    when = datetime(2017, 5, 6, 7, 8, 9, 123456)
    row = await db.instance_info_cache_update(admin, uuid, {"network_info": "x", "updated_at": when})
    assert row["updated_at"] == when and row["network_info"] == "x"


async def test_info_cache_delete_soft_deletes_keeping_updated_at(
    nova_db: rawdb.Database, alice: rawdb.Context, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    row = await db.instance_info_cache_update(alice, uuid, {"network_info": "net"})
    await db.instance_info_cache_delete(alice, uuid)
    assert await db.instance_info_cache_get(alice, uuid) is None
    deleted = await db.instance_info_cache_get(admin.elevated(read_deleted="yes"), uuid)
    assert deleted is not None
    assert deleted["deleted"] == row["id"] and deleted["deleted_at"] is not None
    assert deleted["updated_at"] == row["updated_at"]  # bulk soft delete keeps it
    assert await db.instance_info_cache_get(admin.elevated(read_deleted="only"), uuid) == deleted


async def test_info_cache_delete_of_what_is_no_uuid_text_is_invalid_and_deletes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_info_cache_update(alice, uuid, {"network_info": "net"})
    before = await select(nova_db, "SELECT * FROM instance_info_caches")
    for bad in (42, None, [uuid], 1.5, b"uuid", "nul\x00", "a\ud800"):
        with pytest.raises(errors.Invalid) as caught:
            await db.instance_info_cache_delete(alice, bad)
        assert not isinstance(caught.value, errors.DBError), bad  # refused before the database is asked
    assert await select(nova_db, "SELECT * FROM instance_info_caches") == before
    assert before[0]["deleted"] == 0


async def test_info_cache_delete_of_an_unknown_or_overlong_uuid_deletes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_info_cache_update(alice, uuid, {"network_info": "net"})
    before = await select(nova_db, "SELECT * FROM instance_info_caches")
    for other in (MISSING, "u" * 300, uuid.upper(), "x'; DELETE FROM instance_info_caches; --"):
        await db.instance_info_cache_delete(alice, other)  # nova's soft delete of no row: no error
    assert await select(nova_db, "SELECT * FROM instance_info_caches") == before
    await db.instance_info_cache_delete(alice, uuid)
    assert await db.instance_info_cache_get(alice, uuid) is None


async def test_info_cache_update_never_revives_a_soft_deleted_row(
    nova_db: rawdb.Database, alice: rawdb.Context, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_info_cache_update(alice, uuid, {"network_info": "old"})
    await db.instance_info_cache_delete(alice, uuid)
    # The deleted row keeps the (unique) uuid: under read_deleted='no' nothing is written, as Newton.
    stored = await db.instance_info_cache_update(alice, uuid, {"network_info": "new"})
    assert stored["deleted"] != 0 and stored["network_info"] == "old"
    assert await db.instance_info_cache_get(alice, uuid) is None
    # A context that sees the deleted row is told so.
    with pytest.raises(errors.InstanceInfoCacheNotFound) as caught:
        await db.instance_info_cache_update(admin.elevated(read_deleted="yes"), uuid, {"network_info": "new"})
    assert caught.value.instance_uuid == uuid
    assert await count_rows(nova_db, "instance_info_caches") == 1


async def test_info_cache_update_moving_onto_another_instances_cache_changes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    one, two = await make_instance(nova_db), await make_instance(nova_db)
    await db.instance_info_cache_update(alice, one, {"network_info": "net1"})
    await db.instance_info_cache_update(alice, two, {"network_info": "net2"})
    async with alice.writer() as tx:  # the duplicate is swallowed in a savepoint; the transaction goes on
        row = await db.instance_info_cache_update(tx, two, {"instance_uuid": one, "network_info": "x"})
        assert row["instance_uuid"] == two and row["network_info"] == "net2"
        await db.instance_metadata_update(tx, two, {"still": "working"}, False)
    assert (await db.instance_info_cache_get(alice, one) or {})["network_info"] == "net1"
    assert (await db.instance_info_cache_get(alice, two) or {})["network_info"] == "net2"
    assert await db.instance_metadata_get(alice, two) == {"still": "working"}


async def test_info_cache_update_of_a_missing_instance_is_db_reference_error(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    with pytest.raises(errors.DBReferenceError):
        await db.instance_info_cache_update(alice, MISSING, {"network_info": "net"})
    assert await count_rows(nova_db, "instance_info_caches") == 0


@pytest.mark.parametrize(
    ("instance_uuid", "values"),
    [
        (42, {"network_info": "net"}),
        ("u" * 37, {"network_info": "net"}),
        ("uuid\x00", {"network_info": "net"}),
        (None, {"network_info": "net"}),
        ("VALID", ["network_info"]),
        ("VALID", {"network_info": 5}),
        ("VALID", {"network_info": "nul\x00"}),
        ("VALID", {"bogus": "x"}),
        ("VALID", {"deleted": 1}),
        ("VALID", {"created_at": "yesterday"}),
    ],
)
async def test_info_cache_update_bad_input_is_invalid_and_writes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context, instance_uuid: Any, values: Any
) -> None:
    uuid = await make_instance(nova_db)
    with pytest.raises(errors.Invalid):
        await db.instance_info_cache_update(alice, uuid if instance_uuid == "VALID" else instance_uuid, values)
    assert await count_rows(nova_db, "instance_info_caches") == 0


async def test_info_cache_functions_need_an_admin_or_a_user_context(nova_db: rawdb.Database) -> None:
    nobody = rawdb.Context(nova_db, project_id="p1")  # no user: neither admin nor a user context
    uuid = await make_instance(nova_db)
    with pytest.raises(errors.NotAuthorized):
        await db.instance_info_cache_get(nobody, uuid)
    with pytest.raises(errors.NotAuthorized):
        await db.instance_info_cache_update(nobody, uuid, {"network_info": "x"})
    with pytest.raises(errors.NotAuthorized):
        await db.instance_metadata_update(nobody, uuid, {"a": "b"}, False)
    assert await count_rows(nova_db, "instance_info_caches") == 0


async def test_info_cache_update_racing_a_creator_neither_fails_nor_makes_two_rows(
    nova_db: rawdb.Database, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    async with alice.writer() as first:
        await db.instance_info_cache_update(first, uuid, {"network_info": "first"})
        second = await blocked_behind(first, db.instance_info_cache_update(bob, uuid, {"network_info": "second"}))
    row = await second
    # The loser of the create race updates the winner's row: its update is not lost.
    assert row["network_info"] == "second" and row["deleted"] == 0
    assert await count_rows(nova_db, "instance_info_caches") == 1


async def test_many_concurrent_info_cache_creates_leave_one_row(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    uuid = await make_instance(nova_db)
    values = [f"net{i}" for i in range(6)]
    rows = await asyncio.gather(*(db.instance_info_cache_update(alice, uuid, {"network_info": v}) for v in values))
    assert len({row["id"] for row in rows}) == 1
    final = await db.instance_info_cache_get(alice, uuid)
    assert final is not None and final["network_info"] in values
    assert await count_rows(nova_db, "instance_info_caches") == 1


# --- metadata --------------------------------------------------------------------------


async def test_metadata_update_inserts_new_keys_in_order_and_returns_metadata(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    metadata = {"b": "2", "a": "1", "none": None}
    assert await db.instance_metadata_update(alice, uuid, metadata, False) is metadata
    assert await db.instance_metadata_get(alice, uuid) == metadata
    rows = await rows_of(nova_db, "instance_metadata", uuid)
    assert [row["key"] for row in rows] == ["b", "a", "none"]
    assert all(row["deleted"] == 0 and row["updated_at"] is None for row in rows)


async def test_metadata_update_with_delete_makes_the_live_set_exactly_metadata(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"keep": "1", "change": "1", "drop": "1"}, False)
    await db.instance_metadata_update(alice, uuid, {"keep": "1", "change": "2", "new": "3"}, True)
    assert await db.instance_metadata_get(alice, uuid) == {"keep": "1", "change": "2", "new": "3"}
    rows = {row["key"]: row for row in await rows_of(nova_db, "instance_metadata", uuid)}
    assert rows["drop"]["deleted"] == rows["drop"]["id"] and rows["drop"]["deleted_at"] is not None
    assert rows["drop"]["updated_at"] is None  # a bulk soft delete, as Newton
    assert rows["keep"]["updated_at"] is None  # an unchanged value leaves its row alone
    assert rows["change"]["updated_at"] is not None and rows["change"]["value"] == "2"


async def test_metadata_update_without_delete_keeps_the_other_keys(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"a": "1", "b": "1"}, False)
    await db.instance_metadata_update(alice, uuid, {"b": "2"}, False)
    assert await db.instance_metadata_get(alice, uuid) == {"a": "1", "b": "2"}
    assert len(await rows_of(nova_db, "instance_metadata", uuid)) == 2


async def test_metadata_values_go_to_and_from_none(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    uuid = await make_instance(nova_db)
    for value in (None, "x", None, "", None):
        await db.instance_metadata_update(alice, uuid, {"k": value}, True)
        assert await db.instance_metadata_get(alice, uuid) == {"k": value}
    assert len(await rows_of(nova_db, "instance_metadata", uuid)) == 1


async def test_metadata_update_with_delete_and_no_metadata_deletes_every_key(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"a": "1", "b": "2"}, False)
    await db.instance_metadata_update(alice, uuid, {}, True)
    assert await db.instance_metadata_get(alice, uuid) == {}
    assert all(row["deleted"] != 0 for row in await rows_of(nova_db, "instance_metadata", uuid))


async def test_metadata_update_re_adds_a_deleted_key_as_a_new_row(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"a": "1"}, False)
    await db.instance_metadata_delete(alice, uuid, "a")
    await db.instance_metadata_update(alice, uuid, {"a": "2"}, False)
    rows = await rows_of(nova_db, "instance_metadata", uuid)
    assert [(row["value"], row["deleted"] == 0) for row in rows] == [("1", False), ("2", True)]


async def test_metadata_delete_soft_deletes_one_key_and_ignores_a_missing_one(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"a": "1", "b": "2"}, False)
    await db.instance_metadata_delete(alice, uuid, "a")
    await db.instance_metadata_delete(alice, uuid, "nope")
    await db.instance_metadata_delete(alice, uuid, "k" * 300)
    assert await db.instance_metadata_get(alice, uuid) == {"b": "2"}
    with pytest.raises(errors.Invalid):
        await db.instance_metadata_delete(alice, uuid, 7)  # type: ignore[arg-type]


async def test_metadata_get_shows_live_keys_whatever_the_context_reads(
    nova_db: rawdb.Database, alice: rawdb.Context, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"a": "1", "b": "2"}, False)
    await db.instance_metadata_delete(alice, uuid, "a")
    assert await db.instance_metadata_get(admin.elevated(read_deleted="yes"), uuid) == {"b": "2"}
    assert await db.instance_metadata_get(admin, MISSING) == {}


async def test_metadata_keys_are_case_sensitive_on_every_backend(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"Key": "upper", "key": "lower", "key ": "space"}, False)
    await db.instance_metadata_update(alice, uuid, {"key": "LOWER"}, True)
    assert await db.instance_metadata_get(alice, uuid) == {"key": "LOWER"}


async def test_metadata_update_of_a_missing_instance_is_db_reference_error(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    with pytest.raises(errors.DBReferenceError):
        await db.instance_metadata_update(alice, MISSING, {"a": "1"}, True)
    assert await count_rows(nova_db, "instance_metadata") == 0


@pytest.mark.parametrize(
    ("metadata", "delete"),
    [
        ([("a", "1")], False),
        ({1: "one"}, False),
        ({"k" * 256: "v"}, True),
        ({"k": "v" * 256}, True),
        ({"k": 5}, True),
        ({"k\x00": "v"}, True),
        ({"k": "v\x00"}, True),
        ({"k": "\ud800"}, True),
        ({"k": "v"}, "maybe"),
        ({"k": "v"}, None),
    ],
)
async def test_metadata_update_bad_input_is_invalid_and_changes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context, metadata: Any, delete: Any
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"old": "1"}, False)
    before = await rows_of(nova_db, "instance_metadata", uuid)
    with pytest.raises(errors.Invalid):
        await db.instance_metadata_update(alice, uuid, metadata, delete)
    assert await rows_of(nova_db, "instance_metadata", uuid) == before


@pytest.mark.parametrize("bad_uuid", [42, None, "u" * 37, "nul\x00"])
async def test_metadata_update_with_a_bad_uuid_is_invalid(
    nova_db: rawdb.Database, alice: rawdb.Context, bad_uuid: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.instance_metadata_update(alice, bad_uuid, {"a": "1"}, False)
    with pytest.raises(errors.Invalid):
        await db.instance_system_metadata_update(alice, bad_uuid, {"a": "1"}, False)
    assert await count_rows(nova_db, "instance_metadata") == 0


async def test_metadata_update_is_one_transaction(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_metadata_update(alice, uuid, {"a": "1"}, False)
    with pytest.raises(RuntimeError):
        async with alice.writer() as tx:
            await db.instance_metadata_update(tx, uuid, {"b": "2"}, True)
            assert await db.instance_metadata_get(tx, uuid) == {"b": "2"}
            raise RuntimeError("roll back")
    assert await db.instance_metadata_get(alice, uuid) == {"a": "1"}


async def test_concurrent_metadata_updates_adding_one_key_leave_one_live_row(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    values = [str(i) for i in range(5)]
    await asyncio.gather(*(db.instance_metadata_update(alice, uuid, {"k": v}, False) for v in values))
    live = [row for row in await rows_of(nova_db, "instance_metadata", uuid) if row["deleted"] == 0]
    assert len(live) == 1 and live[0]["value"] in values


async def test_concurrent_metadata_replacements_end_with_one_callers_set(
    nova_db: rawdb.Database, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    async with alice.writer() as first:
        await db.instance_metadata_update(first, uuid, {"a": "1", "b": "1"}, True)
        second = await blocked_behind(first, db.instance_metadata_update(bob, uuid, {"c": "2"}, True))
    await second
    assert await db.instance_metadata_get(alice, uuid) == {"c": "2"}


# --- system metadata -------------------------------------------------------------------


async def test_system_metadata_update_replaces_the_set_soft_deleting_removed_keys(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    assert await db.instance_system_metadata_update(admin, uuid, {"a": "1", "b": "1"}, False) is None
    await db.instance_system_metadata_update(admin, uuid, {"b": "2", "c": "3"}, True)
    assert await db.instance_system_metadata_get(admin, uuid) == {"b": "2", "c": "3"}
    rows = {row["key"]: row for row in await rows_of(nova_db, "instance_system_metadata", uuid)}
    assert rows["a"]["deleted"] == rows["a"]["id"]  # soft, as 14.0.0's instance_system_metadata_update
    assert len(rows) == 3


async def test_system_metadata_get_follows_the_contexts_read_deleted(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_system_metadata_update(admin, uuid, {"a": "1", "b": "2"}, False)
    await db.instance_system_metadata_update(admin, uuid, {"b": "2"}, True)
    assert await db.instance_system_metadata_get(admin, uuid) == {"b": "2"}
    assert await db.instance_system_metadata_get(admin.elevated(read_deleted="yes"), uuid) == {"a": "1", "b": "2"}
    assert await db.instance_system_metadata_get(admin.elevated(read_deleted="only"), uuid) == {"a": "1"}


async def test_system_metadata_update_matches_the_rows_the_context_reads_as_newton(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_system_metadata_update(admin, uuid, {"gone": "1", "kept": "1"}, False)
    await db.instance_system_metadata_update(admin, uuid, {"kept": "1"}, True)
    # Reading deleted rows too, the deleted "gone" row counts as present: it gets the value, stays deleted.
    await db.instance_system_metadata_update(admin.elevated(read_deleted="yes"), uuid, {"gone": "2"}, False)
    assert await db.instance_system_metadata_get(admin, uuid) == {"kept": "1"}
    rows = await rows_of(nova_db, "instance_system_metadata", uuid)
    assert [(row["key"], row["value"], row["deleted"] != 0) for row in rows] == [
        ("gone", "2", True),
        ("kept", "1", False),
    ]


async def test_system_metadata_update_bad_input_is_invalid_and_changes_nothing(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_system_metadata_update(admin, uuid, {"a": "1"}, False)
    for metadata in ({"k": "v" * 256}, {"k": 1}, "k=v", {None: "v"}):
        with pytest.raises(errors.Invalid):
            await db.instance_system_metadata_update(admin, uuid, metadata, True)  # type: ignore[arg-type]
    assert await db.instance_system_metadata_get(admin, uuid) == {"a": "1"}


# --- instance_extra --------------------------------------------------------------------


async def test_instance_extra_update_by_uuid_creates_then_updates_one_row(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    assert await db.instance_extra_get_by_instance_uuid(admin, uuid) is None
    assert await db.instance_extra_update_by_uuid(admin, uuid, {"numa_topology": "n1", "flavor": "f"}) == 1
    created = await db.instance_extra_get_by_instance_uuid(admin, uuid)
    assert created is not None and created["updated_at"] is None
    assert await db.instance_extra_update_by_uuid(admin, uuid, {"numa_topology": "n2"}) == 1
    row = await db.instance_extra_get_by_instance_uuid(admin, uuid)
    assert row is not None and row["id"] == created["id"] and row["instance_uuid"] == uuid
    assert (row["numa_topology"], row["flavor"], row["pci_requests"]) == ("n2", "f", None)
    assert row["updated_at"] is not None and row["deleted"] == 0
    assert await count_rows(nova_db, "instance_extra") == 1


async def test_instance_extra_get_returns_only_the_deferred_columns_asked_for(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    everything = {c: c.upper() for c in [*EXTRA_DEFAULT, "device_metadata", "keypairs"]}
    await db.instance_extra_update_by_uuid(admin, uuid, everything)
    default = await db.instance_extra_get_by_instance_uuid(admin, uuid)
    assert default is not None and set(default) == EXTRA_BASE_KEYS | EXTRA_DEFAULT
    assert all(default[c] == c.upper() for c in EXTRA_DEFAULT)
    some = await db.instance_extra_get_by_instance_uuid(admin, uuid, columns=["keypairs", "numa_topology"])
    assert some is not None and set(some) == EXTRA_BASE_KEYS | {"keypairs", "numa_topology"}
    assert some["keypairs"] == "KEYPAIRS"
    bare = await db.instance_extra_get_by_instance_uuid(admin, uuid, columns=[])
    assert bare is not None and set(bare) == EXTRA_BASE_KEYS


async def test_instance_extra_follows_the_contexts_read_deleted(nova_db: rawdb.Database, admin: rawdb.Context) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_extra_update_by_uuid(admin, uuid, {"flavor": "f"})
    await execute(nova_db, "UPDATE instance_extra SET deleted = id WHERE instance_uuid = :u", u=uuid)
    assert await db.instance_extra_get_by_instance_uuid(admin, uuid) is None
    deleted = await db.instance_extra_get_by_instance_uuid(admin.elevated(read_deleted="yes"), uuid)
    assert deleted is not None and deleted["deleted"] == deleted["id"]


async def test_instance_extra_bad_input_is_invalid_and_writes_nothing(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    for updates in ({"bogus": "x"}, {"flavor": 1}, {"flavor": "\x00"}, {"id": 5}, ["flavor"]):
        with pytest.raises(errors.Invalid):
            await db.instance_extra_update_by_uuid(admin, uuid, updates)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.instance_extra_update_by_uuid(admin, 7, {"flavor": "f"})  # type: ignore[arg-type]
    assert await count_rows(nova_db, "instance_extra") == 0
    for columns in (["bogus"], "flavor", [1]):
        with pytest.raises(errors.Invalid):
            await db.instance_extra_get_by_instance_uuid(admin, uuid, columns=columns)  # type: ignore[arg-type]


async def test_instance_extra_update_of_a_missing_instance_is_db_reference_error(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    with pytest.raises(errors.DBReferenceError):
        await db.instance_extra_update_by_uuid(admin, MISSING, {"flavor": "f"})
    assert await count_rows(nova_db, "instance_extra") == 0


async def test_concurrent_instance_extra_creates_make_one_row(nova_db: rawdb.Database, admin: rawdb.Context) -> None:
    uuid = await make_instance(nova_db)
    counts = await asyncio.gather(
        *(db.instance_extra_update_by_uuid(admin, uuid, {"flavor": str(i)}) for i in range(5))
    )
    assert counts == [1] * 5
    assert await count_rows(nova_db, "instance_extra") == 1


# --- tags ------------------------------------------------------------------------------


async def test_tag_add_returns_the_row_and_ignores_a_duplicate(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    uuid = await make_instance(nova_db)
    assert await db.instance_tag_add(alice, uuid, "web") == {"resource_id": uuid, "tag": "web"}
    assert await db.instance_tag_add(alice, uuid, "web") == {"resource_id": uuid, "tag": "web"}
    assert await db.instance_tag_get_by_instance_uuid(alice, uuid) == [{"resource_id": uuid, "tag": "web"}]


async def test_tag_set_makes_the_tags_exactly_the_set_ordered_by_tag(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_tag_set(alice, uuid, ["old", "keep"])
    result = await db.instance_tag_set(alice, uuid, ["keep", "b", "B", "a", "b"])
    expected = [{"resource_id": uuid, "tag": t} for t in ["B", "a", "b", "keep"]]  # code point order
    assert result == expected
    assert await db.instance_tag_get_by_instance_uuid(alice, uuid) == expected
    assert await db.instance_tag_set(alice, uuid, set()) == []
    assert await tags_of(nova_db, uuid) == []


async def test_tags_hold_what_the_column_holds_and_leave_api_rules_to_the_api(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    tags = ["a/b", "c,d", "t" * 80, "ünïcode", "Tag", "tag", "tag "]
    await db.instance_tag_set(alice, uuid, tags)
    assert await tags_of(nova_db, uuid) == sorted(tags)


async def test_tag_delete_removes_one_tag_and_a_missing_one_is_instance_tag_not_found(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_tag_set(alice, uuid, ["a", "b"])
    await db.instance_tag_delete(alice, uuid, "a")
    assert await tags_of(nova_db, uuid) == ["b"]
    for missing in ("a", "B", "x" * 81):
        with pytest.raises(errors.InstanceTagNotFound) as caught:
            await db.instance_tag_delete(alice, uuid, missing)
        assert (caught.value.instance_id, caught.value.tag) == (uuid, missing)
    await db.instance_tag_delete_all(alice, uuid)
    assert await tags_of(nova_db, uuid) == []


async def test_tag_exists_answers_for_the_instances_own_tags(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    uuid, other = await make_instance(nova_db), await make_instance(nova_db)
    await db.instance_tag_add(alice, other, "web")
    await db.instance_tag_add(alice, uuid, "db")
    assert await db.instance_tag_exists(alice, uuid, "db") is True
    assert await db.instance_tag_exists(alice, uuid, "web") is False
    assert await db.instance_tag_exists(alice, uuid, "DB") is False
    assert await db.instance_tag_exists(alice, uuid, "x" * 100) is False


TagCall = Callable[[rawdb.Context, str], Awaitable[Any]]
TAG_CALLS: dict[str, TagCall] = {
    "add": lambda c, u: db.instance_tag_add(c, u, "t"),
    "set": lambda c, u: db.instance_tag_set(c, u, ["t"]),
    "get": lambda c, u: db.instance_tag_get_by_instance_uuid(c, u),
    "delete": lambda c, u: db.instance_tag_delete(c, u, "t"),
    "delete_all": lambda c, u: db.instance_tag_delete_all(c, u),
    "exists": lambda c, u: db.instance_tag_exists(c, u, "t"),
}


@pytest.mark.parametrize("call", TAG_CALLS)
async def test_tags_of_a_missing_or_deleted_instance_are_instance_not_found(
    nova_db: rawdb.Database, admin: rawdb.Context, call: str
) -> None:
    deleted = await make_instance(nova_db, deleted=True)
    for uuid in (MISSING, deleted, "x" * 40):
        with pytest.raises(errors.InstanceNotFound) as caught:
            await TAG_CALLS[call](admin, uuid)
        assert caught.value.instance_id == uuid
    assert await count_rows(nova_db, "tags") == 0


@pytest.mark.parametrize("call", TAG_CALLS)
async def test_a_user_cannot_touch_another_projects_instance_tags(
    nova_db: rawdb.Database, alice: rawdb.Context, carol: rawdb.Context, admin: rawdb.Context, call: str
) -> None:
    uuid = await make_instance(nova_db, project_id="p2", user_id="carol")
    await db.instance_tag_set(carol, uuid, ["t", "mine"])
    with pytest.raises(errors.InstanceNotFound):
        await TAG_CALLS[call](alice, uuid)
    assert await tags_of(nova_db, uuid) == ["mine", "t"]
    await TAG_CALLS[call](admin, uuid)  # admins see every project


@pytest.mark.parametrize(
    "bad",
    [
        lambda c, u: db.instance_tag_add(c, u, "t" * 81),
        lambda c, u: db.instance_tag_add(c, u, 5),
        lambda c, u: db.instance_tag_add(c, u, "nul\x00"),
        lambda c, u: db.instance_tag_add(c, 5, "t"),
        lambda c, u: db.instance_tag_set(c, u, "abc"),
        lambda c, u: db.instance_tag_set(c, u, ["ok", "t" * 81]),
        lambda c, u: db.instance_tag_set(c, u, ["ok", None]),
        lambda c, u: db.instance_tag_set(c, u, 5),
        lambda c, u: db.instance_tag_delete(c, u, None),
        lambda c, u: db.instance_tag_exists(c, u, "\x00"),
        lambda c, u: db.instance_tag_get_by_instance_uuid(c, None),
    ],
)
async def test_tags_bad_input_is_invalid_and_changes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context, bad: Callable[[rawdb.Context, str], Awaitable[Any]]
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_tag_set(alice, uuid, ["before"])
    with pytest.raises(errors.Invalid):
        await bad(alice, uuid)
    assert await tags_of(nova_db, uuid) == ["before"]


async def test_a_tag_set_racing_another_ends_with_the_later_callers_set(
    nova_db: rawdb.Database, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    await db.instance_tag_set(alice, uuid, ["old"])
    async with alice.writer() as first:
        await db.instance_tag_set(first, uuid, ["a", "b"])
        second = await blocked_behind(first, db.instance_tag_set(bob, uuid, ["c", "d"]))
    assert [row["tag"] for row in await second] == ["c", "d"]
    assert await tags_of(nova_db, uuid) == ["c", "d"]


async def test_concurrent_tag_sets_end_with_one_callers_set_never_a_mix(
    nova_db: rawdb.Database, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    sets = [[f"set{i}-a", f"set{i}-b", "shared"] for i in range(6)]
    callers = [alice if i % 2 else bob for i in range(len(sets))]
    await asyncio.gather(*(db.instance_tag_set(c, uuid, s) for c, s in zip(callers, sets, strict=True)))
    assert await tags_of(nova_db, uuid) in [sorted(s) for s in sets]


async def test_concurrent_tag_adds_keep_every_tag_once(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    uuid = await make_instance(nova_db)
    tags = ["x", "y", "x", "z", "y", "x"]
    await asyncio.gather(*(db.instance_tag_add(alice, uuid, t) for t in tags))
    assert await tags_of(nova_db, uuid) == ["x", "y", "z"]


async def test_instance_data_writers_join_a_callers_transaction(
    nova_db: rawdb.Database, alice: rawdb.Context, admin: rawdb.Context
) -> None:
    uuid = await make_instance(nova_db)
    when = datetime.utcnow() - timedelta(days=1)
    with pytest.raises(RuntimeError):
        async with alice.writer() as tx:
            await db.instance_info_cache_update(tx, uuid, {"network_info": "n", "created_at": when})
            await db.instance_tag_add(tx, uuid, "t")
            await db.instance_extra_update_by_uuid(tx, uuid, {"flavor": "f"})
            raise RuntimeError("roll back")
    assert await db.instance_info_cache_get(admin, uuid) is None
    assert await tags_of(nova_db, uuid) == []
    assert await count_rows(nova_db, "instance_extra") == 0
