"""Key pairs (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3 "Key pairs"): a user's public keys, by name.

A key pair is ``{id, name, user_id, fingerprint, public_key, type, created_at, updated_at,
deleted_at, deleted}``; ``type`` is ``'ssh'`` (the default) or ``'x509'``.  The unique key
``(user_id, name, deleted)`` admits one live key pair per user and name, so two concurrent
creates of the same key pair give one row and one ``KeyPairExists``.  Deleting is Newton's
soft delete (Grizzly deleted the row).

A user context reaches only its own user's key pairs (Grizzly's ``authorize_user_context``,
which Newton moved to the API's policy; admins reach every user's).  A user id or name that
is no string is ``Invalid``; one no key pair can have (too long, NUL) finds nothing.

Where rawdb departs from upstream:

- ``key_pair_destroy`` soft-deletes only the live key pair (upstream, under
  ``read_deleted='yes'``, deleted the deleted ones again, moving their ``deleted_at``).
- ``key_pair_get`` with ``read_deleted='yes'`` gives the live key pair before deleted ones.
- ``key_pair_get_all_by_user`` orders names by code point on every backend (PostgreSQL
  compares them ``COLLATE "C"``), so pages are the same everywhere.
- ``public_key`` is bounded by MariaDB's MEDIUMTEXT (16 MiB of UTF-8) on every backend alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, check_integer
from rawdb.context import Context
from rawdb.conventions import (
    authorize_user_context,
    coerce_values,
    insert_values,
    read_deleted,
    require_context,
)
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The columns a caller may set (id and the soft-delete columns belong to rawdb).
COLUMNS = frozenset(("name", "user_id", "fingerprint", "public_key", "type", "created_at", "updated_at"))
TYPES = ("ssh", "x509")
NAME_LENGTH = 255
PUBLIC_KEY_BYTES = 16777215  # MariaDB's MEDIUMTEXT

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _key(value: Any, what: str) -> str | None:
    """A user id or name to look key pairs up by, or None when no key pair can have it.

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > NAME_LENGTH or _UNSTORABLE.search(value):
        return None
    return value


def _values(values: Any) -> dict[str, Any]:
    """The key pair ``values`` describe, checked and with its type defaulted.

    :raises Invalid: see ``key_pair_create``
    """
    given = coerce_values("nova", "key_pairs", values, COLUMNS)
    if given.get("name") is None:
        raise errors.Invalid("a key pair needs a name")
    given.setdefault("type", "ssh")
    if given["type"] not in TYPES:
        raise errors.Invalid(f"a key pair's type is 'ssh' or 'x509', not {given['type']!r:.80}")
    public_key = given.get("public_key")
    if public_key is not None and len(public_key.encode()) > PUBLIC_KEY_BYTES:
        raise errors.Invalid(f"public_key is longer than {PUBLIC_KEY_BYTES} bytes")
    return given


@require_context
@writer(retry=True)
async def key_pair_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a key pair.

    :param values: ``name`` (required), ``user_id``, ``fingerprint``, ``public_key``, ``type``
        ('ssh', the default, or 'x509'), ``created_at``, ``updated_at``
    :returns: the key pair
    :raises KeyPairExists: (a Duplicate) the user has a live key pair by this name; nothing is
        written, an enclosing transaction goes on
    :raises Invalid: no name, an unknown type, another key with a value, or a value its column
        cannot hold; nothing is written
    :raises NotAuthorized: neither an admin nor a user context
    """
    given = _values(values)
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.key_pairs.key_pair_create", given)
            if sp.dialect == "mysql":
                rows = await sp.fetch("nova.key_pairs.key_pair_read_back", id=None)
    except errors.DBDuplicateEntry as exc:
        raise errors.KeyPairExists(key_name=given["name"]) from exc
    return dict(rows[0])


@require_context
@writer
async def key_pair_destroy(context: Context, user_id: str, name: str) -> None:
    """Soft-delete the user's live key pair by this name (``updated_at`` kept, as upstream's bulk soft delete).

    :raises KeypairNotFound: the user has no live key pair by this name (or ``context.read_deleted``
        is 'only')
    :raises Invalid: ``user_id`` or ``name`` is not a string
    :raises NotAuthorized: neither an admin nor a user context; a user context naming another user
    """
    authorize_user_context(context, user_id)
    user, key = _key(user_id, "user_id"), _key(name, "name")
    count = 0
    if user is not None and key is not None:
        count = await context.execute(
            "nova.key_pairs.key_pair_destroy",
            user_id=user,
            name=key,
            read_deleted=read_deleted(context),
            now=utcnow(),
        )
    if not count:
        raise errors.KeypairNotFound(user_id=user_id, name=name)


@require_context
@reader
async def key_pair_get(context: Context, user_id: str, name: str) -> Row:
    """A user's key pair by name, as ``context.read_deleted`` allows (the live one first).

    :raises KeypairNotFound: none
    :raises Invalid: ``user_id`` or ``name`` is not a string
    :raises NotAuthorized: neither an admin nor a user context; a user context naming another user
    """
    authorize_user_context(context, user_id)
    user, key = _key(user_id, "user_id"), _key(name, "name")
    row = None
    if user is not None and key is not None:
        row = await context.fetchrow(
            "nova.key_pairs.key_pair_get", user_id=user, name=key, read_deleted=read_deleted(context)
        )
    if row is None:
        raise errors.KeypairNotFound(user_id=user_id, name=name)
    return dict(row)


@require_context
@reader
async def key_pair_get_all_by_user(
    context: Context, user_id: str, limit: int | None = None, marker: str | None = None
) -> list[Row]:
    """A page of the user's live key pairs by name: at most ``limit`` (None: all) after the one named ``marker``.

    :param marker: the name of the previous page's last key pair (a live one of this user)
    :raises MarkerNotFound: the user has no live key pair named ``marker``
    :raises Invalid: ``user_id`` or ``marker`` is not a string; ``limit`` is not a non-negative integer
    :raises NotAuthorized: neither an admin nor a user context; a user context naming another user
    """
    authorize_user_context(context, user_id)
    user = _key(user_id, "user_id")
    count = BIGINT_MAX if limit is None else check_integer(limit, "limit", 0, BIGINT_MAX)
    after = None if marker is None else _key(marker, "marker")
    if marker is not None:
        found = None
        if user is not None and after is not None:
            found = await context.fetchrow("nova.key_pairs.key_pair_marker", user_id=user, marker=after)
        if found is None:
            raise errors.MarkerNotFound(marker=marker)
    if user is None:
        return []
    rows = await context.fetch("nova.key_pairs.key_pair_get_all_by_user", user_id=user, marker=after, limit=count)
    return [dict(row) for row in rows]


@require_context
@reader
async def key_pair_count_by_user(context: Context, user_id: str) -> int:
    """How many live key pairs the user has.

    :raises Invalid: ``user_id`` is not a string
    :raises NotAuthorized: neither an admin nor a user context; a user context naming another user
    """
    authorize_user_context(context, user_id)
    user = _key(user_id, "user_id")
    if user is None:
        return 0
    row = await context.fetchrow("nova.key_pairs.key_pair_count_by_user", user_id=user)
    assert row is not None  # count(*) always answers
    return int(row["n"])
