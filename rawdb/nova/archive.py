"""nova-manage db archive_deleted_rows and db purge: soft-deleted rows to shadow tables, and out of them.

``archive_deleted_rows`` moves soft-deleted rows of nova's tables into ``shadow_<table>``
(same columns, no keys), children before parents (spec D.8, nova 14.0.0's
``archive_deleted_rows``); ``purge_shadow_tables`` deletes rows from the shadow tables
(nova-manage db purge).  Only admins may call them.

How a run works:

- Tables are taken children first, so that a soft-deleted parent whose children were
  soft-deleted with it moves in the same run.  Only tables with a ``deleted`` column and a
  shadow table are archived (``security_group_default_rules`` has one in rawdb's schema).
- A table moves in batches of at most ``BATCH`` rows, oldest key first; each batch is one
  transaction (the rows copied to the shadow table and deleted together), so no lock is
  held longer than a batch and memory does not grow with the rows moved (PostgreSQL moves a
  batch in one statement; SQLite and MariaDB read the batch's keys, locked on MariaDB).
  Called with a context bound to a writer scope, every batch runs in that one transaction.
- A soft-deleted row that a row of a child table still refers to stays where it is (its
  children must go first), and the table's other rows still move: upstream tried the
  whole batch and gave up on the table at the foreign-key error (E.5 14).  Should a child
  row appear between the choice and the delete, the batch is rolled back to its savepoint
  and the table counts the rows moved before it.
- Before ``instance_actions``, ``instance_actions_events`` and ``migrations`` move, the rows
  of deleted instances are soft-deleted (Newton's pre-step), in chunks of deleted
  instances.  rawdb stamps them with their instance's ``deleted_at`` (now, if it has none),
  not with the time of the run, so that ``before=`` takes an instance's actions with it
  (with "now" they would never be old enough, and their foreign key would keep the
  instance forever).
- ``before``: only rows with ``deleted_at < before`` move (or are purged); a deleted row
  with no ``deleted_at`` is never before anything (as nova does since Rocky), so only a run
  without ``before`` moves it.

The count functions are dry runs: what the job would do now without a cap (the pre-step
included), changing nothing.  They are exact for a database nobody writes to meanwhile.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from rawdb import errors
from rawdb.checks import check_datetime
from rawdb.context import Context
from rawdb.conventions import require_admin_context
from rawdb.decorators import reader, writer
from rawdb.nova._archive_tables import ARCHIVED, ORDER, PRESTEP_TABLES, UNSHADOWED, params, statement
from rawdb.timeutils import utcnow

__all__ = [
    "BATCH",
    "archive_deleted_rows",
    "archive_deleted_rows_count",
    "archive_deleted_rows_for_table",
    "purge_shadow_tables",
    "purge_shadow_tables_count",
]

Progress = Callable[[str, int], None]

BATCH = 1000  # rows per transaction (and per statement) of a table's archive or purge
PRESTEP_CHUNK = 200  # deleted instances whose actions, events or migrations one transaction soft-deletes
PRESTEP = {
    "instance_actions": "nova.archive.prestep_instance_actions",
    "instance_actions_events": "nova.archive.prestep_instance_actions_events",
    "migrations": "nova.archive.prestep_migrations",
}

log = logging.getLogger("rawdb")


# --- checks --------------------------------------------------------------------------------


def _max_rows(value: Any, name: str = "max_rows") -> int | None:
    """:raises Invalid: neither None nor an integer >= 1 (a bool is no integer here)"""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.Invalid(f"{name} must be an integer >= 1 or None, not {value!r:.80}")
    return value


def _before(value: Any) -> datetime | None:
    """:raises Invalid: neither None nor a datetime (an aware one is converted to naive UTC)"""
    return None if value is None else check_datetime(value, "before")


def _progress(value: Any) -> Progress | None:
    """:raises Invalid: neither None nor callable"""
    if value is not None and not callable(value):
        raise errors.Invalid(f"progress must be callable or None, not {type(value).__name__}")
    return value  # type: ignore[no-any-return]


def _table(value: Any) -> str | None:
    """The archived table ``value`` names, or None for a nova table without a shadow table.

    :raises Invalid: not the name of one of nova's tables (shadow tables included)
    """
    if isinstance(value, str) and value in ARCHIVED:
        return value
    if isinstance(value, str) and value in UNSHADOWED:
        return None
    raise errors.Invalid(f"tablename must name one of nova's tables, not {value!r:.80}")


def _writable(context: Context) -> None:
    """:raises ScopeError: the context is bound to a reader scope"""
    tx = context.transaction
    if tx is not None and tx.mode != "writer":
        raise errors.ScopeError("archiving writes, but was called inside a reader scope; call it inside ctx.writer()")


# --- archive -------------------------------------------------------------------------------


@require_admin_context
async def archive_deleted_rows(
    context: Context,
    max_rows: int | None = None,
    before: datetime | None = None,
    *,
    progress: Progress | None = None,
    batch: int | None = None,
) -> dict[str, int]:
    """Move up to ``max_rows`` soft-deleted rows of nova's tables to their shadow tables.

    :param max_rows: the most rows to move over all tables, an int >= 1; None moves every
        row that can move (still in batches of at most ``BATCH`` rows)
    :param before: move only rows deleted before this time (naive UTC; an aware datetime is
        converted); None: any soft-deleted row
    :param progress: called as ``progress(table, rows)`` after each batch that moved rows
    :param batch: rows per transaction, an int >= 1 (None: ``BATCH``)
    :returns: ``{table: rows moved}`` for the tables that moved rows, in the order taken
        (children before parents)
    :raises AdminRequired: the context is not an admin's
    :raises Invalid: a bad ``max_rows``, ``before`` or ``progress``; nothing is moved
    :raises ScopeError: the context is bound to a reader scope
    """
    cap, cut, report = _max_rows(max_rows), _before(before), _progress(progress)
    size = _max_rows(batch, "batch") or BATCH
    _writable(context)
    moved: dict[str, int] = {}
    total = 0
    for table in ORDER:
        rows = await _archive_table(context, table, None if cap is None else cap - total, cut, report, size)
        if rows:
            moved[table] = rows
            total += rows
        if cap is not None and total >= cap:
            break
    return moved


@require_admin_context
async def archive_deleted_rows_for_table(
    context: Context,
    tablename: str,
    max_rows: int | None = None,
    before: datetime | None = None,
    *,
    progress: Progress | None = None,
) -> int:
    """Move up to ``max_rows`` soft-deleted rows of one table to its shadow table.

    Rows that a child table's rows still refer to stay (archive the child table first).

    :param tablename: one of nova's tables; one without a shadow table (``tags``, the
        placement tables) moves nothing
    :returns: the number of rows moved
    :raises AdminRequired: the context is not an admin's
    :raises Invalid: ``tablename`` is not one of nova's tables, or a bad ``max_rows``,
        ``before`` or ``progress``; nothing is moved
    :raises ScopeError: the context is bound to a reader scope
    """
    table = _table(tablename)
    cap, cut, report = _max_rows(max_rows), _before(before), _progress(progress)
    _writable(context)
    if table is None:
        return 0
    return await _archive_table(context, table, cap, cut, report, BATCH)


async def _archive_table(
    context: Context, table: str, cap: int | None, before: datetime | None, progress: Progress | None, size: int
) -> int:
    if table in PRESTEP_TABLES:
        chunk_end: int | None = 0
        now = utcnow()
        while chunk_end is not None:
            chunk_end = await _prestep_chunk(context, table, chunk_end, now)
    moved = 0
    joined = context.transaction is not None
    after: Any = None  # the last key the run has looked at (None: none yet)
    while cap is None or moved < cap:
        n = size if cap is None else min(size, cap - moved)
        batch = await _move_batch(context, table, n, before, after, joined)
        if batch is None:
            break
        if batch.moved:
            moved += batch.moved
            if progress is not None:
                progress(table, batch.moved)
        if batch.seen < n:
            break
        after = batch.last
    return moved


@writer(retry=True)
async def _prestep_chunk(context: Context, table: str, after: int, now: datetime) -> int | None:
    """Soft-delete ``table``'s rows of the next chunk of deleted instances; the chunk's last
    instance id, or None when no deleted instance is left after ``after``."""
    upto = await context.fetchval("nova.archive.deleted_instances_upto", after=after, n=PRESTEP_CHUNK)
    if upto is None:
        return None
    await context.execute(PRESTEP[table], after=after, upto=upto, now=now)
    return int(upto)


class Batch(NamedTuple):
    """What one batch did: soft-deleted rows looked at, the last one's key, rows moved."""

    seen: int
    last: Any
    moved: int


