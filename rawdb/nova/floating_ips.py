"""Nova's floating IPs (``nova/db/sqlalchemy/api.py`` at 14.0.0, with 2013.1's ``floating_ip_set_auto_assigned``,
``floating_ip_count_by_project`` and ``instance_get_floating_address``), async.

Result shapes (plain dicts; lists oldest first, ``ORDER BY id``):

- a *floating IP*: ``created_at, updated_at, deleted_at, id, address, fixed_ip_id, project_id,
  host, auto_assigned, pool, interface, deleted``, plus ``fixed_ip`` where nova joins it: the
  live fixed IP a live floating IP points at (a *fixed IP*), or None.  ``floating_ip_get``,
  ``_get_by_address``, ``_get_all_by_project`` and ``_update`` also give that fixed IP its
  ``instance`` (the live instance's columns and ``name``, or None); ``floating_ip_get_all`` and
  ``_get_all_by_host`` join the fixed IP alone; the other calls join nothing.
- a *fixed IP*: ``created_at, updated_at, deleted_at, id, address, network_id, allocated,
  leased, reserved, virtual_interface_id, host, instance_uuid, deleted``; the ones
  ``floating_ip_fixed_ip_associate`` and ``floating_ip_disassociate`` return carry ``network``
  (the live network's columns, or None).

Addresses are text on every backend, as PostgreSQL's INET prints them (``_floating_ip_values``); one
that is no IPv4 or IPv6 address is ``InvalidIpAddressError`` (an ``Invalid``), nothing written.
Lookups see rows as ``context.read_deleted`` says, listings only live ones.

Allocation (spec D.5) never hands one address to two callers, and raises ``NoMoreFloatingIps``
exactly when the pool has no free address.  PostgreSQL: one ``UPDATE … WHERE id = coalesce((SELECT
… FOR UPDATE SKIP LOCKED), (SELECT … FOR UPDATE)) RETURNING address`` (the waiting subquery runs
only when every free row is held).  SQLite (one writer at a time): one ``UPDATE … RETURNING``.
Both run it without BEGIN/COMMIT outside a caller's transaction: one statement is atomic alone.
MariaDB: ``SELECT … FOR UPDATE SKIP LOCKED`` then ``UPDATE … WHERE id``; when every free row is
held, a waiting ``UPDATE … LIMIT 1`` and a read-back.  Callers through one Database that arrive
while an allocation of the pool runs share the next transaction (``rawdb.batches``): one
statement for all of them on PostgreSQL and SQLite (committed by itself), a pick and an UPDATE
on MariaDB with one COMMIT; claims a shared statement could not serve (rows other transactions
held) run alone after it.  MariaDB's shared pick finds free rows by a plain read and locks them
by id, skipping held ones; it starts past the rows the last one took, then wraps around (next
fit: the index entries of rows taken lately stay behind until InnoDB purges them).

Where rawdb departs from upstream:

- ``floating_ip_fixed_ip_associate`` returns None, changing nothing, when the floating IP points
  at that fixed IP already (Grizzly, E.5 9; Newton returned it again); else, as Newton, the
  floating IP must be the caller's project's (no project: an unallocated one) and point at no
  fixed IP, or ``FloatingIpAssociateFailed``; an unknown one is ``FloatingIpNotFoundForAddress``.
- ``floating_ip_bulk_destroy`` gives quota usage back in the transaction that deletes: each
  project's live ``floating_ips`` usage (``user_id`` NULL) loses one per deleted floating IP of it
  that was not auto-assigned, never going below zero; a project without a usage row is left
  alone (Newton's negative reservation created one), unallocated floating IPs count for no
  project (Newton charged the caller's).  Only live rows are deleted: nothing is given back twice.
- ``floating_ip_bulk_create`` also refuses an address listed twice (``FloatingIpExists``).
- ``floating_ip_allocate_address`` needs a pool name (upstream matched ``pool IS NULL`` for None).
- ``instance_get_floating_address`` returns None for an instance without fixed IPs (Grizzly's
  helper raised ``FixedIpNotFoundForInstance``).
"""

from __future__ import annotations

