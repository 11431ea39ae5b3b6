"""cinder-manage db purge: hard-delete rows soft-deleted more than ``age_in_days`` ago.

As cinder's ``purge_deleted_rows``, every table with a ``deleted`` column is purged, children
before parents, on rawdb's cinder schema.  Where rawdb departs from cinder:

- a soft-deleted parent that some row still refers to is left for a later run instead of
  failing the whole purge on the foreign key (cinder raises DBReferenceError).  Besides the
  foreign keys, ``snapshots.volume_id`` keeps its volume and ``volumes.volume_type_id`` its
  volume type, though neither column has one: a live snapshot of a purged volume, or a volume
  of a purged type, would point at nothing;
- the work is done in batches of at most ``BATCH`` rows, each its own transaction (memory and
  lock time stay flat however many rows go); within a table the batches walk the primary
  key, so a kept parent is read once, not once per batch;
- a row soft-deleted without ``deleted_at`` is never purged (cinder's ``deleted_at < age``
  is false for it too); a live row never is, whatever its ``deleted_at``.

Called with a context bound to a caller's writer scope, the batches run in that transaction,
and the caller's commit makes them final.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import require_admin_context
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Progress = Callable[[str, int], object]

# Children before parents: each table's rows go before those of the tables they refer to.
TABLES = (
    "volume_metadata",
    "iscsi_targets",
    "sm_volume",
    "snapshots",
    "volumes",
    "volume_type_extra_specs",
    "volume_types",
    "reservations",
    "quota_usages",
    "quotas",
    "quota_classes",
    "sm_backend_config",
    "sm_flavors",
    "services",
    "migrations",
)
# The first key of a table's keyset walk: below every id (string ids: volumes, snapshots, sm_volume).
_FIRST: dict[str, Any] = {t: "" if t in {"volumes", "snapshots", "sm_volume"} else -(2**31) for t in TABLES}
BATCH = 1000  # rows per transaction


def cutoff_of(age_in_days: Any) -> datetime:
    """The time before which soft-deleted rows are old enough to purge.

    An age beyond year 1 (``timedelta`` would overflow) purges nothing.

    :raises Invalid: not an integer, or negative
    """
    if isinstance(age_in_days, bool) or not isinstance(age_in_days, int):
        raise errors.Invalid(f"age_in_days must be an integer, not {type(age_in_days).__name__}")
    if age_in_days < 0:
        raise errors.Invalid("Must supply a non-negative value for age")
    now = utcnow()
    return datetime.min if age_in_days >= (now - datetime.min).days else now - timedelta(days=age_in_days)


def _progress(progress: Any) -> Progress | None:
    if progress is not None and not callable(progress):
        raise errors.Invalid(f"progress must be a callable or None, not {type(progress).__name__}")
    return progress  # type: ignore[no-any-return]


@writer(retry=True)
async def _batch(context: Context, table: str, cutoff: datetime, after: Any, size: int) -> tuple[int, Any, int]:
    """Purge one batch of ``table``: (rows found, last id found, rows deleted)."""
    found = await context.fetchrow(f"cinder.maintenance.{table}_batch", cutoff=cutoff, after=after, size=size)
    assert found is not None
    if not found["n"]:
        return 0, after, 0
    deleted = await context.execute(
        f"cinder.maintenance.{table}_delete", cutoff=cutoff, after=after, upto=found["upto"]
    )
    return int(found["n"]), found["upto"], deleted


@require_admin_context
async def purge_deleted_rows(context: Context, age_in_days: int, *, progress: Progress | None = None) -> dict[str, int]:
    """Hard-delete rows soft-deleted more than ``age_in_days`` days ago, in every cinder table.

    :param progress: ``progress(table, rows)``, called after each batch that deleted rows
        (committed, unless the context is bound to a caller's scope)
    :returns: ``{table: rows deleted}`` of the tables that lost rows, in the order purged
    :raises AdminRequired: not an admin context
    :raises Invalid: ``age_in_days`` is not a non-negative integer, or ``progress`` is not
        callable; nothing was deleted
    """
    cutoff = cutoff_of(age_in_days)
    report = _progress(progress)
    purged: dict[str, int] = {}
    for table in TABLES:
        after, total, size = _FIRST[table], 0, BATCH
        while True:
            found, after, deleted = await _batch(context, table, cutoff, after, size)
            if deleted:
                total += deleted
                if report is not None:
                    report(table, deleted)
            if found < size:
                break
        if total:
            purged[table] = total
    return purged


@require_admin_context
@reader
async def purge_deleted_rows_count(context: Context, age_in_days: int) -> dict[str, int]:
    """What ``purge_deleted_rows`` would delete now, deleting nothing (its dry run).

    A parent counts when the children that keep it would go in the same run.

    :returns: ``{table: rows}`` of the tables that would lose rows, in the order purged
    :raises AdminRequired: not an admin context
    :raises Invalid: ``age_in_days`` is not a non-negative integer
    """
    row = await context.fetchrow("cinder.maintenance.purge_count", cutoff=cutoff_of(age_in_days))
    assert row is not None
    return {table: int(row[table]) for table in TABLES if row[table]}
