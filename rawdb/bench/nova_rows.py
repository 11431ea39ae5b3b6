"""The rows of the nova dataset (``rawdb.bench.nova_seed``), drawn table by table while they are loaded.

    for table, total, rows in plan_rows(plan, stamp): ...   # COLUMNS order; rawdb.bench.nova_load loads them

Each table's contents come from a ``random.Random`` stream of its own, seeded from the plan's
seed and the table's name, and from the plan; nothing else.  What the rows hold is described
in ``rawdb.bench.nova_seed``.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from rawdb.bench.nova_seed import (
    GENERATOR_VERSION,
    GROUP_NAMES,
    META_FILTER,
    TABLES,
    TAG_FILTER,
    TASK_STATES,
    Plan,
    at,
    counts,
    group_rules,
    new_uuid,
)
from rawdb.bench.seed import _draws

__all__ = ["plan_rows"]

Row = tuple[Any, ...]
Stamp = Callable[[datetime], Any]

_POWER = {
    "active": 1,
    "stopped": 4,
    "error": 0,
    "shelved_offloaded": 4,
    "paused": 3,
    "suspended": 7,
    "soft-delete": 4,
    "resized": 1,
    "deleted": 0,
}
_FLAVORS = (  # id, name, memory_mb, vcpus, root_gb, ephemeral_gb, weight
    (1, "m1.tiny", 512, 1, 1, 0, 5),
    (2, "m1.small", 2048, 1, 20, 0, 25),
    (3, "m1.medium", 4096, 2, 40, 0, 30),
    (4, "m1.large", 8192, 4, 80, 0, 20),
    (5, "m1.xlarge", 16384, 8, 160, 0, 8),
    (6, "c1.large", 4096, 8, 40, 0, 5),
    (7, "r1.xlarge", 65536, 8, 80, 100, 4),
    (8, "g1.large", 32768, 8, 100, 0, 3),
)
_FLAVOR_CUM = list(itertools.accumulate(f[6] for f in _FLAVORS))
_DISTROS = ("ubuntu", "ubuntu", "ubuntu", "centos", "debian", "rocky", "rhel", "windows", "cirros")
_ROLES = ("web", "db", "cache", "worker", "bastion", "lb", "batch", "ci-runner")
_TAGS = (
    "staging",
    "dev",
    "k8s",
    "batch",
    "gpu",
    "db",
    "web",
    "cache",
    "monitored",
    "backup-daily",
    "team-a",
    "team-b",
    "team-c",
    "team-d",
    "pci",
    "legacy",
    "spot",
    "ha",
)
# user metadata keys (weight) and how their values are drawn (see _meta_value)
_META_KEYS = (
    ("environment", 90),
    ("owner", 80),
    ("application", 75),
    ("role", 70),
    ("team", 65),
    ("cost_center", 50),
    ("created_by", 60),
    ("backup_policy", 45),
    ("monitoring", 45),
    ("ansible_group", 35),
    ("os_distro", 40),
    ("stack_id", 30),
    ("description", 30),
    ("ticket", 20),
    ("expires", 15),
    ("ha_group", 25),
    ("billing_tier", 20),
    ("maintenance_window", 15),
    ("config_version", 20),
    ("service_level", 15),
)
_META_NAMES = tuple(k for k, _ in _META_KEYS)
_META_CUM = list(itertools.accumulate(w for _, w in _META_KEYS))
_SYS_BASE = (
    "image_base_image_ref",
    "image_container_format",
    "image_disk_format",
    "image_min_disk",
    "image_min_ram",
    "image_os_distro",
    "image_os_type",
    "image_hw_disk_bus",
    "image_hw_vif_model",
    "owner_user_name",
    "owner_project_name",
    "boot_roles",
)
_SYS_MORE = (
    "image_hw_qemu_guest_agent",
    "image_hw_scsi_model",
    "image_os_require_quiesce",
    "image_owner_specified.openstack.md5",
    "image_owner_specified.openstack.sha256",
    "image_owner_specified.openstack.object",
    "clean_attempts",
    "old_vm_state",
    "image_hw_machine_type",
    "image_hw_rng_model",
)


# --- phase 2: the rows, one stream per table ------------------------------------------------------


def _stream(plan: Plan, table: str) -> random.Random:
    return random.Random(f"{plan.seed}/nova/{table}/v{GENERATOR_VERSION}")


def _gone(plan: Plan, i: int) -> int:
    """When a deleted instance was deleted: its last update."""
    return plan.updated[i]


def _instances(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "instances")
    rnd, bits = rng.random, rng.getrandbits
    below, between, pick = _draws(rng)
    images = [new_uuid(bits(128)) for _ in range(60)]
    for i in range(plan.size):
        project = plan.projects[plan.project[i]]
        deleted = plan.deleted(i)
        vm_state = plan.vm_state(i)
        flavor = pick(_FLAVORS, _FLAVOR_CUM)
        created, updated = at(plan.created[i]), at(plan.updated[i])
        host = plan.host_name(i)
        role = _ROLES[below(len(_ROLES))]
        name = f"{role}-{i:06d}"
        scheduled = host is not None
        launched = stamp(created + timedelta(microseconds=between(20_000_000, 90_000_000))) if scheduled else None
        key = f"key-{plan.project[i]:04d}" if rnd() < 0.7 else None
        yield (
            i + 1,
            plan.uuids[i],
            stamp(created),
            stamp(updated),
            stamp(updated) if deleted else None,
            i + 1 if deleted else 0,
            project.users[plan.user[i]],
            project.id,
            images[below(len(images))],
            "",
            "",
            0,
            key,
            f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{bits(192):048x} {key}@bench" if key else None,
            _POWER[vm_state],
            vm_state,
            TASK_STATES[plan.task[i]],
            flavor[2],
            flavor[3],
            flavor[4],
            flavor[5],
            name,
            host,
            f"{host}.example.org" if host else None,
            f"I2Nsb3VkLWNvbmZpZwpwYWNrYWdlczogW{bits(1024):0256x}" if rnd() < 0.3 else None,
            f"r-{bits(32):08x}",
            launched,
            stamp(updated) if deleted else None,
            name,
            f"{role} server {i}" if rnd() < 0.3 else None,
            f"az{plan.host[i] % 3 + 1}",
            rnd() < 0.01,
            "linux",
            host,
            flavor[0],
            "x86_64",
            "/dev/vda",
            "True" if rnd() < 0.2 else "",
            100 if scheduled else 0,
            rnd() < 0.1,
            False,
            False,
            1 if deleted else 0,
        )


def _security_groups(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    for project in plan.projects:
        when = stamp(at(project.created))
        for k, group in enumerate(project.groups):
            name = GROUP_NAMES[k]
            yield (
                group,
                name,
                name if k == 0 else f"{name} servers",
                project.users[0],
                project.id,
                when,
                None,
                None,
                0,
            )


def _security_group_rules(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    row_id = 0
    for project in plan.projects:
        when = stamp(at(project.created))
        for k, group in enumerate(project.groups):
            for protocol, low, high, cidr, grantee in group_rules(project, k):
                row_id += 1
                yield (row_id, group, protocol, low, high, cidr, grantee, when, None, None, 0)


def _associations(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    row_id = 0
    for i in range(plan.size):
        project = plan.projects[plan.project[i]]
        created = stamp(at(plan.created[i]))
        gone = stamp(at(_gone(plan, i))) if plan.deleted(i) else None
        groups = [project.groups[0]]
        if plan.groups[i]:
            groups.append(project.groups[plan.groups[i]])
        for group in groups:
            row_id += 1
            yield (row_id, group, plan.uuids[i], created, gone, gone, row_id if gone else 0)


def _child_times(plan: Plan, i: int, row_id: int, stamp: Stamp) -> tuple[Any, Any, Any, int]:
    """created_at, updated_at, deleted_at, deleted of a child of instance i (soft-deleted with it)."""
    created = stamp(at(plan.created[i]))
    if plan.deleted(i):
        gone = stamp(at(_gone(plan, i)))
        return created, gone, gone, row_id
    return created, None, None, 0


_DUMPS = json.JSONEncoder(separators=(", ", ": ")).encode  # nova's jsonutils.dumps


def _vif(plan: Plan, i: int, n: int, bits: Callable[[int], int], floating: str | None) -> dict[str, Any]:
    project = plan.projects[plan.project[i]]
    network, octet = project.networks[n % len(project.networks)]
    port = new_uuid(bits(128))
    mac = bits(24)
    mac_text = f"fa:16:3e:{mac >> 16:02x}:{mac >> 8 & 255:02x}:{mac & 255:02x}"
    third = (plan.project[i] + n) % 250
    host = 2 + (i * 7 + n) % 250
    v4 = f"10.{octet}.{third}"
    v6 = f"fd00:{octet:x}:{third:x}::"
    dns = [{"meta": {}, "version": 4, "type": "dns", "address": "10.0.0.53"}]

    def ip(address: str, version: int, floating_ips: list[Any]) -> dict[str, Any]:
        return {"meta": {}, "version": version, "type": "fixed", "floating_ips": floating_ips, "address": address}

    floats = [] if floating is None else [ip(floating, 4, []) | {"type": "floating"}]
    return {
        "id": port,
        "address": mac_text,
        "network": {
            "id": network,
            "bridge": "br-int",
            "label": f"net-{octet}",
            "subnets": [
                {
                    "cidr": f"{v4}.0/24",
                    "dns": dns,
                    "gateway": {"meta": {}, "version": 4, "type": "gateway", "address": f"{v4}.1"},
                    "ips": [ip(f"{v4}.{host}", 4, floats)],
                    "routes": [],
                    "version": 4,
                    "meta": {"dhcp_server": f"{v4}.2"},
                },
                {
                    "cidr": f"{v6}/64",
                    "dns": [],
                    "gateway": {"meta": {}, "version": 6, "type": "gateway", "address": f"{v6}1"},
                    "ips": [ip(f"{v6}f816:3eff:fe{mac >> 16:02x}:{mac & 65535:04x}", 6, [])],
                    "routes": [],
                    "version": 6,
                    "meta": {"ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"},
                },
            ],
            "meta": {
                "injected": False,
                "tenant_id": project.id,
                "mtu": 1450,
                "physical_network": None,
                "tunneled": True,
            },
        },
        "type": "ovs",
        "details": {
            "connectivity": "l2",
            "port_filter": True,
            "ovs_hybrid_plug": False,
            "datapath_type": "system",
            "bridge_name": "br-int",
            "bound_drivers": {"0": "openvswitch"},
        },
        "devname": f"tap{port[:11]}",
        "ovs_interfaceid": port,
        "qbh_params": None,
        "qbg_params": None,
        "active": True,
        "vnic_type": "normal",
        "profile": {},
        "preserve_on_delete": False,
        "delegate_create": True,
        "meta": {},
    }


def _info_caches(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "instance_info_caches")
    rnd, bits = rng.random, rng.getrandbits
    for i in range(plan.size):
        created, updated, deleted_at, deleted = _child_times(plan, i, i + 1, stamp)
        floating = f"203.0.{bits(8)}.{1 + (i % 254)}" if rnd() < 0.2 else None
        vifs = [_vif(plan, i, n, bits, floating if n == 0 else None) for n in range(plan.vifs[i])]
        network_info = "[]" if deleted else _DUMPS(vifs)
        yield (i + 1, plan.uuids[i], network_info, created, updated or stamp(at(plan.updated[i])), deleted_at, deleted)


def _flavor_json(flavor: tuple[Any, ...]) -> str:
    data = {
        "id": flavor[0],
        "name": flavor[1],
        "memory_mb": flavor[2],
        "vcpus": flavor[3],
        "root_gb": flavor[4],
        "ephemeral_gb": flavor[5],
        "flavorid": str(flavor[0]),
        "swap": 0,
        "rxtx_factor": 1.0,
        "vcpu_weight": 0,
        "disabled": False,
        "is_public": True,
        "extra_specs": {"hw:cpu_policy": "shared"},
        "description": None,
        "created_at": "2021-06-01T00:00:00Z",
        "updated_at": None,
        "deleted_at": None,
        "deleted": False,
    }
    cur = {
        "nova_object.name": "Flavor",
        "nova_object.namespace": "nova",
        "nova_object.version": "1.2",
        "nova_object.data": data,
        "nova_object.changes": sorted(data),
    }
    return _DUMPS({"cur": cur, "old": None, "new": None})


def _extras(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "instance_extra")
    rnd, bits = rng.random, rng.getrandbits
    flavors = {f[0]: _flavor_json(f) for f in _FLAVORS}
    for i in range(plan.size):
        created, updated, deleted_at, deleted = _child_times(plan, i, i + 1, stamp)
        keypairs = None
        if rnd() < 0.7:
            key = {
                "name": f"key-{plan.project[i]:04d}",
                "public_key": f"ssh-ed25519 AAAA{bits(256):064x}",
                "fingerprint": f"{bits(128):032x}",
                "type": "ssh",
                "user_id": plan.projects[plan.project[i]].users[0],
            }
            keypairs = _DUMPS(
                {
                    "nova_object.name": "KeyPairList",
                    "nova_object.version": "1.3",
                    "nova_object.data": {"objects": [{"nova_object.name": "KeyPair", "nova_object.data": key}]},
                }
            )
        yield (
            i + 1,
            plan.uuids[i],
            flavors[1 + int(rnd() * len(flavors))],
            keypairs,
            "[]",
            created,
            updated,
            deleted_at,
            deleted,
        )


Below = Callable[[int], int]
Bits = Callable[[int], int]
_ENVS = ("prod", "staging", "dev", "test")
_TOOLS = ("heat", "terraform", "openstackclient", "horizon", "ansible")
# How the value of each user metadata key is drawn: (instance index, below, bits) -> value.
_META_VALUES: dict[str, Callable[[int, Below, Bits], str]] = {
    "environment": lambda i, below, bits: _ENVS[below(4)],
    "owner": lambda i, below, bits: f"user{below(900):03d}@example.com",
    "application": lambda i, below, bits: f"app-{below(300):03d}",
    "role": lambda i, below, bits: _ROLES[below(len(_ROLES))],
    "team": lambda i, below, bits: f"team-{below(40):02d}",
    "cost_center": lambda i, below, bits: f"cc-{1000 + below(9000)}",
    "created_by": lambda i, below, bits: _TOOLS[below(5)],
    "backup_policy": lambda i, below, bits: ("daily", "weekly", "none")[below(3)],
    "monitoring": lambda i, below, bits: ("enabled", "disabled")[below(2)],
    "ansible_group": lambda i, below, bits: f"{_ROLES[below(len(_ROLES))]}_servers",
    "os_distro": lambda i, below, bits: _DISTROS[below(len(_DISTROS))],
    "stack_id": lambda i, below, bits: new_uuid(bits(128)),
    "description": lambda i, below, bits: f"server {i} of pipeline {below(1000)}",
    "ticket": lambda i, below, bits: f"OPS-{below(99999)}",
    "expires": lambda i, below, bits: f"2026-{1 + below(12):02d}-{1 + below(28):02d}",
    "ha_group": lambda i, below, bits: f"ha-{below(20):02d}",
    "billing_tier": lambda i, below, bits: ("silver", "bronze")[below(2)],
    "maintenance_window": lambda i, below, bits: f"sun-{below(24):02d}:00",
    "config_version": lambda i, below, bits: f"v{below(50)}.{below(10)}",
    "service_level": lambda i, below, bits: ("p1", "p2", "p3")[below(3)],
}


def _metadata(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "instance_metadata")
    bits, choices = rng.getrandbits, rng.choices
    below = _draws(rng)[0]
    row_id = 0
    for i in range(plan.size):
        need = plan.meta[i]
        keys = [META_FILTER[0]] if plan.flags[i] & 1 else []
        seen = set(keys)
        while len(keys) < need:  # weighted draws without replacement
            for key in choices(_META_NAMES, cum_weights=_META_CUM, k=need - len(keys)):
                if key not in seen:
                    seen.add(key)
                    keys.append(key)
        for key in keys:
            row_id += 1
            if key == META_FILTER[0] and plan.flags[i] & 1:
                value = META_FILTER[1]
            else:
                value = _META_VALUES[key](i, below, bits)
            yield (row_id, plan.uuids[i], key, value, *_child_times(plan, i, row_id, stamp))


def _system_metadata(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "instance_system_metadata")
    rnd, bits = rng.random, rng.getrandbits
    row_id = 0
    for i in range(plan.size):
        distro = _DISTROS[int(rnd() * len(_DISTROS))]
        extra = list(_SYS_MORE)
        rng.shuffle(extra)
        values = {
            "image_base_image_ref": new_uuid(bits(128)),
            "image_container_format": "bare",
            "image_disk_format": "qcow2" if rnd() < 0.7 else "raw",
            "image_min_disk": str(int(rnd() * 4) * 10),
            "image_min_ram": "0",
            "image_os_distro": distro,
            "image_os_type": "windows" if distro == "windows" else "linux",
            "image_hw_disk_bus": "virtio" if rnd() < 0.8 else "scsi",
            "image_hw_vif_model": "virtio",
            "owner_user_name": f"user{int(rnd() * 900):03d}",
            "owner_project_name": f"project-{plan.project[i]:04d}",
            "boot_roles": "member,reader",
        }
        more = {
            "image_hw_qemu_guest_agent": "yes",
            "image_hw_scsi_model": "virtio-scsi",
            "image_os_require_quiesce": "no",
            "image_owner_specified.openstack.md5": f"{bits(128):032x}",
            "image_owner_specified.openstack.sha256": f"{bits(256):064x}",
            "image_owner_specified.openstack.object": f"images/{distro}-{int(rnd() * 40)}",
            "clean_attempts": "1",
            "old_vm_state": "active",
            "image_hw_machine_type": "q35",
            "image_hw_rng_model": "virtio",
        }
        for key in extra[: plan.sysmeta[i] - len(values)]:
            values[key] = more[key]
        for key, value in values.items():
            row_id += 1
            yield (row_id, plan.uuids[i], key, value, *_child_times(plan, i, row_id, stamp))


def _tags(plan: Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "tags")
    below = _draws(rng)[0]
    for i in range(plan.size):
        need = plan.tags[i]
        tags = [TAG_FILTER] if plan.flags[i] & 2 else []
        while len(tags) < need:
            tag = _TAGS[below(len(_TAGS))]
            if tag not in tags:
                tags.append(tag)
        for tag in sorted(tags):
            yield (plan.uuids[i], tag)


_GENERATORS: dict[str, Callable[[Plan, Stamp], Iterator[Row]]] = {
    "instances": _instances,
    "security_groups": _security_groups,
    "security_group_rules": _security_group_rules,
    "security_group_instance_association": _associations,
    "instance_info_caches": _info_caches,
    "instance_extra": _extras,
    "instance_metadata": _metadata,
    "instance_system_metadata": _system_metadata,
    "tags": _tags,
}


def plan_rows(plan: Plan, stamp: Stamp) -> list[tuple[str, int, Iterable[Row]]]:
    """(table, row count, rows in COLUMNS order) in load order; ``stamp`` turns datetimes into stored values."""
    total = counts(plan)
    return [(table, total[table], _GENERATORS[table](plan, stamp)) for table in TABLES]
