"""The compute inventory the nova scheduler reads on every boot: rows, loading, and result shapes.

    await load_inventory(db)                       # rawdb's nova schema: services … flavors
    await load_inventory(peer_db, api=api_db)      # nova 34: main database + API database

A deterministic cloud of ``HOSTS`` compute hosts: one ``nova-compute`` service each (every
50th disabled) plus three conductors and three schedulers; one compute node per compute
service with a stats JSON of a dozen keys, and ``RETIRED`` soft-deleted nodes; ``AGGREGATES``
host aggregates (four of them availability zones, every host in one zone and in one or two
other aggregates, each aggregate with metadata); ``FLAVORS`` flavors with six extra specs
each, every sixth one private with access rows (half of those for the probe project).

The rows are the same for every dataset size and are loaded afresh with each run (a few
thousand rows).  nova 34 keeps flavors and aggregates in its API database (tables
``flavors``, ``flavor_extra_specs``, ``flavor_projects``, ``aggregates``, … without soft
delete), services and compute nodes in the main one; ``load_inventory`` writes each where
its target keeps it, with the same ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rawdb.database import Database, sqlite_path, url_dialect
from rawdb.statement import Statement

__all__ = [
    "AGGREGATES",
    "FLAVORS",
    "HOSTS",
    "INVENTORY_HOST",
    "INVENTORY_KEY",
    "RETIRED",
    "api_url",
    "load_inventory",
    "shape_inventory",
]

HOSTS = 1000
RETIRED = 20  # soft-deleted compute nodes of hosts that were rebuilt
AGGREGATES = 40
ZONES = 4  # aggregates 1..ZONES are availability zones
FLAVORS = 120
INVENTORY_HOST = "compute-0042"  # the host whose aggregates the by-host cases read
INVENTORY_KEY = "ssd"  # a metadata key some of its aggregates have
_T0 = datetime(2023, 1, 1)

Row = dict[str, Any]


def _at(seconds: int) -> datetime:
    return _T0 + timedelta(seconds=seconds)


def _uuid(kind: int, n: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{n:012x}"


def services() -> Iterator[Row]:
    def row(id_: int, host: str, binary: str, topic: str, disabled: bool) -> Row:
        return {
            "id": id_,
            "host": host,
            "binary": binary,
            "topic": topic,
            "report_count": id_ * 7,
            "disabled": disabled,
            "disabled_reason": "maintenance" if disabled else None,
            "forced_down": False,
            "version": 66,
            "created_at": _at(id_),
            "updated_at": _at(86_400 + id_),
            "deleted": 0,
        }

    for k in range(HOSTS):
        yield row(k + 1, f"compute-{k:04d}", "nova-compute", "compute", k % 50 == 49)
    id_ = HOSTS
    for binary in ("nova-conductor", "nova-scheduler"):
        for k in range(3):
            id_ += 1
            yield row(id_, f"control-{k}", binary, binary.removeprefix("nova-"), False)


def _stats(k: int) -> str:
    running = k % 37
    stats = {
        "num_instances": str(running),
        "num_vm_active": str(running - k % 3 if running >= k % 3 else 0),
        "num_vm_stopped": str(k % 3 if running >= k % 3 else 0),
        "num_task_None": str(running),
        "num_os_type_linux": str(running - running // 8),
        "num_os_type_windows": str(running // 8),
        "io_workload": str(k % 4),
        f"num_proj_{k % 97:032x}": str(1 + k % 5),
        f"num_proj_{(k * 7) % 97:032x}": str(1 + k % 3),
        "failed_builds": str(int(k % 211 == 0)),
    }
    return json.dumps(stats, separators=(", ", ": "))


def _cpu_info(k: int) -> str:
    return json.dumps(
        {
            "arch": "x86_64",
            "model": "Cascadelake-Server",
            "vendor": "Intel",
            "topology": {"cells": 2, "sockets": 1, "cores": 16, "threads": 2},
            "features": ["avx512f", "avx512cd", "aes", "sse4.2", "ssse3", "vmx", "pdpe1gb"][: 3 + k % 5],
        }
    )


def compute_nodes() -> Iterator[Row]:
    def row(id_: int, k: int, deleted: bool) -> Row:
        running = k % 37
        return {
            "id": id_,
            "uuid": _uuid(0xC0, id_),
            "service_id": k + 1,
            "host": f"compute-{k:04d}",
            "hypervisor_hostname": f"compute-{k:04d}.cloud" if not deleted else f"old-compute-{k:04d}.cloud",
            "vcpus": 64,
            "memory_mb": 262_144,
            "local_gb": 2000,
            "vcpus_used": (running * 2) % 64,
            "memory_mb_used": running * 4096,
            "local_gb_used": running * 40,
            "hypervisor_type": "QEMU",
            "hypervisor_version": 8_002_000,
            "cpu_info": _cpu_info(k),
            "disk_available_least": 2000 - running * 40 - k % 17,
            "free_ram_mb": 262_144 - running * 4096,
            "free_disk_gb": 2000 - running * 40,
            "current_workload": k % 4,
            "running_vms": running,
            "host_ip": f"10.{k // 250}.{k % 250}.10",
            "stats": _stats(k),
            "cpu_allocation_ratio": 4.0,
            "ram_allocation_ratio": 1.0,
            "disk_allocation_ratio": 1.0,
            "created_at": _at(10_000 + id_),
            "updated_at": _at(90_000 + id_),
            "deleted_at": _at(50_000 + id_) if deleted else None,
            "deleted": id_ if deleted else 0,
        }

    for k in range(HOSTS):
        yield row(k + 1, k, False)
    for k in range(RETIRED):
        yield row(HOSTS + k + 1, k * (HOSTS // RETIRED), True)


def aggregates() -> Iterator[Row]:
    for a in range(1, AGGREGATES + 1):
        yield {
            "id": a,
            "uuid": _uuid(0xA6, a),
            "name": f"az{a}" if a <= ZONES else f"agg-{a:02d}",
            "created_at": _at(a),
            "updated_at": _at(a),
            "deleted": 0,
        }


def _memberships(k: int) -> list[int]:
    others = AGGREGATES - ZONES
    found = [1 + k % ZONES, ZONES + 1 + k % others]
    extra = ZONES + 1 + (k * 7 + 3) % others
    if extra not in found and k % 3 == 0:
        found.append(extra)
    return found


def aggregate_hosts() -> Iterator[Row]:
    id_ = 0
    for k in range(HOSTS):
        for a in _memberships(k):
            id_ += 1
            yield {"id": id_, "host": f"compute-{k:04d}", "aggregate_id": a, "created_at": _at(id_), "deleted": 0}


def aggregate_metadata() -> Iterator[Row]:
    id_ = 0
    for a in range(1, AGGREGATES + 1):
        if a <= ZONES:
            pairs = [("availability_zone", f"az{a}")]
        else:
            pairs = [
                (INVENTORY_KEY, "true" if a % 2 else "false"),
                ("cpu_family", ("cascadelake", "icelake", "sapphirerapids")[a % 3]),
                ("filter_tenant_id", f"{a:032x}"),
            ][: 1 + a % 3]
        for key, value in pairs:
            id_ += 1
            yield {"id": id_, "aggregate_id": a, "key": key, "value": value, "created_at": _at(id_), "deleted": 0}


_FAMILIES = ("m", "c", "r", "g")
_SIZES = ("small", "medium", "large", "xlarge", "2xl", "4xl")


def flavors() -> Iterator[Row]:
    for f in range(1, FLAVORS + 1):
        size = 1 << (f % 6)
        yield {
            "id": f,
            "flavorid": f"f{f:04d}",
            "name": f"{_FAMILIES[f % 4]}{1 + f // 4}.{_SIZES[f % 6]}",
            "memory_mb": 1024 * size,
            "vcpus": size,
            "swap": 0 if f % 5 else 1024,
            "vcpu_weight": None,
            "rxtx_factor": 1.0,
            "root_gb": 20 * size,
            "ephemeral_gb": 0 if f % 4 else 10 * size,
            "disabled": f % 40 == 39,
            "is_public": f % 6 != 0,
            "created_at": _at(f),
            "deleted": 0,
        }


def flavor_extra_specs() -> Iterator[Row]:
    id_ = 0
    for f in range(1, FLAVORS + 1):
        specs = {
            "hw:cpu_policy": ("shared", "dedicated")[f % 2],
            "hw:mem_page_size": ("small", "large", "any")[f % 3],
            "hw_rng:allowed": "true",
            "quota:disk_read_bytes_sec": str(10_485_760 * (1 + f % 4)),
            "aggregate_instance_extra_specs:ssd": "true" if f % 2 else "false",
            f"trait:CUSTOM_CLASS_{f % 7}": "required",
        }
        for key, value in specs.items():
            id_ += 1
            yield {"id": id_, "instance_type_id": f, "key": key, "value": value, "created_at": _at(id_), "deleted": 0}


def flavor_projects(probe_project: str) -> Iterator[Row]:
    id_ = 0
    for f in range(6, FLAVORS + 1, 6):
        projects = [f"{(f * 31 + n) % 997:032x}" for n in range(3)]
        if f % 12 == 0:
            projects.append(probe_project)
        for project in projects:
            id_ += 1
            yield {"id": id_, "instance_type_id": f, "project_id": project, "created_at": _at(id_), "deleted": 0}


# --- loading -------------------------------------------------------------------------------------

# rawdb's (Newton's) table -> (nova 34's table in its API database or None for the main one, renames)
_NOVA34 = {
    "services": (None, {}),
    "compute_nodes": (None, {}),
    "aggregates": ("aggregates", {}),
    "aggregate_hosts": ("aggregate_hosts", {}),
    "aggregate_metadata": ("aggregate_metadata", {}),
    "instance_types": ("flavors", {}),
    "instance_type_extra_specs": ("flavor_extra_specs", {"instance_type_id": "flavor_id"}),
    "instance_type_projects": ("flavor_projects", {"instance_type_id": "flavor_id"}),
}
_API_DROPS = {"deleted", "deleted_at"}  # nova's API database has no soft delete


def _rows(table: str, probe_project: str) -> list[Row]:
    made: dict[str, Any] = {
        "services": services,
        "compute_nodes": compute_nodes,
        "aggregates": aggregates,
        "aggregate_hosts": aggregate_hosts,
        "aggregate_metadata": aggregate_metadata,
        "instance_types": flavors,
        "instance_type_extra_specs": flavor_extra_specs,
        "instance_type_projects": lambda: flavor_projects(probe_project),
    }
    return list(made[table]())


def _insert(table: str, columns: Sequence[str]) -> Statement:
    names = ", ".join(f'"{c}"' for c in columns)  # "binary", "key": reserved words on MySQL (ANSI_QUOTES)
    binds = ", ".join(f":{c}" for c in columns)
    return Statement.portable(
        f"bench.nova.inventory_{table}", f"INSERT INTO {table} ({names}) VALUES ({binds})", "An inventory row."
    )


async def _load(db: Database, tables: Sequence[tuple[str, str, Mapping[str, str], bool]], probe: str) -> None:
    """(our table, their table, renamed columns, api) in parent-first order: clear children first, then insert."""
    async with db.writer() as tx:
        for _ours, theirs, _renames, _api in reversed(tables):
            await tx.execute(Statement.portable(f"bench.nova.inventory_clear_{theirs}", f"DELETE FROM {theirs}"))
        for ours, theirs, renames, api in tables:
            rows = _rows(ours, probe)
            if api:
                rows = [{renames.get(k, k): v for k, v in row.items() if k not in _API_DROPS} for row in rows]
            statement = _insert(theirs, list(rows[0]))
            for row in rows:
                await tx.execute(statement, **row)


async def load_inventory(db: Database, probe_project: str, *, api: Database | None = None) -> None:
    """Replace the inventory rows of rawdb's nova database ``db``, or of nova 34's when ``api`` is
    nova 34's API database (``db`` then its main one)."""
    order = list(_NOVA34)
    if api is None:
        await _load(db, [(t, t, {}, False) for t in order], probe_project)
        return
    main: list[tuple[str, str, Mapping[str, str], bool]] = [(t, t, {}, False) for t in order if _NOVA34[t][0] is None]
    await _load(db, main, probe_project)
    apis = [(t, str(_NOVA34[t][0]), _NOVA34[t][1], True) for t in order if _NOVA34[t][0] is not None]
    await _load(api, apis, probe_project)


