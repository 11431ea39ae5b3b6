"""Fixed IPs (nova/db/sqlalchemy/api.py at 14.0.0; Grizzly's extras kept; spec A.3, D.5).

A fixed IP is *associated* when ``instance_uuid`` is set, *allocated* when its virtual
interface is, *leased* when DHCP saw it.  Rows are dicts of the ``fixed_ips`` columns; the
functions that upstream joins relationships for add ``network``, ``instance``,
``virtual_interface`` and ``floating_ips`` (see ``rawdb.nova._fixed_ip_joins``).  Addresses
are stored and returned as the text PostgreSQL's INET prints (``10.0.0.5``, IPv6 shortened:
``2001:db8::5``) on every backend; an address that is none is ``FixedIpInvalid`` (an
Invalid) and nothing is written.

Allocation (spec D.5) never hands one address to two callers and needs no retries:

- ``fixed_ip_associate_pool`` claims the oldest free address (never-updated ones first, then
  ``updated_at``, then id).  PostgreSQL: one ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE
  SKIP LOCKED LIMIT 1) RETURNING``; SQLite: the same without a lock clause, under its single
  writer; MariaDB: the oldest free rows by a plain read of the free-row index (schema 0005),
  locked by id with ``FOR UPDATE SKIP LOCKED`` and checked again in the same statement
  (``pool_pick``), then an UPDATE of them; a claim left without a row there (another claimer
  held or took it) gets one from a locking read of the index in order (``pool_take``).
  ``NoMoreFixedIps`` when no free address is left (or every one left is being claimed by
  another caller at that moment, as SKIP LOCKED sees it).
- Callers of ``fixed_ip_associate_pool`` through one Database that arrive while a claim of the
  network runs share the next transaction (``rawdb.batches``): PostgreSQL claims for all of them
  in one statement, MariaDB and SQLite pick the rows in one statement and set them in another,
  and one COMMIT makes them all durable.  Each caller gets its own row or error.
- ``fixed_ip_associate`` locks the address's row (waiting for a concurrent claimer) and sets
  the instance only if none has it: one caller wins, the others get ``FixedIpAlreadyInUse``.

Where rawdb follows Newton over Grizzly: claims return the row (not the address), set
``allocated`` and the interface, and need no admin context; ``fixed_ip_create`` returns the
row and raises ``FixedIpExists``; ``fixed_ip_disassociate`` also clears the interface.
Grizzly's ``fixed_ip_get_by_address_detailed`` (admin) and ``fixed_ip_count_by_project`` (nova
bug 1171161 fixed: it counts the project's instances' fixed IPs) are kept.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.batches import together
from rawdb.checks import check_bool, check_datetime, lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import (
    authorize_project_context,
    insert_values,
    is_user_context,
    read_deleted,
    require_admin_context,
    require_context,
)
from rawdb.decorators import reader, retry_on_deadlock, writer
from rawdb.nova._fixed_ip_rows import (
    address_text,
    age,
    attach,
    bulk_rows,
    claim_many,
    claim_params,
    claimed,
    column_id,
    fixed_address,
    fixed_values,
    host_value,
    instances_by_uuid,
    joins,
    json_row,
    networks_by_id,
)
from rawdb.nova._instance_list import check_uuid
from rawdb.timeutils import utcnow

Row = dict[str, Any]

COLUMNS = frozenset(
    ("address", "network_id", "allocated", "leased", "reserved", "virtual_interface_id", "host", "instance_uuid")
)
CREATABLE = COLUMNS | {"created_at", "updated_at"}
UPDATABLE = COLUMNS | {"created_at"}
NAME_LENGTH, UUID_LENGTH = 255, 36


# --- shared steps --------------------------------------------------------------------------


async def _authorize(context: Context, row: Mapping[str, Any]) -> None:
    """A user context sees a fixed IP of an instance only if the instance is its project's.

    :raises InstanceNotFound: the fixed IP names an instance that does not exist
    :raises NotAuthorized: the instance is another project's
    """
    uuid = row["instance_uuid"]
    if is_user_context(context) and uuid is not None:
        instance = await context.fetchrow("nova.fixed_ips.instance_project", uuid=uuid)
        if instance is None:
            raise errors.InstanceNotFound(instance_id=uuid)
        authorize_project_context(context, instance["project_id"])


async def _get_by_address(context: Context, address: Any) -> Row:
    """The fixed IP with ``address`` as ``context.read_deleted`` allows, authorized.

    :raises FixedIpNotFoundForAddress: none
    :raises FixedIpInvalid: not an address
    """
    row = await context.fetchrow(
        "nova.fixed_ips.fixed_ip_get_by_address", address=fixed_address(address), read_deleted=read_deleted(context)
    )
    if row is None:
        raise errors.FixedIpNotFoundForAddress(address=address)
    await _authorize(context, row)
    return dict(row)


# What claim_many sets for each claim (its JSON has no times: one :now for all).
_CLAIM_SETS = (
    "allocated",
    "set_instance_uuid",
    "instance_uuid",
    "set_host",
    "host",
    "set_virtual_interface_id",
    "virtual_interface_id",
)


async def _mysql_pool_claims(context: Context, claims: list[dict[str, Any]]) -> list[Row | None]:
    """Claims of one network's pool on MySQL: the oldest free rows found by a plain read and
    locked by id (pool_pick, put in age order here), then set; the claims another claimer left
    without a row (it held or took one of them first) go to the locking walk of the index
    (pool_take).

    :returns: the claimed rows in order; None for each claim left over when every free address
        is taken or held by another claimer
    """
    now = utcnow()
    claims = [{**params, "now": now} for params in claims]
    network_id = claims[0]["network_id"]
    rows = sorted(await context.fetch("nova.fixed_ips.pool_pick", network_id=network_id, count=len(claims)), key=age)
    results = await _set_claimed(context, rows, claims)
    if len(results) < len(claims):
        rows = await context.fetch("nova.fixed_ips.pool_take", network_id=network_id, count=len(claims) - len(results))
        results += await _set_claimed(context, rows, claims[len(results) :])
    return results + [None] * (len(claims) - len(results))


async def _sqlite_pool_claims(context: Context, claims: list[dict[str, Any]]) -> list[Row | None]:
    """Several claims of one network's pool on SQLite (under its one writer): the oldest free
    rows in one statement, then all of them set in another.

    :returns: the claimed rows in order; None for each claim left over when no address is free
    """
    now = utcnow()
    claims = [{**params, "now": now} for params in claims]
    rows = await context.fetch("nova.fixed_ips.pool_take", network_id=claims[0]["network_id"], count=len(claims))
    results = await _set_claimed(context, rows, claims)
    return results + [None] * (len(claims) - len(results))


async def _set_claimed(context: Context, rows: Sequence[Row], claims: list[dict[str, Any]]) -> list[Row | None]:
    """Set the claims (one :now) on the free rows taken for them, in order (a claim each, as far
    as the rows go); the rows as set."""
    if len(rows) == 1:
        await context.execute("nova.fixed_ips.claim", id=rows[0]["id"], **claims[0])
    elif rows and context.dialect == "mysql":
        statement, params = claim_many(rows, claims)
        await context.execute(statement, **params)
    elif rows:
        sets = [
            {"id": row["id"], **{key: params[key] for key in _CLAIM_SETS}}
            for row, params in zip(rows, claims, strict=False)
        ]
        now, network_id = claims[0]["now"], claims[0]["network_id"]
        await context.execute("nova.fixed_ips.claim_many", claims=json.dumps(sets), network_id=network_id, now=now)
    return [claimed(row, params) for row, params in zip(rows, claims, strict=False)]


async def _pg_pool_claims_many(context: Context, claims: list[dict[str, Any]]) -> list[Row | None]:
    """Several claims of one network's pool as PostgreSQL's one statement (pool_claim_many).

    :returns: the claimed rows in order; None for each claim left over
    """
    sets = [{key: params[key] for key in _CLAIM_SETS} for params in claims]
    rows = await context.fetch(
        "nova.fixed_ips.pool_claim_many",
        network_id=claims[0]["network_id"],
        count=len(claims),
        claims=json.dumps(sets),
        now=utcnow(),
    )
    results: list[Row | None] = [None] * len(claims)
    for row in rows:
        results[row.pop("n") - 1] = row
    return results


# --- allocation ----------------------------------------------------------------------------


async def fixed_ip_associate(
    context: Context,
    address: str,
    instance_uuid: str,
    network_id: int | None = None,
    reserved: bool = False,
    virtual_interface_id: int | None = None,
) -> Row:
    """Associate a free fixed IP of the network (or of no network yet) with an instance.

    The row is locked while it is claimed; of concurrent callers for one address, one wins.
    A writer scope (its own, or the caller's); on PostgreSQL without a caller's scope, the one
    statement alone (no BEGIN/COMMIT).

    :param reserved: the kind of address to take (reserved or not; exact match)
    :returns: the fixed IP as changed: ``instance_uuid`` set, ``network_id`` set if it was NULL,
        ``allocated`` = an interface was given, ``virtual_interface_id`` set if given
    :raises InvalidUUID: ``instance_uuid`` is not a uuid
    :raises FixedIpInvalid: ``address`` is not an IP address
    :raises FixedIpNotFoundForNetwork: no live fixed IP with the address in the network (or in
        none) of the ``reserved`` kind (kwargs ``address``, ``network_uuid``: the network id)
    :raises FixedIpAlreadyInUse: an instance has it (kwargs ``address``, ``instance_uuid``: the
        one asking)
    :raises DBReferenceError: no instance has this uuid
    :raises Invalid: a bad id or ``reserved``
    """
    check_uuid(instance_uuid)
    params = claim_params(column_id(network_id, "network_id"), instance_uuid, None, virtual_interface_id)
    key = {
        "address": fixed_address(address),
        "network_id": params.pop("network_id"),
        "reserved": check_bool(reserved, "reserved"),
    }
    del params["set_instance_uuid"], params["set_host"], params["host"]
    if context.transaction is None and context.dialect == "postgresql":
        row = await _alone(context, _associate, params, key)
    else:
        row = await _associate(context, params, key)
    if row is not None:
        return row
    raise errors.FixedIpAlreadyInUse(address=address, instance_uuid=instance_uuid)


@writer(retry=True)
async def _associate(context: Context, params: Mapping[str, Any], key: Mapping[str, Any]) -> Row | None:
    """The association: the row, or None when an instance has it.

    :raises FixedIpNotFoundForNetwork: no such free address
    """
    if context.dialect == "mysql":
        if await context.execute("nova.fixed_ips.associate", **params, **key):
            row = await context.fetchrow("nova.fixed_ips.associate_target", **key)
            if row is not None:
                return dict(row)
    else:
        row = await context.fetchrow("nova.fixed_ips.associate", **params, **key)
        if row is not None:
            return dict(row)
    if await context.fetchrow("nova.fixed_ips.associate_target", **key) is None:
        raise errors.FixedIpNotFoundForNetwork(address=key["address"], network_uuid=key["network_id"])
    return None


async def fixed_ip_associate_pool(
    context: Context,
    network_id: int | None,
    instance_uuid: str | None = None,
    host: str | None = None,
    virtual_interface_id: int | None = None,
) -> Row:
    """Claim the oldest free fixed IP of the network (or of no network yet).

    Free: live, not reserved, not leased, no instance, no host.  Never the same address to two
    callers; concurrent callers do not wait for each other.  A writer scope (its own, or the
    caller's); on PostgreSQL without a caller's scope, the one statement alone (no BEGIN/COMMIT).

    :returns: the fixed IP as changed: ``network_id`` set if it was NULL, ``allocated`` = an
        interface was given, ``instance_uuid``, ``host``, ``virtual_interface_id`` set if given
    :raises NoMoreFixedIps: no free address (kwarg ``net``)
    :raises InvalidUUID: ``instance_uuid`` is given and not a uuid
    :raises DBReferenceError: no instance has this uuid
    :raises Invalid: a bad id or host
    """
    if instance_uuid:
        check_uuid(instance_uuid)
    params = claim_params(column_id(network_id, "network_id"), instance_uuid, host_value(host), virtual_interface_id)
    key = ("nova.fixed_ips.pool_claim", params["network_id"])
    row = await together(context, key, _pool_claims, params, autocommit=context.dialect == "postgresql")
    if row is None:
        raise errors.NoMoreFixedIps(net=network_id)
    return row


async def _pool_claims(context: Context, claims: list[dict[str, Any]]) -> list[Row | None]:
    """Claims of one network's pool in a writer scope, in order: each the row, or None when no
    address is free for it."""
    if context.dialect == "mysql":
        return await _mysql_pool_claims(context, claims)
    if len(claims) > 1:
        if context.dialect == "postgresql":
            return await _pg_pool_claims_many(context, claims)
        return await _sqlite_pool_claims(context, claims)
    found = await context.fetchrow("nova.fixed_ips.pool_claim", **claims[0])
    return [None if found is None else dict(found)]


Claim = Callable[[Context, Mapping[str, Any], Mapping[str, Any]], Awaitable[Row | None]]


@retry_on_deadlock
async def _alone(context: Context, claim: Claim, params: Mapping[str, Any], key: Mapping[str, Any]) -> Row | None:
    """PostgreSQL, no caller's scope: the claim's one statement is atomic alone, so no BEGIN/COMMIT."""
    async with context.writer(autocommit=True) as tx:
        return await claim(tx, params, key)


# --- writers -------------------------------------------------------------------------------


@require_context
@writer(retry=True)
async def fixed_ip_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a fixed IP.

    :param values: ``address``, ``network_id``, ``allocated``, ``leased``, ``reserved`` (the three
        default to false), ``virtual_interface_id``, ``host``, ``instance_uuid``, ``created_at``,
        ``updated_at``
    :returns: the fixed IP
    :raises FixedIpExists: a live fixed IP has the address; nothing is written, an enclosing
        transaction goes on
    :raises FixedIpInvalid: the address is no IP address
    :raises DBReferenceError: no instance has this ``instance_uuid``
    :raises Invalid: another key, or a value its column cannot hold; nothing is written
    """
    given = fixed_values(values, CREATABLE)
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.fixed_ips.fixed_ip_create", given)
            if sp.dialect == "mysql":
                rows = await sp.fetch("nova.fixed_ips.fixed_ip_read_back", id=None)
    except errors.DBDuplicateEntry as exc:
        raise errors.FixedIpExists(address=given.get("address")) from exc
    return dict(rows[0])


@require_context
@writer
async def fixed_ip_bulk_create(context: Context, ips: Sequence[Mapping[str, Any]]) -> None:
    """Create many fixed IPs in one statement: all or none.

    :param ips: a list of ``values`` dicts as ``fixed_ip_create`` takes
    :raises FixedIpExists: an address is given twice, or a live fixed IP has it (kwarg
        ``address``: the first such); nothing is written, an enclosing transaction goes on
    :raises FixedIpInvalid: an address is no IP address
    :raises DBReferenceError: no instance has an ``instance_uuid`` given
    :raises Invalid: not a list of dicts, another key, or a value its column cannot hold
    """
    rows = bulk_rows(ips, CREATABLE)
    seen = {row["address"] for row in rows if row.get("address") is not None}
    if not rows:
        return
    try:
        async with context.savepoint() as sp:
            await sp.execute("nova.fixed_ips.fixed_ip_bulk_create", ips=json.dumps([json_row(r) for r in rows]))
    except errors.DBDuplicateEntry as exc:
        found = await context.fetchrow("nova.fixed_ips.first_existing_address", addresses=sorted(seen))
        raise errors.FixedIpExists(address=found["address"] if found else exc.kwargs.get("value")) from exc


@require_context
@writer
async def fixed_ip_disassociate(context: Context, address: str) -> None:
    """Take the instance and the virtual interface off a fixed IP (network, allocated: untouched).

    :raises FixedIpNotFoundForAddress: no such fixed IP (as ``context.read_deleted`` allows)
    :raises FixedIpInvalid: ``address`` is no IP address
    :raises NotAuthorized: a user context, and the fixed IP is another project's instance's
    """
    row = await _get_by_address(context, address)
    await context.execute("nova.fixed_ips.disassociate", id=row["id"], now=utcnow())


@writer
async def fixed_ip_disassociate_all_by_timeout(context: Context, host: str, time: datetime) -> int:
    """Release the unallocated fixed IPs of ``host`` not updated since ``time``.

    The host's: those of its instances on multi-host networks, and every one of the networks it
    hosts.  Released: no instance, not leased (updated_at now).

    :returns: how many were released
    :raises Invalid: ``host`` is not a string, ``time`` not a datetime
    """
    name = lookup_text(host, "host", NAME_LENGTH)
    before = check_datetime(time, "time")
    if name is None:
        return 0
    return await context.execute(
        "nova.fixed_ips.disassociate_all_by_timeout",
        host=name,
        time=before,
        now=utcnow(),
        read_deleted=read_deleted(context),
    )


@require_context
@writer
async def fixed_ip_update(context: Context, address: str, values: Mapping[str, Any]) -> None:
    """Change the columns ``values`` gives of the fixed IP with ``address`` (updated_at: now unless given).

    :raises FixedIpNotFoundForAddress: no such fixed IP (as ``context.read_deleted`` allows)
    :raises FixedIpExists: the new address is a live fixed IP's; nothing changes
    :raises FixedIpInvalid: ``address`` or the new address is no IP address
    :raises NotAuthorized: a user context, and the fixed IP is another project's instance's
    :raises Invalid: another key, or a value its column cannot hold
    """
    given = fixed_values(values, UPDATABLE | {"updated_at"})
    row = await _get_by_address(context, address)
    params: dict[str, Any] = {"id": row["id"], "updated_at": given.get("updated_at") or utcnow()}
    for column in UPDATABLE:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    try:
        async with context.savepoint() as sp:
            await sp.execute("nova.fixed_ips.fixed_ip_update", **params)
    except errors.DBDuplicateEntry as exc:
        raise errors.FixedIpExists(address=given.get("address")) from exc


# --- readers -------------------------------------------------------------------------------


@require_context
@reader
async def fixed_ip_get(context: Context, id: int, get_network: bool = False) -> Row:
    """A fixed IP by id, as ``context.read_deleted`` allows; with its ``network`` when ``get_network``.

    :raises FixedIpNotFound: none (kwarg ``id``)
    :raises NotAuthorized: a user context, and the fixed IP is another project's instance's
    :raises Invalid: ``id`` is not an integer
    """
    key = lookup_id(id, "id")
    row = None
    if key is not None:
        row = await context.fetchrow("nova.fixed_ips.fixed_ip_get", id=key, read_deleted=read_deleted(context))
    if row is None:
        raise errors.FixedIpNotFound(id=id)
    await _authorize(context, row)
    return (await attach(context, [row], ["network"] if check_bool(get_network, "get_network") else []))[0]


@reader
async def fixed_ip_get_all(context: Context) -> list[Row]:
    """Every fixed IP, deleted or not, in id order.

    :raises NoFixedIpsDefined: there is none
    """
    rows = await context.fetch("nova.fixed_ips.fixed_ip_get_all")
    if not rows:
        raise errors.NoFixedIpsDefined()
    return [dict(row) for row in rows]


@require_context
@reader
async def fixed_ip_get_by_address(context: Context, address: str, columns_to_join: Sequence[str] | None = None) -> Row:
    """The fixed IP with an address, as ``context.read_deleted`` allows.

    :param columns_to_join: relationships to add: ``network``, ``instance``,
        ``virtual_interface``, ``floating_ips``
    :raises FixedIpNotFoundForAddress: none
    :raises FixedIpInvalid: ``address`` is no IP address
    :raises NotAuthorized: a user context, and the fixed IP is another project's instance's
    :raises Invalid: ``columns_to_join`` names another relationship
    """
    names = joins(columns_to_join)
    return (await attach(context, [await _get_by_address(context, address)], names))[0]


@require_admin_context
@reader
async def fixed_ip_get_by_address_detailed(context: Context, address: str) -> tuple[Row, Row | None, Row | None]:
    """(Grizzly) The fixed IP with an address, its network and its instance (either: any state, or None).

    :raises FixedIpNotFoundForAddress: none (as ``context.read_deleted`` allows)
    :raises FixedIpInvalid: ``address`` is no IP address
    :raises AdminRequired: not an admin context
    """
    row = await context.fetchrow(
        "nova.fixed_ips.fixed_ip_get_by_address", address=fixed_address(address), read_deleted=read_deleted(context)
    )
    if row is None:
        raise errors.FixedIpNotFoundForAddress(address=address)
    fixed_ip = dict(row)
    net_id, uuid = fixed_ip["network_id"], fixed_ip["instance_uuid"]
    networks = await networks_by_id(context, [] if net_id is None else [net_id], live=False)
    instances = await instances_by_uuid(context, [uuid] if uuid else [], live=False)
    return fixed_ip, networks.get(net_id), instances.get(uuid)


@require_context
@reader
async def fixed_ip_get_by_floating_address(context: Context, floating_address: str) -> Row | None:
    """The fixed IP a floating address points at, as ``context.read_deleted`` allows, or None.

    :raises InvalidIpAddressError: ``floating_address`` is no IP address
    """
    try:
        floating = address_text(floating_address)
    except ValueError:
        raise errors.InvalidIpAddressError(address=floating_address) from None
    row = await context.fetchrow(
        "nova.fixed_ips.fixed_ip_get_by_floating_address",
        floating_address=floating,
        read_deleted=read_deleted(context),
    )
    return None if row is None else dict(row)


@require_context
@reader
async def fixed_ip_get_by_instance(context: Context, instance_uuid: str) -> list[Row]:
    """An instance's live fixed IPs, with ``network``, ``floating_ips`` and ``virtual_interface``.

    In the order of their interfaces (created_at, id; those without one last), then by id.

    :raises InvalidUUID: ``instance_uuid`` is not a uuid
    :raises FixedIpNotFoundForInstance: the instance has none
    """
    check_uuid(instance_uuid)
    rows = await context.fetch("nova.fixed_ips.fixed_ip_get_by_instance", instance_uuid=instance_uuid)
    if not rows:
        raise errors.FixedIpNotFoundForInstance(instance_uuid=instance_uuid)
    return await attach(context, rows, ["network", "floating_ips", "virtual_interface"])


@reader
async def fixed_ip_get_by_host(context: Context, host: str) -> list[Row]:
    """The fixed IPs (as ``context.read_deleted`` allows) of the live instances on a host, in id order.

    :raises Invalid: ``host`` is not a string
    """
    name = lookup_text(host, "host", NAME_LENGTH)
    if name is None:
        return []
    rows = await context.fetch("nova.fixed_ips.fixed_ip_get_by_host", host=name, read_deleted=read_deleted(context))
    return [dict(row) for row in rows]


@require_context
@reader
async def fixed_ip_get_by_network_host(context: Context, network_uuid: int, host: str) -> Row:
    """The live fixed IP of a host in a network (upstream's ``network_uuid`` is the network's id).

    :raises FixedIpNotFoundForNetworkHost: none (kwargs ``network_id``, ``host``)
    :raises Invalid: ``network_uuid`` is not an integer, ``host`` not a string
    """
    key, name = lookup_id(network_uuid, "network_uuid"), lookup_text(host, "host", NAME_LENGTH)
    row = None
    if key is not None and name is not None:
        row = await context.fetchrow("nova.fixed_ips.fixed_ip_get_by_network_host", network_id=key, host=name)
    if row is None:
        raise errors.FixedIpNotFoundForNetworkHost(network_id=network_uuid, host=host)
    return dict(row)


@require_context
@reader
async def fixed_ips_by_virtual_interface(context: Context, vif_id: int) -> list[Row]:
    """A virtual interface's live fixed IPs in id order, with ``network`` and ``floating_ips``.

    :raises Invalid: ``vif_id`` is not an integer
    """
    key = lookup_id(vif_id, "vif_id")
    if key is None:
        return []
    rows = await context.fetch("nova.fixed_ips.fixed_ips_by_virtual_interface", vif_id=key)
    return await attach(context, rows, ["network", "floating_ips"])


@require_context
@reader
async def fixed_ip_count_by_project(context: Context, project_id: str) -> int:
    """(Grizzly) How many live fixed IPs the project's instances hold.

    :raises NotAuthorized: a user context asking about another project
    :raises Invalid: ``project_id`` is not a string
    """
    authorize_project_context(context, project_id)
    key = lookup_text(project_id, "project_id", NAME_LENGTH)
    if key is None:
        return 0
    return int(await context.fetchval("nova.fixed_ips.fixed_ip_count_by_project", project_id=key))
