"""``rawdb bench``'s cinder scenarios: options, dataset, cases, replay and --check, on every backend."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqltools import OpenDb, count_rows, select

import rawdb
from rawdb.bench import runner
from rawdb.bench.cinder import cinder29_url, cinder_url, run_cinder, run_iscsi
from rawdb.bench.cinder_seed import CINDER_CASES, POOL, counts, seed_cinder, seed_cinder29, volume_id
from rawdb.bench.nova import ensure_database
from rawdb.bench.peers import cinder_volumes
from rawdb.database import url_dialect

SMALL = 2000
LATENCY = ["c_volumes_by_project", "c_volume_get", "c_volume_sorted"]


def plan(*argv: str) -> runner.Plan:
    return runner.plan_of(runner.build_parser().parse_args(list(argv)))


# --- options -------------------------------------------------------------------------------------------


def test_cinder_cases_are_selected_by_group_name_and_all_with_their_dataset_sizes() -> None:
    everything = plan()
    assert everything.cinder == ["c_volumes_by_project", "c_volume_get", "c_volume_sorted", "c_iscsi_alloc"]
    assert everything.volumes == [100_000]
    assert plan("--check").volumes == [10_000]
    # the allocation runs with 32 callers under --check too, so its x32 budget is checked
    assert everything.cinder_callers == plan("--check").cinder_callers == (1, 8, 32)
    assert plan("--check").callers == (1, 8)  # the other groups' allocations and quota scenarios
    only = plan("--cases", "cinder", "--volumes", "20_000,50000")
    assert (only.glance, only.nova, only.quota, only.volumes) == ([], [], False, [20000, 50000])
    assert plan("--cases", "c_volume_get,c_volume_get,c_user_p1").cinder == ["c_volume_get"]
    assert plan("--cases", "nova").cinder == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--volumes", "many"], "--volumes takes numbers"),
        (["--volumes", "100"], "a cinder dataset has at least 2000 volumes"),
        (["--cases", "c_nope"], "unknown case 'c_nope'"),
    ],
)
def test_bad_cinder_options_are_refused_before_anything_runs(argv: list[str], message: str) -> None:
    with pytest.raises(runner.UsageError, match=message):
        plan(*argv)


def test_the_cinder_database_sits_next_to_the_one_given() -> None:
    assert cinder_url("sqlite:////var/b/bench.sqlite") == "sqlite:////var/b/bench.cinder.sqlite"
    assert cinder_url("sqlite:///bench.db") == "sqlite:///bench.cinder.db"
    assert cinder_url("mysql://root@db:3306/bench?pool_size=4") == "mysql://root@db:3306/bench_cinder?pool_size=4"
    query = dict(parse_qsl(urlsplit(cinder_url("postgresql://root@db/bench?pool_size=4")).query))
    assert query == {"pool_size": "4", "search_path": "rawdb_bench_cinder"}
    assert "search_path=t1_cinder" in cinder_url("postgresql://root@db/bench?search_path=t1")
    with pytest.raises(ValueError, match="SQLite file"):
        cinder_url("sqlite:///:memory:")


# --- the dataset -----------------------------------------------------------------------------------------


async def test_the_dataset_has_the_shape_the_cases_need_and_is_reused(db: rawdb.Database) -> None:
    dataset = await seed_cinder(db, SMALL)
    assert dataset.reused is False
    for table, rows in {"services": 100, "volume_types": 2, "volumes": SMALL, "volume_metadata": 3 * SMALL}.items():
        assert await count_rows(db, table) == rows
    assert counts(SMALL)["iscsi_targets"] == POOL == await count_rows(db, "iscsi_targets")
    found = await select(
        db,
        "SELECT (SELECT COUNT(*) FROM volumes WHERE project_id = 'proj-0000') AS hot,"
        " (SELECT COUNT(*) FROM volumes WHERE project_id = 'proj-0000' AND deleted) AS hot_deleted,"
        " (SELECT COUNT(*) FROM volumes WHERE deleted) AS deleted,"
        " (SELECT COUNT(DISTINCT project_id) FROM volumes) AS projects,"
        " (SELECT COUNT(DISTINCT host) FROM volumes) AS hosts,"
        " (SELECT COUNT(*) FROM volume_metadata WHERE deleted) AS metadata_deleted,"
        " (SELECT COUNT(*) FROM services WHERE disabled) AS disabled,"
        " (SELECT COUNT(*) FROM iscsi_targets WHERE volume_id IS NULL) AS free",
    )
    assert {k: int(v) for k, v in found[0].items()} == {
        "hot": 1000,
        "hot_deleted": 50,
        "deleted": 100,
        "projects": 1000,
        "hosts": 98,
        "metadata_deleted": 200,
        "disabled": 4,
        "free": POOL,
    }
    assert (await seed_cinder(db, SMALL)).reused is True


async def test_the_latency_cases_return_the_rows_the_dataset_has(db: rawdb.Database) -> None:
    dataset = await seed_cinder(db, SMALL)
    figures, results, problems = await run_cinder(db, dataset, LATENCY, targets=["rawdb", "driver"], rounds=1, calls=2)
    assert problems == []
    assert {(f.scenario, f.target) for f in figures} == {(c, t) for c in LATENCY for t in ("rawdb", "driver")}
    assert all(len(f.samples) == 2 and f.statements for f in figures)
    # volume 500: host 500 % 98, size 1 + 500 % 50, attached, type 1, its third metadata row deleted
    assert results["c_volume_get"] == [
        volume_id(500),
        "proj-0000",
        "host-010",
        1,
        "in-use",
        "attached",
        "11111111-0000-4000-8000-000000000500",
        "/dev/vdb",
        "vol-000000000500",
        "2024-01-01 00:08:20",
        False,
        "standard",
        [["purpose", "db-06"], ["tier", "gold"]],
    ]
    listed = results["c_volumes_by_project"]
    assert len(listed) == 950 and listed[0][0] == volume_id(0) and listed[-1][0] == volume_id(998)
    assert listed[9][11] is None  # every 10th volume has no type
    ordered = results["c_volume_sorted"]
    assert len(ordered) == 96  # 4 disabled services left out
    assert ordered[0] == [99, "host-098", False, 0]  # the host with no volume first
    assert [row[3] for row in ordered] == sorted(row[3] for row in ordered)


async def test_allocation_runs_hand_out_distinct_targets_and_leave_the_pool_free(db: rawdb.Database) -> None:
    dataset = await seed_cinder(db, SMALL)
    targets = ["rawdb", "driver"]
    figures, problems, notes = await run_iscsi(db, dataset, targets=targets, callers=(1, 4), seconds=0.3, rounds=1)
    assert problems == []
    replayed = targets if db.dialect != "mysql" else ["rawdb"]
    assert {(f.scenario, f.target) for f in figures} == {(f"c_iscsi_alloc_x{n}", t) for n in (1, 4) for t in replayed}
    assert all(f.unit == "allocs/s" and f.samples[0] > 0 for f in figures)
    assert (notes != []) is (db.dialect == "mysql")
    free = await select(db, "SELECT COUNT(*) AS n FROM iscsi_targets WHERE volume_id IS NULL")
    assert int(free[0]["n"]) == POOL


# --- --check ------------------------------------------------------------------------------------------


@pytest.fixture
async def cinder_cleaned(url: str, open_db: OpenDb) -> AsyncIterator[str]:
    """The backend's URL; the cinder database made next to it is dropped afterwards (MySQL, PostgreSQL)."""
    yield url
    derived = cinder_url(url)
    if url_dialect(url) == "mysql":
        sql = f"DROP DATABASE IF EXISTS {urlsplit(derived).path.lstrip('/')}"
    elif url_dialect(url) == "postgresql":
        sql = f"DROP SCHEMA IF EXISTS {dict(parse_qsl(urlsplit(derived).query))['search_path']} CASCADE"
    else:
        return
    main = await open_db(url)
    async with main.context(is_admin=True).writer(autocommit=True) as tx:
        await tx.script(sql, "drop the cinder benchmark's database")


