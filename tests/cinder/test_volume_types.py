"""Cinder's volume types and extra specs (rawdb.cinder.volume_types) on every backend: the dicts with
``extra_specs``, ``{name: type}`` listings, search by extra spec, repeated names, soft deletes, cinder
bugs 1090306 and 1095401, bad input, and the races of concurrent creates and extra-spec upserts."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.cinder import volume_types as db

OLD = datetime(2012, 9, 27, 12, 0, 0, 123456)


async def specs_rows(database: rawdb.Database, type_id: int | None = None) -> list[dict[str, Any]]:
    rows = await select(
        database,
        'SELECT volume_type_id, "key", value, updated_at, deleted_at, deleted FROM volume_type_extra_specs ORDER BY id',
    )
    return [r for r in rows if type_id is None or r["volume_type_id"] == type_id]


async def live_specs(database: rawdb.Database, type_id: int) -> list[tuple[str, str]]:
    return [(r["key"], r["value"]) for r in await specs_rows(database, type_id) if not r["deleted"]]


# --- volume_type_create ------------------------------------------------------------------


async def test_volume_type_create_returns_the_type_with_its_extra_specs_as_a_dict(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await db.volume_type_create(
        admin, {"name": "gold", "extra_specs": {"drive_type": "SAS", "rpm": "7200", "size": 300}}
    )

    assert set(created) == {"id", "name", "created_at", "updated_at", "deleted_at", "deleted", "extra_specs"}
    assert (created["name"], created["deleted"], created["deleted_at"]) == ("gold", False, None)
    assert created["extra_specs"] == {"drive_type": "SAS", "rpm": "7200", "size": "300"}  # 300 stored as text
    assert isinstance(created["id"], int) and isinstance(created["created_at"], datetime)
    assert await live_specs(cinder_db, created["id"]) == [("drive_type", "SAS"), ("rpm", "7200"), ("size", "300")]
    assert await db.volume_type_get(admin, created["id"]) == created


async def test_volume_type_create_without_extra_specs_and_with_explicit_times(admin: rawdb.Context) -> None:
    created = await db.volume_type_create(admin, {"name": "plain", "created_at": OLD, "updated_at": OLD})
    assert (created["extra_specs"], created["created_at"], created["updated_at"]) == ({}, OLD, OLD)
    assert await db.volume_type_get_by_name(admin, "plain") == created


async def test_volume_type_create_repeated_live_name_raises_volume_type_exists(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await db.volume_type_create(admin, {"name": "dup", "extra_specs": {"k": "v"}})
    with pytest.raises(errors.VolumeTypeExists) as caught:
        await db.volume_type_create(admin, {"name": "dup", "extra_specs": {"k2": "v2"}})
    assert caught.value.kwargs["name"] == "dup"
    assert "dup" in str(caught.value)
    assert await count_rows(cinder_db, "volume_types") == 1
    assert [r["key"] for r in await specs_rows(cinder_db)] == ["k"]


async def test_volume_type_create_after_destroy_reuses_the_name(admin: rawdb.Context) -> None:
    first = await db.volume_type_create(admin, {"name": "again"})
    await db.volume_type_destroy(admin, "again")
    second = await db.volume_type_create(admin, {"name": "again"})
    assert second["id"] != first["id"]
    assert (await db.volume_type_get_by_name(admin, "again"))["id"] == second["id"]


async def test_volume_type_create_is_for_admins_only(alice: rawdb.Context, cinder_db: rawdb.Database) -> None:
    with pytest.raises(errors.AdminRequired):
        await db.volume_type_create(alice, {"name": "mine"})
    assert await count_rows(cinder_db, "volume_types") == 0


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"name": None},
        {"name": 5},
        {"name": "x" * 256},
        {"name": "nul\x00name"},
        {"name": "t", "colour": "red"},
        {"name": "t", "id": 7},
        {"name": "t", "created_at": "yesterday"},
        {"name": "t", "extra_specs": ["k", "v"]},
        {"name": "t", "extra_specs": {"k": ["v"]}},
        {"name": "t", "extra_specs": {"k": True}},
        {"name": "t", "extra_specs": {"k": None}},
        {"name": "t", "extra_specs": {3: "v"}},
        {"name": "t", "extra_specs": {"k" * 256: "v"}},
        {"name": "t", "extra_specs": {"k": "v" * 256}},
        {"name": "t", "extra_specs": {"k": "a\x00b"}},
        ["name", "t"],
    ],
)
async def test_volume_type_create_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, values: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.volume_type_create(admin, values)
    assert await count_rows(cinder_db, "volume_types") == 0
    assert await count_rows(cinder_db, "volume_type_extra_specs") == 0


async def test_volume_type_create_ignores_unknown_keys_without_a_value(admin: rawdb.Context) -> None:
    created = await db.volume_type_create(admin, {"name": "t", "colour": None, "extra_specs": None})
    assert (created["name"], created["extra_specs"]) == ("t", {})


async def test_volume_type_create_of_one_name_is_race_free_across_connections(
    cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(cinder_url) for _ in range(8)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    results = await asyncio.gather(
        *(db.volume_type_create(c, {"name": "race", "extra_specs": {"n": str(i)}}) for i, c in enumerate(callers)),
        return_exceptions=True,
    )

    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.VolumeTypeExists)]
    assert (len(created), len(refused)) == (1, 7), results
    rows = await select(cinder_db, "SELECT id, name, deleted FROM volume_types")
    assert [(r["id"], r["name"], bool(r["deleted"])) for r in rows] == [(created[0]["id"], "race", False)]
    assert await live_specs(cinder_db, created[0]["id"]) == [("n", created[0]["extra_specs"]["n"])]
    assert await count_rows(cinder_db, "volume_type_extra_specs") == 1


# --- volume_type_get_all -----------------------------------------------------------------


async def test_volume_type_get_all_returns_live_types_by_name_as_a_dict(
    admin: rawdb.Context, alice: rawdb.Context
) -> None:
    assert await db.volume_type_get_all(alice) == {}
    silver = await db.volume_type_create(admin, {"name": "silver", "extra_specs": {"b": "2"}})
    gold = await db.volume_type_create(admin, {"name": "Gold", "extra_specs": {"a": "1", "c": "3"}})
    bronze = await db.volume_type_create(admin, {"name": "bronze"})
    gone = await db.volume_type_create(admin, {"name": "aaa"})
    await db.volume_type_destroy(admin, "aaa")

    listed = await db.volume_type_get_all(alice)

    assert list(listed) == ["Gold", "bronze", "silver"]  # code point order: capitals first
    assert listed == {"Gold": gold, "bronze": bronze, "silver": silver}
    assert gone["name"] not in listed


async def test_volume_type_get_all_inactive_includes_deleted_types_and_a_live_one_wins_its_name(
    admin: rawdb.Context,
) -> None:
    old = await db.volume_type_create(admin, {"name": "gold", "extra_specs": {"v": "1"}})
    await db.volume_type_destroy(admin, "gold")
    new = await db.volume_type_create(admin, {"name": "gold", "extra_specs": {"v": "2"}})
    await db.volume_type_create(admin, {"name": "tin"})
    await db.volume_type_destroy(admin, "tin")

    listed = await db.volume_type_get_all(admin, inactive=True)

    assert list(listed) == ["gold", "tin"]
    assert listed["gold"] == new and listed["gold"]["id"] != old["id"]
    assert (listed["tin"]["deleted"], listed["tin"]["extra_specs"]) == (True, {})
    assert isinstance(listed["tin"]["deleted_at"], datetime)
    assert list(await db.volume_type_get_all(admin, inactive=False)) == ["gold"]
    assert list(await db.volume_type_get_all(admin, "true")) == ["gold", "tin"]


async def test_volume_type_get_all_inactive_must_be_a_boolean(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.volume_type_get_all(admin, inactive="sometimes")


async def test_volume_types_search_by_extra_spec(admin: rawdb.Context, alice: rawdb.Context) -> None:
    """E.3: cinder's test_volume_type_search_by_extra_spec."""
    await db.volume_type_create(admin, {"name": "type1", "extra_specs": {"key1": "val1", "key2": "val2"}})
    await db.volume_type_create(admin, {"name": "type2", "extra_specs": {"key2": "val2", "key3": "val3"}})
    await db.volume_type_create(admin, {"name": "type3", "extra_specs": {"key3": "another_value", "key4": "val4"}})

    found = await db.volume_type_get_all(alice, filters={"extra_specs": {"key1": "val1"}})
    assert list(found) == ["type1"]
    assert found["type1"]["extra_specs"] == {"key1": "val1", "key2": "val2"}
    assert list(await db.volume_type_get_all(alice, filters={"extra_specs": {"key2": "val2"}})) == ["type1", "type2"]
    assert list(await db.volume_type_get_all(alice, filters={"extra_specs": {"key3": "val3"}})) == ["type2"]
    assert await db.volume_type_get_all(alice, filters={"extra_specs": {"key3": "VAL3"}}) == {}  # exact match
    assert await db.volume_type_get_all(alice, filters={"extra_specs": {"nokey": "val1"}}) == {}


