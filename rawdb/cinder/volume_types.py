"""Cinder's volume types and their extra specs, async (``cinder/db/sqlalchemy/api.py`` at 2012.2;
spec A.2, A.5 "Volume types", E.3).

A *volume type* is a dict of the ``volume_types`` columns plus its live extra specs, as Folsom's
``_dict_with_extra_specs`` made it::

    id, name, created_at, updated_at, deleted_at, deleted,
    extra_specs ({key: value} of its live extra specs, in the order they were added)

Every read of types is one statement, the extra specs aggregated as JSON in each type's row.
``volume_type_get_all`` returns ``{name: type}`` by name (code point order); with ``inactive`` it
includes deleted types, and of several types of one name the live one wins.

Race-free without a schema change (cinder's tables have no unique key on a type's name nor on
``(volume_type_id, key)``):

- ``volume_type_create``: on PostgreSQL the creators of one name take turns on a
  transaction-scoped advisory lock and check the name under it; SQLite has one writer at a time;
  on MySQL a creator checks the name again *after* inserting its row, with a locking read that
  waits for a rival's uncommitted row (two such creators deadlock and the victim's transaction is
  retried whole, ``@writer(retry=True)``), and deletes its row when it finds a rival.  Of
  concurrent creates of one name exactly one succeeds; the others raise ``VolumeTypeExists``.
- ``volume_type_extra_specs_update_or_create``: the writers of one type's specs take turns on
  the type's row (``SELECT ... FOR UPDATE``; SQLite's writers take turns anyway), then update the
  live rows of the given keys and insert the keys that have none: two callers setting one key
  never make two live rows nor see a duplicate-key error.

Authorization as Folsom's decorators: create and destroy are for admins, the rest for admins and
user contexts.  A deleted type's name is free again (E.3 "repeated names raise" only for live ones).

Cinder bugs fixed (each fixed upstream after Folsom):

- 1095401: the extra-spec upsert wrote ``deleted = 0`` into a boolean column, which PostgreSQL
  refused; rawdb's writes are typed for every backend.
- 1090306: ``volume_type_extra_specs_delete`` of a key the type has no live spec for raises
  ``VolumeTypeExtraSpecsNotFound`` (Folsom did nothing and the API answered 202).

Where rawdb departs from Folsom:

- ``volume_type_get_all`` takes the ``filters`` of the SQLAlchemy layer (``cinder.db.api`` at
  2012.2 did not pass them on) and applies them in SQL: ``{'extra_specs': {k: v, ...}}`` keeps
  the types with a live extra spec of every given key and value, as Folsom's
  ``volume_types.get_all_types(search_opts=...)`` did in Python (an integer value compares as
  its text, as it is stored); other filter names are ignored, as there.
- ``volume_type_create`` and the destroy check *live* names (Folsom's check used
  ``context.read_deleted``); the type and its specs are one transaction (Folsom saved them in
  another), and the result is a dict (Folsom returned the model, whose ``extra_specs`` was a list).
- ``volume_type_extra_specs_update_or_create`` of a type id no row has is ``VolumeTypeNotFound``
  (Folsom's insert failed on the foreign key); it returns the specs as stored (integers as strings).
- Names, keys and values are strings (extra-spec values may be integers, stored as their text, as
  Folsom's tests do); anything else, an unknown key with a value, a string too long for its
  column or containing NUL is ``Invalid`` and nothing is written.  A lookup key no row can hold
  finds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import INT_MAX, check_bool, check_integer
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted, require_admin_context, require_context
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

TEXT_LENGTH = 255  # name, key and value are VARCHAR(255)
NO_ID = 0  # no type has it: name_taken's "other than" for a new one
CREATABLE = frozenset({"name", "created_at", "updated_at"})


# --- values ------------------------------------------------------------------------------


def _storable(value: str) -> bool:
    return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)


def _lookup_text(value: Any, what: str) -> str | None:
    """A name or key to look rows up by, or None when no row can hold it (too long, NUL).

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    return value if len(value) <= TEXT_LENGTH and _storable(value) else None


def _type_id(value: Any) -> int | None:
    """A type id as an int, or None when no row can have it (0, negative, out of range).

    :raises Invalid: not an integer nor a string of one
    """
    if isinstance(value, str) and len(value) > 24:
        raise errors.Invalid(f"volume_type_id must be an integer, not {value!r:.80}")
    number = check_integer(value, "volume_type_id", -(2**63), 2**63 - 1)
    return number if 0 < number <= INT_MAX else None


def _spec_text(value: Any, what: str, *, numbers: bool) -> str:
    """An extra-spec key (``numbers`` False) or value as stored.

    :raises Invalid: the column cannot hold it
    """
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Folsom's tests store 3 and read back '3'
    if not isinstance(value, str):
        kinds = "a string or an integer" if numbers else "a string"
        raise errors.Invalid(f"{what} must be {kinds}, not {type(value).__name__}")
    if not _storable(value):
        raise errors.Invalid(f"{what} can't contain NUL characters or lone surrogates (not UTF-8)")
    if len(value) > TEXT_LENGTH:
        raise errors.Invalid(f"{what} is longer than {TEXT_LENGTH} characters")
    return value


