"""nova-network's networks (``nova/db/sqlalchemy/api.py`` at 14.0.0, spec A.3 "Networks", D.6), async,
with 2013.1's ``network_get_all_by_instance`` (fixed: spec F.3).

A network is a dict of every column of ``networks``: ``id, label, injected, cidr, cidr_v6, multi_host,
gateway_v6, netmask_v6, netmask, bridge, bridge_interface, gateway, broadcast, dns1, dns2, vlan,
vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start, rxtx_base, priority, project_id,
host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at, updated_at, deleted_at, deleted``.
Addresses are text, the same on every backend (see ``_network_values``); a value that is no address is
``Invalid`` and nothing is written.  As in Newton, only ``network_get``, ``network_get_all``,
``network_get_all_by_uuids``, ``network_update`` and ``project_get_networks`` check the caller (an admin or
a user context); Grizzly's ``network_get_all_by_instance`` keeps its admin check.  Lists come oldest first.

Where rawdb departs from upstream:

- ``network_associate`` is race-free on every backend (spec D.6): concurrent calls queue on the locks of
  the free networks, and a project's check for a network of its own runs after a rival claim committed, so
  concurrent builds never give a fresh project two networks (nova on SQLite had the race).
- ``network_set_host`` is one conditional UPDATE (Newton retried a compare-and-swap); it returns None as
  Newton does.
- ``network_delete_safe`` re-checks, under the locks its soft delete takes, that no fixed IP became
  allocated meanwhile (``NetworkInUse``, nothing written; an enclosing transaction goes on).
- ``network_get_all_by_host`` reaches instances through the fixed IP (Newton) and through its virtual
  interface (Grizzly).
- ``network_get_all_by_instance`` finds the networks an instance (uuid, or integer id) has a live fixed IP
  or virtual interface in (Grizzly filtered on a column networks does not have).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import (
    coerce_values,
    insert_values,
    read_deleted,
    require_admin_context,
    require_context,
)
from rawdb.conventions import project_only as project_only_params
from rawdb.decorators import reader, writer
from rawdb.nova._network_values import (
    SETTABLE,
    UUID_LENGTH,
    lookup,
    network_text,
    network_values,
    row_id,
    storable,
)
from rawdb.timeutils import utcnow

Row = dict[str, Any]


async def _returning(context: Context, statement: str, params: dict[str, Any]) -> Row | None:
    """Run an UPDATE of the network ``:id`` and return the row, or None when it changed none.

    MySQL has no UPDATE ... RETURNING: there the row is read back in the same transaction.
    """
    if context.dialect != "mysql":
        row = await context.fetchrow(statement, **params)
        return None if row is None else dict(row)
    if await context.execute(statement, **params) == 0:
        return None
    row = await context.fetchrow("nova.networks.network_read_back", id=params["id"])
    return None if row is None else dict(row)


async def _network_get(context: Context, network_id: Any, mode: Any = "allow_none") -> Row:
    key = row_id(network_id, "network_id")
    params = project_only_params(context, mode)
    row = None
    if key is not None:
        row = await context.fetchrow(
            "nova.networks.network_get", network_id=key, read_deleted=read_deleted(context), **params
        )
    if row is None:
        raise errors.NetworkNotFound(network_id=network_id)
    return dict(row)


# --- project association ------------------------------------------------------------------


@writer(retry=True)
async def network_associate(
    context: Context, project_id: str, network_id: int | None = None, force: bool = False
) -> Row:
    """Give a project a free live network, unless (without ``force``) it has one already.

    Without ``force`` a project with a live network gets its (oldest) network back unchanged: automated
    callers rely on it, and concurrent calls for a fresh project give it exactly one network.  With
    ``force`` (an admin's explicit request) it gets another one.

    :param network_id: claim this network (it must be live and free), else the oldest free one
    :returns: the project's network
    :raises NoMoreNetworks: no free live network (or ``network_id`` names none)
    :raises Invalid: ``project_id`` is not a string a network can hold, ``network_id`` no integer
    """
    project = storable(project_id, "project_id")
    wanted = None if network_id is None else row_id(network_id, "network_id")
    if not force:
        own = await context.fetch("nova.networks.networks_of_project", project_id=project)
        if own:
            return dict(own[0])
    free = [row["id"] for row in await context.fetch("nova.networks.networks_lock_free")]
    if not force:
        # A rival that claimed a network for the project held these locks until it committed.
        own = await context.fetch("nova.networks.networks_of_project", project_id=project)
        if own:
            return dict(own[0])
    if network_id is None:
        target = free[0] if free else None
    else:
        target = wanted if wanted in free else None
    if target is None:
        raise errors.NoMoreNetworks()
    row = await _returning(
        context, "nova.networks.network_claim", {"id": target, "project_id": project, "now": utcnow()}
    )
    if row is None:  # cannot happen: the row is locked (SQLite: the writer excludes every other)
        raise errors.NoMoreNetworks()
    return row


@require_context
@writer(retry=True)
async def project_get_networks(context: Context, project_id: str, associate: bool = True) -> list[Row]:
    """A project's live networks; with none and ``associate``, the one ``network_associate`` gives it.

    :returns: the networks, oldest first (``[]`` when it has none and ``associate`` is false)
    :raises NoMoreNetworks: ``associate`` and no free network left
    :raises NotAuthorized: neither an admin nor a user context
    :raises Invalid: ``project_id`` is not a string a network can hold
    """
    project = storable(project_id, "project_id")
    rows = await context.fetch("nova.networks.networks_of_project", project_id=project)
    if rows:
        return [dict(row) for row in rows]
    if not associate:
        return []
    return [await network_associate(context, project)]


@writer
async def network_disassociate(
    context: Context, network_id: int, disassociate_host: bool = True, disassociate_project: bool = True
) -> None:
    """Take a network's project and/or host away (``network_update`` with them None).

    :raises NetworkNotFound: no network with this id visible to the context
    :raises NotAuthorized: neither an admin nor a user context
    :raises Invalid: the id is not an integer
    """
    changes: dict[str, Any] = {}
    if disassociate_project:
        changes["project_id"] = None
    if disassociate_host:
        changes["host"] = None
    await network_update(context, network_id, changes)


# --- create, update, delete -------------------------------------------------------------------


@writer
async def network_create_safe(context: Context, values: dict[str, Any]) -> Row:
    """Create a network; its ``uuid`` is a new one unless ``values`` give one.

    :param values: any column but ``id``, ``deleted`` and ``deleted_at``
    :returns: the network
    :raises DuplicateVlan: a live network uses the vlan; nothing is written, an enclosing transaction goes on
    :raises Invalid: another key with a value, a value its column cannot hold (an address that is none);
        nothing is written
    """
    given = network_values(values)
    if given.get("uuid") is None:
        given["uuid"] = str(uuidlib.uuid4())
    given = coerce_values("nova", "networks", given, frozenset((*SETTABLE, "updated_at")))
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.networks.network_create", given)
            if sp.dialect == "mysql":
                rows = await sp.fetch("nova.networks.network_read_back", id=None)
    except errors.DBDuplicateEntry as exc:
        raise errors.DuplicateVlan(vlan=given.get("vlan")) from exc
    return dict(rows[0])


@require_context
@writer
async def network_update(context: Context, network_id: int, values: dict[str, Any]) -> Row:
    """Change the given columns of a network visible to the context (``project_only='allow_none'``).

    ``updated_at`` becomes now unless given; with nothing to change the network is returned as it is.

    :returns: the network as it is now
    :raises NetworkNotFound: no network with this id visible to the context (deleted ones as
        ``context.read_deleted`` says)
    :raises DuplicateVlan: a live network uses the new vlan; nothing changed, an enclosing transaction goes on
    :raises NotAuthorized: neither an admin nor a user context
    :raises Invalid: the id is not an integer; another key with a value, a value its column cannot hold;
        nothing is written
    """
    given = coerce_values("nova", "networks", network_values(values), frozenset((*SETTABLE, "updated_at")))
    if not given:
        return await _network_get(context, network_id)
    key = row_id(network_id, "network_id")
    if key is None:
        raise errors.NetworkNotFound(network_id=network_id)
    params: dict[str, Any] = {
        "id": key,
        "read_deleted": read_deleted(context),
        **project_only_params(context, "allow_none"),
    }
    for column in SETTABLE:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    params["updated_at"] = given.get("updated_at") or utcnow()
    try:
        async with context.savepoint() as sp:
            row = await _returning(sp, "nova.networks.network_update", params)
    except errors.DBDuplicateEntry as exc:
        raise errors.DuplicateVlan(vlan=given.get("vlan")) from exc
    if row is None:
        raise errors.NetworkNotFound(network_id=network_id)
    return row


@writer
async def network_delete_safe(context: Context, network_id: int) -> None:
    """Delete a network for good, once none of its fixed IPs is allocated; its live fixed IPs are soft-deleted.

    :raises NetworkInUse: a live fixed IP of the network is allocated; nothing is written, an enclosing
        transaction goes on
    :raises NetworkNotFound: no network with this id visible to the context
    :raises Invalid: the id is not an integer
    """
    key = row_id(network_id, "network_id")
    if key is not None and await context.fetchval("nova.networks.network_count_allocated_ips", network_id=key):
        raise errors.NetworkInUse(network_id=network_id)
    await _network_get(context, network_id)
    async with context.savepoint() as sp:
        now = utcnow()
        await sp.execute("nova.networks.network_delete_fixed_ips", network_id=key, now=now)
        # The soft delete waited for and locked every live fixed IP: one allocated meanwhile shows here.
        if await sp.fetchval("nova.networks.network_deleted_allocated_ips", network_id=key, now=now):
            raise errors.NetworkInUse(network_id=network_id)
        await sp.execute("nova.networks.network_destroy", network_id=key)


@writer(retry=True)
async def network_set_host(context: Context, network_id: int, host_id: str) -> None:
    """Give a live network without a host (None or '') this host; one that has a host keeps it.

    Concurrent callers never overwrite each other: the first one's host stays.

    :returns: None (as Newton)
    :raises NetworkNotFound: no live network with this id
    :raises Invalid: the id is not an integer, the host not a string a network can hold
    """
    key = row_id(network_id, "network_id")
    host = storable(host_id, "host_id")
    if key is not None:
        if await context.execute("nova.networks.network_set_host", network_id=key, host=host, now=utcnow()):
            return None
        if await context.fetchrow("nova.networks.network_exists", network_id=key) is not None:
            return None
    raise errors.NetworkNotFound(network_id=network_id)


# --- reads -------------------------------------------------------------------------------------


@require_context
@reader
async def network_get(context: Context, network_id: int, project_only: Any = "allow_none") -> Row:
    """A network by id, as ``context.read_deleted`` and ``project_only`` let the context see it.

    :param project_only: for user contexts: ``'allow_none'`` (their project's networks and those without
        a project), ``True`` (their project's) or ``False`` (every network)
    :raises NetworkNotFound: none visible
    :raises NotAuthorized: neither an admin nor a user context
    :raises Invalid: the id is not an integer, or another ``project_only``
    """
    return await _network_get(context, network_id, project_only)


@require_context
@reader
async def network_get_all(context: Context, project_only: Any = "allow_none") -> list[Row]:
    """The live networks ``project_only`` lets the context see (see ``network_get``).

    :raises NoNetworksFound: none
    :raises NotAuthorized: neither an admin nor a user context
    """
    params = project_only_params(context, project_only)
    rows = await context.fetch("nova.networks.network_get_all", **params)
    if not rows:
        raise errors.NoNetworksFound()
    return [dict(row) for row in rows]


@require_context
@reader
async def network_get_all_by_uuids(
    context: Context, network_uuids: Iterable[str], project_only: Any = "allow_none"
) -> list[Row]:
    """The live networks with these uuids that ``project_only`` lets the context see, oldest first.

    :raises NoNetworksFound: none of them
    :raises NetworkNotFoundForProject: (``project_only`` true-ish) the first uuid, in the caller's order, not
        found; ``NetworkNotFound(network_id=uuid)`` when ``project_only`` is False
    :raises NotAuthorized: neither an admin nor a user context
    :raises Invalid: not a list of strings
    """
    if isinstance(network_uuids, (str, bytes)) or not isinstance(network_uuids, Iterable):
        raise errors.Invalid(f"network_uuids must be a list of uuids, not {type(network_uuids).__name__}")
    uuids = list(network_uuids)
    wanted = [lookup(value, "network uuid", UUID_LENGTH) for value in uuids]
    params = project_only_params(context, project_only)
    searched = sorted({value for value in wanted if value is not None})
    rows = [
        dict(row)
        for row in await context.fetch("nova.networks.network_get_all_by_uuids", network_uuids=searched, **params)
    ]
    if not rows:
        raise errors.NoNetworksFound()
    found = {row["uuid"] for row in rows}
    for value in uuids:
        if value not in found:
            if project_only:
                raise errors.NetworkNotFoundForProject(network_uuid=value, project_id=context.project_id)
            raise errors.NetworkNotFound(network_id=value)
    return rows


@reader
async def network_get_by_uuid(context: Context, uuid: str) -> Row:
    """The live network with this uuid.

    :raises NetworkNotFoundForUUID: none
    :raises Invalid: not a string
    """
    key = lookup(uuid, "uuid", UUID_LENGTH)
    row = None if key is None else await context.fetchrow("nova.networks.network_get_by_uuid", uuid=key)
    if row is None:
        raise errors.NetworkNotFoundForUUID(uuid=uuid)
    return dict(row)


@reader
async def network_get_by_cidr(context: Context, cidr: str) -> Row:
    """The live network whose ``cidr`` or ``cidr_v6`` is this one (compared as stored: normalised).

    :raises NetworkNotFoundForCidr: none
    :raises Invalid: not an IPv4 or IPv6 network or address
    """
    row = await context.fetchrow("nova.networks.network_get_by_cidr", cidr=network_text(cidr, "cidr"))
    if row is None:
        raise errors.NetworkNotFoundForCidr(cidr=cidr)
    return dict(row)


@reader
async def network_get_all_by_host(context: Context, host: str) -> list[Row]:
    """The live networks a host serves: the network's own host, or a fixed IP's (visible as
    ``context.read_deleted`` says), or that of the instance the fixed IP (or its virtual interface) belongs to.

    :raises Invalid: the host is not a string
    """
    key = lookup(host, "host")
    if key is None:
        return []
    rows = await context.fetch("nova.networks.network_get_all_by_host", host=key, read_deleted=read_deleted(context))
    return [dict(row) for row in rows]


@require_admin_context
@reader
async def network_get_all_by_instance(context: Context, instance_id: Any) -> list[Row]:
    """The live networks an instance has a live fixed IP or virtual interface in (Grizzly's call).

    :param instance_id: the instance's uuid, or its integer id
    :raises NetworkNotFoundForInstance: none
    :raises AdminRequired: not an admin
    :raises Invalid: neither a string nor an integer
    """
    instance_uuid, instance_number = None, None
    if isinstance(instance_id, int) and not isinstance(instance_id, bool):
        instance_number = row_id(instance_id, "instance_id")
    else:
        instance_uuid = lookup(instance_id, "instance_id", UUID_LENGTH)
    rows: list[Row] = []
    if instance_uuid is not None or instance_number is not None:
        rows = await context.fetch(
            "nova.networks.network_get_all_by_instance",
            instance_uuid=instance_uuid,
            instance_number=instance_number,
        )
    if not rows:
        raise errors.NetworkNotFoundForInstance(instance_id=instance_id)
    return [dict(row) for row in rows]


@reader
async def network_count_reserved_ips(context: Context, network_id: int) -> int:
    """The number of a network's live reserved fixed IPs.

    :raises Invalid: the id is not an integer
    """
    key = row_id(network_id, "network_id")
    if key is None:
        return 0
    return int(await context.fetchval("nova.networks.network_count_reserved_ips", network_id=key))


@reader
async def network_get_associated_fixed_ips(context: Context, network_id: int, host: str | None = None) -> list[Row]:
    """The DHCP host file of a network (Newton's projection): its live fixed IPs that belong to a live
    instance (on ``host``, when given) through a live virtual interface.

    Each is ``{address, instance_uuid, network_id, vif_id, vif_address, instance_hostname,
    instance_updated, instance_created, allocated, leased, default_route}``; ``default_route`` is true
    when the virtual interface is its instance's first (lowest id, as Newton counts every interface row).

    :raises Invalid: the id is not an integer, the host not a string
    """
    key = row_id(network_id, "network_id")
    where = _host_filter(host)
    if key is None or where is False:
        return []
    rows = await context.fetch("nova.networks.network_associated_fixed_ips", network_id=key, host=where)
    result = []
    for row in rows:
        item = dict(row)
        item["default_route"] = item.pop("first_vif_id") is not None
        result.append(item)
    return result


@reader
async def network_in_use_on_host(context: Context, network_id: int, host: str | None = None) -> bool:
    """Whether ``network_get_associated_fixed_ips(context, network_id, host)`` would list anything.

    :raises Invalid: the id is not an integer, the host not a string
    """
    key = row_id(network_id, "network_id")
    where = _host_filter(host)
    if key is None or where is False:
        return False
    return await context.fetchrow("nova.networks.network_in_use_on_host", network_id=key, host=where) is not None


def _host_filter(host: Any) -> str | bool | None:
    """The ``:host`` of a host-filtered read: None for any host (a false-y one, as upstream's ``if host``),
    False when no instance can be on it."""
    if not host:
        return None
    key = lookup(host, "host")
    return False if key is None else key
