"""DNS domains (``nova/db/sqlalchemy/api.py`` at 14.0.0, spec A.3 "DNS domains"), async, with 2013.1's
``dnsdomain_list``.

A domain is ``{domain, scope, availability_zone, project_id, created_at, updated_at, deleted_at,
deleted}``: registered for an availability zone (``scope`` 'private') or for a project (``scope``
'public').  ``domain`` is the primary key and ``deleted`` a boolean (spec B.1).  As in Newton, only
``dnsdomain_get`` (and Grizzly's ``dnsdomain_list``) check the caller: an admin or a user context.

Where rawdb departs from upstream:

- Registering is one upsert on the key (nova read the row, then inserted or saved it: two concurrent
  registrations of a new domain made one fail with a duplicate key): concurrent calls never fail, the
  last one's scope wins; ``updated_at`` moves only when something changes, as the ORM's save.  A
  soft-deleted domain (nothing in nova soft-deletes one; archive tooling might) is registered anew
  instead of failing on the key.
- ``dnsdomain_get`` takes no row lock (upstream's ``FOR UPDATE`` locked nothing past its own call).
"""

from __future__ import annotations

import re
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import read_deleted, require_context
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

TEXT_LENGTH = 255
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _domain(value: Any, *, storing: bool) -> str | None:
    """A domain argument; None when no row can have it (too long) and it is only looked up.

    :raises Invalid: not a string, a string no database can hold, or (``storing``) too long
    """
    return _text(value, "fqdomain", storing=storing, optional=False)


def _text(value: Any, what: str, *, storing: bool, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if _UNSTORABLE.search(value):
        raise errors.Invalid(f"{what} can't contain NUL characters or lone surrogates (not UTF-8)")
    if len(value) > TEXT_LENGTH:
        if storing:
            raise errors.Invalid(f"{what} is longer than {TEXT_LENGTH} characters")
        return None
    return value


@require_context
@reader
async def dnsdomain_get(context: Context, fqdomain: str) -> Row | None:
    """A live domain, or None.

    :raises NotAuthorized: neither an admin nor a user context
    :raises Invalid: not a string
    """
    domain = _domain(fqdomain, storing=False)
    if domain is None:
        return None
    row = await context.fetchrow("nova.dns_domains.dnsdomain_get", domain=domain)
    return None if row is None else dict(row)


@reader
async def dnsdomain_get_all(context: Context) -> list[Row]:
    """Every live domain, in domain order (Newton)."""
    return [dict(row) for row in await context.fetch("nova.dns_domains.dnsdomain_get_all")]


@require_context
@reader
async def dnsdomain_list(context: Context) -> list[str]:
    """The names of the live domains, in order (Grizzly).

    :raises NotAuthorized: neither an admin nor a user context
    """
    return [row["domain"] for row in await context.fetch("nova.dns_domains.dnsdomain_get_all")]


@writer(retry=True)
async def dnsdomain_register_for_zone(context: Context, fqdomain: str, zone: str | None) -> None:
    """Register a domain for an availability zone: scope 'private', ``availability_zone`` = ``zone``.

    A registered domain keeps its ``project_id``; a new one has none.

    :raises Invalid: a domain or zone that is not a string a domain row can hold; nothing is written
    """
    domain = _domain(fqdomain, storing=True)
    zone_name = _text(zone, "zone", storing=True)
    await context.execute("nova.dns_domains.dnsdomain_register_for_zone", domain=domain, zone=zone_name, now=utcnow())


@writer(retry=True)
async def dnsdomain_register_for_project(context: Context, fqdomain: str, project: str | None) -> None:
    """Register a domain for a project: scope 'public', ``project_id`` = ``project``.

    A registered domain keeps its ``availability_zone``; a new one has none.

    :raises Invalid: a domain or project that is not a string a domain row can hold; nothing is written
    """
    domain = _domain(fqdomain, storing=True)
    project_id = _text(project, "project", storing=True)
    await context.execute(
        "nova.dns_domains.dnsdomain_register_for_project", domain=domain, project=project_id, now=utcnow()
    )


@writer
async def dnsdomain_unregister(context: Context, fqdomain: str) -> None:
    """Delete a domain for good (a soft-deleted one only when ``context.read_deleted`` shows it).

    Unregistering a domain that is not registered does nothing.

    :raises Invalid: not a string
    """
    domain = _domain(fqdomain, storing=False)
    if domain is not None:
        await context.execute(
            "nova.dns_domains.dnsdomain_unregister", domain=domain, read_deleted=read_deleted(context)
        )