def _specs(value: Any, what: str = "extra_specs") -> dict[str, str]:
    """``{key: value}`` extra specs as stored.

    :raises Invalid: not a dict, or a key or value the table cannot hold
    """
    if not isinstance(value, Mapping):
        raise errors.Invalid(f"{what} must be a dict, not {type(value).__name__}")
    specs: dict[str, str] = {}
    for key, spec in value.items():
        name = _spec_text(key, f"{what} key", numbers=False)
        specs[name] = _spec_text(spec, f"{what}[{name!r:.80}]", numbers=True)
    return specs


def _wanted(value: Any) -> dict[str, str] | None:
    """The ``{key: value}`` a type's live extra specs must include, or None when none can.

    :raises Invalid: not a dict, a key that is not a string, a value neither a string nor an integer
    """
    what = "filters['extra_specs']"
    if not isinstance(value, Mapping):
        raise errors.Invalid(f"{what} must be a dict, not {type(value).__name__}")
    wanted: dict[str, str] | None = {}
    for key, spec in value.items():
        text = str(spec) if isinstance(spec, int) and not isinstance(spec, bool) else spec
        if not isinstance(key, str) or not isinstance(text, str):
            raise errors.Invalid(f"{what} must map strings to strings or integers, not {key!r:.80}: {spec!r:.80}")
        if wanted is not None and all(len(s) <= TEXT_LENGTH and _storable(s) for s in (key, text)):
            wanted[key] = text
        else:
            wanted = None
    return wanted


def _specs_json(specs: Mapping[str, str]) -> str:
    return json.dumps([{"k": k, "v": v} for k, v in specs.items()])


def _volume_type(row: Mapping[str, Any]) -> Row:
    """A type row with its JSON extra specs as ``{key: value}``."""
    volume_type = {column: row[column] for column in ("id", "name", "created_at", "updated_at", "deleted_at")}
    volume_type["deleted"] = bool(row["deleted"])
    specs = row.get("extra_specs")
    volume_type["extra_specs"] = {k: v for k, v in json.loads(specs)} if specs is not None else {}
    return volume_type


# --- volume types ------------------------------------------------------------------------


async def _name_taken(context: Context, name: str, own_id: int) -> bool:
    """Whether a live type other than ``own_id`` has the name (MySQL: a locking read)."""
    return await context.fetchrow("cinder.volume_types.name_taken", name=name, id=own_id) is not None


