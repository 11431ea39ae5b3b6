"""Migrations (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3 "Migrations", F.1 30).

A migration is a migrations row: ``{created_at, updated_at, deleted_at, id, source_compute,
dest_compute, dest_host, status, instance_uuid, old_instance_type_id, new_instance_type_id,
source_node, dest_node, deleted, migration_type, hidden, memory_total, memory_processed,
memory_remaining, disk_total, disk_processed, disk_remaining}``.  ``migration_type`` is one of
``migration``, ``resize``, ``live-migration``, ``evacuation`` (or None).  As in Newton, no call
checks the caller (Grizzly's were admin-only); ``migration_get``,
``migration_get_by_instance_and_status`` and ``migration_get_unconfirmed_by_dest_compute`` see
deleted migrations too, the others see them as ``context.read_deleted`` says.  Lists come in
creation order (id).

``migration_get_in_progress_by_host_and_node`` also returns each migration's ``instance``: the live
instance as rawdb's instance dicts carry it, with its live ``system_metadata`` (``[{'key', 'value'}]``)
joined and no other child (nova joined ``instance.system_metadata``), or None.

Values: times as datetimes or ISO-8601 strings (spec B.4); a given ``created_at``/``updated_at`` is
stored as given, else ``created_at`` is now on create and ``updated_at`` now on a change.  A value a
column cannot hold, or a key the table lacks given a value, is ``Invalid`` and nothing is written.

Where rawdb departs from upstream: ``id`` and ``deleted`` cannot be set (``migration_update`` accepts an
``id`` equal to its own); an unknown ``migration_type`` is Invalid on every backend (PostgreSQL's and
MySQL's ENUM refused it, SQLite's CHECK too); filters nova does not know are ignored, as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, check_bool, check_integer, lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted, table_columns
from rawdb.decorators import reader, writer
from rawdb.nova._instance_rows import Joins, instance_dict
from rawdb.timeutils import utcnow

Row = dict[str, Any]

TABLE = "migrations"
COLUMNS: tuple[str, ...] = tuple(table_columns("nova")[TABLE])
SETTABLE = frozenset(COLUMNS) - {"id", "deleted"}
UPDATE_COLUMNS = tuple(column for column in COLUMNS if column in SETTABLE and column != "updated_at")
MIGRATION_TYPES = ("migration", "resize", "live-migration", "evacuation")
UUID_LENGTH, NAME_LENGTH = 36, 255
INSTANCE_JOINS = Joins(metadata=False, system_metadata=True, info_cache=False, security_groups=False)


# --- checks --------------------------------------------------------------------------------


def _values(values: Any, own_id: int | None = None) -> dict[str, Any]:
    """The caller's values as the table stores them.

    :raises Invalid: not a dict, a key the table lacks (or ``id``/``deleted``) given a value,
        an unknown ``migration_type``, a value its column cannot hold
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    given = coerce_values("nova", TABLE, values, SETTABLE | {"id"}, parse_times=True)
    if "id" in given and (own_id is None or given.pop("id") != own_id):
        raise errors.Invalid("a migration's id cannot be set or changed")
    kind = given.get("migration_type")
    if kind is not None and kind not in MIGRATION_TYPES:
        raise errors.Invalid(f"migration_type must be one of {MIGRATION_TYPES} or None, not {kind!r:.80}")
    return given


