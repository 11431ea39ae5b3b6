"""Bandwidth and volume usage caches and the task log (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3
"Usage accounting").

- A *bandwidth usage* row caches an instance interface's traffic in an audit period: ``created_at,
  updated_at, deleted_at, deleted, id, uuid, mac, start_period, last_refreshed, bw_in, bw_out,
  last_ctr_in, last_ctr_out``; one row per ``(uuid, mac, start_period)``.
- A *volume usage* row caches a volume's I/O counters: the current ones (``curr_*``, since the
  instance last started) and the totals (``tot_*``), with ``volume_id, instance_uuid,
  project_id, user_id, availability_zone`` and when each half was last refreshed.
- A *task log* row records a periodic task's run on a host for a period: ``created_at,
  updated_at, deleted_at, deleted, id, task_name, state, host, period_beginning,
  period_ending, message, task_items, errors``.

Usage reads see deleted rows (rd=yes); task log reads and ``task_log_end_task`` see rows as
``context.read_deleted`` says.  Usage functions need an admin or user context (Newton's
``require_context``); the task log checks no caller.  Times rawdb writes itself
(``last_refreshed`` by default, ``tot_/curr_last_refreshed``, ``created_at``, ``updated_at``)
come from ``rawdb.timeutils.utcnow``, which a caller can freeze.  Period arguments are
datetimes (aware ones converted to naive UTC) or ISO-8601 strings (spec B.4).

The two caches have no unique key, so their upserts serialise the writers of one key (see
``sql/nova/usage.sql``): concurrent callers never make a second row, and volume totals add up
exactly.  Bad input (a value its column cannot hold, a total past BIGINT) is ``Invalid`` and
nothing is written; a lookup key no row can hold finds nothing.

Where rawdb departs from upstream:

- ``bw_usage_update`` and ``vol_usage_update`` return the row (Newton returned its model);
  ``update_cells`` is accepted and does nothing (rawdb has no cells RPC to notify).
- ``task_log_begin_task`` without a message is ``Invalid`` (the column is NOT NULL: upstream's
  insert failed in the database); it returns None, as upstream.
- ``uuid`` and ``mac`` of a bandwidth usage, and a volume's ``id``, must be strings (upstream
  stored a None key, which no lookup could find again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.checks import check_bool, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, read_deleted, require_context
from rawdb.decorators import reader, writer
from rawdb.errors import TaskNotRunning
from rawdb.nova._usage import (
    COUNTERS,
    MAC_LENGTH,
    NAME_LENGTH,
    UUID_LENGTH,
    lock_key,
    optional_text,
    time_arg,
    uuid_list,
    volume_counters,
)
from rawdb.timeutils import utcnow

Row = dict[str, Any]


async def _written(context: Context, rows: list[Row], read_back: str, row_id: int | None) -> Row:
    """The row an INSERT/UPDATE ... RETURNING gave; on MySQL the row read back by id (None: the last insert)."""
    if context.dialect == "mysql":
        rows = await context.fetch(read_back, id=row_id)
    return dict(rows[0])


# --- bandwidth usage -----------------------------------------------------------------------


@require_context
@reader
async def bw_usage_get(context: Context, uuid: str, start_period: datetime | str, mac: str) -> Row | None:
    """The bandwidth usage of an instance's interface in a period (the first, if several), deleted or not.

    :returns: the row, or None
    :raises Invalid: ``uuid`` or ``mac`` is not a string, ``start_period`` no time
    :raises NotAuthorized: neither an admin nor a user context
    """
    period = time_arg(start_period, "start_period")
    key, address = lookup_text(uuid, "uuid", UUID_LENGTH), lookup_text(mac, "mac", MAC_LENGTH)
    if key is None or address is None:
        return None
    row = await context.fetchrow("nova.usage.bw_get", uuid=key, mac=address, start_period=period)
    return None if row is None else dict(row)


@require_context
@reader
async def bw_usage_get_by_uuids(context: Context, uuids: Sequence[str], start_period: datetime | str) -> list[Row]:
    """The bandwidth usages of some instances in a period, deleted or not, oldest first.

    :returns: the rows; ``[]`` (and no query) for no uuids
    :raises Invalid: ``uuids`` is not a list of strings, ``start_period`` no time
    :raises NotAuthorized: neither an admin nor a user context
    """
    period = time_arg(start_period, "start_period")
    wanted = uuid_list(uuids)
    if not wanted:
        return []
    rows = await context.fetch("nova.usage.bw_get_by_uuids", uuids=wanted, start_period=period)
    return [dict(row) for row in rows]


@require_context
@writer(retry=True)
async def bw_usage_update(
    context: Context,
    uuid: str,
    mac: str,
    start_period: datetime | str,
    bw_in: int,
    bw_out: int,
    last_ctr_in: int,
    last_ctr_out: int,
    last_refreshed: datetime | str | None = None,
    update_cells: bool = True,
) -> Row:
    """Store the bandwidth usage of an instance's interface in a period: update its row, or insert one.

    The row updated is the key's first (deleted or not); concurrent callers on one key never
    make a second row.  Retried whole on deadlocks when it opens its own transaction.

    :param last_refreshed: default now
    :param update_cells: accepted for upstream's signature; rawdb notifies no cells
    :returns: the row
    :raises Invalid: ``uuid`` or ``mac`` missing or not a string a row can hold, a time that is
        none, a counter that is no integer BIGINT holds; nothing is written
    :raises NotAuthorized: neither an admin nor a user context
    """
    check_bool(update_cells, "update_cells")
    now = utcnow()
    if uuid is None or mac is None:
        raise errors.Invalid("a bandwidth usage needs a uuid and a mac")
    given = coerce_values(
        "nova",
        "bw_usage_cache",
        {
            "uuid": uuid,
            "mac": mac,
            "start_period": time_arg(start_period, "start_period"),
            "last_refreshed": now if last_refreshed is None else time_arg(last_refreshed, "last_refreshed"),
            "bw_in": bw_in,
            "bw_out": bw_out,
            "last_ctr_in": last_ctr_in,
            "last_ctr_out": last_ctr_out,
        },
    )
    key = {"uuid": given["uuid"], "mac": given["mac"], "start_period": given["start_period"]}
    counters = {k: given[k] for k in ("last_refreshed", "bw_in", "bw_out", "last_ctr_in", "last_ctr_out")}
    if context.dialect == "postgresql":
        await context.execute("nova.usage.bw_lock", lock_key=lock_key(*key.values()))
    found = await context.fetchrow("nova.usage.bw_find", **key)
    if found is None:
        rows = await context.fetch("nova.usage.bw_insert", **key, **counters, now=now)
        if context.dialect != "mysql":
            return dict(rows[0])
        row = await _written(context, rows, "nova.usage.bw_read_back", None)
        rival = await context.fetchrow("nova.usage.bw_rival", **key, id=row["id"])
        if rival is None:
            return row
        # A concurrent caller's row committed first: ours goes, and theirs is updated.
        await context.execute("nova.usage.bw_discard", id=row["id"])
        found = await context.fetchrow("nova.usage.bw_find", **key)
        assert found is not None  # the rival's row, locked
    rows = await context.fetch("nova.usage.bw_update", id=found["id"], **counters, now=now)
    return await _written(context, rows, "nova.usage.bw_read_back", found["id"])


# --- volume usage --------------------------------------------------------------------------


@require_context
@reader
async def vol_get_usage_by_time(context: Context, begin: datetime | str) -> list[Row]:
    """The volume usages refreshed after ``begin`` (or never), totals or current, deleted or not, oldest first.

    :raises Invalid: ``begin`` is no time
    :raises NotAuthorized: neither an admin nor a user context
    """
    rows = await context.fetch("nova.usage.vol_get_usage_by_time", begin=time_arg(begin, "begin"))
    return [dict(row) for row in rows]


@require_context
@writer(retry=True)
async def vol_usage_update(
    context: Context,
    id: str,
    rd_req: int,
    rd_bytes: int,
    wr_req: int,
    wr_bytes: int,
    instance_id: str | None,
    project_id: str | None,
    user_id: str | None,
    availability_zone: str | None,
    update_totals: bool = False,
) -> Row:
    """Store a volume's I/O counters (Newton's accounting): update its row, or insert one.

    Without ``update_totals`` the counters are the current ones (``curr_*``,
    ``curr_last_refreshed`` now); with it they are added to the totals (``tot_*``,
    ``tot_last_refreshed`` now) and the current ones reset to 0.  A counter below the stored
    current one means the instance restarted: the stored current counters are added to the
    totals first.  ``instance_uuid`` (``instance_id``), ``project_id``, ``user_id`` and
    ``availability_zone`` are stored as given.  The row updated is the volume's first
    (deleted or not); concurrent callers never make a second row and their totals add up.
    Retried whole on deadlocks when it opens its own transaction.

    :param id: the volume's id
    :returns: the row
    :raises Invalid: ``id`` missing, a counter that is no integer BIGINT holds, a total that
        would exceed it, a string its column cannot hold; nothing is written
    :raises NotAuthorized: neither an admin nor a user context
    """
    totals = check_bool(update_totals, "update_totals")
    if not isinstance(id, str):
        raise errors.Invalid(f"id (the volume's) must be a string, not {type(id).__name__}")
    given = coerce_values(
        "nova",
        "volume_usage_cache",
        {
            "volume_id": id,
            "instance_uuid": instance_id,
            "project_id": project_id,
            "user_id": user_id,
            "availability_zone": availability_zone,
            **{f"curr_{c}": v for c, v in zip(COUNTERS, (rd_req, rd_bytes, wr_req, wr_bytes), strict=True)},
        },
    )
    counters = {c: given.pop(f"curr_{c}") for c in COUNTERS}
    now = utcnow()
    flags = {"tot_last_refreshed": now if totals else None, "curr_last_refreshed": None if totals else now, "now": now}
    if context.dialect == "postgresql":
        await context.execute("nova.usage.vol_lock", volume_id=given["volume_id"])
    stored = await context.fetchrow("nova.usage.vol_find", volume_id=given["volume_id"])
    if stored is None:
        params = {**given, **volume_counters(None, counters, totals), **flags}
        rows = await context.fetch("nova.usage.vol_insert", **params)
        if context.dialect != "mysql":
            return dict(rows[0])
        row = await _written(context, rows, "nova.usage.vol_read_back", None)
        rival = await context.fetchrow("nova.usage.vol_rival", volume_id=given["volume_id"], id=row["id"])
        if rival is None:
            return row
        # A concurrent caller's row committed first: ours goes, and theirs is updated.
        await context.execute("nova.usage.vol_discard", id=row["id"])
        stored = await context.fetchrow("nova.usage.vol_find", volume_id=given["volume_id"])
        assert stored is not None  # the rival's row, locked
    params = {**given, **volume_counters(stored, counters, totals), **flags}
    del params["volume_id"]
    rows = await context.fetch("nova.usage.vol_update", id=stored["id"], **params)
    return await _written(context, rows, "nova.usage.vol_read_back", stored["id"])


# --- task log ------------------------------------------------------------------------------


def _task_key(task_name: Any, period_beginning: Any, period_ending: Any) -> dict[str, Any] | None:
    """The task and period to look task logs up by; None when no row can hold the name.

    :raises Invalid: a name that is no string, a period that is no time
    """
    beginning = time_arg(period_beginning, "period_beginning")
    ending = time_arg(period_ending, "period_ending")
    name = lookup_text(task_name, "task_name", NAME_LENGTH)
    if name is None:
        return None
    return {"task_name": name, "period_beginning": beginning, "period_ending": ending}


async def _task_logs(
    context: Context, task_name: Any, period_beginning: Any, period_ending: Any, host: Any, state: Any
) -> list[Row]:
    key = _task_key(task_name, period_beginning, period_ending)
    host_ok, host_text = optional_text(host, "host", NAME_LENGTH)
    state_ok, state_text = optional_text(state, "state", NAME_LENGTH)
    if key is None or not host_ok or not state_ok:
        return []
    rows = await context.fetch(
        "nova.usage.task_get_all", **key, host=host_text, state=state_text, read_deleted=read_deleted(context)
    )
    return [dict(row) for row in rows]


@writer(retry=True)
async def task_log_begin_task(
    context: Context,
    task_name: str,
    period_beginning: datetime | str,
    period_ending: datetime | str,
    host: str,
    task_items: int | None = None,
    message: str | None = None,
) -> None:
    """Open the task log of a task on a host for a period (state ``RUNNING``).

    :param task_items: default 0
    :param message: required (the column is NOT NULL)
    :raises TaskAlreadyRunning: the task has a log for this host and period (deleted or not:
        the unique key holds them all); nothing is written, an enclosing transaction goes on
    :raises Invalid: no message, a value its column cannot hold; nothing is written
    """
    if not message:
        raise errors.Invalid("task_log_begin_task needs a message (task_log.message is NOT NULL)")
    given = coerce_values(
        "nova",
        "task_log",
        {
            "task_name": task_name,
            "period_beginning": time_arg(period_beginning, "period_beginning"),
            "period_ending": time_arg(period_ending, "period_ending"),
            "host": host,
            "message": message,
            "task_items": task_items or 0,
        },
    )
    try:
        async with context.savepoint() as sp:
            await sp.execute("nova.usage.task_begin", **given, now=utcnow())
    except errors.DBDuplicateEntry as exc:
        raise errors.TaskAlreadyRunning(task_name=task_name, host=host) from exc


@writer
async def task_log_end_task(
    context: Context,
    task_name: str,
    period_beginning: datetime | str,
    period_ending: datetime | str,
    host: str,
    errors: int | None,
    message: str | None = None,
) -> None:
    """Close the task log of a task on a host for a period, whatever its state: state ``DONE``, the errors.

    :param errors: the number of errors (stored as given)
    :param message: replaces the log's message when given (not empty)
    :raises TaskNotRunning: no log of the task on the host for the period (as
        ``context.read_deleted`` sees them)
    :raises Invalid: a value its column cannot hold; nothing is written
    """
    changes = coerce_values("nova", "task_log", {"errors": errors, **({"message": message} if message else {})})
    key = _task_key(task_name, period_beginning, period_ending)
    host_ok, host_text = optional_text(host, "host", NAME_LENGTH)
    changed = 0
    if key is not None and host_ok:
        changed = await context.execute(
            "nova.usage.task_end",
            **key,
            host=host_text,
            errors=changes["errors"],
            set_message="message" in changes,
            message=changes.get("message"),
            now=utcnow(),
            read_deleted=read_deleted(context),
        )
    if changed == 0:
        raise TaskNotRunning(  # (the parameter ``errors`` hides the module here)
            task_name=task_name, host=host
        )


@reader
async def task_log_get(
    context: Context,
    task_name: str,
    period_beginning: datetime | str,
    period_ending: datetime | str,
    host: str | None,
    state: str | None = None,
) -> Row | None:
    """The (first) task log of a task and period on ``host`` (any host when None), in ``state`` when given.

    :returns: the row, or None
    :raises Invalid: a name that is no string, a period that is no time
    """
    rows = await _task_logs(context, task_name, period_beginning, period_ending, host, state)
    return rows[0] if rows else None


@reader
async def task_log_get_all(
    context: Context,
    task_name: str,
    period_beginning: datetime | str,
    period_ending: datetime | str,
    host: str | None = None,
    state: str | None = None,
) -> list[Row]:
    """The task logs of a task and period, on ``host`` and in ``state`` when given, oldest first.

    :raises Invalid: a name that is no string, a period that is no time
    """
    return await _task_logs(context, task_name, period_beginning, period_ending, host, state)
