"""nova's instance DB API: create, get, update (compare-and-swap), destroy, on every backend (D.2-D.4, B.5, B.6)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select, stmt

import rawdb
from rawdb import errors
from rawdb.nova import _instance_list as instance_list
from rawdb.nova import api as db
from rawdb.nova import settings

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

P1 = "p1"


async def create(ctx: rawdb.Context, **values: Any) -> dict[str, Any]:
    values.setdefault("project_id", ctx.project_id or P1)
    values.setdefault("user_id", ctx.user_id or "alice")
    return await db.instance_create(ctx, values)


# --- create ------------------------------------------------------------------------------------


async def test_instance_create_returns_the_instance_with_every_key_and_its_children(alice: rawdb.Context) -> None:
    inst = await create(
        alice,
        hostname="web1",
        metadata={"a": "1", "b": "2"},
        system_metadata={"image_os": "linux"},
        info_cache={"network_info": '[{"id": "vif"}]'},
        security_groups=["default"],
        vm_state="building",
    )
    assert inst["hostname"] == "web1" and inst["vm_state"] == "building" and inst["deleted"] == 0
    assert inst["metadata"] == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    assert inst["system_metadata"] == [{"key": "image_os", "value": "linux"}]
    assert inst["info_cache"]["network_info"] == '[{"id": "vif"}]'
    assert inst["info_cache"]["instance_uuid"] == inst["uuid"]
    assert [g["name"] for g in inst["security_groups"]] == ["default"]
    assert inst["name"] == f"instance-{inst['id']:08x}"
    assert inst["tags"] == [] and inst["extra"] is None and inst["pci_devices"] == []
    assert isinstance(inst["created_at"], datetime) and inst["updated_at"] is None
    assert inst["shutdown_terminate"] is False and inst["disable_terminate"] is False and inst["cleaned"] == 0
    assert len(inst["uuid"]) == 36
    assert await db.instance_get_by_uuid(alice, inst["uuid"]) == inst


async def test_instance_create_makes_the_ec2_mapping_extra_row_and_the_default_group(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    inst = await create(alice, extra={"flavor": '{"name": "m1"}'})
    mapping = await select(nova_db, "SELECT id FROM instance_id_mappings WHERE uuid = :u", u=inst["uuid"])
    assert len(mapping) == 1
    extra = await db.instance_get_by_uuid(alice, inst["uuid"], columns_to_join=["extra"])
    assert extra["extra"]["flavor"] == '{"name": "m1"}' and extra["extra"]["numa_topology"] is None
    groups = await select(nova_db, "SELECT name FROM security_groups WHERE project_id = :p AND deleted = 0", p=P1)
    assert groups == [{"name": "default"}]


async def test_instance_create_keeps_the_given_uuid_and_times(alice: rawdb.Context) -> None:
    when = datetime(2016, 1, 2, 3, 4, 5, 678901)
    inst = await create(
        alice,
        uuid="8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3",
        created_at=when,
        launched_at="2016-01-02T03:04:06.000001",
        updated_at=when.replace(tzinfo=UTC),
    )
    assert inst["uuid"] == "8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3"
    assert inst["created_at"] == when and inst["updated_at"] == when
    assert inst["launched_at"] == datetime(2016, 1, 2, 3, 4, 6, 1)


async def test_instance_create_in_named_groups_of_the_project(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    from sqltools import execute

    await execute(
        nova_db,
        "INSERT INTO security_groups (created_at, name, project_id, deleted) "
        "VALUES (CURRENT_TIMESTAMP, 'web', 'p1', 0)",
    )
    inst = await create(alice, security_groups=["web", "default"])
    assert sorted(g["name"] for g in inst["security_groups"]) == ["default", "web"]


async def test_instance_create_with_an_unknown_group_writes_nothing(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.SecurityGroupNotFoundForProject) as caught:
        await create(alice, security_groups=["default", "nope"])
    assert caught.value.kwargs["security_group_id"] == "nope"
    assert await count_rows(nova_db, "instances") == 0
    assert await count_rows(nova_db, "instance_info_caches") == 0


@pytest.mark.parametrize(
    "values",
    [
        {"hostname": "x" * 256},
        {"memory_mb": "lots"},
        {"vcpus": 2**40},
        {"display_name": "a\x00b"},
        {"metadata": {"k": "v" * 256}},
        {"metadata": ["not", "a", "dict"]},
        {"system_metadata": {"k": object()}},
        {"no_such_column": 1},
        {"launched_at": "not a time"},
        {"security_groups": "default"},
        {"deleted": 1},
    ],
)
async def test_instance_create_refuses_bad_values_and_writes_nothing(
    alice: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await create(alice, **values)
    assert await count_rows(nova_db, "instances") == 0


async def test_instance_create_accepts_address_objects_and_numbers_as_strings(alice: rawdb.Context) -> None:
    import ipaddress

    inst = await create(
        alice,
        access_ip_v4=ipaddress.ip_address("10.0.0.5"),
        memory_mb="2048",
        access_ip_v6=ipaddress.ip_address("2001:db8::1"),
    )
    assert inst["access_ip_v4"] == "10.0.0.5" and inst["access_ip_v6"] == "2001:db8::1"
    assert inst["memory_mb"] == 2048


@pytest.mark.parametrize("scope", ["project", "global"])
async def test_hostnames_are_unique_in_the_configured_scope_whatever_the_case(
    alice: rawdb.Context, carol: rawdb.Context, scope: str
) -> None:
    with settings.overridden(osapi_compute_unique_server_name_scope=scope):
        first = await create(alice, hostname="Web")
        with pytest.raises(errors.InstanceExists) as caught:
            await create(alice, hostname="wEB")
        assert caught.value.kwargs == {"name": "web"}  # lowercased, as nova reports it
        if scope == "project":
            await create(carol, hostname="web")
        else:
            with pytest.raises(errors.InstanceExists):
                await create(carol, hostname="web")
        # changing only the case of one's own name is allowed
        assert (await db.instance_update(alice, first["uuid"], {"hostname": "WEB"}))["hostname"] == "WEB"
        other = await create(alice, hostname="other")
        with pytest.raises(errors.InstanceExists) as renamed:
            await db.instance_update(alice, other["uuid"], {"hostname": "WeB"})
        assert renamed.value.kwargs == {"name": "web"}
        assert (await db.instance_get_by_uuid(alice, other["uuid"]))["hostname"] == "other"


async def test_hostnames_are_not_checked_by_default(alice: rawdb.Context) -> None:
    await create(alice, hostname="same")
    await create(alice, hostname="same")


async def test_instance_name_follows_the_template(alice: rawdb.Context) -> None:
    inst = await create(alice)
    with settings.overridden(instance_name_template="vm-%(uuid)s"):
        got = await db.instance_get_by_uuid(alice, inst["uuid"])
        assert got["name"] == f"vm-{inst['uuid']}"
    with settings.overridden(instance_name_template="vm-%(nope)s"):
        assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["name"] == inst["uuid"]
    with pytest.raises(errors.Invalid):
        settings.configure(no_such_option="x")


# --- get -------------------------------------------------------------------------------------------


async def test_get_by_uuid_honours_project_and_read_deleted(
    alice: rawdb.Context, carol: rawdb.Context, admin: rawdb.Context
) -> None:
    inst = await create(alice)
    with pytest.raises(errors.InstanceNotFound) as theirs:
        await db.instance_get_by_uuid(carol, inst["uuid"])
    assert theirs.value.kwargs == {"instance_id": inst["uuid"]} and inst["uuid"] in str(theirs.value)
    assert (await db.instance_get_by_uuid(admin, inst["uuid"]))["uuid"] == inst["uuid"]
    await db.instance_destroy(alice, inst["uuid"])
    with pytest.raises(errors.InstanceNotFound) as gone:
        await db.instance_get_by_uuid(alice, inst["uuid"])
    assert gone.value.kwargs == {"instance_id": inst["uuid"]}
    deleted = await db.instance_get_by_uuid(alice.elevated(read_deleted="yes"), inst["uuid"])
    assert deleted["deleted"] == deleted["id"]
    assert (await db.instance_get_by_uuid(admin.elevated(read_deleted="only"), inst["uuid"]))["uuid"] == inst["uuid"]


@pytest.mark.parametrize("bad", ["", "x" * 37, "a\x00b", 17, None])
async def test_get_by_uuid_of_what_cannot_be_a_uuid_is_not_found(alice: rawdb.Context, bad: Any) -> None:
    with pytest.raises(errors.InstanceNotFound) as caught:
        await db.instance_get_by_uuid(alice, bad)
    assert caught.value.kwargs == {"instance_id": bad}


async def test_get_by_integer_id(alice: rawdb.Context) -> None:
    inst = await create(alice)
    assert (await db.instance_get(alice, inst["id"]))["uuid"] == inst["uuid"]
    with pytest.raises(errors.InstanceNotFound) as missing:
        await db.instance_get(alice, inst["id"] + 1000)
    assert missing.value.kwargs == {"instance_id": inst["id"] + 1000}
    for bad in ("abc", 2**70, 1.5):
        with pytest.raises(errors.InvalidID) as caught:
            await db.instance_get(alice, bad)
        assert caught.value.kwargs == {"id": bad}


async def test_columns_to_join_empty_leaves_the_children_empty(alice: rawdb.Context) -> None:
    inst = await create(alice, metadata={"a": "1"}, system_metadata={"b": "2"})
    got = await db.instance_get_by_uuid(alice, inst["uuid"], columns_to_join=[])
    assert got["metadata"] == [] and got["system_metadata"] == []
    assert got["info_cache"] is not None and len(got["security_groups"]) == 0  # no groups asked at create
    assert sorted(got) == sorted(inst)


async def test_instance_get_all_is_the_callers_project_for_users(
    alice: rawdb.Context, carol: rawdb.Context, admin: rawdb.Context
) -> None:
    mine = await create(alice)
    theirs = await create(carol)
    assert [i["uuid"] for i in await db.instance_get_all(alice)] == [mine["uuid"]]
    assert [i["uuid"] for i in await db.instance_get_all(admin)] == [mine["uuid"], theirs["uuid"]]


async def test_instance_data_get_for_project(alice: rawdb.Context, admin: rawdb.Context) -> None:
    assert await db.instance_data_get_for_project(admin, P1) == (0, 0, 0)
    await create(alice, vcpus=2, memory_mb=512)
    gone = await create(alice, vcpus=4, memory_mb=1024)
    await db.instance_destroy(alice, gone["uuid"])
    assert await db.instance_data_get_for_project(admin, P1) == (1, 2, 512)
    assert await db.instance_data_get_for_project(admin.elevated(read_deleted="yes"), P1) == (2, 6, 1536)


# --- update: compare and swap ---------------------------------------------------------------------


async def test_update_sets_columns_and_bumps_updated_at(alice: rawdb.Context) -> None:
    inst = await create(alice)
    updated = await db.instance_update(alice, inst["uuid"], {"vm_state": "active", "progress": 50})
    assert updated["vm_state"] == "active" and updated["progress"] == 50
    assert updated["updated_at"] is not None and updated["updated_at"] >= inst["created_at"]
    when = datetime(2020, 5, 5, 5, 5, 5, 5)
    kept = await db.instance_update(alice, inst["uuid"], {"updated_at": when})
    assert kept["updated_at"] == when


async def test_update_with_expected_task_state(alice: rawdb.Context) -> None:
    inst = await create(alice, task_state="scheduling")
    new = await db.instance_update(
        alice, inst["uuid"], {"task_state": "spawning", "expected_task_state": ["scheduling", None]}
    )
    assert new["task_state"] == "spawning"
    with pytest.raises(errors.UnexpectedTaskStateError) as caught:
        await db.instance_update(alice, inst["uuid"], {"task_state": "x", "expected_task_state": "scheduling"})
    assert caught.value.kwargs == {
        "instance_uuid": inst["uuid"],
        "expected": {"task_state": ["scheduling"]},
        "actual": {"task_state": "spawning"},
    }
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["task_state"] == "spawning"


async def test_update_expecting_none_matches_a_null_task_state(alice: rawdb.Context) -> None:
    inst = await create(alice)
    new = await db.instance_update(alice, inst["uuid"], {"task_state": "a", "expected_task_state": None})
    assert new["task_state"] == "a"


async def test_update_conflict_on_deleting_is_its_own_error(alice: rawdb.Context) -> None:
    inst = await create(alice, task_state="deleting")
    with pytest.raises(errors.UnexpectedDeletingTaskStateError) as caught:
        await db.instance_update_and_get_original(alice, inst["uuid"], {"expected_task_state": "scheduling"})
    assert caught.value.kwargs["expected"] == {"task_state": ["scheduling"]}
    assert caught.value.kwargs["actual"] == {"task_state": "deleting"}


async def test_update_conflict_on_another_field(alice: rawdb.Context) -> None:
    inst = await create(alice, vm_state="active", host="h1")
    with pytest.raises(errors.InstanceUpdateConflict) as caught:
        await db.instance_update(alice, inst["uuid"], {"host": "h2"}, expected={"vm_state": ["error"], "host": "h1"})
    assert type(caught.value) is errors.InstanceUpdateConflict
    assert caught.value.kwargs["expected"] == {"vm_state": ["error"]}
    assert caught.value.kwargs["actual"] == {"vm_state": "active"}
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["host"] == "h1"


async def test_update_with_expected_vm_state(alice: rawdb.Context) -> None:
    inst = await create(alice, vm_state="active", task_state=None)
    stopped = await db.instance_update(alice, inst["uuid"], {"vm_state": "stopped", "expected_vm_state": "active"})
    assert stopped["vm_state"] == "stopped"
    with pytest.raises(errors.InstanceUpdateConflict) as caught:
        await db.instance_update(alice, inst["uuid"], {"vm_state": "deleted", "expected_vm_state": ["active", "error"]})
    assert type(caught.value) is errors.InstanceUpdateConflict  # vm_state alone: not a task state error
    assert caught.value.kwargs == {
        "instance_uuid": inst["uuid"],
        "expected": {"vm_state": ["active", "error"]},
        "actual": {"vm_state": "stopped"},
    }
    # None in the list matches a NULL vm_state; both expectations must hold
    again = await db.instance_update(
        alice,
        inst["uuid"],
        {"vm_state": "active", "task_state": "powering-on", "expected_vm_state": [None, "stopped"]},
        expected={"task_state": [None]},
    )
    assert (again["vm_state"], again["task_state"]) == ("active", "powering-on")
    with pytest.raises(errors.UnexpectedTaskStateError) as both:
        await db.instance_update_and_get_original(
            alice, inst["uuid"], {"vm_state": "x", "expected_vm_state": "stopped", "expected_task_state": None}
        )
    assert both.value.kwargs["expected"] == {"vm_state": ["stopped"], "task_state": [None]}
    assert both.value.kwargs["actual"] == {"vm_state": "active", "task_state": "powering-on"}
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["vm_state"] == "active"


async def test_concurrent_expected_vm_state_updates_have_exactly_one_winner(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    inst = await create(alice, vm_state="stopped")

    async def start(n: int) -> str:
        ctx = rawdb.Context(nova_db, project_id=P1, user_id="alice")
        try:
            await db.instance_update(ctx, inst["uuid"], {"vm_state": f"v{n}", "expected_vm_state": "stopped"})
        except errors.InstanceUpdateConflict as exc:
            assert type(exc) is errors.InstanceUpdateConflict and exc.kwargs["actual"]["vm_state"].startswith("v")
            return "lost"
        return f"v{n}"

    results = await asyncio.gather(*(start(n) for n in range(6)))
    winners = [r for r in results if r != "lost"]
    assert len(winners) == 1
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["vm_state"] == winners[0]


# A compare-and-swap that matched nothing is explained by reading the instance; when the read shows
# every expected value (the cause has gone: another writer changed the field and changed it back),
# nova 14.0.0 raises UnknownInstanceUpdateConflict and _retry_instance_update (wrap_db_retry,
# max_retries=5) runs the update again: at most 6 attempts, then the error goes to the caller.
# These tests make that interleaving happen for real: a second Database (another nova process)
# writes the field between the UPDATE and the read that explains it, where a backend lets it:
# - instance_update on PostgreSQL and SQLite: the UPDATE runs alone (no transaction), the read after
#   it; on MariaDB the UPDATE that missed keeps the row locked until the read, so the other writer
#   waits and the read always shows the cause;
# - instance_update_and_get_original on PostgreSQL and MariaDB: the conflict is explained by the
#   instance read first (nova's ``original``), before the UPDATE; SQLite runs one writer at a time.
RACES = {"sqlite": ("update",), "postgresql": ("update", "original"), "mysql": ("original",)}
CAS = "nova.instances.instance_update"


class Interleaver:
    """Wraps the instance's reads by the update: runs ``before`` / ``after`` writes around each."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, uuid: str) -> None:
        self.uuid = uuid
        self.reads = 0
        self.before: Callable[[int], Awaitable[Any]] | None = None
        self.after: Callable[[int], Awaitable[Any]] | None = None
        self.real = instance_list.get_one
        monkeypatch.setattr(instance_list, "get_one", self.get_one)

    def stop(self) -> None:
        self.before = self.after = None

    async def get_one(self, context: rawdb.Context, column: str, value: Any, joins: Any) -> Any:
        if value != self.uuid or (self.before is None and self.after is None):
            return await self.real(context, column, value, joins)
        self.reads += 1
        if self.before is not None:
            await self.before(self.reads)
        row = await self.real(context, column, value, joins)
        if self.after is not None:
            await self.after(self.reads)
        return row


