"""``rawdb bench``'s nova scenarios: dataset, cases, replay, nova 34's side and --check, on every backend."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqltools import OpenDb, count_rows, select

import rawdb
from rawdb import errors
from rawdb.bench import runner
from rawdb.bench.nova import ensure_database, nova_urls, restore, run_nova
from rawdb.bench.nova_cases import CAS_STATES, CASES_BY_NAME, CREATE_MARK, NOVA_CASES, call_spec, shape
from rawdb.bench.nova_inventory import api_url, load_inventory
from rawdb.bench.nova_load import load_nova
from rawdb.bench.nova_rows import plan_rows
from rawdb.bench.nova_seed import MIN_INSTANCES, TABLES, counts, describe, nova_plan
from rawdb.bench.options import CHECK_INSTANCES, INSTANCES
from rawdb.bench.peers import nova as nova_peer
from rawdb.database import url_dialect

SMALL = 600


def plan(*argv: str) -> runner.Plan:
    return runner.plan_of(runner.build_parser().parse_args(list(argv)))


# --- options -------------------------------------------------------------------------------------------


def test_nova_cases_are_selected_by_group_name_and_all_with_their_dataset_sizes() -> None:
    everything = plan()
    assert [c.name for c in everything.nova] == [c.name for c in NOVA_CASES]
    assert everything.instances == [INSTANCES] == [100_000]
    assert plan("--check").instances == [CHECK_INSTANCES] == [2000]
    only = plan("--cases", "nova", "--instances", "10_000,20000")
    assert (only.glance, only.quota, only.instances) == ([], False, [10000, 20000])
    assert len(only.nova) == len(NOVA_CASES) == 17
    picked = plan("--cases", "n_get_by_uuid,c_user_p1,n_get_by_uuid")
    assert ([c.name for c in picked.nova], [c.name for c in picked.glance]) == (["n_get_by_uuid"], ["c_user_p1"])
    assert plan("--cases", "glance").nova == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--instances", "lots"], "--instances takes numbers"),
        (["--instances", "100"], f"a nova dataset has at least {MIN_INSTANCES} instances"),
        (["--cases", "n_nope"], "unknown case 'n_nope'"),
    ],
)
def test_bad_nova_options_are_refused_before_anything_runs(argv: list[str], message: str) -> None:
    with pytest.raises(runner.UsageError, match=message):
        plan(*argv)


def test_the_nova_databases_sit_next_to_the_one_given() -> None:
    assert nova_urls("sqlite:////var/b/bench.sqlite") == (
        "sqlite:////var/b/bench.nova.sqlite",
        "sqlite:////var/b/bench.nova34.sqlite",
    )
    assert nova_urls("sqlite:///bench.db") == ("sqlite:///bench.nova.db", "sqlite:///bench.nova34.db")
    assert nova_urls("mysql://root@db:3306/bench?pool_size=4") == (
        "mysql://root@db:3306/bench_nova?pool_size=4",
        "mysql://root@db:3306/bench_nova34?pool_size=4",
    )
    ours, theirs = nova_urls("postgresql://root@db/bench?pool_size=4")
    assert dict(parse_qsl(urlsplit(ours).query)) == {"pool_size": "4", "search_path": "rawdb_bench_nova"}
    assert dict(parse_qsl(urlsplit(theirs).query))["search_path"] == "rawdb_bench_nova34"
    assert "search_path=t1_nova" in nova_urls("postgresql://root@db/bench?search_path=t1")[0]
    with pytest.raises(ValueError, match="plain names"):
        nova_urls("mysql://root@db/bench-db")
    with pytest.raises(ValueError, match="SQLite file"):
        nova_urls("sqlite:///:memory:")


def test_the_nova_peer_reaches_a_postgresql_schema_through_libpq_options() -> None:
    url = nova_peer.peer_sqlalchemy_url("postgresql://root@db/bench?search_path=x_nova34&pool_size=3")
    assert url == "postgresql+psycopg2://root@db/bench?options=-csearch_path%3Dx_nova34"
    assert nova_peer.peer_sqlalchemy_url("mysql://root@db/b_nova34").startswith("mysql+pymysql://root@db/b_nova34?")


# --- the dataset -----------------------------------------------------------------------------------------


def test_the_same_seed_and_size_give_the_same_rows_and_another_seed_others() -> None:
    def rows(seed: int) -> list[Any]:
        return [list(table_rows) for _, _, table_rows in plan_rows(nova_plan(SMALL, seed), lambda v: v)]

    assert rows(7) == rows(7)
    assert rows(7) != rows(8)
    assert describe(nova_plan(SMALL, 7)) == describe(nova_plan(SMALL, 7))


def test_the_dataset_has_the_shape_the_cases_need() -> None:
    seeded = nova_plan(5000)
    dataset = describe(seeded)
    total = counts(seeded)
    assert total["instances"] == 5000
    assert 9 <= total["instance_metadata"] / 5000 <= 11 and 14 <= total["instance_system_metadata"] / 5000 <= 16
    assert 2 * 1000 <= total["security_groups"] <= 3 * 1000 and total["security_group_rules"] > total["security_groups"]
    deleted = sum(1 for i in range(5000) if seeded.deleted(i))
    assert 0.17 < deleted / 5000 < 0.23
    assert 0 < dataset.changed < 5000 * 0.02
    assert dataset.changes_since.microsecond == 0  # a whole second: MySQL's DATETIME(0) in nova's schema
    assert dataset.host_listed > 5 and 30 < dataset.probe_listed < 5000 * 0.03
    listed = [seeded.uuids[i] for i in range(5000) if not seeded.deleted(i) and seeded.vm_state(i) != "soft-delete"]
    assert dataset.admin_listed == len(listed) and dataset.deep_marker == listed[::-1][len(listed) * 9 // 10]
    assert len({dataset.get_uuid, *dataset.cas_uuids}) == 3
    rows = {table: list(table_rows) for table, _, table_rows in plan_rows(seeded, lambda v: v)}
    assert {table: len(rows[table]) for table in TABLES} == total
    caches = [len(row[2]) for row in rows["instance_info_caches"] if not row[-1]]
    assert 1500 < sum(caches) / len(caches) < 4000  # nova's network_info JSON: a few KB
    json.loads(rows["instance_info_caches"][0][2])


def test_a_small_dataset_is_refused() -> None:
    with pytest.raises(errors.Invalid, match=f"at least {MIN_INSTANCES} instances"):
        nova_plan(MIN_INSTANCES - 1)


async def test_the_dataset_loads_once_and_is_reused_and_unrecorded_instances_are_kept(db: rawdb.Database) -> None:
    seeded = nova_plan(SMALL)
    assert await load_nova(db, seeded) is True
    for table, expected in counts(seeded).items():
        assert await count_rows(db, table) == expected, table
    assert await load_nova(db, seeded) is False  # the same fingerprint and counts: nothing loaded
    bigger = nova_plan(SMALL + 100)
    assert await load_nova(db, bigger) is True  # another size replaces it
    assert await count_rows(db, "instances") == SMALL + 100
    async with db.writer() as tx:
        await tx.execute(rawdb.Statement.portable("test.bench.forget", "DELETE FROM rawdb_bench_datasets"))
    with pytest.raises(errors.Invalid, match="no benchmark seeding recorded"):
        await load_nova(db, seeded)
    assert await count_rows(db, "instances") == SMALL + 100


_INDEXES = {
    "postgresql": "SELECT indexdef AS d FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexdef",
    "sqlite": "SELECT sql AS d FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY sql",
    "mysql": "SELECT CONCAT(table_name, '.', index_name, '.', column_name) AS d FROM information_schema.statistics"
    " WHERE table_schema = DATABASE() ORDER BY 1",
}
_FOREIGN_KEYS = {
    "postgresql": "SELECT conname AS d FROM pg_constraint WHERE contype = 'f' AND connamespace = "
    "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()) ORDER BY conname",
    "sqlite": "SELECT m.name || '.' || f.\"from\" AS d FROM sqlite_master m, pragma_foreign_key_list(m.name) f "
    "WHERE m.type = 'table' ORDER BY 1",
    "mysql": "SELECT constraint_name AS d FROM information_schema.referential_constraints"
    " WHERE constraint_schema = DATABASE() ORDER BY 1",
}


async def test_a_large_load_leaves_every_index_and_foreign_key_as_the_schema_made_them(db: rawdb.Database) -> None:
    from rawdb import schema
    from rawdb.bench.nova_load import REBUILD_FROM

    async def definitions() -> list[list[str]]:  # (the seeder's own rawdb_bench_datasets left out)
        return [
            [row["d"] for row in await select(db, q[db.dialect]) if "rawdb_bench_datasets" not in row["d"]]
            for q in (_INDEXES, _FOREIGN_KEYS)
        ]

    await schema.bootstrap(db, "nova")
    before = await definitions()
    assert len(before[0]) > 50 and len(before[1]) > 20
    seeded = nova_plan(REBUILD_FROM)
    assert await load_nova(db, seeded) is True
    assert await definitions() == before
    assert await count_rows(db, "instance_system_metadata") == counts(seeded)["instance_system_metadata"]


async def test_the_seeded_rows_read_back_identically_on_every_backend(db: rawdb.Database) -> None:
    seeded = nova_plan(SMALL)
    dataset = describe(seeded)
    await load_nova(db, seeded)
    rows = await select(
        db,
        "SELECT uuid, created_at, updated_at, deleted, host, vm_state FROM instances WHERE uuid = :uuid",
        uuid=dataset.get_uuid,
    )
    assert rows[0]["vm_state"] == "active" and rows[0]["deleted"] == 0 and rows[0]["host"].startswith("compute-")
    spec = call_spec(CASES_BY_NAME["n_get_by_uuid"], dataset)
    from rawdb.bench.nova import rawdb_call

    shaped = shape("get", await rawdb_call(db, spec)())
    assert shaped["uuid"] == dataset.get_uuid and len(shaped["metadata"]) >= 5 and len(shaped["system_metadata"]) >= 12
    assert shaped["security_groups"][0][0] == "default" and shaped["security_groups"][0][1]  # with its rules
    assert json.loads(shaped["network_info"])[0]["network"]["subnets"][0]["ips"]


# --- the cases on rawdb and the replay ------------------------------------------------------------------


async def test_the_replay_does_what_rawdb_did_and_the_writes_leave_the_dataset_as_it_was(db: rawdb.Database) -> None:
    seeded = nova_plan(SMALL)
    dataset = describe(seeded)
    await load_nova(db, seeded)
    await load_inventory(db, dataset.probe_project)
    figures, found = await run_nova(db, dataset, NOVA_CASES, targets=["rawdb", "driver"], rounds=1, calls=2)
    assert found["replay"] == {} and found["mismatches"] == {}
    timed = [c for c in NOVA_CASES if c.kind != "alloc"]  # the allocation throughputs are run_alloc's
    assert {(f.scenario, f.target) for f in figures} == {(c.name, t) for c in timed for t in ("rawdb", "driver")}
    assert all(f.samples and min(f.samples) > 0 for f in figures)
    results = found["results"]
    assert len(results["n_user_project_1000"]) == dataset.probe_listed
    assert len(results["n_by_host"]) == dataset.host_listed
    assert len(results["n_changes_since"]) == dataset.changed
    assert results["n_update_cas"] == {"uuid": dataset.cas_uuids[0], "task_state": CAS_STATES[1], "vm_state": "active"}
    assert results["n_create"]["security_groups"] == ["default"] and len(results["n_create"]["metadata"]) == 10
    assert all(i["project_id"] == dataset.probe_project for i in results["n_tags"])
    # the inventory: 1,000 live nodes (the 20 retired ones left out), 980 enabled compute services,
    # compute-0042 in az3, agg-11 and agg-14, 100 public flavors and 10 private ones shared with the project
    assert [node[1] for node in results["n_compute_nodes"]] == [f"compute-{k:04d}" for k in range(1000)]
    assert len(results["n_services_by_topic"]) == 980
    assert [(a[0], a[1]) for a in results["n_aggregates_by_host"]] == [(3, "az3"), (11, "agg-11"), (14, "agg-14")]
    assert len(results["n_aggregates_by_host"][0][2]) == 250 and "compute-0042" in results["n_aggregates_by_host"][1][2]
    assert results["n_aggregate_metadata_by_host"] == [
        ["availability_zone", ["az3"]],
        ["cpu_family", ["sapphirerapids"]],
        ["filter_tenant_id", [f"{11:032x}", f"{14:032x}"]],
        ["ssd", ["false", "true"]],
    ]
    assert len(results["n_flavors"]) == 110 and results["n_flavors"][0][0] == "f0001"
    # afterwards: the update's instances as seeded, no created instance left
    a, b = dataset.cas_uuids
    states = await select(db, "SELECT task_state, updated_at FROM instances WHERE uuid IN (:a, :b)", a=a, b=b)
    assert {row["task_state"] for row in states} == {None}
    assert {str(row["updated_at"])[:19] for row in states} == {str(t)[:19] for t in dataset.cas_updated}
    assert await select(db, "SELECT id FROM instances WHERE reservation_id = :m", m=CREATE_MARK) == []
    assert await count_rows(db, "instances") == SMALL


async def test_restore_undoes_an_interrupted_write_case(db: rawdb.Database) -> None:
    seeded = nova_plan(SMALL)
    dataset = describe(seeded)
    await load_nova(db, seeded)
    from rawdb.bench.nova import rawdb_call

    await rawdb_call(db, call_spec(CASES_BY_NAME["n_create"], dataset))()
    assert await count_rows(db, "instances") == SMALL + 1
    await restore(db, dataset)
    assert await count_rows(db, "instances") == SMALL
    assert await count_rows(db, "instance_metadata") == counts(seeded)["instance_metadata"]


# --- nova 34 --------------------------------------------------------------------------------------------


@pytest.fixture
async def nova_urls_cleaned(url: str, open_db: OpenDb) -> AsyncIterator[str]:
    """The backend's URL; the nova databases made next to it are dropped afterwards (MySQL, PostgreSQL)."""
    yield url
    main = await open_db(url)
    for derived in (*nova_urls(url), api_url(nova_urls(url)[1])):
        if url_dialect(url) == "mysql":
            sql = f"DROP DATABASE IF EXISTS {urlsplit(derived).path.lstrip('/')}"
        elif url_dialect(url) == "postgresql":
            sql = f"DROP SCHEMA IF EXISTS {dict(parse_qsl(urlsplit(derived).query))['search_path']} CASCADE"
        else:
            continue
        async with main.context(is_admin=True).writer(autocommit=True) as tx:
            await tx.script(sql, "drop the nova benchmark's database")


