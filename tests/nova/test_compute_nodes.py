"""Nova's compute nodes (Newton, spec A.3 "Compute nodes", F.1 16, E.5 10 with JSON stats), on every backend."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import compute_nodes as db
from rawdb.observe import StatementCounter

T0 = datetime(2016, 1, 1, 10, 0, 0)
NODE_KEYS = {
    "id",
    "service_id",
    "host",
    "uuid",
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "hypervisor_type",
    "hypervisor_version",
    "hypervisor_hostname",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "cpu_info",
    "disk_available_least",
    "host_ip",
    "supported_instances",
    "metrics",
    "pci_stats",
    "extra_resources",
    "stats",
    "numa_topology",
    "ram_allocation_ratio",
    "cpu_allocation_ratio",
    "disk_allocation_ratio",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}
STAT_FIELDS = (
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "disk_available_least",
)


def node_values(host: str = "host1", nodename: str | None = None, **values: Any) -> dict[str, Any]:
    return {
        "host": host,
        "hypervisor_hostname": nodename or f"{host}.example.org",
        "vcpus": 16,
        "memory_mb": 32768,
        "local_gb": 500,
        "vcpus_used": 2,
        "memory_mb_used": 4096,
        "local_gb_used": 40,
        "hypervisor_type": "QEMU",
        "hypervisor_version": 2005000,
        "cpu_info": '{"arch": "x86_64"}',
        **values,
    }


async def make(ctx: rawdb.Context, host: str = "host1", nodename: str | None = None, **values: Any) -> dict[str, Any]:
    return await db.compute_node_create(ctx, node_values(host, nodename, **values))


async def make_service(
    database: rawdb.Database, host: str, binary: str = "nova-compute", disabled: bool = False, deleted: bool = False
) -> int:
    """A services row written behind the API's back; its id."""
    await execute(
        database,
        'INSERT INTO services (host, "binary", topic, report_count, disabled, created_at, deleted) '
        "VALUES (:host, :binary, :topic, 0, :disabled, :t, 0)",
        host=host,
        binary=binary,
        topic=f"{binary}-topic",
        disabled=disabled,
        t=T0,
    )
    rows = await select(database, "SELECT max(id) AS id FROM services")
    service_id = int(rows[0]["id"])
    if deleted:
        await execute(database, "UPDATE services SET deleted = id WHERE id = :i", i=service_id)
    return service_id


async def stored_stats(database: rawdb.Database, node_id: int) -> Any:
    rows = await select(database, "SELECT stats FROM compute_nodes WHERE id = :i", i=node_id)
    return json.loads(rows[0]["stats"])


# --- create ----------------------------------------------------------------------------------