async def _move_batch(
    context: Context, table: str, n: int, before: datetime | None, after: Any, joined: bool
) -> Batch | None:
    """Move those of the next ``n`` soft-deleted rows of ``table`` after the key ``after`` that
    no child row refers to; None when a foreign key refused the batch (a child row appeared
    meanwhile): nothing moved.

    :param joined: the context is bound to the caller's writer scope
    """
    try:
        return await _batch(context, table, n, before, after, joined)
    except errors.DBReferenceError as exc:
        log.warning("archive of %s: a row still referred to was skipped this run: %s", table, exc)
        return None


@writer(retry=True)
async def _batch(context: Context, table: str, n: int, before: datetime | None, after: Any, joined: bool) -> Batch:
    if not joined:  # the batch is the whole transaction: a refused batch rolls it all back
        return await _move(context, table, n, before, after)
    async with context.savepoint():  # in the caller's transaction: give back only this batch
        return await _move(context, table, n, before, after)


async def _move(context: Context, table: str, n: int, before: datetime | None, after: Any) -> Batch:
    values: dict[str, Any] = {"n": n, "before": before, "after": after}
    cut, resume = before is not None, after is not None
    if context.dialect == "postgresql":
        move = statement(table, "move", cut, resume)
        row = await context.fetchrow(move, **params(move, context.dialect, **values))
        assert row is not None  # an aggregate row, always
        return Batch(row["seen"], row["last"], row["moved"])
    ids = statement(table, "ids", cut, resume)
    rows = await context.fetch(ids, **params(ids, context.dialect, **values))
    keys = [row["k"] for row in rows if row["free"]]
    moved = 0
    if keys:
        listed = json.dumps(keys) if context.dialect == "mysql" else keys  # see _archive_tables._chosen
        chosen = {"keys": listed, "lo": keys[0], "hi": keys[-1]}
        await context.execute(statement(table, "copy", False), **chosen)
        moved = await context.execute(statement(table, "delete", False), **chosen)
    return Batch(len(rows), rows[-1]["k"] if rows else after, moved)