_PEER_CASES = [
    CASES_BY_NAME[name]
    for name in ("n_user_project_1000", "n_by_host", "n_tags", "n_get_by_uuid", "n_update_cas", "n_create")
] + [case for case in NOVA_CASES if case.kind == "inventory"]


async def test_nova_34_on_its_own_schema_returns_what_rawdb_returns(nova_urls_cleaned: str, open_db: OpenDb) -> None:
    peer_url = nova_urls(nova_urls_cleaned)[1]
    if (reason := nova_peer.available(peer_url)) is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true runs nova 34: .ci/run sets RAWDB_NOVA_PYTHON)", pytrace=False)
        pytest.skip(reason)
    main = await open_db(nova_urls_cleaned)
    await ensure_database(main, peer_url)
    await ensure_database(main, api_url(peer_url))
    peer = await nova_peer.NovaPeer.start(peer_url)
    try:
        await peer.sync()
        await peer.sync_api(api_url(peer_url))
        peer_db = await open_db(peer_url)
        db = await open_db(nova_urls_cleaned)
        seeded = nova_plan(SMALL)
        dataset = describe(seeded)
        await load_nova(db, seeded)
        assert await load_nova(peer_db, seeded, name="nova34", bootstrap=False) is True
        await load_inventory(db, dataset.probe_project)
        await load_inventory(peer_db, dataset.probe_project, api=await open_db(api_url(peer_url)))
        assert await count_rows(peer_db, "instance_system_metadata") == counts(seeded)["instance_system_metadata"]
        figures, found = await run_nova(
            db, dataset, _PEER_CASES, targets=["rawdb"], rounds=1, calls=2, peer=peer, peer_db=peer_db
        )
    finally:
        await peer.close()
    assert found["mismatches"] == {}
    theirs = {f.scenario: f for f in figures if f.target == "openstack"}
    assert set(theirs) == {case.name for case in _PEER_CASES}
    assert all(len(f.samples) == 2 and f.statements for f in theirs.values())
    inventory = {case.name for case in _PEER_CASES if case.kind == "inventory"}
    assert all(f.statements and f.statements >= 2 for name, f in theirs.items() if name not in inventory)
    assert await count_rows(peer_db, "instances") == SMALL  # its creates were removed too


