"""Nova's security groups (rawdb.nova.security_groups) on every backend: getters and their joins,
create/update/destroy, and security_group_ensure_default's race."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from novatools import GROUP_KEYS, RULE_KEYS, associate, make_group, make_instance, make_rule
from sqltools import count_rows, select

import rawdb
from rawdb import errors
from rawdb.nova import security_group_rules as rules_api
from rawdb.nova import security_groups as db

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

# --- create -------------------------------------------------------------------------------


async def test_security_group_create_returns_the_group_with_empty_rules_and_instances(admin: rawdb.Context) -> None:
    group = await make_group(admin, instances=[], rules=None, deleted=0)
    assert set(group) == GROUP_KEYS | {"rules", "instances"}
    assert (group["name"], group["project_id"], group["user_id"]) == ("web", "p1", "alice")
    assert group["rules"] == [] and group["instances"] == []
    assert group["deleted"] == 0 and group["deleted_at"] is None and group["updated_at"] is None
    assert isinstance(group["created_at"], datetime)
    assert (await db.security_group_get(admin, group["id"]))["name"] == "web"


async def test_security_group_create_refuses_a_second_live_name_in_the_project(admin: rawdb.Context) -> None:
    first = await make_group(admin, "web")
    with pytest.raises(errors.SecurityGroupExists) as caught:
        await make_group(admin, "web")
    assert caught.value.kwargs == {"project_id": "p1", "security_group_name": "web"}
    assert isinstance(caught.value, errors.Invalid) and isinstance(caught.value, errors.Duplicate)
    other = await make_group(admin, "web", project_id="p2")  # another project may
    await db.security_group_destroy(admin, first["id"])
    again = await make_group(admin, "web")  # a deleted name may be reused
    assert len({first["id"], other["id"], again["id"]}) == 3


async def test_security_group_create_duplicate_leaves_the_enclosing_transaction_usable(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    async with admin.writer() as tx:
        await make_group(tx, "web")
        with pytest.raises(errors.SecurityGroupExists):
            await make_group(tx, "web")
        await make_group(tx, "db")
    rows = await select(nova_db, "SELECT name FROM security_groups ORDER BY id")
    assert [r["name"] for r in rows] == ["web", "db"]


@pytest.mark.parametrize(
    "values",
    [
        {"name": "x" * 256},
        {"name": "nul\x00"},
        {"name": 5},
        {"description": ["a"]},
        {"project_id": "p" * 256},
        {"colour": "red"},
        {"instances": ["some-uuid"]},
        {"rules": [{"protocol": "tcp"}]},
        {"deleted": 3},
        {"created_at": "yesterday"},
    ],
)
async def test_security_group_create_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await make_group(admin, **values)
    assert await count_rows(nova_db, "security_groups") == 0


async def test_security_group_create_values_must_be_a_dict(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid):
        await db.security_group_create(admin, [("name", "web")])  # type: ignore[arg-type]
    assert await count_rows(nova_db, "security_groups") == 0


async def test_security_group_calls_need_an_admin_or_user_context(nova_db: rawdb.Database) -> None:
    nobody = rawdb.Context(nova_db)
    with pytest.raises(errors.NotAuthorized):
        await db.security_group_create(nobody, {"name": "web", "project_id": "p1"})
    with pytest.raises(errors.NotAuthorized):
        await db.security_group_get_all(nobody)
    assert await count_rows(nova_db, "security_groups") == 0


# --- getters ------------------------------------------------------------------------------


async def test_security_group_get_joins_only_what_columns_to_join_names(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    group = await make_group(admin, "web")
    other = await make_group(admin, "db")
    rule = await make_rule(admin, group["id"], other["id"])
    uuid = await make_instance(nova_db)
    await associate(nova_db, group["id"], uuid)

    plain = await db.security_group_get(admin, group["id"])
    assert set(plain) == GROUP_KEYS

    joined = await db.security_group_get(admin, group["id"], columns_to_join=["instances", "rules"])
    assert [i["uuid"] for i in joined["instances"]] == [uuid]
    assert joined["instances"][0]["name"] == f"instance-{joined['instances'][0]['id']:08x}"
    assert "system_metadata" not in joined["instances"][0]
    assert [r["id"] for r in joined["rules"]] == [rule["id"]]
    assert set(joined["rules"][0]) == RULE_KEYS | {"grantee_group"}
    assert joined["rules"][0]["grantee_group"]["name"] == "db"
    assert set(joined["rules"][0]["grantee_group"]) == GROUP_KEYS

    with_meta = await db.security_group_get(admin, group["id"], columns_to_join=["instances.system_metadata"])
    assert with_meta["instances"][0]["system_metadata"] == []
    assert "rules" not in with_meta

    with pytest.raises(errors.Invalid):
        await db.security_group_get(admin, group["id"], columns_to_join=["owner"])
    with pytest.raises(errors.Invalid):
        await db.security_group_get(admin, group["id"], columns_to_join="rules")  # type: ignore[arg-type]


async def test_security_group_get_user_context_sees_only_its_projects_groups(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context
) -> None:
    group = await make_group(admin, "web", project_id="p1")
    assert (await db.security_group_get(alice, group["id"]))["id"] == group["id"]
    with pytest.raises(errors.SecurityGroupNotFound) as caught:
        await db.security_group_get(carol, group["id"])
    assert caught.value.kwargs == {"security_group_id": group["id"]}
    assert (await db.security_group_get(carol.elevated(), group["id"]))["id"] == group["id"]


async def test_security_group_get_finds_a_deleted_group_only_as_read_deleted_says(admin: rawdb.Context) -> None:
    group = await make_group(admin)
    await db.security_group_destroy(admin, group["id"])
    with pytest.raises(errors.SecurityGroupNotFound):
        await db.security_group_get(admin, group["id"])
    deleted = await db.security_group_get(
        admin.elevated(read_deleted="yes"), group["id"], columns_to_join=["instances"]
    )
    assert deleted["deleted"] == group["id"] and deleted["instances"] == []


@pytest.mark.parametrize("bad", ["abc", 1.5, None, True, [1], "1; DROP TABLE x", "9" * 5000])
async def test_security_group_get_with_an_id_that_is_no_integer_is_invalid(admin: rawdb.Context, bad: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.security_group_get(admin, bad)


async def test_security_group_get_takes_ids_as_strings_and_finds_nothing_for_huge_ones(admin: rawdb.Context) -> None:
    group = await make_group(admin)
    assert (await db.security_group_get(admin, str(group["id"])))["id"] == group["id"]
    for missing in (group["id"] + 1000, 2**31, 2**70, -(2**40)):
        with pytest.raises(errors.SecurityGroupNotFound):
            await db.security_group_get(admin, missing)


async def test_security_group_get_by_name_joins_instances_and_rules_by_default(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    group = await make_group(admin, "web")
    await make_rule(admin, group["id"])
    live = await make_instance(nova_db)
    gone = await make_instance(nova_db, deleted=True)
    unlinked = await make_instance(nova_db)
    await associate(nova_db, group["id"], live)
    await associate(nova_db, group["id"], gone)
    await associate(nova_db, group["id"], unlinked, deleted=True)

    found = await db.security_group_get_by_name(admin, "p1", "web")
    assert [i["uuid"] for i in found["instances"]] == [live]
    assert [r["grantee_group"] for r in found["rules"]] == [None]

    bare = await db.security_group_get_by_name(admin, "p1", "web", columns_to_join=[])
    assert set(bare) == GROUP_KEYS


async def test_security_group_get_by_name_raises_not_found_for_project(admin: rawdb.Context) -> None:
    group = await make_group(admin, "web", project_id="p1")
    for project_id, name in (("p2", "web"), ("p1", "db"), ("p1", "x" * 300)):
        with pytest.raises(errors.SecurityGroupNotFoundForProject) as caught:
            await db.security_group_get_by_name(admin, project_id, name)
        assert caught.value.kwargs == {"project_id": project_id, "security_group_id": name}
    await db.security_group_destroy(admin, group["id"])
    with pytest.raises(errors.SecurityGroupNotFound):
        await db.security_group_get_by_name(admin.elevated(read_deleted="yes"), "p1", "web")
    for bad in ((None, "web"), ("p1", 7), ("p1", "we\x00b")):
        with pytest.raises(errors.Invalid):
            await db.security_group_get_by_name(admin, *bad)  # type: ignore[arg-type]


async def test_security_group_exists_says_whether_a_live_group_has_the_name(admin: rawdb.Context) -> None:
    group = await make_group(admin, "web")
    assert await db.security_group_exists(admin, "p1", "web") is True
    assert await db.security_group_exists(admin, "p2", "web") is False
    assert await db.security_group_exists(admin, "p1", "db") is False
    await db.security_group_destroy(admin, group["id"])
    assert await db.security_group_exists(admin, "p1", "web") is False
    with pytest.raises(errors.Invalid):
        await db.security_group_exists(admin, "p1", b"web")  # type: ignore[arg-type]


async def test_security_group_get_all_returns_every_project_with_rules_and_read_deleted(admin: rawdb.Context) -> None:
    web = await make_group(admin, "web", project_id="p1")
    other = await make_group(admin, "db", project_id="p2")
    rule = await make_rule(admin, web["id"], other["id"])
    gone = await make_rule(admin, web["id"])
    await rules_api.security_group_rule_destroy(admin, gone["id"])
    deleted = await make_group(admin, "old")
    await db.security_group_destroy(admin, deleted["id"])

    groups = await db.security_group_get_all(admin)
    assert [g["id"] for g in groups] == [web["id"], other["id"]]
    assert [r["id"] for r in groups[0]["rules"]] == [rule["id"]]  # live rules only
    assert groups[0]["rules"][0]["grantee_group"]["id"] == other["id"]
    assert groups[1]["rules"] == [] and "instances" not in groups[0]

    everything = await db.security_group_get_all(admin.elevated(read_deleted="yes"))
    assert [g["id"] for g in everything] == [web["id"], other["id"], deleted["id"]]
    only = await db.security_group_get_all(admin.elevated(read_deleted="only"))
    assert [g["id"] for g in only] == [deleted["id"]]


async def test_security_group_get_by_project_returns_the_projects_live_groups(admin: rawdb.Context) -> None:
    a = await make_group(admin, "a", project_id="p1")
    await make_group(admin, "b", project_id="p2")
    c = await make_group(admin, "c", project_id="p1")
    gone = await make_group(admin, "d", project_id="p1")
    await db.security_group_destroy(admin, gone["id"])
    groups = await db.security_group_get_by_project(admin, "p1")
    assert [g["id"] for g in groups] == [a["id"], c["id"]]
    assert all(g["rules"] == [] for g in groups)
    assert await db.security_group_get_by_project(admin, "nobody") == []
    assert await db.security_group_get_by_project(admin, "p" * 300) == []
    with pytest.raises(errors.Invalid):
        await db.security_group_get_by_project(admin, None)  # type: ignore[arg-type]


async def test_security_group_get_by_instance_returns_live_groups_through_live_associations(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    web, dbg, old, unlinked = [await make_group(admin, n) for n in ("web", "db", "old", "unlinked")]
    uuid = await make_instance(nova_db)
    for group in (web, dbg, old):
        await associate(nova_db, group["id"], uuid)
    await associate(nova_db, web["id"], uuid)  # twice: still one group
    await associate(nova_db, unlinked["id"], uuid, deleted=True)
    await db.security_group_destroy(admin, old["id"])
    groups = await db.security_group_get_by_instance(admin, uuid)
    assert [g["id"] for g in groups] == [web["id"], dbg["id"]]
    assert all("rules" in g for g in groups)

    gone = await make_instance(nova_db, deleted=True)
    await associate(nova_db, web["id"], gone)
    assert await db.security_group_get_by_instance(admin, gone) == []
    assert await db.security_group_get_by_instance(admin, "no-such-instance") == []
    assert await db.security_group_get_by_instance(admin, "u" * 37) == []
    with pytest.raises(errors.Invalid):
        await db.security_group_get_by_instance(admin, 42)  # type: ignore[arg-type]


async def test_security_group_in_use_only_for_a_live_instance_through_a_live_association(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    used, idle, stale, orphan = [await make_group(admin, n) for n in ("used", "idle", "stale", "orphan")]
    await associate(nova_db, used["id"], await make_instance(nova_db))
    await associate(nova_db, stale["id"], await make_instance(nova_db), deleted=True)
    await associate(nova_db, orphan["id"], await make_instance(nova_db, deleted=True))
    assert [await db.security_group_in_use(admin, g["id"]) for g in (used, idle, stale, orphan)] == [
        True,
        False,
        False,
        False,
    ]
    assert await db.security_group_in_use(admin, 2**40) is False
    with pytest.raises(errors.Invalid):
        await db.security_group_in_use(admin, "many")


async def test_security_group_count_by_project_counts_live_groups_of_the_callers_project(
    admin: rawdb.Context, alice: rawdb.Context
) -> None:
    await make_group(admin, "a")
    gone = await make_group(admin, "b")
    await make_group(admin, "c", project_id="p2")
    await db.security_group_destroy(admin, gone["id"])
    assert await db.security_group_count_by_project(alice, "p1") == 1
    assert await db.security_group_count_by_project(admin, "p2") == 1
    with pytest.raises(errors.NotAuthorized):
        await db.security_group_count_by_project(alice, "p2")


# --- update -------------------------------------------------------------------------------


async def test_security_group_update_changes_the_columns_and_returns_the_joined_group(admin: rawdb.Context) -> None:
    group = await make_group(admin, "web")
    new = {"name": "web2", "description": "renamed", "user_id": "bob", "project_id": "p9"}
    updated = await db.security_group_update(admin, group["id"], new, columns_to_join=["rules.grantee_group"])
    assert {k: updated[k] for k in new} == new
    assert updated["rules"] == [] and "instances" not in updated
    assert updated["updated_at"] is not None and updated["created_at"] == group["created_at"]
    again = await db.security_group_update(admin, str(group["id"]), {"description": None})
    assert again["description"] is None and again["name"] == "web2"
    assert again["updated_at"] >= updated["updated_at"]
    when = datetime(2020, 1, 2, 3, 4, 5, 678901)
    stamped = await db.security_group_update(admin, group["id"], {"updated_at": when})
    assert stamped["updated_at"] == when


async def test_security_group_update_with_nothing_to_change_returns_the_group_unchanged(admin: rawdb.Context) -> None:
    group = await make_group(admin, "web")
    same = await db.security_group_update(admin, group["id"], {"instances": []})
    assert same["updated_at"] is None and same["name"] == "web"


async def test_security_group_update_to_a_taken_name_raises_exists_and_changes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await make_group(admin, "web", project_id="p1")
    other = await make_group(admin, "web", project_id="p2")
    async with admin.writer() as tx:
        with pytest.raises(errors.SecurityGroupExists) as caught:
            await db.security_group_update(tx, other["id"], {"project_id": "p1"})
        assert caught.value.kwargs == {"project_id": "p1", "security_group_name": "web"}
        await db.security_group_update(tx, other["id"], {"description": "still usable"})
    row = (await select(nova_db, "SELECT project_id, description FROM security_groups WHERE id = :i", i=other["id"]))[0]
    assert row == {"project_id": "p2", "description": "still usable"}


async def test_security_group_update_unknown_or_deleted_group_raises_not_found(admin: rawdb.Context) -> None:
    group = await make_group(admin, "web")
    await db.security_group_destroy(admin, group["id"])
    for missing in (group["id"], group["id"] + 1, 2**40):
        with pytest.raises(errors.SecurityGroupNotFound):
            await db.security_group_update(admin, missing, {"name": "x"})
    revived = await db.security_group_update(admin.elevated(read_deleted="yes"), group["id"], {"description": "d"})
    assert revived["description"] == "d" and revived["deleted"] == group["id"]


@pytest.mark.parametrize(
    "values", [{"name": "x" * 256}, {"name": "a\x00"}, {"user_id": 3}, {"id": 99}, {"deleted": 1}, "name=x"]
)
async def test_security_group_update_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: Any
) -> None:
    group = await make_group(admin, "web")
    with pytest.raises(errors.Invalid):
        await db.security_group_update(admin, group["id"], values)
    row = (await select(nova_db, "SELECT name, user_id, updated_at FROM security_groups"))[0]
    assert row == {"name": "web", "user_id": "alice", "updated_at": None}


# --- destroy ------------------------------------------------------------------------------


async def test_security_group_destroy_soft_deletes_the_group_its_associations_and_rules(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    web = await make_group(admin, "web")
    other = await make_group(admin, "other")
    own = await make_rule(admin, web["id"])  # web's rule
    granting = await make_rule(admin, other["id"], web["id"])  # other's rule granting web
    kept = await make_rule(admin, other["id"])
    uuid = await make_instance(nova_db)
    await associate(nova_db, web["id"], uuid)
    await associate(nova_db, other["id"], uuid)

    await db.security_group_destroy(admin, web["id"])

    group = (
        await select(nova_db, "SELECT deleted, deleted_at, updated_at FROM security_groups WHERE id = :i", i=web["id"])
    )[0]
    assert group["deleted"] == web["id"] and group["deleted_at"] is not None and group["updated_at"] is None
    rules = await select(nova_db, "SELECT id, deleted FROM security_group_rules ORDER BY id")
    assert rules == [
        {"id": own["id"], "deleted": own["id"]},
        {"id": granting["id"], "deleted": granting["id"]},
        {"id": kept["id"], "deleted": 0},
    ]
    links = await select(
        nova_db, "SELECT security_group_id, deleted FROM security_group_instance_association ORDER BY id"
    )
    assert [(link["security_group_id"], link["deleted"] != 0) for link in links] == [
        (web["id"], True),
        (other["id"], False),
    ]
    assert [g["id"] for g in await db.security_group_get_by_instance(admin, uuid)] == [other["id"]]
    await db.security_group_destroy(admin, web["id"])  # again: no error
    await db.security_group_destroy(admin, 2**40)
    with pytest.raises(errors.Invalid):
        await db.security_group_destroy(admin, "web")


async def test_security_group_destroy_is_one_transaction(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    web = await make_group(admin, "web")
    await make_rule(admin, web["id"])
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            await db.security_group_destroy(tx, web["id"])
            raise RuntimeError("roll back")
    assert (await select(nova_db, "SELECT deleted FROM security_groups"))[0]["deleted"] == 0
    assert (await select(nova_db, "SELECT deleted FROM security_group_rules"))[0]["deleted"] == 0


# --- the rule counters and grantee lookups a group's callers use: error paths -------------------


async def test_rule_count_and_grantee_rules_refuse_ids_that_are_no_integers(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    web, grantee = await make_group(admin, "web"), await make_group(admin, "grantee")
    rule = await make_rule(admin, web["id"], grantee["id"])
    before = await select(nova_db, "SELECT * FROM security_group_rules")
    for call in (
        rules_api.security_group_rule_count_by_group,
        rules_api.security_group_rule_get_by_security_group_grantee,
    ):
        for bad in ("abc", None, 1.5, True, [web["id"]], {"id": 1}, "1; DROP TABLE security_group_rules", "9" * 30):
            with pytest.raises(errors.Invalid) as caught:
                await call(admin, bad)
            assert not isinstance(caught.value, errors.DBError), (call.__name__, bad)  # never asked the database
        # ids no row can have: nothing, without an error
        assert await call(admin, 2**40) in (0, [])
        assert await call(admin, -1) in (0, [])
    assert await select(nova_db, "SELECT * FROM security_group_rules") == before
    # the good calls, ids as nova's API passes them too (strings of digits)
    assert await rules_api.security_group_rule_count_by_group(admin, web["id"]) == 1
    assert await rules_api.security_group_rule_count_by_group(admin, str(web["id"])) == 1
    assert await rules_api.security_group_rule_count_by_group(admin, grantee["id"]) == 0
    granting = await rules_api.security_group_rule_get_by_security_group_grantee(admin, str(grantee["id"]))
    assert [r["id"] for r in granting] == [rule["id"]]
    assert await rules_api.security_group_rule_get_by_security_group_grantee(admin, web["id"]) == []