@require_admin_context
@reader
async def archive_deleted_rows_count(context: Context, before: datetime | None = None) -> dict[str, int]:
    """What ``archive_deleted_rows(context, None, before)`` would move now, changing nothing.

    Counts the rows that are soft-deleted (or that the pre-step would soft-delete) and that
    every row referring to them would leave first; read in one transaction.

    :returns: ``{table: rows}`` for the tables that would move rows, in the order taken
    :raises AdminRequired: the context is not an admin's
    :raises Invalid: ``before`` is neither None nor a datetime
    """
    cut = _before(before)
    values: dict[str, Any] = {"before": cut, "now": utcnow()}
    counts: dict[str, int] = {}
    for table in ORDER:
        count = statement(table, "count", cut is not None)
        rows = int(await context.fetchval(count, **params(count, context.dialect, **values)))
        if rows:
            counts[table] = rows
    return counts


# --- purge ---------------------------------------------------------------------------------


@require_admin_context
async def purge_shadow_tables(
    context: Context, before: datetime | None = None, *, progress: Progress | None = None
) -> dict[str, int]:
    """Delete rows from the shadow tables (nova-manage db purge ``--before`` / ``--all``).

    :param before: delete only rows deleted before this time (a row without ``deleted_at``
        stays); None deletes every row
    :param progress: called as ``progress(shadow_table, rows)`` after each batch
    :returns: ``{shadow_table: rows deleted}`` for the tables that had rows to delete
    :raises AdminRequired: the context is not an admin's
    :raises Invalid: a bad ``before`` or ``progress``; nothing is deleted
    :raises ScopeError: the context is bound to a reader scope
    """
    cut, report = _before(before), _progress(progress)
    _writable(context)
    purged: dict[str, int] = {}
    for table in ORDER:
        total = 0
        while True:
            rows = await _purge_batch(context, table, cut)
            if rows:
                total += rows
                if report is not None:
                    report(f"shadow_{table}", rows)
            if rows < BATCH:
                break
        if total:
            purged[f"shadow_{table}"] = total
    return purged


@writer(retry=True)
async def _purge_batch(context: Context, table: str, before: datetime | None) -> int:
    purge = statement(table, "purge", before is not None)
    return await context.execute(purge, **params(purge, context.dialect, n=BATCH, before=before))


@require_admin_context
@reader
async def purge_shadow_tables_count(context: Context, before: datetime | None = None) -> dict[str, int]:
    """What ``purge_shadow_tables(context, before)`` would delete now, changing nothing.

    :returns: ``{shadow_table: rows}`` for the shadow tables that have rows to delete
    :raises AdminRequired: the context is not an admin's
    :raises Invalid: ``before`` is neither None nor a datetime
    """
    cut = _before(before)
    counts: dict[str, int] = {}
    for table in ORDER:
        count = statement(table, "purge_count", cut is not None)
        rows = int(await context.fetchval(count, **params(count, context.dialect, before=cut)))
        if rows:
            counts[f"shadow_{table}"] = rows
    return counts