def api_url(peer_url: str) -> str:
    """nova 34's API database next to its main one at ``peer_url`` (``…api`` schema, database or file)."""
    dialect = url_dialect(peer_url)
    parts = urlsplit(peer_url)
    if dialect == "sqlite":
        path = sqlite_path(peer_url) or ""
        head, dot, tail = path.rpartition(".")
        renamed = f"{head}api.{tail}" if dot else f"{path}api"
        return peer_url[: len(peer_url) - len(path)] + renamed
    if dialect == "postgresql" and "search_path" in dict(parse_qsl(parts.query)):
        query = [(k, f"{v}api" if k == "search_path" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return urlunsplit((parts.scheme, parts.netloc, parts.path + "api", parts.query, ""))


# --- results in one comparable form ------------------------------------------------------------------


def _stat_items(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return sorted((value or {}).items())


def shape_inventory(function: str, result: Any) -> Any:
    """A result of the inventory case ``function``, as every target returns it alike."""
    if function == "compute_node_get_all":
        keys: tuple[str, ...] = ("id", "host", "hypervisor_hostname", "service_id", "vcpus", "memory_mb", "local_gb")
        keys += ("vcpus_used", "memory_mb_used", "local_gb_used", "running_vms", "free_ram_mb", "disk_available_least")
        return sorted([[node[k] for k in keys] + [_stat_items(node["stats"])] for node in result])
    if function == "service_get_all_by_topic":
        keys = ("id", "host", "binary", "topic", "report_count")
        return sorted([[s[k] for k in keys] + [bool(s["disabled"])] for s in result])
    if function == "aggregate_get_by_host":
        return sorted([a["id"], a["name"], sorted(a["hosts"]), sorted(a["metadetails"].items())] for a in result)
    if function == "aggregate_metadata_get_by_host":
        return sorted([key, sorted(values)] for key, values in result.items())
    if function == "flavor_get_all":
        keys = ("flavorid", "name", "memory_mb", "vcpus", "root_gb", "ephemeral_gb", "swap")
        return [
            [f[k] for k in keys] + [bool(f["is_public"]), bool(f["disabled"]), sorted(f["extra_specs"].items())]
            for f in result
        ]
    raise ValueError(f"no inventory case {function!r}")
