"""Cinder's migrations (Folsom, spec A.5 "Migrations"), on every backend: create/update with the caller's
timestamps, the getters (deleted rows included) and their errors, and the unconfirmed listing on a frozen clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors, timeutils
from rawdb.cinder import migrations as db

T0 = datetime(2012, 9, 27, 10, 0, 0)
NOW = datetime(2012, 10, 1, 12, 0, 0)
UUID = "3f9d1b6e-6c1e-4c55-9d1a-0f1e2d3c4b5a"
MIGRATION_KEYS = {
    "id",
    "source_compute",
    "dest_compute",
    "dest_host",
    "old_instance_type_id",
    "new_instance_type_id",
    "instance_uuid",
    "status",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


def values(**extra: Any) -> dict[str, Any]:
    return {
        "source_compute": "host1",
        "dest_compute": "host2",
        "dest_host": "10.0.0.2",
        "old_instance_type_id": 1,
        "new_instance_type_id": 2,
        "instance_uuid": UUID,
        "status": "migrating",
        **extra,
    }


async def soft_delete(database: rawdb.Database, migration_id: int) -> None:
    await execute(database, "UPDATE migrations SET deleted = TRUE, deleted_at = :t WHERE id = :i", t=T0, i=migration_id)


# --- create ----------------------------------------------------------------------------------


async def test_migration_create_returns_the_row_created_now(admin: rawdb.Context) -> None:
    with timeutils.frozen(NOW):
        migration = await db.migration_create(admin, values())
    assert set(migration) == MIGRATION_KEYS
    assert isinstance(migration["id"], int)
    assert migration["source_compute"] == "host1" and migration["dest_compute"] == "host2"
    assert migration["dest_host"] == "10.0.0.2" and migration["instance_uuid"] == UUID
    assert (migration["old_instance_type_id"], migration["new_instance_type_id"]) == (1, 2)
    assert migration["status"] == "migrating"
    assert migration["created_at"] == NOW
    assert migration["updated_at"] is None and migration["deleted_at"] is None
    assert migration["deleted"] is False
    assert await db.migration_get(admin, migration["id"]) == migration


async def test_migration_create_keeps_the_callers_timestamps(admin: rawdb.Context) -> None:
    old = T0 - timedelta(days=3, microseconds=17)
    migration = await db.migration_create(admin, values(created_at=old, updated_at=T0, old_instance_type_id="4"))
    assert (migration["created_at"], migration["updated_at"], migration["old_instance_type_id"]) == (old, T0, 4)
    rows = await select(admin.db, "SELECT created_at, updated_at FROM migrations")
    assert rows == [{"created_at": old, "updated_at": T0}]


async def test_migration_create_with_no_values_makes_an_empty_live_row(admin: rawdb.Context) -> None:
    migration = await db.migration_create(admin, {})
    assert migration["status"] is None and migration["instance_uuid"] is None
    assert migration["deleted"] is False and isinstance(migration["created_at"], datetime)


@pytest.mark.parametrize(
    "bad",
    [
        {"instance_id": 3},
        {"status": "s" * 256},
        {"status": "bad\x00"},
        {"old_instance_type_id": "two"},
        {"new_instance_type_id": 2**31},
        {"dest_host": 10},
        {"updated_at": "2012-09-27 10:00:00"},
        {"id": 1},
        {"deleted": True},
    ],
    ids=["unknown-key", "too-long", "nul", "not-int", "int-overflow", "not-str", "time-as-string", "id", "deleted"],
)
async def test_migration_create_with_bad_values_is_invalid_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, bad: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.migration_create(admin, values(**bad))
    assert await count_rows(cinder_db, "migrations") == 0


async def test_migration_create_of_a_non_dict_is_invalid(admin: rawdb.Context, cinder_db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid):
        await db.migration_create(admin, "status=finished")  # type: ignore[arg-type]
    assert await count_rows(cinder_db, "migrations") == 0


# --- admin only ------------------------------------------------------------------------------

CALLS: dict[str, Callable[[rawdb.Context], Awaitable[Any]]] = {
    "migration_create": lambda c: db.migration_create(c, values()),
    "migration_get": lambda c: db.migration_get(c, 1),
    "migration_get_all_unconfirmed": lambda c: db.migration_get_all_unconfirmed(c, 60),
    "migration_get_by_instance_and_status": lambda c: db.migration_get_by_instance_and_status(c, UUID, "finished"),
    "migration_update": lambda c: db.migration_update(c, 1, {"status": "finished"}),
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_every_migration_function_is_admin_only(
    name: str, alice: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    with pytest.raises(errors.AdminRequired):
        await CALLS[name](alice)
    assert await count_rows(cinder_db, "migrations") == 0


# --- get -------------------------------------------------------------------------------------


async def test_migration_get_sees_deleted_migrations_whatever_the_context_says(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    migration = await db.migration_create(admin, values())
    await soft_delete(cinder_db, migration["id"])
    assert admin.read_deleted == "no"
    got = await db.migration_get(admin, migration["id"])
    assert got["deleted"] is True and got["deleted_at"] == T0
    assert (await db.migration_get(admin, str(migration["id"])))["id"] == migration["id"]


async def test_migration_get_unknown_id_is_migration_not_found(admin: rawdb.Context) -> None:
    with pytest.raises(errors.MigrationNotFound) as caught:
        await db.migration_get(admin, 8)
    assert caught.value.kwargs == {"migration_id": 8}
    assert "8" in str(caught.value) and isinstance(caught.value, errors.NotFound)
    with pytest.raises(errors.MigrationNotFound):
        await db.migration_get(admin, -(2**40))
    with pytest.raises(errors.Invalid):
        await db.migration_get(admin, None)  # type: ignore[arg-type]


async def test_migration_get_by_instance_and_status_is_the_first_one_deleted_or_not(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    first = await db.migration_create(admin, values(status="finished"))
    await db.migration_create(admin, values(status="finished"))
    await db.migration_create(admin, values(status="migrating", instance_uuid="other"))
    await soft_delete(cinder_db, first["id"])
    got = await db.migration_get_by_instance_and_status(admin, UUID, "finished")
    assert got["id"] == first["id"] and got["deleted"] is True


async def test_migration_get_by_instance_and_status_without_one_is_not_found_by_status(
    admin: rawdb.Context,
) -> None:
    await db.migration_create(admin, values(status="migrating"))
    with pytest.raises(errors.MigrationNotFoundByStatus) as caught:
        await db.migration_get_by_instance_and_status(admin, UUID, "finished")
    assert caught.value.kwargs == {"instance_id": UUID, "status": "finished"}
    assert UUID in str(caught.value) and "finished" in str(caught.value)
    assert isinstance(caught.value, errors.MigrationNotFound)
    with pytest.raises(errors.MigrationNotFoundByStatus):
        await db.migration_get_by_instance_and_status(admin, "u" * 300, "migrating")
    with pytest.raises(errors.Invalid):
        await db.migration_get_by_instance_and_status(admin, UUID, 3)  # type: ignore[arg-type]


# --- update ----------------------------------------------------------------------------------


async def test_migration_update_changes_the_given_columns_and_returns_the_row(admin: rawdb.Context) -> None:
    migration = await db.migration_create(admin, values(created_at=T0))
    with timeutils.frozen(NOW):
        changed = await db.migration_update(admin, migration["id"], {"status": "finished", "dest_host": None})
    assert changed == {**migration, "status": "finished", "dest_host": None, "updated_at": NOW}
    assert await db.migration_get(admin, migration["id"]) == changed


async def test_migration_update_keeps_a_given_updated_at(admin: rawdb.Context) -> None:
    migration = await db.migration_create(admin, values())
    changed = await db.migration_update(admin, migration["id"], {"status": "finished", "updated_at": T0})
    assert (changed["status"], changed["updated_at"]) == ("finished", T0)


async def test_migration_update_that_changes_nothing_writes_nothing(admin: rawdb.Context) -> None:
    migration = await db.migration_create(admin, values())
    same = await db.migration_update(admin, migration["id"], {"status": "migrating", "id": migration["id"]})
    assert same == migration and same["updated_at"] is None


async def test_migration_update_changes_a_deleted_migration_too(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    migration = await db.migration_create(admin, values())
    await soft_delete(cinder_db, migration["id"])
    changed = await db.migration_update(admin, migration["id"], {"status": "reverted"})
    assert (changed["status"], changed["deleted"]) == ("reverted", True)


async def test_migration_update_of_an_unknown_migration_is_migration_not_found(admin: rawdb.Context) -> None:
    with pytest.raises(errors.MigrationNotFound) as caught:
        await db.migration_update(admin, 77, {"status": "finished"})
    assert caught.value.kwargs == {"migration_id": 77}


@pytest.mark.parametrize(
    "bad",
    [{"colour": "red"}, {"status": "s" * 256}, {"old_instance_type_id": 1.5}, {"deleted": True}, {"id": 999}],
    ids=["unknown-key", "too-long", "not-int", "deleted", "other-id"],
)
async def test_migration_update_with_bad_values_is_invalid_and_writes_nothing(
    admin: rawdb.Context, bad: dict[str, Any]
) -> None:
    migration = await db.migration_create(admin, values())
    with pytest.raises(errors.Invalid):
        await db.migration_update(admin, migration["id"], {"status": "finished", **bad})
    assert await db.migration_get(admin, migration["id"]) == migration


# --- unconfirmed -----------------------------------------------------------------------------


async def test_migration_get_all_unconfirmed_lists_finished_ones_not_updated_within_the_window(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    window = 3600
    edge = NOW - timedelta(seconds=window)
    at_edge = await db.migration_create(admin, values(status="finished", updated_at=edge))
    too_recent = await db.migration_create(
        admin, values(status="finished", updated_at=edge + timedelta(microseconds=1))
    )
    old = await db.migration_create(admin, values(status="finished", updated_at=T0))
    await db.migration_create(admin, values(status="migrating", updated_at=T0))  # not finished
    await db.migration_create(admin, values(status="finished"))  # never updated
    deleted = await db.migration_create(admin, values(status="finished", updated_at=T0))
    await soft_delete(cinder_db, deleted["id"])
    with timeutils.frozen(NOW) as clock:
        got = await db.migration_get_all_unconfirmed(admin, window)
        assert [m["id"] for m in got] == [at_edge["id"], old["id"], deleted["id"]]
        assert all(set(m) == MIGRATION_KEYS for m in got)
        clock.advance(timedelta(microseconds=1))
        got = await db.migration_get_all_unconfirmed(admin, str(window))
        assert [m["id"] for m in got] == [at_edge["id"], too_recent["id"], old["id"], deleted["id"]]


async def test_migration_get_all_unconfirmed_follows_the_frozen_clock(admin: rawdb.Context) -> None:
    migration = await db.migration_create(admin, values(status="finished", updated_at=NOW))
    with timeutils.frozen(NOW + timedelta(seconds=59)):
        assert await db.migration_get_all_unconfirmed(admin, 60) == []
    with timeutils.frozen(NOW + timedelta(seconds=60)):
        assert [m["id"] for m in await db.migration_get_all_unconfirmed(admin, 60)] == [migration["id"]]
    with timeutils.frozen(NOW):
        # a zero window: updated at or before now; a negative one reaches into the future
        assert [m["id"] for m in await db.migration_get_all_unconfirmed(admin, 0)] == [migration["id"]]
    with timeutils.frozen(NOW - timedelta(seconds=10)):
        assert [m["id"] for m in await db.migration_get_all_unconfirmed(admin, -10)] == [migration["id"]]


async def test_migration_get_all_unconfirmed_with_a_window_beyond_the_calendar_is_empty_or_everything(
    admin: rawdb.Context,
) -> None:
    migration = await db.migration_create(admin, values(status="finished", updated_at=T0))
    with timeutils.frozen(NOW):
        assert await db.migration_get_all_unconfirmed(admin, 10**15) == []
        assert [m["id"] for m in await db.migration_get_all_unconfirmed(admin, -(10**15))] == [migration["id"]]


@pytest.mark.parametrize("window", [None, "an hour", 1.5, timedelta(hours=1), 2**70])
async def test_migration_get_all_unconfirmed_with_a_non_integer_window_is_invalid(
    admin: rawdb.Context, window: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.migration_get_all_unconfirmed(admin, window)
