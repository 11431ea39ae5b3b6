"""Instance actions, their events, and instance faults (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3).

An action records one user request on an instance (``instance_uuid`` + ``request_id``);
its events record the steps the services took for it; a fault records an error an
instance met.  As in Newton, the DB layer checks no caller: services do.  Lookups see
rows as ``context.read_deleted`` says, the faults' lookup only live ones.

Values come as upstream's callers send them: times as datetimes (aware ones are stored
as naive UTC) or ISO-8601 strings (``'2016-01-01T10:00:00.000000'``: spec B.4).  A value a
column cannot hold is ``Invalid`` and nothing is written; a lookup key no row can hold
(an over-long uuid) simply finds nothing.

Where rawdb departs from upstream:

- ``action_finish`` changes nothing when several actions share the request id (upstream
  changed them all, then raised, leaving the changes to a caller's own transaction); it
  raises ``InstanceActionNotFound`` as upstream did.
- ``action_finish`` and ``action_event_finish`` write only the columns given, in one
  statement, so concurrent calls on the same action never undo each other's columns.
- ``instance_uuid``/``request_id`` are the keys of the action; ``action_id`` is found,
  not given (upstream overwrote a given one when starting an event and moved the event
  when finishing one: here a given one is ignored, respectively Invalid).
- traceback and details longer than MariaDB's TEXT holds (64 KiB; a fault's details
  16 MiB, MEDIUMTEXT) are Invalid on every backend alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from rawdb import errors
from rawdb.checks import lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The columns action_finish / action_event_finish change when given (updated_at: always).
ACTION_COLUMNS = ("action", "user_id", "project_id", "start_time", "finish_time", "message", "created_at")
EVENT_COLUMNS = ("start_time", "finish_time", "result", "traceback", "host", "details", "created_at")
# Text columns MariaDB bounds in bytes (TEXT, MEDIUMTEXT); the other backends would take more.
EVENT_TEXT_BYTES = {"traceback": 65535, "details": 65535}
FAULT_TEXT_BYTES = {"details": 16777215}
UUID_LENGTH, NAME_LENGTH = 36, 255


# --- checks --------------------------------------------------------------------------------


def _mapping(values: Any) -> Mapping[str, Any]:
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    return values


def _key(values: Mapping[str, Any], name: str, max_length: int) -> str | None:
    """``values[name]``, an action's key, for a lookup (None: no action can have it).

    :raises Invalid: missing, or not a string
    """
    if name not in values:
        raise errors.Invalid(f"values must have {name!r}")
    return lookup_text(values[name], name, max_length)


def _check_bytes(values: Mapping[str, Any], limits: Mapping[str, int]) -> None:
    """:raises Invalid: a text longer (in UTF-8 bytes) than MariaDB's column holds."""
    for key, limit in limits.items():
        value = values.get(key)
        if isinstance(value, str) and len(value) * 4 > limit and len(value.encode(errors="replace")) > limit:
            raise errors.Invalid(f"{key} is longer than {limit} bytes")