@require_admin_context
@writer(retry=True)
async def volume_type_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a volume type with its extra specs (admins only).

    :param values: ``name`` (required), ``extra_specs`` (``{key: value}``), ``created_at``, ``updated_at``
    :returns: the volume type
    :raises VolumeTypeExists: a live type has the name (race-free; a deleted type's name is free)
    :raises Invalid: see the module's notes; nothing is written
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    columns = {k: v for k, v in values.items() if k != "extra_specs"}
    specs = _specs(values.get("extra_specs") or {})
    name = columns.get("name")
    if name is None:
        raise errors.Invalid("name is required: a volume type is known by its name")
    coerce_values("cinder", "volume_types", columns, CREATABLE)  # Invalid before anything is written
    if context.dialect == "postgresql":
        await context.execute("cinder.volume_types.name_lock", name=name)
    if await _name_taken(context, name, NO_ID):
        raise errors.VolumeTypeExists(name=name)
    rows = await insert_values(context, "cinder.volume_types.type_create", columns)
    if context.dialect == "mysql":  # no RETURNING; the name is checked again after writing
        rows = await context.fetch("cinder.volume_types.type_read_back", id=None)
        if await _name_taken(context, name, rows[0]["id"]):
            await context.execute("cinder.volume_types.type_discard", id=rows[0]["id"])
            raise errors.VolumeTypeExists(name=name)
    volume_type = _volume_type({**rows[0], "extra_specs": None})
    if specs:
        await context.execute(
            "cinder.volume_types.specs_insert_missing",
            volume_type_id=volume_type["id"],
            specs=_specs_json(specs),
            now=utcnow(),
        )
    volume_type["extra_specs"] = specs
    return volume_type


@require_context
@reader
async def volume_type_get_all(
    context: Context, inactive: bool = False, filters: Mapping[str, Any] | None = None
) -> dict[str, Row]:
    """Every live volume type (and deleted ones with ``inactive``) as ``{name: type}``, by name.

    :param filters: ``{'extra_specs': {key: value, ...}}`` keeps the types that have a live
        extra spec of every given key and value; other names are ignored
    :raises Invalid: ``filters`` or its ``extra_specs`` is not a dict, a key or value is neither
        a string nor an integer
    """
    visible = "yes" if check_bool(inactive, "inactive") else "no"
    if filters is not None and not isinstance(filters, Mapping):
        raise errors.Invalid(f"filters must be a dict, not {type(filters).__name__}")
    wanted: dict[str, str] | None = {}
    if filters is not None and filters.get("extra_specs") is not None:
        wanted = _wanted(filters["extra_specs"])
    if wanted is None:
        return {}  # a key or value no row can hold matches nothing
    rows = await context.fetch("cinder.volume_types.types_all", read_deleted=visible, specs=_specs_json(wanted))
    result: dict[str, Row] = {}
    for row in rows:
        result[row["name"]] = _volume_type(row)  # of one name the live type comes last
    return result


@require_context
@reader
async def volume_type_get(context: Context, id: int) -> Row:
    """A volume type by id, visible as ``context.read_deleted`` says.

    :raises VolumeTypeNotFound: none
    :raises Invalid: the id is not an integer
    """
    key = _type_id(id)
    row = None
    if key is not None:
        row = await context.fetchrow(
            "cinder.volume_types.type_by_id", volume_type_id=key, read_deleted=read_deleted(context)
        )
    if row is None:
        raise errors.VolumeTypeNotFound(volume_type_id=id)
    return _volume_type(row)


@require_context
@reader
async def volume_type_get_by_name(context: Context, name: str) -> Row:
    """A volume type by name (a live one first), visible as ``context.read_deleted`` says.

    :raises VolumeTypeNotFoundByName: none
    :raises Invalid: the name is not a string
    """
    key = _lookup_text(name, "name")
    row = None
    if key is not None:
        row = await context.fetchrow("cinder.volume_types.type_by_name", name=key, read_deleted=read_deleted(context))
    if row is None:
        raise errors.VolumeTypeNotFoundByName(volume_type_name=name)
    return _volume_type(row)


@require_admin_context
@writer
async def volume_type_destroy(context: Context, name: str) -> None:
    """Soft-delete a volume type by name and its extra specs (admins only; ``updated_at`` kept).

    The type is found as ``volume_type_get_by_name`` finds it (a live one first).

    :raises VolumeTypeNotFoundByName: none
    :raises Invalid: the name is not a string
    """
    key = _lookup_text(name, "name")
    type_id = None
    if key is not None:
        type_id = await context.fetchval(
            "cinder.volume_types.type_id_by_name", name=key, read_deleted=read_deleted(context)
        )
    if type_id is None:
        raise errors.VolumeTypeNotFoundByName(volume_type_name=name)
    now = utcnow()
    await context.execute("cinder.volume_types.type_destroy", volume_type_id=type_id, now=now)
    await context.execute("cinder.volume_types.specs_destroy_all", volume_type_id=type_id, now=now)


# --- extra specs -------------------------------------------------------------------------


@require_context
@reader
async def volume_type_extra_specs_get(context: Context, volume_type_id: int) -> dict[str, str]:
    """A volume type's live extra specs as ``{key: value}`` (``{}`` for an unknown type).

    :raises Invalid: the id is not an integer
    """
    key = _type_id(volume_type_id)
    if key is None:
        return {}
    rows = await context.fetch("cinder.volume_types.specs_get", volume_type_id=key)
    return {row["key"]: row["value"] for row in rows}


@require_context
@writer
async def volume_type_extra_specs_delete(context: Context, volume_type_id: int, key: str) -> None:
    """Soft-delete a volume type's live extra spec (``updated_at`` kept).

    :raises VolumeTypeExtraSpecsNotFound: the type has no live spec of the key (cinder bug 1090306)
    :raises Invalid: the id is not an integer, the key not a string
    """
    type_id = _type_id(volume_type_id)
    spec_key = _lookup_text(key, "key")
    deleted = 0
    if type_id is not None and spec_key is not None:
        deleted = await context.execute(
            "cinder.volume_types.spec_delete", volume_type_id=type_id, key=spec_key, now=utcnow()
        )
    if not deleted:
        raise errors.VolumeTypeExtraSpecsNotFound(extra_specs_key=key, volume_type_id=volume_type_id)


@require_context
@writer(retry=True)
async def volume_type_extra_specs_update_or_create(
    context: Context, volume_type_id: int, extra_specs: Mapping[str, Any]
) -> dict[str, str]:
    """Set a volume type's extra specs: the live spec of a key gets the new value, a new key is added.

    Race-free: the writers of one type's specs take turns on the type's row.

    :returns: the specs as stored (``{key: value}``, integers as their text)
    :raises VolumeTypeNotFound: no type has the id (deleted or not)
    :raises Invalid: the id is not an integer; a key or value the table cannot hold; nothing is written
    """
    specs = _specs(extra_specs)
    type_id = _type_id(volume_type_id)
    if type_id is None or await context.fetchrow("cinder.volume_types.type_lock", volume_type_id=type_id) is None:
        raise errors.VolumeTypeNotFound(volume_type_id=volume_type_id)
    if specs:
        now = utcnow()
        pairs = _specs_json(specs)
        await context.execute("cinder.volume_types.specs_update", volume_type_id=type_id, specs=pairs, now=now)
        await context.execute("cinder.volume_types.specs_insert_missing", volume_type_id=type_id, specs=pairs, now=now)
    return specs