async def test_compute_node_create_returns_the_row_with_stats_as_a_dict(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    node = await make(admin, service_id=3, free_ram_mb=28672, ram_allocation_ratio=1.5)
    assert set(node) == NODE_KEYS
    assert isinstance(node["id"], int)
    assert (node["host"], node["hypervisor_hostname"], node["service_id"]) == ("host1", "host1.example.org", 3)
    assert (node["vcpus"], node["free_ram_mb"], node["ram_allocation_ratio"]) == (16, 28672, 1.5)
    assert node["stats"] == {}
    assert await stored_stats(nova_db, node["id"]) == {}
    assert node["uuid"] is None and node["host_ip"] is None and node["disk_available_least"] is None
    assert node["deleted"] == 0 and isinstance(node["created_at"], datetime) and node["updated_at"] is None
    assert await db.compute_node_get(admin, node["id"]) == node


async def test_compute_node_create_takes_stats_as_a_dict_or_json_text(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    a = await make(admin, "a", stats={"num_instances": "3", "io_workload": 1, "nested": {"x": [1, 2]}})
    assert a["stats"] == {"num_instances": "3", "io_workload": 1, "nested": {"x": [1, 2]}}
    assert await stored_stats(nova_db, a["id"]) == a["stats"]
    b = await make(admin, "b", stats='{"num_instances": "5"}')
    assert b["stats"] == {"num_instances": "5"}
    assert (await db.compute_node_get(admin, b["id"]))["stats"] == {"num_instances": "5"}


async def test_compute_node_create_parses_string_times_and_normalises_host_ip(admin: rawdb.Context) -> None:
    node = await make(
        admin,
        created_at="2016-01-01T10:00:00.000000",
        updated_at="2016-01-02T10:00:00+00:00",
        host_ip="2001:0db8:0000::0001",
    )
    assert (node["created_at"], node["updated_at"]) == (T0, T0 + timedelta(days=1))
    assert node["host_ip"] == "2001:db8::1"
    v4 = await make(admin, "h4", host_ip="192.168.1.10")
    assert v4["host_ip"] == "192.168.1.10"


async def test_compute_node_create_same_host_and_nodename_is_a_duplicate_entry(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await make(admin)
    with pytest.raises(errors.DBDuplicateEntry):
        await make(admin)
    async with admin.writer() as tx:  # an enclosing transaction goes on
        with pytest.raises(errors.DBDuplicateEntry):
            await make(tx)
        await make(tx, "host2")
    assert await count_rows(nova_db, "compute_nodes") == 2


@pytest.mark.parametrize(
    "values",
    [
        {"vcpus": None},
        {"cpu_info": None},
        {"no_such_column": 1},
        {"id": 7},
        {"deleted": 1},
        {"vcpus": "lots"},
        {"vcpus": 2**31},
        {"host": "h" * 256},
        {"host": "h\x00"},
        {"host_ip": "not-an-address"},
        {"host_ip": "10.0.0.0/8"},
        {"created_at": "yesterday"},
        {"ram_allocation_ratio": float("nan")},
        {"stats": ["a", "b"]},
        {"stats": "[1, 2]"},
        {"stats": "{not json"},
        {"stats": {1: "x"}},
        {"stats": {"k": object()}},
        {"stats": {"k": float("inf")}},
        {"stats": {"k": "v" * 70000}},
        {"supported_instances": "x" * 70000},
        {"metrics": "é" * 40000},
    ],
)
async def test_compute_node_create_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any]
) -> None:
    base = node_values()
    for key in [k for k, v in values.items() if v is None]:
        del base[key]  # a required column missing
    with pytest.raises(errors.Invalid):
        await db.compute_node_create(admin, {**base, **{k: v for k, v in values.items() if v is not None}})
    assert await count_rows(nova_db, "compute_nodes") == 0


# --- lookups ---------------------------------------------------------------------------------


async def test_compute_node_get_unknown_is_compute_host_not_found(admin: rawdb.Context) -> None:
    node = await make(admin)
    for compute_id in (node["id"] + 1, 2**40, -1):
        with pytest.raises(errors.ComputeHostNotFound) as caught:
            await db.compute_node_get(admin, compute_id)
        assert caught.value.kwargs == {"host": compute_id}
    assert (await db.compute_node_get(admin, str(node["id"])))["id"] == node["id"]  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.compute_node_get(admin, 1.5)  # type: ignore[arg-type]


async def test_compute_node_get_hides_deleted_nodes_only_for_read_deleted_no(admin: rawdb.Context) -> None:
    live = await make(admin, "a")
    gone = await make(admin, "b")
    await db.compute_node_delete(admin, gone["id"])
    with pytest.raises(errors.ComputeHostNotFound):
        await db.compute_node_get(admin, gone["id"])
    assert (await db.compute_node_get(admin.elevated(read_deleted="yes"), gone["id"]))["deleted"] == gone["id"]
    only = admin.elevated(read_deleted="only")
    # Newton's _compute_node_select filters only for 'no': 'only' lists live nodes too
    assert [n["id"] for n in await db.compute_node_get_all(only)] == [live["id"], gone["id"]]
    assert [n["id"] for n in await db.compute_node_get_all(admin)] == [live["id"]]


async def test_compute_node_get_model_follows_read_deleted_fully(admin: rawdb.Context) -> None:
    live = await make(admin, "a")
    gone = await make(admin, "b")
    await db.compute_node_delete(admin, gone["id"])
    assert await db.compute_node_get_model(admin, live["id"]) == live
    with pytest.raises(errors.ComputeHostNotFound):
        await db.compute_node_get_model(admin, gone["id"])
    only = admin.elevated(read_deleted="only")
    assert (await db.compute_node_get_model(only, gone["id"]))["id"] == gone["id"]
    with pytest.raises(errors.ComputeHostNotFound):
        await db.compute_node_get_model(only, live["id"])


async def test_compute_nodes_get_by_service_id_or_service_not_found(admin: rawdb.Context) -> None:
    a1 = await make(admin, "a", "n1", service_id=10)
    a2 = await make(admin, "a", "n2", service_id=10)
    await make(admin, "b", service_id=11)
    assert [n["id"] for n in await db.compute_nodes_get_by_service_id(admin, 10)] == [a1["id"], a2["id"]]
    with pytest.raises(errors.ServiceNotFound) as caught:
        await db.compute_nodes_get_by_service_id(admin, 12)
    assert caught.value.kwargs == {"service_id": 12}


async def test_compute_node_get_by_host_and_nodename(admin: rawdb.Context) -> None:
    n1 = await make(admin, "a", "n1")
    await make(admin, "a", "n2")
    await make(admin, "b", "n1")
    assert await db.compute_node_get_by_host_and_nodename(admin, "a", "n1") == n1
    with pytest.raises(errors.ComputeHostNotFound) as caught:
        await db.compute_node_get_by_host_and_nodename(admin, "a", "n3")
    assert caught.value.kwargs == {"host": "a"}
    with pytest.raises(errors.ComputeHostNotFound):
        await db.compute_node_get_by_host_and_nodename(admin, "A", "n1")


async def test_compute_node_get_all_by_host_or_compute_host_not_found(admin: rawdb.Context) -> None:
    n1 = await make(admin, "a", "n1")
    n2 = await make(admin, "a", "n2", stats={"k": "v"})
    gone = await make(admin, "c")
    await db.compute_node_delete(admin, gone["id"])
    got = await db.compute_node_get_all_by_host(admin, "a")
    assert [n["id"] for n in got] == [n1["id"], n2["id"]] and got[1]["stats"] == {"k": "v"}
    for host in ("b", "c", "x" * 300):
        with pytest.raises(errors.ComputeHostNotFound):
            await db.compute_node_get_all_by_host(admin, host)


async def test_compute_node_get_all_lists_live_nodes_in_id_order_in_one_statement(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    assert await db.compute_node_get_all(admin) == []
    made = [await make(admin, f"h{i}", stats={"i": i}) for i in range(3)]
    counter = StatementCounter()
    with nova_db.hooked(counter):
        got = await db.compute_node_get_all(admin)
    assert counter.total == 1
    assert got == made


# --- pagination ------------------------------------------------------------------------------


async def test_compute_node_get_all_by_pagination_pages_by_id_after_the_marker(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    ids = [(await make(admin, f"h{i}"))["id"] for i in range(5)]
    gone = await make(admin, "gone")
    await db.compute_node_delete(admin, gone["id"])
    page = db.compute_node_get_all_by_pagination
    assert [n["id"] for n in await page(admin)] == ids
    assert [n["id"] for n in await page(admin, limit=2)] == ids[:2]
    assert [n["id"] for n in await page(admin, limit=2, marker=ids[1])] == ids[2:4]
    assert [n["id"] for n in await page(admin, marker=ids[3])] == ids[4:]
    assert await page(admin, marker=ids[4]) == []
    assert await page(admin, limit=0, marker=ids[0]) == []
    assert set((await page(admin, limit=1))[0]) == NODE_KEYS
    counter = StatementCounter()
    with nova_db.hooked(counter):
        await page(admin, limit=2, marker=ids[1])
    assert counter.total == 1


async def test_compute_node_get_all_by_pagination_unknown_marker_is_marker_not_found(admin: rawdb.Context) -> None:
    node = await make(admin)
    gone = await make(admin, "gone")
    await db.compute_node_delete(admin, gone["id"])
    for marker in (node["id"] + 100, gone["id"], 2**40):
        with pytest.raises(errors.MarkerNotFound) as caught:
            await db.compute_node_get_all_by_pagination(admin, marker=marker)
        assert caught.value.kwargs == {"marker": marker}
    with pytest.raises(errors.MarkerNotFound):
        await db.compute_node_get_all_by_pagination(admin, limit=0, marker=node["id"] + 100)
    yes = admin.elevated(read_deleted="yes")
    assert await db.compute_node_get_all_by_pagination(yes, marker=gone["id"]) == []
    assert [n["id"] for n in await db.compute_node_get_all_by_pagination(yes, marker=node["id"])] == [gone["id"]]


@pytest.mark.parametrize("kwargs", [{"limit": -1}, {"limit": "ten"}, {"limit": 1.5}, {"marker": "abc"}])
async def test_compute_node_get_all_by_pagination_bad_arguments_are_invalid(
    admin: rawdb.Context, kwargs: dict[str, Any]
) -> None:
    await make(admin)
    with pytest.raises(errors.Invalid):
        await db.compute_node_get_all_by_pagination(admin, **kwargs)


# --- search ----------------------------------------------------------------------------------


async def test_compute_node_search_by_hypervisor_matches_a_substring_case_sensitively(admin: rawdb.Context) -> None:
    a = await make(admin, "a", "compute-01.rack1")
    b = await make(admin, "b", "compute-02.rack1")
    await make(admin, "c", "Compute-03.rack2")
    gone = await make(admin, "d", "compute-04.rack1")
    await db.compute_node_delete(admin, gone["id"])
    search = db.compute_node_search_by_hypervisor
    assert [n["id"] for n in await search(admin, "rack1")] == [a["id"], b["id"]]
    assert [n["id"] for n in await search(admin, "compute-0")] == [a["id"], b["id"]]
    assert [n["id"] for n in await search(admin.elevated(read_deleted="only"), "rack1")] == [gone["id"]]
    assert await search(admin, "RACK1") == []
    assert len(await search(admin, "")) == 3


async def test_compute_node_search_by_hypervisor_treats_wildcards_literally(admin: rawdb.Context) -> None:
    pct = await make(admin, "a", "node%1")
    under = await make(admin, "b", "node_1")
    await make(admin, "c", "nodeX1")
    bang = await make(admin, "d", "node!1")
    star = await make(admin, "e", "node*[1]?")
    search = db.compute_node_search_by_hypervisor
    assert [n["id"] for n in await search(admin, "%")] == [pct["id"]]
    assert [n["id"] for n in await search(admin, "e_1")] == [under["id"]]
    assert [n["id"] for n in await search(admin, "e%1")] == [pct["id"]]
    assert [n["id"] for n in await search(admin, "!1")] == [bang["id"]]
    assert [n["id"] for n in await search(admin, "*[1]?")] == [star["id"]]
    assert [n["id"] for n in await search(admin, "[1")] == [star["id"]]
    assert await search(admin, "x" * 300) == []
    with pytest.raises(errors.Invalid):
        await search(admin, None)  # type: ignore[arg-type]


# --- update ----------------------------------------------------------------------------------


async def test_compute_node_update_changes_given_columns_and_always_moves_updated_at(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    node = await make(admin, updated_at=T0)
    updated = await db.compute_node_update(admin, node["id"], {"vcpus_used": 4, "host_ip": "10.0.0.1"})
    assert (updated["vcpus_used"], updated["host_ip"]) == (4, "10.0.0.1")
    assert updated["updated_at"] > T0
    unchanged = {k for k in NODE_KEYS if k not in ("vcpus_used", "host_ip", "updated_at")}
    assert {k: updated[k] for k in unchanged} == {k: node[k] for k in unchanged}
    await execute(nova_db, "UPDATE compute_nodes SET updated_at = :t WHERE id = :i", t=T0, i=node["id"])
    empty = await db.compute_node_update(admin, node["id"], {})
    assert empty["updated_at"] > T0
    given = await db.compute_node_update(admin, node["id"], {"updated_at": T0})  # Newton: always now
    assert given["updated_at"] > T0
    assert await db.compute_node_get(admin, node["id"]) == given


async def test_compute_node_update_parses_string_times(admin: rawdb.Context) -> None:
    node = await make(admin)
    updated = await db.compute_node_update(admin, node["id"], {"created_at": "2016-01-01T10:00:00.000000"})
    assert updated["created_at"] == T0


async def test_compute_node_update_unknown_is_compute_host_not_found(admin: rawdb.Context) -> None:
    node = await make(admin)
    await db.compute_node_delete(admin, node["id"])
    for compute_id in (node["id"], node["id"] + 1, 2**40):
        with pytest.raises(errors.ComputeHostNotFound) as caught:
            await db.compute_node_update(admin, compute_id, {"vcpus": 1})
        assert caught.value.kwargs == {"host": compute_id}
    got = await db.compute_node_update(admin.elevated(read_deleted="yes"), node["id"], {"vcpus": 1})
    assert got["vcpus"] == 1 and got["deleted"] == node["id"]


async def test_compute_node_update_stats_dict_upserts_and_prune_replaces(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    # E.5 10 (CapacityTestCase.test_compute_node_stat_prune) with JSON stats.
    node = await make(admin, stats={"num_instances": "1", "num_vm_building": "1"})
    merged = await db.compute_node_update(admin, node["id"], {"stats": {"num_instances": "2", "io_workload": "1"}})
    assert merged["stats"] == {"num_instances": "2", "num_vm_building": "1", "io_workload": "1"}
    assert await stored_stats(nova_db, node["id"]) == merged["stats"]
    kept = await db.compute_node_update(admin, node["id"], {"vcpus_used": 3})
    assert kept["stats"] == merged["stats"]
    pruned = await db.compute_node_update(admin, node["id"], {"stats": {"num_instances": "3"}}, prune_stats=True)
    assert pruned["stats"] == {"num_instances": "3"}
    assert (await db.compute_node_get(admin, node["id"]))["stats"] == {"num_instances": "3"}


async def test_compute_node_update_stats_json_text_replaces(admin: rawdb.Context) -> None:
    node = await make(admin, stats={"a": "1", "b": "2"})
    updated = await db.compute_node_update(admin, node["id"], {"stats": '{"c": "3"}'})
    assert updated["stats"] == {"c": "3"}


async def test_compute_node_update_prune_without_stats_leaves_none(admin: rawdb.Context) -> None:
    node = await make(admin, stats={"a": "1"})
    updated = await db.compute_node_update(admin, node["id"], {"vcpus": 8}, prune_stats=True)
    assert (updated["stats"], updated["vcpus"]) == ({}, 8)


async def test_compute_node_update_merges_into_unreadable_stored_stats_as_empty(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    node = await make(admin)
    await execute(nova_db, "UPDATE compute_nodes SET stats = NULL WHERE id = :i", i=node["id"])
    assert (await db.compute_node_get(admin, node["id"]))["stats"] == {}
    await execute(nova_db, "UPDATE compute_nodes SET stats = '[1]' WHERE id = :i", i=node["id"])
    updated = await db.compute_node_update(admin, node["id"], {"stats": {"a": "1"}})
    assert updated["stats"] == {"a": "1"}


async def test_compute_node_update_merged_stats_too_long_are_invalid(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    node = await make(admin, stats={"a": "x" * 40000})
    with pytest.raises(errors.Invalid):
        await db.compute_node_update(admin, node["id"], {"stats": {"b": "y" * 40000}})
    assert await stored_stats(nova_db, node["id"]) == {"a": "x" * 40000}


@pytest.mark.parametrize(
    "values",
    [
        {"vcpus": None},
        {"id": 5},
        {"deleted": 3},
        {"bogus": 1},
        {"host_ip": "256.1.1.1"},
        {"stats": 5},
        {"stats": "nope"},
        {"stats": {("a",): 1}},
        [],
    ],
)
async def test_compute_node_update_bad_values_are_invalid_and_change_nothing(admin: rawdb.Context, values: Any) -> None:
    node = await make(admin, stats={"a": "1"})
    with pytest.raises(errors.Invalid):
        await db.compute_node_update(admin, node["id"], values)
    assert await db.compute_node_get(admin, node["id"]) == node


async def test_compute_node_update_bad_prune_stats_is_invalid(admin: rawdb.Context) -> None:
    node = await make(admin)
    with pytest.raises(errors.Invalid):
        await db.compute_node_update(admin, node["id"], {}, prune_stats="sometimes")  # type: ignore[arg-type]


async def test_concurrent_compute_node_updates_of_different_stat_keys_all_survive(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    node = await make(admin, stats={"base": "0"})
    databases = [await open_db(nova_url) for _ in range(6)]
    contexts = [rawdb.Context(d, is_admin=True) for d in databases]
    results = await asyncio.gather(
        *(db.compute_node_update(c, node["id"], {"stats": {f"key{i}": str(i)}}) for i, c in enumerate(contexts))
    )
    expected = {"base": "0", **{f"key{i}": str(i) for i in range(6)}}
    assert (await db.compute_node_get(admin, node["id"]))["stats"] == expected
    assert await stored_stats(nova_db, node["id"]) == expected
    assert max(len(r["stats"]) for r in results) == 7  # the last one saw every key


# --- delete ----------------------------------------------------------------------------------


async def test_compute_node_delete_soft_deletes_once(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    node = await make(admin, updated_at=T0)
    other = await make(admin, "other")
    assert await db.compute_node_delete(admin, node["id"]) is None
    rows = await select(nova_db, "SELECT id, deleted, deleted_at, updated_at FROM compute_nodes ORDER BY id")
    assert [(r["id"], r["deleted"]) for r in rows] == [(node["id"], node["id"]), (other["id"], 0)]
    assert rows[0]["deleted_at"] is not None and rows[0]["updated_at"] == T0
    with pytest.raises(errors.ComputeHostNotFound) as caught:
        await db.compute_node_delete(admin, node["id"])
    assert caught.value.kwargs == {"host": node["id"]}
    with pytest.raises(errors.ComputeHostNotFound):
        await db.compute_node_delete(admin, 2**40)
    with pytest.raises(errors.Invalid):
        await db.compute_node_delete(admin, "first")  # type: ignore[arg-type]


# --- statistics ------------------------------------------------------------------------------


async def test_compute_node_statistics_sums_live_nodes_of_live_enabled_compute_services(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    svc_a = await make_service(nova_db, "a")
    svc_b = await make_service(nova_db, "b")
    await make_service(nova_db, "b", binary="nova-network")  # a second service on b: still counted once
    await make_service(nova_db, "disabled", disabled=True)
    await make_service(nova_db, "gone", deleted=True)
    await make_service(nova_db, "net", binary="nova-network")
    counted = [
        node_values("a", "a1", service_id=svc_a, free_ram_mb=100, running_vms=2, disk_available_least=None),
        node_values("a", "a2", vcpus=8, free_ram_mb=None, free_disk_gb=20, current_workload=1),
        node_values(None, "by-service-id", service_id=svc_b, memory_mb=1024, disk_available_least=-5),  # type: ignore[arg-type]
        node_values("b", "b1", service_id=svc_b, local_gb=1000, running_vms=4, disk_available_least=300),
    ]
    skipped = [
        node_values("disabled", "d1", free_ram_mb=7),
        node_values("gone", "g1", vcpus=1000),
        node_values("net", "n1", vcpus=1000),
        node_values("nowhere", "x1", vcpus=1000),
    ]
    for values in counted + skipped:
        await db.compute_node_create(admin, values)
    deleted = await db.compute_node_create(admin, node_values("a", "a3", vcpus=1000))
    await db.compute_node_delete(admin, deleted["id"])

    expected = {"count": len(counted)}
    for field in STAT_FIELDS:
        expected[field] = sum(values.get(field) or 0 for values in counted)
    stats = await db.compute_node_statistics(admin)
    assert stats == expected
    assert list(stats) == ["count", *STAT_FIELDS]
    assert all(type(value) is int for value in stats.values())


async def test_compute_node_statistics_of_no_nodes_is_all_zero(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    counter = StatementCounter()
    with nova_db.hooked(counter):
        stats = await db.compute_node_statistics(admin)
    assert counter.total == 1
    assert stats == dict.fromkeys(["count", *STAT_FIELDS], 0)


# --- uuid migration --------------------------------------------------------------------------


async def test_computenode_uuids_online_data_migration_gives_missing_uuids(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    have = await make(admin, "have", uuid="11111111-2222-3333-4444-555555555555")
    missing = [await make(admin, f"m{i}") for i in range(3)]
    gone = await make(admin, "gone")
    await db.compute_node_delete(admin, gone["id"])
    assert await db.computenode_uuids_online_data_migration(admin, 2) == (2, 2)
    assert await db.computenode_uuids_online_data_migration(admin, 10) == (1, 1)
    assert await db.computenode_uuids_online_data_migration(admin, 10) == (0, 0)
    rows = await select(nova_db, "SELECT id, uuid FROM compute_nodes ORDER BY id")
    uuids = {r["id"]: r["uuid"] for r in rows}
    assert uuids[have["id"]] == "11111111-2222-3333-4444-555555555555"
    assert all(len(uuids[n["id"]]) == 36 for n in missing)
    assert len({uuids[n["id"]] for n in missing}) == 3
    assert uuids[gone["id"]] is None  # deleted: not visible to the context
    assert await db.computenode_uuids_online_data_migration(admin, 0) == (0, 0)
    with pytest.raises(errors.Invalid):
        await db.computenode_uuids_online_data_migration(admin, -1)