def _rows(rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    return [dict(row) for row in rows]


# --- writers -------------------------------------------------------------------------------


@writer
async def migration_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Record a migration.

    :param values: the migration's columns; ``created_at`` now and ``hidden`` False unless given
    :returns: the migration
    :raises DBReferenceError: no instance has this ``instance_uuid``
    :raises Invalid: see the module docstring; nothing is written
    """
    given = _values(values)
    if "hidden" not in given:
        given["hidden"] = False  # the model's default
    rows = await insert_values(context, "nova.migrations.migration_create", given)
    if context.dialect == "mysql":
        rows = await context.fetch("nova.migrations.migration_read_back", id=None)
    return dict(rows[0])


@writer
async def migration_update(context: Context, id: int, values: Mapping[str, Any]) -> Row:
    """Change the given columns of a migration, deleted or not.

    ``updated_at`` becomes now unless given; a call that changes nothing leaves the row alone
    (nova's ORM emitted no UPDATE).

    :returns: the migration, changed
    :raises MigrationNotFound: no migration with this id
    :raises Invalid: see the module docstring; nothing is written
    """
    key = lookup_id(id, "id")
    given = _values(values, key)
    row = None
    if key is not None:
        row = await context.fetchrow("nova.migrations.migration_get", id=key, read_deleted="yes")
    if row is None:
        raise errors.MigrationNotFound(migration_id=id)
    if all(row[column] == value for column, value in given.items()):
        return dict(row)
    params: dict[str, Any] = {"id": key, "updated_at": given.get("updated_at") or utcnow()}
    for column in UPDATE_COLUMNS:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    if context.dialect == "mysql":
        await context.execute("nova.migrations.migration_update", **params)
        changed = await context.fetchrow("nova.migrations.migration_read_back", id=key)
    else:
        changed = await context.fetchrow("nova.migrations.migration_update", **params)
    if changed is None:  # archived (hard-deleted) since it was read
        raise errors.MigrationNotFound(migration_id=id)
    return dict(changed)


# --- single readers ------------------------------------------------------------------------


@reader
async def migration_get(context: Context, migration_id: int) -> Row:
    """A migration by id, deleted or not.

    :raises MigrationNotFound: none
    :raises Invalid: ``migration_id`` is not an integer
    """
    key = lookup_id(migration_id, "migration_id")
    row = None
    if key is not None:
        row = await context.fetchrow("nova.migrations.migration_get", id=key, read_deleted="yes")
    if row is None:
        raise errors.MigrationNotFound(migration_id=migration_id)
    return dict(row)


@reader
async def migration_get_by_id_and_instance(context: Context, migration_id: int, instance_uuid: str) -> Row:
    """A migration by id if it is the instance's, as ``context.read_deleted`` says.

    :raises MigrationNotFoundForInstance: none (a MigrationNotFound)
    :raises Invalid: a key of the wrong type
    """
    key = lookup_id(migration_id, "migration_id")
    uuid = lookup_text(instance_uuid, "instance_uuid", UUID_LENGTH)
    row = None
    if key is not None and uuid is not None:
        row = await context.fetchrow(
            "nova.migrations.migration_get_by_id_and_instance",
            id=key,
            instance_uuid=uuid,
            read_deleted=read_deleted(context),
        )
    if row is None:
        raise errors.MigrationNotFoundForInstance(migration_id=migration_id, instance_id=instance_uuid)
    return dict(row)


@reader
async def migration_get_by_instance_and_status(context: Context, instance_uuid: str, status: str) -> Row:
    """The instance's (first) migration in a status, deleted or not.

    :raises MigrationNotFoundByStatus: none (a MigrationNotFound)
    :raises Invalid: a key is not a string
    """
    uuid = lookup_text(instance_uuid, "instance_uuid", UUID_LENGTH)
    wanted = lookup_text(status, "status")
    row = None
    if uuid is not None and wanted is not None:
        row = await context.fetchrow(
            "nova.migrations.migration_get_by_instance_and_status",
            instance_uuid=uuid,
            status=wanted,
            read_deleted="yes",
        )
    if row is None:
        raise errors.MigrationNotFoundByStatus(instance_id=instance_uuid, status=status)
    return dict(row)


# --- lists ---------------------------------------------------------------------------------


@reader
async def migration_get_unconfirmed_by_dest_compute(
    context: Context, confirm_window: int, dest_compute: str
) -> list[Row]:
    """Finished migrations to a host, deleted or not, not updated for ``confirm_window`` seconds.

    (``updated_at <= now - confirm_window``: a migration never updated is never unconfirmed.)

    :raises Invalid: ``confirm_window`` is not an integer, ``dest_compute`` not a string
    """
    window = check_integer(confirm_window, "confirm_window", -BIGINT_MAX - 1, BIGINT_MAX)
    host = lookup_text(dest_compute, "dest_compute")
    try:
        before = utcnow() - timedelta(seconds=window)
    except OverflowError:
        if window > 0:
            return []  # before the first representable time: nothing was updated that long ago
        before = datetime.max
    if host is None:
        return []
    rows = await context.fetch(
        "nova.migrations.migrations_unconfirmed_by_dest_compute",
        dest_compute=host,
        before=before,
        read_deleted="yes",
    )
    return _rows(rows)


@reader
async def migration_get_in_progress_by_host_and_node(context: Context, host: str, node: str) -> list[Row]:
    """Migrations from or to a host's node that have not ended, each with its live ``instance``.

    Not ended: any status but Newton's accepted, confirmed, reverted, error, failed, completed,
    cancelled (nor none).  ``instance`` is the live instance with its live system metadata, or
    None (two queries in all).

    :raises Invalid: ``host`` or ``node`` is not a string
    """
    wanted_host, wanted_node = lookup_text(host, "host"), lookup_text(node, "node")
    if wanted_host is None or wanted_node is None:
        return []
    rows = _rows(
        await context.fetch(
            "nova.migrations.migrations_in_progress_by_host_and_node",
            host=wanted_host,
            node=wanted_node,
            read_deleted=read_deleted(context),
        )
    )
    uuids = sorted({row["instance_uuid"] for row in rows if row["instance_uuid"] is not None})
    instances: dict[str, Row] = {}
    if uuids:
        for found in await context.fetch("nova.migrations.migration_instances", uuids=uuids):
            instances[found["uuid"]] = instance_dict(found, INSTANCE_JOINS)
    for row in rows:
        row["instance"] = instances.get(row["instance_uuid"])
    return rows


@reader
async def migration_get_in_progress_by_instance(
    context: Context, instance_uuid: str, migration_type: str | None = None
) -> list[Row]:
    """The instance's migrations that are queued, preparing, running or post-migrating.

    :param migration_type: only migrations of this type (when given and not empty)
    :raises Invalid: ``instance_uuid`` is not a string, ``migration_type`` not a string or None
    """
    uuid = lookup_text(instance_uuid, "instance_uuid", UUID_LENGTH)
    if migration_type is not None and not isinstance(migration_type, str):
        raise errors.Invalid(f"migration_type must be a string or None, not {type(migration_type).__name__}")
    if uuid is None or (migration_type and migration_type not in MIGRATION_TYPES):
        return []
    rows = await context.fetch(
        "nova.migrations.migrations_in_progress_by_instance",
        instance_uuid=uuid,
        any_type=not migration_type,
        migration_type=migration_type or None,
        read_deleted=read_deleted(context),
    )
    return _rows(rows)


def _equal(params: dict[str, Any], flag: str, name: str, value: Any, max_length: int = NAME_LENGTH) -> bool:
    """Set the parameters of one ``column = value`` filter (None matches NULL, as nova's ``== None``).

    :returns: False when no row can match (a string no column can hold)
    :raises Invalid: ``value`` is neither a string nor None
    """
    params[f"by_{flag}"] = True
    params[f"{flag}_null"] = value is None
    if value is None:
        return True
    params[name] = lookup_text(value, name, max_length)
    return params[name] is not None


def _statuses(value: Any) -> list[str]:
    """The statuses a ``status`` filter lists (a string is one), those a row can hold.

    :raises Invalid: neither a string nor a list (tuple, set) of strings
    """
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (Sequence, AbstractSet)) or isinstance(value, bytes):
        raise errors.Invalid(f"the status filter must be a string or a list of them, not {type(value).__name__}")
    wanted = [lookup_text(item, "status") for item in value if item is not None]
    return [item for item in dict.fromkeys(wanted) if item is not None]


@reader
async def migration_get_all_by_filters(context: Context, filters: Mapping[str, Any] | Sequence[Any]) -> list[Row]:
    """Migrations matching Newton's filters, as ``context.read_deleted`` says.

    :param filters: a dict (or an empty list: no filter) of ``status`` (a string or a list:
        any of them), ``host`` (source or destination compute), ``source_compute`` (ignored
        with ``host``), ``migration_type``, ``hidden``, ``instance_uuid``; other keys are ignored
    :raises Invalid: ``filters`` is neither; a filter value of the wrong type
    """
    if isinstance(filters, (list, tuple)) and not filters:
        filters = {}
    if not isinstance(filters, Mapping):
        raise errors.Invalid(f"filters must be a dict, not {type(filters).__name__}")
    params: dict[str, Any] = {"read_deleted": read_deleted(context), "statuses": []}
    for flag, name in (("host", "host"), ("source", "source_compute"), ("type", "migration_type")):
        params.update({f"by_{flag}": False, f"{flag}_null": False, name: None})
    params.update(by_hidden=False, hidden_null=False, hidden=None)
    params.update(by_instance=False, instance_null=False, instance_uuid=None)
    possible = True
    params["by_status"] = "status" in filters
    if params["by_status"]:
        params["statuses"] = _statuses(filters["status"])
    if "host" in filters:
        possible &= _equal(params, "host", "host", filters["host"])
    elif "source_compute" in filters:
        possible &= _equal(params, "source", "source_compute", filters["source_compute"])
    if "migration_type" in filters:
        kind = filters["migration_type"]
        possible &= _equal(params, "type", "migration_type", kind) and (kind is None or kind in MIGRATION_TYPES)
    if "hidden" in filters:
        hidden = filters["hidden"]
        params.update(by_hidden=True, hidden_null=hidden is None)
        params["hidden"] = None if hidden is None else check_bool(hidden, "hidden")
    if "instance_uuid" in filters:
        possible &= _equal(params, "instance", "instance_uuid", filters["instance_uuid"], UUID_LENGTH)
    if not possible:
        return []
    return _rows(await context.fetch("nova.migrations.migrations_by_filters", **params))