import json
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rawdb import errors
from rawdb.batches import ALONE, together
from rawdb.checks import lookup_text
from rawdb.context import Context
from rawdb.conventions import (
    authorize_project_context,
    check_bool,
    insert_values,
    is_user_context,
    project_only,
    read_deleted,
    require_context,
)
from rawdb.decorators import reader, writer
from rawdb.nova import _floating_ip_values as values_
from rawdb.nova._instance_list import check_uuid
from rawdb.timeutils import utcnow

Row = dict[str, Any]


async def _joined(context: Context, rows: Sequence[Mapping[str, Any]], instances: bool) -> list[Row]:
    """Floating IP rows with their ``fixed_ip`` (and, if ``instances``, its ``instance``)."""
    floating_ips = values_.with_fixed_ip(rows)
    if instances:
        uuids = values_.instance_uuids(floating_ips)
        found = await context.fetch("nova.floating_ips.instances_by_uuids", uuids=uuids) if uuids else []
        values_.attach_instances(floating_ips, found)
    return floating_ips


async def _lookup(context: Context, statement: str, **params: Any) -> Row | None:
    """The statement's row, or None without asking when its first parameter is None (no row has it)."""
    if next(iter(params.values())) is None:
        return None
    return await context.fetchrow(statement, **params)


async def _by_address(context: Context, address: Any) -> Row:
    """The floating IP ``floating_ip_get_by_address`` finds (f__ columns not split yet).

    :raises FloatingIpNotFoundForAddress: none visible
    :raises NotAuthorized: a user context asking for another project's floating IP
    :raises InvalidIpAddressError: not an address
    """
    key = values_.lookup_address(address)
    row = await _lookup(context, "nova.floating_ips.get_by_address", address=key, read_deleted=read_deleted(context))
    if row is None:
        raise errors.FloatingIpNotFoundForAddress(address=address or None)
    if row["project_id"] and is_user_context(context):
        authorize_project_context(context, row["project_id"])
    return row


# --- allocation ----------------------------------------------------------------------------


@require_context
async def floating_ip_allocate_address(
    context: Context, project_id: str, pool: str, auto_assigned: bool = False
) -> str:
    """Give the project a free floating IP of the pool (live, without project and fixed IP).

    Concurrent callers always get different addresses; see the module's docstring for the
    statements each backend runs.  Deadlocks re-run it when it is not inside a caller's scope.

    :returns: its address
    :raises NoMoreFloatingIps: the pool has no free floating IP
    :raises NotAuthorized: a user context allocating for another project
    :raises Invalid: a project id or pool that is not a string, a bad ``auto_assigned``
    """
    authorize_project_context(context, project_id)
    params = {
        "project_id": values_.text_arg(project_id, "project_id"),
        "pool": values_.text_arg(pool, "pool"),
        "auto_assigned": check_bool(auto_assigned, "auto_assigned"),
    }
    key = ("nova.floating_ips.allocate", params["pool"])
    address = await together(context, key, _allocate, params, autocommit=context.dialect != "mysql")
    if address is None:
        raise errors.NoMoreFloatingIps()
    return str(address)


async def _allocate(context: Context, claims: list[dict[str, Any]]) -> list[Any]:
    """Claims of one pool in a writer scope, in order: each the address, or None when the pool
    has no free one left for it."""
    now = utcnow()
    if len(claims) == 1:
        if context.dialect == "mysql":
            return [await _allocate_mysql(context, {**claims[0], "now": now})]
        return [await context.fetchval("nova.floating_ips.allocate", **claims[0], now=now)]
    pool, count = claims[0]["pool"], len(claims)
    if context.dialect != "mysql":  # one statement
        rows = await context.fetch(
            "nova.floating_ips.allocate_many", pool=pool, count=count, claims=_sets(claims), now=now
        )
        rows.sort(key=lambda row: row["id"])
    else:  # locked skipping the ones other allocations hold (an UPDATE cannot skip them), then taken
        rows = await _pick_next_fit(context, pool, count)
        if rows:
            claimed = _sets(claims, [row["id"] for row in rows])
            await context.execute("nova.floating_ips.allocate_claim_many", claims=claimed, now=now)
    # Left over: on SQLite the statement saw every free row (one writer), so none is left for
    # them; elsewhere other allocations may hold some, and the way of one alone waits for them.
    left = None if context.dialect == "sqlite" else ALONE
    return [row["address"] for row in rows] + [left] * (count - len(rows))


