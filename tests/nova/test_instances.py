"""nova's instance DB API: create, get, update (compare-and-swap), destroy, on every backend (D.2-D.4, B.5, B.6)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqltools import count_rows, select

import rawdb
from rawdb import errors
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
        with pytest.raises(errors.InstanceExists):
            await create(alice, hostname="wEB")
        if scope == "project":
            await create(carol, hostname="web")
        else:
            with pytest.raises(errors.InstanceExists):
                await create(carol, hostname="web")
        # changing only the case of one's own name is allowed
        assert (await db.instance_update(alice, first["uuid"], {"hostname": "WEB"}))["hostname"] == "WEB"
        other = await create(alice, hostname="other")
        with pytest.raises(errors.InstanceExists):
            await db.instance_update(alice, other["uuid"], {"hostname": "web"})


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
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_get_by_uuid(carol, inst["uuid"])
    assert (await db.instance_get_by_uuid(admin, inst["uuid"]))["uuid"] == inst["uuid"]
    await db.instance_destroy(alice, inst["uuid"])
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_get_by_uuid(alice, inst["uuid"])
    deleted = await db.instance_get_by_uuid(alice.elevated(read_deleted="yes"), inst["uuid"])
    assert deleted["deleted"] == deleted["id"]
    assert (await db.instance_get_by_uuid(admin.elevated(read_deleted="only"), inst["uuid"]))["uuid"] == inst["uuid"]


@pytest.mark.parametrize("bad", ["", "x" * 37, "a\x00b", 17, None])
async def test_get_by_uuid_of_what_cannot_be_a_uuid_is_not_found(alice: rawdb.Context, bad: Any) -> None:
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_get_by_uuid(alice, bad)


async def test_get_by_integer_id(alice: rawdb.Context) -> None:
    inst = await create(alice)
    assert (await db.instance_get(alice, inst["id"]))["uuid"] == inst["uuid"]
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_get(alice, inst["id"] + 1000)
    for bad in ("abc", 2**70, 1.5):
        with pytest.raises(errors.InvalidID):
            await db.instance_get(alice, bad)


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
    with pytest.raises(errors.InvalidUUID):
        await db.instance_update(alice, "not-a-uuid", {"vm_state": "x"})
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_update(alice, "8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3", {"vm_state": "x"})
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_update(carol, inst["uuid"], {"vm_state": "x"})
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


async def test_destroy_soft_deletes_the_instance_and_its_children(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    from sqltools import execute

    inst = await create(
        alice, metadata={"a": "1"}, system_metadata={"b": "2"}, security_groups=["default"], extra={"flavor": "{}"}
    )
    await execute(nova_db, "INSERT INTO tags (resource_id, tag) VALUES (:u, 't1')", u=inst["uuid"])
    await execute(
        nova_db,
        "INSERT INTO instance_faults (created_at, instance_uuid, code, deleted) VALUES (CURRENT_TIMESTAMP, :u, 500, 0)",
        u=inst["uuid"],
    )
    before = await db.instance_destroy(alice, inst["uuid"])
    assert before["deleted"] == 0 and before["metadata"] == [{"key": "a", "value": "1"}]
    for table in (
        "instance_metadata",
        "instance_system_metadata",
        "instance_info_caches",
        "instance_extra",
        "instance_faults",
        "security_group_instance_association",
    ):
        rows = await select(nova_db, f"SELECT deleted, id FROM {table} WHERE instance_uuid = :u", u=inst["uuid"])
        assert rows and all(r["deleted"] == r["id"] for r in rows), table
    assert await count_rows(nova_db, "tags") == 0
    gone = await select(nova_db, "SELECT deleted, id, updated_at FROM instances")
    assert gone[0]["deleted"] == gone[0]["id"] and gone[0]["updated_at"] is None  # bulk soft delete keeps it
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_destroy(alice, inst["uuid"])


async def test_destroy_with_constraints(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    inst = await create(alice, task_state="deleting", vm_state="active", metadata={"a": "1"})
    with pytest.raises(errors.ConstraintNotMet):
        await db.instance_destroy(alice, inst["uuid"], db.constraint(vm_state=db.equal_any("error", "stopped")))
    with pytest.raises(errors.ConstraintNotMet):
        await db.instance_destroy(alice, inst["uuid"], db.constraint(vm_state=db.not_equal("active", "error")))
    live = await db.instance_get_by_uuid(alice, inst["uuid"])
    assert live["deleted"] == 0 and live["metadata"] == [{"key": "a", "value": "1"}]
    # equal_any is an OR (nova bug 1292285 made it an AND)
    await db.instance_destroy(
        alice,
        inst["uuid"],
        db.constraint(task_state=db.equal_any("error", "deleting"), vm_state=db.not_equal("error")),
    )
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_get_by_uuid(alice, inst["uuid"])


async def test_destroy_errors(alice: rawdb.Context, carol: rawdb.Context) -> None:
    inst = await create(alice)
    with pytest.raises(errors.InvalidUUID):
        await db.instance_destroy(alice, "nope")
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_destroy(carol, inst["uuid"])
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
