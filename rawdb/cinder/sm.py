"""The storage manager (SM) tables (cinder/db/sqlalchemy/api.py at 2012.2, spec A.5 "SM").

Three tables: SM flavors (``{id, label, description, ...}``), backend configs (``{id,
flavor_id, sr_uuid, sr_type, config_params, ...}``, each of a flavor) and SM volumes
(``{id, backend_id, vdi_uuid, ...}``, whose id is their volume's, each on a backend
config); every row also has ``created_at, updated_at, deleted_at, deleted``.

As upstream: every read sees deleted rows too (``read_deleted='yes'``); deletes are hard
and find nothing to delete silently; flavors are looked up by **label** (the first, by
id, when several share it; ``sm_flavor_delete`` deletes them all); the backend config
and flavor functions are for admins (``AdminRequired``), the SM volume ones check no
caller.  A lookup that finds nothing raises a generic ``NotFound`` with upstream's
message: ``No backend config with id …``, ``No sm_flavor called …``, ``No sm_volume
with id …``; ``sm_backend_conf_get_by_sr`` returns None.  Creates and updates return
the row; an update sets ``updated_at`` to now unless given.

Bad input is ``Invalid`` and writes nothing: ``values`` not a dict, a key the call
cannot set (``id`` of configs and flavors, ``deleted``, ``deleted_at``, unknown keys)
with a value other than None, a value its column cannot hold, a missing required
column (a config's ``flavor_id``, an SM volume's ``id`` and ``backend_id``), an id that
is not an integer (a config's) or not a string (a volume's, a label).  A lookup value no
row can have (too long, NUL, an id out of range) finds nothing.

Where rawdb departs from upstream:

- a reference to a row that does not exist (a config's flavor, an SM volume's volume or
  backend config), or a delete of a row still referred to, is ``DBReferenceError``, in a
  savepoint, so nothing is written and an enclosing transaction goes on (upstream let
  the driver's IntegrityError out, or on SQLite without foreign keys kept the orphan);
- ``sm_flavor_get`` and ``sm_flavor_update`` raise ``NotFound("No sm_flavor called …")``
  (upstream's message named a variable it did not have, so formatting it failed);
- ``sm_flavor_update`` and ``sm_volume_update`` take the key they are given (cinder.db.api
  at 2012.2 dropped it on the way to the implementation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, INT_MAX, check_integer
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, require_admin_context
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The columns a caller may set (id, deleted and deleted_at belong to rawdb; an SM volume's id is its volume's).
BACKEND_COLUMNS = ("flavor_id", "sr_uuid", "sr_type", "config_params", "created_at")
FLAVOR_COLUMNS = ("label", "description", "created_at")
VOLUME_COLUMNS = ("backend_id", "vdi_uuid", "created_at")


def _settable(columns: tuple[str, ...], *extra: str) -> frozenset[str]:
    return frozenset((*columns, "updated_at", *extra))


def _int_key(value: Any, what: str) -> int | None:
    """An integer id to look up, or None when no row can have it (out of range).

    :raises Invalid: not an integer (or a string of one)
    """
    number = check_integer(value, what, -BIGINT_MAX - 1, BIGINT_MAX)
    return number if 1 <= number <= INT_MAX else None


def _text_key(table: str, column: str, value: Any, what: str) -> str | None:
    """A string to look rows up by, or None when no row can have it (too long, NUL, a lone surrogate).

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    try:
        coerce_values("cinder", table, {column: value})
    except errors.Invalid:
        return None
    return value


def _update_params(columns: tuple[str, ...], given: Mapping[str, Any], key: Any) -> dict[str, Any]:
    """An update statement's parameters: a ``set_`` flag and a value per column, ``updated_at`` now unless given."""
    params: dict[str, Any] = {"id": key, "updated_at": given.get("updated_at") or utcnow()}
    for column in columns:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    return params


def _required(given: Mapping[str, Any], table: str, *columns: str) -> None:
    missing = [column for column in columns if given.get(column) is None]
    if missing:
        raise errors.Invalid(f"{table} needs {', '.join(missing)}")


def _backend_not_found(sm_backend_id: Any) -> errors.NotFound:
    return errors.NotFound(f"No backend config with id {sm_backend_id}")


def _flavor_not_found(sm_flavor: Any) -> errors.NotFound:
    return errors.NotFound(f"No sm_flavor called {sm_flavor}")


def _volume_not_found(volume_id: Any) -> errors.NotFound:
    return errors.NotFound(f"No sm_volume with id {volume_id}")


# --- backend configs -----------------------------------------------------------------------