async def test_cinder_check_run_meets_its_budgets_and_references(
    cinder_cleaned: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cinder.json"
    argv = ["--url", cinder_cleaned, "--check", "--cases", "cinder", "--targets", "rawdb,driver", "--calls", "2"]
    argv += ["--seconds", "0.3", "--json", str(out), "-q"]
    code = await asyncio.to_thread(runner.main, argv)
    captured = capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["problems"] == []
    assert code == 0
    allocations = [f"c_iscsi_alloc_x{n}" for n in (1, 8, 32)]  # each checked against its budget
    assert all(f"{name} @10k" in captured.out for name in LATENCY + allocations)
    expected = {(name, target) for name in LATENCY for target in ("rawdb", "driver")}
    alloc_targets = ("rawdb",) if url_dialect(cinder_cleaned) == "mysql" else ("rawdb", "driver")
    expected |= {(name, target) for name in allocations for target in alloc_targets}
    assert {(f["scenario"], f["target"]) for f in data["figures"]} == expected
    budgets = json.loads(runner.BUDGETS.read_text())["statements"][data["context"]["backend"]]
    spent = {f["scenario"]: f["statements"] for f in data["figures"] if f["target"] == "rawdb"}
    assert [spent[name] for name in allocations] == [budgets[name] for name in allocations]
    assert list(data["result_digests"]) == ["cinder/v1/volumes=10000"]
    assert set(data["result_digests"]["cinder/v1/volumes=10000"]) == set(LATENCY)
    assert set(CINDER_CASES) == {*LATENCY, "c_iscsi_alloc"}


async def test_cinder_check_fails_on_a_result_unlike_its_reference(
    cinder_cleaned: str, tmp_path: Path, open_db: OpenDb, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = json.loads(runner.BUDGETS.read_text())
    strict["references"]["cinder/v1/volumes=10000"]["c_volume_get"] = "0000000000000000"
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(strict))
    main = await open_db(cinder_cleaned)
    await ensure_database(main, cinder_url(cinder_cleaned))
    argv = ["--url", cinder_cleaned, "--check", str(path), "--cases", "c_volume_get", "--targets", "rawdb"]
    argv += ["--calls", "1", "-q"]
    assert await asyncio.to_thread(runner.main, argv) == 1
    assert "PROBLEM: c_volume_get: result differs from the reference" in capsys.readouterr().err


# --- cinder 29 ------------------------------------------------------------------------------------------


@pytest.fixture
async def cinder29_cleaned(url: str, open_db: OpenDb) -> AsyncIterator[str]:
    """The backend's URL; the cinder and cinder 29 databases made next to it are dropped afterwards."""
    yield url
    main = await open_db(url)
    for derived in (cinder_url(url), cinder29_url(url)):
        if url_dialect(url) == "mysql":
            sql = f"DROP DATABASE IF EXISTS {urlsplit(derived).path.lstrip('/')}"
        elif url_dialect(url) == "postgresql":
            sql = f"DROP SCHEMA IF EXISTS {dict(parse_qsl(urlsplit(derived).query))['search_path']} CASCADE"
        else:
            continue
        async with main.context(is_admin=True).writer(autocommit=True) as tx:
            await tx.script(sql, "drop the cinder benchmark's databases")


async def test_cinder_29_on_its_own_schema_returns_what_rawdb_returns(cinder29_cleaned: str, open_db: OpenDb) -> None:
    peer_url = cinder29_url(cinder29_cleaned)
    if (reason := cinder_volumes.available(peer_url)) is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true runs cinder 29)", pytrace=False)
        pytest.skip(reason)
    main = await open_db(cinder29_cleaned)
    await ensure_database(main, cinder_url(cinder29_cleaned))
    await ensure_database(main, peer_url)
    db = await open_db(cinder_url(cinder29_cleaned))
    peer_db = await open_db(peer_url)
    dataset = await seed_cinder(db, SMALL)
    peer = await asyncio.to_thread(cinder_volumes.CinderVolumesPeer, peer_url)
    try:
        with pytest.raises(RuntimeError, match="one engine per process"):
            cinder_volumes.CinderVolumesPeer(peer_url)
        await asyncio.to_thread(peer.sync)
        assert (await seed_cinder29(peer_db, SMALL)).reused is False
        assert (await seed_cinder29(peer_db, SMALL)).reused is True
        assert await count_rows(peer_db, "volume_metadata") == 3 * SMALL
        cases = ["c_volumes_by_project", "c_volume_get"]
        figures, results, problems = await run_cinder(
            db, dataset, cases, targets=["rawdb"], rounds=1, calls=2, peer=peer
        )
    finally:
        peer.close()
    assert problems == []
    theirs = {f.scenario: f for f in figures if f.target == "openstack"}
    assert set(theirs) == set(cases)
    assert all(len(f.samples) == 2 and f.statements for f in theirs.values())
    # volume 500 as both return it: its live metadata, type 1 (9 is untyped: no type on either side)
    assert results["c_volume_get"][-1] == [["purpose", "db-06"], ["tier", "gold"]]
    closed = cinder_volumes.CinderVolumesPeer(peer_url)  # closing gave cinder its factory back
    closed.close()
