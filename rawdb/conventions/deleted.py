"""Soft delete and ``read_deleted``: the flavours of spec B.1, each with one SQL form.

A soft-deleted row keeps its place with ``deleted`` set; which value means "live"
depends on the table (spec B.1):

========  ===========================  ==============================================
flavour   live / deleted               tables
========  ===========================  ==============================================
``int``   ``deleted = 0`` / ``= id``   nova tables with integer ids (Grizzly and on)
``str``   ``deleted = ''`` / ``= id``  nova tables with string ids
``bool``  ``false`` / ``true``         every cinder table, nova's dns_domains
========  ===========================  ==============================================

Hand-written statements use these forms through three macros that the SQL loader
expands (the same text for every statement, so there is one predicate per flavour)::

    WHERE k.user_id = :user_id AND READ_DELETED(k.deleted, int)
    UPDATE key_pairs SET SOFT_DELETE(int, bulk) WHERE ...

``READ_DELETED(column, flavour)`` takes the parameter ``:read_deleted`` (``no``, ``yes``
or ``only``: see ``read_deleted()``); ``SOFT_DELETE(flavour, bulk|object)`` takes
``:now``.  Dynamic statements get the same predicate from ``read_deleted_criterion``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from pypika.terms import Criterion, Term

from rawdb import errors

if TYPE_CHECKING:
    from rawdb.context import Context

READ_DELETED = ("no", "yes", "only")


class Flavour(enum.Enum):
    """How a table marks its soft-deleted rows (the value is the macro's spelling)."""

    INT = "int"
    STR = "str"
    BOOL = "bool"

    def live(self, column: str) -> str:
        """The SQL that is true for a live row: the one form every statement uses."""
        return _LIVE[self].format(column=column)

    def deleted_value(self) -> str:
        """What soft delete sets ``deleted`` to (``id``: any number of deleted rows fit a unique key)."""
        return "TRUE" if self is Flavour.BOOL else "id"


_LIVE = {Flavour.INT: "{column} = 0", Flavour.STR: "{column} = ''", Flavour.BOOL: "NOT {column}"}


def read_deleted(context: Context, override: Any = None) -> str:
    """The soft-delete visibility a statement runs with: ``override`` if given, else the context's.

    Like upstream's ``read_deleted or context.read_deleted``, a false-y override (None,
    False, '') means "the context's".

    :raises InvalidReadDeleted: (an Invalid and a ValueError) anything but 'no', 'yes', 'only'
    """
    value = override or context.read_deleted
    if value not in READ_DELETED:
        raise errors.InvalidReadDeleted(value=value)
    return str(value)


def read_deleted_sql(column: str, flavour: Flavour) -> str:
    """``READ_DELETED(column, flavour)``: rows visible for ``:read_deleted``."""
    live = flavour.live(column)
    return f"(CASE :read_deleted WHEN 'no' THEN {live} WHEN 'only' THEN NOT ({live}) ELSE TRUE END)"


def soft_delete_sql(flavour: Flavour, kind: str) -> str:
    """``SOFT_DELETE(flavour, bulk|object)``: the SET list of a soft delete at ``:now``.

    ``bulk`` is upstream's ``Query.soft_delete()``, which keeps ``updated_at``; ``object``
    is ``model.soft_delete()``, saved by the ORM, which bumps it.
    """
    assignments = f"deleted = {flavour.deleted_value()}, deleted_at = :now"
    if kind == "object":
        return f"{assignments}, updated_at = :now"
    if kind != "bulk":
        raise errors.SQLLoadError(f"SOFT_DELETE({flavour.value}, {kind}): the kind is bulk or object")
    return assignments


class _Live(Criterion):
    """A live-row test in pypika: renders ``Flavour.live`` of the column."""

    def __init__(self, column: Term, flavour: Flavour) -> None:
        super().__init__()
        self.column = column
        self.flavour = flavour

    def get_sql(self, **kwargs: Any) -> str:
        return f"({self.flavour.live(self.column.get_sql(**kwargs))})"


def read_deleted_criterion(column: Term, flavour: Flavour, value: str) -> Criterion | None:
    """The READ_DELETED predicate for a dynamic query whose shape includes ``value``.

    :returns: the criterion, or None for ``yes`` (no condition at all)
    """
    if value not in READ_DELETED:
        raise errors.InvalidReadDeleted(value=value)
    if value == "yes":
        return None
    live = _Live(column, flavour)
    return live if value == "no" else live.negate()