@require_admin_context
@writer
async def sm_backend_conf_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a backend config (admins only).

    :param values: ``flavor_id`` (required), ``sr_uuid``, ``sr_type``, ``config_params``,
        ``created_at``, ``updated_at``
    :returns: the backend config
    :raises DBReferenceError: no flavor has this ``flavor_id``; nothing is written
    :raises Invalid: see the module docstring; nothing is written
    """
    given = coerce_values("cinder", "sm_backend_config", values, _settable(BACKEND_COLUMNS))
    _required(given, "sm_backend_config", "flavor_id")
    async with context.savepoint() as sp:
        rows = await insert_values(sp, "cinder.sm.backend_conf_create", given)
        if sp.dialect == "mysql":
            rows = await sp.fetch("cinder.sm.backend_conf_read_back", id=None)
    return dict(rows[0])


@require_admin_context
@writer
async def sm_backend_conf_update(context: Context, sm_backend_conf_id: int, values: Mapping[str, Any]) -> Row:
    """Change the given columns of a backend config, deleted or not (admins only).

    :returns: the backend config, changed
    :raises NotFound: ``No backend config with id …``
    :raises DBReferenceError: no flavor has the new ``flavor_id``; nothing changed
    :raises Invalid: see the module docstring (and ``flavor_id`` None); nothing is written
    """
    given = coerce_values("cinder", "sm_backend_config", values, _settable(BACKEND_COLUMNS))
    key = _int_key(sm_backend_conf_id, "sm_backend_conf_id")
    if "flavor_id" in given:
        _required(given, "sm_backend_config", "flavor_id")
    if key is None:
        raise _backend_not_found(sm_backend_conf_id)
    async with context.savepoint() as sp:
        count = await sp.execute("cinder.sm.backend_conf_update", **_update_params(BACKEND_COLUMNS, given, key))
    row = await context.fetchrow("cinder.sm.backend_conf_get", id=key) if count else None
    if row is None:
        raise _backend_not_found(sm_backend_conf_id)
    return dict(row)


@require_admin_context
@writer
async def sm_backend_conf_delete(context: Context, sm_backend_conf_id: int) -> None:
    """Delete a backend config for good (admins only); none with this id is no error.

    :raises DBReferenceError: SM volumes are on it; nothing is deleted
    :raises Invalid: the id is not an integer
    """
    key = _int_key(sm_backend_conf_id, "sm_backend_conf_id")
    if key is not None:
        async with context.savepoint() as sp:
            await sp.execute("cinder.sm.backend_conf_delete", id=key)


@require_admin_context
@reader
async def sm_backend_conf_get(context: Context, sm_backend_conf_id: int) -> Row:
    """A backend config by id, deleted or not (admins only).

    :raises NotFound: ``No backend config with id …``
    :raises Invalid: the id is not an integer
    """
    key = _int_key(sm_backend_conf_id, "sm_backend_conf_id")
    row = None if key is None else await context.fetchrow("cinder.sm.backend_conf_get", id=key)
    if row is None:
        raise _backend_not_found(sm_backend_conf_id)
    return dict(row)


@require_admin_context
@reader
async def sm_backend_conf_get_by_sr(context: Context, sr_uuid: str) -> Row | None:
    """The (oldest) backend config of a storage repository, deleted or not, or None (admins only).

    As upstream's ``filter_by``, a None ``sr_uuid`` matches a config whose ``sr_uuid`` is NULL.

    :raises Invalid: ``sr_uuid`` is neither a string nor None
    """
    key = None if sr_uuid is None else _text_key("sm_backend_config", "sr_uuid", sr_uuid, "sr_uuid")
    if sr_uuid is not None and key is None:
        return None
    row = await context.fetchrow("cinder.sm.backend_conf_get_by_sr", sr_uuid=key)
    return None if row is None else dict(row)


@require_admin_context
@reader
async def sm_backend_conf_get_all(context: Context) -> list[Row]:
    """Every backend config, deleted or not, oldest first (admins only)."""
    return [dict(row) for row in await context.fetch("cinder.sm.backend_conf_get_all")]


# --- flavors ---------------------------------------------------------------------------------


@require_admin_context
@writer
async def sm_flavor_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create an SM flavor (admins only).

    :param values: ``label``, ``description``, ``created_at``, ``updated_at``
    :returns: the flavor
    :raises Invalid: see the module docstring; nothing is written
    """
    given = coerce_values("cinder", "sm_flavors", values, _settable(FLAVOR_COLUMNS))
    rows = await insert_values(context, "cinder.sm.flavor_create", given)
    if context.dialect == "mysql":
        rows = await context.fetch("cinder.sm.flavor_read_back", id=None)
    return dict(rows[0])


async def _flavor(context: Context, sm_flavor: Any, what: str) -> Row:
    """The (oldest) flavor with this label, deleted or not.

    :raises NotFound: ``No sm_flavor called …``
    :raises Invalid: the label is not a string
    """
    label = _text_key("sm_flavors", "label", sm_flavor, what)
    row = None if label is None else await context.fetchrow("cinder.sm.flavor_get", label=label)
    if row is None:
        raise _flavor_not_found(sm_flavor)
    return dict(row)


