"""Nova's services (Newton, spec A.3 "Services"), on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import services as db
from rawdb.nova import settings
from rawdb.observe import StatementCounter

T0 = datetime(2016, 1, 1, 10, 0, 0)
SERVICE_KEYS = {
    "id",
    "host",
    "binary",
    "topic",
    "report_count",
    "disabled",
    "disabled_reason",
    "last_seen_up",
    "forced_down",
    "version",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


async def compute(ctx: rawdb.Context, host: str = "host1", **values: Any) -> dict[str, Any]:
    return await db.service_create(ctx, {"host": host, "binary": "nova-compute", "topic": "compute", **values})


async def make_node(database: rawdb.Database, host: str | None, service_id: int | None, **values: Any) -> int:
    """A compute node row written behind the API's back; its id."""
    row = {
        "host": host,
        "service_id": service_id,
        "hypervisor_hostname": values.pop("hypervisor_hostname", f"{host}-node"),
        "hypervisor_type": values.pop("hypervisor_type", "QEMU"),
        "deleted": values.pop("deleted", 0),
    }
    await execute(
        database,
        "INSERT INTO compute_nodes (host, service_id, hypervisor_hostname, hypervisor_type, vcpus, memory_mb, "
        "local_gb, vcpus_used, memory_mb_used, local_gb_used, hypervisor_version, cpu_info, created_at, deleted) "
        "VALUES (:host, :service_id, :hypervisor_hostname, :hypervisor_type, 1, 1, 1, 0, 0, 0, 1, '', :t, 0)",
        t=T0,
        **{k: v for k, v in row.items() if k != "deleted"},
    )
    rows = await select(database, "SELECT max(id) AS id FROM compute_nodes")
    node_id = int(rows[0]["id"])
    if row["deleted"]:
        await execute(database, "UPDATE compute_nodes SET deleted = id WHERE id = :i", i=node_id)
    return node_id


# --- create ----------------------------------------------------------------------------------


async def test_service_create_returns_the_row_with_the_model_defaults(admin: rawdb.Context) -> None:
    service = await compute(admin)
    assert set(service) == SERVICE_KEYS
    assert isinstance(service["id"], int)
    assert (service["host"], service["binary"], service["topic"]) == ("host1", "nova-compute", "compute")
    assert (service["report_count"], service["disabled"], service["forced_down"], service["version"]) == (
        0,
        False,
        False,
        0,
    )
    assert service["disabled_reason"] is None and service["last_seen_up"] is None
    assert service["deleted"] == 0 and service["deleted_at"] is None and service["updated_at"] is None
    assert isinstance(service["created_at"], datetime)
    assert await db.service_get(admin, service["id"]) == service


async def test_service_create_keeps_given_values(admin: rawdb.Context) -> None:
    service = await db.service_create(
        admin,
        {
            "host": "h",
            "binary": "nova-scheduler",
            "topic": "scheduler",
            "report_count": "7",
            "disabled": "true",
            "disabled_reason": "maintenance",
            "forced_down": True,
            "version": 15,
            "created_at": T0,
            "last_seen_up": T0,
        },
    )
    assert (service["report_count"], service["disabled"], service["disabled_reason"]) == (7, True, "maintenance")
    assert (service["forced_down"], service["version"], service["created_at"], service["last_seen_up"]) == (
        True,
        15,
        T0,
        T0,
    )


async def test_service_create_disabled_when_new_services_are_not_enabled(admin: rawdb.Context) -> None:
    with settings.overridden(enable_new_services=False):
        service = await compute(admin, disabled=False)
    assert service["disabled"] is True
    assert service["disabled_reason"] == "New service disabled due to config option."
    assert (await compute(admin, "host2"))["disabled"] is False  # the option is back to its default


