"""Agent builds (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3 "Agent builds"): guest agents by platform.

An agent build is ``{id, hypervisor, os, architecture, version, url, md5hash, created_at,
updated_at, deleted_at, deleted}``.  The unique key ``(hypervisor, os, architecture,
deleted)`` admits one live build per triple, so two concurrent creates of the same triple
give one row and one ``AgentBuildExists``.  As in Newton, the DB layer checks no caller
(Grizzly's ``@require_admin_context`` is gone).  ``agent_build_destroy`` and
``agent_build_update`` find builds by id deleted or not (Grizzly's ``read_deleted='yes'``);
the other reads see live builds only.

A lookup value that is no string (no integer, for ids) is ``Invalid``; one no build can
have (too long, NUL, out of range) finds nothing.  As upstream's ``filter_by``, a None in
``agent_build_get_by_triple`` matches a build whose column is NULL; like the unique key,
which lets NULLs repeat, a triple with a NULL in it is never a duplicate.

Where rawdb departs from upstream:

- ``agent_build_destroy`` of an already deleted build succeeds and changes nothing
  (upstream deleted it again, moving its ``deleted_at``).
- ``agent_build_update`` onto another live build's triple is ``AgentBuildExists`` (upstream
  let ``DBDuplicateEntry`` out) and changes nothing; it runs in a savepoint, as
  ``agent_build_create`` does, so an enclosing transaction goes on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, INT_MAX, check_integer
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The columns a caller may set (id and the soft-delete columns belong to rawdb).
COLUMNS = ("hypervisor", "os", "architecture", "version", "url", "md5hash", "created_at")
TRIPLE = ("hypervisor", "os", "architecture")
TEXT_LENGTH = 255

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MISSING = object()


def _text(value: Any, what: str) -> Any:
    """A column value to look builds up by (None matches NULL), or ``_MISSING`` when no build can have it.

    :raises Invalid: neither a string nor None
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string or None, not {type(value).__name__}")
    if len(value) > TEXT_LENGTH or _UNSTORABLE.search(value):
        return _MISSING
    return value


def _id(value: Any, what: str) -> int | None:
    """A build's id to look up, or None when no build can have it (out of range).

    :raises Invalid: not an integer (or a string of one)
    """
    number = check_integer(value, what, -BIGINT_MAX - 1, BIGINT_MAX)
    return number if 1 <= number <= INT_MAX else None


def _exists(given: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> errors.AgentBuildExists:
    """The error for a duplicate triple: the given columns, else the build's own."""
    triple = {column: given.get(column, (current or {}).get(column)) for column in TRIPLE}
    return errors.AgentBuildExists(**triple)


@writer(retry=True)
async def agent_build_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create an agent build.

    :param values: ``hypervisor``, ``os``, ``architecture``, ``version``, ``url``, ``md5hash``,
        ``created_at``, ``updated_at``
    :returns: the agent build
    :raises AgentBuildExists: (a Duplicate) a live build has this hypervisor, os and architecture;
        nothing is written, an enclosing transaction goes on
    :raises Invalid: another key with a value, or a value its column cannot hold; nothing is written
    """
    given = coerce_values("nova", "agent_builds", values, frozenset((*COLUMNS, "updated_at")))
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.agent_builds.agent_build_create", given)
            if sp.dialect == "mysql":
                rows = await sp.fetch("nova.agent_builds.agent_build_read_back", id=None)
    except errors.DBDuplicateEntry as exc:
        raise _exists(given) from exc
    return dict(rows[0])


@reader
async def agent_build_get_by_triple(context: Context, hypervisor: str, os: str, architecture: str) -> Row | None:
    """The (oldest) live agent build for this hypervisor, os and architecture, or None.

    :raises Invalid: a value that is neither a string nor None
    """
    triple = [_text(hypervisor, "hypervisor"), _text(os, "os"), _text(architecture, "architecture")]
    if any(value is _MISSING for value in triple):
        return None
    row = await context.fetchrow(
        "nova.agent_builds.agent_build_get_by_triple",
        hypervisor=triple[0],
        os=triple[1],
        architecture=triple[2],
    )
    return None if row is None else dict(row)


@reader
async def agent_build_get_all(context: Context, hypervisor: str | None = None) -> list[Row]:
    """The live agent builds (only this hypervisor's, when one is given), oldest first.

    As upstream, a false-y ``hypervisor`` (None, '') means every build.

    :raises Invalid: ``hypervisor`` is neither a string nor None
    """
    key = _text(hypervisor or None, "hypervisor")
    if key is _MISSING:
        return []
    rows = await context.fetch("nova.agent_builds.agent_build_get_all", hypervisor=key)
    return [dict(row) for row in rows]


@writer
async def agent_build_destroy(context: Context, agent_update_id: int) -> None:
    """Soft-delete the agent build with this id (``updated_at`` kept, as upstream's bulk soft delete).

    An already deleted build stays as it is (Grizzly found it with ``read_deleted='yes'``).

    :raises AgentBuildNotFound: no build, live or deleted, has this id
    :raises Invalid: the id is not an integer
    """
    key = _id(agent_update_id, "agent_update_id")
    if key is not None:
        if await context.execute("nova.agent_builds.agent_build_destroy", id=key, now=utcnow()):
            return
        if await context.fetchrow("nova.agent_builds.agent_build_get", id=key) is not None:
            return
    raise errors.AgentBuildNotFound(id=agent_update_id)


@writer
async def agent_build_update(context: Context, agent_build_id: int, values: Mapping[str, Any]) -> None:
    """Change the given columns of the agent build with this id, live or deleted.

    ``updated_at`` becomes now unless given, even when nothing else changes.

    :raises AgentBuildNotFound: no build, live or deleted, has this id
    :raises AgentBuildExists: the new triple is another live build's; nothing changed, an
        enclosing transaction goes on
    :raises Invalid: the id is not an integer; another key with a value, or a value its column
        cannot hold; nothing is written
    """
    given = coerce_values("nova", "agent_builds", values, frozenset((*COLUMNS, "updated_at")))
    key = _id(agent_build_id, "agent_build_id")
    if key is None:
        raise errors.AgentBuildNotFound(id=agent_build_id)
    params: dict[str, Any] = {"id": key, "updated_at": given.get("updated_at") or utcnow()}
    for column in COLUMNS:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    try:
        async with context.savepoint() as sp:
            count = await sp.execute("nova.agent_builds.agent_build_update", **params)
    except errors.DBDuplicateEntry as exc:
        raise _exists(given, await context.fetchrow("nova.agent_builds.agent_build_get", id=key)) from exc
    if not count:
        raise errors.AgentBuildNotFound(id=agent_build_id)