@require_admin_context
@writer
async def sm_flavor_update(context: Context, sm_flavor_id: str, values: Mapping[str, Any]) -> Row:
    """Change the given columns of the (oldest) SM flavor with this label (admins only).

    :param sm_flavor_id: the flavor's label (upstream's name for it)
    :returns: the flavor, changed
    :raises NotFound: ``No sm_flavor called …``
    :raises Invalid: see the module docstring; nothing is written
    """
    given = coerce_values("cinder", "sm_flavors", values, _settable(FLAVOR_COLUMNS))
    found = await _flavor(context, sm_flavor_id, "sm_flavor_id")
    count = await context.execute("cinder.sm.flavor_update", **_update_params(FLAVOR_COLUMNS, given, found["id"]))
    row = await context.fetchrow("cinder.sm.flavor_read_back", id=found["id"]) if count else None
    if row is None:  # deleted since it was found
        raise _flavor_not_found(sm_flavor_id)
    return dict(row)


@require_admin_context
@writer
async def sm_flavor_delete(context: Context, sm_flavor_id: str) -> None:
    """Delete every SM flavor with this label for good (admins only); none is no error.

    :param sm_flavor_id: the flavors' label
    :raises DBReferenceError: backend configs are of such a flavor; nothing is deleted
    :raises Invalid: the label is not a string
    """
    label = _text_key("sm_flavors", "label", sm_flavor_id, "sm_flavor_id")
    if label is not None:
        async with context.savepoint() as sp:
            await sp.execute("cinder.sm.flavor_delete", label=label)


@require_admin_context
@reader
async def sm_flavor_get(context: Context, sm_flavor: str) -> Row:
    """The (oldest) SM flavor with this label, deleted or not (admins only).

    :raises NotFound: ``No sm_flavor called …``
    :raises Invalid: the label is not a string
    """
    return await _flavor(context, sm_flavor, "sm_flavor")


@require_admin_context
@reader
async def sm_flavor_get_all(context: Context) -> list[Row]:
    """Every SM flavor, deleted or not, oldest first (admins only)."""
    return [dict(row) for row in await context.fetch("cinder.sm.flavor_get_all")]


# --- SM volumes --------------------------------------------------------------------------------


def _volume_key(volume_id: Any) -> str | None:
    return _text_key("sm_volume", "id", volume_id, "volume_id")


@writer
async def sm_volume_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create the SM volume of a volume.

    :param values: ``id`` (the volume's, required), ``backend_id`` (required), ``vdi_uuid``,
        ``created_at``, ``updated_at``
    :returns: the SM volume
    :raises DBDuplicateEntry: the volume has an SM volume already; nothing is written
    :raises DBReferenceError: no volume has this ``id``, or no backend config this ``backend_id``;
        nothing is written
    :raises Invalid: see the module docstring; nothing is written
    """
    given = coerce_values("cinder", "sm_volume", values, _settable(VOLUME_COLUMNS, "id"))
    _required(given, "sm_volume", "id", "backend_id")
    async with context.savepoint() as sp:
        rows = await insert_values(sp, "cinder.sm.volume_create", given)
        if sp.dialect == "mysql":
            rows = await sp.fetch("cinder.sm.volume_get", id=given["id"])
    return dict(rows[0])


@writer
async def sm_volume_update(context: Context, volume_id: str, values: Mapping[str, Any]) -> Row:
    """Change the given columns of an SM volume, deleted or not.

    :returns: the SM volume, changed
    :raises NotFound: ``No sm_volume with id …``
    :raises DBReferenceError: no backend config has the new ``backend_id``; nothing changed
    :raises Invalid: see the module docstring (and ``backend_id`` None); nothing is written
    """
    given = coerce_values("cinder", "sm_volume", values, _settable(VOLUME_COLUMNS))
    if "backend_id" in given:
        _required(given, "sm_volume", "backend_id")
    key = _volume_key(volume_id)
    if key is None:
        raise _volume_not_found(volume_id)
    async with context.savepoint() as sp:
        count = await sp.execute("cinder.sm.volume_update", **_update_params(VOLUME_COLUMNS, given, key))
    row = await context.fetchrow("cinder.sm.volume_get", id=key) if count else None
    if row is None:
        raise _volume_not_found(volume_id)
    return dict(row)


@writer
async def sm_volume_delete(context: Context, volume_id: str) -> None:
    """Delete an SM volume for good; none with this id is no error.

    :raises Invalid: the id is not a string
    """
    key = _volume_key(volume_id)
    if key is not None:
        await context.execute("cinder.sm.volume_delete", id=key)


@reader
async def sm_volume_get(context: Context, volume_id: str) -> Row:
    """An SM volume by its volume's id, deleted or not.

    :raises NotFound: ``No sm_volume with id …``
    :raises Invalid: the id is not a string
    """
    key = _volume_key(volume_id)
    row = None if key is None else await context.fetchrow("cinder.sm.volume_get", id=key)
    if row is None:
        raise _volume_not_found(volume_id)
    return dict(row)


@reader
async def sm_volume_get_all(context: Context) -> list[Row]:
    """Every SM volume, deleted or not, in id order."""
    return [dict(row) for row in await context.fetch("cinder.sm.volume_get_all")]
