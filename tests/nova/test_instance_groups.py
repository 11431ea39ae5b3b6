"""Server groups (rawdb.nova.instance_groups, Newton spec A.4), on every backend."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import instance_groups as db
from rawdb.observe import StatementCounter

T0 = datetime(2016, 1, 1, 10, 0, 0)
G1 = "11111111-1111-1111-1111-111111111111"
G2 = "22222222-2222-2222-2222-222222222222"
I1, I2, I3 = "instance-1", "instance-2", "instance-3"
GROUP_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "user_id",
    "project_id",
    "uuid",
    "name",
    "policies",
    "members",
}


def group_values(uuid: str | None = G1, project_id: str = "p1", **extra: Any) -> dict[str, Any]:
    values = {"name": "web", "user_id": "alice", "project_id": project_id, **extra}
    if uuid is not None:
        values["uuid"] = uuid
    return values


async def live_members(database: rawdb.Database, group_id: int) -> list[str]:
    rows = await select(
        database,
        "SELECT instance_id FROM instance_group_member WHERE group_id = :g AND deleted = 0 ORDER BY id",
        g=group_id,
    )
    return [row["instance_id"] for row in rows]


# --- create and get ------------------------------------------------------------------------


async def test_instance_group_create_returns_the_group_with_policies_and_members_in_order(
    admin: rawdb.Context,
) -> None:
    group = await db.instance_group_create(
        admin, group_values(), policies=["anti-affinity", "soft"], members=[I2, I1, I3]
    )
    assert set(group) == GROUP_KEYS
    assert (group["uuid"], group["name"], group["user_id"], group["project_id"]) == (G1, "web", "alice", "p1")
    assert group["policies"] == ["anti-affinity", "soft"]
    assert group["members"] == [I2, I1, I3]
    assert group["deleted"] == 0 and group["deleted_at"] is None and group["updated_at"] is None
    assert await db.instance_group_get(admin, G1) == group


async def test_instance_group_create_generates_a_uuid_and_empty_lists(admin: rawdb.Context) -> None:
    group = await db.instance_group_create(admin, group_values(uuid=None, created_at=T0))
    assert str(uuidlib.UUID(group["uuid"])) == group["uuid"]
    assert (group["policies"], group["members"], group["created_at"]) == ([], [], T0)
    again = await db.instance_group_create(admin, group_values(uuid=None))
    assert again["uuid"] != group["uuid"]


async def test_instance_group_create_adds_a_repeated_name_once(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    group = await db.instance_group_create(admin, group_values(), policies=["a", "a"], members=(I1, I2, I1))
    assert (group["policies"], group["members"]) == (["a"], [I1, I2])
    assert await count_rows(nova_db, "instance_group_member") == 2
    assert (await db.instance_group_get(admin, G1))["members"] == [I1, I2]


async def test_instance_group_create_with_a_live_uuid_is_id_exists_and_the_transaction_goes_on(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.instance_group_create(admin, group_values())
    async with admin.writer() as tx:
        with pytest.raises(errors.InstanceGroupIdExists) as caught:
            await db.instance_group_create(tx, group_values(name="again"), members=[I1])
        await db.instance_group_create(tx, group_values(G2))
    assert caught.value.kwargs == {"group_uuid": G1}
    assert isinstance(caught.value, errors.Duplicate)
    assert await count_rows(nova_db, "instance_groups") == 2
    assert await count_rows(nova_db, "instance_group_member") == 0


async def test_concurrent_creates_of_one_uuid_make_one_group(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(4)]
    results = await asyncio.gather(
        *(db.instance_group_create(rawdb.Context(d, is_admin=True), group_values(), members=[I1]) for d in databases),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["InstanceGroupIdExists"] * 3 + ["dict"]
    assert await count_rows(nova_db, "instance_groups") == 1
    assert await count_rows(nova_db, "instance_group_member") == 1


async def test_instance_group_create_reuses_a_deleted_groups_uuid(admin: rawdb.Context) -> None:
    first = await db.instance_group_create(admin, group_values(), members=[I1])
    await db.instance_group_delete(admin, G1)
    second = await db.instance_group_create(admin, group_values(), policies=["affinity"])
    assert second["id"] != first["id"]
    assert (await db.instance_group_get(admin, G1))["policies"] == ["affinity"]


async def test_a_user_creating_a_group_of_another_project_gets_not_found_and_nothing_is_written(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_create(alice, group_values(project_id="p2"), members=[I1])
    assert await count_rows(nova_db, "instance_groups") == 0
    mine = await db.instance_group_create(alice, group_values(), members=[I1])
    assert mine["members"] == [I1]


@pytest.mark.parametrize(
    ("values", "policies", "members"),
    [
        ({"name": "x", "bogus": 1}, None, None),
        ({"name": "x", "policies": ["a"]}, None, None),
        ({"uuid": "u" * 37}, None, None),
        ({"name": "n" * 256}, None, None),
        ({"name": 5}, None, None),
        ({"id": 3}, None, None),
        ({"name": "x"}, "affinity", None),
        ({"name": "x"}, [1], None),
        ({"name": "x"}, None, [None]),
        ({"name": "x"}, None, ["i" * 256]),
        ({"name": "x"}, None, {"a": "b"}),
        ({"name": "x"}, None, ["nul\x00"]),
    ],
)
async def test_instance_group_create_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any], policies: Any, members: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.instance_group_create(admin, values, policies=policies, members=members)
    for table in ("instance_groups", "instance_group_policy", "instance_group_member"):
        assert await count_rows(nova_db, table) == 0


async def test_instance_group_get_is_one_statement(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    await db.instance_group_create(admin, group_values(), policies=["a", "b"], members=[I1, I2])
    counter = StatementCounter()
    with nova_db.hooked(counter):
        group = await db.instance_group_get(admin, G1)
        listed = await db.instance_group_get_all(admin)
    assert (group["policies"], group["members"]) == (["a", "b"], [I1, I2])
    assert listed == [group]
    assert counter.total == 2


async def test_instance_group_get_lists_only_live_children_in_insertion_order(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    group = await db.instance_group_create(admin, group_values(), policies=["p1"], members=[I3, I1])
    await db.instance_group_members_add(admin, G1, [I2])
    await db.instance_group_member_delete(admin, G1, I3)
    await execute(
        nova_db,
        "INSERT INTO instance_group_policy (policy, group_id, created_at, deleted) VALUES ('p0', :g, :t, 0)",
        g=group["id"],
        t=T0,
    )
    got = await db.instance_group_get(admin, G1)
    assert (got["policies"], got["members"]) == (["p1", "p0"], [I1, I2])


async def test_a_deleted_group_read_with_read_deleted_has_no_policies_or_members(admin: rawdb.Context) -> None:
    await db.instance_group_create(admin, group_values(), policies=["a"], members=[I1])
    await db.instance_group_delete(admin, G1)
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_get(admin, G1)
    deleted = await db.instance_group_get(admin.elevated(read_deleted="yes"), G1)
    assert deleted["deleted"] == deleted["id"] and deleted["deleted_at"] is not None
    assert (deleted["policies"], deleted["members"]) == ([], [])


async def test_instance_group_get_is_project_only_for_users(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context, carol: rawdb.Context
) -> None:
    await db.instance_group_create(admin, group_values(), members=[I1])
    assert (await db.instance_group_get(bob, G1))["uuid"] == G1  # same project
    with pytest.raises(errors.InstanceGroupNotFound) as caught:
        await db.instance_group_get(carol, G1)
    assert caught.value.kwargs == {"group_uuid": G1}
    assert (await db.instance_group_get(carol.elevated(), G1))["uuid"] == G1
    for call in (
        db.instance_group_members_get(carol, G1),
        db.instance_group_members_add(carol, G1, [I2]),
        db.instance_group_member_delete(carol, G1, I1),
        db.instance_group_update(carol, G1, {"name": "mine"}),
        db.instance_group_delete(carol, G1),
    ):
        with pytest.raises(errors.InstanceGroupNotFound):
            await call
    group = await db.instance_group_get(alice, G1)
    assert (group["name"], group["members"], group["deleted"]) == ("web", [I1], 0)


@pytest.mark.parametrize("uuid", [None, 7, b"x"])
async def test_lookups_by_a_uuid_that_is_no_string_are_invalid(admin: rawdb.Context, uuid: Any) -> None:
    for call in (
        db.instance_group_get(admin, uuid),
        db.instance_group_get_by_instance(admin, uuid),
        db.instance_group_members_get(admin, uuid),
        db.instance_group_delete(admin, uuid),
        db.instance_group_members_add(admin, uuid, [I1]),
        db.instance_group_member_delete(admin, G1, uuid),
    ):
        with pytest.raises(errors.Invalid):
            await call


async def test_lookups_by_an_overlong_uuid_find_nothing(admin: rawdb.Context) -> None:
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_get(admin, "u" * 40)
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_members_get(admin, "u" * 40)


# --- get_by_instance, get_all ----------------------------------------------------------------


async def test_instance_group_get_by_instance_finds_the_members_group(admin: rawdb.Context) -> None:
    await db.instance_group_create(admin, group_values(), policies=["affinity"], members=[I1, I2])
    await db.instance_group_create(admin, group_values(G2), members=[I3])
    group = await db.instance_group_get_by_instance(admin, I2)
    assert set(group) == GROUP_KEYS
    assert (group["uuid"], group["policies"], group["members"]) == (G1, ["affinity"], [I1, I2])
    assert (await db.instance_group_get_by_instance(admin, I3))["uuid"] == G2


async def test_instance_group_get_by_instance_without_a_membership_is_not_found_with_an_empty_uuid(
    admin: rawdb.Context,
) -> None:
    await db.instance_group_create(admin, group_values(), members=[I1])
    await db.instance_group_member_delete(admin, G1, I1)
    for instance in (I1, "nobody", "x" * 300):
        with pytest.raises(errors.InstanceGroupNotFound) as caught:
            await db.instance_group_get_by_instance(admin, instance)
        assert caught.value.kwargs == {"group_uuid": ""}


async def test_instance_group_get_by_instance_of_another_projects_group_names_the_group_id(
    admin: rawdb.Context, carol: rawdb.Context
) -> None:
    group = await db.instance_group_create(admin, group_values(), members=[I1])
    with pytest.raises(errors.InstanceGroupNotFound) as caught:
        await db.instance_group_get_by_instance(carol, I1)
    assert caught.value.kwargs == {"group_uuid": group["id"]}


async def test_instance_group_get_all_lists_visible_groups_oldest_first(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context
) -> None:
    await db.instance_group_create(admin, group_values(G2), members=[I1])
    await db.instance_group_create(admin, group_values(G1, project_id="p2"), policies=["x"])
    g3 = str(uuidlib.uuid4())
    await db.instance_group_create(admin, group_values(g3))
    await db.instance_group_delete(admin, g3)
    assert [(g["uuid"], g["members"], g["policies"]) for g in await db.instance_group_get_all(admin)] == [
        (G2, [I1], []),
        (G1, [], ["x"]),
    ]
    assert [g["uuid"] for g in await db.instance_group_get_all(alice)] == [G2]
    assert [g["uuid"] for g in await db.instance_group_get_all(carol)] == [G1]
    assert [g["uuid"] for g in await db.instance_group_get_all(admin.elevated(read_deleted="yes"))] == [G2, G1, g3]


async def test_instance_group_get_all_by_project_id(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context
) -> None:
    await db.instance_group_create(admin, group_values(G1), members=[I2])
    await db.instance_group_create(admin, group_values(G2, project_id="p2"))
    by_p1 = await db.instance_group_get_all_by_project_id(admin, "p1")
    assert [(g["uuid"], g["members"]) for g in by_p1] == [(G1, [I2])]
    assert [g["uuid"] for g in await db.instance_group_get_all_by_project_id(alice, "p1")] == [G1]
    assert await db.instance_group_get_all_by_project_id(carol, "p1") == []  # project_only
    assert await db.instance_group_get_all_by_project_id(admin, "p3") == []
    assert await db.instance_group_get_all_by_project_id(admin, "p" * 300) == []
    with pytest.raises(errors.Invalid):
        await db.instance_group_get_all_by_project_id(admin, None)  # type: ignore[arg-type]


# --- update and delete -------------------------------------------------------------------------


async def test_instance_group_update_changes_columns_and_returns_none(admin: rawdb.Context) -> None:
    before = await db.instance_group_create(admin, group_values(), policies=["a"], members=[I1])
    assert await db.instance_group_update(admin, G1, {"name": "db", "user_id": "bob"}) is None
    after = await db.instance_group_get(admin, G1)
    assert (after["name"], after["user_id"], after["policies"], after["members"]) == ("db", "bob", ["a"], [I1])
    assert after["updated_at"] is not None and after["created_at"] == before["created_at"]


async def test_instance_group_update_replaces_policies_and_members(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    group = await db.instance_group_create(admin, group_values(), policies=["a", "b"], members=[I1, I2])
    values = {"policies": ["b", "c"], "members": [I3, I2]}
    await db.instance_group_update(admin, G1, values)
    assert values == {"policies": ["b", "c"], "members": [I3, I2]}  # the caller's dict is left alone
    got = await db.instance_group_get(admin, G1)
    assert (got["policies"], got["members"]) == (["b", "c"], [I2, I3])  # kept rows keep their place
    assert got["updated_at"] is None  # no column changed
    deleted = await select(
        nova_db,
        "SELECT instance_id, deleted, updated_at FROM instance_group_member WHERE group_id = :g AND deleted <> 0",
        g=group["id"],
    )
    assert [(d["instance_id"], d["updated_at"]) for d in deleted] == [(I1, None)]


async def test_instance_group_update_with_empty_lists_empties_the_sets(admin: rawdb.Context) -> None:
    await db.instance_group_create(admin, group_values(), policies=["a"], members=[I1, I2])
    await db.instance_group_update(admin, G1, {"members": [], "policies": None})
    got = await db.instance_group_get(admin, G1)
    assert (got["policies"], got["members"]) == (["a"], [])


async def test_instance_group_update_of_an_unknown_group_is_not_found(admin: rawdb.Context) -> None:
    with pytest.raises(errors.InstanceGroupNotFound) as caught:
        await db.instance_group_update(admin, G2, {"name": "x"})
    assert caught.value.kwargs == {"group_uuid": G2}


@pytest.mark.parametrize(
    "values",
    [
        {"uuid": G2},
        {"name": "n" * 256},
        {"bogus": "x"},
        {"name": "ok", "members": "instance-1"},
        {"name": "ok", "policies": [3]},
        ["name"],
    ],
)
async def test_instance_group_update_bad_input_is_invalid_and_changes_nothing(
    admin: rawdb.Context, values: Any
) -> None:
    before = await db.instance_group_create(admin, group_values(), policies=["a"], members=[I1])
    with pytest.raises(errors.Invalid):
        await db.instance_group_update(admin, G1, values)
    assert await db.instance_group_get(admin, G1) == before


async def test_instance_group_update_is_one_transaction(admin: rawdb.Context) -> None:
    before = await db.instance_group_create(admin, group_values(), members=[I1])
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            await db.instance_group_update(tx, G1, {"name": "new", "members": [I2]})
            assert (await db.instance_group_get(tx, G1))["members"] == [I2]
            raise RuntimeError("roll back")
    assert await db.instance_group_get(admin, G1) == before


async def test_instance_group_delete_soft_deletes_the_group_its_policies_and_members(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    group = await db.instance_group_create(admin, group_values(), policies=["a"], members=[I1, I2])
    other = await db.instance_group_create(admin, group_values(G2), members=[I1])
    assert await db.instance_group_delete(admin, G1) is None
    for table in ("instance_group_policy", "instance_group_member"):
        rows = await select(nova_db, f"SELECT group_id, deleted FROM {table} WHERE deleted = 0")
        assert all(row["group_id"] == other["id"] for row in rows)
    assert await live_members(nova_db, group["id"]) == []
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_delete(admin, G1)
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_delete(admin.elevated(read_deleted="yes"), G1)
    assert (await db.instance_group_get_by_instance(admin, I1))["uuid"] == G2


# --- members -----------------------------------------------------------------------------------


async def test_instance_group_members_add_adds_new_members_and_returns_them(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    group = await db.instance_group_create(admin, group_values(), members=[I1])
    assert await db.instance_group_members_add(admin, G1, [I2, I1, I3]) == [I2, I1, I3]
    assert await live_members(nova_db, group["id"]) == [I1, I2, I3]
    assert await db.instance_group_members_get(admin, G1) == [I1, I2, I3]


async def test_instance_group_members_add_with_set_delete_replaces_the_members(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    group = await db.instance_group_create(admin, group_values(), members=[I1, I2])
    assert await db.instance_group_members_add(admin, G1, [I3, I2], set_delete=True) == [I3, I2]
    assert await live_members(nova_db, group["id"]) == [I2, I3]
    await db.instance_group_members_add(admin, G1, [], set_delete="yes")  # type: ignore[arg-type]
    assert await live_members(nova_db, group["id"]) == []


@pytest.mark.parametrize(("members", "set_delete"), [("instance-1", False), ([I1, 2], False), ([I1], "maybe")])
async def test_instance_group_members_add_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, members: Any, set_delete: Any
) -> None:
    group = await db.instance_group_create(admin, group_values(), members=[I3])
    with pytest.raises(errors.Invalid):
        await db.instance_group_members_add(admin, G1, members, set_delete=set_delete)
    assert await live_members(nova_db, group["id"]) == [I3]


async def test_instance_group_members_add_to_an_unknown_group_is_not_found(admin: rawdb.Context) -> None:
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_members_add(admin, G2, [I1])


async def test_concurrent_members_add_of_one_member_makes_one_live_row(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    group = await db.instance_group_create(admin, group_values())
    databases = [await open_db(nova_url) for _ in range(6)]
    results = await asyncio.gather(
        *(
            db.instance_group_members_add(rawdb.Context(d, is_admin=True), G1, [I1, f"own-{i}"])
            for i, d in enumerate(databases)
        )
    )
    assert [r[0] for r in results] == [I1] * 6
    members = await live_members(nova_db, group["id"])
    assert members.count(I1) == 1
    assert sorted(members) == sorted([I1, *(f"own-{i}" for i in range(6))])


async def test_instance_group_member_delete(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    group = await db.instance_group_create(admin, group_values(), members=[I1, I2])
    assert await db.instance_group_member_delete(admin, G1, I1) is None
    assert await live_members(nova_db, group["id"]) == [I2]
    for instance in (I1, I3, "x" * 300):
        with pytest.raises(errors.InstanceGroupMemberNotFound) as caught:
            await db.instance_group_member_delete(admin, G1, instance)
        assert caught.value.kwargs == {"group_uuid": G1, "instance_id": instance}
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_member_delete(admin, G2, I2)


async def test_instance_group_members_get_follows_read_deleted(admin: rawdb.Context) -> None:
    await db.instance_group_create(admin, group_values(), members=[I1, I2])
    await db.instance_group_create(admin, group_values(G2))
    await db.instance_group_member_delete(admin, G1, I1)
    assert await db.instance_group_members_get(admin, G1) == [I2]
    assert await db.instance_group_members_get(admin.elevated(read_deleted="yes"), G1) == [I1, I2]
    with pytest.raises(errors.InstanceGroupNotFound):  # the group itself is live
        await db.instance_group_members_get(admin.elevated(read_deleted="only"), G1)
    assert await db.instance_group_members_get(admin, G2) == []
    with pytest.raises(errors.InstanceGroupNotFound):
        await db.instance_group_members_get(admin, str(uuidlib.uuid4()))
