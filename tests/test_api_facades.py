"""rawdb.nova.api and rawdb.cinder.api: upstream's names, as coroutine functions, with upstream's parameters.

The upstream signatures are those of the API listings this project implements (nova.db.api
at 2013.1, cinder.db.api at 2012.2), one per line in tests/upstream/.  Where rawdb follows a
later release, the tables below give that release's signature and say which.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rawdb.cinder import api as cinder_api
from rawdb.nova import api as nova_api

UPSTREAM = Path(__file__).resolve().parent / "upstream"
_SIGNATURE = re.compile(r"^(?P<name>[a-z_0-9]+)\((?P<params>context[^)]*)\)\s*$", re.MULTILINE)

# nova 14.0.0 (Newton) where it differs from 2013.1: per-user quotas (spec C.3).
NOVA_NEWTON = {
    "quota_create": "context, project_id, resource, limit, user_id=None",
    "quota_get": "context, project_id, resource, user_id=None",
    "quota_get_all": "context, project_id",
    "quota_get_all_by_project_and_user": "context, project_id, user_id",
    "quota_update": "context, project_id, resource, limit, user_id=None",
    "quota_class_get_default": "context",
    "quota_class_destroy_all_by_name": "context, class_name",
    "quota_usage_get": "context, project_id, resource, user_id=None",
    "quota_usage_get_all_by_project_and_user": "context, project_id, user_id",
    "quota_usage_update": "context, project_id, user_id, resource, **kwargs",
    "quota_usage_refresh": ("context, resources, keys, until_refresh, max_age, project_id=None, user_id=None"),
    "quota_reserve": (
        "context, resources, project_quotas, user_quotas, deltas, expire, until_refresh, max_age, "
        "project_id=None, user_id=None"
    ),
    "reservation_commit": "context, reservations, project_id=None, user_id=None",
    "reservation_rollback": "context, reservations, project_id=None, user_id=None",
    "reservation_create": "context, uuid, usage, project_id, user_id, resource, delta, expire",
    "reservation_get_all_by_project": "context, project_id",
    "quota_destroy_all_by_project_and_user": "context, project_id, user_id",
}
# nova 14.0.0 (Newton) instance API where it differs from 2013.1 or is new (spec D.1-D.4, A.4); functions that
# take no context upstream keep theirs.
NOVA_NEWTON.update(
    {
        "constraint": "**conditions",
        "equal_any": "*values",
        "not_equal": "*values",
        "process_sort_params": "sort_keys, sort_dirs, default_keys=..., default_dir='asc'",
        "instance_destroy": "context, instance_uuid, constraint=None",
        "instance_get": "context, instance_id, columns_to_join=None",
        "instance_get_by_uuid": "context, uuid, columns_to_join=None",
        "instance_get_active_by_window_joined": (
            "context, begin, end=None, project_id=None, host=None, columns_to_join=None"
        ),
        "instance_get_all_by_host_and_node": "context, host, node, columns_to_join=None",
        "instance_get_all_by_filters_sort": (
            "context, filters, limit=None, marker=None, columns_to_join=None, sort_keys=None, sort_dirs=None"
        ),
        "instance_get_all_by_grantee_security_groups": "context, group_ids",
        "instance_update": "context, instance_uuid, values, expected=None",
        "instance_update_and_get_original": "context, instance_uuid, values, columns_to_join=None, expected=None",
        "instance_fault_create": "context, values",
        "ec2_instance_get_by_uuid": "context, instance_uuid",
        "ec2_instance_get_by_id": "context, instance_id",
        "instance_extra_update_by_uuid": "context, instance_uuid, updates",
        "instance_extra_get_by_instance_uuid": "context, instance_uuid, columns=None",
        "instance_tag_add": "context, instance_uuid, tag",
        "instance_tag_set": "context, instance_uuid, tags",
        "instance_tag_get_by_instance_uuid": "context, instance_uuid",
        "instance_tag_delete": "context, instance_uuid, tag",
        "instance_tag_delete_all": "context, instance_uuid",
        "instance_tag_exists": "context, instance_uuid, tag",
        "security_group_get": "context, security_group_id, columns_to_join=None",
        "security_group_get_by_name": "context, project_id, group_name, columns_to_join=None",
        "security_group_get_by_instance": "context, instance_uuid",
        "security_group_update": "context, security_group_id, values, columns_to_join=None",
        "security_group_rule_get_by_security_group": "context, security_group_id, columns_to_join=None",
        "security_group_rule_get_by_instance": "context, instance_uuid",
        # rawdb has no sessions to pass (spec B.8)
        "instance_data_get_for_project": "context, project_id",
        "security_group_count_by_project": "context, project_id",
        "fixed_ip_count_by_project": "context, project_id",
        "floating_ip_count_by_project": "context, project_id",
    }
)
# nova 14.0.0 (Newton) compute inventory where it differs from 2013.1 or is new (issue 15);
# compute_node_update keeps 2013.1's prune_stats (a superset of Newton's call).
NOVA_NEWTON.update(
    {
        "service_destroy": "context, service_id",
        "service_get_minimum_version": "context, binary",
        "service_get_by_host_and_binary": "context, host, binary",
        "service_get_all_by_binary": "context, binary, include_disabled=False",
        "service_get_all_computes_by_hv_type": "context, hv_type, include_disabled=False",
        "compute_node_get_model": "context, compute_id",
        "compute_nodes_get_by_service_id": "context, service_id",
        "compute_node_get_by_host_and_nodename": "context, host, nodename",
        "compute_node_get_all_by_pagination": "context, limit=None, marker=None",
        "compute_node_get_all_by_host": "context, host",
        "instance_group_create": "context, values, policies=None, members=None",
        "instance_group_get": "context, group_uuid",
        "instance_group_get_by_instance": "context, instance_uuid",
        "instance_group_update": "context, group_uuid, values",
        "instance_group_delete": "context, group_uuid",
        "instance_group_get_all": "context",
        "instance_group_get_all_by_project_id": "context, project_id",
        "instance_group_members_add": "context, group_uuid, members, set_delete=False",
        "instance_group_member_delete": "context, group_uuid, instance_id",
        "instance_group_members_get": "context, group_uuid",
        "flavor_create": "context, values, projects=None",
        "flavor_get_all": (
            "context, inactive=False, filters=None, sort_key='flavorid', sort_dir='asc', limit=None, marker=None"
        ),
        "flavor_get": "context, id",
        "flavor_get_by_name": "context, name",
        "flavor_get_by_flavor_id": "context, id, read_deleted=None",
        "flavor_destroy": "context, flavor_id",
        "flavor_access_get_by_flavor_id": "context, flavor_id",
        "flavor_access_add": "context, flavor_id, project_id",
        "flavor_access_remove": "context, flavor_id, project_id",
        "flavor_extra_specs_get": "context, flavor_id",
        "flavor_extra_specs_delete": "context, flavor_id, key",
        "flavor_extra_specs_update_or_create": "context, flavor_id, extra_specs",
        "pci_device_get_by_addr": "context, node_id, dev_addr",
        "pci_device_get_by_id": "context, id",
        "pci_device_get_all_by_node": "context, node_id",
        "pci_device_get_all_by_instance_uuid": "context, instance_uuid",
        "pci_device_get_all_by_parent_addr": "context, node_id, parent_addr",
        "pci_device_destroy": "context, node_id, address",
        "pci_device_update": "context, node_id, address, value",
        "aggregate_get_by_uuid": "context, uuid",
        "aggregate_get_by_metadata_key": "context, key",
        "pcidevice_online_data_migration": "context, max_count",
        "aggregate_uuids_online_data_migration": "context, max_count",
        "computenode_uuids_online_data_migration": "context, max_count",
    }
)
# nova 14.0.0 (Newton) instance records and networking where they differ from 2013.1 or are new
# (issues 16 and 17).
NOVA_NEWTON.update(
    {
        "floating_ip_allocate_address": "context, project_id, pool, auto_assigned=False",
        "floating_ip_bulk_create": "context, ips, want_result=True",
        "dnsdomain_get_all": "context",
        "migration_get_by_id_and_instance": "context, migration_id, instance_uuid",
        "migration_get_all_by_filters": "context, filters",
        "migration_get_in_progress_by_instance": "context, instance_uuid, migration_type=None",
        "fixed_ip_associate": (
            "context, address, instance_uuid, network_id=None, reserved=False, virtual_interface_id=None"
        ),
        "fixed_ip_associate_pool": "context, network_id, instance_uuid=None, host=None, virtual_interface_id=None",
        "fixed_ip_get_by_address": "context, address, columns_to_join=None",
        "virtual_interface_update": "context, address, values",
        "virtual_interface_delete": "context, id",
        "key_pair_get_all_by_user": "context, user_id, limit=None, marker=None",
        "network_get": "context, network_id, project_only='allow_none'",
        "network_get_all": "context, project_only='allow_none'",
        "network_get_all_by_uuids": "context, network_uuids, project_only='allow_none'",
        "ec2_volume_get_by_id": "context, volume_id",
        "ec2_volume_get_by_uuid": "context, volume_uuid",
        "ec2_snapshot_get_by_ec2_id": "context, ec2_id",
        "ec2_snapshot_get_by_uuid": "context, snapshot_uuid",
        "block_device_mapping_create": "context, values, legacy=True",
        "block_device_mapping_update": "context, bdm_id, values, legacy=True",
        "block_device_mapping_update_or_create": "context, values, legacy=True",
        "block_device_mapping_get_all_by_instance_uuids": "context, instance_uuids",
        "block_device_mapping_get_all_by_volume_id": "context, volume_id, columns_to_join=None",
        "block_device_mapping_get_by_instance_and_volume_id": "context, volume_id, instance_uuid, columns_to_join=None",
        "console_get_all_by_instance": "context, instance_uuid, columns_to_join=None",
        # nova 34's before= (rows deleted before a time), on both
        "archive_deleted_rows": "context, max_rows=None, before=None",
        "archive_deleted_rows_for_table": "context, tablename, max_rows=None, before=None",
        "vol_usage_update": (
            "context, id, rd_req, rd_bytes, wr_req, wr_bytes, instance_id, project_id, user_id, availability_zone, "
            "update_totals=False"
        ),
    }
)
# The helpers that build arguments for other calls are plain functions upstream and here: nothing to await.
SYNC = {"constraint", "equal_any", "not_equal", "process_sort_params"}
# cinder's quota functions at HEAD (spec C.4), where they differ from 2012.2.
CINDER_HEAD = {
    # rawdb has no sessions to pass (spec B.8)
    "volume_data_get_for_project": "context, project_id",
    # HEAD's extra-spec search (E.3), which Folsom's API ignored
    "volume_type_get_all": "context, inactive=False, filters=None",
    "quota_destroy_all_by_project": "context, project_id, only_quotas=False",
    "quota_destroy_by_project": "context, project_id",
    "quota_class_get_defaults": "context",
    "quota_usage_update": "context, project_id, resource, **kwargs",
    "quota_reserve": "context, resources, quotas, deltas, expire, until_refresh, max_age, project_id=None",
    "reservation_commit": "context, reservations, project_id=None",
    "reservation_rollback": "context, reservations, project_id=None",
    "purge_deleted_rows": "context, age_in_days",
}


def upstream(listing: str) -> dict[str, list[str]]:
    """Function name -> parameter names, from an upstream listing."""
    text = (UPSTREAM / listing).read_text(encoding="utf-8")
    return {m.group("name"): parameters(m.group("params")) for m in _SIGNATURE.finditer(text)}


def parameters(listed: str) -> list[str]:
    """``'context, project_id, user_id=None, **kwargs'`` -> ``['context', 'project_id', 'user_id', '**kwargs']``."""
    return [p.strip().split("=")[0].strip() for p in listed.split(",") if p.strip()]


def rawdb_parameters(fn: Callable[..., Any]) -> list[str]:
    names = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY and p.default is not p.empty:
            continue  # rawdb's own options (a progress callback), never in an upstream call
        names.append(
            f"**{p.name}" if p.kind is p.VAR_KEYWORD else f"*{p.name}" if p.kind is p.VAR_POSITIONAL else p.name
        )
    return names


FACADES: list[tuple[ModuleType, str, dict[str, str]]] = [
    (nova_api, "nova_db_api.txt", NOVA_NEWTON),
    (cinder_api, "cinder_db_api.txt", CINDER_HEAD),
]


@pytest.mark.parametrize(("api", "listing", "later"), FACADES, ids=["nova", "cinder"])
def test_every_facade_name_is_a_coroutine_function_with_upstreams_parameters(
    api: ModuleType, listing: str, later: dict[str, str]
) -> None:
    listed = upstream(listing)
    assert len(listed) > 80  # the listing was read
    assert api.__all__ == sorted(api.__all__) and len(set(api.__all__)) == len(api.__all__)
    for name in api.__all__:
        fn = getattr(api, name)
        assert inspect.iscoroutinefunction(fn) is (name not in SYNC), name
        expected = parameters(later[name]) if name in later else listed.get(name)
        assert expected is not None, f"{name} is neither in the upstream listing nor a documented later release"
        got = rawdb_parameters(fn)
        if got[-1:] == ["**values"] and expected[-1:] == ["**kwargs"]:
            got[-1] = "**kwargs"  # the name of a ** parameter is not part of the call
        assert got == expected, name


@pytest.mark.parametrize(("api", "module"), [(nova_api, "rawdb.nova"), (cinder_api, "rawdb.cinder")])
def test_the_facade_re_exports_and_holds_no_logic_of_its_own(api: ModuleType, module: str) -> None:
    source = Path(api.__file__ or "").read_text(encoding="utf-8")
    assert "def " not in source and "class " not in source
    for name in api.__all__:
        assert getattr(api, name).__module__.startswith(module), name
    exported = {n for n in dir(api) if not n.startswith("_")}
    assert exported - {"annotations"} == set(api.__all__)