async def test_volume_types_search_by_several_extra_specs_needs_all_of_them(admin: rawdb.Context) -> None:
    """E.3: cinder's test_volume_type_search_by_extra_spec_multiple."""
    await db.volume_type_create(
        admin, {"name": "type1", "extra_specs": {"key1": "val1", "key2": "val2", "key3": "val3"}}
    )
    await db.volume_type_create(admin, {"name": "type2", "extra_specs": {"key2": "val2", "key3": "val3"}})
    await db.volume_type_create(
        admin, {"name": "type3", "extra_specs": {"key1": "val1", "key3": "val3", "key4": "val4"}}
    )

    found = await db.volume_type_get_all(admin, filters={"extra_specs": {"key1": "val1", "key3": "val3"}})

    assert list(found) == ["type1", "type3"]
    assert found["type1"]["extra_specs"] == {"key1": "val1", "key2": "val2", "key3": "val3"}
    assert found["type3"]["extra_specs"] == {"key1": "val1", "key3": "val3", "key4": "val4"}


async def test_volume_types_search_sees_only_live_extra_specs_and_ignores_other_filters(
    admin: rawdb.Context,
) -> None:
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"size": "300", "gone": "x"}})
    await db.volume_type_extra_specs_delete(admin, t["id"], "gone")

    assert await db.volume_type_get_all(admin, filters={"extra_specs": {"gone": "x"}}) == {}
    assert list(await db.volume_type_get_all(admin, filters={"extra_specs": {"size": 300}})) == ["t"]
    assert list(await db.volume_type_get_all(admin, filters={"colour": "red", "extra_specs": None})) == ["t"]
    assert list(await db.volume_type_get_all(admin, filters={"extra_specs": {}})) == ["t"]
    assert await db.volume_type_get_all(admin, filters={"extra_specs": {"size": "3" * 300}}) == {}


