"""The convention macros hand-written statements use, expanded once when they are loaded.

``READ_DELETED(column, int|str|bool)``, ``SOFT_DELETE(int|str|bool, bulk|object)`` and
``PROJECT_ONLY(column)`` become the one SQL form of each convention (see
``rawdb.conventions.deleted`` and ``rawdb.conventions.access``), so that no statement
spells a convention its own way.
"""

from __future__ import annotations

import re

from rawdb import errors
from rawdb.conventions.access import project_only_sql
from rawdb.conventions.deleted import Flavour, read_deleted_sql, soft_delete_sql

_COLUMN = r"[A-Za-z_][\w.]*"
_MACRO = re.compile(
    rf"\bREAD_DELETED\(\s*(?P<column>{_COLUMN})\s*,\s*(?P<flavour>\w+)\s*\)"
    rf"|\bSOFT_DELETE\(\s*(?P<sd_flavour>\w+)\s*,\s*(?P<kind>\w+)\s*\)"
    rf"|\bPROJECT_ONLY\(\s*(?P<po_column>{_COLUMN})\s*\)"
)


def _flavour(name: str, macro: str) -> Flavour:
    try:
        return Flavour(name)
    except ValueError:
        raise errors.SQLLoadError(f"{macro}: the flavour is one of int, str, bool, not {name!r}") from None


def _replace(match: re.Match[str]) -> str:
    if match.group("column"):
        return read_deleted_sql(match.group("column"), _flavour(match.group("flavour"), match.group(0)))
    if match.group("po_column"):
        return project_only_sql(match.group("po_column"))
    return soft_delete_sql(_flavour(match.group("sd_flavour"), match.group(0)), match.group("kind"))


def expand(sql: str) -> str:
    """Replace every convention macro in ``sql`` with its SQL.

    :raises SQLLoadError: an unknown flavour or soft-delete kind
    """
    if "READ_DELETED(" not in sql and "SOFT_DELETE(" not in sql and "PROJECT_ONLY(" not in sql:
        return sql
    return _MACRO.sub(_replace, sql)