async def test_service_create_same_host_and_binary_is_service_binary_exists(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await compute(admin)
    with pytest.raises(errors.ServiceBinaryExists) as caught:
        await compute(admin, topic="other-topic")
    assert (caught.value.kwargs["host"], caught.value.kwargs["binary"]) == ("host1", "nova-compute")
    assert "host1" in str(caught.value) and "nova-compute" in str(caught.value)
    assert isinstance(caught.value, errors.Duplicate)
    assert await count_rows(nova_db, "services") == 1


async def test_service_create_taking_both_keys_is_service_binary_exists_on_every_backend(
    admin: rawdb.Context,
) -> None:
    await compute(admin)
    with pytest.raises(errors.ServiceBinaryExists):
        await compute(admin)


async def test_service_create_same_host_and_topic_is_service_topic_exists(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await compute(admin)
    with pytest.raises(errors.ServiceTopicExists) as caught:
        await db.service_create(admin, {"host": "host1", "binary": "other-binary", "topic": "compute"})
    assert (caught.value.kwargs["host"], caught.value.kwargs["topic"]) == ("host1", "compute")
    assert await count_rows(nova_db, "services") == 1


async def test_service_create_reuses_a_deleted_services_host_and_binary(admin: rawdb.Context) -> None:
    old = await compute(admin)
    await db.service_destroy(admin, old["id"])
    new = await compute(admin)
    assert new["id"] != old["id"] and new["deleted"] == 0


async def test_service_create_duplicate_inside_a_transaction_lets_it_go_on(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    async with admin.writer() as tx:
        await compute(tx)
        with pytest.raises(errors.ServiceBinaryExists):
            await compute(tx, topic="t2")
        await compute(tx, "host2")
    assert [r["host"] for r in await select(nova_db, "SELECT host FROM services ORDER BY id")] == ["host1", "host2"]


@pytest.mark.parametrize(
    "values",
    [
        {"host": "h", "binary": "b", "topic": "t", "no_such_column": 1},
        {"host": "h" * 256, "binary": "b", "topic": "t"},
        {"host": "h\x00", "binary": "b", "topic": "t"},
        {"host": "h", "binary": "b", "topic": "t", "report_count": "many"},
        {"host": "h", "binary": "b", "topic": "t", "report_count": None},
        {"host": "h", "binary": "b", "topic": "t", "version": 2**31},
        {"host": "h", "binary": "b", "topic": "t", "disabled": "maybe"},
        {"host": "h", "binary": "b", "topic": "t", "last_seen_up": "2016-01-01T00:00:00"},
        {"host": "h", "binary": "b", "topic": "t", "id": 5},
    ],
)
async def test_service_create_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.service_create(admin, values)
    assert await count_rows(nova_db, "services") == 0


async def test_service_create_needs_a_dict(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.service_create(admin, [("host", "h")])  # type: ignore[arg-type]


@pytest.mark.parametrize("same_topic", [False, True])
async def test_concurrent_service_create_of_the_same_host_and_binary_makes_one_service(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, same_topic: bool
) -> None:
    databases = [await open_db(nova_url) for _ in range(2)]
    contexts = [rawdb.Context(d, is_admin=True) for d in databases]
    results = await asyncio.gather(
        *(compute(c, topic="compute" if same_topic else f"topic-{i}") for i, c in enumerate(contexts)),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, dict)]
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(created) == 1
    assert len(failed) == 1 and type(failed[0]) is errors.ServiceBinaryExists
    live = await select(nova_db, "SELECT id FROM services WHERE deleted = 0")
    assert [row["id"] for row in live] == [created[0]["id"]]


# --- get -------------------------------------------------------------------------------------


async def test_service_get_unknown_or_deleted_is_service_not_found(admin: rawdb.Context) -> None:
    service = await compute(admin)
    await db.service_destroy(admin, service["id"])
    for service_id in (service["id"], service["id"] + 100, 2**40):
        with pytest.raises(errors.ServiceNotFound) as caught:
            await db.service_get(admin, service_id)
        assert caught.value.kwargs["service_id"] == service_id
    with pytest.raises(errors.Invalid):
        await db.service_get(admin, "one")  # type: ignore[arg-type]


async def test_service_get_sees_a_deleted_service_with_read_deleted_yes(admin: rawdb.Context) -> None:
    service = await compute(admin)
    await db.service_destroy(admin, service["id"])
    got = await db.service_get(admin.elevated(read_deleted="yes"), service["id"])
    assert got["deleted"] == service["id"] and got["deleted_at"] is not None
    assert (await db.service_get(admin.elevated(read_deleted="only"), str(service["id"])))["id"] == service["id"]


async def test_service_get_is_one_statement(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    service = await compute(admin)
    counter = StatementCounter()
    with nova_db.hooked(counter):
        await db.service_get(admin, service["id"])
        await db.service_get_all(admin)
    assert counter.total == 2


async def test_service_get_all_filters_on_disabled_and_read_deleted(admin: rawdb.Context) -> None:
    a = await compute(admin, "a")
    b = await compute(admin, "b", disabled=True)
    c = await compute(admin, "c")
    await db.service_destroy(admin, c["id"])
    assert [s["id"] for s in await db.service_get_all(admin)] == [a["id"], b["id"]]
    assert [s["id"] for s in await db.service_get_all(admin, disabled=True)] == [b["id"]]
    assert [s["id"] for s in await db.service_get_all(admin, False)] == [a["id"]]
    assert [s["id"] for s in await db.service_get_all(admin, disabled="false")] == [a["id"]]
    assert [s["id"] for s in await db.service_get_all(admin.elevated(read_deleted="yes"))] == [
        a["id"],
        b["id"],
        c["id"],
    ]
    assert [s["id"] for s in await db.service_get_all(admin.elevated(read_deleted="only"))] == [c["id"]]
    with pytest.raises(errors.Invalid):
        await db.service_get_all(admin, disabled="sometimes")  # type: ignore[arg-type]


async def test_service_get_all_by_topic_lists_live_enabled_services(admin: rawdb.Context) -> None:
    a = await compute(admin, "a")
    await compute(admin, "b", disabled=True)
    c = await compute(admin, "c")
    gone = await compute(admin, "d")
    await db.service_destroy(admin, gone["id"])
    await db.service_create(admin, {"host": "a", "binary": "nova-scheduler", "topic": "scheduler"})
    assert [s["id"] for s in await db.service_get_all_by_topic(admin, "compute")] == [a["id"], c["id"]]
    assert await db.service_get_all_by_topic(admin, "COMPUTE") == []
    assert await db.service_get_all_by_topic(admin, "x" * 300) == []
    with pytest.raises(errors.Invalid):
        await db.service_get_all_by_topic(admin, None)  # type: ignore[arg-type]


async def test_service_get_by_host_and_topic_returns_the_live_enabled_service_or_none(admin: rawdb.Context) -> None:
    a = await compute(admin, "a")
    await compute(admin, "b", disabled=True)
    assert (await db.service_get_by_host_and_topic(admin, "a", "compute"))["id"] == a["id"]  # type: ignore[index]
    assert await db.service_get_by_host_and_topic(admin, "b", "compute") is None
    assert await db.service_get_by_host_and_topic(admin, "a", "network") is None
    assert await db.service_get_by_host_and_topic(admin, "a\x00", "compute") is None
    await db.service_destroy(admin, a["id"])
    assert await db.service_get_by_host_and_topic(admin, "a", "compute") is None


async def test_service_get_all_by_binary_includes_disabled_ones_only_when_asked(admin: rawdb.Context) -> None:
    a = await compute(admin, "a")
    b = await compute(admin, "b", disabled=True)
    gone = await compute(admin, "c")
    await db.service_destroy(admin, gone["id"])
    await db.service_create(admin, {"host": "a", "binary": "nova-cert", "topic": "cert"})
    assert [s["id"] for s in await db.service_get_all_by_binary(admin, "nova-compute")] == [a["id"]]
    got = await db.service_get_all_by_binary(admin, "nova-compute", include_disabled=True)
    assert [s["id"] for s in got] == [a["id"], b["id"]]
    assert await db.service_get_all_by_binary(admin, "nova-network") == []
    with pytest.raises(errors.Invalid):
        await db.service_get_all_by_binary(admin, "nova-compute", include_disabled="perhaps")  # type: ignore[arg-type]


async def test_service_get_all_computes_by_hv_type_once_per_service_with_live_nodes(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    a = await compute(admin, "a")
    b = await compute(admin, "b", disabled=True)
    c = await compute(admin, "c")
    other = await db.service_create(admin, {"host": "a", "binary": "nova-network", "topic": "network"})
    await make_node(nova_db, "a", a["id"], hypervisor_hostname="a1")
    await make_node(nova_db, "a", a["id"], hypervisor_hostname="a2")  # two matching nodes: the service once
    await make_node(nova_db, "b", b["id"])
    await make_node(nova_db, "c", c["id"], hypervisor_type="xen")
    await make_node(nova_db, "c", c["id"], hypervisor_hostname="old", deleted=True)  # deleted QEMU node
    assert [s["id"] for s in await db.service_get_all_computes_by_hv_type(admin, "QEMU")] == [a["id"]]
    got = await db.service_get_all_computes_by_hv_type(admin, "QEMU", include_disabled=True)
    assert [s["id"] for s in got] == [a["id"], b["id"]]
    assert set(got[0]) == SERVICE_KEYS
    assert [s["id"] for s in await db.service_get_all_computes_by_hv_type(admin, "xen")] == [c["id"]]
    assert await db.service_get_all_computes_by_hv_type(admin, "qemu") == []
    assert other["id"] not in {s["id"] for s in got}


async def test_service_get_by_host_and_binary_or_host_binary_not_found(admin: rawdb.Context) -> None:
    a = await compute(admin, "a", disabled=True)
    assert (await db.service_get_by_host_and_binary(admin, "a", "nova-compute"))["id"] == a["id"]
    with pytest.raises(errors.HostBinaryNotFound) as caught:
        await db.service_get_by_host_and_binary(admin, "a", "nova-cert")
    assert caught.value.kwargs == {"host": "a", "binary": "nova-cert"}
    await db.service_destroy(admin, a["id"])
    with pytest.raises(errors.HostBinaryNotFound):  # live only, whatever the context says
        await db.service_get_by_host_and_binary(admin.elevated(read_deleted="yes"), "a", "nova-compute")


async def test_service_get_by_args_follows_read_deleted(admin: rawdb.Context) -> None:
    a = await compute(admin, "a")
    assert (await db.service_get_by_args(admin, "a", "nova-compute"))["id"] == a["id"]
    await db.service_destroy(admin, a["id"])
    with pytest.raises(errors.HostBinaryNotFound) as caught:
        await db.service_get_by_args(admin, "a", "nova-compute")
    assert "nova-compute" in str(caught.value) and "a" in str(caught.value)
    got = await db.service_get_by_args(admin.elevated(read_deleted="yes"), "a", "nova-compute")
    assert got["id"] == a["id"] and got["deleted"] == a["id"]
    with pytest.raises(errors.HostBinaryNotFound):
        await db.service_get_by_args(admin, "a" * 256, "nova-compute")


async def test_service_get_all_by_host_lists_the_hosts_live_services(admin: rawdb.Context) -> None:
    a = await compute(admin, "a", disabled=True)
    net = await db.service_create(admin, {"host": "a", "binary": "nova-network", "topic": "network"})
    gone = await db.service_create(admin, {"host": "a", "binary": "nova-cert", "topic": "cert"})
    await db.service_destroy(admin, gone["id"])
    await compute(admin, "b")
    assert [s["id"] for s in await db.service_get_all_by_host(admin, "a")] == [a["id"], net["id"]]
    assert await db.service_get_all_by_host(admin, "A") == []


async def test_service_get_by_compute_host_finds_the_nova_compute_service(admin: rawdb.Context) -> None:
    await db.service_create(admin, {"host": "a", "binary": "nova-network", "topic": "compute-ish"})
    with pytest.raises(errors.ComputeHostNotFound) as caught:
        await db.service_get_by_compute_host(admin, "a")
    assert caught.value.kwargs == {"host": "a"}
    a = await db.service_create(admin, {"host": "a", "binary": "nova-compute", "topic": "not-compute"})
    got = await db.service_get_by_compute_host(admin, "a")
    assert got == a  # Newton: by binary, not topic; no compute node joined
    await db.service_destroy(admin, a["id"])
    with pytest.raises(errors.ComputeHostNotFound):
        await db.service_get_by_compute_host(admin, "a")


async def test_service_get_minimum_version_per_binary_among_live_services_not_forced_down(
    admin: rawdb.Context,
) -> None:
    await compute(admin, "a", version=10)
    await compute(admin, "b", version=7, forced_down=True)
    await compute(admin, "c", version=12)
    gone = await compute(admin, "d", version=2)
    await db.service_destroy(admin, gone["id"])
    await db.service_create(admin, {"host": "a", "binary": "nova-scheduler", "topic": "scheduler", "version": 3})
    assert await db.service_get_minimum_version(admin, ["nova-compute", "nova-scheduler", "nova-cert"]) == {
        "nova-compute": 10,
        "nova-scheduler": 3,
    }
    assert await db.service_get_minimum_version(admin, "nova-compute") == {"nova-compute": 10}
    assert await db.service_get_minimum_version(admin, ("nova-conductor",)) == {}
    assert await db.service_get_minimum_version(admin, []) == {}
    with pytest.raises(errors.Invalid):
        await db.service_get_minimum_version(admin, 5)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.service_get_minimum_version(admin, ["nova-compute", None])  # type: ignore[list-item]


# --- update ----------------------------------------------------------------------------------


async def test_service_update_changes_given_columns_and_updated_at(admin: rawdb.Context) -> None:
    service = await compute(admin)
    updated = await db.service_update(admin, service["id"], {"disabled": True, "disabled_reason": "broken"})
    assert (updated["disabled"], updated["disabled_reason"]) == (True, "broken")
    assert updated["updated_at"] is not None and updated["updated_at"] >= service["created_at"]
    assert {k: v for k, v in updated.items() if k not in ("disabled", "disabled_reason", "updated_at")} == {
        k: v for k, v in service.items() if k not in ("disabled", "disabled_reason", "updated_at")
    }
    assert await db.service_get(admin, service["id"]) == updated


async def test_service_update_keeps_a_given_updated_at(admin: rawdb.Context) -> None:
    service = await compute(admin)
    updated = await db.service_update(admin, service["id"], {"version": 2, "updated_at": T0})
    assert (updated["version"], updated["updated_at"]) == (2, T0)


async def test_service_update_report_count_increase_sets_last_seen_up(admin: rawdb.Context) -> None:
    service = await compute(admin, report_count=5)
    same = await db.service_update(admin, service["id"], {"report_count": 5})
    assert same["last_seen_up"] is None
    lower = await db.service_update(admin, service["id"], {"report_count": 3})
    assert lower["last_seen_up"] is None and lower["report_count"] == 3
    before = datetime.utcnow() - timedelta(seconds=5)
    higher = await db.service_update(admin, service["id"], {"report_count": 4})
    assert higher["report_count"] == 4
    assert higher["last_seen_up"] is not None and higher["last_seen_up"] > before
    given = await db.service_update(admin, service["id"], {"report_count": 10, "last_seen_up": T0})
    assert given["last_seen_up"] == T0


async def test_service_update_with_no_values_writes_nothing(admin: rawdb.Context) -> None:
    service = await compute(admin)
    assert await db.service_update(admin, service["id"], {}) == service


async def test_service_update_unknown_or_deleted_is_service_not_found(admin: rawdb.Context) -> None:
    service = await compute(admin)
    await db.service_destroy(admin, service["id"])
    for values in ({"version": 3}, {}):
        with pytest.raises(errors.ServiceNotFound):
            await db.service_update(admin, service["id"], values)
    with pytest.raises(errors.ServiceNotFound):
        await db.service_update(admin, 2**40, {"version": 3})
    revived = await db.service_update(admin.elevated(read_deleted="yes"), service["id"], {"version": 3})
    assert revived["version"] == 3 and revived["deleted"] == service["id"]


async def test_service_update_onto_another_services_keys_is_exists(admin: rawdb.Context) -> None:
    await compute(admin, "a")
    b = await compute(admin, "b")
    with pytest.raises(errors.ServiceBinaryExists) as caught:
        await db.service_update(admin, b["id"], {"host": "a"})  # binary and topic both taken
    assert caught.value.kwargs == {"host": "a", "binary": "nova-compute"}
    with pytest.raises(errors.ServiceBinaryExists):
        await db.service_update(admin, b["id"], {"host": "a", "topic": "free-topic"})
    net = await db.service_create(admin, {"host": "b", "binary": "nova-network", "topic": "network"})
    with pytest.raises(errors.ServiceTopicExists) as topic_caught:
        await db.service_update(admin, net["id"], {"topic": "compute"})
    assert topic_caught.value.kwargs == {"host": "b", "topic": "compute"}
    assert await db.service_get(admin, b["id"]) == b


@pytest.mark.parametrize(
    "values", [{"deleted": 1}, {"id": 9}, {"report_count": None}, {"topic": "t" * 256}, {"version": "new"}, []]
)
async def test_service_update_bad_values_are_invalid(admin: rawdb.Context, values: Any) -> None:
    service = await compute(admin)
    with pytest.raises(errors.Invalid):
        await db.service_update(admin, service["id"], values)
    assert await db.service_get(admin, service["id"]) == service


# --- destroy ---------------------------------------------------------------------------------


async def test_service_destroy_soft_deletes_the_service_and_its_compute_nodes(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    a = await compute(admin, "a")
    b = await compute(admin, "b")
    by_id = await make_node(nova_db, "elsewhere", a["id"], hypervisor_hostname="n1")
    by_host = await make_node(nova_db, "a", None, hypervisor_hostname="n2")
    other = await make_node(nova_db, "b", b["id"], hypervisor_hostname="n3")
    await execute(nova_db, "UPDATE services SET updated_at = :t WHERE id = :i", t=T0, i=a["id"])
    assert await db.service_destroy(admin, a["id"]) is None
    rows = await select(nova_db, "SELECT id, deleted, deleted_at, updated_at FROM services ORDER BY id")
    assert [(r["id"], r["deleted"]) for r in rows] == [(a["id"], a["id"]), (b["id"], 0)]
    assert rows[0]["deleted_at"] is not None and rows[0]["updated_at"] == T0  # bulk soft delete keeps it
    nodes = await select(nova_db, "SELECT id, deleted, deleted_at FROM compute_nodes ORDER BY id")
    assert [(n["id"], n["deleted"]) for n in nodes] == [(by_id, by_id), (by_host, by_host), (other, 0)]
    with pytest.raises(errors.ServiceNotFound):
        await db.service_destroy(admin, a["id"])


async def test_service_destroy_unknown_is_service_not_found_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    a = await compute(admin, "a")
    await make_node(nova_db, "a", a["id"])
    for service_id in (a["id"] + 1, 2**35):
        with pytest.raises(errors.ServiceNotFound) as caught:
            await db.service_destroy(admin, service_id)
        assert caught.value.kwargs == {"service_id": service_id}
    with pytest.raises(errors.Invalid):
        await db.service_destroy(admin, None)  # type: ignore[arg-type]
    assert [r["deleted"] for r in await select(nova_db, "SELECT deleted FROM compute_nodes")] == [0]
    assert [r["deleted"] for r in await select(nova_db, "SELECT deleted FROM services")] == [0]


async def test_service_destroy_rolls_back_with_the_callers_transaction(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    a = await compute(admin, "a")
    await make_node(nova_db, "a", a["id"])
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            await db.service_destroy(tx, a["id"])
            raise RuntimeError("roll back")
    assert (await db.service_get(admin, a["id"]))["deleted"] == 0
    assert [r["deleted"] for r in await select(nova_db, "SELECT deleted FROM compute_nodes")] == [0]
