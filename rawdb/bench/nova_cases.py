"""nova's instance hot path as cases every target (rawdb, driver replay, nova 34) runs.

A case is who calls (the admin, or a user of the probe project) and what: a listing
(``instance_get_all_by_filters_sort`` with the filters nova's API sends and its default sort,
``created_at`` then ``id``, descending), ``instance_get_by_uuid`` with its default joins, a
compare-and-swap ``instance_update`` or an ``instance_create``.  ``call_spec`` turns a case
into plain arguments (the same for every target, JSON-able but for ``changes-since``, which
travels as ISO text), and ``shape`` turns any target's result into one comparable form.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from rawdb.bench.nova_inventory import INVENTORY_HOST, shape_inventory
from rawdb.bench.nova_seed import META_FILTER, TAG_FILTER, NovaDataset

__all__ = ["CASES_BY_NAME", "CAS_STATES", "CREATE_MARK", "NOVA_CASES", "NovaCase", "call_spec", "shape"]

# What nova's API sends without sort parameters (process_sort_params then adds id).
SORT_KEYS = ("created_at",)
SORT_DIRS = ("desc",)
ADMIN_PROJECT = "admin-proj"
ADMIN_USER = "admin-user"
# n_update_cas moves the instance between these task states, each call expecting the other.
CAS_STATES = ("rebooting", "reboot_started")
# n_create's instances carry this reservation id, so that they can be found and removed afterwards.
CREATE_MARK = "r-rawdb-bench-create"

Kind = Literal["list", "get", "update", "create", "inventory", "alloc"]


@dataclass(frozen=True, slots=True)
class NovaCase:
    name: str
    what: str
    kind: Kind = "list"
    admin: bool = False
    filters: Mapping[str, Any] = field(default_factory=dict)  # the case's own (the dataset's values added)
    limit: int | None = 1000
    deep: bool = False  # marker: the instance at 90% of the admin's listing set
    by: Literal["", "host", "changes", "tags", "metadata"] = ""
    function: str = ""  # inventory: the rawdb.nova.api function, called with ``arguments``
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def listing_filters(self, dataset: NovaDataset) -> dict[str, Any]:
        filters: dict[str, Any] = dict(self.filters)
        if self.by == "host":
            filters["host"] = dataset.host
        elif self.by == "changes":
            filters["changes-since"] = dataset.changes_since
        elif self.by == "tags":
            filters["tags"] = [TAG_FILTER]
        elif self.by == "metadata":
            filters["metadata"] = {META_FILTER[0]: META_FILTER[1]}
        return filters


LIVE = {"deleted": False}  # what nova's API adds unless changes-since is asked for

NOVA_CASES: tuple[NovaCase, ...] = (
    NovaCase("n_user_project_1000", "user, own project, limit 1000", filters=LIVE),
    NovaCase("n_admin_p1", "admin, all tenants, first page of 1000", admin=True, filters=LIVE),
    NovaCase("n_admin_deep", "admin, all tenants, marker at 90%", admin=True, filters=LIVE, deep=True),
    NovaCase("n_by_host", "admin, one host's instances, no limit", admin=True, filters=LIVE, limit=None, by="host"),
    NovaCase("n_changes_since", "admin, all tenants, changes-since (deleted too)", admin=True, by="changes"),
    NovaCase("n_tags", f"user, own project, tag {TAG_FILTER}", filters=LIVE, by="tags"),
    NovaCase(
        "n_metadata", f"admin, metadata {META_FILTER[0]}={META_FILTER[1]}", admin=True, filters=LIVE, by="metadata"
    ),
    NovaCase("n_get_by_uuid", "instance_get_by_uuid, default joins", kind="get", limit=None),
    NovaCase(
        "n_update_cas", f"instance_update, expected_task_state {'<->'.join(CAS_STATES)}", kind="update", limit=None
    ),
    NovaCase(
        "n_create", "instance_create: metadata, system metadata, info cache, default group", kind="create", limit=None
    ),
    # the compute inventory the scheduler and the API read (rawdb.bench.nova_inventory)
    NovaCase(
        "n_compute_nodes",
        "compute_node_get_all: 1,000 nodes with stats",
        kind="inventory",
        admin=True,
        limit=None,
        function="compute_node_get_all",
    ),
    NovaCase(
        "n_services_by_topic",
        "service_get_all_by_topic('compute')",
        kind="inventory",
        admin=True,
        limit=None,
        function="service_get_all_by_topic",
        arguments={"topic": "compute"},
    ),
    NovaCase(
        "n_aggregates_by_host",
        "aggregate_get_by_host: a host's aggregates, hosts and metadata",
        kind="inventory",
        admin=True,
        limit=None,
        function="aggregate_get_by_host",
        arguments={"host": INVENTORY_HOST},
    ),
    NovaCase(
        "n_aggregate_metadata_by_host",
        "aggregate_metadata_get_by_host: {key: values} of a host's aggregates",
        kind="inventory",
        admin=True,
        limit=None,
        function="aggregate_metadata_get_by_host",
        arguments={"host": INVENTORY_HOST},
    ),
    NovaCase(
        "n_flavors",
        "flavor_get_all for a user: public flavors and the project's private ones, with extra specs",
        kind="inventory",
        limit=None,
        function="flavor_get_all",
        arguments={"filters": {"is_public": True}},
    ),
    # addresses handed out by concurrent callers (rawdb.bench.nova_alloc): allocations per second
    NovaCase(
        "n_alloc_fixed",
        "fixed_ip_associate_pool: the oldest free address of a /16 to an instance",
        kind="alloc",
        admin=True,
        limit=None,
    ),
    NovaCase(
        "n_alloc_floating",
        "floating_ip_allocate_address: a free address of a /16 pool to a project",
        kind="alloc",
        limit=None,
    ),
)
CASES_BY_NAME = {case.name: case for case in NOVA_CASES}


def warmup(calls: int) -> int:
    """Untimed calls before ``calls`` timed ones: 5, or 1 before the 3 of a --check's page of 1,000."""
    return 5 if calls >= 5 else 1


