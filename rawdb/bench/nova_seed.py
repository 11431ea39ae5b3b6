"""The deterministic nova dataset: instances and their children, as a cloud of ~1,000 projects holds them.

    plan = nova_plan(100_000)                  # seed 20250101: the rows, drawn in two phases
    dataset = describe(plan)                   # the identities the cases use (probe project, marker, host…)
    for table, total, rows in plan_rows(plan, stamp): ...   # rawdb.bench.nova_load loads them

What a ``size`` of N holds:

- 1,000 projects of Zipf-like sizes (weight 1/(rank + 2): the largest holds about 8% of the
  instances, the 10th, the *probe* project, about 1.4%), each with 1-4 users, a network or
  two, and 2-3 security groups (``default``, ``web``, half of them ``db``) with 2-4 rules;
- N instances on N/250 hosts (at least 8; 1% of the error ones never scheduled), created over
  three years in id order, a tenth of them in the very microsecond of the previous one;
  ``updated_at`` skewed toward the end of the span (a fifth never updated); 20% soft-deleted
  as nova's ``instance_destroy`` leaves them (``deleted = id``, ``deleted_at`` set, their
  metadata, system metadata, info cache, extra and group associations soft-deleted too, their
  tags gone), 0.5% in vm_state ``soft-delete``;
- per instance 5-15 metadata rows (about 10), 12-18 system metadata rows (about 15), an info
  cache whose ``network_info`` is nova's JSON for 1-3 VIFs (network, IPv4 and IPv6 subnets,
  fixed and floating IPs: 1.5-4.5 KB), an ``instance_extra`` row (flavor and keypairs as nova
  serialises them), the project's ``default`` group and maybe ``web`` or ``db``, and 0-3 tags
  on a third of the live ones.  ``META_FILTER`` is on 5% of the instances and ``TAG_FILTER``
  on 8% of the live ones.

The same seed and size give the same rows on every backend, every run and every machine: all
randomness comes from ``random.Random`` streams seeded from the seed (strings seed through
SHA-512) and only integer arithmetic and correctly rounded float operations turn it into values
(as ``rawdb.bench.seed`` for glance).  The plan (one stream) draws what the descriptions need;
each table's contents are drawn from a stream of its own while they are loaded.
"""

from __future__ import annotations

import itertools
import random
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.bench.seed import _draws

__all__ = [
    "COLUMNS",
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "GROUP_NAMES",
    "META_FILTER",
    "MIN_INSTANCES",
    "TABLES",
    "TAG_FILTER",
    "TASK_STATES",
    "NovaDataset",
    "Plan",
    "Project",
    "at",
    "counts",
    "describe",
    "fingerprint",
    "group_rules",
    "new_uuid",
    "nova_plan",
]

GENERATOR_VERSION = 1
DATASET = "nova"
DEFAULT_SEED = 20250101
MIN_INSTANCES = 500  # enough for the probe project to hold live instances of its own
PROJECTS = 1000
PROBE_RANK = 10  # the probe project is the 10th-largest
TAG_FILTER = "prod"  # on 8% of the live instances (n_tags)
META_FILTER = ("billing_tier", "gold")  # on 5% of the instances (n_metadata)
EPOCH = datetime(2022, 1, 1)
_SPAN_US = 3 * 365 * 86_400_000_000
END = EPOCH + timedelta(microseconds=_SPAN_US)

Row = tuple[Any, ...]
Stamp = Callable[[datetime], Any]

