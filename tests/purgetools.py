"""Soft-delete states of a row, for the purge tests of glance and cinder (boolean ``deleted``) and
the archive tests of nova (``deleted`` = the row's id)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rawdb.timeutils import utcnow

OLD = datetime(2000, 1, 1, 12, 0, 0, 123456)  # deleted long ago, microseconds kept
STATES = ("live", "revived", "young", "old", "no_time")
CUT = datetime(2010, 1, 1)  # a ``before=`` between the states: old rows were deleted before it, young ones after


def state(name: str) -> dict[str, Any]:
    """The deleted/deleted_at columns of a row in the named state: live, revived (live again,
    with its old deleted_at kept), young (deleted an hour ago), old (deleted at OLD), no_time
    (deleted, no deleted_at)."""
    young = utcnow() - timedelta(hours=1)
    states: dict[str, dict[str, Any]] = {
        "live": {"deleted": False, "deleted_at": None},
        "revived": {"deleted": False, "deleted_at": OLD},
        "young": {"deleted": True, "deleted_at": young},
        "old": {"deleted": True, "deleted_at": OLD},
        "no_time": {"deleted": True, "deleted_at": None},
    }
    return states[name]


def nova_state(name: str, row_id: int) -> dict[str, Any]:
    """The same states with nova's soft delete: ``deleted`` is the row's id when deleted, else 0."""
    values = state(name)
    return {"deleted": row_id if values["deleted"] else 0, "deleted_at": values["deleted_at"]}
