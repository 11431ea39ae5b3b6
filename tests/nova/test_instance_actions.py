"""Instance actions, their events, and instance faults (Newton, spec A.3), on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from novatools import make_instance
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import instance_actions as db
from rawdb.observe import StatementCounter

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

T0 = datetime(2016, 1, 1, 10, 0, 0)
REQ = "req-11111111-2222-3333-4444-555555555555"
ACTION_KEYS = {
    "id",
    "action",
    "instance_uuid",
    "request_id",
    "user_id",
    "project_id",
    "start_time",
    "finish_time",
    "message",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}
EVENT_KEYS = {
    "id",
    "event",
    "action_id",
    "start_time",
    "finish_time",
    "result",
    "traceback",
    "host",
    "details",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}
FAULT_KEYS = {
    "id",
    "instance_uuid",
    "code",
    "message",
    "details",
    "host",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


def action_values(instance_uuid: str, request_id: str = REQ, **extra: Any) -> dict[str, Any]:
    return {
        "action": "run_instance",
        "instance_uuid": instance_uuid,
        "request_id": request_id,
        "user_id": "alice",
        "project_id": "p1",
        "start_time": T0,
        "message": "action-message",
        **extra,
    }


def event_values(instance_uuid: str, event: str = "schedule", request_id: str = REQ, **extra: Any) -> dict[str, Any]:
    return {
        "event": event,
        "instance_uuid": instance_uuid,
        "request_id": request_id,
        "start_time": T0,
        "host": "fake-host",
        "details": "fake-details",
        **extra,
    }


def fault_values(instance_uuid: str, code: int = 404, **extra: Any) -> dict[str, Any]:
    return {
        "message": "message",
        "details": "detail",
        "instance_uuid": instance_uuid,
        "code": code,
        "host": "h1",
        **extra,
    }


async def soft_delete(database: rawdb.Database, table: str, row_id: int) -> None:
    assert table in ("instance_actions", "instance_actions_events", "instance_faults")
    await execute(database, f"UPDATE {table} SET deleted = id, deleted_at = :t WHERE id = :id", t=T0, id=row_id)


# --- actions -------------------------------------------------------------------------------


async def test_action_start_returns_every_column_and_actions_get_finds_it(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    assert set(action) == ACTION_KEYS
    assert {k: action[k] for k in ("action", "instance_uuid", "request_id", "user_id", "project_id")} == {
        "action": "run_instance",
        "instance_uuid": instance,
        "request_id": REQ,
        "user_id": "alice",
        "project_id": "p1",
    }
    assert (action["start_time"], action["finish_time"], action["message"]) == (T0, None, "action-message")
    assert (action["deleted"], action["deleted_at"], action["updated_at"]) == (0, None, None)
    assert isinstance(action["id"], int) and isinstance(action["created_at"], datetime)
    assert await db.actions_get(admin, instance) == [action]


async def test_action_start_defaults_start_time_and_created_at_to_now(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    before = datetime.utcnow()
    values = action_values(instance)
    del values["start_time"]
    action = await db.action_start(admin, values)
    after = datetime.utcnow()
    assert before <= action["start_time"] <= after
    assert before <= action["created_at"] <= after


async def test_action_start_parses_string_times_and_stores_aware_times_as_naive_utc(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    plus_two = timezone(timedelta(hours=2))
    first = await db.action_start(admin, action_values(instance, start_time="2016-01-01T10:00:00.000000"))
    second = await db.action_start(
        admin, action_values(instance, "req-2", start_time="2016-01-01T12:00:00.250000+02:00", created_at=T0)
    )
    third = await db.action_start(
        admin, action_values(instance, "req-3", start_time=datetime(2016, 1, 1, 12, 0, tzinfo=plus_two))
    )
    assert first["start_time"] == T0
    assert second["start_time"] == T0.replace(microsecond=250000)
    assert second["created_at"] == T0
    assert third["start_time"] == T0 and third["start_time"].tzinfo is None
    stored = await select(nova_db, "SELECT start_time FROM instance_actions ORDER BY id")
    assert [row["start_time"] for row in stored] == [T0, T0.replace(microsecond=250000), T0]


async def test_action_start_for_an_unknown_instance_is_a_reference_error(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    with pytest.raises(errors.DBReferenceError):
        await db.action_start(admin, action_values("00000000-0000-0000-0000-000000000000"))
    assert await count_rows(nova_db, "instance_actions") == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"foo": "bar"},
        {"id": 5},
        {"deleted": 1},
        {"action": "x" * 256},
        {"message": "nul\x00"},
        {"user_id": 123},
        {"start_time": "not a time"},
        {"start_time": 1451642400},
        {"finish_time": "2016-13-01T00:00:00"},
        {"instance_uuid": "u" * 37},
    ],
    ids=lambda bad: next(iter(bad)),
)
async def test_action_start_refuses_bad_values_and_writes_nothing(
    nova_db: rawdb.Database, admin: rawdb.Context, bad: dict[str, Any]
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(errors.Invalid):
        await db.action_start(admin, {**action_values(instance), **bad})
    assert await count_rows(nova_db, "instance_actions") == 0


async def test_action_start_refuses_values_that_are_not_a_dict(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.action_start(admin, [("action", "x")])  # type: ignore[arg-type]


async def test_action_finish_sets_finish_time_and_keeps_the_other_columns(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    started = await db.action_start(admin, action_values(instance))
    finished = await db.action_finish(
        admin, {"instance_uuid": instance, "request_id": REQ, "finish_time": "2016-01-01T10:05:00.000000"}
    )
    assert finished["finish_time"] == T0 + timedelta(minutes=5)
    assert finished["updated_at"] is not None and finished["updated_at"] >= started["created_at"]
    unchanged = {k: v for k, v in finished.items() if k not in ("finish_time", "updated_at")}
    assert unchanged == {k: v for k, v in started.items() if k not in ("finish_time", "updated_at")}
    assert await db.actions_get(admin, instance) == [finished]


async def test_action_finish_with_the_full_values_of_the_start_changes_what_differs(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    values = action_values(instance)
    await db.action_start(admin, values)
    values["finish_time"] = T0 + timedelta(seconds=5)
    values["message"] = None  # an explicit None clears the column
    finished = await db.action_finish(admin, values)
    assert {k: finished[k] for k in values} == values


async def test_action_finish_honours_a_given_updated_at(nova_db: rawdb.Database, admin: rawdb.Context) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    finished = await db.action_finish(
        admin, {"instance_uuid": instance, "request_id": REQ, "finish_time": T0, "updated_at": T0}
    )
    assert finished["updated_at"] == T0


async def test_action_finish_without_a_started_action_raises_instance_action_not_found(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance, "req-other"))
    with pytest.raises(errors.InstanceActionNotFound) as caught:
        await db.action_finish(admin, {"instance_uuid": instance, "request_id": REQ, "finish_time": T0})
    assert REQ in str(caught.value) and instance in str(caught.value)
    assert (caught.value.request_id, caught.value.instance_uuid) == (REQ, instance)
    assert isinstance(caught.value, errors.NotFound)


async def test_action_finish_with_two_actions_for_the_request_changes_nothing(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    await db.action_start(admin, action_values(instance))
    with pytest.raises(errors.InstanceActionNotFound):
        await db.action_finish(admin, {"instance_uuid": instance, "request_id": REQ, "finish_time": T0})
    rows = await select(nova_db, "SELECT finish_time, updated_at FROM instance_actions")
    assert rows == [{"finish_time": None, "updated_at": None}] * 2


async def test_action_finish_does_not_see_a_deleted_action_unless_the_context_reads_deleted(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    await soft_delete(nova_db, "instance_actions", action["id"])
    finish = {"instance_uuid": instance, "request_id": REQ, "finish_time": T0}
    with pytest.raises(errors.InstanceActionNotFound):
        await db.action_finish(admin, finish)
    finished = await db.action_finish(admin.elevated(read_deleted="yes"), finish)
    assert (finished["id"], finished["finish_time"], finished["deleted"]) == (action["id"], T0, action["id"])


@pytest.mark.parametrize(
    ("instance_uuid", "request_id"),
    [("u" * 37, REQ), ("00000000-0000-0000-0000-000000000000", "r" * 256), ("00000000-0000", "nul\x00")],
)
async def test_action_finish_keys_no_action_can_have_raise_not_found(
    admin: rawdb.Context, instance_uuid: str, request_id: str
) -> None:
    with pytest.raises(errors.InstanceActionNotFound):
        await db.action_finish(admin, {"instance_uuid": instance_uuid, "request_id": request_id, "finish_time": T0})


@pytest.mark.parametrize(
    "bad",
    [
        {"request_id": REQ, "finish_time": T0},
        {"instance_uuid": "u1", "finish_time": T0},
        {"instance_uuid": "u1", "request_id": 42, "finish_time": T0},
        {"instance_uuid": None, "request_id": REQ},
        {"instance_uuid": "u1", "request_id": REQ, "finish_time": "yesterday"},
        {"instance_uuid": "u1", "request_id": REQ, "deleted": 1},
        {"instance_uuid": "u1", "request_id": REQ, "bogus": "x"},
        {"instance_uuid": "u1", "request_id": REQ, "message": "m" * 256},
    ],
)
async def test_action_finish_refuses_bad_values_and_changes_nothing(
    nova_db: rawdb.Database, admin: rawdb.Context, bad: dict[str, Any]
) -> None:
    instance = await make_instance(nova_db, uuid="u1")
    await db.action_start(admin, action_values(instance))
    with pytest.raises(errors.Invalid):
        await db.action_finish(admin, bad)
    assert await select(nova_db, "SELECT finish_time, message FROM instance_actions") == [
        {"finish_time": None, "message": "action-message"}
    ]


async def test_actions_get_returns_the_instances_actions_newest_first_ties_by_later_id(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance, other = await make_instance(nova_db), await make_instance(nova_db)
    old = await db.action_start(admin, action_values(instance, "r1", created_at=T0))
    tie_a = await db.action_start(admin, action_values(instance, "r2", created_at=T0 + timedelta(hours=1)))
    tie_b = await db.action_start(admin, action_values(instance, "r3", created_at=T0 + timedelta(hours=1)))
    middle = await db.action_start(admin, action_values(instance, "r4", created_at="2016-01-01T10:30:00.000000"))
    await db.action_start(admin, action_values(other, "r1"))
    actions = await db.actions_get(admin, instance)
    assert [a["id"] for a in actions] == [tie_b["id"], tie_a["id"], middle["id"], old["id"]]
    assert actions[0] == tie_b


async def test_actions_get_shows_deleted_actions_only_to_contexts_that_read_them(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    live = await db.action_start(admin, action_values(instance, "r1", created_at=T0))
    gone = await db.action_start(admin, action_values(instance, "r2", created_at=T0))
    await soft_delete(nova_db, "instance_actions", gone["id"])
    assert [a["id"] for a in await db.actions_get(admin, instance)] == [live["id"]]
    assert [a["id"] for a in await db.actions_get(admin.elevated(read_deleted="yes"), instance)] == [
        gone["id"],
        live["id"],
    ]
    assert [a["id"] for a in await db.actions_get(admin.elevated(read_deleted="only"), instance)] == [gone["id"]]


async def test_actions_get_of_an_unknown_or_impossible_uuid_is_empty_and_a_non_string_is_invalid(
    admin: rawdb.Context,
) -> None:
    assert await db.actions_get(admin, "00000000-0000-0000-0000-000000000000") == []
    assert await db.actions_get(admin, "u" * 37) == []
    assert await db.actions_get(admin, "nul\x00") == []
    with pytest.raises(errors.Invalid):
        await db.actions_get(admin, 42)  # type: ignore[arg-type]


async def test_action_get_by_request_id_finds_the_instances_action_for_the_request(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance, other = await make_instance(nova_db), await make_instance(nova_db)
    first = await db.action_start(admin, action_values(instance))
    await db.action_start(admin, action_values(instance, "req-resize", action="resize"))
    await db.action_start(admin, action_values(instance, action="duplicate"))
    await db.action_start(admin, action_values(other, action="reboot"))
    assert await db.action_get_by_request_id(admin, instance, REQ) == first  # the first of the request's
    resize = await db.action_get_by_request_id(admin, instance, "req-resize")
    assert resize is not None and resize["action"] == "resize"
    assert await db.action_get_by_request_id(admin, instance, "req-none") is None
    assert await db.action_get_by_request_id(admin, "u" * 37, REQ) is None
    with pytest.raises(errors.Invalid):
        await db.action_get_by_request_id(admin, instance, None)  # type: ignore[arg-type]


# --- events --------------------------------------------------------------------------------


async def test_action_event_start_records_an_event_of_the_requests_action(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    event = await db.action_event_start(admin, event_values(instance))
    assert set(event) == EVENT_KEYS
    assert (event["action_id"], event["event"], event["host"], event["details"]) == (
        action["id"],
        "schedule",
        "fake-host",
        "fake-details",
    )
    assert (event["start_time"], event["finish_time"], event["result"], event["traceback"]) == (T0, None, None, None)
    assert (event["deleted"], event["updated_at"]) == (0, None)
    assert await db.action_events_get(admin, action["id"]) == [event]


async def test_action_event_start_parses_a_string_start_time_and_defaults_it_to_now(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    parsed = await db.action_event_start(admin, event_values(instance, start_time=T0.isoformat()))
    assert parsed["start_time"] == T0
    values = event_values(instance, "run")
    del values["start_time"]
    before = datetime.utcnow()
    defaulted = await db.action_event_start(admin, values)
    assert before <= defaulted["start_time"] <= datetime.utcnow()


async def test_action_event_start_without_an_action_raises_instance_action_not_found(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(errors.InstanceActionNotFound) as caught:
        await db.action_event_start(alice, event_values(instance))
    assert instance in str(caught.value) and REQ in str(caught.value)
    assert await count_rows(nova_db, "instance_actions_events") == 0


async def test_action_event_start_of_a_context_without_project_falls_back_on_the_newest_action(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance, "r-old", created_at=T0))
    newest = await db.action_start(admin, action_values(instance, "r-new", created_at=T0 + timedelta(hours=1)))
    await db.action_start(admin, action_values(instance, "r-mid", created_at=T0 + timedelta(minutes=30)))
    # nova-compute's init_host: an admin context without project, with a request id of its own
    event = await db.action_event_start(admin, event_values(instance, request_id="req-init-host"))
    assert event["action_id"] == newest["id"]
    with pytest.raises(errors.InstanceActionNotFound):  # a user context never falls back
        await db.action_event_start(alice, event_values(instance, request_id="req-init-host"))


async def test_action_event_start_prefers_the_requests_action_to_the_newest(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    requested = await db.action_start(admin, action_values(instance, "r-old", created_at=T0))
    await db.action_start(admin, action_values(instance, "r-new", created_at=T0 + timedelta(hours=1)))
    event = await db.action_event_start(admin, event_values(instance, request_id="r-old"))
    assert event["action_id"] == requested["id"]


async def test_action_event_start_ignores_a_given_action_id(nova_db: rawdb.Database, admin: rawdb.Context) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    event = await db.action_event_start(admin, event_values(instance, action_id=action["id"] + 100))
    assert event["action_id"] == action["id"]


@pytest.mark.parametrize(
    "bad",
    [
        {"event": "e" * 256},
        {"traceback": "t" * 65536},
        {"details": "é" * 40000},  # 80,000 bytes: more than MariaDB's TEXT holds
        {"host": 5},
        {"bogus": 1},
        {"start_time": "soon"},
        {"request_id": None},
    ],
    ids=lambda bad: next(iter(bad)),
)
async def test_action_event_start_refuses_bad_values_and_writes_nothing(
    nova_db: rawdb.Database, admin: rawdb.Context, bad: dict[str, Any]
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    with pytest.raises(errors.Invalid):
        await db.action_event_start(admin, event_values(instance, **bad))
    assert await count_rows(nova_db, "instance_actions_events") == 0


async def test_action_event_start_takes_a_traceback_as_long_as_mariadbs_text_holds(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    event = await db.action_event_start(admin, event_values(instance, traceback="t" * 65535))
    assert event["traceback"] == "t" * 65535


async def test_action_event_finish_success_keeps_the_actions_message(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    started = await db.action_event_start(admin, event_values(instance))
    finish = event_values(instance, finish_time=T0 + timedelta(seconds=5), result="Success")
    event = await db.action_event_finish(admin, finish)
    assert event["id"] == started["id"]
    assert (event["finish_time"], event["result"]) == (T0 + timedelta(seconds=5), "Success")
    assert event["updated_at"] is not None
    assert await db.action_events_get(admin, action["id"]) == [event]
    assert await db.action_get_by_request_id(admin, instance, REQ) == action


@pytest.mark.parametrize("result", ["Error", "error", "ERROR"])
async def test_action_event_finish_with_an_error_marks_the_action_error(
    nova_db: rawdb.Database, admin: rawdb.Context, result: str
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    await db.action_event_start(admin, event_values(instance))
    event = await db.action_event_finish(admin, event_values(instance, finish_time=T0, result=result, traceback="tb"))
    assert (event["result"], event["traceback"]) == (result, "tb")
    action = await db.action_get_by_request_id(admin, instance, REQ)
    assert action is not None and action["message"] == "Error" and action["updated_at"] is not None


async def test_action_event_finish_changes_only_the_columns_given(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    started = await db.action_event_start(admin, event_values(instance))
    event = await db.action_event_finish(
        admin,
        {
            "instance_uuid": instance,
            "request_id": REQ,
            "event": "schedule",
            "finish_time": "2016-01-01T10:00:09.000000",
        },
    )
    assert event["finish_time"] == T0 + timedelta(seconds=9)
    assert {k: event[k] for k in ("start_time", "host", "details", "result", "created_at")} == {
        k: started[k] for k in ("start_time", "host", "details", "result", "created_at")
    }


async def test_action_event_finish_without_a_started_event_raises_event_not_found(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    await db.action_event_start(admin, event_values(instance, "run"))
    with pytest.raises(errors.InstanceActionEventNotFound) as caught:
        await db.action_event_finish(admin, event_values(instance, finish_time=T0, result="Error"))
    assert (caught.value.action_id, caught.value.event) == (action["id"], "schedule")
    assert "schedule" in str(caught.value) and str(action["id"]) in str(caught.value)
    still = await db.action_get_by_request_id(admin, instance, REQ)
    assert still is not None and still["message"] == "action-message"


async def test_action_event_finish_without_an_action_raises_action_not_found(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(errors.InstanceActionNotFound):
        await db.action_event_finish(alice, event_values(instance, finish_time=T0, result="Success"))


async def test_action_event_finish_of_a_context_without_project_falls_back_on_the_newest_action(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    await db.action_event_start(admin, event_values(instance, request_id="req-init-host"))
    event = await db.action_event_finish(
        admin, event_values(instance, request_id="req-init-host", finish_time=T0, result="Success")
    )
    assert (event["action_id"], event["result"]) == (action["id"], "Success")
    after = await db.action_get_by_request_id(admin, instance, REQ)
    assert after is not None and after["message"] == "action-message"


async def test_action_event_finish_finishes_the_first_event_of_that_name(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    first = await db.action_event_start(admin, event_values(instance))
    second = await db.action_event_start(admin, event_values(instance))
    event = await db.action_event_finish(admin, event_values(instance, result="Success"))
    assert event["id"] == first["id"]
    assert (await select(nova_db, "SELECT result FROM instance_actions_events WHERE id = :id", id=second["id"])) == [
        {"result": None}
    ]


@pytest.mark.parametrize(
    "bad",
    [{"action_id": 1}, {"traceback": "x" * 70000}, {"result": 1}, {"event": None}, {"finish_time": [2016]}],
    ids=lambda bad: next(iter(bad)),
)
async def test_action_event_finish_refuses_bad_values_and_changes_nothing(
    nova_db: rawdb.Database, admin: rawdb.Context, bad: dict[str, Any]
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    await db.action_event_start(admin, event_values(instance))
    with pytest.raises(errors.Invalid):
        await db.action_event_finish(admin, {**event_values(instance, result="Error"), **bad})
    assert await select(nova_db, "SELECT result, finish_time, updated_at FROM instance_actions_events") == [
        {"result": None, "finish_time": None, "updated_at": None}
    ]
    assert await select(nova_db, "SELECT message FROM instance_actions") == [{"message": "action-message"}]


async def test_action_events_get_orders_newest_first_ties_by_later_id(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    other = await db.action_start(admin, action_values(instance, "req-other"))
    schedule = await db.action_event_start(admin, event_values(instance, "schedule", created_at=T0))
    run = await db.action_event_start(admin, event_values(instance, "run", created_at=T0))
    stop = await db.action_event_start(admin, event_values(instance, "stop", created_at=T0 + timedelta(seconds=5)))
    await db.action_event_start(admin, event_values(instance, "elsewhere", "req-other"))
    events = await db.action_events_get(admin, action["id"])
    assert [e["id"] for e in events] == [stop["id"], run["id"], schedule["id"]]
    assert [e["event"] for e in await db.action_events_get(admin, other["id"])] == ["elsewhere"]
    assert await db.action_events_get(admin, 2**40) == []
    with pytest.raises(errors.Invalid):
        await db.action_events_get(admin, "one")  # type: ignore[arg-type]


async def test_action_events_get_hides_deleted_events_unless_the_context_reads_them(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    event = await db.action_event_start(admin, event_values(instance))
    await soft_delete(nova_db, "instance_actions_events", event["id"])
    assert await db.action_events_get(admin, action["id"]) == []
    assert await db.action_event_get_by_id(admin, action["id"], event["id"]) is None
    seen = await db.action_events_get(admin.elevated(read_deleted="yes"), action["id"])
    assert [e["id"] for e in seen] == [event["id"]]


async def test_action_event_get_by_id_returns_the_event_of_that_action_only(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance, other = await make_instance(nova_db), await make_instance(nova_db)
    action = await db.action_start(admin, action_values(instance))
    other_action = await db.action_start(admin, action_values(other, action="reboot"))
    event = await db.action_event_start(admin, event_values(instance))
    await db.action_event_start(admin, event_values(other, "reboot"))
    assert await db.action_event_get_by_id(admin, action["id"], event["id"]) == event
    assert await db.action_event_get_by_id(admin, other_action["id"], event["id"]) is None
    assert await db.action_event_get_by_id(admin, action["id"], 2**40) is None
    with pytest.raises(errors.Invalid):
        await db.action_event_get_by_id(admin, action["id"], 1.5)  # type: ignore[arg-type]


async def test_concurrent_action_finish_and_failing_event_finish_keep_both_changes(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    await db.action_start(admin, action_values(instance))
    for n in range(5):
        await db.action_event_start(admin, event_values(instance, f"step-{n}"))
    finish = {"instance_uuid": instance, "request_id": REQ, "finish_time": T0 + timedelta(minutes=1)}
    await asyncio.gather(
        db.action_finish(admin, finish),
        *(db.action_event_finish(admin, event_values(instance, f"step-{n}", result="Error")) for n in range(5)),
    )
    action = await db.action_get_by_request_id(admin, instance, REQ)
    assert action is not None
    assert (action["finish_time"], action["message"]) == (T0 + timedelta(minutes=1), "Error")
    assert await select(nova_db, "SELECT count(*) AS n FROM instance_actions_events WHERE result = 'Error'") == [
        {"n": 5}
    ]


async def test_calls_inside_a_callers_writer_share_its_transaction(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            await db.action_start(tx, action_values(instance))
            await db.action_event_start(tx, event_values(instance))
            assert len(await db.actions_get(tx, instance)) == 1
            raise RuntimeError("roll back")
    assert await count_rows(nova_db, "instance_actions") == 0
    assert await count_rows(nova_db, "instance_actions_events") == 0


# --- faults --------------------------------------------------------------------------------


async def test_instance_fault_create_returns_the_row_and_the_lookup_finds_it(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db)
    assert await db.instance_fault_get_by_instance_uuids(admin, [instance]) == {instance: []}
    fault = await db.instance_fault_create(admin, fault_values(instance))
    assert set(fault) == FAULT_KEYS
    assert {k: fault[k] for k in ("message", "details", "instance_uuid", "code", "host")} == fault_values(instance)
    assert (fault["deleted"], fault["deleted_at"], fault["updated_at"]) == (0, None, None)
    assert isinstance(fault["created_at"], datetime) and fault["created_at"].tzinfo is None
    assert await db.instance_fault_get_by_instance_uuids(admin, [instance]) == {instance: [fault]}


async def test_instance_fault_get_by_instance_uuids_gives_every_uuid_its_faults_newest_first(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    uuids = [await make_instance(nova_db) for _ in range(4)]
    one, two, quiet, other = uuids
    old = await db.instance_fault_create(admin, fault_values(one, 404, created_at=T0))
    tie_a = await db.instance_fault_create(admin, fault_values(one, 500, created_at="2016-01-01T11:00:00.000000"))
    tie_b = await db.instance_fault_create(
        admin, fault_values(one, 501, created_at=datetime(2016, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=1))))
    )
    two_fault = await db.instance_fault_create(admin, fault_values(two, 500))
    gone = await db.instance_fault_create(admin, fault_values(two, 503))
    await soft_delete(nova_db, "instance_faults", gone["id"])
    await db.instance_fault_create(admin, fault_values(other, 500))
    counter = StatementCounter()
    with nova_db.hooked(counter):
        faults = await db.instance_fault_get_by_instance_uuids(admin, [quiet, one, two, "u" * 37, one])
    assert counter.total == 1
    assert list(faults) == [quiet, one, two, "u" * 37]
    assert faults[quiet] == [] and faults["u" * 37] == []
    assert [f["id"] for f in faults[one]] == [tie_b["id"], tie_a["id"], old["id"]]
    assert faults[two] == [two_fault]


async def test_instance_fault_get_by_no_instance_uuids_is_empty_without_a_query(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    counter = StatementCounter()
    with nova_db.hooked(counter):
        assert await db.instance_fault_get_by_instance_uuids(admin, []) == {}
        assert await db.instance_fault_get_by_instance_uuids(admin, ()) == {}
    assert counter.total == 0


@pytest.mark.parametrize("bad", ["uuid", None, 42, [42], [None], {"u": "v"}])
async def test_instance_fault_get_by_instance_uuids_refuses_what_is_not_a_list_of_strings(
    admin: rawdb.Context, bad: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.instance_fault_get_by_instance_uuids(admin, bad)


async def test_instance_fault_get_by_instance_uuids_takes_a_set(nova_db: rawdb.Database, admin: rawdb.Context) -> None:
    instance = await make_instance(nova_db)
    fault = await db.instance_fault_create(admin, fault_values(instance))
    assert await db.instance_fault_get_by_instance_uuids(admin, {instance}) == {instance: [fault]}


async def test_instance_fault_for_an_unknown_instance_is_a_reference_error(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    with pytest.raises(errors.DBReferenceError):
        await db.instance_fault_create(admin, fault_values("00000000-0000-0000-0000-000000000000"))
    assert await count_rows(nova_db, "instance_faults") == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"code": None},
        {"code": "five hundred"},
        {"code": 2**31},
        {"message": "m" * 256},
        {"host": "nul\x00"},
        {"details": "d" * (16 * 1024 * 1024)},
        {"deleted": 1},
        {"extra": "x"},
        {"created_at": "not a time"},
    ],
    ids=lambda bad: next(iter(bad)),
)
async def test_instance_fault_create_refuses_bad_values_and_writes_nothing(
    nova_db: rawdb.Database, admin: rawdb.Context, bad: dict[str, Any]
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(errors.Invalid):
        await db.instance_fault_create(admin, fault_values(instance, **bad))
    assert await count_rows(nova_db, "instance_faults") == 0


async def test_instance_fault_create_without_code_is_invalid(nova_db: rawdb.Database, admin: rawdb.Context) -> None:
    instance = await make_instance(nova_db)
    values = fault_values(instance)
    del values["code"]
    with pytest.raises(errors.Invalid):
        await db.instance_fault_create(admin, values)
    assert await count_rows(nova_db, "instance_faults") == 0


async def test_instance_fault_lookups_match_uuids_exactly_on_every_backend(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    instance = await make_instance(nova_db, uuid="abcdef00-0000-0000-0000-00000000000")  # 35 characters
    await db.instance_fault_create(admin, fault_values(instance))
    upper, padded = instance.upper(), instance + " "
    faults = await db.instance_fault_get_by_instance_uuids(admin, [upper, padded])
    assert faults == {upper: [], padded: []}