_TIMES = ("created_at", "updated_at", "deleted_at")
COLUMNS: dict[str, tuple[str, ...]] = {
    "instances": (
        "id",
        "uuid",
        *_TIMES,
        "deleted",
        "user_id",
        "project_id",
        "image_ref",
        "kernel_id",
        "ramdisk_id",
        "launch_index",
        "key_name",
        "key_data",
        "power_state",
        "vm_state",
        "task_state",
        "memory_mb",
        "vcpus",
        "root_gb",
        "ephemeral_gb",
        "hostname",
        "host",
        "node",
        "user_data",
        "reservation_id",
        "launched_at",
        "terminated_at",
        "display_name",
        "display_description",
        "availability_zone",
        "locked",
        "os_type",
        "launched_on",
        "instance_type_id",
        "architecture",
        "root_device_name",
        "config_drive",
        "progress",
        "auto_disk_config",
        "shutdown_terminate",
        "disable_terminate",
        "cleaned",
    ),
    "security_groups": ("id", "name", "description", "user_id", "project_id", *_TIMES, "deleted"),
    "security_group_rules": (
        "id",
        "parent_group_id",
        "protocol",
        "from_port",
        "to_port",
        "cidr",
        "group_id",
        *_TIMES,
        "deleted",
    ),
    "security_group_instance_association": ("id", "security_group_id", "instance_uuid", *_TIMES, "deleted"),
    "instance_info_caches": ("id", "instance_uuid", "network_info", *_TIMES, "deleted"),
    "instance_extra": ("id", "instance_uuid", "flavor", "keypairs", "pci_requests", *_TIMES, "deleted"),
    "instance_metadata": ("id", "instance_uuid", "key", "value", *_TIMES, "deleted"),
    "instance_system_metadata": ("id", "instance_uuid", "key", "value", *_TIMES, "deleted"),
    "tags": ("resource_id", "tag"),
}
TABLES = tuple(COLUMNS)  # parents first: the load order

_VM_STATES = ("active", "stopped", "error", "shelved_offloaded", "paused", "suspended", "soft-delete", "resized")
_VM_CUM = list(itertools.accumulate((880, 60, 20, 10, 10, 10, 5, 5)))
TASK_STATES = (None, "spawning", "rebooting", "powering-off", "image_snapshot", "resize_prep", "migrating")
_TASK_CUM = list(itertools.accumulate((970, 8, 6, 5, 5, 3, 3)))


def fingerprint(instances: int, seed: int = DEFAULT_SEED) -> str:
    """The string recorded for a loaded nova dataset: generator version, seed and size."""
    return f"{DATASET}/v{GENERATOR_VERSION}/seed={seed}/instances={instances}"


def _hex(bits: int) -> str:
    return f"{bits:032x}"


def new_uuid(bits: int) -> str:
    return str(uuid.UUID(int=bits, version=4))