# Where the last shared allocation of each (database, pool) stopped: the next starts past it.
_NEXT_FIT: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()
_NO_ID = 2**31 - 1  # above every INTEGER id


async def _pick_next_fit(context: Context, pool: str, count: int) -> list[Row]:
    """Up to ``count`` free rows of the pool (MySQL: locked), from past the last ones this
    database's shared allocations took, then from the pool's start (next fit)."""
    marks = _NEXT_FIT.setdefault(context.db, {})
    after = marks.get(pool, 0)
    rows = await context.fetch("nova.floating_ips.allocate_pick_many", pool=pool, after=after, upto=_NO_ID, count=count)
    if len(rows) < count and after:
        more = count - len(rows)
        rows += await context.fetch("nova.floating_ips.allocate_pick_many", pool=pool, after=0, upto=after, count=more)
    if rows:
        marks[pool] = rows[-1]["id"]
    return rows


def _sets(claims: list[dict[str, Any]], ids: list[int] | None = None) -> str:
    """What the claims set, as the JSON array the *_many statements read (with the rows' ids)."""
    sets = [{"project_id": params["project_id"], "auto_assigned": params["auto_assigned"]} for params in claims]
    if ids is not None:
        sets = [{**claim, "id": id_} for claim, id_ in zip(sets, ids, strict=False)]
    return json.dumps(sets)


async def _allocate_mysql(context: Context, params: dict[str, Any]) -> Any:
    # An UPDATE cannot skip the rows other allocations hold: lock a free one, skipping them, then
    # take it; only when every free row is held, wait for them (allocate).
    claim = {k: v for k, v in params.items() if k != "pool"}
    row = await context.fetchrow("nova.floating_ips.allocate_pick", pool=params["pool"])
    if row is not None:
        await context.execute("nova.floating_ips.allocate_claim", id=row["id"], **claim)
        return row["address"]
    if await context.execute("nova.floating_ips.allocate", **params) == 0:
        return None
    return await context.fetchval("nova.floating_ips.allocate_read_back", id=None)


@require_context
@writer(retry=True)
async def floating_ip_deallocate(context: Context, address: str) -> int:
    """Take an allocated floating IP that is not associated back from its project.

    Its project and host become NULL and ``auto_assigned`` false.

    :returns: the number of rows changed (0: no such floating IP, not allocated, or associated)
    :raises InvalidIpAddressError: not an address
    """
    key = values_.lookup_address(address)
    if key is None:
        return 0
    return await context.execute(
        "nova.floating_ips.deallocate", address=key, read_deleted=read_deleted(context), now=utcnow()
    )


@require_context
@writer
async def floating_ip_set_auto_assigned(context: Context, address: str) -> None:
    """Mark the floating IP auto-assigned (Grizzly); nothing happens for an unknown address.

    :raises InvalidIpAddressError: not an address
    """
    key = values_.lookup_address(address)
    if key is not None:
        await context.execute(
            "nova.floating_ips.set_auto_assigned", address=key, read_deleted=read_deleted(context), now=utcnow()
        )


# --- creating and deleting -----------------------------------------------------------------


