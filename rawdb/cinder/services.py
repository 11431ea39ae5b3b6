"""Cinder's services (``cinder/db/sqlalchemy/api.py`` at 2012.2, spec A.5 "Services"), async.

A *service* is a dict of the services table's columns: ``id, host, binary, topic,
report_count, disabled, availability_zone, created_at, updated_at, deleted_at, deleted``
(``deleted`` a bool: cinder's soft delete).  Lists come in id order.  Every function is
admin-only, as Folsom's ``@require_admin_context`` made them (``AdminRequired`` otherwise).

Cinder's services table has no unique key, so, as in Folsom, a second live service of a host
with the same binary or topic is simply another row: no call here raises a duplicate error.

Options Folsom read from ``FLAGS`` are ``rawdb.cinder.settings``' ``volume_topic``
(``'cinder-volume'``) and ``enable_new_services`` (True), read at call time.

Where rawdb departs from Folsom:

- ``id`` and ``deleted`` cannot be set through ``values`` (``Invalid``; Folsom's ORM would
  have inserted the id, leaving PostgreSQL's sequence behind it); a key the table lacks given a
  value, or a value its column cannot hold, is ``Invalid`` and nothing is written (Folsom set a
  stray attribute and dropped it silently).
- A lookup key of the wrong type is ``Invalid``; one no row can hold (an id beyond INTEGER, a
  host longer than its column) finds nothing, as Folsom's query did.
- ``service_get_all_volume_sorted`` puts hosts without volumes first on every backend (Folsom
  left it to the engine: first on SQLite and MySQL, last on PostgreSQL), ties by service id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rawdb import errors
from rawdb.checks import check_bool, lookup_id, lookup_text
from rawdb.cinder import settings
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted, require_admin_context
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The columns service_update sets when given (updated_at: always, now unless given).
UPDATABLE = (
    "host",
    "binary",
    "topic",
    "report_count",
    "disabled",
    "availability_zone",
    "created_at",
    "deleted_at",
)


def _rows(rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    return [dict(row) for row in rows]


@require_admin_context
@reader
async def service_get(context: Context, service_id: int) -> Row:
    """A service by id, live or deleted as ``context.read_deleted`` says.

    :raises ServiceNotFound: none
    :raises Invalid: ``service_id`` is not an integer
    """
    key = lookup_id(service_id, "service_id")
    row = None
    if key is not None:
        row = await context.fetchrow("cinder.services.service_get", service_id=key, read_deleted=read_deleted(context))
    if row is None:
        raise errors.ServiceNotFound(service_id=service_id)
    return dict(row)


@require_admin_context
@reader
async def service_get_all(context: Context, disabled: bool | None = None) -> list[Row]:
    """Every service visible as ``context.read_deleted`` says; only (not) disabled ones when ``disabled`` is given.

    :raises Invalid: ``disabled`` is not a boolean (or oslo's string of one)
    """
    flag = None if disabled is None else check_bool(disabled, "disabled")
    rows = await context.fetch("cinder.services.service_get_all", disabled=flag, read_deleted=read_deleted(context))
    return _rows(rows)


@require_admin_context
@reader
async def service_get_all_by_topic(context: Context, topic: str) -> list[Row]:
    """The live, enabled services listening on ``topic``.

    :raises Invalid: ``topic`` is not a string
    """
    key = lookup_text(topic, "topic")
    if key is None:
        return []
    return _rows(await context.fetch("cinder.services.service_get_all_by_topic", topic=key))


@require_admin_context
@reader
async def service_get_by_host_and_topic(context: Context, host: str, topic: str) -> Row | None:
    """The (first) live, enabled service of ``host`` listening on ``topic``, or None.

    :raises Invalid: ``host`` or ``topic`` is not a string
    """
    host_key, topic_key = lookup_text(host, "host"), lookup_text(topic, "topic")
    if host_key is None or topic_key is None:
        return None
    row = await context.fetchrow("cinder.services.service_get_by_host_and_topic", host=host_key, topic=topic_key)
    return None if row is None else dict(row)


@require_admin_context
@reader
async def service_get_all_by_host(context: Context, host: str) -> list[Row]:
    """The live services of ``host``, enabled or not.

    :raises Invalid: ``host`` is not a string
    """
    key = lookup_text(host, "host")
    if key is None:
        return []
    return _rows(await context.fetch("cinder.services.service_get_all_by_host", host=key))


@require_admin_context
@reader
async def service_get_all_volume_sorted(context: Context) -> list[tuple[Row, int]]:
    """The live, enabled volume services, least loaded first, each with the gigabytes its host holds.

    One statement: the services listening on ``settings.volume_topic`` (``'cinder-volume'``), each
    paired with the total ``size`` of the live volumes whose ``host`` is the service's (0 when
    there are none), ordered by that total with hosts that have no live volume first, then
    by service id.

    :returns: ``[(service, gigabytes), ...]`` as Folsom's ``(Service, int)`` tuples
    """
    rows = await context.fetch("cinder.services.service_get_all_volume_sorted", topic=settings.SETTINGS.volume_topic)
    result: list[tuple[Row, int]] = []
    for found in rows:
        service = dict(found)
        gigabytes = service.pop("gigabytes")
        result.append((service, int(gigabytes)))
    return result


@require_admin_context
@reader
async def service_get_by_args(context: Context, host: str, binary: str) -> Row:
    """The (first) service of ``host`` running ``binary``, live or deleted as ``context.read_deleted`` says.

    :raises HostBinaryNotFound: none
    :raises Invalid: ``host`` or ``binary`` is not a string
    """
    host_key, binary_key = lookup_text(host, "host"), lookup_text(binary, "binary")
    row = None
    if host_key is not None and binary_key is not None:
        row = await context.fetchrow(
            "cinder.services.service_get_by_args",
            host=host_key,
            binary=binary_key,
            read_deleted=read_deleted(context),
        )
    if row is None:
        raise errors.HostBinaryNotFound(host=host, binary=binary)
    return dict(row)


@require_admin_context
@writer
async def service_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a service (live); with ``enable_new_services`` False it is created disabled, whatever ``values`` say.

    :param values: ``host``, ``binary``, ``topic``, ``report_count`` (default 0),
        ``disabled`` (default False), ``availability_zone`` (default ``'cinder'``),
        ``created_at`` (default now), ``updated_at``, ``deleted_at``
    :returns: the service
    :raises Invalid: not a dict, another key given a value (``id`` and ``deleted`` too), or a
        value its column cannot hold; nothing is written
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    given = dict(values)
    if not settings.SETTINGS.enable_new_services:
        given["disabled"] = True
    rows = await insert_values(context, "cinder.services.service_create", given)
    if context.dialect == "mysql":
        rows = await context.fetch("cinder.services.service_read_back", id=None)
    return dict(rows[0])


@require_admin_context
@writer
async def service_update(context: Context, service_id: int, values: Mapping[str, Any]) -> None:
    """Change the given columns of a service visible as ``context.read_deleted`` says.

    ``updated_at`` becomes now unless given; a call that changes nothing writes nothing (as
    Folsom's ORM flushed no UPDATE for unchanged attributes).

    :param values: any of ``host``, ``binary``, ``topic``, ``report_count``, ``disabled``,
        ``availability_zone``, ``created_at``, ``updated_at``, ``deleted_at``
    :returns: None, as Folsom
    :raises ServiceNotFound: no such service
    :raises Invalid: a bad id, not a dict, another key given a value (``id`` and ``deleted``
        too), or a value its column cannot hold; nothing is written
    """
    given = coerce_values("cinder", "services", values, frozenset((*UPDATABLE, "updated_at")))
    key = lookup_id(service_id, "service_id")
    rd = read_deleted(context)
    current = None
    if key is not None:
        current = await context.fetchrow("cinder.services.service_get", service_id=key, read_deleted=rd)
    if current is None:
        raise errors.ServiceNotFound(service_id=service_id)
    if all(current[column] == value for column, value in given.items()):
        return
    params: dict[str, Any] = {"service_id": key, "read_deleted": rd, "updated_at": given.get("updated_at") or utcnow()}
    for column in UPDATABLE:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    if await context.execute("cinder.services.service_update", **params) == 0:
        raise errors.ServiceNotFound(service_id=service_id)  # deleted since it was read


@require_admin_context
@writer
async def service_destroy(context: Context, service_id: int) -> None:
    """Soft-delete a service visible as ``context.read_deleted`` says (``deleted`` true, ``deleted_at`` and
    ``updated_at`` now, as Folsom's model ``delete()``); cinder has no compute nodes to go with it.

    :raises ServiceNotFound: no such service; nothing is written
    :raises Invalid: ``service_id`` is not an integer
    """
    key = lookup_id(service_id, "service_id")
    changed = 0
    if key is not None:
        changed = await context.execute(
            "cinder.services.service_destroy", service_id=key, read_deleted=read_deleted(context), now=utcnow()
        )
    if changed == 0:
        raise errors.ServiceNotFound(service_id=service_id)