@pytest.mark.parametrize("filters", [["extra_specs"], {"extra_specs": "size=300"}, {"extra_specs": {"k": ["v"]}}])
async def test_volume_types_search_with_malformed_filters_is_invalid(admin: rawdb.Context, filters: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.volume_type_get_all(admin, filters=filters)


# --- volume_type_get / volume_type_get_by_name --------------------------------------------


async def test_volume_type_get_by_id_and_by_name_return_the_same_dict(
    admin: rawdb.Context, carol: rawdb.Context
) -> None:
    created = await db.volume_type_create(admin, {"name": "TEST: Regular volume test", "extra_specs": {"e": "1"}})
    empty = await db.volume_type_create(admin, {"name": "TEST: Volume type without extra"})

    by_name = await db.volume_type_get_by_name(carol, "TEST: Regular volume test")
    assert by_name == await db.volume_type_get(carol, created["id"]) == created
    assert await db.volume_type_get(carol, str(empty["id"])) == empty  # an id given as text
    assert (await db.volume_type_get_by_name(carol, "TEST: Volume type without extra"))["extra_specs"] == {}


async def test_volume_type_get_unknown_ids_raise_volume_type_not_found(admin: rawdb.Context) -> None:
    for missing in (12345, 0, -1, 2**40):
        with pytest.raises(errors.VolumeTypeNotFound) as caught:
            await db.volume_type_get(admin, missing)
        assert caught.value.kwargs["volume_type_id"] == missing
    assert not issubclass(errors.VolumeTypeNotFound, errors.VolumeTypeNotFoundByName)


@pytest.mark.parametrize("bad", [None, 1.5, "one", True, {"id": 1}])
async def test_volume_type_get_of_a_non_integer_id_is_invalid(admin: rawdb.Context, bad: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.volume_type_get(admin, bad)


async def test_volume_type_get_by_name_unknown_raises_not_found_by_name(admin: rawdb.Context) -> None:
    for missing in ("nope", "x" * 300, "nul\x00"):
        with pytest.raises(errors.VolumeTypeNotFoundByName) as caught:
            await db.volume_type_get_by_name(admin, missing)
        assert caught.value.kwargs["volume_type_name"] == missing
    with pytest.raises(errors.Invalid):
        await db.volume_type_get_by_name(admin, None)  # type: ignore[arg-type]


async def test_volume_type_getters_follow_read_deleted(admin: rawdb.Context) -> None:
    created = await db.volume_type_create(admin, {"name": "old", "extra_specs": {"k": "v"}})
    await db.volume_type_destroy(admin, "old")
    with pytest.raises(errors.VolumeTypeNotFound):
        await db.volume_type_get(admin, created["id"])
    with pytest.raises(errors.VolumeTypeNotFoundByName):
        await db.volume_type_get_by_name(admin, "old")

    everything = admin.elevated(read_deleted="yes")
    found = await db.volume_type_get(everything, created["id"])
    assert (found["deleted"], found["extra_specs"]) == (True, {})
    assert (await db.volume_type_get_by_name(admin.elevated(read_deleted="only"), "old"))["id"] == created["id"]


async def test_volume_type_reads_need_an_admin_or_a_user_context(cinder_db: rawdb.Database) -> None:
    nobody = rawdb.Context(cinder_db)
    with pytest.raises(errors.NotAuthorized):
        await db.volume_type_get_all(nobody)
    with pytest.raises(errors.NotAuthorized):
        await db.volume_type_get(nobody, 1)
    with pytest.raises(errors.NotAuthorized):
        await db.volume_type_extra_specs_get(nobody, 1)


# --- volume_type_destroy -----------------------------------------------------------------


async def test_volume_type_destroy_soft_deletes_the_type_and_its_extra_specs_keeping_updated_at(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    doomed = await db.volume_type_create(admin, {"name": "doomed", "updated_at": OLD, "extra_specs": {"a": "1"}})
    kept = await db.volume_type_create(admin, {"name": "kept", "extra_specs": {"a": "1"}})
    await execute(cinder_db, "UPDATE volume_type_extra_specs SET updated_at = :t", t=OLD)

    assert await db.volume_type_destroy(admin, "doomed") is None

    rows = await select(cinder_db, "SELECT name, updated_at, deleted_at, deleted FROM volume_types ORDER BY id")
    assert [(r["name"], bool(r["deleted"]), r["updated_at"]) for r in rows] == [
        ("doomed", True, OLD),
        ("kept", False, None),
    ]
    assert isinstance(rows[0]["deleted_at"], datetime) and rows[1]["deleted_at"] is None
    specs = await specs_rows(cinder_db)
    assert [(s["volume_type_id"], bool(s["deleted"]), s["updated_at"]) for s in specs] == [
        (doomed["id"], True, OLD),
        (kept["id"], False, OLD),
    ]
    assert await db.volume_type_extra_specs_get(admin, kept["id"]) == {"a": "1"}


async def test_volume_type_destroy_of_an_unknown_name_raises_not_found_by_name(admin: rawdb.Context) -> None:
    """E.3: cinder's test_non_existent_vol_type_shouldnt_delete."""
    with pytest.raises(errors.VolumeTypeNotFoundByName) as caught:
        await db.volume_type_destroy(admin, "sfsfsdfdfs")
    assert caught.value.kwargs["volume_type_name"] == "sfsfsdfdfs"
    await db.volume_type_create(admin, {"name": "once"})
    await db.volume_type_destroy(admin, "once")
    with pytest.raises(errors.VolumeTypeNotFoundByName):
        await db.volume_type_destroy(admin, "once")  # already deleted


async def test_volume_type_destroy_is_for_admins_only(admin: rawdb.Context, alice: rawdb.Context) -> None:
    await db.volume_type_create(admin, {"name": "t"})
    with pytest.raises(errors.AdminRequired):
        await db.volume_type_destroy(alice, "t")
    assert list(await db.volume_type_get_all(alice)) == ["t"]


# --- extra specs -------------------------------------------------------------------------


async def test_volume_type_extra_specs_get_returns_the_live_specs(admin: rawdb.Context, bob: rawdb.Context) -> None:
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"vol_extra1": "value1", "vol_extra3": 3}})
    other = await db.volume_type_create(admin, {"name": "u", "extra_specs": {"x": "y"}})
    await db.volume_type_extra_specs_delete(admin, other["id"], "x")

    assert await db.volume_type_extra_specs_get(bob, t["id"]) == {"vol_extra1": "value1", "vol_extra3": "3"}
    assert await db.volume_type_extra_specs_get(bob, other["id"]) == {}
    assert await db.volume_type_extra_specs_get(bob, 987654) == {}


