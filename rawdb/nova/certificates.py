"""Certificates (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3 "Certificates"): the x509 files nova-cert signed.

A certificate is ``{id, user_id, project_id, file_name, created_at, updated_at, deleted_at,
deleted}``.  As in Newton, the DB layer checks no caller (Grizzly's ``@require_admin_context``
is gone); listings give live certificates in insertion order (``ORDER BY id``).  A user or
project id that is no string is ``Invalid``; one no certificate can have (too long, NUL)
finds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import insert_values
from rawdb.decorators import reader, writer

Row = dict[str, Any]

ID_LENGTH = 255

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _key(value: Any, what: str) -> str | None:
    """A user or project id to look certificates up by, or None when no certificate can have it.

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > ID_LENGTH or _UNSTORABLE.search(value):
        return None
    return value


@writer
async def certificate_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Record a certificate.

    :param values: ``user_id``, ``project_id``, ``file_name``, ``created_at``, ``updated_at``
    :returns: the certificate
    :raises Invalid: another key with a value, or a value its column cannot hold; nothing is written
    """
    rows = await insert_values(context, "nova.certificates.certificate_create", values)
    if context.dialect == "mysql":
        rows = await context.fetch("nova.certificates.certificate_read_back", id=None)
    return dict(rows[0])


@reader
async def certificate_get_all_by_project(context: Context, project_id: str) -> list[Row]:
    """The project's live certificates, oldest first.

    :raises Invalid: ``project_id`` is not a string
    """
    project = _key(project_id, "project_id")
    if project is None:
        return []
    rows = await context.fetch("nova.certificates.certificate_get_all_by_project", project_id=project)
    return [dict(row) for row in rows]


@reader
async def certificate_get_all_by_user(context: Context, user_id: str) -> list[Row]:
    """The user's live certificates, oldest first.

    :raises Invalid: ``user_id`` is not a string
    """
    user = _key(user_id, "user_id")
    if user is None:
        return []
    rows = await context.fetch("nova.certificates.certificate_get_all_by_user", user_id=user)
    return [dict(row) for row in rows]


@reader
async def certificate_get_all_by_user_and_project(context: Context, user_id: str, project_id: str) -> list[Row]:
    """The user's live certificates in the project, oldest first.

    :raises Invalid: ``user_id`` or ``project_id`` is not a string
    """
    user, project = _key(user_id, "user_id"), _key(project_id, "project_id")
    if user is None or project is None:
        return []
    rows = await context.fetch(
        "nova.certificates.certificate_get_all_by_user_and_project", user_id=user, project_id=project
    )
    return [dict(row) for row in rows]
