"""Bad input for nova's instances, on every backend: instance_create, instance_update, instance_get_all_by_filters_sort.

The rule, as tests/test_hostile_input.py sweeps it for glance and the quotas: given bad
input a call raises a ``rawdb.errors`` class (here one raised before the database is asked,
never a ``DBError`` translated from the driver) and writes nothing, or ignores what nova
ignored (filter names that are not columns); no caller text ever reaches the SQL text; and
every backend answers alike.  Each test runs a table of cases against one seeded database
and reports every case that broke the rule at once.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqltools import select

import rawdb
from rawdb import errors
from rawdb.nova import api as db

P1 = "p1"
UUID = "8f2ee5a9-4f3a-4bb4-a1d0-19b1d4e6a8c3"
EMOJI = "\U0001f600"  # four bytes in UTF-8: MariaDB's utf8mb3 could not hold it
INJECTIONS = ("x'; DROP TABLE instances; --", '" OR 1=1 --', "display_name; DROP TABLE instances")
WEST = timezone(timedelta(hours=-1))
# Every table an instance call may write to: a failed call leaves each exactly as it was.
TABLES = (
    "instances",
    "instance_metadata",
    "instance_system_metadata",
    "instance_info_caches",
    "instance_extra",
    "instance_id_mappings",
    "instance_faults",
    "security_groups",
    "security_group_instance_association",
    "security_group_rules",
    "tags",
    "quota_usages",
    "reservations",
)


@dataclass(frozen=True)
class Case:
    """One call with one bad value, and the rawdb error class it must raise (None: it succeeds)."""

    name: str
    values: Any
    raises: type[errors.RawdbError] | None = errors.Invalid
    kwargs: dict[str, Any] | None = None


async def snapshot(database: rawdb.Database) -> dict[str, list[str]]:
    """Every row of every table an instance call writes, as text, in a stable order."""
    return {table: sorted(repr(row) for row in await select(database, f"SELECT * FROM {table}")) for table in TABLES}


async def check_cases(database: rawdb.Database, cases: list[Case], call: Callable[[Case], Awaitable[Any]]) -> list[str]:
    """Run each case; return what broke the rule (empty when every case kept it)."""
    failures: list[str] = []
    sql: list[str] = []
    before = await snapshot(database)
    for case in cases:
        sql.clear()
        with database.hooked(lambda event: sql.append(event.sql)):
            try:
                await call(case)
            except errors.RawdbError as exc:
                if case.raises is None or not isinstance(exc, case.raises):
                    failures.append(f"{case.name}: raised {type(exc).__name__}: {exc}")
                elif isinstance(exc, errors.DBError):
                    failures.append(f"{case.name}: reached the database before it was refused: {exc!r:.200}")
            except Exception as exc:
                failures.append(f"{case.name}: leaked {type(exc).__name__}: {exc}")
            else:
                if case.raises is not None:
                    failures.append(f"{case.name}: succeeded, expected {case.raises.__name__}")
        if case.raises is not None and await snapshot(database) != before:
            failures.append(f"{case.name}: changed rows")
            before = await snapshot(database)
        for text in sql:
            for hostile in INJECTIONS:
                if hostile in text:
                    failures.append(f"{case.name}: put {hostile!r} into the SQL text: {text[:200]}")
    return failures


async def seeded(alice: rawdb.Context) -> dict[str, Any]:
    """One instance with every kind of child, made through the API (the default group with it)."""
    return await db.instance_create(
        alice,
        {
            "project_id": P1,
            "user_id": "alice",
            "display_name": "seed",
            "task_state": "scheduling",
            "metadata": {"m": "1"},
            "system_metadata": {"s": "2"},
            "info_cache": {"network_info": "[]"},
            "security_groups": ["default"],
        },
    )


# --- instance_create ------------------------------------------------------------------------

BAD_VALUES = [
    # lone surrogates: text no database can store
    Case("surrogate in a column", {"display_name": "a\ud800b"}),
    Case("surrogate in the hostname", {"hostname": "\udfff"}),
    Case("surrogate in a metadata key", {"metadata": {"k\ud800": "v"}}),
    Case("surrogate in a metadata value", {"metadata": {"k": "v\udfff"}}),
    Case("surrogate in system metadata", {"system_metadata": {"k": "\ud800"}}),
    Case("surrogate in the info cache", {"info_cache": {"network_info": "[\ud800]"}}),
    Case("surrogate in extra", {"extra": {"flavor": "\ud800"}}),
    Case("surrogate in a group name", {"security_groups": ["\ud800"]}),
    Case("surrogate in a time", {"launched_at": "2020-01-01T00:00:00\ud800"}),
    # NaN and infinities where numbers go
    Case("NaN memory", {"memory_mb": math.nan}),
    Case("infinite vcpus", {"vcpus": math.inf}),
    Case("minus infinite disk", {"root_gb": -math.inf}),
    Case("NaN progress", {"progress": math.nan}),
    Case("a fraction where an integer goes", {"progress": 1.5}),
    Case("NaN for a boolean", {"locked": math.nan}),
    Case("NaN for a time", {"launched_at": math.nan}),
    Case("infinity for a time", {"terminated_at": math.inf}),
    Case("an integer out of range", {"memory_mb": 2**31}),
    # NUL
    Case("NUL in a column", {"display_name": "a\x00b"}),
    Case("NUL in a text column", {"user_data": "\x00"}),
    Case("NUL in a metadata key", {"metadata": {"k\x00": "v"}}),
    Case("NUL in a system metadata value", {"system_metadata": {"k": "v\x00"}}),
    Case("NUL in the info cache", {"info_cache": {"network_info": "[\x00]"}}),
    Case("NUL in extra", {"extra": {"numa_topology": "\x00"}}),
    Case("NUL in a group name", {"security_groups": ["nul\x00"]}),
    Case("NUL in an address", {"access_ip_v4": "10.0.0.1\x00"}),
    # oversized
    Case("a name over 255 characters", {"display_name": "x" * 256}),
    Case("a uuid over 36 characters", {"uuid": "x" * 37}),
    Case("a metadata key over 255", {"metadata": {"k" * 256: "v"}}),
    Case("a metadata value over 255", {"metadata": {"k": "v" * 256}}),
    Case("a group name over 255", {"security_groups": ["g" * 256]}),
    Case("a 10**5 character hostname", {"hostname": "h" * 10**5}),
    # values no column of nova's could hold, refused alike by every backend
    Case("a uuid that is none", {"uuid": "not-a-uuid"}, errors.InvalidUUID),
    Case("locked_by outside its enum", {"locked_by": "nobody"}),
    Case("an access address that is none", {"access_ip_v4": "not an address"}),
    Case("an access address that is a network", {"access_ip_v6": "2001:db8::/64"}),
    Case("an empty access address", {"access_ip_v4": ""}),
    Case("a time past year 9999 in UTC", {"launched_at": datetime(9999, 12, 31, 23, tzinfo=WEST)}),
    Case("extra that is not a dict", {"extra": "numa"}),
    Case("an info cache that is not a dict", {"info_cache": ["network_info"]}),
    Case("group names that are not a list", {"security_groups": "default"}),
    # names that look like SQL: not columns, refused (create sets only what it knows)
    *(Case(f"a key {name!r}", {name: "x"}) for name in INJECTIONS),
    Case("an info cache key that looks like SQL", {"info_cache": {INJECTIONS[0]: "x"}}),
    Case("an extra key that looks like SQL", {"extra": {INJECTIONS[1]: "x"}}),
]


async def test_instance_create_refuses_bad_values_before_writing_anything(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await seeded(alice)

    async def create(case: Case) -> Any:
        return await db.instance_create(alice, {"project_id": P1, "user_id": "alice", **case.values})

    failures = await check_cases(nova_db, BAD_VALUES, create)
    assert not failures, "\n".join(failures)
    assert len(await select(nova_db, "SELECT id FROM instances")) == 1


# --- instance_update -------------------------------------------------------------------------

BAD_UPDATES = [
    *(case for case in BAD_VALUES if not {"uuid", "security_groups", "info_cache", "extra"} & set(case.values)),
    Case("changing the uuid", {"uuid": UUID}),
    Case("surrogate in an expected task state", {"expected_task_state": "\ud800"}),
    Case("NUL in an expected vm state", {"expected_vm_state": "a\x00"}),
    Case("NaN as an expected task state", {"expected_task_state": math.nan}),
    Case("an expected state over 255", {"expected_task_state": ["x" * 256]}),
    Case("an expected field that looks like SQL", {"vm_state": "x"}, kwargs={"expected": {INJECTIONS[0]: ["a"]}}),
    Case("an expected value of the wrong type", {"vm_state": "x"}, kwargs={"expected": {"memory_mb": [math.inf]}}),
    Case("an expected locked_by outside its enum", {"vm_state": "x"}, kwargs={"expected": {"locked_by": ["x"]}}),
    Case("an expected address that is none", {"vm_state": "x"}, kwargs={"expected": {"access_ip_v4": ["x"]}}),
    Case("expected that is not a dict", {"vm_state": "x"}, kwargs={"expected": ["task_state"]}),
    Case("values that are not a dict", ["vm_state"]),
]


async def test_instance_update_refuses_bad_values_and_changes_nothing(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    inst = await seeded(alice)

    async def update(case: Case) -> Any:
        values = case.values if not isinstance(case.values, dict) else {"vm_state": "changed", **case.values}
        return await db.instance_update(alice, inst["uuid"], values, **(case.kwargs or {}))

    async def update_and_get_original(case: Case) -> Any:
        values = case.values if not isinstance(case.values, dict) else {"vm_state": "changed", **case.values}
        return await db.instance_update_and_get_original(alice, inst["uuid"], values, **(case.kwargs or {}))

    failures = await check_cases(nova_db, BAD_UPDATES, update)
    assert not failures, "\n".join(failures)
    failures = await check_cases(nova_db, BAD_UPDATES, update_and_get_original)
    assert not failures, "\n".join(failures)
    assert await db.instance_get_by_uuid(alice, inst["uuid"]) == inst


async def test_instance_ids_that_are_no_uuid_are_refused_by_every_writer(alice: rawdb.Context) -> None:
    for bad in ("\ud800", "nul\x00", "x" * 37, "not-a-uuid"):
        for call in (db.instance_update, db.instance_update_and_get_original):
            try:
                await call(alice, bad, {"vm_state": "x"})
            except errors.InvalidUUID as exc:
                assert exc.kwargs == {"uuid": bad}
            else:
                raise AssertionError(f"{bad!r} was taken for a uuid")
        for destroy in (db.instance_destroy,):
            try:
                await destroy(alice, bad)
            except errors.InvalidUUID as exc:
                assert exc.kwargs == {"uuid": bad}
            else:
                raise AssertionError(f"{bad!r} was taken for a uuid")
        try:
            await db.instance_get_by_uuid(alice, bad)
        except errors.InstanceNotFound as exc:  # a read: no instance can have it
            assert exc.kwargs == {"instance_id": bad}
        else:
            raise AssertionError(f"{bad!r} was found")


# --- instance_get_all_by_filters_sort ----------------------------------------------------------

ALL = "all"  # the case lists every instance: its filter was ignored, as nova ignored it
NONE: list[str] = []

BAD_FILTERS = [
    Case("surrogate in a regex filter", {"display_name": "\ud800"}),
    Case("surrogate in an exact filter", {"host": "a\udfff"}),
    Case("surrogate in an exact filter's list", {"vm_state": ["active", "\ud800"]}),
    Case("surrogate in a metadata filter", {"metadata": {"m": "\ud800"}}),
    Case("surrogate in a system metadata list filter", {"system_metadata": [{"\ud800": "2"}]}),
    Case("surrogate in tags", {"tags": ["\ud800"]}),
    Case("surrogate in tags-any", {"tags-any": ["a", "\udfff"]}),
    Case("surrogate in not-tags", {"not-tags": ["\ud800"]}),
    Case("surrogate in not-tags-any", {"not-tags-any": ["\ud800"]}),
    Case("surrogate in an EC2 tag name", {"filter": [{"name": "tag:\ud800", "value": "x"}]}),
    Case("surrogate in changes-since", {"changes-since": "\ud800"}),
    Case("NUL in a regex filter", {"display_name": "se\x00"}),
    Case("NUL in an exact filter", {"project_id": "\x00"}),
    Case("NUL in a metadata filter", {"metadata": {"m\x00": "1"}}),
    Case("NUL in tags", {"tags": ["t\x00"]}),
    Case("NUL in not-tags-any", {"not-tags-any": ["\x00"]}),
    Case("NUL in an EC2 filter value", {"filter": [{"name": "tag-key", "value": "\x00"}]}),
    Case("an exact filter over 255", {"host": "h" * 256}),
    Case("an exact filter's list item over 255", {"host": ["h" * 256]}),
    Case("a regex over 4096", {"display_name": "x" * 5000}),
    Case("a metadata filter over 255", {"metadata": {"m": "1" * 256}}),
    Case("NaN for an integer filter", {"instance_type_id": math.nan}),
    Case("infinity in an integer filter's list", {"instance_type_id": [1, math.inf]}),
    Case("NaN for changes-since", {"changes-since": math.nan}),
    Case("changes-since past year 9999 in UTC", {"changes-since": datetime(9999, 12, 31, 23, tzinfo=WEST)}),
    Case("a regex that is none", {"display_name": "("}),
    Case("tags that are not a list", {"tags": "t1"}),
    Case("metadata that is not a dict", {"metadata": "m=1"}),
    Case(
        "an EC2 filter outside tag-key and tag-value",
        {"filter": [{"name": "tag-x", "value": "1"}]},
        errors.InvalidParameterValue,
    ),
    # names that are not columns are ignored, as nova ignored them; never SQL
    Case("filter names that look like SQL", {name: "x" for name in INJECTIONS}, None, {"expect": ALL}),
    Case("filter names that are no text", {5: "x", None: "y", ("t",): "z"}, None, {"expect": ALL}),
    Case("filter names with surrogates and NUL", {"\ud800": "x", "nul\x00": "y"}, None, {"expect": ALL}),
    Case("an injection as a regex value", {"display_name": INJECTIONS[1]}, None, {"expect": NONE}),
    Case("an injection as an exact value", {"host": INJECTIONS[0]}, None, {"expect": NONE}),
    Case("an injection as a tag", {"tags-any": [INJECTIONS[0]]}, None, {"expect": NONE}),
    Case("an injection as metadata", {"metadata": {INJECTIONS[0]: INJECTIONS[1]}}, None, {"expect": NONE}),
]

BAD_ARGUMENTS = [
    Case("a sort key that looks like SQL", {"sort_keys": [INJECTIONS[2]]}, errors.InvalidSortKey),
    Case("a sort key with a surrogate", {"sort_keys": ["\ud800"]}, errors.InvalidSortKey),
    Case("a sort key with NUL", {"sort_keys": ["id\x00"]}, errors.InvalidSortKey),
    Case(
        "a sort direction that looks like SQL", {"sort_keys": ["id"], "sort_dirs": ["asc; DROP"]}, errors.InvalidInput
    ),
    Case("an infinite limit", {"limit": math.inf}),
    Case("a NaN limit", {"limit": math.nan}),
    Case("a limit beyond 64 bits", {"limit": 2**70}),
    Case("a marker with a surrogate", {"marker": "\ud800"}, errors.MarkerNotFound),
    Case("a marker with NUL", {"marker": "a\x00"}, errors.MarkerNotFound),
    Case("a marker over 36 characters", {"marker": "m" * 10**5}, errors.MarkerNotFound),
    Case("a marker that looks like SQL", {"marker": INJECTIONS[0]}, errors.MarkerNotFound),
]


async def test_listing_filters_given_bad_input_raise_rawdb_errors_or_are_ignored(
    alice: rawdb.Context, admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    inst = await seeded(alice)
    await db.instance_tag_set(alice, inst["uuid"], ["a"])

    async def listing(case: Case) -> Any:
        rows = await db.instance_get_all_by_filters_sort(admin, case.values)
        expected = (case.kwargs or {}).get("expect")
        found = [row["uuid"] for row in rows]
        assert found == ([inst["uuid"]] if expected == ALL else expected), case.name
        return rows

    async def arguments(case: Case) -> Any:
        return await db.instance_get_all_by_filters_sort(admin, {}, **case.values)

    failures = await check_cases(nova_db, BAD_FILTERS, listing)
    assert not failures, "\n".join(failures)
    failures = await check_cases(nova_db, BAD_ARGUMENTS, arguments)
    assert not failures, "\n".join(failures)


# --- four-byte characters -------------------------------------------------------------------


async def test_four_byte_characters_round_trip_through_every_instance_call(
    alice: rawdb.Context, admin: rawdb.Context
) -> None:
    inst = await db.instance_create(
        alice,
        {
            "project_id": P1,
            "display_name": f"{EMOJI} web",
            "hostname": EMOJI,
            "user_data": EMOJI * 1000,
            "metadata": {EMOJI: f"v{EMOJI}"},
            "system_metadata": {"s": EMOJI},
            "info_cache": {"network_info": f'[{{"label": "{EMOJI}"}}]'},
            "extra": {"flavor": f'{{"name": "{EMOJI}"}}'},
        },
    )
    await db.instance_tag_set(alice, inst["uuid"], [EMOJI])
    got = await db.instance_get_by_uuid(alice, inst["uuid"], columns_to_join=["metadata", "system_metadata", "extra"])
    assert got["display_name"] == f"{EMOJI} web" and got["hostname"] == EMOJI and got["user_data"] == EMOJI * 1000
    assert got["metadata"] == [{"key": EMOJI, "value": f"v{EMOJI}"}]
    assert got["system_metadata"] == [{"key": "s", "value": EMOJI}]
    assert got["info_cache"]["network_info"] == f'[{{"label": "{EMOJI}"}}]'
    assert got["extra"]["flavor"] == f'{{"name": "{EMOJI}"}}'
    new = await db.instance_update(alice, inst["uuid"], {"display_name": EMOJI * 255, "metadata": {EMOJI * 255: EMOJI}})
    assert new["display_name"] == EMOJI * 255 and new["metadata"] == [{"key": EMOJI * 255, "value": EMOJI}]
    await db.instance_create(alice, {"project_id": P1, "display_name": "plain"})
    for filters in (
        {"display_name": EMOJI},
        {"hostname": f"^{EMOJI}$"},
        {"metadata": {EMOJI * 255: EMOJI}},
        {"system_metadata": [{"s": EMOJI}]},
        {"tags": [EMOJI]},
        {"tags-any": [EMOJI, "x"]},
    ):
        rows = await db.instance_get_all_by_filters_sort(admin, filters)
        assert [row["uuid"] for row in rows] == [inst["uuid"]], filters
    assert len(await db.instance_get_all_by_filters_sort(admin, {"not-tags": [EMOJI]})) == 1


@pytest.mark.parametrize("backend", ["mysql"], indirect=True)
async def test_no_nova_table_on_mariadb_is_limited_to_three_byte_characters(nova_db: rawdb.Database) -> None:
    # MariaDB's utf8mb3 cannot hold a four-byte character: every nova column that holds text is
    # utf8mb4, so the round trip above holds there too (other backends have no such limit)
    assert nova_db.dialect == "mysql"
    rows = await select(
        nova_db,
        "SELECT table_name AS t, column_name AS c, character_set_name AS cs FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND character_set_name IS NOT NULL",
    )
    assert rows and {row["cs"] for row in rows} == {"utf8mb4"}


async def test_a_timezone_aware_time_is_stored_as_naive_utc(alice: rawdb.Context) -> None:
    # the control case of the refused times above: within range, it is converted, not refused
    inst = await db.instance_create(
        alice, {"project_id": P1, "launched_at": datetime(2020, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))}
    )
    assert inst["launched_at"] == datetime(2020, 1, 1, 0, 0)
    moved = await db.instance_update(alice, inst["uuid"], {"launched_at": datetime(2020, 1, 2, tzinfo=UTC)})
    assert moved["launched_at"] == datetime(2020, 1, 2)