async def test_volume_type_extra_specs_delete_soft_deletes_one_key_keeping_updated_at(
    admin: rawdb.Context, alice: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"a": "1", "b": "2", "c": "3"}})

    assert await db.volume_type_extra_specs_delete(alice, t["id"], "b") is None

    assert await db.volume_type_extra_specs_get(alice, t["id"]) == {"a": "1", "c": "3"}
    rows = await specs_rows(cinder_db, t["id"])
    assert [(r["key"], bool(r["deleted"]), r["updated_at"]) for r in rows] == [
        ("a", False, None),
        ("b", True, None),
        ("c", False, None),
    ]
    assert rows[1]["deleted_at"] is not None


async def test_volume_type_extra_specs_delete_of_a_missing_key_raises_not_found_bug_1090306(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    """cinder bug 1090306: Folsom deleted nothing silently; cinder 2013.2 raises VolumeTypeExtraSpecsNotFound."""
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"a": "1"}})
    await db.volume_type_extra_specs_delete(admin, t["id"], "a")
    for type_id, key in ((t["id"], "a"), (t["id"], "never"), (424242, "a"), (t["id"], "k" * 300)):
        with pytest.raises(errors.VolumeTypeExtraSpecsNotFound) as caught:
            await db.volume_type_extra_specs_delete(admin, type_id, key)
        assert caught.value.kwargs == {"extra_specs_key": key, "volume_type_id": type_id}
    assert isinstance(caught.value, errors.NotFound)
    with pytest.raises(errors.Invalid):
        await db.volume_type_extra_specs_delete(admin, t["id"], 5)  # type: ignore[arg-type]


