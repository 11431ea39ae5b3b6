"""image_get_all's filter operators, as glance 33 parses them (spec glance.md C.2).

glance's DB layer splits a value at its first colon (``split_filter_op``) unless the whole
value is an ISO 8601 time as oslo's ``parse_isotime`` reads it, and applies operators to
seven keys only:

* ``created_at`` / ``updated_at``: ``gt gte lt lte neq eq`` or a bare time.  The time is
  read first, so a bad time is InvalidParameterValue whatever the operator, and an unknown
  operator before a good time is InvalidFilterOperatorValue.
* ``name`` / ``id`` / ``status`` / ``container_format`` / ``disk_format``: ``in:`` (api-wg
  quoting), ``eq:`` or a bare value.  Any other operator, a bare ``a:b`` included, is
  InvalidFilterOperatorValue; ``eq:a:b`` matches ``a:b``.
* ``X_min`` / ``X_max`` take integers only; every other key compares its value as it is.

Every test runs on SQLite and PostgreSQL (``glance_db``); a refused filter sends no statement.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from glancetools import admin, make_image

import rawdb
from rawdb import errors
from rawdb.glance import images as api

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)
PGBOUNCER = True  # and through a PgBouncer in transaction pooling mode (conftest.py)

T0 = datetime(2024, 1, 1)
LIST_KEYS = ("name", "id", "status", "container_format", "disk_format")
TIME_KEYS = ("created_at", "updated_at")


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def listed(db: rawdb.Database, filters: dict[str, Any]) -> set[str]:
    return {image["id"] for image in await api.image_get_all(admin(db), filters=filters)}


async def refused(db: rawdb.Database, filters: dict[str, Any], error: type[errors.Invalid]) -> errors.Invalid:
    """The error image_get_all raises for ``filters``, having sent no statement."""
    counter = rawdb.StatementCounter(keep=True)
    with db.hooked(counter), pytest.raises(error) as caught:
        await api.image_get_all(admin(db), filters=filters)
    assert counter.events == []
    return caught.value


# --- name, id, status, container_format, disk_format -------------------------------------------

NAMED = {
    "alpha": {"name": "alpha", "status": "active", "disk_format": "qcow2", "container_format": "bare"},
    "beta": {"name": "beta", "status": "queued", "disk_format": "raw", "container_format": "ovf"},
    "colon": {"name": "a:b", "status": "saving", "disk_format": "iso", "container_format": "bare"},
    "eq-x": {"name": "eq:x", "status": "active"},
    "comma": {"name": "c,d", "status": "active"},
    "escaped": {"name": 'e\\"f', "status": "active"},  # the name holds a backslash
    "quote": {"name": 'e"f', "status": "active"},
    "empty": {"name": "", "status": "active"},
    "space": {"name": " alpha", "status": "active"},
    "iso-name": {"name": "2024-01-01T00:00:00", "status": "active"},
    "iso-space": {"name": "2024-01-01 10:30", "status": "active"},
}


@pytest.fixture
async def named(glance_db: rawdb.Database) -> rawdb.Database:
    for image_id, values in NAMED.items():
        await make_image(glance_db, id=image_id, **values)
    return glance_db


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("name", "alpha", {"alpha"}),
        ("name", "eq:alpha", {"alpha"}),
        ("name", "in:alpha,beta", {"alpha", "beta"}),
        ("id", "beta", {"beta"}),
        ("id", "eq:beta", {"beta"}),
        ("id", "in:alpha,colon,nothing", {"alpha", "colon"}),
        ("status", "queued", {"beta"}),
        ("status", "eq:saving", {"colon"}),
        ("status", "in:queued,saving", {"beta", "colon"}),
        ("container_format", "ovf", {"beta"}),
        ("container_format", "eq:ovf", {"beta"}),
        ("container_format", "in:bare", {"alpha", "colon"}),
        ("disk_format", "raw", {"beta"}),
        ("disk_format", "eq:qcow2", {"alpha"}),
        ("disk_format", "in:raw,iso", {"beta", "colon"}),
    ],
)
async def test_every_list_key_takes_in_eq_and_a_bare_value(
    named: rawdb.Database, key: str, value: str, expected: set[str]
) -> None:
    assert await listed(named, {key: value}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("eq:a:b", {"colon"}),  # split at the first colon only
        ("eq:eq:x", {"eq-x"}),
        ("eq:", {"empty"}),
        ("in:a:b,alpha", {"colon", "alpha"}),
        ("in:in:x,eq:x", {"eq-x"}),
    ],
)
async def test_eq_and_in_split_at_the_first_colon_so_eq_matches_values_holding_colons(
    named: rawdb.Database, value: str, expected: set[str]
) -> None:
    assert await listed(named, {"name": value}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("in:alpha,beta", {"alpha", "beta"}),
        ('in:"c,d",alpha', {"comma", "alpha"}),  # a quoted item holds commas
        ('in:alpha,"c,d"', {"comma", "alpha"}),
        ('in:"e\\"f"', {"escaped"}),  # an escaped quote keeps its backslash, as glance keeps it
        ('in:"a:b"', {"colon"}),
        ("in:alpha,,beta", {"alpha", "empty", "beta"}),  # an empty item between commas
        ("in:,alpha", {"empty", "alpha"}),
        ("in:alpha,", {"alpha"}),  # a trailing comma adds no item
        ("in: alpha", {"space"}),  # items are not stripped
        ("in:", set()),  # no item: matches nothing
        ('in:""', {"empty"}),  # an empty quoted item is the empty string
    ],
)
async def test_in_lists_split_as_glance_splits_them(named: rawdb.Database, value: str, expected: set[str]) -> None:
    assert await listed(named, {"name": value}) == expected


@pytest.mark.parametrize("value", ['in:"c,d', 'in:alpha"x",beta', 'in:"alpha"beta', 'in:e"f'])
async def test_bad_quoting_in_an_in_list_is_an_invalid_parameter_value(named: rawdb.Database, value: str) -> None:
    error = await refused(named, {"name": value}, errors.InvalidParameterValue)
    assert error.kwargs["param"] == "name"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T00:00:00", {"iso-name"}),  # a whole ISO time is a value, colons and all
        ("2024-01-01 10:30", {"iso-space"}),  # so is every form oslo's parse_isotime reads
        ("2024-01-01T00:00:00Z", set()),
        ("2024-01-01T00:00:00+01:00", set()),
    ],
)
async def test_a_bare_iso_time_is_a_value_not_an_operator(
    named: rawdb.Database, value: str, expected: set[str]
) -> None:
    assert await listed(named, {"name": value}) == expected


@pytest.mark.parametrize(
    "value",
    [
        "lala:active",
        "a:b",  # a bare value with a colon is operator "a": eq:a:b matches it
        "neq:alpha",
        "gt:alpha",
        "gte:alpha",
        "lt:alpha",
        "lte:alpha",
        ":alpha",  # the empty operator
        "IN:alpha",  # operators are lower case
        "Eq:alpha",
        " eq:alpha",
        "in :alpha",
        "2024-01-01t00:00:00",  # not ISO 8601 to parse_isotime (lower-case t): operator "2024-01-01t00"
        "2024-02-30T00:00:00",  # no such day: operator "2024-02-30T00"
        "2024-01-01T00:00:00+01:00:00",
    ],
)
async def test_any_other_operator_on_a_list_key_is_an_invalid_filter_operator(
    named: rawdb.Database, value: str
) -> None:
    for key in LIST_KEYS:
        await refused(named, {key: value}, errors.InvalidFilterOperatorValue)


async def test_an_unknown_status_operator_is_refused_not_an_empty_list(named: rawdb.Database) -> None:
    error = await refused(named, {"deleted": False, "status": "lala:active"}, errors.InvalidFilterOperatorValue)
    assert "'lala'" in str(error) and "eq:a:b" in str(error)


# --- created_at, updated_at -------------------------------------------------------------------


@pytest.fixture
async def timed(glance_db: rawdb.Database) -> rawdb.Database:
    """Images created at t(0), t(1), t(2), each updated an hour after it was created."""
    for n in range(3):
        await make_image(glance_db, id=f"t{n}", created_at=t(n), updated_at=t(60 + n))
    return glance_db


@pytest.mark.parametrize("key", TIME_KEYS)
@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("gt:", {"t2"}),
        ("gte:", {"t1", "t2"}),
        ("lt:", {"t0"}),
        ("lte:", {"t0", "t1"}),
        ("neq:", {"t0", "t2"}),
        ("eq:", {"t1"}),
        ("", {"t1"}),
    ],
)
async def test_every_time_key_takes_every_comparison_operator(
    timed: rawdb.Database, key: str, operator: str, expected: set[str]
) -> None:
    when = t(1) if key == "created_at" else t(61)
    assert await listed(timed, {key: f"{operator}{when.isoformat()}"}) == expected
    assert await listed(timed, {key: f"{operator}{when.isoformat()}Z"}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T00:01:00", {"t1"}),
        ("2024-01-01T00:01:00Z", {"t1"}),
        ("2024-01-01T01:01:00+01:00", {"t1"}),
        ("2023-12-31T19:01-05", {"t1"}),
        ("2024-01-01 00:01:00", {"t1"}),  # a space for the T
        ("2024-01-01T00:01", {"t1"}),
        ("2024-01-01T0001", {"t1"}),
        ("2024-01-01T00:01:00,0", {"t1"}),
        ("2024-1-1T00:01", {"t1"}),
        ("20240101T000100", {"t1"}),
        ("2024-01-01T00:01:00.0000009", {"t1"}),  # the fraction is truncated to microseconds
        ("2024", {"t0"}),  # a year is its first instant
        ("2024-01", {"t0"}),
        ("gte:2024-01-01 00:01", {"t1", "t2"}),
        ("gt:2024-01-01T00:00:00+00:00", {"t1", "t2"}),
        ("lt:2024-01-01T00:01:00Z\n", {"t0"}),  # "$" takes a final newline, as iso8601's does
    ],
)
async def test_iso_times_with_colons_are_values_in_every_form_parse_isotime_reads(
    timed: rawdb.Database, value: str, expected: set[str]
) -> None:
    assert await listed(timed, {"created_at": value}) == expected


@pytest.mark.parametrize(
    "value",
    [
        "lala:2024-01-01T00:01:00",
        "in:2024-01-01T00:01:00",
        "ge:2024-01-01T00:01:00Z",
        "GT:2024-01-01T00:01:00",
        ":2024-01-01T00:01:00",
        "after:2024",
    ],
)
async def test_an_unknown_operator_before_a_good_time_is_an_invalid_filter_operator(
    timed: rawdb.Database, value: str
) -> None:
    for key in TIME_KEYS:
        await refused(timed, {key: value}, errors.InvalidFilterOperatorValue)


@pytest.mark.parametrize(
    "value",
    [
        "lala:active",  # glance reads the time before it looks at the operator
        "in:yesterday",
        "gt:yesterday",
        "yesterday",
        "lt:",
        "eq:2024-13-01T00:00:00",
        "2024-02-30T10:00:00",  # no such day: operator "2024-02-30T10" before the time "00:00"
        "gt:2024-01-01t00:01:00",  # what Python's fromisoformat reads and parse_isotime does not
        "2024-W01-1",
        "gt:2024-01-01T00:01:00+01:00:00",
        "gt:2024-01-01T00:01:00 +01:00",
        "gt:202401",
        "gt:2024-01-01T24:00:00",
    ],
)
async def test_a_bad_time_is_an_invalid_parameter_value_whatever_the_operator(
    timed: rawdb.Database, value: str
) -> None:
    for key in TIME_KEYS:
        error = await refused(timed, {key: value}, errors.InvalidParameterValue)
        assert error.kwargs["param"] == key


@pytest.mark.parametrize("key", LIST_KEYS + TIME_KEYS)
@pytest.mark.parametrize("value", [5, T0, ["in:a"], b"eq:a"])
async def test_a_value_that_is_not_text_on_an_operator_key_is_an_invalid_parameter_value(
    named: rawdb.Database, key: str, value: Any
) -> None:
    error = await refused(named, {key: value}, errors.InvalidParameterValue)  # glance: AttributeError, a 500
    assert error.kwargs["param"] == key


# --- keys without operators -----------------------------------------------------------------


@pytest.mark.parametrize(
    "filters", [{"size_min": "gte:10"}, {"size_max": "eq:10"}, {"min_ram_min": "gt:1"}, {"virtual_size_max": "in:1"}]
)
async def test_range_filters_take_no_operator(glance_db: rawdb.Database, filters: dict[str, str]) -> None:
    await make_image(glance_db, id="ten", size=10, virtual_size=10, min_ram=10)
    await refused(glance_db, filters, errors.InvalidFilterRangeValue)


async def test_every_other_key_compares_its_value_as_it_is(glance_db: rawdb.Database) -> None:
    await make_image(glance_db, "in:p1,p2", id="odd", checksum="eq:c", properties={"os": "gt:5", "v": "in:a"})
    await make_image(glance_db, "p1", id="plain", checksum="c", properties={"os": "5", "v": "a"})
    db = glance_db
    assert await listed(db, {"owner": "in:p1,p2"}) == {"odd"}
    assert await listed(db, {"owner": "eq:p1"}) == set()
    assert await listed(db, {"owner": "p1"}) == {"plain"}
    assert await listed(db, {"checksum": "eq:c"}) == {"odd"}
    assert await listed(db, {"os": "gt:5"}) == {"odd"}
    assert await listed(db, {"os": "lala:5"}) == set()
    assert await listed(db, {"properties": {"v": "in:a"}}) == {"odd"}
    assert await listed(db, {"v": "a"}) == {"plain"}


# --- the statement ----------------------------------------------------------------------------


async def test_eq_in_and_time_operators_send_the_statement_of_their_shape(named: rawdb.Database) -> None:
    counter = rawdb.StatementCounter(keep=True)
    with named.hooked(counter):
        for value in ("alpha", "eq:a:b", "2024-01-01T00:00:00", "in:alpha,beta", "in:", "in:a:b"):
            await api.image_get_all(admin(named), filters={"name": value})
        for value in ("gt:2024-01-01T00:00:00", "gt:2024"):
            await api.image_get_all(admin(named), filters={"created_at": value})
    texts = [event.sql for event in counter.events]
    assert texts[0] == texts[1] == texts[2]  # = :f0
    assert texts[3] == texts[4] == texts[5]  # = ANY / IN json_each, whatever the list's length
    assert texts[6] == texts[7]
    assert len({texts[0], texts[3], texts[6]}) == 3
