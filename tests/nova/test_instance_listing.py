"""instance_get_all_by_filters(_sort): filters, tags, sorting and keyset paging on every backend (spec D.1, B.7)."""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import uuid as uuidlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from novatools import make_group, make_instance, make_rule
from sqltools import execute, select

import rawdb
from rawdb import errors
from rawdb.conventions import table_columns
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


TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
TAG_VALUES = (["t1"], ["t1", "t2"], ["t2", "t3"])


def tag_model(tags: set[str], live: bool, filters: dict[str, list[str]]) -> bool:
    """nova 14.0.0's tag filters (D.1 step 4): tags / tags-any through the live instance's tags,
    not-tags / not-tags-any their negations (so a deleted instance passes both of those)."""

    def has_all(name: str) -> bool:
        return live and set(filters[name]) <= tags

    def has_any(name: str) -> bool:
        return live and bool(set(filters[name]) & tags)

    checks: dict[str, Callable[[str], bool]] = {
        "tags": has_all,
        "tags-any": has_any,
        "not-tags": lambda name: not has_all(name),
        "not-tags-any": lambda name: not has_any(name),
    }
    return all(checks[name](name) for name in filters)


async def test_tag_filters_in_every_combination_match_novas_semantics(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    """Every non-empty combination of the four tag filters, each with every value of TAG_VALUES
    (255 listings), against the model; contradictory combinations list nothing."""
    world = {"both": {"t1", "t2"}, "t1": {"t1"}, "t2t3": {"t2", "t3"}, "t3": {"t3"}, "bare": set()}
    uuid_of = {name: await make_instance(nova_db, created_at=T0) for name in world}
    for name, tags in world.items():
        await tag(nova_db, uuid_of[name], *sorted(tags))
    gone = await make_instance(nova_db, deleted=True)
    await tag(nova_db, gone, "t1", "t2", "t3")  # tags of a deleted instance never count
    instances = [(uuid_of[name], tags, True) for name, tags in world.items()] + [(gone, {"t1", "t2", "t3"}, False)]
    failures, contradictions = [], 0
    for mask in range(1, 16):
        names = [name for bit, name in enumerate(TAG_FILTERS) if mask >> bit & 1]
        for values in itertools.product(TAG_VALUES, repeat=len(names)):
            filters = dict(zip(names, values, strict=True))
            expected = {uuid for uuid, tags, live in instances if tag_model(tags, live, filters)}
            contradictions += not expected and any(name.startswith("not-") for name in names)
            found = await listed(admin, {name: list(value) for name, value in filters.items()})
            if len(found) != len(set(found)) or set(found) != expected:
                failures.append(f"{filters}: {sorted(found)} != {sorted(expected)}")
    assert not failures, "\n".join(failures)
    assert contradictions >= 20  # the combinations that exclude what they require list nothing


async def test_system_metadata_filter_as_a_list_of_dicts_is_every_pair_as_two_probes(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    a, b, c = await uuids(nova_db, 3)
    table = "instance_system_metadata"
    await meta(nova_db, a, "image_os", "linux", table=table)
    await meta(nova_db, b, "image_os", "windows", table=table)
    await meta(nova_db, b, "arch", "linux", table=table)
    await meta(nova_db, c, "image_os", "linux", table=table, deleted=True)
    await meta(nova_db, c, "arch", "x86", table=table)
    await meta(nova_db, c, "image_os", "linux")  # regular metadata is another table
    assert await listed(admin, {"system_metadata": [{"image_os": "linux"}]}) == [b, a]  # b: the quirk
    assert await listed(admin, {"system_metadata": [{"image_os": "windows"}, {"arch": "linux"}]}) == [b]
    assert await listed(admin, {"system_metadata": [{"image_os": "linux", "arch": "x86"}]}) == []
    assert await listed(admin, {"system_metadata": [{"arch": "x86"}, {"image_os": "linux"}]}) == []  # c's is deleted
    assert await listed(admin, {"system_metadata": [{"arch": "x86"}]}) == [c]
    assert await listed(admin, {"system_metadata": []}) == [c, b, a]  # no pairs: no condition
    assert await listed(admin, {"system_metadata": [{"arch": "linux"}], "metadata": {"image_os": "linux"}}) == []
    with pytest.raises(errors.Invalid):
        await listed(admin, {"system_metadata": [{"arch": "x86"}, "image_os=linux"]})


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


# --- paging over every sort key, against a model of nova's order (spec B.7, D.1) -------------------

# Every instances column is a sort key of the listing; each gets values of its kind with NULLs and
# ties.  The model is nova's order as rawdb documents it, the same on every backend: the keys, then
# created_at and id in the first key's direction (process_sort_params, default 'desc'); NULL the
# smallest value; text by code point; the access addresses as their text.
COLUMNS = table_columns("nova")["instances"]
SORT_KEYS = sorted(COLUMNS)
MOMENTS = (T0, T0 + timedelta(microseconds=1), T0 + timedelta(days=1))
POOLS: dict[str, tuple[Any, ...]] = {
    "locked_by": (None, "owner", "admin"),
    "access_ip_v4": (None, "10.0.0.9", "10.0.0.10", "9.0.0.1"),  # INET orders these the other way
    "access_ip_v6": (None, "2001:db8::a", "::1", "2001:db8::9", "fe80::1"),
}
KIND_POOLS: dict[str, tuple[Any, ...]] = {
    "string": (None, "", "a", "a ", "B", "b", "ab", "é", "\U0001f600"),
    "integer": (None, -1, 0, 1, 7),
    "boolean": (None, False, True),
    "datetime": (None, *MOMENTS),
}


def pool(column: str) -> tuple[Any, ...]:
    return POOLS.get(column) or KIND_POOLS[COLUMNS[column].kind]


def nova_order(rows: list[dict[str, Any]], keys: list[str], dirs: list[str] | None) -> list[str]:
    """The uuids of ``rows`` in nova's order for these sort parameters (NULL the smallest value)."""
    default = dirs[0] if dirs else "desc"
    directions = [*(dirs or []), *[default] * (len(keys) - len(dirs or []))]
    order = [*zip(keys, directions, strict=True), *((k, default) for k in ("created_at", "id") if k not in keys)]

    def compare(x: dict[str, Any], y: dict[str, Any]) -> int:
        for key, direction in order:
            u, v = (x[key] is not None, x[key]), (y[key] is not None, y[key])
            if u != v:
                return (-1 if u < v else 1) * (-1 if direction == "desc" else 1)
        return 0

    return [row["uuid"] for row in sorted(rows, key=functools.cmp_to_key(compare))]


async def plant(database: rawdb.Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace every instance with ``rows`` (one INSERT; ``deleted`` True soft-deletes); the rows with ids."""
    await execute(database, "DELETE FROM instances")
    if not rows:
        return []
    columns = sorted(key for key in rows[0] if key != "deleted")
    values = ", ".join("(" + ", ".join(f":r{n}_{c}" for c in columns) + ")" for n in range(len(rows)))
    params = {f"r{n}_{c}": row[c] for n, row in enumerate(rows) for c in columns}
    await execute(database, f"INSERT INTO instances ({', '.join(columns)}) VALUES {values}", **params)
    for row in rows:
        if row["deleted"]:
            await execute(database, "UPDATE instances SET deleted = id WHERE uuid = :u", u=row["uuid"])
    ids = {r["uuid"]: r["id"] for r in await select(database, "SELECT id, uuid FROM instances")}
    return [{**row, "id": ids[row["uuid"]], "deleted": ids[row["uuid"]] if row["deleted"] else 0} for row in rows]


async def walk(ctx: rawdb.Context, keys: list[str], dirs: list[str] | None, limit: int, most: int) -> list[str]:
    """Every page of the listing after the one before (its last instance the marker), joined."""
    walked: list[str] = []
    marker = None
    for _ in range(most + 2):  # a walk that does not end by then repeats itself
        page = await listed(ctx, sort_keys=keys, sort_dirs=dirs, limit=limit, marker=marker)
        walked += page
        if len(page) < limit:
            return walked
        marker = page[-1]
    raise AssertionError(f"the walk did not end: {walked}")


@st.composite
def paging_cases(draw: st.DrawFn) -> tuple[list[str], list[str] | None, list[dict[str, Any]], int]:
    keys = draw(st.lists(st.sampled_from(SORT_KEYS), min_size=1, max_size=3, unique=True))
    dirs = draw(st.none() | st.lists(st.sampled_from(("asc", "desc")), min_size=1, max_size=len(keys)))
    given = [k for k in dict.fromkeys([*keys, "created_at"]) if k not in ("id", "uuid", "deleted")]
    row = st.fixed_dictionaries({k: st.sampled_from(pool(k)) for k in given} | {"deleted": st.booleans()})
    uuids = draw(st.lists(st.uuids(), min_size=1, max_size=9, unique=True))
    rows = [{**draw(row), "uuid": str(u)} for u in uuids]
    return keys, dirs, rows, draw(st.integers(1, 4))


# PostgreSQL's INET would order these 9.0.0.1 < 10.0.0.9 < 10.0.0.10 and ::1 first; as text, as every
# backend stores them, the other way round.
ADDRESS_ROWS = [
    {"uuid": str(uuidlib.UUID(int=n)), "access_ip_v4": v4, "access_ip_v6": v6, "created_at": T0, "deleted": n == 2}
    for n, (v4, v6) in enumerate(zip(POOLS["access_ip_v4"], POOLS["access_ip_v6"], strict=False))
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=paging_cases())
@example(case=(["access_ip_v4"], ["asc"], ADDRESS_ROWS, 2))
@example(case=(["access_ip_v6", "id"], ["desc"], ADDRESS_ROWS, 1))
async def test_paging_over_generated_instances_walks_nova_order_exactly(
    admin: rawdb.Context,
    nova_db: rawdb.Database,
    case: tuple[list[str], list[str] | None, list[dict[str, Any]], int],
) -> None:
    """Random sort keys (mixed directions, NULLs, ties) over random rows: the unpaged listing and
    the walk through its pages are nova's order, on every backend alike."""
    keys, dirs, rows, limit = case
    planted = await plant(nova_db, rows)
    expected = nova_order(planted, keys, dirs)
    assert await listed(admin, sort_keys=keys, sort_dirs=dirs) == expected
    assert await walk(admin, keys, dirs, limit, len(rows)) == expected


async def test_every_column_is_a_sort_key_that_pages_in_nova_order_both_ways(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    """Each column alone, ascending and descending, over rows where it is NULL and tied: pages of 3
    joined are nova's order (the default keys break the ties)."""
    rows = [
        {
            **{c: pool(c)[n % len(pool(c))] for c in SORT_KEYS if c not in ("id", "uuid", "deleted")},
            "created_at": MOMENTS[n % 2],
            "uuid": str(uuidlib.UUID(int=(n * 7919) % 11)),
            "deleted": n % 3 == 0,
        }
        for n in range(8)
    ]
    planted = await plant(nova_db, rows)
    failures = []
    for column in SORT_KEYS:
        for direction in ("asc", "desc"):
            expected = nova_order(planted, [column], [direction])
            walked = await walk(admin, [column], [direction], 3, len(rows))
            if walked != expected:
                failures.append(f"{column} {direction}: {walked} != {expected}")
    assert not failures, "\n".join(failures)


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


# --- the other listings' error paths -----------------------------------------------------------

UNKNOWN = "8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3"
WEST = timezone(timedelta(hours=-1))
# (function, positional arguments after the context, keyword arguments, the error)
LISTING_ERRORS: list[tuple[str, tuple[Any, ...], dict[str, Any], type[errors.RawdbError]]] = [
    ("instance_get_all", (), {"columns_to_join": "metadata"}, errors.Invalid),
    ("instance_get_all", (), {"columns_to_join": [None]}, errors.Invalid),
    ("instance_get_all_by_filters", ({},), {"sort_key": "no_column"}, errors.InvalidSortKey),
    ("instance_get_all_by_filters", ({},), {"sort_key": 5}, errors.InvalidSortKey),
    ("instance_get_all_by_filters", ({},), {"sort_key": ["id"]}, errors.InvalidSortKey),  # one key, not a list
    ("instance_get_all_by_filters", ({},), {"sort_key": "id; DROP TABLE instances"}, errors.InvalidSortKey),
    ("instance_get_all_by_filters", ({},), {"sort_dir": "up"}, errors.InvalidInput),
    ("instance_get_all_by_filters", ({},), {"sort_dir": None}, errors.InvalidInput),
    ("instance_get_all_by_filters", ({},), {"sort_dir": ["asc"]}, errors.InvalidInput),
    ("instance_get_all_by_filters", ({},), {"limit": -1}, errors.Invalid),
    ("instance_get_all_by_filters", ({},), {"limit": "5"}, errors.Invalid),
    ("instance_get_all_by_filters", ({},), {"marker": UNKNOWN}, errors.MarkerNotFound),
    ("instance_get_all_by_filters", ({},), {"columns_to_join": 7}, errors.Invalid),
    ("instance_get_all_by_filters", (["host"],), {}, errors.Invalid),
    ("instance_get_active_by_window_joined", ("yesterday",), {}, errors.Invalid),
    ("instance_get_active_by_window_joined", (5,), {}, errors.Invalid),
    ("instance_get_active_by_window_joined", (datetime(9999, 12, 31, 23, tzinfo=WEST),), {}, errors.Invalid),
    ("instance_get_active_by_window_joined", (T0,), {"end": "tomorrow"}, errors.Invalid),
    ("instance_get_active_by_window_joined", (T0,), {"project_id": 5}, errors.Invalid),
    ("instance_get_active_by_window_joined", (T0,), {"host": "h" * 256}, errors.Invalid),
    ("instance_get_active_by_window_joined", (T0,), {"host": "h\x00"}, errors.Invalid),
    ("instance_get_active_by_window_joined", (T0,), {"columns_to_join": "metadata"}, errors.Invalid),
    ("instance_get_all_by_host", (5,), {}, errors.Invalid),
    ("instance_get_all_by_host", ("h" * 256,), {}, errors.Invalid),
    ("instance_get_all_by_host", ("\ud800",), {}, errors.Invalid),
    ("instance_get_all_by_host", ("host1",), {"columns_to_join": "metadata"}, errors.Invalid),
    ("instance_get_all_by_host_and_node", ("host1", 5), {}, errors.Invalid),
    ("instance_get_all_by_host_and_node", (1.5, "node1"), {}, errors.Invalid),
    ("instance_get_all_by_host_and_node", ("host1", "n" * 256), {}, errors.Invalid),
    ("instance_get_all_by_host_and_node", ("host1", "node1\x00"), {}, errors.Invalid),
    ("instance_get_all_by_host_and_node", ("host1", "node1"), {"columns_to_join": [3]}, errors.Invalid),
    ("instance_get_all_by_host_and_not_type", ("host1", "abc"), {}, errors.Invalid),
    ("instance_get_all_by_host_and_not_type", ("host1", 2**40), {}, errors.Invalid),
    ("instance_get_all_by_host_and_not_type", ("host1", True), {}, errors.Invalid),
    ("instance_get_all_by_host_and_not_type", ("host1", math.nan), {}, errors.Invalid),
    ("instance_get_all_by_host_and_not_type", (["host1"], 1.5), {}, errors.Invalid),
    ("instance_get_all_hung_in_rebooting", ("abc",), {}, errors.Invalid),
    ("instance_get_all_hung_in_rebooting", (None,), {}, errors.Invalid),
    ("instance_get_all_hung_in_rebooting", (math.inf,), {}, errors.Invalid),
    ("instance_get_all_hung_in_rebooting", (1.5,), {}, errors.Invalid),
    ("instance_get_all_hung_in_rebooting", (2**40,), {}, errors.Invalid),
    ("instance_get_all_by_grantee_security_groups", ("12",), {}, errors.Invalid),
    ("instance_get_all_by_grantee_security_groups", (5,), {}, errors.Invalid),
    ("instance_get_all_by_grantee_security_groups", ({1: 2},), {}, errors.Invalid),
    ("instance_get_all_by_grantee_security_groups", (["a"],), {}, errors.Invalid),
    ("instance_get_all_by_grantee_security_groups", ([1, None],), {}, errors.Invalid),
    ("instance_get_all_by_grantee_security_groups", ([2**70],), {}, errors.Invalid),
    ("instance_get_all_by_grantee_security_groups", ([1.5],), {}, errors.Invalid),
    ("instance_data_get_for_project", (5,), {}, errors.Invalid),
    ("instance_data_get_for_project", (["p1"],), {}, errors.Invalid),
    ("instance_data_get_for_project", ("p1\x00",), {}, errors.Invalid),
    ("instance_data_get_for_project", ("\ud800",), {}, errors.Invalid),
]


async def test_the_listings_refuse_wrong_types_and_bad_values_with_rawdb_errors(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    """Each listing's bad arguments: the named rawdb error, raised before the database is asked
    (never a DBError from the driver), every backend alike; the good call finds the instance."""
    inst = await make_instance(nova_db, launched_at=T0, task_state="rebooting", updated_at=T0)
    before = await select(nova_db, "SELECT * FROM instances")
    failures = []
    for name, args, kwargs, error in LISTING_ERRORS:
        call = f"{name}{args!r:.60} {kwargs!r:.60}"
        try:
            await getattr(db, name)(admin, *args, **kwargs)
        except errors.RawdbError as exc:
            if type(exc) is not error or isinstance(exc, errors.DBError):
                failures.append(f"{call}: {type(exc).__name__}: {exc}")
        except Exception as exc:
            failures.append(f"{call}: leaked {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{call}: no error")
    assert not failures, "\n".join(failures)
    assert await select(nova_db, "SELECT * FROM instances") == before
    # the same calls with good arguments find the instance
    for found in (
        await db.instance_get_all(admin, columns_to_join=["metadata"]),
        await db.instance_get_all_by_filters(admin, {}, sort_key="display_name", sort_dir="asc", limit=1),
        await db.instance_get_active_by_window_joined(admin, T0 - timedelta(days=1), project_id="p1"),
        await db.instance_get_all_by_host(admin, "host1"),
        await db.instance_get_all_by_host_and_node(admin, "host1", "node1"),
        await db.instance_get_all_by_host_and_not_type(admin, "host1", 2),
        await db.instance_get_all_hung_in_rebooting(admin, 60),
    ):
        assert [row["uuid"] for row in found] == [inst]
    assert await db.instance_data_get_for_project(admin, "p1") == (1, 1, 512)


async def test_listing_errors_carry_novas_kwargs(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    await make_instance(nova_db)
    with pytest.raises(errors.MarkerNotFound) as marker:
        await db.instance_get_all_by_filters_sort(admin, {}, marker=UNKNOWN)
    assert marker.value.kwargs == {"marker": UNKNOWN} and UNKNOWN in str(marker.value)
    with pytest.raises(errors.MarkerNotFound) as long_marker:
        await db.instance_get_all_by_filters(admin, {}, marker="m" * 40)
    assert long_marker.value.kwargs == {"marker": "m" * 40}
    with pytest.raises(errors.InvalidSortKey) as key:
        await db.instance_get_all_by_filters_sort(admin, {}, sort_keys=["display_name", "no_column"])
    assert key.value.kwargs == {"key": "no_column"} and "no_column" in str(key.value)
