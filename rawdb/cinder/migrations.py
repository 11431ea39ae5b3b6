"""Cinder's migrations (``cinder/db/sqlalchemy/api.py`` at 2012.2, spec A.5 "Migrations"), async.

A migration is a migrations row: ``{id, source_compute, dest_compute, dest_host,
old_instance_type_id, new_instance_type_id, instance_uuid, status, created_at, updated_at,
deleted_at, deleted}`` (``deleted`` a bool: cinder's soft delete).  Every function is admin-only,
as Folsom's ``@require_admin_context`` made them (``AdminRequired`` otherwise), and every reader
sees deleted migrations too (Folsom's ``read_deleted="yes"``).  Lists come in creation order (id).
Cinder has no instances table: ``instance_uuid`` is stored as given and references nothing.

Values: a given ``created_at``/``updated_at`` is stored as given (callers create migrations with an
old ``updated_at`` to test ``migration_get_all_unconfirmed``); otherwise ``created_at`` is now on
create and ``updated_at`` now on a change.  "Now" is ``rawdb.timeutils.utcnow()`` (freeze it with
``rawdb.timeutils.frozen``).

Where rawdb departs from Folsom: ``id`` and ``deleted`` cannot be set (``migration_update``
accepts an ``id`` equal to its own), and a key the table lacks given a value, or a value its
column cannot hold, is ``Invalid`` with nothing written (Folsom's ORM set a stray attribute and
dropped it); a lookup key of the wrong type is ``Invalid``, one no row can hold finds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, check_integer, lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, require_admin_context, table_columns
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

TABLE = "migrations"
COLUMNS: tuple[str, ...] = tuple(table_columns("cinder")[TABLE])
SETTABLE = frozenset(COLUMNS) - {"id", "deleted"}
UPDATE_COLUMNS = tuple(column for column in COLUMNS if column in SETTABLE and column != "updated_at")


def _values(values: Any, own_id: int | None = None) -> dict[str, Any]:
    """The caller's values as the table stores them.

    :raises Invalid: not a dict, a key the table lacks (or ``id``/``deleted``) given a value,
        a value its column cannot hold
    """
    given = coerce_values("cinder", TABLE, values, SETTABLE | {"id"})
    if "id" in given and (own_id is None or given.pop("id") != own_id):
        raise errors.Invalid("a migration's id cannot be set or changed")
    return given


def _rows(rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    return [dict(row) for row in rows]


@require_admin_context
@writer
async def migration_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Record a migration (live).

    :param values: any of ``source_compute``, ``dest_compute``, ``dest_host``,
        ``old_instance_type_id``, ``new_instance_type_id``, ``instance_uuid``, ``status``,
        ``created_at`` (default now), ``updated_at``, ``deleted_at``
    :returns: the migration
    :raises Invalid: see the module docstring; nothing is written
    """
    given = _values(values)
    rows = await insert_values(context, "cinder.migrations.migration_create", given)
    if context.dialect == "mysql":
        rows = await context.fetch("cinder.migrations.migration_read_back", id=None)
    return dict(rows[0])


@require_admin_context
@writer
async def migration_update(context: Context, id: int, values: Mapping[str, Any]) -> Row:
    """Change the given columns of a migration, deleted or not.

    ``updated_at`` becomes now unless given; a call that changes nothing writes nothing (Folsom's
    ORM flushed no UPDATE for unchanged attributes).

    :returns: the migration, changed
    :raises MigrationNotFound: no migration with this id
    :raises Invalid: see the module docstring; nothing is written
    """
    key = lookup_id(id, "id")
    given = _values(values, key)
    row = None
    if key is not None:
        row = await context.fetchrow("cinder.migrations.migration_get", id=key)
    if row is None:
        raise errors.MigrationNotFound(migration_id=id)
    if all(row[column] == value for column, value in given.items()):
        return dict(row)
    params: dict[str, Any] = {"id": key, "updated_at": given.get("updated_at") or utcnow()}
    for column in UPDATE_COLUMNS:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    if context.dialect == "mysql":
        await context.execute("cinder.migrations.migration_update", **params)
        changed = await context.fetchrow("cinder.migrations.migration_get", id=key)
    else:
        changed = await context.fetchrow("cinder.migrations.migration_update", **params)
    if changed is None:  # hard-deleted since it was read
        raise errors.MigrationNotFound(migration_id=id)
    return dict(changed)


@require_admin_context
@reader
async def migration_get(context: Context, migration_id: int) -> Row:
    """A migration by id, deleted or not.

    :raises MigrationNotFound: none
    :raises Invalid: ``migration_id`` is not an integer
    """
    key = lookup_id(migration_id, "migration_id")
    row = None
    if key is not None:
        row = await context.fetchrow("cinder.migrations.migration_get", id=key)
    if row is None:
        raise errors.MigrationNotFound(migration_id=migration_id)
    return dict(row)


@require_admin_context
@reader
async def migration_get_by_instance_and_status(context: Context, instance_uuid: str, status: str) -> Row:
    """The instance's first migration in a status, deleted or not.

    :raises MigrationNotFoundByStatus: none (a MigrationNotFound)
    :raises Invalid: a key is not a string
    """
    uuid = lookup_text(instance_uuid, "instance_uuid")
    wanted = lookup_text(status, "status")
    row = None
    if uuid is not None and wanted is not None:
        row = await context.fetchrow(
            "cinder.migrations.migration_get_by_instance_and_status", instance_uuid=uuid, status=wanted
        )
    if row is None:
        raise errors.MigrationNotFoundByStatus(instance_id=instance_uuid, status=status)
    return dict(row)


@require_admin_context
@reader
async def migration_get_all_unconfirmed(context: Context, confirm_window: int) -> list[Row]:
    """Finished migrations, deleted or not, not updated for ``confirm_window`` seconds.

    (``updated_at <= now - confirm_window``, now from ``rawdb.timeutils.utcnow()``: a migration
    never updated is never unconfirmed.)

    :raises Invalid: ``confirm_window`` is not an integer
    """
    window = check_integer(confirm_window, "confirm_window", -BIGINT_MAX - 1, BIGINT_MAX)
    try:
        before = utcnow() - timedelta(seconds=window)
    except OverflowError:
        if window > 0:
            return []  # before the first representable time: nothing was updated that long ago
        before = datetime.max
    return _rows(await context.fetch("cinder.migrations.migration_get_all_unconfirmed", before=before))
