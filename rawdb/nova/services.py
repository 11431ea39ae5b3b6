"""Nova's services (``nova/db/sqlalchemy/api.py`` at 14.0.0, with 2013.1's ``service_get_by_args``), async.

A *service* is a dict of the services table's columns: ``id, host, binary, topic,
report_count, disabled, disabled_reason, last_seen_up, forced_down, version, created_at,
updated_at, deleted_at, deleted`` (Newton's Service model joins no compute node).  Lists
come in id order.  As in Newton, the DB layer checks no caller: services do.  The live
unique keys ``(host, binary, deleted)`` and ``(host, topic, deleted)`` make a second live
service of a host with the same binary (topic) ``ServiceBinaryExists`` (``ServiceTopicExists``),
however many callers race.

Where rawdb departs from Newton:

- ``service_get_minimum_version`` counts live services only (Newton counted deleted ones
  too, so a service deleted long ago held the minimum down forever; later nova filters
  them), and takes one binary or a list of them (Newton's callers pass a list).
- A new (or changed) service that takes both a live service's binary and its topic is
  ``ServiceBinaryExists`` on every backend (Newton reported the key the database named).
- ``service_update`` maps a unique-key violation to ``ServiceBinaryExists`` /
  ``ServiceTopicExists`` as ``service_create`` does (Newton let ``DBDuplicateEntry`` out),
  and raises ``ServiceNotFound`` for a service that vanished under it; ``id`` and
  ``deleted`` cannot be set (``Invalid``).
- ``service_get_all_computes_by_hv_type`` counts only live compute nodes (Newton's join
  also matched deleted ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from rawdb import errors
from rawdb.checks import check_bool, lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted
from rawdb.decorators import reader, writer
from rawdb.nova._hosts import Row, mapping, returning, set_flags
from rawdb.nova.settings import SETTINGS
from rawdb.timeutils import utcnow

# The columns service_update sets when given (updated_at: always, now unless given).
UPDATABLE = (
    "host",
    "binary",
    "topic",
    "report_count",
    "disabled",
    "disabled_reason",
    "last_seen_up",
    "forced_down",
    "version",
    "created_at",
    "deleted_at",
)
DISABLED_BY_CONFIG = "New service disabled due to config option."
COMPUTE_BINARY = "nova-compute"


async def _exists(
    context: Context, exc: errors.DBDuplicateEntry, host: Any, binary: Any, topic: Any, service_id: int | None = None
) -> errors.RawdbError:
    """Which unique key a services insert or update violated: the binary one (also when both are), else the topic one.

    Newton read only the key the database named, which depends on the backend when both are.
    """
    # PostgreSQL names the column as it prints it ("binary", quoted: a keyword)
    by_binary = any(column.strip('"`') == "binary" for column in exc.kwargs.get("columns") or ())
    if not by_binary and isinstance(host, str) and isinstance(binary, str):
        row = await context.fetchrow("nova.services.service_get_by_host_and_binary", host=host, binary=binary)
        by_binary = row is not None and row["id"] != service_id
    if by_binary:
        return errors.ServiceBinaryExists(host=host, binary=binary)
    return errors.ServiceTopicExists(host=host, topic=topic)


def _rows(rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    return [dict(row) for row in rows]


@reader
async def service_get(context: Context, service_id: int) -> Row:
    """A service by id, live or deleted as ``context.read_deleted`` says.

    :raises ServiceNotFound: none
    :raises Invalid: ``service_id`` is not an integer
    """
    key = lookup_id(service_id, "service_id")
    row = None
    if key is not None:
        row = await context.fetchrow("nova.services.service_get", service_id=key, read_deleted=read_deleted(context))
    if row is None:
        raise errors.ServiceNotFound(service_id=service_id)
    return dict(row)


@reader
async def service_get_minimum_version(context: Context, binary: str | Sequence[str]) -> dict[str, int | None]:
    """The lowest ``version`` of each binary among its live services not forced down.

    :param binary: a binary, or a list of them (Newton's callers pass a list)
    :returns: ``{binary: version}`` for the binaries that have such services (``{}`` and no
        query for an empty list)
    :raises Invalid: not a string or a list of strings
    """
    if isinstance(binary, str):
        binaries: Any = [binary]
    elif isinstance(binary, (list, tuple, AbstractSet)):
        binaries = list(binary)
    else:
        raise errors.Invalid(f"binary must be a string or a list of strings, not {type(binary).__name__}")
    wanted = [name for name in binaries if lookup_text(name, "binary") is not None]
    if not wanted:
        return {}
    rows = await context.fetch("nova.services.service_get_minimum_version", binaries=wanted)
    return {row["binary"]: row["version"] for row in rows}


@reader
async def service_get_all(context: Context, disabled: bool | None = None) -> list[Row]:
    """Every service visible as ``context.read_deleted`` says; only (not) disabled ones when ``disabled`` is given.

    :raises Invalid: ``disabled`` is not a boolean (or oslo's string of one)
    """
    flag = None if disabled is None else check_bool(disabled, "disabled")
    rows = await context.fetch("nova.services.service_get_all", disabled=flag, read_deleted=read_deleted(context))
    return _rows(rows)


@reader
async def service_get_all_by_topic(context: Context, topic: str) -> list[Row]:
    """The live, enabled services listening on ``topic``.

    :raises Invalid: ``topic`` is not a string
    """
    key = lookup_text(topic, "topic")
    if key is None:
        return []
    return _rows(await context.fetch("nova.services.service_get_all_by_topic", topic=key))


@reader
async def service_get_by_host_and_topic(context: Context, host: str, topic: str) -> Row | None:
    """The live, enabled service of ``host`` listening on ``topic``, or None.

    :raises Invalid: ``host`` or ``topic`` is not a string
    """
    host_key, topic_key = lookup_text(host, "host"), lookup_text(topic, "topic")
    if host_key is None or topic_key is None:
        return None
    row = await context.fetchrow("nova.services.service_get_by_host_and_topic", host=host_key, topic=topic_key)
    return None if row is None else dict(row)


@reader
async def service_get_all_by_binary(context: Context, binary: str, include_disabled: bool = False) -> list[Row]:
    """The live services running ``binary``; the disabled ones too when ``include_disabled``.

    :raises Invalid: ``binary`` is not a string, or ``include_disabled`` not a boolean
    """
    include = check_bool(include_disabled, "include_disabled")
    key = lookup_text(binary, "binary")
    if key is None:
        return []
    rows = await context.fetch("nova.services.service_get_all_by_binary", binary=key, include_disabled=include)
    return _rows(rows)


@reader
async def service_get_all_computes_by_hv_type(
    context: Context, hv_type: str, include_disabled: bool = False
) -> list[Row]:
    """The live nova-compute services whose host has a live compute node of hypervisor type ``hv_type``.

    Each service once, however many of its host's nodes match; the disabled ones too when
    ``include_disabled``.

    :raises Invalid: ``hv_type`` is not a string, or ``include_disabled`` not a boolean
    """
    include = check_bool(include_disabled, "include_disabled")
    key = lookup_text(hv_type, "hv_type", None)
    if key is None:
        return []
    rows = await context.fetch(
        "nova.services.service_get_all_computes_by_hv_type", hv_type=key, include_disabled=include
    )
    return _rows(rows)


@reader
async def service_get_by_host_and_binary(context: Context, host: str, binary: str) -> Row:
    """The live service of ``host`` running ``binary``.

    :raises HostBinaryNotFound: none
    :raises Invalid: ``host`` or ``binary`` is not a string
    """
    host_key, binary_key = lookup_text(host, "host"), lookup_text(binary, "binary")
    row = None
    if host_key is not None and binary_key is not None:
        row = await context.fetchrow("nova.services.service_get_by_host_and_binary", host=host_key, binary=binary_key)
    if row is None:
        raise errors.HostBinaryNotFound(host=host, binary=binary)
    return dict(row)


@reader
async def service_get_by_args(context: Context, host: str, binary: str) -> Row:
    """Grizzly's name: the service of ``host`` running ``binary``, live or deleted as ``context.read_deleted`` says.

    :raises HostBinaryNotFound: none
    :raises Invalid: ``host`` or ``binary`` is not a string
    """
    host_key, binary_key = lookup_text(host, "host"), lookup_text(binary, "binary")
    row = None
    if host_key is not None and binary_key is not None:
        row = await context.fetchrow(
            "nova.services.service_get_by_args",
            host=host_key,
            binary=binary_key,
            read_deleted=read_deleted(context),
        )
    if row is None:
        raise errors.HostBinaryNotFound(host=host, binary=binary)
    return dict(row)


@reader
async def service_get_all_by_host(context: Context, host: str) -> list[Row]:
    """The live services of ``host``.

    :raises Invalid: ``host`` is not a string
    """
    key = lookup_text(host, "host")
    if key is None:
        return []
    return _rows(await context.fetch("nova.services.service_get_all_by_host", host=key))


@reader
async def service_get_by_compute_host(context: Context, host: str) -> Row:
    """The live nova-compute service of ``host`` (Newton: by binary; Grizzly looked at the topic).

    :raises ComputeHostNotFound: none
    :raises Invalid: ``host`` is not a string
    """
    key = lookup_text(host, "host")
    row = None
    if key is not None:
        row = await context.fetchrow("nova.services.service_get_by_compute_host", host=key)
    if row is None:
        raise errors.ComputeHostNotFound(host=host)
    return dict(row)


@writer(retry=True)
async def service_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a service.

    With ``settings.enable_new_services`` False it is created disabled, with the reason
    ``'New service disabled due to config option.'`` (whatever ``values`` say).

    :param values: ``host``, ``binary``, ``topic``, ``report_count`` (default 0),
        ``disabled`` (default False), ``disabled_reason``, ``last_seen_up``,
        ``forced_down`` (default False), ``version`` (default 0), ``created_at`` (default
        now), ``updated_at``, ``deleted_at``
    :returns: the service
    :raises ServiceBinaryExists: the host has a live service running this binary
    :raises ServiceTopicExists: the host has a live service listening on this topic
    :raises Invalid: another key, or a value its column cannot hold; nothing is written
        (an enclosing transaction goes on after either error)
    """
    values = dict(mapping(values))
    if not SETTINGS.enable_new_services:
        values["disabled"] = True
        values["disabled_reason"] = DISABLED_BY_CONFIG
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.services.service_create", values)
    except errors.DBDuplicateEntry as exc:
        raise await _exists(context, exc, values.get("host"), values.get("binary"), values.get("topic")) from exc
    return dict(rows[0])


@writer(retry=True)
async def service_update(context: Context, service_id: int, values: Mapping[str, Any]) -> Row:
    """Change the given columns of a service visible as ``context.read_deleted`` says.

    ``updated_at`` becomes now unless given (no key at all: nothing is written).  A
    ``report_count`` above the stored one is a state report: ``last_seen_up`` becomes now
    (unless given), compared in the same statement, so concurrent reports cannot undo it.

    :param values: any of ``host``, ``binary``, ``topic``, ``report_count``, ``disabled``,
        ``disabled_reason``, ``last_seen_up``, ``forced_down``, ``version``, ``created_at``,
        ``updated_at``, ``deleted_at``
    :returns: the service, changed
    :raises ServiceNotFound: no such service
    :raises ServiceBinaryExists: the new host/binary is taken by another live service
    :raises ServiceTopicExists: the new host/topic is taken by another live service
    :raises Invalid: a bad id, another key, or a value its column cannot hold; nothing is written
    """
    given = coerce_values("nova", "services", values, frozenset((*UPDATABLE, "updated_at")))
    key = lookup_id(service_id, "service_id")
    if key is None:
        raise errors.ServiceNotFound(service_id=service_id)
    rd = read_deleted(context)
    if not given:
        return await service_get(context, service_id)
    now = utcnow()
    params = {
        **set_flags(given, UPDATABLE),
        "updated_at": given.get("updated_at") or now,
        "now": now,
        "service_id": key,
        "read_deleted": rd,
    }
    try:
        async with context.savepoint() as sp:
            row = await returning(
                sp, "nova.services.service_update", "nova.services.service_read_back", params, {"service_id": key}
            )
    except errors.DBDuplicateEntry as exc:
        current = await context.fetchrow("nova.services.service_read_back", service_id=key)
        old = dict(current) if current is not None else {}
        raise await _exists(
            context,
            exc,
            given.get("host", old.get("host")),
            given.get("binary", old.get("binary")),
            given.get("topic", old.get("topic")),
            key,
        ) from exc
    if row is None:
        raise errors.ServiceNotFound(service_id=service_id)
    return row


@writer
async def service_destroy(context: Context, service_id: int) -> None:
    """Soft-delete a service visible as ``context.read_deleted`` says, and its compute nodes, in one transaction.

    Its compute nodes are the ones naming it by ``service_id`` and (Newton) the ones on its
    host, visible as ``context.read_deleted`` says.  Both are bulk soft deletes
    (``updated_at`` kept).

    :raises ServiceNotFound: no such service; nothing is written
    :raises Invalid: ``service_id`` is not an integer
    """
    key = lookup_id(service_id, "service_id")
    if key is None:
        raise errors.ServiceNotFound(service_id=service_id)
    rd = read_deleted(context)
    now = utcnow()
    service = await returning(
        context,
        "nova.services.service_destroy",
        "nova.services.service_read_back",
        {"service_id": key, "read_deleted": rd, "now": now},
        {"service_id": key},
    )
    if service is None:
        raise errors.ServiceNotFound(service_id=service_id)
    await context.execute(
        "nova.services.service_destroy_compute_nodes",
        service_id=key,
        host=service["host"],
        read_deleted=rd,
        now=now,
    )
