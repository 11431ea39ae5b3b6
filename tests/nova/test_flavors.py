"""Flavors (rawdb.nova.flavors) on every backend: Newton's flavor_* and Grizzly's instance_type_* functions,
their errors, bad input, nova bug 1172153's fix, and the races the live-unique keys settle."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import flavors as db

COLUMNS = [
    "id",
    "name",
    "memory_mb",
    "vcpus",
    "root_gb",
    "ephemeral_gb",
    "flavorid",
    "swap",
    "rxtx_factor",
    "vcpu_weight",
    "disabled",
    "is_public",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "extra_specs",
]


@pytest.fixture(autouse=True)
async def no_default_flavors(nova_db: rawdb.Database) -> None:
    """Start without the five flavors bootstrap seeds into a new database (the SQLite template has them)."""
    await execute(nova_db, "DELETE FROM instance_types")


def base(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "m1.test",
        "flavorid": "f1",
        "memory_mb": 512,
        "vcpus": 1,
        "root_gb": 10,
        "ephemeral_gb": 5,
    }
    values.update(changes)
    return values


async def make(admin: rawdb.Context, name: str, flavorid: str, **changes: Any) -> dict[str, Any]:
    return await db.flavor_create(admin, base(name=name, flavorid=flavorid, **changes))


def names(flavors: list[dict[str, Any]]) -> list[str]:
    return [f["name"] for f in flavors]


async def live_rows(database: rawdb.Database, table: str) -> int:
    rows = await select(database, f"SELECT count(*) AS n FROM {table} WHERE deleted = 0")
    return int(rows[0]["n"])


# --- create ----------------------------------------------------------------------------------


async def test_flavor_create_returns_the_columns_defaults_and_extra_specs_and_grants_each_project_once(
    admin: rawdb.Context,
) -> None:
    flavor = await db.flavor_create(
        admin, base(extra_specs={"hw:cpu": "2", "quota:x": "y"}), projects=["p2", "p1", "p2"]
    )
    assert list(flavor) == COLUMNS
    assert {k: flavor[k] for k in ("name", "flavorid", "memory_mb", "vcpus", "root_gb", "ephemeral_gb")} == {
        "name": "m1.test",
        "flavorid": "f1",
        "memory_mb": 512,
        "vcpus": 1,
        "root_gb": 10,
        "ephemeral_gb": 5,
    }
    assert (flavor["swap"], flavor["rxtx_factor"], flavor["disabled"], flavor["is_public"]) == (0, 1.0, False, True)
    assert type(flavor["rxtx_factor"]) is float and type(flavor["disabled"]) is bool
    assert (flavor["vcpu_weight"], flavor["deleted"], flavor["deleted_at"], flavor["updated_at"]) == (
        None,
        0,
        None,
        None,
    )
    assert isinstance(flavor["created_at"], datetime)
    assert flavor["extra_specs"] == {"hw:cpu": "2", "quota:x": "y"}
    assert await db.flavor_get(admin, flavor["id"]) == flavor
    access = await db.flavor_access_get_by_flavor_id(admin, "f1")
    assert [(a["project_id"], a["instance_type_id"]) for a in access] == [("p2", flavor["id"]), ("p1", flavor["id"])]


async def test_instance_type_create_is_grizzlys_create_for_admins_only(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    flavor = await db.instance_type_create(admin, base(rxtx_factor=0.5, is_public=False, extra_specs={"a": "1"}))
    assert (flavor["rxtx_factor"], flavor["is_public"], flavor["extra_specs"]) == (0.5, False, {"a": "1"})
    with pytest.raises(errors.AdminRequired):
        await db.instance_type_create(alice, base(name="other", flavorid="f2"))
    assert await count_rows(nova_db, "instance_types") == 1


async def test_flavor_create_with_a_live_name_or_flavorid_raises_newtons_errors_grizzlys_too(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await make(admin, "small", "1")
    with pytest.raises(errors.FlavorExists) as name_taken:
        await make(admin, "small", "2")
    assert name_taken.value.kwargs == {"name": "small"}
    assert isinstance(name_taken.value, errors.InstanceTypeExists)
    with pytest.raises(errors.FlavorIdExists) as id_taken:
        await make(admin, "big", "1")
    assert id_taken.value.kwargs == {"flavor_id": "1"}
    with pytest.raises(errors.FlavorExists):  # both taken: the name is reported, as Grizzly checked it first
        await make(admin, "small", "1")
    with pytest.raises(errors.InstanceTypeExists) as grizzly_name:
        await db.instance_type_create(admin, base(name="small", flavorid="3"))
    assert type(grizzly_name.value) is errors.InstanceTypeExists
    with pytest.raises(errors.InstanceTypeIdExists) as grizzly_id:
        await db.instance_type_create(admin, base(name="huge", flavorid="1"))
    assert type(grizzly_id.value) is errors.InstanceTypeIdExists
    assert await count_rows(nova_db, "instance_types") == 1


async def test_a_deleted_flavors_name_and_flavorid_can_be_used_again(admin: rawdb.Context) -> None:
    old = await make(admin, "small", "1")
    await db.flavor_destroy(admin, "1")
    new = await make(admin, "small", "1")
    assert new["id"] != old["id"]
    assert (await db.flavor_get_by_flavor_id(admin, "1", read_deleted="yes"))["id"] == new["id"]
    assert (await db.flavor_get_by_flavor_id(admin, "1", read_deleted="only"))["id"] == old["id"]


async def test_a_duplicate_inside_a_callers_transaction_leaves_the_transaction_usable(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await make(admin, "small", "1")
    async with admin.writer() as tx:
        with pytest.raises(errors.FlavorExists):
            await make(tx, "small", "2")
        await make(tx, "medium", "2")
    assert names(await db.flavor_get_all(admin)) == ["small", "medium"]


@pytest.mark.parametrize(
    ("values", "projects"),
    [
        (base(colour="red"), None),
        (base(name=None), None),
        ({"flavorid": "x", "memory_mb": 1, "vcpus": 1}, None),
        (base(vcpus=None), None),
        (base(name="n" * 256), None),
        (base(flavorid="f" * 256), None),
        (base(name="a\x00b"), None),
        (base(memory_mb="lots"), None),
        (base(memory_mb=2**31), None),
        (base(rxtx_factor="fast"), None),
        (base(is_public="maybe"), None),
        (base(extra_specs=["a", "b"]), None),
        (base(extra_specs={"a": 1}), None),
        (base(extra_specs={"k" * 256: "v"}), None),
        (base(extra_specs={"a": "v" * 256}), None),
        (base(), "p1"),
        (base(), ["p" * 256]),
        (base(), [None]),
        (["name", "x"], None),
    ],
)
async def test_flavor_create_with_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: Any, projects: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.flavor_create(admin, values, projects)
    for table in ("instance_types", "instance_type_extra_specs", "instance_type_projects"):
        assert await count_rows(nova_db, table) == 0


async def test_flavor_create_does_not_change_the_callers_values(admin: rawdb.Context) -> None:
    values = base(extra_specs={"a": "1"})
    await db.flavor_create(admin, values)
    assert values == base(extra_specs={"a": "1"})


# --- getters ---------------------------------------------------------------------------------


async def test_getters_find_a_flavor_by_id_name_and_flavorid(admin: rawdb.Context, alice: rawdb.Context) -> None:
    flavor = await make(admin, "small", "1", extra_specs={"k": "v"})
    await make(admin, "big", "2")
    for getter in (db.flavor_get, db.instance_type_get):
        assert await getter(alice, flavor["id"]) == flavor
        assert await getter(alice, str(flavor["id"])) == flavor  # nova's API passes ids as strings
    for by_name in (db.flavor_get_by_name, db.instance_type_get_by_name):
        assert await by_name(alice, "small") == flavor
    for by_flavorid in (db.flavor_get_by_flavor_id, db.instance_type_get_by_flavor_id):
        assert await by_flavorid(alice, "1") == flavor


async def test_getters_raise_each_releases_not_found_errors(admin: rawdb.Context) -> None:
    with pytest.raises(errors.FlavorNotFound) as by_id:
        await db.flavor_get(admin, 42)
    assert by_id.value.kwargs == {"flavor_id": 42}
    with pytest.raises(errors.InstanceTypeNotFound) as grizzly_by_id:
        await db.instance_type_get(admin, 42)
    assert grizzly_by_id.value.kwargs == {"instance_type_id": 42}
    with pytest.raises(errors.FlavorNotFoundByName) as by_name:
        await db.flavor_get_by_name(admin, "nope")
    assert by_name.value.kwargs == {"flavor_name": "nope"} and isinstance(by_name.value, errors.FlavorNotFound)
    with pytest.raises(errors.InstanceTypeNotFoundByName) as grizzly_by_name:
        await db.instance_type_get_by_name(admin, "nope")
    assert grizzly_by_name.value.kwargs == {"instance_type_name": "nope"}
    for by_flavorid in (db.flavor_get_by_flavor_id, db.instance_type_get_by_flavor_id):
        with pytest.raises(errors.FlavorNotFound) as missing:
            await by_flavorid(admin, "nope")
        assert missing.value.kwargs == {"flavor_id": "nope"}
    with pytest.raises(errors.FlavorNotFound):
        await db.flavor_get(admin, 2**40)  # no row can have it
    with pytest.raises(errors.FlavorNotFound):
        await db.flavor_get_by_flavor_id(admin, "x" * 300)


async def test_getters_refuse_keys_of_the_wrong_type(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.flavor_get(admin, "abc")
    with pytest.raises(errors.Invalid):
        await db.instance_type_get_by_name(admin, 5)
    with pytest.raises(errors.Invalid):
        await db.flavor_get_by_flavor_id(admin, 1)
    with pytest.raises(errors.InvalidReadDeleted):
        await db.flavor_get_by_flavor_id(admin, "1", read_deleted="sometimes")


async def test_newton_getters_hide_a_private_flavor_from_other_projects_until_access_is_granted(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context
) -> None:
    private = await make(admin, "private", "p", is_public=False)
    await db.flavor_access_add(admin, "p", "p2")  # carol's project
    assert (await db.flavor_get(carol, private["id"]))["id"] == private["id"]
    with pytest.raises(errors.FlavorNotFound):
        await db.flavor_get(alice, private["id"])
    with pytest.raises(errors.FlavorNotFoundByName):
        await db.flavor_get_by_name(alice, "private")
    with pytest.raises(errors.FlavorNotFound):
        await db.flavor_get_by_flavor_id(alice, "p")
    # Grizzly's getters had no such restriction
    assert (await db.instance_type_get(alice, private["id"]))["name"] == "private"
    assert (await db.instance_type_get_by_flavor_id(alice, "p"))["name"] == "private"
    await db.flavor_access_add(admin, "p", "p1")
    assert (await db.flavor_get_by_name(alice, "private"))["id"] == private["id"]


async def test_getters_see_deleted_flavors_as_the_context_says(admin: rawdb.Context) -> None:
    flavor = await make(admin, "small", "1")
    await db.flavor_destroy(admin, "1")
    with pytest.raises(errors.FlavorNotFound):
        await db.flavor_get(admin, flavor["id"])
    seen = await db.flavor_get(admin.elevated(read_deleted="yes"), flavor["id"])
    assert (seen["id"], seen["deleted"]) == (flavor["id"], flavor["id"])
    assert (await db.instance_type_get_by_name(admin.elevated(read_deleted="only"), "small"))["id"] == flavor["id"]


async def test_getters_require_a_context_that_is_admin_or_a_users(nova_db: rawdb.Database) -> None:
    nobody = rawdb.Context(nova_db)
    with pytest.raises(errors.NotAuthorized):
        await db.flavor_get(nobody, 1)
    with pytest.raises(errors.NotAuthorized):
        await db.instance_type_get_all(nobody)


# --- listings --------------------------------------------------------------------------------

LISTED = [
    # name, flavorid, root_gb, memory_mb, disabled, is_public
    ("a1", "f1", 600, 100, True, True),
    ("a2", "f2", 500, 200, True, True),
    ("a3", "f3", 400, 300, False, True),
    ("a4", "f4", 300, 400, False, False),
    ("a5", "f5", 200, 500, True, False),
    ("a6", "f6", 100, 600, True, False),
]


@pytest.fixture
async def listed(admin: rawdb.Context) -> None:
    for name, flavorid, root_gb, memory_mb, disabled, public in LISTED:
        await make(admin, name, flavorid, root_gb=root_gb, memory_mb=memory_mb, disabled=disabled, is_public=public)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, ["a1", "a2", "a3", "a4", "a5", "a6"]),
        ({"min_memory_mb": 350}, ["a4", "a5", "a6"]),
        ({"min_memory_mb": "550"}, ["a6"]),
        ({"min_root_gb": 350}, ["a1", "a2", "a3"]),
        ({"disabled": True}, ["a1", "a2", "a5", "a6"]),
        ({"disabled": "false"}, ["a3", "a4"]),
        ({"is_public": True}, ["a1", "a2", "a3"]),
        ({"is_public": False}, ["a4", "a5", "a6"]),
        ({"is_public": None}, ["a1", "a2", "a3", "a4", "a5", "a6"]),
        ({"min_memory_mb": 250, "min_root_gb": 250, "disabled": False}, ["a3", "a4"]),
        ({"min_memory_mb": 650}, []),
        ({"unknown": 1}, ["a1", "a2", "a3", "a4", "a5", "a6"]),
    ],
)
async def test_flavor_get_all_filters(
    admin: rawdb.Context, listed: None, filters: dict[str, Any] | None, expected: list[str]
) -> None:
    assert names(await db.flavor_get_all(admin, filters=filters)) == expected
    assert names(await db.instance_type_get_all(admin, filters=filters)) == expected


async def test_is_public_true_also_lists_the_private_flavors_the_project_may_use(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context, listed: None
) -> None:
    await db.flavor_access_add(admin, "f5", "p1")
    await db.flavor_access_add(admin, "f6", "p1")
    await db.flavor_access_remove(admin, "f6", "p1")  # a deleted access row grants nothing
    public = {"is_public": True}
    assert names(await db.flavor_get_all(alice, filters=public)) == ["a1", "a2", "a3", "a5"]
    assert names(await db.instance_type_get_all(alice, filters=public)) == ["a1", "a2", "a3", "a5"]
    assert names(await db.flavor_get_all(carol, filters=public)) == ["a1", "a2", "a3"]
    assert names(await db.flavor_get_all(admin, filters=public)) == ["a1", "a2", "a3"]  # admin: no project
    assert names(await db.flavor_get_all(alice, filters={"is_public": False})) == ["a5"]  # and visible
    # Newton: a non-admin lists what it may see; Grizzly listed everything
    assert names(await db.flavor_get_all(alice)) == ["a1", "a2", "a3", "a5"]
    assert names(await db.instance_type_get_all(alice)) == ["a1", "a2", "a3", "a4", "a5", "a6"]


async def test_inactive_lists_deleted_flavors_too(admin: rawdb.Context, listed: None) -> None:
    await db.flavor_destroy(admin, "f2")
    assert names(await db.flavor_get_all(admin)) == ["a1", "a3", "a4", "a5", "a6"]
    assert names(await db.flavor_get_all(admin, inactive=True)) == ["a1", "a2", "a3", "a4", "a5", "a6"]
    assert names(await db.instance_type_get_all(admin, inactive=True)) == ["a1", "a2", "a3", "a4", "a5", "a6"]


async def test_flavor_get_all_sorts_by_a_key_then_id(admin: rawdb.Context, listed: None) -> None:
    assert names(await db.flavor_get_all(admin, sort_key="memory_mb", sort_dir="desc")) == [
        "a6",
        "a5",
        "a4",
        "a3",
        "a2",
        "a1",
    ]
    assert names(await db.flavor_get_all(admin, sort_key="root_gb")) == ["a6", "a5", "a4", "a3", "a2", "a1"]
    # ties on disabled are broken by id, in the same direction
    assert names(await db.flavor_get_all(admin, sort_key="disabled", sort_dir="desc")) == [
        "a6",
        "a5",
        "a2",
        "a1",
        "a4",
        "a3",
    ]


async def test_instance_type_get_all_orders_by_name(admin: rawdb.Context) -> None:
    for name, flavorid in (("b", "1"), ("c", "2"), ("a", "3")):
        await make(admin, name, flavorid)
    assert names(await db.instance_type_get_all(admin)) == ["a", "b", "c"]
    assert names(await db.flavor_get_all(admin)) == ["b", "c", "a"]  # Newton: by flavorid


async def test_flavor_get_all_pages_after_a_marker(admin: rawdb.Context, listed: None) -> None:
    first = await db.flavor_get_all(admin, limit=2)
    assert names(first) == ["a1", "a2"]
    assert names(await db.flavor_get_all(admin, limit=2, marker="f2")) == ["a3", "a4"]
    assert names(await db.flavor_get_all(admin, marker="f4", sort_key="memory_mb", sort_dir="desc")) == [
        "a3",
        "a2",
        "a1",
    ]
    assert await db.flavor_get_all(admin, limit=0) == []
    assert await db.flavor_get_all(admin, marker="f6") == []


async def test_a_walk_through_pages_sorted_by_a_column_with_nulls_returns_every_flavor_once(
    admin: rawdb.Context,
) -> None:
    weights = {"f1": 3, "f2": None, "f3": 1, "f4": None, "f5": 3}
    for flavorid, weight in weights.items():
        await make(admin, f"n{flavorid}", flavorid, vcpu_weight=weight)
    for sort_dir, expected in (
        ("asc", ["f2", "f4", "f3", "f1", "f5"]),  # NULL sorts as the smallest value
        ("desc", ["f5", "f1", "f3", "f4", "f2"]),
    ):
        everything = [f["flavorid"] for f in await db.flavor_get_all(admin, sort_key="vcpu_weight", sort_dir=sort_dir)]
        assert everything == expected
        walked: list[str] = []
        marker = None
        for _ in range(6):
            page = await db.flavor_get_all(admin, sort_key="vcpu_weight", sort_dir=sort_dir, limit=2, marker=marker)
            walked += [f["flavorid"] for f in page]
            if len(page) < 2:
                break
            marker = page[-1]["flavorid"]
        assert walked == expected


async def test_flavor_get_all_refuses_an_unknown_marker_sort_key_or_direction(
    admin: rawdb.Context, alice: rawdb.Context, listed: None
) -> None:
    with pytest.raises(errors.MarkerNotFound) as missing:
        await db.flavor_get_all(admin, marker="invalid")
    assert missing.value.kwargs == {"marker": "invalid"}
    with pytest.raises(errors.MarkerNotFound):
        await db.flavor_get_all(alice, marker="f4")  # a private flavor alice cannot see
    with pytest.raises(errors.MarkerNotFound):
        await db.flavor_get_all(admin, marker="m" * 300)
    for bad_key in ("extra_specs", "projects", "name; DROP TABLE instance_types", None):
        with pytest.raises(errors.InvalidSortKey):
            await db.flavor_get_all(admin, sort_key=bad_key)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidSortDir):
        await db.flavor_get_all(admin, sort_dir="up")
    for bad_limit in (-1, "2", 1.5):
        with pytest.raises(errors.Invalid):
            await db.flavor_get_all(admin, limit=bad_limit)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.flavor_get_all(admin, filters={"min_memory_mb": "a lot"})
    with pytest.raises(errors.Invalid):
        await db.flavor_get_all(admin, filters=["is_public"])  # type: ignore[arg-type]


async def test_a_listing_is_one_statement_with_the_extra_specs_aggregated(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    for i in range(4):
        await make(admin, f"n{i}", f"f{i}", extra_specs={"a": str(i), "b": "x"})
    counter = rawdb.StatementCounter()
    with nova_db.hooked(counter):
        flavors = await db.flavor_get_all(admin)
        assert counter.total == 1
        assert await db.instance_type_get_all(admin) == flavors
        assert counter.total == 2
    assert [f["extra_specs"] for f in flavors] == [{"a": str(i), "b": "x"} for i in range(4)]


# --- destroy ---------------------------------------------------------------------------------


async def test_flavor_destroy_soft_deletes_the_flavor_its_extra_specs_and_access_rows(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    doomed = await make(admin, "doomed", "a1", extra_specs={"a": "1", "b": "2"})
    kept = await make(admin, "kept", "a2", extra_specs={"c": "3"})
    await db.flavor_access_add(admin, "a1", "p1")
    await db.flavor_access_add(admin, "a2", "p3")
    await db.flavor_destroy(admin, "a1")

    with pytest.raises(errors.FlavorNotFound):
        await db.flavor_get(admin, doomed["id"])
    assert await db.flavor_extra_specs_get(admin, "a1") == {}
    assert await db.flavor_access_get_by_flavor_id(admin, "a1") == []
    assert await db.flavor_get(admin, kept["id"]) == kept
    assert [a["project_id"] for a in await db.flavor_access_get_by_flavor_id(admin, "a2")] == ["p3"]
    row = (await select(nova_db, "SELECT deleted, updated_at, deleted_at FROM instance_types WHERE name = 'doomed'"))[0]
    assert row["deleted"] == doomed["id"]
    assert row["updated_at"] == row["deleted_at"]  # Newton's model soft_delete() saves the row
    assert await live_rows(nova_db, "instance_type_extra_specs") == 1
    assert await live_rows(nova_db, "instance_type_projects") == 1
    with pytest.raises(errors.FlavorNotFound) as again:
        await db.flavor_destroy(admin, "a1")
    assert again.value.kwargs == {"flavor_id": "a1"}


async def test_instance_type_destroy_by_name_also_deletes_access_rows_bug_1172153(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    flavor = await make(admin, "doomed", "a1", extra_specs={"a": "1"})
    await db.instance_type_access_add(admin, "a1", "p1")
    await db.instance_type_access_add(admin, "a1", "p2")
    await db.instance_type_destroy(admin, "doomed")

    # Grizzly left the access rows live (nova bug 1172153); Havana and rawdb delete them
    assert await live_rows(nova_db, "instance_type_projects") == 0
    assert await live_rows(nova_db, "instance_type_extra_specs") == 0
    # and listing an unknown flavor's access is [] (Grizzly raised AttributeError)
    assert await db.instance_type_access_get_by_flavor_id(admin, "a1") == []
    assert await db.instance_type_access_get_by_flavor_id(admin, "never-existed") == []
    row = (await select(nova_db, "SELECT deleted, updated_at FROM instance_types"))[0]
    assert (row["deleted"], row["updated_at"]) == (flavor["id"], None)  # Grizzly's bulk soft delete keeps it
    with pytest.raises(errors.InstanceTypeNotFoundByName) as again:
        await db.instance_type_destroy(admin, "doomed")
    assert again.value.kwargs == {"instance_type_name": "doomed"}
    await make(admin, "spared", "a2")
    with pytest.raises(errors.AdminRequired):
        await db.instance_type_destroy(alice, "spared")
    assert names(await db.flavor_get_all(admin)) == ["spared"]


# --- access ----------------------------------------------------------------------------------


async def test_flavor_access_add_returns_the_row_and_lists_in_order(admin: rawdb.Context) -> None:
    flavor = await make(admin, "n1", "f1")
    other = await make(admin, "n2", "f2")
    first = await db.flavor_access_add(admin, "f1", "pr1")
    second = await db.instance_type_access_add(admin, "f1", "pr2")
    await db.flavor_access_add(admin, "f2", "pr1")
    assert list(first) == ["id", "instance_type_id", "project_id", "created_at", "updated_at", "deleted_at", "deleted"]
    assert (first["instance_type_id"], first["project_id"], first["deleted"]) == (flavor["id"], "pr1", 0)
    assert await db.flavor_access_get_by_flavor_id(admin, "f1") == [first, second]
    assert await db.instance_type_access_get_by_flavor_id(admin, "f1") == [first, second]
    assert [a["instance_type_id"] for a in await db.flavor_access_get_by_flavor_id(admin, "f2")] == [other["id"]]


async def test_flavor_access_add_errors(admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    await make(admin, "n1", "f1")
    await db.flavor_access_add(admin, "f1", "p1")
    with pytest.raises(errors.FlavorAccessExists) as exists:
        await db.flavor_access_add(admin, "f1", "p1")
    assert exists.value.kwargs == {"flavor_id": "f1", "project_id": "p1"}
    with pytest.raises(errors.FlavorNotFound) as missing:
        await db.flavor_access_add(admin, "nope", "p1")
    assert missing.value.kwargs == {"flavor_id": "nope"}
    with pytest.raises(errors.FlavorNotFound):
        await db.instance_type_access_add(admin, "nope", "p1")
    with pytest.raises(errors.AdminRequired):
        await db.instance_type_access_add(alice, "f1", "p2")
    for bad in (None, 5, "p" * 256):
        with pytest.raises(errors.Invalid):
            await db.flavor_access_add(admin, "f1", bad)  # type: ignore[arg-type]
    assert await count_rows(nova_db, "instance_type_projects") == 1


async def test_flavor_access_remove_and_its_errors(admin: rawdb.Context, alice: rawdb.Context) -> None:
    await make(admin, "n1", "f1")
    kept = await db.flavor_access_add(admin, "f1", "pr1")
    await db.flavor_access_add(admin, "f1", "pr2")
    await db.flavor_access_remove(admin, "f1", "pr2")
    assert await db.flavor_access_get_by_flavor_id(admin, "f1") == [kept]
    for remove in (db.flavor_access_remove, db.instance_type_access_remove):
        with pytest.raises(errors.FlavorAccessNotFound) as missing:
            await remove(admin, "f1", "pr2")
        assert missing.value.kwargs == {"flavor_id": "f1", "project_id": "pr2"}
        with pytest.raises(errors.FlavorNotFound):
            await remove(admin, "nope", "pr1")
    with pytest.raises(errors.AdminRequired):
        await db.instance_type_access_remove(alice, "f1", "pr1")
    with pytest.raises(errors.AdminRequired):
        await db.instance_type_access_get_by_flavor_id(alice, "f1")
    await db.instance_type_access_remove(admin, "f1", "pr1")
    assert await db.flavor_access_get_by_flavor_id(admin, "f1") == []
    # access can be granted again after removal
    assert (await db.flavor_access_add(admin, "f1", "pr1"))["project_id"] == "pr1"


# --- extra specs -----------------------------------------------------------------------------


async def test_extra_specs_get_update_or_create_and_delete(admin: rawdb.Context, alice: rawdb.Context) -> None:
    await make(admin, "n1", "f1", extra_specs={"a": "a", "b": "b", "c": "c"})
    await make(admin, "n2", "f2", extra_specs={"d": "d"})
    assert await db.flavor_extra_specs_get(alice, "f1") == {"a": "a", "b": "b", "c": "c"}
    assert await db.instance_type_extra_specs_get(alice, "f2") == {"d": "d"}
    returned = await db.flavor_extra_specs_update_or_create(alice, "f1", {"b": "b1", "e": "e1"})
    assert returned == {"b": "b1", "e": "e1"}
    await db.instance_type_extra_specs_update_or_create(alice, "f1", {"c": "c2"})
    assert await db.flavor_extra_specs_get(alice, "f1") == {"a": "a", "b": "b1", "c": "c2", "e": "e1"}
    await db.flavor_extra_specs_delete(alice, "f1", "a")
    await db.instance_type_extra_specs_delete(alice, "f1", "b")
    assert await db.flavor_extra_specs_get(alice, "f1") == {"c": "c2", "e": "e1"}
    assert await db.flavor_extra_specs_get(alice, "f2") == {"d": "d"}
    await db.flavor_extra_specs_update_or_create(alice, "f1", {"a": "again"})  # a deleted key comes back
    assert (await db.flavor_get_by_flavor_id(alice, "f1"))["extra_specs"] == {"c": "c2", "e": "e1", "a": "again"}


async def test_extra_spec_updates_move_updated_at_only_when_the_value_changes(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await make(admin, "n1", "f1", extra_specs={"same": "1", "changed": "1"})
    await db.flavor_extra_specs_update_or_create(admin, "f1", {"same": "1", "changed": "2"})
    rows = await select(nova_db, 'SELECT "key", value, updated_at FROM instance_type_extra_specs ORDER BY "key"')
    assert [(r["key"], r["value"], r["updated_at"] is None) for r in rows] == [
        ("changed", "2", False),
        ("same", "1", True),
    ]


async def test_extra_specs_errors_differ_between_the_releases(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    await make(admin, "n1", "f1", extra_specs={"a": "1"})
    with pytest.raises(errors.FlavorExtraSpecsNotFound) as missing:
        await db.flavor_extra_specs_delete(admin, "f1", "dummy")
    assert missing.value.kwargs == {"extra_specs_key": "dummy", "flavor_id": "f1"}
    with pytest.raises(errors.FlavorExtraSpecsNotFound):
        await db.flavor_extra_specs_delete(admin, "nope", "a")
    await db.instance_type_extra_specs_delete(admin, "f1", "dummy")  # Grizzly: no error
    await db.instance_type_extra_specs_delete(admin, "nope", "a")
    for update in (db.flavor_extra_specs_update_or_create, db.instance_type_extra_specs_update_or_create):
        with pytest.raises(errors.FlavorNotFound) as no_flavor:
            await update(admin, "nope", {"a": "1"})
        assert no_flavor.value.kwargs == {"flavor_id": "nope"}
    assert await db.flavor_extra_specs_get(admin, "nope") == {}
    for bad in (["a"], {"a": 1}, {"a": None}, {"k" * 256: "v"}, {"a": "\x00"}):
        with pytest.raises(errors.Invalid):
            await db.flavor_extra_specs_update_or_create(admin, "f1", bad)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.flavor_extra_specs_delete(admin, "f1", 7)  # type: ignore[arg-type]
    assert await db.flavor_extra_specs_get(admin, "f1") == {"a": "1"}
    assert await count_rows(nova_db, "instance_type_extra_specs") == 1


# --- races -----------------------------------------------------------------------------------


async def _contexts(open_db: OpenDb, nova_url: str, n: int) -> list[rawdb.Context]:
    return [rawdb.Context(await open_db(nova_url), is_admin=True) for _ in range(n)]


async def test_concurrent_creates_of_one_name_leave_one_flavor(
    open_db: OpenDb, nova_url: str, nova_db: rawdb.Database
) -> None:
    callers = await _contexts(open_db, nova_url, 6)
    results = await asyncio.gather(
        *(db.flavor_create(c, base(name="race", flavorid=f"id{i}")) for i, c in enumerate(callers)),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, dict)]
    assert len(created) == 1
    assert all(isinstance(r, errors.FlavorExists) for r in results if not isinstance(r, dict))
    assert await live_rows(nova_db, "instance_types") == 1


async def test_concurrent_creates_of_one_flavorid_leave_one_flavor(
    open_db: OpenDb, nova_url: str, nova_db: rawdb.Database
) -> None:
    callers = await _contexts(open_db, nova_url, 6)
    results = await asyncio.gather(
        *(db.instance_type_create(c, base(name=f"n{i}", flavorid="race")) for i, c in enumerate(callers)),
        return_exceptions=True,
    )
    assert len([r for r in results if isinstance(r, dict)]) == 1
    assert all(isinstance(r, errors.InstanceTypeIdExists) for r in results if not isinstance(r, dict))
    assert await live_rows(nova_db, "instance_types") == 1


async def test_concurrent_updates_of_one_extra_spec_key_leave_one_live_row(
    admin: rawdb.Context, open_db: OpenDb, nova_url: str, nova_db: rawdb.Database
) -> None:
    await make(admin, "n1", "f1")
    callers = await _contexts(open_db, nova_url, 8)
    await asyncio.gather(
        *(db.flavor_extra_specs_update_or_create(c, "f1", {"k": f"v{i}", "z": "1"}) for i, c in enumerate(callers))
    )
    rows = await select(nova_db, 'SELECT "key", value FROM instance_type_extra_specs WHERE deleted = 0')
    assert sorted(r["key"] for r in rows) == ["k", "z"]
    assert (await db.flavor_extra_specs_get(admin, "f1"))["k"] in {f"v{i}" for i in range(8)}


async def test_concurrent_access_adds_of_one_project_leave_one_row(
    admin: rawdb.Context, open_db: OpenDb, nova_url: str, nova_db: rawdb.Database
) -> None:
    await make(admin, "n1", "f1")
    callers = await _contexts(open_db, nova_url, 6)
    results = await asyncio.gather(
        *(db.flavor_access_add(c, "f1", "p9") for c in callers),
        return_exceptions=True,
    )
    assert len([r for r in results if isinstance(r, dict)]) == 1
    assert all(isinstance(r, errors.FlavorAccessExists) for r in results if not isinstance(r, dict))
    assert await live_rows(nova_db, "instance_type_projects") == 1