async def test_volume_type_extra_specs_update_or_create_updates_and_adds_keys(
    admin: rawdb.Context, alice: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    """cinder's test_volume_type_extra_specs_update / _create."""
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"vol_extra1": "value1", "vol_extra3": 3}})

    got = await db.volume_type_extra_specs_update_or_create(
        alice, t["id"], {"vol_extra3": 4, "vol_extra4": "value4", "vol_extra5": "value5"}
    )

    assert got == {"vol_extra3": "4", "vol_extra4": "value4", "vol_extra5": "value5"}
    assert await db.volume_type_extra_specs_get(alice, t["id"]) == {
        "vol_extra1": "value1",
        "vol_extra3": "4",
        "vol_extra4": "value4",
        "vol_extra5": "value5",
    }
    rows = await specs_rows(cinder_db, t["id"])
    assert [(r["key"], r["value"], r["updated_at"] is not None) for r in rows] == [
        ("vol_extra1", "value1", False),  # untouched
        ("vol_extra3", "4", True),  # updated in place: no second row
        ("vol_extra4", "value4", False),
        ("vol_extra5", "value5", False),
    ]


async def test_volume_type_extra_specs_update_with_the_same_value_leaves_the_row_alone(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"a": "1"}})
    assert await db.volume_type_extra_specs_update_or_create(admin, t["id"], {"a": "1"}) == {"a": "1"}
    assert await db.volume_type_extra_specs_update_or_create(admin, t["id"], {}) == {}
    rows = await specs_rows(cinder_db, t["id"])
    assert [(r["key"], r["value"], r["updated_at"]) for r in rows] == [("a", "1", None)]