def cas_values(step: int) -> dict[str, Any]:
    """The ``step``-th update of n_update_cas: from one of CAS_STATES to the other."""
    old, new = CAS_STATES[step % 2], CAS_STATES[(step + 1) % 2]
    return {"task_state": new, "expected_task_state": old}


def create_values(dataset: NovaDataset) -> dict[str, Any]:
    """What nova's compute API passes to instance_create for a server of the probe project."""
    metadata = {f"key{k}": f"value-{k}" for k in range(10)}
    system_metadata = {f"image_prop_{k}": f"v{k}" for k in range(12)}
    system_metadata |= {"owner_user_name": "bench", "owner_project_name": "bench", "boot_roles": "member,reader"}
    return {
        "project_id": dataset.probe_project,
        "user_id": dataset.probe_user,
        "display_name": "bench-create",
        "hostname": "bench-create",
        "reservation_id": CREATE_MARK,
        "image_ref": "00000000-0000-4000-8000-000000000001",
        "instance_type_id": 2,
        "memory_mb": 2048,
        "vcpus": 1,
        "root_gb": 20,
        "ephemeral_gb": 0,
        "vm_state": "building",
        "power_state": 0,
        "task_state": "scheduling",
        "launch_index": 0,
        "availability_zone": "az1",
        "os_type": "linux",
        "architecture": "x86_64",
        "metadata": metadata,
        "system_metadata": system_metadata,
        "info_cache": {"network_info": "[]"},
        "security_groups": ["default"],
    }


def call_spec(case: NovaCase, dataset: NovaDataset) -> dict[str, Any]:
    """The case's caller and arguments as plain values (``changes-since`` a naive UTC datetime)."""
    spec: dict[str, Any] = {
        "kind": case.kind,
        "admin": case.admin,
        "project_id": ADMIN_PROJECT if case.admin else dataset.probe_project,
        "user_id": ADMIN_USER if case.admin else dataset.probe_user,
    }
    if case.kind == "list":
        spec |= {
            "filters": case.listing_filters(dataset),
            "limit": case.limit,
            "marker": dataset.deep_marker if case.deep else None,
            "sort_keys": list(SORT_KEYS),
            "sort_dirs": list(SORT_DIRS),
        }
    elif case.kind == "get":
        spec["uuid"] = dataset.get_uuid
    elif case.kind == "update":
        spec["uuid"] = dataset.cas_uuids[0]
    elif case.kind == "inventory":
        spec |= {"function": case.function, "arguments": dict(case.arguments)}
    else:
        spec["values"] = create_values(dataset)
    return spec


