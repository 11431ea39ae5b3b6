"""Cinder's services (Folsom, spec A.5 "Services"), on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors, timeutils
from rawdb.cinder import services as db
from rawdb.cinder import settings
from rawdb.observe import StatementCounter

T0 = datetime(2012, 9, 27, 10, 0, 0)
T1 = datetime(2012, 10, 1, 8, 30, 15, 123456)
SERVICE_KEYS = {
    "id",
    "host",
    "binary",
    "topic",
    "report_count",
    "disabled",
    "availability_zone",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


async def volume_service(ctx: rawdb.Context, host: str = "host1", **values: Any) -> dict[str, Any]:
    return await db.service_create(ctx, {"host": host, "binary": "cinder-volume", "topic": "cinder-volume", **values})


async def make_volume(
    database: rawdb.Database, volume_id: str, host: str | None, size: int | None, **extra: Any
) -> None:
    """A volumes row written behind the API's back (volumes.py is not this module's)."""
    await execute(
        database,
        "INSERT INTO volumes (id, host, size, project_id, status, created_at, deleted) "
        "VALUES (:id, :host, :size, 'p1', 'available', :t, :deleted)",
        id=volume_id,
        host=host,
        size=size,
        t=T0,
        deleted=extra.get("deleted", False),
    )


async def soft_delete_row(database: rawdb.Database, service_id: int) -> None:
    await execute(database, "UPDATE services SET deleted = TRUE, deleted_at = :t WHERE id = :i", t=T0, i=service_id)


# --- create ----------------------------------------------------------------------------------


async def test_service_create_returns_the_row_with_the_model_defaults(admin: rawdb.Context) -> None:
    with timeutils.frozen(T1):
        service = await volume_service(admin)
    assert set(service) == SERVICE_KEYS
    assert isinstance(service["id"], int)
    assert (service["host"], service["binary"], service["topic"]) == ("host1", "cinder-volume", "cinder-volume")
    assert service["report_count"] == 0
    assert service["disabled"] is False
    assert service["availability_zone"] == "cinder"
    assert service["deleted"] is False
    assert service["created_at"] == T1
    assert service["updated_at"] is None and service["deleted_at"] is None
    assert await db.service_get(admin, service["id"]) == service


async def test_service_create_keeps_given_values_and_timestamps(admin: rawdb.Context) -> None:
    service = await db.service_create(
        admin,
        {
            "host": "h",
            "binary": "cinder-scheduler",
            "topic": "cinder-scheduler",
            "report_count": "7",
            "disabled": "true",
            "availability_zone": "zone-b",
            "created_at": T0,
            "updated_at": T1,
            "no_such_column": None,  # the ORM ignored keys it had no column for, given None
        },
    )
    assert (service["report_count"], service["disabled"], service["availability_zone"]) == (7, True, "zone-b")
    assert (service["created_at"], service["updated_at"]) == (T0, T1)


async def test_service_create_disabled_when_new_services_are_not_enabled(admin: rawdb.Context) -> None:
    with settings.overridden(enable_new_services=False):
        service = await volume_service(admin, disabled=False)
    assert service["disabled"] is True
    assert (await volume_service(admin, "host2"))["disabled"] is False
    with pytest.raises(errors.Invalid):
        settings.configure(enable_new_services="no")  # an option takes its default's type


async def test_the_volume_topic_is_a_setting(admin: rawdb.Context) -> None:
    await volume_service(admin, "host1")
    with settings.overridden(volume_topic="cinder-volume-ssd"):
        assert await db.service_get_all_volume_sorted(admin) == []
    assert [s["host"] for s, _ in await db.service_get_all_volume_sorted(admin)] == ["host1"]


async def test_service_create_of_the_same_host_and_binary_twice_makes_two_services_as_folsom(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    # cinder's services table has no unique key: Folsom raised nothing here
    first = await volume_service(admin)
    second = await volume_service(admin)
    assert first["id"] != second["id"]
    assert [s["id"] for s in await db.service_get_all_by_host(admin, "host1")] == [first["id"], second["id"]]
    assert await count_rows(cinder_db, "services") == 2


async def test_concurrent_service_creates_of_one_host_each_make_a_row(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await asyncio.gather(*(volume_service(admin) for _ in range(4)))
    assert len({s["id"] for s in created}) == 4
    assert await count_rows(cinder_db, "services") == 4


@pytest.mark.parametrize(
    "values",
    [
        {"host": "h", "colour": "blue"},
        {"host": "h" * 256},
        {"host": "h\x00"},
        {"host": 12},
        {"report_count": "many"},
        {"report_count": 2**31},
        {"report_count": None},
        {"disabled": "perhaps"},
        {"created_at": "2012-09-27T10:00:00"},
        {"id": 5},
        {"deleted": True},
    ],
    ids=[
        "unknown-key",
        "host-too-long",
        "nul",
        "host-not-a-string",
        "count-not-int",
        "count-overflow",
        "count-none",
        "disabled-not-bool",
        "time-as-string",
        "id",
        "deleted",
    ],
)
async def test_service_create_with_bad_values_is_invalid_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, values: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.service_create(admin, {"binary": "cinder-volume", **values})
    assert await count_rows(cinder_db, "services") == 0


async def test_service_create_of_a_non_dict_is_invalid(admin: rawdb.Context, cinder_db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid):
        await db.service_create(admin, [("host", "h")])  # type: ignore[arg-type]
    assert await count_rows(cinder_db, "services") == 0


# --- admin only ------------------------------------------------------------------------------

CALLS: dict[str, Callable[[rawdb.Context], Awaitable[Any]]] = {
    "service_create": lambda c: db.service_create(c, {"host": "h"}),
    "service_destroy": lambda c: db.service_destroy(c, 1),
    "service_get": lambda c: db.service_get(c, 1),
    "service_get_all": lambda c: db.service_get_all(c),
    "service_get_all_by_host": lambda c: db.service_get_all_by_host(c, "h"),
    "service_get_all_by_topic": lambda c: db.service_get_all_by_topic(c, "t"),
    "service_get_all_volume_sorted": lambda c: db.service_get_all_volume_sorted(c),
    "service_get_by_args": lambda c: db.service_get_by_args(c, "h", "b"),
    "service_get_by_host_and_topic": lambda c: db.service_get_by_host_and_topic(c, "h", "t"),
    "service_update": lambda c: db.service_update(c, 1, {"host": "x"}),
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_every_service_function_is_admin_only(name: str, alice: rawdb.Context, cinder_db: rawdb.Database) -> None:
    with pytest.raises(errors.AdminRequired):
        await CALLS[name](alice)
    assert await count_rows(cinder_db, "services") == 0


# --- get -------------------------------------------------------------------------------------


async def test_service_get_unknown_id_is_service_not_found(admin: rawdb.Context) -> None:
    with pytest.raises(errors.ServiceNotFound) as caught:
        await db.service_get(admin, 42)
    assert caught.value.kwargs == {"service_id": 42}
    assert "42" in str(caught.value)
    assert isinstance(caught.value, errors.NotFound)
    with pytest.raises(errors.ServiceNotFound):
        await db.service_get(admin, 2**40)  # beyond any id: found nowhere, not a driver error


async def test_service_get_with_a_non_integer_id_is_invalid(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.service_get(admin, "one")  # type: ignore[arg-type]


async def test_service_get_sees_a_deleted_service_only_as_read_deleted_allows(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    service = await volume_service(admin)
    await soft_delete_row(cinder_db, service["id"])
    with pytest.raises(errors.ServiceNotFound):
        await db.service_get(admin, service["id"])
    got = await db.service_get(admin.elevated(read_deleted="yes"), service["id"])
    assert got["deleted"] is True and got["deleted_at"] == T0
    assert (await db.service_get(admin.elevated(read_deleted="only"), str(service["id"])))["id"] == service["id"]


async def test_service_get_all_filters_on_disabled_and_read_deleted(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    a = await volume_service(admin, "a")
    b = await volume_service(admin, "b", disabled=True)
    c = await volume_service(admin, "c")
    await soft_delete_row(cinder_db, c["id"])
    assert [s["id"] for s in await db.service_get_all(admin)] == [a["id"], b["id"]]
    assert [s["id"] for s in await db.service_get_all(admin, disabled=True)] == [b["id"]]
    assert [s["id"] for s in await db.service_get_all(admin, False)] == [a["id"]]
    assert [s["id"] for s in await db.service_get_all(admin, disabled="false")] == [a["id"]]
    assert [s["id"] for s in await db.service_get_all(admin.elevated(read_deleted="yes"))] == [
        a["id"],
        b["id"],
        c["id"],
    ]
    assert [s["id"] for s in await db.service_get_all(admin.elevated(read_deleted="only"), False)] == [c["id"]]


async def test_service_get_all_with_a_non_boolean_disabled_is_invalid(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.service_get_all(admin, disabled="sometimes")  # type: ignore[arg-type]


async def test_service_get_all_by_topic_lists_live_enabled_services_of_the_topic(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    a = await volume_service(admin, "a")
    await volume_service(admin, "b", disabled=True)
    c = await volume_service(admin, "c")
    await soft_delete_row(cinder_db, c["id"])
    d = await volume_service(admin, "d")
    await db.service_create(admin, {"host": "a", "binary": "cinder-scheduler", "topic": "cinder-scheduler"})
    got = await db.service_get_all_by_topic(admin, "cinder-volume")
    assert [s["id"] for s in got] == [a["id"], d["id"]]
    assert all(set(s) == SERVICE_KEYS for s in got)
    assert await db.service_get_all_by_topic(admin, "t" * 300) == []
    with pytest.raises(errors.Invalid):
        await db.service_get_all_by_topic(admin, None)  # type: ignore[arg-type]


async def test_service_get_by_host_and_topic_is_the_first_live_enabled_one_or_none(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await volume_service(admin, "a", disabled=True)
    gone = await volume_service(admin, "a")
    await soft_delete_row(cinder_db, gone["id"])
    assert await db.service_get_by_host_and_topic(admin, "a", "cinder-volume") is None
    first = await volume_service(admin, "a")
    await volume_service(admin, "a")
    got = await db.service_get_by_host_and_topic(admin, "a", "cinder-volume")
    assert got is not None and got == await db.service_get(admin, first["id"])
    assert await db.service_get_by_host_and_topic(admin, "b", "cinder-volume") is None
    with pytest.raises(errors.Invalid):
        await db.service_get_by_host_and_topic(admin, "a", 7)  # type: ignore[arg-type]


async def test_service_get_all_by_host_lists_live_services_enabled_or_not(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    a = await volume_service(admin, "a")
    b = await db.service_create(
        admin, {"host": "a", "binary": "cinder-scheduler", "topic": "cinder-scheduler", "disabled": True}
    )
    c = await volume_service(admin, "a")
    await soft_delete_row(cinder_db, c["id"])
    await volume_service(admin, "other")
    assert [s["id"] for s in await db.service_get_all_by_host(admin, "a")] == [a["id"], b["id"]]
    assert await db.service_get_all_by_host(admin, "nobody") == []
    with pytest.raises(errors.Invalid):
        await db.service_get_all_by_host(admin, b"a")  # type: ignore[arg-type]


async def test_service_get_by_args_finds_the_host_binary_as_read_deleted_allows(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    service = await volume_service(admin, "a", disabled=True)  # disabled ones too
    assert await db.service_get_by_args(admin, "a", "cinder-volume") == service
    await soft_delete_row(cinder_db, service["id"])
    with pytest.raises(errors.HostBinaryNotFound) as caught:
        await db.service_get_by_args(admin, "a", "cinder-volume")
    assert caught.value.kwargs == {"host": "a", "binary": "cinder-volume"}
    assert "cinder-volume" in str(caught.value) and isinstance(caught.value, errors.NotFound)
    got = await db.service_get_by_args(admin.elevated(read_deleted="yes"), "a", "cinder-volume")
    assert got["id"] == service["id"] and got["deleted"] is True
    with pytest.raises(errors.HostBinaryNotFound):
        await db.service_get_by_args(admin, "a" * 256, "cinder-volume")
    with pytest.raises(errors.Invalid):
        await db.service_get_by_args(admin, "a", None)  # type: ignore[arg-type]


# --- update ----------------------------------------------------------------------------------


async def test_service_update_changes_the_given_columns_and_returns_none(admin: rawdb.Context) -> None:
    service = await volume_service(admin)
    with timeutils.frozen(T1):
        result = await db.service_update(admin, service["id"], {"report_count": 3, "disabled": "yes"})
    assert result is None
    got = await db.service_get(admin, service["id"])
    assert (got["report_count"], got["disabled"], got["updated_at"]) == (3, True, T1)
    assert (got["host"], got["topic"], got["created_at"]) == (service["host"], service["topic"], service["created_at"])


async def test_service_update_keeps_a_given_updated_at(admin: rawdb.Context) -> None:
    service = await volume_service(admin)
    await db.service_update(admin, service["id"], {"availability_zone": "z2", "updated_at": T0})
    got = await db.service_get(admin, service["id"])
    assert (got["availability_zone"], got["updated_at"]) == ("z2", T0)


async def test_service_update_that_changes_nothing_writes_nothing(admin: rawdb.Context) -> None:
    service = await volume_service(admin, report_count=5)
    await db.service_update(admin, service["id"], {"report_count": 5, "host": "host1"})
    await db.service_update(admin, service["id"], {})
    assert (await db.service_get(admin, service["id"]))["updated_at"] is None


async def test_service_update_of_an_unknown_or_deleted_service_is_service_not_found(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    with pytest.raises(errors.ServiceNotFound) as caught:
        await db.service_update(admin, 99, {"report_count": 1})
    assert caught.value.kwargs == {"service_id": 99}
    service = await volume_service(admin)
    await soft_delete_row(cinder_db, service["id"])
    with pytest.raises(errors.ServiceNotFound):
        await db.service_update(admin, service["id"], {"report_count": 1})
    await db.service_update(admin.elevated(read_deleted="yes"), service["id"], {"report_count": 1})
    rows = await select(cinder_db, "SELECT report_count FROM services WHERE id = :i", i=service["id"])
    assert rows == [{"report_count": 1}]


@pytest.mark.parametrize(
    "values",
    [
        {"report_count": 1, "colour": "blue"},
        {"report_count": 1, "topic": "t" * 256},
        {"report_count": "lots"},
        {"report_count": None},
        {"deleted": True},
        {"id": 7},
    ],
    ids=["unknown-key", "topic-too-long", "count-not-int", "count-none", "deleted", "id"],
)
async def test_service_update_with_bad_values_is_invalid_and_writes_nothing(
    admin: rawdb.Context, values: dict[str, Any]
) -> None:
    service = await volume_service(admin)
    with pytest.raises(errors.Invalid):
        await db.service_update(admin, service["id"], values)
    assert await db.service_get(admin, service["id"]) == service


# --- destroy ---------------------------------------------------------------------------------


async def test_service_destroy_soft_deletes_the_service_as_folsoms_model_delete(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    service = await volume_service(admin)
    other = await volume_service(admin, "host2")
    with timeutils.frozen(T1):
        assert await db.service_destroy(admin, service["id"]) is None
    rows = await select(cinder_db, "SELECT id, deleted, deleted_at, updated_at FROM services ORDER BY id")
    assert rows == [
        {"id": service["id"], "deleted": True, "deleted_at": T1, "updated_at": T1},
        {"id": other["id"], "deleted": False, "deleted_at": None, "updated_at": None},
    ]
    with pytest.raises(errors.ServiceNotFound):
        await db.service_get(admin, service["id"])


async def test_service_destroy_of_an_unknown_or_deleted_service_is_service_not_found(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    with pytest.raises(errors.ServiceNotFound) as caught:
        await db.service_destroy(admin, 5)
    assert caught.value.kwargs == {"service_id": 5}
    service = await volume_service(admin)
    await db.service_destroy(admin, service["id"])
    with pytest.raises(errors.ServiceNotFound):
        await db.service_destroy(admin, service["id"])
    with pytest.raises(errors.ServiceNotFound):
        await db.service_destroy(admin, 2**40)
    with pytest.raises(errors.Invalid):
        await db.service_destroy(admin, 1.5)  # type: ignore[arg-type]
    assert await count_rows(cinder_db, "services") == 1


async def test_service_destroy_inside_a_failed_transaction_leaves_the_service_live(admin: rawdb.Context) -> None:
    service = await volume_service(admin)
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            await db.service_destroy(tx, service["id"])
            raise RuntimeError("caller failed after the destroy")
    assert (await db.service_get(admin, service["id"]))["deleted"] is False


# --- volume sorted ---------------------------------------------------------------------------


async def test_service_get_all_volume_sorted_orders_by_live_gigabytes_hosts_without_volumes_first(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    busy = await volume_service(admin, "busy")  # 10 + 5 live, 100 deleted: 15
    empty = await volume_service(admin, "empty")  # no volumes: NULL sum, first
    light = await volume_service(admin, "light")  # 3
    only_deleted = await volume_service(admin, "only-deleted")  # deleted volumes only: NULL sum, first
    zero = await volume_service(admin, "zero")  # a 0 GB volume: sum 0, after the NULLs
    await make_volume(cinder_db, "v1", "busy", 10)
    await make_volume(cinder_db, "v2", "busy", 5)
    await make_volume(cinder_db, "v3", "busy", 100, deleted=True)
    await make_volume(cinder_db, "v4", "light", 3)
    await make_volume(cinder_db, "v5", "only-deleted", 50, deleted=True)
    await make_volume(cinder_db, "v6", "zero", 0)
    await make_volume(cinder_db, "v7", "nowhere", 8)  # a host with no service
    got = await db.service_get_all_volume_sorted(admin)
    assert [(s["host"], gb) for s, gb in got] == [
        ("empty", 0),
        ("only-deleted", 0),
        ("zero", 0),
        ("light", 3),
        ("busy", 15),
    ]
    assert [s["id"] for s, _ in got] == [empty["id"], only_deleted["id"], zero["id"], light["id"], busy["id"]]
    service, gigabytes = got[-1]
    assert service == busy and set(service) == SERVICE_KEYS
    assert type(gigabytes) is int and all(type(gb) is int for _, gb in got)


async def test_service_get_all_volume_sorted_lists_live_enabled_volume_services_only(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    kept = await volume_service(admin, "a")
    await volume_service(admin, "b", disabled=True)
    gone = await volume_service(admin, "c")
    await soft_delete_row(cinder_db, gone["id"])
    await db.service_create(admin, {"host": "a", "binary": "cinder-scheduler", "topic": "cinder-scheduler"})
    await make_volume(cinder_db, "v1", "b", 1)
    await make_volume(cinder_db, "v2", "a", 2)
    assert [(s["id"], gb) for s, gb in await db.service_get_all_volume_sorted(admin)] == [(kept["id"], 2)]


async def test_service_get_all_volume_sorted_breaks_ties_by_service_id(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    # two services of one host share its sum; equal sums keep id order, NULL ones too
    h1 = await volume_service(admin, "h1")
    x1 = await volume_service(admin, "x")
    h2 = await volume_service(admin, "h2")
    x2 = await volume_service(admin, "x")
    n1 = await volume_service(admin, "n1")
    n2 = await volume_service(admin, "n2")
    await make_volume(cinder_db, "v1", "x", 4)
    await make_volume(cinder_db, "v2", "h1", 4)
    await make_volume(cinder_db, "v3", "h2", 2)
    await make_volume(cinder_db, "v4", "h2", 2)
    got = await db.service_get_all_volume_sorted(admin)
    assert [(s["id"], gb) for s, gb in got] == [
        (n1["id"], 0),
        (n2["id"], 0),
        (h1["id"], 4),
        (x1["id"], 4),
        (h2["id"], 4),
        (x2["id"], 4),
    ]


async def test_service_get_all_volume_sorted_is_one_statement(admin: rawdb.Context, cinder_db: rawdb.Database) -> None:
    await volume_service(admin, "a")
    await volume_service(admin, "b")
    await make_volume(cinder_db, "v1", "b", 1)
    counter = StatementCounter()
    with cinder_db.hooked(counter):
        got = await db.service_get_all_volume_sorted(admin)
    assert len(got) == 2
    assert counter.total == 1


async def test_service_get_all_volume_sorted_with_no_services_is_empty(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await make_volume(cinder_db, "v1", "a", 1)
    assert await db.service_get_all_volume_sorted(admin) == []


async def test_service_get_all_volume_sorted_sees_the_callers_transaction(admin: rawdb.Context) -> None:
    async with admin.writer() as tx:
        service = await volume_service(tx, "a")
        assert [s["id"] for s, _ in await db.service_get_all_volume_sorted(tx)] == [service["id"]]


async def test_service_get_all_volume_sorted_stops_counting_a_volume_once_it_is_deleted(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await volume_service(admin, "a")
    await make_volume(cinder_db, "v1", "a", 9)
    assert [gb for _, gb in await db.service_get_all_volume_sorted(admin)] == [9]
    await execute(cinder_db, "UPDATE volumes SET deleted = TRUE, deleted_at = :t WHERE id = 'v1'", t=T0 + timedelta(1))
    assert [gb for _, gb in await db.service_get_all_volume_sorted(admin)] == [0]
