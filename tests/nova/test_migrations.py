"""Migrations (Newton, spec A.3, F.1 30) on every backend: create/update with the caller's timestamps, the
getters and their errors, the unconfirmed and in-progress listings, and the filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from novatools import make_instance
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors, timeutils
from rawdb.nova import migrations as db

T0 = datetime(2016, 1, 1, 10, 0, 0)
MIGRATION_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "id",
    "source_compute",
    "dest_compute",
    "dest_host",
    "status",
    "instance_uuid",
    "old_instance_type_id",
    "new_instance_type_id",
    "source_node",
    "dest_node",
    "deleted",
    "migration_type",
    "hidden",
    "memory_total",
    "memory_processed",
    "memory_remaining",
    "disk_total",
    "disk_processed",
    "disk_remaining",
}


def values(instance_uuid: str, **extra: Any) -> dict[str, Any]:
    return {
        "source_compute": "host1",
        "dest_compute": "host2",
        "source_node": "a",
        "dest_node": "b",
        "dest_host": "10.0.0.2",
        "status": "migrating",
        "instance_uuid": instance_uuid,
        "old_instance_type_id": 1,
        "new_instance_type_id": 2,
        "migration_type": "resize",
        **extra,
    }


async def soft_delete(database: rawdb.Database, migration_id: int) -> None:
    await execute(database, "UPDATE migrations SET deleted = id, deleted_at = :t WHERE id = :i", t=T0, i=migration_id)


# --- create and update ---------------------------------------------------------------------


async def test_migration_create_returns_every_column(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    with timeutils.frozen(T0):
        migration = await db.migration_create(admin, values(instance, memory_total=2**40))
    assert set(migration) == MIGRATION_KEYS
    assert {k: migration[k] for k in MIGRATION_KEYS - {"id"}} == {
        "created_at": T0,
        "updated_at": None,
        "deleted_at": None,
        "source_compute": "host1",
        "dest_compute": "host2",
        "dest_host": "10.0.0.2",
        "status": "migrating",
        "instance_uuid": instance,
        "old_instance_type_id": 1,
        "new_instance_type_id": 2,
        "source_node": "a",
        "dest_node": "b",
        "deleted": 0,
        "migration_type": "resize",
        "hidden": False,
        "memory_total": 2**40,
        "memory_processed": None,
        "memory_remaining": None,
        "disk_total": None,
        "disk_processed": None,
        "disk_remaining": None,
    }
    assert await db.migration_get(admin, migration["id"]) == migration


async def test_migration_create_stores_the_callers_timestamps(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    old = datetime(2012, 3, 4, 5, 6, 7, 890)
    migration = await db.migration_create(
        admin, values(instance, created_at=old, updated_at="2012-03-04T05:06:07.000890", hidden="true")
    )
    assert (migration["created_at"], migration["updated_at"], migration["hidden"]) == (old, old, True)


@pytest.mark.parametrize(
    "bad",
    [
        {"no_such_column": "x"},
        {"migration_type": "teleport"},
        {"status": "s" * 256},
        {"old_instance_type_id": "two"},
        {"memory_total": 2**63},
        {"hidden": "sometimes"},
        {"updated_at": "last week"},
        {"id": 5},
        {"deleted": 1},
    ],
)
async def test_migration_create_refuses_bad_values_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, bad: dict[str, Any]
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(errors.Invalid):
        await db.migration_create(admin, values(instance, **bad))
    assert await count_rows(nova_db, "migrations") == 0


async def test_migration_create_ignores_unknown_keys_given_as_none_and_refuses_other_input(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    migration = await db.migration_create(admin, values(instance, no_such_column=None, migration_type=None))
    assert migration["migration_type"] is None
    with pytest.raises(errors.Invalid):
        await db.migration_create(admin, "status=done")  # type: ignore[arg-type]
    with pytest.raises(errors.DBReferenceError):
        await db.migration_create(admin, values("00000000-0000-0000-0000-000000000000"))
    assert await count_rows(nova_db, "migrations") == 1


async def test_migration_update_changes_the_given_columns_and_bumps_updated_at(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    with timeutils.frozen(T0):
        migration = await db.migration_create(admin, values(instance))
    later = T0 + timedelta(minutes=3)
    with timeutils.frozen(later):
        changed = await db.migration_update(admin, migration["id"], {"status": "finished", "disk_processed": "10"})
        unchanged = await db.migration_update(admin, migration["id"], {"status": "finished"})
    assert changed == {**migration, "status": "finished", "disk_processed": 10, "updated_at": later}
    assert unchanged == changed
    with timeutils.frozen(later + timedelta(minutes=1)):
        same = await db.migration_update(admin, migration["id"], {"id": migration["id"], "status": "finished"})
    assert same["updated_at"] == later  # nothing changed: no UPDATE, as nova's ORM


async def test_migration_update_ignores_unknown_keys_given_as_none(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    with timeutils.frozen(T0):
        migration = await db.migration_create(admin, values(instance))
    later = T0 + timedelta(minutes=3)
    with timeutils.frozen(later):
        # keys the table lacks, or the caller may not set, given as None: as if absent
        nothing = await db.migration_update(admin, migration["id"], {"no_such_column": None, "deleted": None})
        changed = await db.migration_update(
            admin, migration["id"], {"status": "finished", "no_such_column": None, "instance": None}
        )
    assert nothing == migration  # nothing to change: no UPDATE, updated_at kept
    assert changed == {**migration, "status": "finished", "updated_at": later}
    assert await db.migration_get(admin, migration["id"]) == changed


async def test_migration_update_stores_a_given_updated_at_even_on_a_deleted_migration(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    migration = await db.migration_create(admin, values(instance))
    await soft_delete(nova_db, migration["id"])
    old = datetime(2010, 1, 1)
    changed = await db.migration_update(admin, migration["id"], {"status": "finished", "updated_at": old})
    assert (changed["status"], changed["updated_at"], changed["deleted"]) == ("finished", old, migration["id"])


async def test_migration_update_errors(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    migration = await db.migration_create(admin, values(instance))
    with pytest.raises(errors.MigrationNotFound) as raised:
        await db.migration_update(admin, 987654, {"status": "done"})
    assert "987654" in str(raised.value)
    with pytest.raises(errors.MigrationNotFound):
        await db.migration_update(admin, 2**40, {"status": "done"})
    for bad in ({"id": migration["id"] + 1}, {"migration_type": "x"}, {"dest_node": 5}, {"junk": 1}):
        with pytest.raises(errors.Invalid):
            await db.migration_update(admin, migration["id"], bad)
    with pytest.raises(errors.Invalid):
        await db.migration_update(admin, "first", {"status": "done"})  # type: ignore[arg-type]
    assert await db.migration_get(admin, migration["id"]) == migration


# --- getters -------------------------------------------------------------------------------


async def test_migration_get_sees_deleted_migrations_and_raises_not_found(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    migration = await db.migration_create(admin, values(instance))
    await soft_delete(nova_db, migration["id"])
    found = await db.migration_get(admin, migration["id"])
    assert (found["id"], found["deleted"], found["deleted_at"]) == (migration["id"], migration["id"], T0)
    with pytest.raises(errors.MigrationNotFound) as raised:
        await db.migration_get(admin, migration["id"] + 100)
    assert raised.value.kwargs["migration_id"] == migration["id"] + 100
    with pytest.raises(errors.Invalid):
        await db.migration_get(admin, None)  # type: ignore[arg-type]


async def test_migration_get_by_id_and_instance(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance, other = await make_instance(nova_db), await make_instance(nova_db)
    migration = await db.migration_create(admin, values(instance))
    assert await db.migration_get_by_id_and_instance(admin, migration["id"], instance) == migration
    with pytest.raises(errors.MigrationNotFoundForInstance) as raised:
        await db.migration_get_by_id_and_instance(admin, migration["id"], other)
    assert isinstance(raised.value, errors.MigrationNotFound)
    assert raised.value.kwargs == {"migration_id": migration["id"], "instance_id": other}
    assert other in str(raised.value)
    await soft_delete(nova_db, migration["id"])
    with pytest.raises(errors.MigrationNotFoundForInstance):
        await db.migration_get_by_id_and_instance(admin, migration["id"], instance)
    found = await db.migration_get_by_id_and_instance(admin.elevated(read_deleted="yes"), migration["id"], instance)
    assert found["deleted"] == migration["id"]


async def test_migration_get_by_instance_and_status(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    first = await db.migration_create(admin, values(instance, status="finished"))
    await db.migration_create(admin, values(instance, status="finished"))
    await db.migration_create(admin, values(instance, status="migrating"))
    assert (await db.migration_get_by_instance_and_status(admin, instance, "finished"))["id"] == first["id"]
    await soft_delete(nova_db, first["id"])
    assert (await db.migration_get_by_instance_and_status(admin, instance, "finished"))["id"] == first["id"]
    with pytest.raises(errors.MigrationNotFoundByStatus) as raised:
        await db.migration_get_by_instance_and_status(admin, instance, "confirmed")
    assert raised.value.kwargs == {"instance_id": instance, "status": "confirmed"}
    assert isinstance(raised.value, errors.MigrationNotFound)
    with pytest.raises(errors.Invalid):
        await db.migration_get_by_instance_and_status(admin, instance, 3)  # type: ignore[arg-type]


# --- listings ------------------------------------------------------------------------------


async def test_migration_get_unconfirmed_by_dest_compute(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    old = T0 - timedelta(minutes=10)
    due = await db.migration_create(admin, values(instance, status="finished", updated_at=old))
    edge = await db.migration_create(admin, values(instance, status="finished", updated_at=T0 - timedelta(seconds=60)))
    deleted = await db.migration_create(admin, values(instance, status="finished", updated_at=old))
    await soft_delete(nova_db, deleted["id"])
    await db.migration_create(admin, values(instance, status="finished", updated_at=T0 - timedelta(seconds=59)))
    await db.migration_create(admin, values(instance, status="confirmed", updated_at=old))
    await db.migration_create(admin, values(instance, status="finished", updated_at=old, dest_compute="host3"))
    await db.migration_create(admin, values(instance, status="finished"))  # never updated
    with timeutils.frozen(T0):
        found = await db.migration_get_unconfirmed_by_dest_compute(admin, 60, "host2")
        assert await db.migration_get_unconfirmed_by_dest_compute(admin, 10**15, "host2") == []
        everything = await db.migration_get_unconfirmed_by_dest_compute(admin, -(10**15), "host2")
    assert [m["id"] for m in found] == [due["id"], edge["id"], deleted["id"]]
    assert len(everything) == 4
    with pytest.raises(errors.Invalid):
        await db.migration_get_unconfirmed_by_dest_compute(admin, "soon", "host2")  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.migration_get_unconfirmed_by_dest_compute(admin, 60, None)  # type: ignore[arg-type]


async def test_migration_get_in_progress_by_host_and_node_joins_the_live_instance_and_its_system_metadata(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db, hostname="vm1")
    gone = await make_instance(nova_db, deleted=True)
    for key, value, deleted in (("image_name", "cirros", False), ("old", "x", True), ("flavor", "m1", False)):
        await execute(
            nova_db,
            "INSERT INTO instance_system_metadata (instance_uuid, "
            + ("`key`" if nova_db.dialect == "mysql" else '"key"')
            + ", value, created_at, deleted) VALUES (:u, :k, :v, :t, 0)",
            u=instance,
            k=key,
            v=value,
            t=T0,
        )
        if deleted:
            await execute(nova_db, "UPDATE instance_system_metadata SET deleted = id WHERE value = 'x'")
    outgoing = await db.migration_create(admin, values(instance, status="migrating"))
    incoming = await db.migration_create(
        admin,
        values(
            gone, source_compute="host9", source_node="z", dest_compute="host1", dest_node="a", status="pre-migrating"
        ),
    )
    other_node = await db.migration_create(admin, values(instance, source_node="other"))
    ended = [await db.migration_create(admin, values(instance, status=s)) for s in ("confirmed", "reverted", "error")]
    ended += [await db.migration_create(admin, values(instance, status=s)) for s in ("failed", "completed")]
    ended += [await db.migration_create(admin, values(instance, status=s)) for s in ("cancelled", "accepted")]
    no_status = await db.migration_create(admin, values(instance, status=None))
    deleted = await db.migration_create(admin, values(instance))
    await soft_delete(nova_db, deleted["id"])

    found = await db.migration_get_in_progress_by_host_and_node(admin, "host1", "a")
    assert [m["id"] for m in found] == [outgoing["id"], incoming["id"]]
    assert set(found[0]) == MIGRATION_KEYS | {"instance"}
    joined = found[0]["instance"]
    assert (joined["uuid"], joined["hostname"], joined["deleted"]) == (instance, "vm1", 0)
    assert joined["system_metadata"] == [{"key": "image_name", "value": "cirros"}, {"key": "flavor", "value": "m1"}]
    assert (joined["metadata"], joined["info_cache"], joined["security_groups"]) == ([], None, [])
    assert joined["name"] == f"instance-{joined['id']:08x}"
    assert found[1]["instance"] is None  # a deleted instance is not joined
    on_dest = await db.migration_get_in_progress_by_host_and_node(admin, "host2", "b")
    assert [m["id"] for m in on_dest] == [outgoing["id"], other_node["id"]]
    not_in_progress = {m["id"] for m in ended} | {no_status["id"]}
    assert not_in_progress.isdisjoint({m["id"] for m in found} | {m["id"] for m in on_dest})
    assert await db.migration_get_in_progress_by_host_and_node(admin, "host1", "nowhere") == []
    everything = await db.migration_get_in_progress_by_host_and_node(admin.elevated(read_deleted="yes"), "host1", "a")
    assert [m["id"] for m in everything] == [outgoing["id"], incoming["id"], deleted["id"]]
    with pytest.raises(errors.Invalid):
        await db.migration_get_in_progress_by_host_and_node(admin, "host1", None)  # type: ignore[arg-type]


async def test_migration_get_in_progress_by_instance(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance, other = await make_instance(nova_db), await make_instance(nova_db)
    made = {}
    for status, kind in (
        ("queued", "live-migration"),
        ("preparing", "live-migration"),
        ("running", "migration"),
        ("post-migrating", "live-migration"),
        ("migrating", "live-migration"),
        ("completed", "live-migration"),
    ):
        made[status] = await db.migration_create(admin, values(instance, status=status, migration_type=kind))
    await db.migration_create(admin, values(other, status="running"))
    deleted = await db.migration_create(admin, values(instance, status="running"))
    await soft_delete(nova_db, deleted["id"])

    found = await db.migration_get_in_progress_by_instance(admin, instance)
    assert [m["id"] for m in found] == [made[s]["id"] for s in ("queued", "preparing", "running", "post-migrating")]
    live = await db.migration_get_in_progress_by_instance(admin, instance, "live-migration")
    assert [m["id"] for m in live] == [made[s]["id"] for s in ("queued", "preparing", "post-migrating")]
    assert await db.migration_get_in_progress_by_instance(admin, instance, "evacuation") == []
    assert await db.migration_get_in_progress_by_instance(admin, instance, "teleport") == []
    assert len(await db.migration_get_in_progress_by_instance(admin, instance, "")) == 4
    assert len(await db.migration_get_in_progress_by_instance(admin.elevated(read_deleted="yes"), instance)) == 5
    with pytest.raises(errors.Invalid):
        await db.migration_get_in_progress_by_instance(admin, instance, 3)  # type: ignore[arg-type]


async def test_migration_get_all_by_filters(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    one, two = await make_instance(nova_db), await make_instance(nova_db)
    a = await db.migration_create(admin, values(one, status="migrating", migration_type="resize"))
    b = await db.migration_create(
        admin,
        values(two, status="finished", source_compute="host2", dest_compute="host3", migration_type="live-migration"),
    )
    c = await db.migration_create(
        admin, values(one, status="error", source_compute="host3", dest_compute="host4", hidden=True)
    )
    d = await db.migration_create(admin, values(two, status="done", source_compute=None, dest_compute="host4"))
    deleted = await db.migration_create(admin, values(one, status="migrating"))
    await soft_delete(nova_db, deleted["id"])

    async def ids(filters: Any, context: rawdb.Context = admin) -> list[int]:
        return [m["id"] for m in await db.migration_get_all_by_filters(context, filters)]

    assert await ids([]) == [a["id"], b["id"], c["id"], d["id"]]
    assert await ids({}) == [a["id"], b["id"], c["id"], d["id"]]
    assert await ids({"status": "migrating"}) == [a["id"]]
    assert await ids({"status": ["finished", "error", "nope", "x" * 300]}) == [b["id"], c["id"]]
    assert await ids({"status": []}) == []
    assert await ids({"host": "host2"}) == [a["id"], b["id"]]
    assert await ids({"host": "host3", "source_compute": "host2"}) == [b["id"], c["id"]]  # host wins
    assert await ids({"source_compute": "host2"}) == [b["id"]]
    assert await ids({"source_compute": None}) == [d["id"]]
    assert await ids({"migration_type": "live-migration"}) == [b["id"]]
    assert await ids({"migration_type": "teleport"}) == []
    assert await ids({"hidden": True}) == [c["id"]]
    assert await ids({"hidden": "false", "status": ["migrating", "done"]}) == [a["id"], d["id"]]
    assert await ids({"instance_uuid": two}) == [b["id"], d["id"]]
    assert await ids({"instance_uuid": two, "host": "host4"}) == [d["id"]]
    assert await ids({"colour": "blue"}) == [a["id"], b["id"], c["id"], d["id"]]  # unknown filters are ignored
    assert await ids({"status": "migrating"}, admin.elevated(read_deleted="only")) == [deleted["id"]]
    for bad in ([("status", "x")], "status", {"status": 5}, {"status": [1]}, {"host": 2}, {"hidden": "maybe"}):
        with pytest.raises(errors.Invalid):
            await db.migration_get_all_by_filters(admin, bad)


async def test_migration_rows_look_the_same_on_every_backend(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    made = await db.migration_create(admin, values(instance, hidden=False, memory_remaining=0))
    rows = await select(nova_db, "SELECT hidden, memory_remaining FROM migrations WHERE id = :i", i=made["id"])
    assert [(bool(r["hidden"]), r["memory_remaining"]) for r in rows] == [(False, 0)]
    listed = await db.migration_get_all_by_filters(admin, {"hidden": False})
    assert listed == [made]
    assert type(listed[0]["hidden"]) is bool and type(listed[0]["created_at"]) is datetime
