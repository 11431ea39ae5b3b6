"""instance_get_all_by_filters(_sort): filters, tags, sorting and keyset paging on every backend (spec D.1, B.7)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from novatools import make_group, make_instance, make_rule
from sqltools import execute

import rawdb
from rawdb import errors
from rawdb.nova import api as db

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

T0 = datetime(2020, 1, 1)


async def listed(ctx: rawdb.Context, filters: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
    rows = await db.instance_get_all_by_filters_sort(ctx, filters or {}, **kwargs)
    return [row["uuid"] for row in rows]


async def uuids(database: rawdb.Database, n: int, **values: Any) -> list[str]:
    return [await make_instance(database, created_at=T0 + timedelta(minutes=i), **values) for i in range(n)]


async def tag(database: rawdb.Database, uuid: str, *tags: str) -> None:
    for value in tags:
        await execute(database, "INSERT INTO tags (resource_id, tag) VALUES (:u, :t)", u=uuid, t=value)


async def meta(
    database: rawdb.Database, uuid: str, key: str, value: str, table: str = "instance_metadata", deleted: bool = False
) -> None:
    await execute(
        database,
        f'INSERT INTO {table} (created_at, "key", value, instance_uuid, deleted) VALUES (:now, :k, :v, :u, 0)',
        now=datetime.utcnow(),
        k=key,
        v=value,
        u=uuid,
    )
    if deleted:
        await execute(
            database, f'UPDATE {table} SET deleted = id WHERE instance_uuid = :u AND "key" = :k', u=uuid, k=key
        )


async def test_deleted_instances_are_listed_unless_filtered(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    live, gone = await make_instance(nova_db), await make_instance(nova_db, deleted=True)
    assert set(await listed(admin)) == {live, gone}  # nova ignores the context's read_deleted here
    rows = await db.instance_get_all_by_filters(admin, {"deleted": True})
    assert [r["uuid"] for r in rows] == [gone] and rows[0]["deleted"]


async def test_deleted_and_soft_deleted_combinations(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    live = await make_instance(nova_db, vm_state="active")
    no_state = await make_instance(nova_db, vm_state=None)
    soft = await make_instance(nova_db, vm_state="soft-delete")
    gone = await make_instance(nova_db, deleted=True)
    assert set(await listed(admin, {"deleted": True})) == {soft, gone}
    assert set(await listed(admin, {"deleted": True, "soft_deleted": False})) == {gone}
    # nova 14.0.0 keeps instances whose vm_state is NULL (Grizzly dropped them)
    assert set(await listed(admin, {"deleted": False})) == {live, no_state}
    assert set(await listed(admin, {"deleted": False, "soft_deleted": True})) == {live, no_state, soft}


async def test_users_see_their_project_only_whatever_the_filter(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    mine = await make_instance(nova_db, project_id="p1")
    await make_instance(nova_db, project_id="p2")
    assert await listed(alice, {"project_id": "p2"}) == [mine]
    assert await listed(alice.elevated(), {"project_id": "p2"}) != [mine]


async def test_exact_filters_scalars_lists_and_empty_lists(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    a = await make_instance(nova_db, host="h1", vm_state="active", instance_type_id=1)
    b = await make_instance(nova_db, host="h2", vm_state="active", instance_type_id=2)
    await make_instance(nova_db, host="h3", vm_state="error", instance_type_id=2)
    assert await listed(admin, {"host": "h1"}) == [a]
    assert set(await listed(admin, {"host": ["h1", "h2"]})) == {a, b}
    assert await listed(admin, {"host": []}) == []
    assert await listed(admin, {"instance_type_id": "2", "vm_state": "active"}) == [b]
    assert await listed(admin, {"uuid": (a,)}) == [a]
    assert await listed(admin, {"task_state": None}) != []  # None is IS NULL, as SQLAlchemy wrote it
    with pytest.raises(errors.Invalid):
        await listed(admin, {"instance_type_id": "two"})


async def test_regex_filters_search_and_unknown_keys_are_ignored(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    t1 = await make_instance(nova_db, display_name="test1")
    await make_instance(nova_db, display_name="prod")
    ujk = await make_instance(nova_db, display_name="ünïcødé-1")
    assert await listed(admin, {"display_name": "t.*st."}) == [t1]
    assert await listed(admin, {"display_name": "ïcø"}) == [ujk]
    assert set(await listed(admin, {"display_name": "1"})) == {t1, ujk}
    assert len(await listed(admin, {"ip": "10.0.0.1", "all_tenants": True, "name": "x", "marker": "m"})) == 3
    assert await listed(admin, {"power_state": 1, "display_name": "prod"}) != []  # numbers as text


async def test_regex_filter_values_are_never_sql(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    await make_instance(nova_db, display_name="x")
    assert await listed(admin, {"display_name": "' OR 1=1 --"}) == []
    with pytest.raises(errors.Invalid):  # an unbalanced parenthesis: not a regular expression
        await listed(admin, {"display_name": "x'); DROP TABLE instances; --"})
    assert await listed(admin, {"display_name; DROP TABLE instances": "x"}) != []  # not a column: ignored
    assert len(await listed(admin)) == 1


async def test_changes_since(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    old = await make_instance(nova_db, updated_at=T0)
    new = await make_instance(nova_db, updated_at=T0 + timedelta(hours=1))
    await make_instance(nova_db, updated_at=None)
    assert await listed(admin, {"changes-since": T0 + timedelta(minutes=1)}) == [new]
    assert set(await listed(admin, {"changes-since": T0})) == {old, new}  # >= as nova 14.0.0
    assert await listed(admin, {"changes-since": "2020-01-01T00:30:00Z"}) == [new]
    with pytest.raises(errors.Invalid):
        await listed(admin, {"changes-since": "yesterday"})


async def test_metadata_filters_are_two_independent_probes(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    a, b, c = await uuids(nova_db, 3)
    await meta(nova_db, a, "k", "1")
    await meta(nova_db, b, "k", "2")
    await meta(nova_db, b, "other", "1")
    await meta(nova_db, c, "k", "1", deleted=True)
    assert await listed(admin, {"metadata": {"k": "1"}}) == [b, a]  # b: k=2 and other=1 (nova's quirk)
    assert await listed(admin, {"metadata": [{"k": "2"}, {"other": "1"}]}) == [b]
    await meta(nova_db, c, "s", "v", table="instance_system_metadata")
    assert await listed(admin, {"system_metadata": {"s": "v"}}) == [c]
    with pytest.raises(errors.Invalid):
        await listed(admin, {"metadata": "k=1"})


async def test_tag_filters_in_every_combination(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    a, b, c, d = await uuids(nova_db, 4)
    await tag(nova_db, a, "t1", "t2")
    await tag(nova_db, b, "t1")
    await tag(nova_db, c, "t2", "t3")
    gone = await make_instance(nova_db, deleted=True)
    await tag(nova_db, gone, "t1")
    assert set(await listed(admin, {"tags": ["t1"]})) == {a, b}  # the deleted one never (nova's join)
    assert await listed(admin, {"tags": ["t1", "t2"]}) == [a]
    assert set(await listed(admin, {"tags-any": ["t1", "t3"]})) == {a, b, c}
    assert set(await listed(admin, {"not-tags": ["t1", "t2"]})) == {b, c, d, gone}
    assert set(await listed(admin, {"not-tags-any": ["t1", "t3"]})) == {d, gone}
    assert await listed(admin, {"tags": ["t1"], "not-tags-any": ["t1"]}) == []
    assert await listed(admin, {"tags": ["t1", "t2"], "not-tags": ["t1", "t2"]}) == []
    assert await listed(admin, {"tags-any": ["t3"], "not-tags-any": ["t3"]}) == []
    assert await listed(admin, {"tags": ["t1"], "tags-any": ["t3"]}) == []
    caller_list = ["t1", "t2"]
    await listed(admin, {"tags": caller_list})
    assert caller_list == ["t1", "t2"]  # nova popped the caller's list; rawdb leaves it alone
    with pytest.raises(errors.Invalid):
        await listed(admin, {"tags": "t1"})


async def test_ec2_metadata_tag_filter(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    a, b, c = await uuids(nova_db, 3)
    await meta(nova_db, a, "env", "prod")
    await meta(nova_db, b, "env", "dev")
    await meta(nova_db, c, "team", "prod")
    assert await listed(admin, {"filter": [{"name": "tag:env", "value": "prod"}]}) == [a]
    assert set(await listed(admin, {"filter": [{"name": "tag-key", "value": "env"}]})) == {a, b}
    assert set(
        await listed(admin, {"filter": [{"name": "tag-key", "value": "team"}, {"name": "tag-value", "value": ["dev"]}]})
    ) == {b, c}
    assert await listed(
        admin, {"filter": [{"name": "tag:env", "value": ["prod", "dev"]}, {"name": "tag-value", "value": "dev"}]}
    ) == [b]
    with pytest.raises(errors.InvalidParameterValue):
        await listed(admin, {"filter": [{"name": "tag-nope", "value": "x"}]})


async def test_sorting_and_default_keys(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    a, b, c = await uuids(nova_db, 3)
    assert await listed(admin) == [c, b, a]  # created_at desc, id desc
    assert await listed(admin, sort_keys=["created_at"], sort_dirs=["asc"]) == [a, b, c]
    rows = await db.instance_get_all_by_filters(admin, {}, sort_key="id", sort_dir="asc")
    assert [r["uuid"] for r in rows] == [a, b, c]
    with pytest.raises(errors.InvalidSortKey):
        await listed(admin, sort_keys=["name; DROP TABLE instances"])
    with pytest.raises(errors.InvalidSortKey):
        await listed(admin, sort_keys=["metadata"])
    with pytest.raises(errors.InvalidInput):
        await listed(admin, sort_keys=["id"], sort_dirs=["sideways"])


async def test_marker_paging_and_limits(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    ids = await uuids(nova_db, 4)
    assert await listed(admin, sort_keys=["created_at"], sort_dirs=["asc"], limit=2) == ids[:2]
    assert await listed(admin, sort_keys=["created_at"], sort_dirs=["asc"], marker=ids[1]) == ids[2:]
    assert await listed(admin, marker=ids[3]) == ids[2::-1]
    assert await listed(admin, limit=0) == []
    with pytest.raises(errors.MarkerNotFound):
        await listed(admin, marker="8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3")
    with pytest.raises(errors.Invalid):
        await listed(admin, limit=-1)
    with pytest.raises(errors.Invalid):
        await listed(admin, limit="10")


async def test_a_deleted_marker_or_another_projects_is_still_a_marker(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    first = await make_instance(nova_db, created_at=T0)
    gone = await make_instance(nova_db, created_at=T0 + timedelta(minutes=1), deleted=True)
    theirs = await make_instance(nova_db, created_at=T0 + timedelta(minutes=2), project_id="p2")
    assert await listed(alice, {"deleted": False}, marker=gone) == [first]
    assert await listed(alice, {"deleted": False}, marker=theirs) == [first]


async def test_children_of_a_listed_page(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    inst = await db.instance_create(
        alice,
        {"project_id": "p1", "metadata": {"a": "1"}, "security_groups": ["default"], "system_metadata": {"s": "2"}},
    )
    await tag(nova_db, inst["uuid"], "zz", "aa")
    page = await db.instance_get_all_by_filters_sort(alice, {}, columns_to_join=["tags", "metadata"])
    assert page[0]["tags"] == [{"resource_id": inst["uuid"], "tag": "aa"}, {"resource_id": inst["uuid"], "tag": "zz"}]
    assert page[0]["metadata"] == [{"key": "a", "value": "1"}] and page[0]["system_metadata"] == []
    assert page[0]["security_groups"] == [] and page[0]["info_cache"] is None  # not asked
    default = (await db.instance_get_all_by_filters_sort(alice, {}))[0]
    assert default["system_metadata"] == [{"key": "s", "value": "2"}]
    assert [g["name"] for g in default["security_groups"]] == ["default"] and default["tags"] == []
    assert default == await db.instance_get_by_uuid(alice, inst["uuid"])


async def test_every_child_comes_whole_and_in_order_from_a_page_and_a_get(alice: rawdb.Context) -> None:
    # each backend carries the children its own way (arrays, records, JSON columns, a join):
    # order, NULL values and empty children must come back the same
    inst = await db.instance_create(
        alice, {"project_id": "p1", "metadata": {"z": "1", "a": None, "m": "3"}, "system_metadata": {"s": ""}}
    )
    await db.instance_info_cache_update(alice, inst["uuid"], {"network_info": '[{"id": "port-1"}]'})
    web, empty = await make_group(alice, "web"), await make_group(alice, "empty")
    rules = [await make_rule(alice, web["id"], from_port=port, to_port=port) for port in (443, 22)]
    for group in (empty, web):
        await db.instance_add_security_group(alice, inst["uuid"], group["id"])
    bare = await db.instance_create(alice, {"project_id": "p1"})

    page = await db.instance_get_all_by_filters_sort(
        alice, {"uuid": [inst["uuid"], bare["uuid"]]}, sort_keys=["id"], sort_dirs=["asc"]
    )
    got = page[0]
    assert got["metadata"] == [{"key": "z", "value": "1"}, {"key": "a", "value": None}, {"key": "m", "value": "3"}]
    assert got["system_metadata"] == [{"key": "s", "value": ""}]
    assert got["info_cache"]["network_info"] == '[{"id": "port-1"}]' and got["info_cache"]["deleted"] == 0
    assert isinstance(got["info_cache"]["created_at"], datetime)
    groups = [(g["name"], [r["id"] for r in g["rules"]]) for g in got["security_groups"]]
    assert groups == [("web", [rules[0]["id"], rules[1]["id"]]), ("empty", [])]
    rule = got["security_groups"][0]["rules"][0]
    assert (rule["from_port"], rule["protocol"], rule["parent_group_id"]) == (443, "tcp", web["id"])
    assert isinstance(rule["created_at"], datetime) and rule["deleted_at"] is None
    assert page[1]["metadata"] == [] and page[1]["system_metadata"] == [] and page[1]["security_groups"] == []
    assert got == await db.instance_get_by_uuid(alice, inst["uuid"])


async def test_listing_many_projects_concurrently_returns_each_its_own(nova_db: rawdb.Database) -> None:
    for project in ("p1", "p2", "p3"):
        await uuids(nova_db, 3, project_id=project)

    async def page(project: str) -> set[str]:
        ctx = rawdb.Context(nova_db, project_id=project, user_id="u")
        return {row["project_id"] for row in await db.instance_get_all_by_filters_sort(ctx, {"deleted": False})}

    assert await asyncio.gather(*(page(p) for p in ("p1", "p2", "p3") * 3)) == [{"p1"}, {"p2"}, {"p3"}] * 3


_SORTABLE = ["host", "display_name", "launched_at", "vcpus", "created_at", "locked_by"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.lists(st.sampled_from(_SORTABLE), min_size=1, max_size=3, unique=True),
    dirs=st.lists(st.sampled_from(["asc", "desc"]), min_size=1, max_size=3),
    limit=st.integers(min_value=1, max_value=4),
)
async def test_paging_walks_every_instance_once_in_order(
    admin: rawdb.Context, nova_db: rawdb.Database, keys: list[str], dirs: list[str], limit: int
) -> None:
    """Keyset pages over sort keys with NULLs and ties give the unpaged order exactly."""
    from sqltools import select

    if not await select(nova_db, "SELECT id FROM instances"):
        values = [
            ("h1", "b", None, 1, "owner"),
            ("h1", None, T0, 2, None),
            (None, "a", T0, 1, "admin"),
            ("h2", "b", T0 + timedelta(days=1), None, "owner"),
            ("h1", "b", None, 1, None),
            (None, None, None, None, None),
            ("h2", "a", T0, 2, "admin"),
        ]
        for i, (host, name, launched, vcpus, locked_by) in enumerate(values):
            await make_instance(
                nova_db,
                host=host,
                display_name=name,
                launched_at=launched,
                vcpus=vcpus,
                locked_by=locked_by,
                created_at=T0 + timedelta(minutes=i % 3),
            )
    dirs = dirs[: len(keys)]
    everything = await listed(admin, sort_keys=keys, sort_dirs=dirs)
    walked: list[str] = []
    marker = None
    for _ in range(10):  # 7 instances: a walk that does not end in 8 pages repeats itself
        page = await listed(admin, sort_keys=keys, sort_dirs=dirs, limit=limit, marker=marker)
        walked += page
        if len(page) < limit:
            break
        marker = page[-1]
    assert walked == everything and len(set(everything)) == 7


async def test_cleaned_filter(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    dirty = await make_instance(nova_db, deleted=True, cleaned=0)
    clean = await make_instance(nova_db, deleted=True, cleaned=1)
    assert await listed(admin, {"deleted": True, "cleaned": False}) == [dirty]
    assert await listed(admin, {"deleted": True, "cleaned": True}) == [clean]


async def test_statements_per_page(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    ids = await uuids(nova_db, 5)
    counter = rawdb.StatementCounter()
    with nova_db.hooked(counter):
        assert await listed(admin, limit=0) == []
        assert counter.total == 0  # limit 0: no query at all
        assert len(await listed(admin, {"deleted": False}, limit=2)) == 2
        assert counter.total == 1
        assert await listed(admin, {"deleted": False}, limit=2, marker=ids[2]) == ids[1::-1]
        # the marker is read inside the page statement where one row comparison can start the page
        assert counter.total == (2 if nova_db.dialect != "mysql" else 3)
        assert await listed(admin, {"deleted": False}, limit=2, marker=ids[0]) == []
        assert counter.total == (4 if nova_db.dialect != "mysql" else 5)  # an empty page checks the marker


async def test_a_listed_deleted_instance_keeps_its_system_metadata_not_its_metadata(alice: rawdb.Context) -> None:
    inst = await db.instance_create(alice, {"project_id": "p1", "metadata": {"m": "1"}, "system_metadata": {"s": "2"}})
    await db.instance_destroy(alice, inst["uuid"])
    (listed_row,) = await db.instance_get_all_by_filters_sort(alice, {"deleted": True})
    # nova 14.0.0 fills system metadata with read_deleted='yes', metadata with the caller's
    assert listed_row["system_metadata"] == [{"key": "s", "value": "2"}]
    assert listed_row["metadata"] == []
    (seen,) = await db.instance_get_all_by_filters_sort(alice.elevated(read_deleted="yes"), {"deleted": True})
    assert seen["metadata"] == [{"key": "m", "value": "1"}]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort_keys": "created_at"},
        {"sort_dirs": 5},
        {"sort_keys": [3]},
        {"columns_to_join": "metadata"},
        {"columns_to_join": [None]},
        {"limit": True},
        {"limit": 2.5},
    ],
)
async def test_arguments_of_the_wrong_type_are_rawdb_errors(admin: rawdb.Context, kwargs: dict[str, Any]) -> None:
    with pytest.raises(errors.RawdbError) as caught:
        await db.instance_get_all_by_filters_sort(admin, {}, **kwargs)
    assert isinstance(caught.value, (errors.Invalid, errors.InvalidSortKey))


@pytest.mark.parametrize("filters", [None, ["deleted"], {"host": object()}, {"tags": 7}, {"metadata": 3}])
async def test_filters_of_the_wrong_type_are_invalid(admin: rawdb.Context, filters: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.instance_get_all_by_filters_sort(admin, filters)
