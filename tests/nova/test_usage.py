"""Bandwidth and volume usage caches and the task log (Newton, spec A.3 "Usage accounting", E.5 12
and 13), on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors, timeutils
from rawdb.nova import usage as db

T0 = datetime(2016, 5, 1, 8, 0, 0, 250000)
PERIOD = datetime(2016, 5, 1, 0, 0, 0)
UUID = "11111111-2222-3333-4444-555555555555"
MAC = "fa:16:3e:00:00:01"
BW_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "uuid",
    "mac",
    "start_period",
    "last_refreshed",
    "bw_in",
    "bw_out",
    "last_ctr_in",
    "last_ctr_out",
}
VOL_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "volume_id",
    "instance_uuid",
    "project_id",
    "user_id",
    "availability_zone",
    "tot_last_refreshed",
    "tot_reads",
    "tot_read_bytes",
    "tot_writes",
    "tot_write_bytes",
    "curr_last_refreshed",
    "curr_reads",
    "curr_read_bytes",
    "curr_writes",
    "curr_write_bytes",
}
TASK_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "task_name",
    "state",
    "host",
    "period_beginning",
    "period_ending",
    "message",
    "task_items",
    "errors",
}
BEGIN, END = datetime(2016, 4, 1), datetime(2016, 5, 1)


def counters(row: dict[str, Any], prefix: str) -> tuple[int, int, int, int]:
    return (row[f"{prefix}_reads"], row[f"{prefix}_read_bytes"], row[f"{prefix}_writes"], row[f"{prefix}_write_bytes"])


async def vol_update(ctx: rawdb.Context, volume_id: str, values: tuple[int, int, int, int], totals: bool) -> Any:
    return await db.vol_usage_update(
        ctx, volume_id, *values, "inst-1", "proj-1", "user-1", "az-1", update_totals=totals
    )


async def bw_rows(database: rawdb.Database) -> list[dict[str, Any]]:
    return await select(database, "SELECT id, uuid, mac, start_period, bw_in, bw_out FROM bw_usage_cache ORDER BY id")


# --- bandwidth usage -------------------------------------------------------------------------


async def test_bw_usage_update_inserts_then_updates_one_row_on_a_frozen_clock(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with timeutils.frozen(T0) as clock:
        created = await db.bw_usage_update(alice, UUID, MAC, PERIOD, 100, 200, 10, 20)
        clock.advance(timedelta(minutes=5))
        updated = await db.bw_usage_update(alice, UUID, MAC, PERIOD, 150, 250, 15, 25, update_cells=False)
    later = T0 + timedelta(minutes=5)
    assert set(created) == BW_KEYS
    assert created == {
        "created_at": T0,
        "updated_at": None,
        "deleted_at": None,
        "deleted": 0,
        "id": created["id"],
        "uuid": UUID,
        "mac": MAC,
        "start_period": PERIOD,
        "last_refreshed": T0,
        "bw_in": 100,
        "bw_out": 200,
        "last_ctr_in": 10,
        "last_ctr_out": 20,
    }
    assert updated == {
        **created,
        "updated_at": later,
        "last_refreshed": later,
        "bw_in": 150,
        "bw_out": 250,
        "last_ctr_in": 15,
        "last_ctr_out": 25,
    }
    assert await count_rows(nova_db, "bw_usage_cache") == 1


async def test_bw_usage_update_keeps_keys_apart_and_honours_last_refreshed(alice: rawdb.Context) -> None:
    given = datetime(2016, 5, 1, 7, 0, tzinfo=timezone(timedelta(hours=2)))  # 05:00 UTC
    a = await db.bw_usage_update(alice, UUID, MAC, PERIOD, 1, 2, 3, 4, last_refreshed=given)
    b = await db.bw_usage_update(alice, UUID, "fa:16:3e:00:00:02", "2016-05-01T00:00:00", 5, 6, 7, 8)
    c = await db.bw_usage_update(alice, UUID, MAC, PERIOD + timedelta(days=1), 9, 9, 9, 9)
    assert len({a["id"], b["id"], c["id"]}) == 3
    assert a["last_refreshed"] == datetime(2016, 5, 1, 5, 0)
    assert b["start_period"] == PERIOD


async def test_bw_usage_update_changes_the_first_row_of_a_key_even_deleted(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    for bw_in in (1, 2):  # two rows of one key written behind the API's back (no unique key)
        await execute(
            nova_db,
            "INSERT INTO bw_usage_cache (uuid, mac, start_period, bw_in, bw_out, deleted) "
            "VALUES (:u, :m, :p, :b, 0, 0)",
            u=UUID,
            m=MAC,
            p=PERIOD,
            b=bw_in,
        )
    await execute(nova_db, "UPDATE bw_usage_cache SET deleted = id WHERE bw_in = 1")
    row = await db.bw_usage_update(alice, UUID, MAC, PERIOD, 50, 60, 0, 0)
    assert [(r["bw_in"], r["bw_out"]) for r in await bw_rows(nova_db)] == [(50, 60), (2, 0)]
    assert row["deleted"] == row["id"]


async def test_bw_usage_update_concurrent_callers_make_one_row(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, project_id="p1", user_id=f"u{i}") for i, d in enumerate(databases)]
    results = await asyncio.gather(
        *(db.bw_usage_update(c, UUID, MAC, PERIOD, i, i, i, i) for i, c in enumerate(callers))
    )
    rows = await bw_rows(nova_db)
    assert len(rows) == 1
    assert {r["id"] for r in results} == {rows[0]["id"]}
    assert rows[0]["bw_in"] in range(8)


@pytest.mark.parametrize(
    "args",
    [
        (UUID, MAC, PERIOD, 2**63, 0, 0, 0),  # past BIGINT
        (UUID, MAC, PERIOD, "many", 0, 0, 0),
        (UUID, MAC, PERIOD, 1.5, 0, 0, 0),
        ("u" * 37, MAC, PERIOD, 0, 0, 0, 0),
        (None, MAC, PERIOD, 0, 0, 0, 0),
        (UUID, None, PERIOD, 0, 0, 0, 0),
        (UUID, MAC, "last tuesday", 0, 0, 0, 0),
        (UUID, MAC, None, 0, 0, 0, 0),
        (UUID, "m\x00", PERIOD, 0, 0, 0, 0),
    ],
)
async def test_bw_usage_update_bad_input_is_invalid_and_writes_nothing(
    alice: rawdb.Context, nova_db: rawdb.Database, args: tuple[Any, ...]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.bw_usage_update(alice, *args)
    with pytest.raises(errors.Invalid):
        await db.bw_usage_update(alice, UUID, MAC, PERIOD, 0, 0, 0, 0, last_refreshed=5)  # type: ignore[arg-type]
    assert await count_rows(nova_db, "bw_usage_cache") == 0


async def test_bw_usage_functions_need_an_admin_or_user_context(nova_db: rawdb.Database) -> None:
    nobody = rawdb.Context(nova_db)
    with pytest.raises(errors.NotAuthorized):
        await db.bw_usage_update(nobody, UUID, MAC, PERIOD, 0, 0, 0, 0)
    with pytest.raises(errors.NotAuthorized):
        await db.bw_usage_get(nobody, UUID, PERIOD, MAC)
    with pytest.raises(errors.NotAuthorized):
        await db.bw_usage_get_by_uuids(nobody, [UUID], PERIOD)
    assert await count_rows(nova_db, "bw_usage_cache") == 0


async def test_bw_usage_get_reads_deleted_rows_and_the_exact_key(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    row = await db.bw_usage_update(alice, UUID, MAC, PERIOD, 7, 8, 9, 10)
    await execute(nova_db, "UPDATE bw_usage_cache SET deleted = id")
    found = await db.bw_usage_get(alice, UUID, "2016-05-01T00:00:00.000000", MAC)
    assert found == {**row, "deleted": row["id"]}
    assert await db.bw_usage_get(alice, UUID, PERIOD + timedelta(seconds=1), MAC) is None
    assert await db.bw_usage_get(alice, UUID, PERIOD, "other") is None
    assert await db.bw_usage_get(alice, "x" * 40, PERIOD, MAC) is None
    with pytest.raises(errors.Invalid):
        await db.bw_usage_get(alice, 5, PERIOD, MAC)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.bw_usage_get(alice, UUID, 20160501, MAC)  # type: ignore[arg-type]


async def test_bw_usage_get_by_uuids_lists_the_instances_rows_of_the_period(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    other = "99999999-2222-3333-4444-555555555555"
    a = await db.bw_usage_update(alice, UUID, MAC, PERIOD, 1, 1, 1, 1)
    b = await db.bw_usage_update(alice, other, MAC, PERIOD, 2, 2, 2, 2)
    await db.bw_usage_update(alice, UUID, MAC, PERIOD - timedelta(days=1), 3, 3, 3, 3)
    await db.bw_usage_update(alice, "not-asked", MAC, PERIOD, 4, 4, 4, 4)
    c = await db.bw_usage_update(alice, UUID, "fa:16:3e:00:00:09", PERIOD, 5, 5, 5, 5)
    await execute(nova_db, "UPDATE bw_usage_cache SET deleted = id WHERE id = :id", id=b["id"])

    rows = await db.bw_usage_get_by_uuids(alice, [other, UUID, "y" * 50], PERIOD)

    assert [(r["id"], r["bw_in"], r["deleted"]) for r in rows] == [
        (a["id"], 1, 0),
        (b["id"], 2, b["id"]),
        (c["id"], 5, 0),
    ]
    assert await db.bw_usage_get_by_uuids(alice, [], PERIOD) == []
    assert await db.bw_usage_get_by_uuids(alice, ("nobody",), PERIOD) == []
    with pytest.raises(errors.Invalid):
        await db.bw_usage_get_by_uuids(alice, UUID, PERIOD)  # type: ignore[arg-type]  # a string, not a list


# --- volume usage ----------------------------------------------------------------------------


async def test_vol_usage_update_totals_accumulate_only_update_totals_deltas_e5_13(admin: rawdb.Context) -> None:
    t = [T0 + timedelta(minutes=i) for i in range(4)]
    with timeutils.frozen(t[0]) as clock:
        first = await vol_update(admin, "vol-1", (100, 200, 300, 400), totals=True)
        clock.advance(timedelta(minutes=1))
        await vol_update(admin, "vol-1", (200, 300, 400, 500), totals=False)
        clock.advance(timedelta(minutes=1))
        third = await vol_update(admin, "vol-1", (300, 400, 500, 600), totals=True)
        clock.advance(timedelta(minutes=1))
        last = await vol_update(admin, "vol-1", (400, 500, 600, 700), totals=False)

    assert set(first) == VOL_KEYS
    assert (counters(first, "tot"), counters(first, "curr")) == ((100, 200, 300, 400), (0, 0, 0, 0))
    assert (first["tot_last_refreshed"], first["curr_last_refreshed"]) == (t[0], None)
    assert (counters(third, "tot"), counters(third, "curr")) == ((400, 600, 800, 1000), (0, 0, 0, 0))
    assert last == {
        "created_at": t[0],
        "updated_at": t[3],
        "deleted_at": None,
        "deleted": 0,
        "id": first["id"],
        "volume_id": "vol-1",
        "instance_uuid": "inst-1",
        "project_id": "proj-1",
        "user_id": "user-1",
        "availability_zone": "az-1",
        "tot_last_refreshed": t[2],
        "tot_reads": 400,
        "tot_read_bytes": 600,
        "tot_writes": 800,
        "tot_write_bytes": 1000,
        "curr_last_refreshed": t[3],
        "curr_reads": 400,
        "curr_read_bytes": 500,
        "curr_writes": 600,
        "curr_write_bytes": 700,
    }
    assert await db.vol_get_usage_by_time(admin, t[0] - timedelta(seconds=1)) == [last]


async def test_vol_usage_update_lower_current_counters_mean_a_reboot_old_current_goes_to_totals(
    admin: rawdb.Context,
) -> None:
    await vol_update(admin, "vol-1", (200, 300, 400, 500), totals=False)
    with timeutils.frozen(T0):
        rebooted = await vol_update(admin, "vol-1", (50, 300, 400, 500), totals=False)
    assert counters(rebooted, "tot") == (200, 300, 400, 500)
    assert counters(rebooted, "curr") == (50, 300, 400, 500)
    assert (rebooted["tot_last_refreshed"], rebooted["curr_last_refreshed"]) == (None, T0)

    # a reboot seen by a totals update adds both the old current counters and the new ones
    closed = await vol_update(admin, "vol-1", (10, 20, 30, 40), totals=True)
    assert counters(closed, "tot") == (260, 620, 830, 1040)
    assert counters(closed, "curr") == (0, 0, 0, 0)


async def test_vol_usage_update_stores_who_and_where_from_each_call(admin: rawdb.Context) -> None:
    await vol_update(admin, "vol-1", (1, 1, 1, 1), totals=False)
    row = await db.vol_usage_update(admin, "vol-1", 2, 2, 2, 2, "inst-2", None, "user-2", None)
    assert (row["instance_uuid"], row["project_id"], row["user_id"], row["availability_zone"]) == (
        "inst-2",
        None,
        "user-2",
        None,
    )
    assert counters(row, "curr") == (2, 2, 2, 2)


async def test_vol_usage_update_concurrent_totals_add_up_exactly_in_one_row(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    await asyncio.gather(*(vol_update(c, "vol-race", (1, 10, 100, 1000), totals=True) for c in callers))
    await asyncio.gather(*(vol_update(c, "vol-race", (5, 50, 500, 5000), totals=True) for c in callers))
    rows = await select(
        nova_db,
        "SELECT tot_reads, tot_read_bytes, tot_writes, tot_write_bytes, curr_reads FROM volume_usage_cache",
    )
    assert len(rows) == 1
    assert counters(rows[0], "tot") == (48, 480, 4800, 48000)
    assert rows[0]["curr_reads"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ("vol-1", 2**63, 0, 0, 0, None, None, None, None),
        ("vol-1", "lots", 0, 0, 0, None, None, None, None),
        (None, 0, 0, 0, 0, None, None, None, None),
        ("v" * 37, 0, 0, 0, 0, None, None, None, None),
        ("vol-1", 0, 0, 0, 0, "i" * 37, None, None, None),
        ("vol-1", 0, 0, 0, 0, None, "p" * 37, None, None),  # project_id is VARCHAR(36) here
        ("vol-1", 0, 0, 0, 0, None, None, "u" * 65, None),
        ("vol-1", 0, 0, 0, 0, None, None, None, 3),
    ],
)
async def test_vol_usage_update_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, args: tuple[Any, ...]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.vol_usage_update(admin, *args)
    with pytest.raises(errors.Invalid):
        await db.vol_usage_update(admin, "vol-1", 0, 0, 0, 0, None, None, None, None, update_totals="maybe")
    assert await count_rows(nova_db, "volume_usage_cache") == 0


async def test_vol_usage_update_refuses_a_total_past_bigint_and_keeps_the_row(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    before = await vol_update(admin, "vol-1", (2**63 - 10, 0, 0, 0), totals=True)
    with pytest.raises(errors.Invalid):
        await vol_update(admin, "vol-1", (11, 0, 0, 0), totals=True)
    rows = await select(nova_db, "SELECT tot_reads, updated_at FROM volume_usage_cache")
    assert rows == [{"tot_reads": 2**63 - 10, "updated_at": before["updated_at"]}]


async def test_vol_get_usage_by_time_lists_rows_refreshed_after_begin_or_never(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with timeutils.frozen(T0) as clock:
        old_totals = await vol_update(admin, "vol-old", (1, 1, 1, 1), totals=True)  # curr_last_refreshed NULL
        await vol_update(admin, "vol-old", (2, 2, 2, 2), totals=False)  # both refreshed at T0
        clock.advance(timedelta(hours=1))
        fresh = await vol_update(admin, "vol-new", (3, 3, 3, 3), totals=True)
        await vol_update(admin, "vol-new", (4, 4, 4, 4), totals=False)
        never = await vol_update(admin, "vol-cur", (5, 5, 5, 5), totals=False)  # tot_last_refreshed NULL
    await execute(nova_db, "UPDATE volume_usage_cache SET deleted = id WHERE volume_id = 'vol-cur'")

    found = await db.vol_get_usage_by_time(admin, T0 + timedelta(minutes=30))

    assert [(r["volume_id"], r["deleted"]) for r in found] == [("vol-new", 0), ("vol-cur", never["id"])]
    everything = await db.vol_get_usage_by_time(admin, "2016-01-01T00:00:00")
    assert [r["id"] for r in everything] == [old_totals["id"], fresh["id"], never["id"]]
    with pytest.raises(errors.Invalid):
        await db.vol_get_usage_by_time(admin, None)  # type: ignore[arg-type]
    with pytest.raises(errors.NotAuthorized):
        await db.vol_get_usage_by_time(rawdb.Context(nova_db), T0)
    with pytest.raises(errors.NotAuthorized):
        await vol_update(rawdb.Context(nova_db), "vol-x", (1, 1, 1, 1), totals=False)


# --- task log --------------------------------------------------------------------------------


async def test_task_log_begin_task_opens_a_running_log(admin: rawdb.Context) -> None:
    with timeutils.frozen(T0):
        result = await db.task_log_begin_task(admin, "audit", BEGIN, END, "host1", task_items=7, message="started")
    assert result is None
    log = await db.task_log_get(admin, "audit", BEGIN, END, "host1")
    assert log is not None and set(log) == TASK_KEYS
    assert log == {
        "created_at": T0,
        "updated_at": None,
        "deleted_at": None,
        "deleted": 0,
        "id": log["id"],
        "task_name": "audit",
        "state": "RUNNING",
        "host": "host1",
        "period_beginning": BEGIN,
        "period_ending": END,
        "message": "started",
        "task_items": 7,
        "errors": 0,
    }


async def test_task_log_begin_task_duplicate_is_task_already_running_e5_12(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.task_log_begin_task(admin, "audit", BEGIN, END, "host1", message="first")
    with pytest.raises(errors.TaskAlreadyRunning) as caught:
        # the same period as ISO strings is the same key
        await db.task_log_begin_task(
            admin, "audit", "2016-04-01T00:00:00", "2016-05-01T00:00:00.000000", "host1", message="again"
        )
    assert (caught.value.task_name, caught.value.host) == ("audit", "host1")
    assert "audit" in str(caught.value)
    rows = await select(nova_db, "SELECT message, task_items FROM task_log")
    assert rows == [{"message": "first", "task_items": 0}]
    # another host, task or period is another log; a closed log still holds its key
    await db.task_log_begin_task(admin, "audit", BEGIN, END, "host2", message="m")
    await db.task_log_begin_task(admin, "other", BEGIN, END, "host1", message="m")
    await db.task_log_begin_task(admin, "audit", END, END + timedelta(days=30), "host1", message="m")
    await db.task_log_end_task(admin, "audit", BEGIN, END, "host1", 0)
    with pytest.raises(errors.TaskAlreadyRunning):
        await db.task_log_begin_task(admin, "audit", BEGIN, END, "host1", message="m")
    assert await count_rows(nova_db, "task_log") == 4


async def test_task_log_begin_task_concurrent_callers_exactly_one_succeeds(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(2)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    results = await asyncio.gather(
        *(db.task_log_begin_task(c, "audit", BEGIN, END, "host1", message=f"m{i}") for i, c in enumerate(callers)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "TaskAlreadyRunning"]
    assert await count_rows(nova_db, "task_log") == 1


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("audit", BEGIN, END, "host1"), {}),  # no message: the column is NOT NULL
        (("audit", BEGIN, END, "host1"), {"message": ""}),
        (("audit", "soon", END, "host1"), {"message": "m"}),
        (("audit", BEGIN, None, "host1"), {"message": "m"}),
        (("a" * 256, BEGIN, END, "host1"), {"message": "m"}),
        (("audit", BEGIN, END, None), {"message": "m"}),
        (("audit", BEGIN, END, "host1"), {"message": "m" * 256}),
        (("audit", BEGIN, END, "host1"), {"message": "m", "task_items": 2**31}),
        (("audit", BEGIN, END, "host1"), {"message": "m", "task_items": "some"}),
    ],
)
async def test_task_log_begin_task_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.task_log_begin_task(admin, *args, **kwargs)
    assert await count_rows(nova_db, "task_log") == 0


async def test_task_log_end_task_marks_the_log_done(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    await db.task_log_begin_task(admin, "audit", BEGIN, END, "host1", task_items=3, message="started")
    await db.task_log_begin_task(admin, "audit", BEGIN, END, "host2", message="started")
    with timeutils.frozen(T0):
        assert await db.task_log_end_task(admin, "audit", BEGIN, END, "host1", 2) is None
    log = await db.task_log_get(admin, "audit", BEGIN, END, "host1")
    assert log is not None
    assert (log["state"], log["errors"], log["message"], log["updated_at"]) == ("DONE", 2, "started", T0)
    await db.task_log_end_task(admin, "audit", "2016-04-01T00:00:00", END, "host1", 5, message="finished")
    log = await db.task_log_get(admin, "audit", BEGIN, END, "host1")
    assert log is not None and (log["state"], log["errors"], log["message"]) == ("DONE", 5, "finished")
    other = await db.task_log_get(admin, "audit", BEGIN, END, "host2")
    assert other is not None and other["state"] == "RUNNING"


async def test_task_log_end_task_without_a_log_is_task_not_running(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.task_log_begin_task(admin, "audit", BEGIN, END, "host1", message="started")
    for args in [
        ("audit", BEGIN, END, "host9"),
        ("audit", BEGIN, END + timedelta(seconds=1), "host1"),
        ("other", BEGIN, END, "host1"),
        ("t" * 300, BEGIN, END, "host1"),
    ]:
        with pytest.raises(errors.TaskNotRunning) as caught:
            await db.task_log_end_task(admin, *args, 0)
        assert (caught.value.task_name, caught.value.host) == (args[0], args[3])
    with pytest.raises(errors.Invalid):
        await db.task_log_end_task(admin, "audit", BEGIN, END, "host1", "none")  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.task_log_end_task(admin, "audit", BEGIN, END, "host1", 0, message="m" * 256)
    rows = await select(nova_db, "SELECT state, errors FROM task_log")
    assert rows == [{"state": "RUNNING", "errors": 0}]


async def test_task_log_end_task_sees_logs_as_the_context_reads_deleted(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.task_log_begin_task(admin, "audit", BEGIN, END, "host1", message="started")
    await execute(nova_db, "UPDATE task_log SET deleted = id")
    with pytest.raises(errors.TaskNotRunning):
        await db.task_log_end_task(admin, "audit", BEGIN, END, "host1", 1)
    await db.task_log_end_task(admin.elevated(read_deleted="yes"), "audit", BEGIN, END, "host1", 1)
    assert await select(nova_db, "SELECT state FROM task_log") == [{"state": "DONE"}]


async def test_task_log_get_and_get_all_filter_by_host_and_state(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    for host in ("host1", "host2", "host3"):
        await db.task_log_begin_task(admin, "audit", BEGIN, END, host, message=host)
    await db.task_log_begin_task(admin, "audit", END, END + timedelta(days=1), "host1", message="next")
    await db.task_log_end_task(admin, "audit", BEGIN, END, "host2", 0)
    await execute(nova_db, "UPDATE task_log SET deleted = id WHERE host = 'host3'")

    every = await db.task_log_get_all(admin, "audit", BEGIN, END)
    assert [(t["host"], t["state"]) for t in every] == [("host1", "RUNNING"), ("host2", "DONE")]
    assert [t["host"] for t in await db.task_log_get_all(admin, "audit", BEGIN, END, state="DONE")] == ["host2"]
    assert [t["host"] for t in await db.task_log_get_all(admin, "audit", BEGIN, END, host="host1")] == ["host1"]
    assert await db.task_log_get_all(admin, "audit", BEGIN, END, host="host1", state="DONE") == []
    assert await db.task_log_get_all(admin, "nothing", BEGIN, END) == []
    assert await db.task_log_get_all(admin, "audit", BEGIN, END, host="h" * 300) == []
    deleted = await db.task_log_get_all(admin.elevated(read_deleted="only"), "audit", BEGIN, END)
    assert [t["host"] for t in deleted] == ["host3"]

    got = await db.task_log_get(admin, "audit", "2016-04-01T00:00:00+00:00", END, "host2")
    assert got is not None and (got["host"], got["state"]) == ("host2", "DONE")
    assert await db.task_log_get(admin, "audit", BEGIN, END, "host2", state="RUNNING") is None
    anywhere = await db.task_log_get(admin, "audit", BEGIN, END, None)  # no host: any host's, the first
    assert anywhere is not None and anywhere["host"] == "host1"
    assert await db.task_log_get(admin, "audit", BEGIN, END, "host3") is None
    with pytest.raises(errors.Invalid):
        await db.task_log_get(admin, "audit", BEGIN, "whenever", "host1")
    with pytest.raises(errors.Invalid):
        await db.task_log_get_all(admin, 3, BEGIN, END)  # type: ignore[arg-type]