def set_task_state(other: rawdb.Database, uuid: str) -> Callable[[str], Coroutine[Any, Any, int]]:
    async def flip(state: str) -> int:
        return await execute(other, "UPDATE instances SET task_state = :s WHERE uuid = :u", s=state, u=uuid)

    return flip


def writes(flip: Callable[[str], Awaitable[int]], states: dict[int, str] | str) -> Callable[[int], Awaitable[None]]:
    """A before/after hook: the other writer sets task_state to ``states[read]`` (or ``states`` at every read)."""

    async def hook(read: int) -> None:
        state = states if isinstance(states, str) else states.get(read)
        if state is not None:
            await flip(state)

    return hook


async def cas_update(ctx: rawdb.Context, path: str, uuid: str) -> dict[str, Any]:
    values = {"vm_state": "active", "expected_task_state": "spawning"}
    if path == "update":
        return await db.instance_update(ctx, uuid, values)
    return (await db.instance_update_and_get_original(ctx, uuid, values))[1]


async def test_a_conflict_whose_cause_vanished_before_it_was_read_is_retried_and_the_update_wins(
    alice: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = await open_db(nova_url)
    for path in RACES[nova_db.dialect]:
        inst = await create(alice, task_state="spawning", vm_state="building")
        flip = set_task_state(other, inst["uuid"])
        interleaver = Interleaver(monkeypatch, inst["uuid"])
        if path == "update":  # the UPDATE misses; the cause goes before the read that explains it
            await flip("rebooting")
            interleaver.before = writes(flip, {1: "spawning"})
        else:  # the original is read; the cause comes before the UPDATE, and goes before the second read
            interleaver.after = writes(flip, {1: "rebooting"})
            interleaver.before = writes(flip, {2: "spawning"})
        counter = rawdb.StatementCounter(keep=True)
        with nova_db.hooked(counter):
            new = await cas_update(alice, path, inst["uuid"])
        interleaver.stop()
        assert (new["vm_state"], new["task_state"]) == ("active", "spawning"), path
        assert [e.rows for e in counter.events if e.name == CAS] == [0, 1], path  # missed, then matched
        assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["vm_state"] == "active"


async def test_a_conflict_whose_cause_keeps_vanishing_is_unknown_after_newtons_five_retries(
    alice: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = await open_db(nova_url)
    for path in RACES[nova_db.dialect]:
        inst = await create(alice, task_state="rebooting", vm_state="building")
        flip = set_task_state(other, inst["uuid"])
        interleaver = Interleaver(monkeypatch, inst["uuid"])
        interleaver.before = writes(flip, "spawning")  # two writers flipping the field back and forth:
        interleaver.after = writes(flip, "rebooting")  # every UPDATE misses, every read sees no cause
        counter = rawdb.StatementCounter(keep=True)
        with nova_db.hooked(counter), pytest.raises(errors.UnknownInstanceUpdateConflict) as caught:
            await cas_update(alice, path, inst["uuid"])
        interleaver.stop()
        assert caught.value.kwargs == {"instance_uuid": inst["uuid"], "expected": {}, "actual": {}}
        assert [e.rows for e in counter.events if e.name == CAS] == [0] * 6, path
        assert interleaver.reads == 6, path
        assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["vm_state"] == "building"  # nothing written


async def test_an_update_whose_original_was_read_before_another_writer_is_retried_with_a_fresh_read(
    alice: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """instance_update_and_get_original explains a miss by the instance it read first (nova's
    ``original``): a change made between that read and the UPDATE is no visible cause, so the
    update is retried, and the fresh read shows the cause.  SQLite runs one writer at a time:
    the other writer waits for the update's transaction, which wins."""
    inst = await create(alice, task_state="spawning", vm_state="building")
    flip = set_task_state(await open_db(nova_url), inst["uuid"])
    interleaver = Interleaver(monkeypatch, inst["uuid"])
    waiting: list[asyncio.Task[int]] = []

    async def after_the_first_read(read: int) -> None:
        if read != 1:
            return
        if nova_db.dialect == "sqlite":  # it cannot write until the update's transaction ends
            waiting.append(asyncio.create_task(flip("rebooting")))
            await asyncio.sleep(0.05)
            assert not waiting[0].done()
        else:
            await flip("rebooting")

    interleaver.after = after_the_first_read
    counter = rawdb.StatementCounter(keep=True)
    with nova_db.hooked(counter):
        try:
            old, new = await db.instance_update_and_get_original(
                alice, inst["uuid"], {"vm_state": "active", "expected_task_state": "spawning"}
            )
        except errors.UnexpectedTaskStateError as exc:
            interleaver.stop()
            assert nova_db.dialect != "sqlite"
            assert exc.kwargs == {
                "instance_uuid": inst["uuid"],
                "expected": {"task_state": ["spawning"]},
                "actual": {"task_state": "rebooting"},
            }
            assert [e.rows for e in counter.events if e.name == CAS] == [0, 0]  # the unknown one, then the seen one
            assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["vm_state"] == "building"
        else:
            interleaver.stop()
            assert nova_db.dialect == "sqlite"
            assert old["task_state"] == "spawning" and new["vm_state"] == "active"
            assert [e.rows for e in counter.events if e.name == CAS] == [1]
            assert await waiting[0] == 1  # the other writer went after it
            after = await db.instance_get_by_uuid(alice, inst["uuid"])
            assert (after["vm_state"], after["task_state"]) == ("active", "rebooting")


async def test_inside_a_callers_transaction_an_unknown_conflict_goes_to_the_caller_at_once(
    alice: rawdb.Context, nova_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a retry inside the caller's transaction would read the same snapshot: the caller decides
    inst = await create(alice, task_state="spawning", vm_state="building")
    await execute(nova_db, "UPDATE instances SET task_state = 'rebooting' WHERE uuid = :u", u=inst["uuid"])
    interleaver = Interleaver(monkeypatch, inst["uuid"])

    async def back(read: int) -> None:  # the caller's own transaction puts the field back
        assert tx.transaction is not None
        await tx.execute(stmt("UPDATE instances SET task_state = 'spawning' WHERE uuid = :u"), u=inst["uuid"])

    interleaver.before = back
    counter = rawdb.StatementCounter(keep=True)
    with nova_db.hooked(counter), pytest.raises(errors.UnknownInstanceUpdateConflict):
        async with alice.writer() as tx:
            await db.instance_update(tx, inst["uuid"], {"vm_state": "active", "expected_task_state": "spawning"})
    interleaver.stop()
    assert [e.rows for e in counter.events if e.name == CAS] == [0] and interleaver.reads == 1
    row = await db.instance_get_by_uuid(alice, inst["uuid"])
    assert (row["vm_state"], row["task_state"]) == ("building", "rebooting")  # rolled back


async def test_update_replaces_metadata_and_system_metadata(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    inst = await create(alice, metadata={"keep": "1", "drop": "2"}, system_metadata={"s1": "a", "s2": "b"})
    new = await db.instance_update(
        alice, inst["uuid"], {"metadata": {"keep": "changed", "add": "3"}, "system_metadata": {"s2": "b"}}
    )
    assert new["metadata"] == [{"key": "keep", "value": "changed"}, {"key": "add", "value": "3"}]
    assert new["system_metadata"] == [{"key": "s2", "value": "b"}]
    dropped = await select(nova_db, "SELECT deleted, id FROM instance_metadata WHERE \"key\" = 'drop'")
    assert dropped[0]["deleted"] == dropped[0]["id"]  # regular metadata: soft-deleted
    assert await select(nova_db, "SELECT id FROM instance_system_metadata WHERE \"key\" = 's1'") == []  # hard


async def test_update_and_get_original_returns_both(alice: rawdb.Context) -> None:
    inst = await create(alice, vm_state="building", metadata={"a": "1"})
    old, new = await db.instance_update_and_get_original(
        alice, inst["uuid"], {"vm_state": "active", "metadata": {"a": "2"}}
    )
    assert old["vm_state"] == "building" and old["metadata"] == [{"key": "a", "value": "1"}]
    assert new["vm_state"] == "active" and new["metadata"] == [{"key": "a", "value": "2"}]


async def test_update_errors(alice: rawdb.Context, carol: rawdb.Context) -> None:
    inst = await create(alice)
    with pytest.raises(errors.InvalidUUID) as invalid:
        await db.instance_update(alice, "not-a-uuid", {"vm_state": "x"})
    assert invalid.value.kwargs == {"uuid": "not-a-uuid"}
    with pytest.raises(errors.InstanceNotFound) as missing:
        await db.instance_update(alice, "8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3", {"vm_state": "x"})
    assert missing.value.kwargs == {"instance_id": "8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3"}
    for update in (db.instance_update, db.instance_update_and_get_original):
        with pytest.raises(errors.InstanceNotFound) as theirs:
            await update(carol, inst["uuid"], {"vm_state": "x"})
        assert theirs.value.kwargs == {"instance_id": inst["uuid"]}
    for bad in (
        {"vm_state": "x" * 256},
        {"memory_mb": "many"},
        {"nope": 1},
        {"launched_at": "yesterday"},
        {"uuid": "8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3"},
        {"metadata": {"k": ["a list"]}},
    ):
        with pytest.raises(errors.Invalid):
            await db.instance_update(alice, inst["uuid"], {"vm_state": "changed", **bad})
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["vm_state"] == inst["vm_state"]


async def test_concurrent_compare_and_swap_has_exactly_one_winner(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    inst = await create(alice, task_state="scheduling")

    async def claim(n: int) -> str:
        ctx = rawdb.Context(nova_db, project_id=P1, user_id="alice")
        try:
            await db.instance_update(ctx, inst["uuid"], {"task_state": f"t{n}", "expected_task_state": "scheduling"})
        except errors.UnexpectedTaskStateError as exc:
            assert exc.kwargs["actual"]["task_state"].startswith("t")
            return "lost"
        return f"t{n}"

    results = await asyncio.gather(*(claim(n) for n in range(8)))
    winners = [r for r in results if r != "lost"]
    assert len(winners) == 1
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["task_state"] == winners[0]


# --- destroy ---------------------------------------------------------------------------------------


# nova 14.0.0's destroy cascade (spec D.4): soft deletes (bulk: updated_at kept) of the rows keyed by
# the instance's uuid, a hard delete of its tags and console auth tokens.
SOFT_CASCADE = {
    "instance_metadata": "instance_uuid",
    "instance_system_metadata": "instance_uuid",
    "instance_info_caches": "instance_uuid",
    "instance_extra": "instance_uuid",
    "instance_faults": "instance_uuid",
    "security_group_instance_association": "instance_uuid",
    "instance_group_member": "instance_id",
    "block_device_mapping": "instance_uuid",
    "migrations": "instance_uuid",
}
HARD_CASCADE = {"tags": "resource_id", "console_auth_tokens": "instance_uuid"}
OLD = datetime(2019, 5, 6, 7, 8, 9, 123456)


async def with_children(alice: rawdb.Context, nova_db: rawdb.Database, **values: Any) -> str:
    """An instance with a live row in every table of the cascade, and a deleted block device mapping."""
    inst = await create(
        alice,
        metadata={"a": "1"},
        system_metadata={"b": "2"},
        security_groups=["default"],
        extra={"flavor": "{}"},
        **values,
    )
    uuid = str(inst["uuid"])
    rows: list[tuple[str, str, Any]] = [
        ("instance_faults", "code", 500),
        ("block_device_mapping", "device_name", "/dev/vda"),
        ("migrations", "status", "confirmed"),
    ]
    for table, name, value in rows:
        await execute(
            nova_db,
            f"INSERT INTO {table} (created_at, updated_at, instance_uuid, {name}, deleted) VALUES (:t, :t, :u, :v, 0)",
            t=OLD,
            u=uuid,
            v=value,
        )
    await execute(  # deleted before: the cascade leaves it as it was
        nova_db,
        "INSERT INTO block_device_mapping (created_at, deleted_at, instance_uuid, device_name, deleted) "
        "VALUES (:t, :t, :u, '/dev/old', 0)",
        t=OLD,
        u=uuid,
    )
    await execute(nova_db, "UPDATE block_device_mapping SET deleted = id WHERE device_name = '/dev/old'")
    await execute(
        nova_db,
        "INSERT INTO instance_groups (created_at, uuid, name, project_id, deleted) VALUES (:t, :g, :g, 'p1', 0)",
        t=OLD,
        g=uuid[::-1],
    )
    group = (await select(nova_db, "SELECT id FROM instance_groups WHERE uuid = :g", g=uuid[::-1]))[0]["id"]
    await execute(
        nova_db,
        "INSERT INTO instance_group_member (created_at, updated_at, instance_id, group_id, deleted) "
        "VALUES (:t, :t, :u, :g, 0)",
        t=OLD,
        u=uuid,
        g=group,
    )
    await execute(nova_db, "INSERT INTO tags (resource_id, tag) VALUES (:u, 't1'), (:u2, 't2')", u=uuid, u2=uuid)
    await execute(
        nova_db,
        "INSERT INTO console_auth_tokens (created_at, token_hash, console_type, host, port, instance_uuid, expires) "
        "VALUES (:t, :h, 'novnc', 'h1', 5900, :u, 0)",
        t=OLD,
        h=uuid,
        u=uuid,
    )
    return uuid


async def children(nova_db: rawdb.Database, uuid: str) -> dict[str, list[dict[str, Any]]]:
    """The instance's rows in every table of the cascade."""
    found = {}
    for table, column in SOFT_CASCADE.items():
        found[table] = await select(
            nova_db, f"SELECT id, deleted, deleted_at, updated_at FROM {table} WHERE {column} = :u ORDER BY id", u=uuid
        )
    for table, column in HARD_CASCADE.items():
        found[table] = await select(nova_db, f"SELECT {column} FROM {table} WHERE {column} = :u", u=uuid)
    return found


def all_live(rows: dict[str, list[dict[str, Any]]]) -> bool:
    """Every table has rows, and every soft-deletable row but the old mapping is live."""
    return all(rows.values()) and all(
        r["deleted"] == 0
        for t in SOFT_CASCADE
        for r in rows[t]
        if not (t == "block_device_mapping" and r["deleted_at"])
    )


async def test_destroy_soft_deletes_the_instance_and_its_children(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    uuid = await with_children(alice, nova_db)
    bystander = await with_children(alice, nova_db)
    before = await children(nova_db, uuid)
    assert all_live(before) and len(before["block_device_mapping"]) == 2
    snapshot = await db.instance_destroy(alice, uuid)
    assert snapshot["deleted"] == 0 and snapshot["metadata"] == [{"key": "a", "value": "1"}]
    after = await children(nova_db, uuid)
    for table in SOFT_CASCADE:
        was = {r["id"]: r for r in before[table]}
        for row in after[table]:
            old = was[row["id"]]
            if old["deleted"]:  # already deleted: untouched
                assert row == old, table
                continue
            assert row["deleted"] == row["id"] and row["deleted_at"] is not None, table
            assert row["updated_at"] == old["updated_at"], table  # bulk soft delete keeps it
        assert len(after[table]) == len(before[table]), table
    for table in HARD_CASCADE:
        assert after[table] == [], table
    assert all_live(await children(nova_db, bystander))  # another instance's rows are its own
    gone = await select(nova_db, "SELECT deleted, id, updated_at FROM instances WHERE uuid = :u", u=uuid)
    assert gone[0]["deleted"] == gone[0]["id"] and gone[0]["updated_at"] is None  # bulk soft delete keeps it
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_destroy(alice, uuid)


async def test_destroy_with_constraints(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    uuid = await with_children(alice, nova_db, task_state="deleting", vm_state="active")
    before = await children(nova_db, uuid)
    with pytest.raises(errors.ConstraintNotMet):
        await db.instance_destroy(alice, uuid, db.constraint(vm_state=db.equal_any("error", "stopped")))
    with pytest.raises(errors.ConstraintNotMet):
        await db.instance_destroy(alice, uuid, db.constraint(vm_state=db.not_equal("active", "error")))
    with pytest.raises(errors.ConstraintNotMet):  # SQL's NULL: host <> 'h1' is not true for a NULL host
        await db.instance_destroy(alice, uuid, db.constraint(host=db.not_equal("h1")))
    assert await children(nova_db, uuid) == before  # nothing of the cascade ran
    assert all_live(before)
    live = await db.instance_get_by_uuid(alice, uuid)
    assert live["deleted"] == 0 and live["metadata"] == [{"key": "a", "value": "1"}]
    # equal_any is an OR (nova bug 1292285 made it an AND)
    await db.instance_destroy(
        alice,
        uuid,
        db.constraint(task_state=db.equal_any("error", "deleting"), vm_state=db.not_equal("error")),
    )
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_get_by_uuid(alice, uuid)
    after = await children(nova_db, uuid)
    assert after["tags"] == [] and after["console_auth_tokens"] == []
    assert all(r["deleted"] == r["id"] for r in after["block_device_mapping"] + after["instance_group_member"])


async def test_destroy_errors(alice: rawdb.Context, carol: rawdb.Context) -> None:
    inst = await create(alice)
    with pytest.raises(errors.InvalidUUID) as invalid:
        await db.instance_destroy(alice, "nope")
    assert invalid.value.kwargs == {"uuid": "nope"}
    with pytest.raises(errors.InstanceNotFound) as theirs:
        await db.instance_destroy(carol, inst["uuid"])
    assert theirs.value.kwargs == {"instance_id": inst["uuid"]}
    with pytest.raises(errors.Invalid):
        await db.instance_destroy(alice, inst["uuid"], constraint={"vm_state": "x"})  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.instance_destroy(alice, inst["uuid"], db.constraint(no_column=db.equal_any(1)))
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["deleted"] == 0


async def test_destroy_racing_an_update_leaves_a_consistent_instance(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    for _ in range(3):
        inst = await create(alice, task_state="a")

        async def update(uuid: str) -> str:
            ctx = rawdb.Context(nova_db, project_id=P1, user_id="alice")
            try:
                await db.instance_update(ctx, uuid, {"task_state": "b", "expected_task_state": "a"})
            except errors.InstanceNotFound:
                return "gone"
            return "updated"

        async def destroy(uuid: str) -> str:
            ctx = rawdb.Context(nova_db, project_id=P1, user_id="alice")
            await db.instance_destroy(ctx, uuid)
            return "destroyed"

        results = await asyncio.gather(update(inst["uuid"]), destroy(inst["uuid"]))
        assert results[1] == "destroyed"
        row = (await select(nova_db, "SELECT deleted, id, task_state FROM instances WHERE uuid = :u", u=inst["uuid"]))[
            0
        ]
        assert row["deleted"] == row["id"]
        assert row["task_state"] == ("b" if results[0] == "updated" else "a")


# --- test_and_set, security groups ----------------------------------------------------------------------


async def test_instance_test_and_set(alice: rawdb.Context) -> None:
    inst = await create(alice, task_state=None)
    await db.instance_test_and_set(alice, inst["uuid"], "task_state", [None, "x"], "image_snapshot")
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["task_state"] == "image_snapshot"
    with pytest.raises(errors.InstanceInvalidState) as caught:
        await db.instance_test_and_set(alice, inst["uuid"], "task_state", [None], "other")
    assert caught.value.kwargs["state"] == "image_snapshot"
    with pytest.raises(errors.Invalid):
        await db.instance_test_and_set(alice, inst["uuid"], "not_a_column", [None], "x")
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_test_and_set(alice, "8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3", "task_state", [None], "x")


async def test_add_and_remove_security_group(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    inst = await create(alice, security_groups=["default"])
    group = inst["security_groups"][0]
    await db.instance_remove_security_group(alice, inst["uuid"], group["id"])
    assert (await db.instance_get_by_uuid(alice, inst["uuid"]))["security_groups"] == []
    await db.instance_add_security_group(alice, inst["uuid"], group["id"])
    assert [g["id"] for g in (await db.instance_get_by_uuid(alice, inst["uuid"]))["security_groups"]] == [group["id"]]
    with pytest.raises(errors.DBReferenceError):
        await db.instance_add_security_group(alice, inst["uuid"], 999999)
    await db.instance_remove_security_group(alice, inst["uuid"], 999999)  # nothing to remove: no error


# --- the other getters ---------------------------------------------------------------------------


async def test_getters_by_host_node_type_and_window(alice: rawdb.Context, admin: rawdb.Context) -> None:
    now = datetime.utcnow()
    a = await create(
        alice, host="h1", node="n1", instance_type_id=1, launched_at=now - timedelta(days=3), metadata={"m": "1"}
    )
    b = await create(
        alice,
        host="h1",
        node="n2",
        instance_type_id=2,
        launched_at=now - timedelta(days=2),
        terminated_at=now - timedelta(days=1),
    )
    await create(alice, host="h2", node="n1", instance_type_id=1, launched_at=now)
    assert [i["uuid"] for i in await db.instance_get_all_by_host(admin, "h1")] == [a["uuid"], b["uuid"]]
    by_node = await db.instance_get_all_by_host_and_node(admin, "h1", "n1")
    assert [i["uuid"] for i in by_node] == [a["uuid"]] and by_node[0]["metadata"] == []
    joined = await db.instance_get_all_by_host_and_node(admin, "h1", "n1", columns_to_join=["metadata"])
    assert joined[0]["metadata"] == [{"key": "m", "value": "1"}]
    assert [i["uuid"] for i in await db.instance_get_all_by_host_and_not_type(admin, "h1", 1)] == [b["uuid"]]
    window = await db.instance_get_active_by_window_joined(admin, now - timedelta(hours=12), now - timedelta(hours=1))
    assert [i["uuid"] for i in window] == [a["uuid"]]
    everything = await db.instance_get_active_by_window_joined(admin, now - timedelta(days=10), project_id=P1)
    assert len(everything) == 3


async def test_hung_in_rebooting(alice: rawdb.Context, admin: rawdb.Context) -> None:
    old = datetime.utcnow() - timedelta(minutes=10)
    hung = await create(alice, task_state="rebooting", updated_at=old)
    await create(alice, task_state="rebooting", updated_at=datetime.utcnow())
    await create(alice, task_state=None, updated_at=old)
    found = await db.instance_get_all_hung_in_rebooting(admin, 60)
    assert [i["uuid"] for i in found] == [hung["uuid"]] and found[0]["metadata"] == []


async def test_by_grantee_security_groups(alice: rawdb.Context, nova_db: rawdb.Database, admin: rawdb.Context) -> None:
    from sqltools import execute

    inst = await create(alice, security_groups=["default"])
    group_id = inst["security_groups"][0]["id"]
    await execute(
        nova_db,
        "INSERT INTO security_groups (created_at, name, project_id, deleted) "
        "VALUES (CURRENT_TIMESTAMP, 'grantee', 'p1', 0)",
    )
    grantee = (await select(nova_db, "SELECT id FROM security_groups WHERE name = 'grantee'"))[0]["id"]
    assert await db.instance_get_all_by_grantee_security_groups(admin, [grantee]) == []
    await execute(
        nova_db,
        "INSERT INTO security_group_rules (created_at, parent_group_id, group_id, deleted) "
        "VALUES (CURRENT_TIMESTAMP, :p, :g, 0)",
        p=group_id,
        g=grantee,
    )
    found = await db.instance_get_all_by_grantee_security_groups(admin, [grantee])
    assert [i["uuid"] for i in found] == [inst["uuid"]]
    assert found[0]["security_groups"][0]["rules"][0]["group_id"] == grantee
    assert await db.instance_get_all_by_grantee_security_groups(admin, []) == []


JOINABLE = ["metadata", "system_metadata", "info_cache", "security_groups", "tags", "extra", "pci_devices"]


def shape(row: dict[str, Any]) -> dict[str, Any]:
    """The keys of an instance dict and of each child it carries."""

    def keys(item: Any) -> Any:
        return None if item is None else sorted(item)

    return {
        "instance": sorted(row),
        **{name: [keys(item) for item in row[name]] for name in ("metadata", "system_metadata", "tags", "pci_devices")},
        "info_cache": keys(row["info_cache"]),
        "extra": keys(row["extra"]),
        "security_groups": [keys(group) for group in row["security_groups"]],
        "rules": [keys(rule) for group in row["security_groups"] for rule in group["rules"]],
    }


async def test_every_getter_returns_the_keys_instance_get_by_uuid_returns_with_the_same_joins(
    alice: rawdb.Context, admin: rawdb.Context
) -> None:
    from novatools import make_group, make_rule

    grantee = await make_group(alice, "grantee")
    inst = await create(
        alice,
        host="h1",
        node="n1",
        task_state="rebooting",
        updated_at=datetime.utcnow() - timedelta(hours=1),
        launched_at=datetime(2020, 1, 1),
        metadata={"a": "1"},
        system_metadata={"b": "2"},
        info_cache={"network_info": "[]"},
        security_groups=["default"],
        extra={"flavor": "{}"},
    )
    await make_rule(alice, inst["security_groups"][0]["id"], grantee["id"])
    await db.instance_tag_set(alice, inst["uuid"], ["t"])
    uuid, begin = inst["uuid"], datetime(2019, 1, 1)

    async def by_uuid(columns_to_join: list[str] | None) -> dict[str, Any]:
        return await db.instance_get_by_uuid(admin, uuid, columns_to_join=columns_to_join)

    calls: list[tuple[str, Callable[[], Awaitable[Any]], list[str] | None]] = [
        ("instance_get", lambda: db.instance_get(admin, inst["id"], columns_to_join=JOINABLE), JOINABLE),
        ("instance_get default", lambda: db.instance_get(admin, inst["id"]), None),
        ("by_host", lambda: db.instance_get_all_by_host(admin, "h1", columns_to_join=JOINABLE), JOINABLE),
        ("by_host default", lambda: db.instance_get_all_by_host(admin, "h1"), None),
        (
            "by_host_and_node",
            lambda: db.instance_get_all_by_host_and_node(admin, "h1", "n1", columns_to_join=JOINABLE),
            JOINABLE,
        ),
        ("by_host_and_node default", lambda: db.instance_get_all_by_host_and_node(admin, "h1", "n1"), []),
        (
            "active_by_window",
            lambda: db.instance_get_active_by_window_joined(admin, begin, columns_to_join=JOINABLE),
            JOINABLE,
        ),
        ("active_by_window default", lambda: db.instance_get_active_by_window_joined(admin, begin), None),
        ("hung_in_rebooting", lambda: db.instance_get_all_hung_in_rebooting(admin, 60), []),
        ("by_grantee", lambda: db.instance_get_all_by_grantee_security_groups(admin, [grantee["id"]]), None),
        ("by_filters_sort", lambda: db.instance_get_all_by_filters_sort(admin, {}, columns_to_join=JOINABLE), JOINABLE),
    ]
    for name, call, joins in calls:
        got = await call()
        row = got[0] if isinstance(got, list) else got
        assert not isinstance(got, list) or len(got) == 1, name
        expected = await by_uuid(joins)
        assert shape(row) == shape(expected), name
        assert row == expected, name  # a live instance: the same values too
    full = shape(await by_uuid(JOINABLE))
    assert full["info_cache"] and full["extra"] and full["rules"] and full["tags"] and full["metadata"]
    assert shape(inst)["instance"] == full["instance"]  # instance_create's too


# --- helpers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "dirs", "expected"),
    [
        ([], [], (["created_at", "id"], ["asc", "asc"])),
        (None, None, (["created_at", "id"], ["asc", "asc"])),
        (
            ["id", "key2", "key3"],
            ["desc", "asc"],
            (["id", "key2", "key3", "created_at"], ["desc", "asc", "desc", "desc"]),
        ),
        (["key1"], None, (["key1", "created_at", "id"], ["asc", "asc", "asc"])),
        (["created_at"], ["desc"], (["created_at", "id"], ["desc", "desc"])),
    ],
)
def test_process_sort_params(keys: Any, dirs: Any, expected: Any) -> None:
    assert db.process_sort_params(keys, dirs) == expected


def test_process_sort_params_errors() -> None:
    with pytest.raises(errors.InvalidInput):
        db.process_sort_params(["a"], ["up"])
    with pytest.raises(errors.InvalidInput):
        db.process_sort_params(["a"], ["asc", "desc"])
    assert db.process_sort_params(["a"], None, default_dir="desc") == (["a", "created_at", "id"], ["desc"] * 3)


async def test_a_compare_and_swap_update_is_one_statement_where_update_returns_rows(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    inst = await create(alice, task_state="a", metadata={"k": "v"})
    await db.instance_info_cache_update(alice, inst["uuid"], {"network_info": "[]"})
    before = await db.instance_get_by_uuid(alice, inst["uuid"])
    counter = rawdb.StatementCounter(keep=True)
    with nova_db.hooked(counter):
        new = await db.instance_update(alice, inst["uuid"], {"task_state": "b", "expected_task_state": "a"})
    assert new["task_state"] == "b" and new["info_cache"] is not None
    # PostgreSQL and SQLite return the instance from the UPDATE, which needs no BEGIN and COMMIT
    # around it; MariaDB reads it back in a transaction
    assert counter.total == (4 if nova_db.dialect == "mysql" else 1), [e.name for e in counter.events]
    # the same instance dict as a get returns, children and times included
    assert new == await db.instance_get_by_uuid(alice, inst["uuid"])
    assert {**new, "task_state": "a", "updated_at": before["updated_at"]} == before