def encode_spec(spec: Mapping[str, Any]) -> str:
    """A spec as one JSON line (``changes-since`` as ISO text)."""
    return json.dumps(spec, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


def decode_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A spec read back from ``encode_spec``'s JSON (``changes-since`` a datetime again)."""
    decoded = dict(spec)
    filters = decoded.get("filters")
    if isinstance(filters, Mapping) and isinstance(filters.get("changes-since"), str):
        decoded["filters"] = {**filters, "changes-since": datetime.fromisoformat(filters["changes-since"])}
    return decoded


def fresh(value: Any) -> Any:
    """A deep copy of arguments a callee might change (nova pops from ``values``)."""
    return copy.deepcopy(value)


# --- results in one comparable form ----------------------------------------------------------------


def _pairs(items: Sequence[Mapping[str, Any]]) -> list[tuple[str, Any]]:
    return sorted((item["key"], item["value"]) for item in items)


def _rule(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    return (rule["protocol"], rule["from_port"], rule["to_port"], rule["cidr"], rule["group_id"])


def _groups(groups: Sequence[Mapping[str, Any]], rules: bool) -> list[Any]:
    if not rules:
        return sorted(group["name"] for group in groups)
    return sorted([group["name"], sorted(_rule(rule) for rule in group["rules"])] for group in groups)


def shape_instance(instance: Mapping[str, Any], *, rules: bool, ident: bool = True) -> dict[str, Any]:
    """The parts of an instance every target returns alike.

    Listings compare security group names only: nova loads no rules with a listing.
    """
    cache = instance.get("info_cache")
    shaped: dict[str, Any] = {
        "project_id": instance["project_id"],
        "host": instance["host"],
        "vm_state": instance["vm_state"],
        "task_state": instance["task_state"],
        "deleted": bool(instance["deleted"]),
        "display_name": instance["display_name"],
        "metadata": _pairs(instance["metadata"]),
        "system_metadata": _pairs(instance["system_metadata"]),
        "network_info": None if cache is None else cache["network_info"],
        "security_groups": _groups(instance["security_groups"], rules),
    }
    if ident:
        shaped["uuid"] = instance["uuid"]
    return shaped


def shape(kind: str, result: Any, function: str = "") -> Any:
    """A target's result in the comparable form: a list of instances, one instance, an update's
    outcome, or an inventory call's result (``function``: which)."""
    if kind == "inventory":
        return shape_inventory(function, result)
    if kind == "list":
        return [shape_instance(instance, rules=False) for instance in result]
    if kind == "get":
        return shape_instance(result, rules=True)
    if kind == "update":
        return {"uuid": result["uuid"], "task_state": result["task_state"], "vm_state": result["vm_state"]}
    return shape_instance(result, rules=False, ident=False)  # create: a new uuid every time


def difference(ours: Any, theirs: Any) -> str:
    """A short description of the first difference between two shaped results."""
    if isinstance(ours, list) and isinstance(theirs, list):
        mine_ids = [i["uuid"] for i in ours]
        their_ids = [i["uuid"] for i in theirs]
        if mine_ids != their_ids:
            common = sum(1 for a, b in zip(mine_ids, their_ids, strict=False) if a == b)
            return f"uuids differ: rawdb {len(ours)} instances, nova {len(theirs)}, the first {common} alike"
        for mine, other in zip(ours, theirs, strict=True):
            if mine != other:
                keys = sorted(k for k in mine if mine[k] != other.get(k))
                return f"instance {mine['uuid']}: {', '.join(keys)} differ"
    if isinstance(ours, dict) and isinstance(theirs, dict):
        keys = sorted(k for k in {*ours, *theirs} if ours.get(k) != theirs.get(k))
        return f"{', '.join(keys)} differ"
    return "results differ"