async def test_a_nova_peer_that_cannot_start_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nova_peer, "available", lambda url: "nova is not installed: pip install 'rawdb[openstack]'")
    with pytest.raises(RuntimeError, match="nova is not installed"):
        await nova_peer.NovaPeer.start("sqlite:////nonexistent/nova34.sqlite")


# --- --check ------------------------------------------------------------------------------------------


async def test_nova_check_run_meets_its_budgets_and_references(
    nova_urls_cleaned: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nova.json"
    argv = ["--url", nova_urls_cleaned, "--check", "--cases", "nova", "--targets", "rawdb,driver", "--calls", "1"]
    argv += ["--json", str(out), "-q"]
    code = await asyncio.to_thread(runner.main, argv)
    captured = capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["problems"] == []
    assert code == 0
    timed = [case.name for case in NOVA_CASES if case.kind != "alloc"]
    allocations = [f"{case.name}_x{n}" for case in NOVA_CASES if case.kind == "alloc" for n in (1, 8)]
    assert all(f"{name} @2k" in captured.out for name in timed + allocations)
    replayed = {name: ("rawdb", "driver") for name in timed}
    # MariaDB's claims read a row, then update the row they read: no replay of that
    replayed |= {
        name: ("rawdb",) if url_dialect(nova_urls_cleaned) == "mysql" else ("rawdb", "driver") for name in allocations
    }
    assert {(f["scenario"], f["target"]) for f in data["figures"]} == {
        (name, target) for name, targets in replayed.items() for target in targets
    }
    (fingerprint,) = [fp for fp in data["result_digests"]]
    assert fingerprint == "nova/v1/seed=20250101/instances=2000"
    assert data["context"]["datasets"][fingerprint]["counts"]["instances"] == 2000


async def test_nova_check_fails_when_a_budget_is_exceeded(
    nova_urls_cleaned: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = json.loads(runner.BUDGETS.read_text())
    backend = url_dialect(nova_urls_cleaned)
    strict["statements"][backend]["n_get_by_uuid"] = 0
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(strict))
    argv = ["--url", nova_urls_cleaned, "--check", str(path), "--cases", "n_get_by_uuid", "--targets", "rawdb"]
    argv += ["--calls", "1", "--instances", str(SMALL), "-q"]
    assert await asyncio.to_thread(runner.main, argv) == 1
    captured = capsys.readouterr()
    assert f"PROBLEM: n_get_by_uuid: 1 statements per call on {backend}, budget 0" in captured.err
    assert f"no reference results for dataset nova/v1/seed=20250101/instances={SMALL}" in captured.err


# --- address allocation -----------------------------------------------------------------------------


async def test_allocation_runs_hand_out_distinct_addresses_and_leave_the_pools_free(db: rawdb.Database) -> None:
    from rawdb.bench.nova_alloc import POOL, load_pools, run_alloc

    seeded = nova_plan(SMALL)
    await load_nova(db, seeded)
    targets = ["rawdb", "limit"] + ([] if db.dialect == "mysql" else ["driver"])
    figures, problems, notes = await run_alloc(
        db, ["n_alloc_fixed", "n_alloc_floating"], seeded.uuids, targets=targets, callers=(1, 4), seconds=0.3, rounds=1
    )
    assert problems == []
    assert {(f.scenario, f.target) for f in figures} == {
        (f"{case}_x{n}", target) for case in ("n_alloc_fixed", "n_alloc_floating") for n in (1, 4) for target in targets
    }
    assert all(f.unit == "allocs/s" and f.samples[0] > 0 for f in figures if f.target != "limit")
    assert (notes != []) is (db.dialect == "mysql")
    # handed out again after every run: every address of both pools is free
    free = await select(
        db,
        "SELECT (SELECT COUNT(*) FROM fixed_ips WHERE network_id = 9001 AND instance_uuid IS NULL) AS fixed,"
        " (SELECT COUNT(*) FROM floating_ips WHERE pool = 'rawdb-bench' AND project_id IS NULL) AS floating",
    )
    assert (free[0]["fixed"], free[0]["floating"]) == (POOL, POOL)
    await load_pools(db)  # a second load keeps the rows it finds
    assert await count_rows(db, "fixed_ips") == POOL