@require_context
@writer
async def floating_ip_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a floating IP: ``{address, pool, interface, project_id, host, auto_assigned, fixed_ip_id}``.

    Runs inside a savepoint: when the address is taken, an enclosing transaction goes on.

    :returns: the floating IP (Newton; Grizzly returned the address)
    :raises FloatingIpExists: a live floating IP has the address; nothing is written
    :raises Invalid: another key, or a value its column cannot hold (an address: InvalidIpAddressError)
    """
    given = values_.values_of(values)
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.floating_ips.create", given)
    except errors.DBDuplicateEntry as exc:
        raise errors.FloatingIpExists(address=given.get("address")) from exc
    return dict(rows[0])


@require_context
@writer(retry=True)
async def floating_ip_bulk_create(
    context: Context, ips: Sequence[Mapping[str, Any]], want_result: bool = True
) -> list[Row] | None:
    """Create floating IPs, all or none, with one statement: each of ``ips`` as ``floating_ip_create`` takes it.

    Runs inside a savepoint: when an address is taken, an enclosing transaction goes on.

    :returns: the new floating IPs, in the order of ``ips``, if ``want_result``; else None
    :raises FloatingIpExists: a live floating IP has one of the addresses, or one is listed
        twice; nothing is written
    :raises Invalid: not a list of dicts with addresses, or a value its column cannot hold
    """
    encoded, addresses = values_.bulk_rows(ips)
    want = check_bool(want_result, "want_result")
    if addresses:
        try:
            async with context.savepoint() as sp:
                await sp.execute("nova.floating_ips.bulk_create", ips=encoded)
        except errors.DBDuplicateEntry as exc:
            taken = await context.fetch("nova.floating_ips.get_live_by_addresses", addresses=addresses)
            raise errors.FloatingIpExists(address=taken[0]["address"] if taken else exc.kwargs.get("value")) from exc
    if not want:
        return None
    if not addresses:
        return []
    return [dict(r) for r in await context.fetch("nova.floating_ips.get_live_by_addresses", addresses=addresses)]


@require_context
@writer(retry=True)
async def floating_ip_bulk_destroy(context: Context, ips: Sequence[Mapping[str, Any]]) -> None:
    """Soft-delete the live floating IPs with the addresses of ``ips`` and give their quota usage back.

    One transaction: each project loses one ``floating_ips`` usage per deleted floating IP of
    it that was not auto-assigned (see the module's docstring).  Unknown addresses are ignored.

    :raises Invalid: not a list of dicts with an ``address`` (InvalidIpAddressError: not an address)
    """
    addresses = values_.addresses_of(ips)
    if not addresses:
        return
    rows = await context.fetch("nova.floating_ips.bulk_destroy_lock", addresses=addresses)
    if not rows:
        return
    now = utcnow()
    await context.execute("nova.floating_ips.bulk_destroy", addresses=addresses, now=now)
    counts = Counter(r["project_id"] for r in rows if r["auto_assigned"] is False and r["project_id"] is not None)
    for project_id in sorted(counts):  # one lock order for every caller
        await context.execute(
            "nova.floating_ips.usage_give_back", project_id=project_id, count=counts[project_id], now=now
        )


@require_context
@writer
async def floating_ip_destroy(context: Context, address: str) -> None:
    """Delete the floating IP's row (a hard delete, as upstream); nothing happens for an unknown address.

    :raises InvalidIpAddressError: not an address
    """
    key = values_.lookup_address(address)
    if key is not None:
        await context.execute("nova.floating_ips.destroy", address=key, read_deleted=read_deleted(context))


# --- association ---------------------------------------------------------------------------


@require_context
@writer(retry=True)
async def floating_ip_fixed_ip_associate(
    context: Context, floating_address: str, fixed_address: str, host: str | None
) -> Row | None:
    """Point the floating IP at the fixed IP with ``fixed_address``, served by ``host``.

    :returns: the fixed IP, with its ``network``; None, changing nothing, when the floating IP
        points at it already
    :raises FixedIpNotFoundForAddress: no fixed IP has the address
    :raises FloatingIpNotFoundForAddress: no floating IP has the address
    :raises FloatingIpAssociateFailed: the floating IP belongs to a project other than the
        caller's, or points at another fixed IP
    :raises Invalid: an address that is not one, a host that is not a string
    """
    floating_key = values_.lookup_address(floating_address)
    fixed_key = values_.lookup_address(fixed_address)
    served_by = values_.text_arg(host, "host", nullable=True)
    rd = read_deleted(context)
    fixed = await _lookup(context, "nova.floating_ips.fixed_ip_by_address", address=fixed_key, read_deleted=rd)
    if fixed is None:
        raise errors.FixedIpNotFoundForAddress(address=fixed_address)
    floating = await _lookup(context, "nova.floating_ips.lock_by_address", address=floating_key, read_deleted=rd)
    if floating is None:
        raise errors.FloatingIpNotFoundForAddress(address=floating_address)
    if floating["fixed_ip_id"] == fixed["id"]:
        return None
    if floating["fixed_ip_id"] is not None or floating["project_id"] != context.project_id:
        raise errors.FloatingIpAssociateFailed(address=floating_address)
    await context.execute(
        "nova.floating_ips.associate", id=floating["id"], fixed_ip_id=fixed["id"], host=served_by, now=utcnow()
    )
    return values_.fixed_ip_with_network(fixed)


@require_context
@writer
async def floating_ip_disassociate(context: Context, address: str) -> Row | None:
    """Point the floating IP at no fixed IP and no host.

    :returns: the fixed IP it pointed at, with its ``network``; None when it pointed at none
        (a second call returns None)
    :raises FloatingIpNotFoundForAddress: no floating IP has the address
    :raises InvalidIpAddressError: not an address
    """
    key = values_.lookup_address(address)
    rd = read_deleted(context)
    floating = await _lookup(context, "nova.floating_ips.lock_by_address", address=key, read_deleted=rd)
    if floating is None:
        raise errors.FloatingIpNotFoundForAddress(address=address)
    fixed = await _lookup(context, "nova.floating_ips.fixed_ip_by_id", id=floating["fixed_ip_id"], read_deleted=rd)
    await context.execute("nova.floating_ips.disassociate", id=floating["id"], now=utcnow())
    return values_.fixed_ip_with_network(fixed)


# --- reading -------------------------------------------------------------------------------


@require_context
@reader
async def floating_ip_get(context: Context, id: int) -> Row:
    """A floating IP by id, with its fixed IP and that one's instance; user contexts see their project's only.

    :raises FloatingIpNotFound: none visible
    :raises InvalidID: the id is not an integer
    """
    key = values_.row_id(id, "id")
    rd = read_deleted(context)
    row = await _lookup(context, "nova.floating_ips.get_by_id", id=key, read_deleted=rd, **project_only(context))
    if row is None:
        raise errors.FloatingIpNotFound(id=id)
    return (await _joined(context, [row], True))[0]


@require_context
@reader
async def floating_ip_get_by_address(context: Context, address: str) -> Row:
    """The floating IP with an address, with its fixed IP and that one's instance.

    :raises FloatingIpNotFoundForAddress: none visible (also for None or ``''``)
    :raises NotAuthorized: a user context asking for another project's floating IP
    :raises InvalidIpAddressError: not an address (an ``Invalid``)
    """
    return (await _joined(context, [await _by_address(context, address)], True))[0]


@reader
async def floating_ip_get_all(context: Context) -> list[Row]:
    """Every live floating IP, with its fixed IP.

    :raises NoFloatingIpsDefined: there are none
    """
    rows = await context.fetch("nova.floating_ips.get_all")
    if not rows:
        raise errors.NoFloatingIpsDefined()
    return await _joined(context, rows, False)


@reader
async def floating_ip_get_all_by_host(context: Context, host: str) -> list[Row]:
    """A host's live floating IPs, with their fixed IPs.

    :raises FloatingIpNotFoundForHost: the host has none
    :raises Invalid: the host is not a string
    """
    key = lookup_text(host, "host")
    rows = [] if key is None else await context.fetch("nova.floating_ips.get_all_by_host", host=key)
    if not rows:
        raise errors.FloatingIpNotFoundForHost(host=host)
    return await _joined(context, rows, False)


@require_context
@reader
async def floating_ip_get_all_by_project(context: Context, project_id: str) -> list[Row]:
    """A project's live floating IPs that were not auto-assigned, with their fixed IPs and instances.

    :raises NotAuthorized: a user context asking about another project
    :raises Invalid: the project id is not a string
    """
    authorize_project_context(context, project_id)
    key = lookup_text(project_id, "project_id")
    if key is None:
        return []
    return await _joined(context, await context.fetch("nova.floating_ips.get_all_by_project", project_id=key), True)


@require_context
@reader
async def floating_ip_get_by_fixed_address(context: Context, fixed_address: str) -> list[Row]:
    """The floating IPs pointing at the fixed IP(s) with an address (no joins).

    :raises InvalidIpAddressError: not an address
    """
    key = values_.lookup_address(fixed_address)
    if key is None:
        return []
    rows = await context.fetch(
        "nova.floating_ips.get_by_fixed_address", fixed_address=key, read_deleted=read_deleted(context)
    )
    return [dict(r) for r in rows]


@require_context
@reader
async def floating_ip_get_by_fixed_ip_id(context: Context, fixed_ip_id: int) -> list[Row]:
    """The floating IPs pointing at a fixed IP (no joins).

    :raises InvalidID: the id is not an integer
    """
    key = values_.row_id(fixed_ip_id, "fixed_ip_id")
    if key is None:
        return []
    rows = await context.fetch(
        "nova.floating_ips.get_by_fixed_ip_id", fixed_ip_id=key, read_deleted=read_deleted(context)
    )
    return [dict(r) for r in rows]


@require_context
@reader
async def floating_ip_get_pools(context: Context) -> list[dict[str, str | None]]:
    """The floating IPs' pools, ``[{'name': pool}]``, each once, by name (a NULL pool last)."""
    rows = await context.fetch("nova.floating_ips.pools", read_deleted=read_deleted(context))
    names = sorted((r["pool"] for r in rows), key=lambda name: (name is None, name or ""))
    return [{"name": name} for name in names]


@require_context
@reader
async def floating_ip_count_by_project(context: Context, project_id: str) -> int:
    """The number of the project's live floating IPs that were not auto-assigned (Grizzly).

    :raises NotAuthorized: a user context asking about another project
    :raises Invalid: the project id is not a string
    """
    authorize_project_context(context, project_id)
    key = lookup_text(project_id, "project_id")
    if key is None:
        return 0
    return int(await context.fetchval("nova.floating_ips.count_by_project", project_id=key))


@require_context
@writer
async def floating_ip_update(context: Context, address: str, values: Mapping[str, Any]) -> Row:
    """Change a floating IP's columns; ``updated_at`` becomes now unless given.

    :returns: the floating IP, with its fixed IP and that one's instance
    :raises FloatingIpNotFoundForAddress: none visible
    :raises NotAuthorized: a user context changing another project's floating IP
    :raises FloatingIpExists: the new address is a live floating IP's; nothing changed, and an
        enclosing transaction goes on
    :raises Invalid: a bad address, key or value; nothing is written
    """
    given = values_.values_of(values)
    row = await _by_address(context, address)
    if given:
        try:
            async with context.savepoint() as sp:
                await sp.execute("nova.floating_ips.update", id=row["id"], **values_.update_params(given))
        except errors.DBDuplicateEntry as exc:
            raise errors.FloatingIpExists(address=given.get("address")) from exc
        changed = await context.fetchrow(
            "nova.floating_ips.get_by_id", id=row["id"], read_deleted="yes", **project_only(context, False)
        )
        assert changed is not None
        row = changed
    return (await _joined(context, [row], True))[0]


# --- instances -----------------------------------------------------------------------------


@require_context
@reader
async def instance_get_floating_address(context: Context, instance_id: int) -> str | None:
    """The address of the first floating IP of the instance's first fixed IP (Grizzly).

    :returns: the address, or None when the instance has no fixed IP or it no floating IP
    :raises InstanceNotFound: the caller sees no instance with this integer id
    :raises InvalidID: the id is not an integer
    """
    key = values_.row_id(instance_id, "instance_id")
    rd = read_deleted(context)
    statement = "nova.floating_ips.instance_floating_address"
    row = await _lookup(context, statement, instance_id=key, read_deleted=rd, **project_only(context))
    if row is None:
        raise errors.InstanceNotFound(instance_id=instance_id)
    return None if row["address"] is None else str(row["address"])


@require_context
@reader
async def instance_floating_address_get_all(context: Context, instance_uuid: str) -> list[str]:
    """The addresses of the floating IPs of the instance's live fixed IPs (Newton; [] for none).

    :raises InvalidUUID: the uuid is not one
    """
    uuid = check_uuid(instance_uuid)
    rows = await context.fetch(
        "nova.floating_ips.instance_floating_addresses", instance_uuid=uuid, read_deleted=read_deleted(context)
    )
    return [str(r["address"]) for r in rows]
