"""Cinder's iSCSI targets (``cinder/db/sqlalchemy/api.py`` at 2012.2, spec A.5 and D.9), async.

Targets are pre-provisioned per host by the volume driver (``iscsi_target_count_by_host``, then
``iscsi_target_create_safe`` for each number, duplicates swallowed by the schema's UNIQUE
(target_num, host)); a volume claims one with ``volume_allocate_iscsi_target`` and
``volume_destroy`` gives it back.  A *target* is ``id, target_num, host, volume_id,
created_at, updated_at, deleted_at, deleted``.  Every function is for admins only, as upstream.

Allocation never hands one target to two volumes and raises ``NoMoreTargets`` exactly when the
host has no free live target.  The lowest free number is taken (upstream took any).  What each
backend sends for one allocation:

- PostgreSQL: one statement and nothing else (no BEGIN/COMMIT when the caller has no
  transaction): ``UPDATE iscsi_targets SET volume_id, updated_at WHERE id = coalesce((SELECT id
  … WHERE host AND NOT deleted AND volume_id IS NULL ORDER BY target_num, id LIMIT 1 FOR UPDATE
  SKIP LOCKED), (the same with a waiting FOR UPDATE)) RETURNING target_num``.  The second
  subquery runs only when every free target is held by concurrent allocations, and waits for
  them: NoMoreTargets is then sure, not a guess.
- MariaDB: ``BEGIN``, ``SELECT id, target_num … ORDER BY target_num, id LIMIT 1 FOR UPDATE SKIP
  LOCKED``, ``UPDATE iscsi_targets SET volume_id, updated_at WHERE id``, ``COMMIT``.  Only when
  the SELECT finds every free target held: ``BEGIN``, that SELECT, a waiting ``UPDATE … SET …,
  id = LAST_INSERT_ID(id) WHERE host … ORDER BY target_num, id LIMIT 1``, then (if it claimed
  one) ``SELECT target_num … WHERE id = LAST_INSERT_ID()``, ``COMMIT``.
- SQLite: ``BEGIN IMMEDIATE`` (one writer at a time), ``UPDATE … WHERE id = (SELECT id …
  ORDER BY target_num, id LIMIT 1) RETURNING target_num``, ``COMMIT``.

Callers through one Database that arrive while an allocation for the host runs share the next
transaction (``rawdb.batches``): ``allocate_many`` takes the lowest free targets for all of them in
one statement on PostgreSQL and SQLite; MariaDB locks them in one ``allocate_pick`` and gives them
out in one ``allocate_claim_many``; one COMMIT.  Each caller gets its own number or error; one
whose target the shared statement could not find (others held the rest) is served alone after
that COMMIT, so its failure never undoes or repeats the others' committed allocations.

Where rawdb departs from Folsom:

- ``iscsi_target_create_safe`` needs ``target_num`` and ``host`` (a NULL in the unique key
  would let duplicates in); it swallows only the duplicate (target_num, host), not every
  IntegrityError; a ``volume_id`` of no volume is ``VolumeNotFound``.
- ``volume_allocate_iscsi_target`` for an id no volume has is ``VolumeNotFound`` (Folsom: the
  driver's IntegrityError).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.batches import ALONE, together
from rawdb.checks import lookup_text
from rawdb.cinder._volume_values import ID_LENGTH
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted, require_admin_context
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

CREATABLE = ("target_num", "host", "volume_id", "created_at", "updated_at", "deleted_at", "deleted")


@require_admin_context
@reader
async def iscsi_target_count_by_host(context: Context, host: str) -> int:
    """How many targets a host has, as ``context.read_deleted`` allows.

    :raises Invalid: ``host`` is not a string
    """
    key = lookup_text(host, "host")
    if key is None:
        return 0
    count = await context.fetchval("cinder.iscsi.count_by_host", host=key, read_deleted=read_deleted(context))
    return int(count or 0)


@require_admin_context
@writer(retry=True)
async def iscsi_target_create_safe(context: Context, values: Mapping[str, Any]) -> Row | None:
    """Create a target, unless the host has one with this number already.

    :param values: ``target_num`` and ``host`` (required), ``volume_id``, ``created_at``,
        ``updated_at``, ``deleted_at``, ``deleted``
    :returns: the target, or None when (target_num, host) exists (deleted or not)
    :raises VolumeNotFound: ``volume_id`` names no volume
    :raises Invalid: ``target_num`` or ``host`` missing, an unknown key, a value its column
        cannot hold; nothing is written
    """
    given = coerce_values("cinder", "iscsi_targets", values, frozenset(CREATABLE))
    if given.get("target_num") is None or given.get("host") is None:
        raise errors.Invalid("values must have a target_num and a host")
    try:
        if context.dialect != "mysql":  # INSERT … ON CONFLICT (target_num, host) DO NOTHING RETURNING …
            rows = await insert_values(context, "cinder.iscsi.create_safe", given)
            return dict(rows[0]) if rows else None
        try:
            async with context.savepoint() as sp:  # the duplicate-key error must not end the transaction
                await insert_values(sp, "cinder.iscsi.create_safe", given)
        except errors.DBDuplicateEntry:
            return None
        row = await context.fetchrow("cinder.iscsi.read_back", id=None)
        return None if row is None else dict(row)
    except errors.DBReferenceError as exc:
        raise errors.VolumeNotFound(volume_id=given.get("volume_id")) from exc


@require_admin_context
async def volume_allocate_iscsi_target(context: Context, volume_id: str, host: str) -> int:
    """Give a volume one of the host's free live targets (the lowest number).

    Concurrent callers always get different targets; see the module's docstring for the
    statements each backend sends.  Deadlocks re-run it when it is not inside a caller's scope.

    :returns: the target's number
    :raises NoMoreTargets: the host has no free live target
    :raises VolumeNotFound: no volume has this id
    :raises Invalid: ``volume_id`` or ``host`` is not a string
    """
    volume = lookup_text(volume_id, "volume_id", ID_LENGTH)
    where = lookup_text(host, "host")
    if volume is None:
        raise errors.VolumeNotFound(volume_id=volume_id)
    if where is None:
        raise errors.NoMoreTargets()
    params = {"volume_id": volume, "host": where}
    try:
        key = ("cinder.iscsi.allocate", where)
        number = await together(context, key, _allocate, params, autocommit=context.dialect == "postgresql")
    except errors.DBReferenceError as exc:
        raise errors.VolumeNotFound(volume_id=volume_id) from exc
    if number is None:
        raise errors.NoMoreTargets()
    return int(number)


async def _allocate(context: Context, claims: list[dict[str, Any]]) -> list[Any]:
    """Allocations of one host's targets in a writer scope, in order: each the target's number,
    or None when the host has no free target left for it."""
    now = utcnow()
    if len(claims) == 1:
        if context.dialect == "mysql":
            return [await _allocate_mysql(context, {**claims[0], "now": now})]
        return [await context.fetchval("cinder.iscsi.allocate", **claims[0], now=now)]
    host, count = claims[0]["host"], len(claims)
    if context.dialect != "mysql":  # one statement
        volumes = json.dumps([params["volume_id"] for params in claims])
        rows = await context.fetch("cinder.iscsi.allocate_many", host=host, count=count, volumes=volumes, now=now)
        numbers = [row["target_num"] for row in sorted(rows, key=lambda row: (row["target_num"], row["id"]))]
    else:  # locked skipping the ones other allocations hold (an UPDATE cannot skip them), then taken
        rows = await context.fetch("cinder.iscsi.allocate_pick", host=host, count=count)
        if rows:
            sets = [{"id": row["id"], "volume_id": p["volume_id"]} for row, p in zip(rows, claims, strict=False)]
            await context.execute("cinder.iscsi.allocate_claim_many", claims=json.dumps(sets), now=now)
        numbers = [row["target_num"] for row in rows]
    return numbers + [ALONE] * (count - len(numbers))  # left over: each alone, after the COMMIT


async def _allocate_mysql(context: Context, params: dict[str, Any]) -> Any:
    # An UPDATE cannot skip the rows other allocations hold: lock a free one, skipping them, then
    # take it; only when every free row is held, wait for them (allocate).
    claim = {k: v for k, v in params.items() if k != "host"}
    row = await context.fetchrow("cinder.iscsi.allocate_pick", host=params["host"], count=1)
    if row is not None:
        await context.execute("cinder.iscsi.allocate_claim", id=row["id"], **claim)
        return row["target_num"]
    if await context.execute("cinder.iscsi.allocate", **params) == 0:
        return None
    return await context.fetchval("cinder.iscsi.allocate_read_back", id=None)


@require_admin_context
@reader
async def volume_get_iscsi_target_num(context: Context, volume_id: str) -> int:
    """The number of the target a volume holds (or held: deleted targets count, as upstream).

    :raises ISCSITargetNotFoundForVolume: none
    :raises Invalid: ``volume_id`` is not a string
    """
    key = lookup_text(volume_id, "volume_id", ID_LENGTH)
    number = None
    if key is not None:
        number = await context.fetchval("cinder.iscsi.target_num_for_volume", volume_id=key)
    if number is None:
        raise errors.ISCSITargetNotFoundForVolume(volume_id=volume_id)
    return int(number)