def at(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


@dataclass(slots=True)
class Project:
    id: str
    users: tuple[str, ...]
    networks: tuple[tuple[str, int], ...]  # (network uuid, second octet of its 10.x.y.0/24s)
    groups: tuple[int, ...]  # security group ids: default, web[, db]
    created: int  # µs offset of its groups


@dataclass(slots=True)
class Plan:
    """What the descriptions need, per instance (index i holds instance id i + 1)."""

    seed: int
    size: int
    projects: list[Project]
    hosts: int
    uuids: list[str] = field(default_factory=list)
    project: array = field(default_factory=lambda: array("H"))  # type: ignore[type-arg]
    user: bytearray = field(default_factory=bytearray)
    host: array = field(default_factory=lambda: array("H"))  # type: ignore[type-arg]  # 0: none, k: host k - 1
    created: list[int] = field(default_factory=list)  # µs after EPOCH
    updated: list[int] = field(default_factory=list)
    state: bytearray = field(default_factory=bytearray)  # index in _VM_STATES; 255: deleted
    task: bytearray = field(default_factory=bytearray)  # index in TASK_STATES
    meta: bytearray = field(default_factory=bytearray)  # metadata rows
    sysmeta: bytearray = field(default_factory=bytearray)  # system metadata rows
    vifs: bytearray = field(default_factory=bytearray)
    groups: bytearray = field(default_factory=bytearray)  # bit 1: web, bit 2: db (default always)
    tags: bytearray = field(default_factory=bytearray)  # tag rows
    flags: bytearray = field(default_factory=bytearray)  # bit 1: META_FILTER, bit 2: TAG_FILTER

    def deleted(self, i: int) -> bool:
        return self.state[i] == 255

    def vm_state(self, i: int) -> str:
        return "deleted" if self.state[i] == 255 else _VM_STATES[self.state[i]]

    def host_name(self, i: int) -> str | None:
        return None if not self.host[i] else f"compute-{self.host[i] - 1:04d}"


def host_name(k: int) -> str:
    return f"compute-{k:04d}"


def nova_plan(size: int, seed: int = DEFAULT_SEED) -> Plan:
    """Phase 1: projects, and per instance what the descriptions and the row counts need.

    :raises Invalid: fewer than MIN_INSTANCES instances
    """
    if size < MIN_INSTANCES:
        raise errors.Invalid(f"a nova dataset needs at least {MIN_INSTANCES} instances, not {size}")
    rng = random.Random(f"{seed}/nova/plan/v{GENERATOR_VERSION}")
    rnd, bits = rng.random, rng.getrandbits
    below, between, pick = _draws(rng)
    projects: list[Project] = []
    group_id = 0
    for k in range(PROJECTS):
        users = tuple(_hex(bits(128)) for _ in range(1 + below(4)))
        networks = tuple((new_uuid(bits(128)), (k * 2 + n) % 250 + 1) for n in range(1 + (rnd() < 0.3)))
        count = 3 if rnd() < 0.5 else 2
        groups = tuple(range(group_id + 1, group_id + count + 1))
        group_id += count
        projects.append(Project(_hex(bits(128)), users, networks, groups, below(30 * 86_400_000_000)))
    plan = Plan(seed, size, projects, hosts=max(8, size // 250))
    weights = list(itertools.accumulate(10**9 // (rank + 2) for rank in range(PROJECTS)))
    plan.project.extend(rng.choices(range(PROJECTS), cum_weights=weights, k=size))
    offsets = sorted(below(_SPAN_US) for _ in range(size))
    created = 0
    for i in range(size):
        plan.uuids.append(new_uuid(bits(128)))
        if not (i and rnd() < 0.10):  # else: the previous instance's microsecond, exactly
            created = offsets[i]
        plan.created.append(created)
        project = projects[plan.project[i]]
        plan.user.append(below(len(project.users)))
        deleted = rnd() < 0.20
        state = 255 if deleted else pick(tuple(range(len(_VM_STATES))), _VM_CUM)
        plan.state.append(state)
        plan.host.append(0 if state == 2 and rnd() < 0.5 else 1 + below(plan.hosts))
        plan.task.append(0 if deleted else pick(tuple(range(len(TASK_STATES))), _TASK_CUM))
        left = _SPAN_US - created
        r = rnd()
        updated = created if rnd() < 0.2 else created + int(left * (1 - r * r * r * r))
        plan.updated.append(updated)
        plan.meta.append(between(5, 16))
        plan.sysmeta.append(between(12, 19))
        u = rnd()
        plan.vifs.append(1 if u < 0.60 else 2 if u < 0.95 else 3)
        u = rnd()
        has_db = len(project.groups) == 3
        plan.groups.append(1 if u < 0.40 else 2 if has_db and u < 0.55 else 0)
        flags = int(rnd() < 0.05)
        n_tags = 0
        if not deleted and rnd() < 1 / 3:
            n_tags = 1 + below(3)
        if not deleted and rnd() < 0.08:
            flags |= 2
            n_tags = max(n_tags, 1)
        plan.tags.append(n_tags)
        plan.flags.append(flags)
    return plan


# --- the dataset's identities -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NovaDataset:
    """A seeded nova dataset and the identities the cases use.

    The listing sets are nova's ``{'deleted': False}``: live and not in vm_state soft-delete,
    ordered ``created_at DESC, id DESC`` (id order here, since instances are created in id
    order).  ``deep_marker`` is the instance at 90% of the admin's listing set.
    """

    name: str
    seed: int
    size: int
    fingerprint: str
    counts: dict[str, int]  # rows per table, TABLES order
    probe_project: str  # the 10th-largest project: the user's listings
    probe_user: str
    probe_listed: int  # its instances in a {'deleted': False} listing
    admin_listed: int  # the whole cloud's
    deep_marker: str
    host: str  # a host with the median number of listed instances
    host_listed: int
    changes_since: datetime  # a whole second: ~1% of the instances were updated since
    changed: int  # instances updated since (deleted ones included)
    get_uuid: str  # a live, active instance of the probe project
    cas_uuids: tuple[str, str]  # two more: rawdb and the peer update the first, the replay the second
    cas_updated: tuple[datetime, datetime]  # their seeded updated_at, restored after the case
    reused: bool = field(default=False, compare=False)


def _listed(plan: Plan, i: int) -> bool:
    return plan.state[i] != 255 and _VM_STATES[plan.state[i]] != "soft-delete"


def counts(plan: Plan) -> dict[str, int]:
    """Rows per table, TABLES order."""
    groups = sum(len(p.groups) for p in plan.projects)
    return {
        "instances": plan.size,
        "security_groups": groups,
        "security_group_rules": sum(len(group_rules(p, g)) for p in plan.projects for g in range(len(p.groups))),
        "security_group_instance_association": plan.size + sum(1 for g in plan.groups if g),
        "instance_info_caches": plan.size,
        "instance_extra": plan.size,
        "instance_metadata": sum(plan.meta),
        "instance_system_metadata": sum(plan.sysmeta),
        "tags": sum(plan.tags),
    }


def describe(plan: Plan) -> NovaDataset:
    """The dataset's identities, from the plan alone."""
    sizes = [0] * PROJECTS
    for k in plan.project:
        sizes[k] += 1
    by_rank = sorted(range(PROJECTS), key=lambda k: (-sizes[k], k))
    probe = by_rank[PROBE_RANK - 1]
    listed = [i for i in range(plan.size) if _listed(plan, i)]
    probe_listed = [i for i in listed if plan.project[i] == probe]
    active = [i for i in probe_listed if plan.state[i] == 0 and plan.task[i] == 0]
    if len(active) < 3:
        raise errors.Invalid(f"{plan.size} instances leave the probe project too few active ones; seed more")
    per_host = [0] * (plan.hosts + 1)
    for i in listed:
        per_host[plan.host[i]] += 1
    hosts = sorted(range(1, plan.hosts + 1), key=lambda h: (per_host[h], h))
    host = hosts[len(hosts) // 2]
    ordered = sorted(plan.updated)
    since_us = ordered[len(ordered) * 99 // 100] // 1_000_000 * 1_000_000  # a whole second (MySQL DATETIME(0))
    newest = active[-1], active[-2], active[-3]
    return NovaDataset(
        name=DATASET,
        seed=plan.seed,
        size=plan.size,
        fingerprint=fingerprint(plan.size, plan.seed),
        counts=counts(plan),
        probe_project=plan.projects[probe].id,
        probe_user=plan.projects[probe].users[0],
        probe_listed=len(probe_listed),
        admin_listed=len(listed),
        deep_marker=plan.uuids[listed[len(listed) - 1 - len(listed) * 9 // 10]],
        host=host_name(host - 1),
        host_listed=per_host[host],
        changes_since=at(since_us),
        changed=sum(1 for u in plan.updated if u >= since_us),
        get_uuid=plan.uuids[newest[0]],
        cas_uuids=(plan.uuids[newest[1]], plan.uuids[newest[2]]),
        cas_updated=(at(plan.updated[newest[1]]), at(plan.updated[newest[2]])),
    )


def group_rules(project: Project, k: int) -> list[tuple[str | None, int | None, int | None, str | None, int | None]]:
    """(protocol, from, to, cidr, grantee group) of the project's k-th group: default, web or db."""
    group = project.groups[k]
    if k == 0:
        return [("tcp", 22, 22, "0.0.0.0/0", None), ("icmp", -1, -1, "0.0.0.0/0", None), ("tcp", 1, 65535, None, group)]
    if k == 1:
        return [("tcp", 80, 80, "0.0.0.0/0", None), ("tcp", 443, 443, "0.0.0.0/0", None)]
    web = project.groups[1]
    return [
        ("tcp", 5432, 5432, None, web),
        ("tcp", 3306, 3306, None, web),
        ("tcp", 6379, 6379, "10.0.0.0/8", None),
        ("udp", 53, 53, "10.0.0.0/8", None),
    ]


GROUP_NAMES = ("default", "web", "db")
