"""Nova's security group rules and default rules (rawdb.nova.security_group_rules) on every backend."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

import pytest
from novatools import GROUP_KEYS, RULE_KEYS, associate, make_group, make_instance, make_rule
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import security_group_rules as db
from rawdb.nova import security_groups

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

DEFAULT_RULE_KEYS = {
    "id",
    "protocol",
    "from_port",
    "to_port",
    "cidr",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


async def test_security_group_rule_create_returns_the_rule_with_its_grantee_group(admin: rawdb.Context) -> None:
    web = await make_group(admin, "web")
    other = await make_group(admin, "db")
    open_rule = await make_rule(admin, web["id"], cidr="10.0.0.0/24")
    assert set(open_rule) == RULE_KEYS | {"grantee_group"}
    assert open_rule["grantee_group"] is None and open_rule["cidr"] == "10.0.0.0/24"
    assert (open_rule["parent_group_id"], open_rule["protocol"], open_rule["from_port"]) == (web["id"], "tcp", 22)
    assert open_rule["deleted"] == 0 and open_rule["updated_at"] is None

    granting = await db.security_group_rule_create(
        admin, {"parent_group": web, "grantee_group": other, "protocol": "udp", "deleted": 0, "deleted_at": None}
    )
    assert (granting["parent_group_id"], granting["group_id"]) == (web["id"], other["id"])
    assert set(granting["grantee_group"]) == GROUP_KEYS and granting["grantee_group"]["name"] == "db"
    assert (await db.security_group_rule_get(admin, granting["id"]))["group_id"] == other["id"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("10.0.0.1/32", "10.0.0.1"),
        ("10.0.0.1/24", "10.0.0.1/24"),
        (" 0.0.0.0/0 ", "0.0.0.0/0"),
        ("2001:DB8:0:0:0:0:0:1/64", "2001:db8::1/64"),
        ("2001:db8::1/128", "2001:db8::1"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::1.2.3.4/120", "::1.2.3.4/120"),
        ("::2", "::2"),
        (ipaddress.ip_network("192.168.0.0/16"), "192.168.0.0/16"),
        (ipaddress.ip_address("fe80::1"), "fe80::1"),
    ],
)
async def test_security_group_rule_cidr_reads_back_as_postgresql_prints_it_on_every_backend(
    admin: rawdb.Context, given: Any, stored: str
) -> None:
    web = await make_group(admin, "web")
    rule = await make_rule(admin, web["id"], cidr=given)
    assert rule["cidr"] == stored
    assert (await db.security_group_rule_get(admin, rule["id"]))["cidr"] == stored


@pytest.mark.parametrize(
    "values",
    [
        {"cidr": "10.0.0.300/24"},
        {"cidr": "nonsense"},
        {"cidr": 167772161},
        {"protocol": "t" * 256},
        {"protocol": "tc\x00p"},
        {"from_port": "twenty"},
        {"from_port": 2**40},
        {"to_port": 22.5},
        {"colour": "red"},
        {"id": 7},
        {"parent_group": "web"},
        {"grantee_group": {"name": "no id"}},
        {"deleted": 1},
    ],
)
async def test_security_group_rule_create_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any]
) -> None:
    web = await make_group(admin, "web")
    with pytest.raises(errors.Invalid):
        await make_rule(admin, web["id"], **values)
    assert await count_rows(nova_db, "security_group_rules") == 0


async def test_security_group_rule_create_conflicting_relationship_and_id_is_invalid(admin: rawdb.Context) -> None:
    web = await make_group(admin, "web")
    other = await make_group(admin, "db")
    with pytest.raises(errors.Invalid):
        await db.security_group_rule_create(admin, {"parent_group": web, "parent_group_id": other["id"]})
    with pytest.raises(errors.Invalid):
        await db.security_group_rule_create(admin, ["protocol", "tcp"])  # type: ignore[arg-type]


async def test_security_group_rule_create_for_an_unknown_group_is_a_reference_error(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.DBReferenceError):
        await make_rule(admin, 4242)
    assert await count_rows(nova_db, "security_group_rules") == 0


async def test_security_group_rule_get_finds_live_rules_and_deleted_ones_as_read_deleted_says(
    admin: rawdb.Context,
) -> None:
    web = await make_group(admin, "web")
    rule = await make_rule(admin, web["id"])
    found = await db.security_group_rule_get(admin, str(rule["id"]))
    assert set(found) == RULE_KEYS
    assert found == {k: v for k, v in rule.items() if k != "grantee_group"}
    await db.security_group_rule_destroy(admin, rule["id"])
    with pytest.raises(errors.SecurityGroupNotFoundForRule) as caught:
        await db.security_group_rule_get(admin, rule["id"])
    assert caught.value.kwargs == {"rule_id": rule["id"]}
    assert isinstance(caught.value, errors.SecurityGroupNotFound)
    deleted = await db.security_group_rule_get(admin.elevated(read_deleted="yes"), rule["id"])
    assert deleted["deleted"] == rule["id"] and deleted["deleted_at"] is not None
    for missing in (rule["id"] + 1, 2**40):
        with pytest.raises(errors.SecurityGroupNotFoundForRule):
            await db.security_group_rule_get(admin, missing)
    with pytest.raises(errors.Invalid):
        await db.security_group_rule_get(admin, "rule-1")


async def test_security_group_rule_destroy_soft_deletes_once(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    web = await make_group(admin, "web")
    first = await make_rule(admin, web["id"])
    second = await make_rule(admin, web["id"])
    await db.security_group_rule_destroy(admin, first["id"])
    with pytest.raises(errors.SecurityGroupNotFoundForRule):
        await db.security_group_rule_destroy(admin, first["id"])
    with pytest.raises(errors.SecurityGroupNotFoundForRule):
        await db.security_group_rule_destroy(admin, 2**40)
    with pytest.raises(errors.Invalid):
        await db.security_group_rule_destroy(admin, None)  # type: ignore[arg-type]
    rows = await select(nova_db, "SELECT id, deleted, updated_at FROM security_group_rules ORDER BY id")
    assert rows == [
        {"id": first["id"], "deleted": first["id"], "updated_at": None},
        {"id": second["id"], "deleted": 0, "updated_at": None},
    ]


async def add_system_metadata(database: rawdb.Database, uuid: str, key: str, value: str, deleted: bool = False) -> None:
    await execute(
        database,
        'INSERT INTO instance_system_metadata (instance_uuid, "key", value, created_at, deleted) '
        "VALUES (:uuid, :key, :value, :now, 0)",
        uuid=uuid,
        key=key,
        value=value,
        now=datetime.utcnow(),
    )
    if deleted:
        await execute(
            database,
            'UPDATE instance_system_metadata SET deleted = id WHERE instance_uuid = :u AND "key" = :k',
            u=uuid,
            k=key,
        )


async def test_security_group_rule_get_by_security_group_joins_grantee_instances_by_default(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    web = await make_group(admin, "web")
    app = await make_group(admin, "app")
    uuid = await make_instance(nova_db)
    bare = await make_instance(nova_db)
    await associate(nova_db, app["id"], uuid)
    await associate(nova_db, app["id"], bare)
    await add_system_metadata(nova_db, uuid, "image_os", "linux")
    await add_system_metadata(nova_db, uuid, "gone", "x", deleted=True)
    await execute(
        nova_db,
        "INSERT INTO instance_info_caches (instance_uuid, network_info, created_at, deleted) VALUES (:u, '[]', :t, 0)",
        u=uuid,
        t=datetime.utcnow(),
    )
    granting = await make_rule(admin, web["id"], app["id"])
    plain = await make_rule(admin, web["id"], cidr="0.0.0.0/0")
    await make_rule(admin, app["id"])  # another group's rule

    rules = await db.security_group_rule_get_by_security_group(admin, web["id"])
    assert [r["id"] for r in rules] == [granting["id"], plain["id"]]
    assert rules[1]["grantee_group"] is None
    grantee = rules[0]["grantee_group"]
    assert set(grantee) == GROUP_KEYS | {"instances"}
    assert [i["uuid"] for i in grantee["instances"]] == [uuid, bare]
    first, second = grantee["instances"]
    assert first["system_metadata"] == [{"key": "image_os", "value": "linux"}]
    assert first["info_cache"]["network_info"] == "[]" and first["info_cache"]["instance_uuid"] == uuid
    assert second["system_metadata"] == [] and second["info_cache"] is None
    assert {"uuid", "host", "vm_state", "name", "deleted", "access_ip_v4"} <= set(first)

    no_joins = await db.security_group_rule_get_by_security_group(admin, web["id"], columns_to_join=[])
    assert all(set(r) == RULE_KEYS for r in no_joins)
    only_group = await db.security_group_rule_get_by_security_group(admin, web["id"], columns_to_join=["grantee_group"])
    assert set(only_group[0]["grantee_group"]) == GROUP_KEYS
    with pytest.raises(errors.Invalid):
        await db.security_group_rule_get_by_security_group(admin, web["id"], columns_to_join=["parent_group"])
    assert await db.security_group_rule_get_by_security_group(admin, 2**40) == []
    with pytest.raises(errors.Invalid):
        await db.security_group_rule_get_by_security_group(admin, "web")


async def test_security_group_rule_get_by_security_group_follows_read_deleted(admin: rawdb.Context) -> None:
    web = await make_group(admin, "web")
    kept = await make_rule(admin, web["id"])
    gone = await make_rule(admin, web["id"])
    await db.security_group_rule_destroy(admin, gone["id"])
    live = await db.security_group_rule_get_by_security_group(admin, web["id"], columns_to_join=[])
    assert [r["id"] for r in live] == [kept["id"]]
    both = await db.security_group_rule_get_by_security_group(admin.elevated(read_deleted="yes"), web["id"], [])
    assert [r["id"] for r in both] == [kept["id"], gone["id"]]


async def test_security_group_rule_get_by_security_group_grantee_returns_rules_granting_the_group(
    admin: rawdb.Context,
) -> None:
    web = await make_group(admin, "web")
    app = await make_group(admin, "app")
    granting = await make_rule(admin, web["id"], app["id"])
    await make_rule(admin, app["id"])  # app's own rule grants nothing
    rules = await db.security_group_rule_get_by_security_group_grantee(admin, app["id"])
    assert [r["id"] for r in rules] == [granting["id"]] and set(rules[0]) == RULE_KEYS
    assert await db.security_group_rule_get_by_security_group_grantee(admin, web["id"]) == []
    assert await db.security_group_rule_get_by_security_group_grantee(admin, 2**40) == []


async def test_security_group_rule_get_by_instance_returns_the_rules_of_its_live_groups(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    web, app, old, unlinked = [await make_group(admin, n) for n in ("web", "app", "old", "unlinked")]
    uuid = await make_instance(nova_db)
    for group in (web, app, old):
        await associate(nova_db, group["id"], uuid)
    await associate(nova_db, unlinked["id"], uuid, deleted=True)
    r1 = await make_rule(admin, web["id"], app["id"])
    r2 = await make_rule(admin, app["id"])
    r3 = await make_rule(admin, web["id"])
    await db.security_group_rule_destroy(admin, r3["id"])
    await make_rule(admin, unlinked["id"])
    await make_rule(admin, old["id"])
    await security_groups.security_group_destroy(admin, old["id"])

    rules = await db.security_group_rule_get_by_instance(admin, uuid)
    assert [r["id"] for r in rules] == [r1["id"], r2["id"]]
    assert rules[0]["grantee_group"]["id"] == app["id"] and rules[1]["grantee_group"] is None
    assert await db.security_group_rule_get_by_instance(admin, await make_instance(nova_db, deleted=True)) == []
    assert await db.security_group_rule_get_by_instance(admin, "x" * 40) == []
    with pytest.raises(errors.Invalid):
        await db.security_group_rule_get_by_instance(admin, None)  # type: ignore[arg-type]


async def test_security_group_rule_count_by_group_counts_live_rules(admin: rawdb.Context) -> None:
    web = await make_group(admin, "web")
    app = await make_group(admin, "app")
    rules = [await make_rule(admin, web["id"]) for _ in range(3)]
    await make_rule(admin, app["id"], web["id"])  # grants web, is app's
    await db.security_group_rule_destroy(admin, rules[0]["id"])
    assert await db.security_group_rule_count_by_group(admin, web["id"]) == 2
    assert await db.security_group_rule_count_by_group(admin, app["id"]) == 1
    assert await db.security_group_rule_count_by_group(admin, 2**40) == 0


async def test_security_group_rule_calls_need_an_admin_or_user_context(nova_db: rawdb.Database) -> None:
    nobody = rawdb.Context(nova_db)
    with pytest.raises(errors.NotAuthorized):
        await db.security_group_rule_get(nobody, 1)
    with pytest.raises(errors.NotAuthorized):
        await db.security_group_default_rule_list(nobody)


# --- default rules ------------------------------------------------------------------------


async def test_security_group_default_rules_are_created_listed_got_and_destroyed(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    ssh = await db.security_group_default_rule_create(
        alice, {"protocol": "tcp", "from_port": "22", "to_port": 22, "cidr": "0.0.0.0/0"}
    )
    assert set(ssh) == DEFAULT_RULE_KEYS and ssh["from_port"] == 22 and ssh["deleted"] == 0
    ping = await db.security_group_default_rule_create(admin, {"protocol": "icmp", "from_port": -1, "to_port": -1})
    assert ping["cidr"] is None
    assert await db.security_group_default_rule_get(alice, ssh["id"]) == ssh
    assert [r["id"] for r in await db.security_group_default_rule_list(alice)] == [ssh["id"], ping["id"]]

    await db.security_group_default_rule_destroy(admin, ssh["id"])
    assert [r["id"] for r in await db.security_group_default_rule_list(admin)] == [ping["id"]]
    with pytest.raises(errors.SecurityGroupDefaultRuleNotFound) as caught:
        await db.security_group_default_rule_get(admin, ssh["id"])
    assert caught.value.kwargs == {"rule_id": ssh["id"]}
    assert isinstance(caught.value, errors.Invalid) and isinstance(caught.value, errors.NotFound)
    with pytest.raises(errors.SecurityGroupDefaultRuleNotFound):
        await db.security_group_default_rule_destroy(admin, ssh["id"])
    yes = admin.elevated(read_deleted="yes")
    assert (await db.security_group_default_rule_get(yes, ssh["id"]))["deleted"] == ssh["id"]
    assert [r["id"] for r in await db.security_group_default_rule_list(yes)] == [ssh["id"], ping["id"]]
    row = (await select(nova_db, "SELECT updated_at FROM security_group_default_rules WHERE id = :i", i=ssh["id"]))[0]
    assert row["updated_at"] is None


@pytest.mark.parametrize(
    "values",
    [{"protocol": "tcp-ip"}, {"protocol": 6}, {"cidr": "10.0.0.0/33"}, {"from_port": True}, {"group_id": 1}, "tcp"],
)
async def test_security_group_default_rule_create_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.security_group_default_rule_create(admin, values)
    assert await count_rows(nova_db, "security_group_default_rules") == 0


@pytest.mark.parametrize("bad", ["one", 1.0, None, [1]])
async def test_security_group_default_rule_ids_that_are_no_integers_are_invalid(admin: rawdb.Context, bad: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.security_group_default_rule_get(admin, bad)
    with pytest.raises(errors.Invalid):
        await db.security_group_default_rule_destroy(admin, bad)
    with pytest.raises(errors.SecurityGroupDefaultRuleNotFound):
        await db.security_group_default_rule_get(admin, 2**40)


# --- provider firewall rules -------------------------------------------------------------------

PROVIDER_RULE_KEYS = DEFAULT_RULE_KEYS  # id, protocol, from_port, to_port, cidr and the timestamps


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("192.168.0.0/24", "192.168.0.0/24"),
        ("10.1.2.3/32", "10.1.2.3"),
        ("2001:4f8:3:ba::/64", "2001:4f8:3:ba::/64"),
        ("2001:4f8:3:ba:2e0:81ff:fe22:d1f1/128", "2001:4f8:3:ba:2e0:81ff:fe22:d1f1"),
        ("2001:04F8:0003:00BA:0000:0000:0000:0000/64", "2001:4f8:3:ba::/64"),
    ],
)
async def test_provider_fw_rule_create_returns_the_rule_with_its_cidr_as_every_backend_stores_it(
    admin: rawdb.Context, given: str, stored: str
) -> None:
    rule = await db.provider_fw_rule_create(
        admin, {"protocol": "tcp", "from_port": 9999, "to_port": "9898", "cidr": given}
    )
    assert set(rule) == PROVIDER_RULE_KEYS
    assert (rule["protocol"], rule["from_port"], rule["to_port"], rule["cidr"]) == ("tcp", 9999, 9898, stored)
    assert (rule["deleted"], rule["deleted_at"], rule["updated_at"]) == (0, None, None)
    assert isinstance(rule["created_at"], datetime)
    assert await db.provider_fw_rule_get_all(admin) == [rule]


async def test_provider_fw_rule_get_all_lists_rules_in_order_and_deleted_ones_as_read_deleted_says(
    admin: rawdb.Context, alice: rawdb.Context
) -> None:
    made = [
        await db.provider_fw_rule_create(alice, {"protocol": f"foo{i}", "from_port": i, "to_port": i, "cidr": cidr})
        for i, cidr in enumerate(["192.168.0.0/24", None, "::/0"])
    ]
    assert [r["protocol"] for r in await db.provider_fw_rule_get_all(admin)] == ["foo0", "foo1", "foo2"]
    assert made[1]["cidr"] is None
    await db.provider_fw_rule_destroy(admin, made[1]["id"])
    assert [r["id"] for r in await db.provider_fw_rule_get_all(alice)] == [made[0]["id"], made[2]["id"]]
    deleted = await db.provider_fw_rule_get_all(admin.elevated(read_deleted="only"))
    assert [(r["id"], r["deleted"]) for r in deleted] == [(made[1]["id"], made[1]["id"])]
    assert len(await db.provider_fw_rule_get_all(admin.elevated(read_deleted="yes"))) == 3


async def test_provider_fw_rule_destroy_soft_deletes_once_and_ignores_unknown_ids(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    rule = await db.provider_fw_rule_create(admin, {"protocol": "udp", "from_port": 53, "to_port": 53})
    assert await db.provider_fw_rule_destroy(admin, str(rule["id"])) is None
    first = await select(nova_db, "SELECT deleted, deleted_at, updated_at FROM provider_fw_rules")
    assert first[0]["deleted"] == rule["id"] and first[0]["deleted_at"] is not None
    assert first[0]["updated_at"] is None  # a bulk soft delete keeps updated_at
    await db.provider_fw_rule_destroy(admin, rule["id"])  # already deleted: unchanged
    await db.provider_fw_rule_destroy(admin, 424242)
    await db.provider_fw_rule_destroy(admin, 2**40)
    assert await select(nova_db, "SELECT deleted, deleted_at, updated_at FROM provider_fw_rules") == first
    assert await db.provider_fw_rule_get_all(admin) == []
    for bad in ("one", 1.5, None):
        with pytest.raises(errors.Invalid):
            await db.provider_fw_rule_destroy(admin, bad)


@pytest.mark.parametrize(
    "rule",
    [
        {"cidr": "10.1.2.300/32"},
        {"cidr": "fw"},
        {"protocol": "tcp/ip"},
        {"from_port": "any"},
        {"parent_group_id": 1},
        {"nope": True},
        "tcp",
    ],
)
async def test_provider_fw_rule_create_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, rule: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.provider_fw_rule_create(admin, rule)
    assert await count_rows(nova_db, "provider_fw_rules") == 0