async def test_volume_type_extra_specs_update_after_delete_adds_a_new_live_row(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"a": "1"}})
    await db.volume_type_extra_specs_delete(admin, t["id"], "a")
    await db.volume_type_extra_specs_update_or_create(admin, t["id"], {"a": "2"})
    rows = await specs_rows(cinder_db, t["id"])
    assert [(r["value"], bool(r["deleted"])) for r in rows] == [("1", True), ("2", False)]


async def test_volume_type_extra_specs_upsert_writes_a_boolean_deleted_on_every_backend_bug_1095401(
    admin: rawdb.Context, cinder_db: rawdb.Database, backend: str
) -> None:
    """cinder bug 1095401: Folsom's upsert set ``deleted = 0``, a type error on PostgreSQL's boolean column."""
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"a": "1"}})
    await db.volume_type_extra_specs_update_or_create(admin, t["id"], {"a": "2", "b": "3"})
    rows = await specs_rows(cinder_db, t["id"])
    assert [(r["key"], r["value"], r["deleted"]) for r in rows] == [("a", "2", False), ("b", "3", False)]
    assert all(r["deleted"] is False for r in rows), backend  # a real boolean, read back as one


async def test_volume_type_extra_specs_update_of_an_unknown_type_raises_not_found(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    for missing in (31337, 0):
        with pytest.raises(errors.VolumeTypeNotFound) as caught:
            await db.volume_type_extra_specs_update_or_create(admin, missing, {"a": "1"})
        assert caught.value.kwargs["volume_type_id"] == missing
    assert await count_rows(cinder_db, "volume_type_extra_specs") == 0


@pytest.mark.parametrize(
    "specs", [["a", "1"], {"a": 1.5}, {"a": None}, {None: "1"}, {"a": "v" * 256}, {"k" * 256: "v"}, {"a": "\x00"}]
)
async def test_volume_type_extra_specs_update_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, specs: Any
) -> None:
    t = await db.volume_type_create(admin, {"name": "t", "extra_specs": {"a": "0"}})
    with pytest.raises(errors.Invalid):
        await db.volume_type_extra_specs_update_or_create(
            admin, t["id"], {"ok": "fine", **dict(specs)} if isinstance(specs, dict) else specs
        )
    assert [(r["key"], r["value"]) for r in await specs_rows(cinder_db)] == [("a", "0")]


async def test_volume_type_extra_specs_upsert_of_one_key_is_race_free_across_connections(
    admin: rawdb.Context, cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb
) -> None:
    t = await db.volume_type_create(admin, {"name": "t"})
    databases = [await open_db(cinder_url) for _ in range(8)]
    callers = [rawdb.Context(d, project_id="p1", user_id=f"u{i}") for i, d in enumerate(databases)]

    results = await asyncio.gather(
        *(db.volume_type_extra_specs_update_or_create(c, t["id"], {"k": f"v{i}"}) for i, c in enumerate(callers))
    )

    assert results == [{"k": f"v{i}"} for i in range(8)]
    live = await live_specs(cinder_db, t["id"])
    assert len(live) == 1 and live[0][0] == "k" and live[0][1] in {f"v{i}" for i in range(8)}
    assert await count_rows(cinder_db, "volume_type_extra_specs") == 1  # updated in place, never duplicated