def _changes(given: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """The parameters of an UPDATE that sets the given ``columns`` (``:set_<c>`` flags) and updated_at."""
    params: dict[str, Any] = {}
    for column in columns:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    params["updated_at"] = given.get("updated_at") or utcnow()
    return params


async def _returning(context: Context, statement: str, read_back: str, params: Mapping[str, Any]) -> Row | None:
    """Run an UPDATE of one row by ``:id`` and return the row, or None when there is none.

    MySQL has no UPDATE ... RETURNING: there the row is read back in the same transaction.
    """
    if context.dialect != "mysql":
        row = await context.fetchrow(statement, **params)
        return None if row is None else dict(row)
    if await context.execute(statement, **params) == 0:
        return None
    row = await context.fetchrow(read_back, id=params["id"])
    return None if row is None else dict(row)


async def _inserted(context: Context, rows: list[Row], read_back: str) -> Row:
    """The row an INSERT ... RETURNING gave; on MySQL the row LAST_INSERT_ID() names."""
    if context.dialect == "mysql":
        rows = await context.fetch(read_back, id=None)
    return dict(rows[0])


# --- actions -------------------------------------------------------------------------------


@writer
async def action_start(context: Context, values: Mapping[str, Any]) -> Row:
    """Record the start of an action on an instance.

    :param values: ``instance_uuid``, ``request_id``, ``action``, ``user_id``, ``project_id``,
        ``start_time`` (default now), ``finish_time``, ``message``, ``created_at``, ``updated_at``
    :returns: the action row
    :raises DBReferenceError: no instance has this uuid
    :raises Invalid: another key, or a value its column cannot hold; nothing is written
    """
    values = dict(_mapping(values))
    if values.get("start_time") is None:
        values["start_time"] = utcnow()
    rows = await insert_values(context, "nova.instance_actions.action_start", values, parse_times=True)
    return await _inserted(context, rows, "nova.instance_actions.action_read_back")


@writer
async def action_finish(context: Context, values: Mapping[str, Any]) -> Row:
    """Record the end of an action: change the columns given of the instance's action for the request.

    :param values: ``instance_uuid`` and ``request_id`` (which action), and what changes:
        ``finish_time`` usually, any of ``action``, ``user_id``, ``project_id``,
        ``start_time``, ``message``, ``created_at``; ``updated_at`` (default now)
    :returns: the action row, changed
    :raises InstanceActionNotFound: the instance has no action for the request, or several
    :raises Invalid: a key missing or unknown, or a value its column cannot hold
    """
    values = _mapping(values)
    instance_uuid = _key(values, "instance_uuid", UUID_LENGTH)
    request_id = _key(values, "request_id", NAME_LENGTH)
    changes = {k: v for k, v in values.items() if k not in ("instance_uuid", "request_id")}
    given = coerce_values(
        "nova", "instance_actions", changes, frozenset((*ACTION_COLUMNS, "updated_at")), parse_times=True
    )
    row = None
    if instance_uuid is not None and request_id is not None:
        found = await context.fetch(
            "nova.instance_actions.action_find",
            instance_uuid=instance_uuid,
            request_id=request_id,
            read_deleted=read_deleted(context),
        )
        if len(found) == 1:
            row = await _returning(
                context,
                "nova.instance_actions.action_finish",
                "nova.instance_actions.action_read_back",
                {"id": found[0]["id"], **_changes(given, ACTION_COLUMNS)},
            )
    if row is None:
        raise errors.InstanceActionNotFound(request_id=values["request_id"], instance_uuid=values["instance_uuid"])
    return row


@reader
async def actions_get(context: Context, uuid: str) -> list[Row]:
    """An instance's actions, newest first (``created_at``, then the later id first).

    :raises Invalid: ``uuid`` is not a string
    """
    instance_uuid = lookup_text(uuid, "uuid", UUID_LENGTH)
    if instance_uuid is None:
        return []
    rows = await context.fetch(
        "nova.instance_actions.actions_get", instance_uuid=instance_uuid, read_deleted=read_deleted(context)
    )
    return [dict(row) for row in rows]


@reader
async def action_get_by_request_id(context: Context, uuid: str, request_id: str) -> Row | None:
    """The instance's action for a request (the first, if there are several), or None.

    :raises Invalid: ``uuid`` or ``request_id`` is not a string
    """
    instance_uuid = lookup_text(uuid, "uuid", UUID_LENGTH)
    request = lookup_text(request_id, "request_id", NAME_LENGTH)
    if instance_uuid is None or request is None:
        return None
    row = await context.fetchrow(
        "nova.instance_actions.action_get_by_request_id",
        instance_uuid=instance_uuid,
        request_id=request,
        read_deleted=read_deleted(context),
    )
    return None if row is None else dict(row)


# --- events --------------------------------------------------------------------------------


async def _action_for_event(context: Context, values: Mapping[str, Any], event: str | None) -> tuple[int, Any]:
    """The id of the action an event belongs to, and the id of its first event named ``event`` (if not None).

    The instance's action for ``values['request_id']``; failing that, for a context
    without a project (nova-compute restarting: Newton's init_host), the instance's newest.

    :returns: ``(action_id, event_id or None)``
    :raises InstanceActionNotFound: no such action
    :raises Invalid: ``instance_uuid`` or ``request_id`` missing or not a string
    """
    instance_uuid = _key(values, "instance_uuid", UUID_LENGTH)
    request_id = _key(values, "request_id", NAME_LENGTH)
    row = None
    if instance_uuid is not None:
        row = await context.fetchrow(
            "nova.instance_actions.action_for_event",
            instance_uuid=instance_uuid,
            request_id=request_id,
            fallback=not context.project_id,
            event=event,
            read_deleted=read_deleted(context),
        )
    if row is None:
        raise errors.InstanceActionNotFound(request_id=values["request_id"], instance_uuid=values["instance_uuid"])
    return int(row["action_id"]), row["event_id"]


def _event_values(values: Mapping[str, Any], settable: frozenset[str]) -> dict[str, Any]:
    """The event's columns in ``values`` (without the action's keys), checked.

    :raises Invalid: an unknown key, or a value its column cannot hold
    """
    columns = {k: v for k, v in values.items() if k not in ("instance_uuid", "request_id")}
    given = coerce_values("nova", "instance_actions_events", columns, settable, parse_times=True)
    _check_bytes(given, EVENT_TEXT_BYTES)
    return given


@writer
async def action_event_start(context: Context, values: Mapping[str, Any]) -> Row:
    """Record the start of an event of the instance's action for the request.

    :param values: ``instance_uuid`` and ``request_id`` (which action), ``event``,
        ``start_time`` (default now), ``host``, ``details``, ``finish_time``, ``result``,
        ``traceback``, ``created_at``, ``updated_at``
    :returns: the event row
    :raises InstanceActionNotFound: the instance has no action for the request (a context
        without a project falls back on the instance's newest action)
    :raises Invalid: a key missing or unknown, or a value its column cannot hold
    """
    values = _mapping(values)
    columns = {k: v for k, v in values.items() if k != "action_id"}  # the action found decides it
    given = _event_values(columns, frozenset(("event", *EVENT_COLUMNS, "updated_at")))
    if given.get("start_time") is None:
        given["start_time"] = utcnow()
    action_id, _ = await _action_for_event(context, values, None)
    rows = await insert_values(context, "nova.instance_actions.event_start", given, action_id=action_id)
    return await _inserted(context, rows, "nova.instance_actions.event_read_back")


@writer
async def action_event_finish(context: Context, values: Mapping[str, Any]) -> Row:
    """Record the end of an event: change the columns given of the action's first event by that name.

    A ``result`` of ``'error'`` (any case) also sets the action's message to ``'Error'``.

    :param values: ``instance_uuid`` and ``request_id`` (which action), ``event`` (which
        event), and what changes: ``finish_time``, ``result``, ``traceback`` usually, any of
        ``start_time``, ``host``, ``details``, ``created_at``; ``updated_at`` (default now)
    :returns: the event row, changed
    :raises InstanceActionNotFound: the instance has no action for the request (a context
        without a project falls back on the instance's newest action)
    :raises InstanceActionEventNotFound: the action has no event by this name
    :raises Invalid: a key missing or unknown, or a value its column cannot hold
    """
    values = _mapping(values)
    event = _key(values, "event", NAME_LENGTH)
    given = _event_values({k: v for k, v in values.items() if k != "event"}, frozenset((*EVENT_COLUMNS, "updated_at")))
    action_id, event_id = await _action_for_event(context, values, event)
    row = None
    if event_id is not None:
        row = await _returning(
            context,
            "nova.instance_actions.event_finish",
            "nova.instance_actions.event_read_back",
            {"id": event_id, **_changes(given, EVENT_COLUMNS)},
        )
    if row is None:
        raise errors.InstanceActionEventNotFound(action_id=action_id, event=values["event"])
    result = given.get("result")
    if isinstance(result, str) and result.lower() == "error":
        await context.execute("nova.instance_actions.action_mark_error", action_id=action_id, now=utcnow())
    return row


@reader
async def action_events_get(context: Context, action_id: int) -> list[Row]:
    """An action's events, newest first (``created_at``, then the later id first).

    :raises Invalid: ``action_id`` is not an integer
    """
    key = lookup_id(action_id, "action_id")
    if key is None:
        return []
    rows = await context.fetch(
        "nova.instance_actions.action_events_get", action_id=key, read_deleted=read_deleted(context)
    )
    return [dict(row) for row in rows]


@reader
async def action_event_get_by_id(context: Context, action_id: int, event_id: int) -> Row | None:
    """One event of an action, or None.

    :raises Invalid: ``action_id`` or ``event_id`` is not an integer
    """
    action, event = lookup_id(action_id, "action_id"), lookup_id(event_id, "event_id")
    if action is None or event is None:
        return None
    row = await context.fetchrow(
        "nova.instance_actions.action_event_get_by_id",
        action_id=action,
        event_id=event,
        read_deleted=read_deleted(context),
    )
    return None if row is None else dict(row)


# --- faults --------------------------------------------------------------------------------


@writer
async def instance_fault_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Record a fault of an instance.

    :param values: ``instance_uuid``, ``code`` (required), ``message``, ``details``,
        ``host``, ``created_at``, ``updated_at``
    :returns: the fault row
    :raises DBReferenceError: no instance has this uuid
    :raises Invalid: ``code`` missing, another key, or a value its column cannot hold;
        nothing is written
    """
    values = _mapping(values)
    if values.get("code") is None:
        raise errors.Invalid("values must have a 'code'")
    _check_bytes(values, FAULT_TEXT_BYTES)
    rows = await insert_values(context, "nova.instance_actions.fault_create", values, parse_times=True)
    return await _inserted(context, rows, "nova.instance_actions.fault_read_back")


@reader
async def instance_fault_get_by_instance_uuids(context: Context, instance_uuids: Sequence[str]) -> dict[str, list[Row]]:
    """The live faults of each instance, newest first (``created_at``, then the later id first).

    :returns: ``{uuid: [fault, ...]}`` with every uuid asked for, ``[]`` for one without
        faults; ``{}`` (and no query) for no uuids
    :raises Invalid: ``instance_uuids`` is not a list (tuple, set) of strings
    """
    if isinstance(instance_uuids, (str, bytes)) or not isinstance(instance_uuids, (Sequence, AbstractSet)):
        raise errors.Invalid(f"instance_uuids must be a list of uuids, not {type(instance_uuids).__name__}")
    output: dict[str, list[Row]] = {}
    wanted: list[str] = []
    for instance_uuid in instance_uuids:
        if lookup_text(instance_uuid, "instance_uuids", UUID_LENGTH) is not None and instance_uuid not in output:
            wanted.append(instance_uuid)
        output[instance_uuid] = []
    if wanted:
        for row in await context.fetch("nova.instance_actions.faults_get", instance_uuids=wanted):
            output[row["instance_uuid"]].append(dict(row))
    return output
