"""``rawdb bench``'s nova_archive case: its dataset, its options, and rawdb's and nova 34's archives agreeing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqltools import OpenDb, count_rows, select

from rawdb import schema
from rawdb.bench import runner
from rawdb.bench.nova import ensure_database
from rawdb.bench.nova_archive import (
    SCENARIO,
    archive_scenarios,
    archive_table,
    archive_urls,
    check_archived,
    rawdb_archive,
)
from rawdb.bench.nova_archive_seed import TABLES, archive_rows, counts, expected_shadow, live, load_archive
from rawdb.bench.options import ARCHIVE_INSTANCES, CHECK_ARCHIVE_INSTANCES
from rawdb.bench.peers import nova as nova_peer
from rawdb.database import url_dialect

SMALL = 200  # soft-deleted instances: nova 34 archives them in well under a minute


def plan(*argv: str) -> runner.Plan:
    return runner.plan_of(runner.build_parser().parse_args(list(argv)))


# --- options and dataset ----------------------------------------------------------------------------


def test_nova_archive_runs_only_when_named_with_its_sizes() -> None:
    assert plan().archive == [] and plan("--cases", "nova").archive == []
    assert plan("--cases", "nova_archive").archive == [ARCHIVE_INSTANCES] == [20_000]
    assert plan("--cases", "nova_archive", "--check").archive == [CHECK_ARCHIVE_INSTANCES]
    picked = plan("--cases", "nova_archive", "--archive-instances", "20_000,1000000", "--archive-peer-max", "9")
    assert (picked.archive, picked.archive_peer_max, picked.nova, picked.glance) == ([20_000, 1_000_000], 9, [], [])
    with pytest.raises(runner.UsageError, match="--archive-instances takes numbers"):
        plan("--cases", "nova_archive", "--archive-instances", "many")


def test_the_archive_databases_sit_next_to_the_one_given_apart_from_the_nova_ones() -> None:
    assert archive_urls("sqlite:////var/b/bench.sqlite") == (
        "sqlite:////var/b/bench.novaarc.sqlite",
        "sqlite:////var/b/bench.novaarc34.sqlite",
    )
    assert archive_urls("mysql://root@db:3306/bench?pool_size=4") == (
        "mysql://root@db:3306/bench_novaarc?pool_size=4",
        "mysql://root@db:3306/bench_novaarc34?pool_size=4",
    )
    ours = archive_urls("postgresql://root@db/bench?search_path=t1")[0]
    assert dict(parse_qsl(urlsplit(ours).query))["search_path"] == "t1_novaarc"
    with pytest.raises(ValueError, match="plain names"):
        archive_urls("mysql://root@db/bench-db")


def test_the_dataset_is_deterministic_and_as_described() -> None:
    first = {table: list(rows) for table, rows in archive_rows(SMALL)}
    again = {table: list(rows) for table, rows in archive_rows(SMALL)}
    assert first == again
    assert {table: len(rows) for table, rows in first.items()} == counts(SMALL)
    instances = first["instances"]
    deleted = [row for row in instances if row[5]]
    assert len(deleted) == SMALL and len(instances) - SMALL == live(SMALL) == 20
    assert all(row[5] == row[0] and row[4] is not None for row in deleted)  # deleted = id, deleted_at set
    assert instances[-1][5] == 0 and instances[0][5] != 0  # live ones spread among the deleted
    sysmeta = [row for row in first["instance_system_metadata"] if row[1] == deleted[0][1]]
    assert len(sysmeta) == 10 and all(row[-1] == row[0] for row in sysmeta)  # soft-deleted with it
    actions = {row[0] for row in first["instance_actions"] if row[2] == deleted[0][1]}
    assert len(actions) == 2 and all(row[-1] == 0 for row in first["instance_actions"])  # kept live
    assert sum(expected_shadow(SMALL).values()) == 22 * SMALL + live(SMALL)


# --- on every backend ---------------------------------------------------------------------------------


@pytest.fixture
async def archive_url(url: str, open_db: OpenDb) -> AsyncIterator[str]:
    """The backend's URL; the archive databases made next to it are dropped afterwards."""
    yield url
    main = await open_db(url)
    for derived in archive_urls(url):
        if url_dialect(url) == "mysql":
            sql = f"DROP DATABASE IF EXISTS {urlsplit(derived).path.lstrip('/')}"
        elif url_dialect(url) == "postgresql":
            sql = f"DROP SCHEMA IF EXISTS {dict(parse_qsl(urlsplit(derived).query))['search_path']} CASCADE"
        else:
            continue
        async with main.context(is_admin=True).writer(autocommit=True) as tx:
            await tx.script(sql, "drop the archive benchmark's database")


async def _live_tables(db_url: str, open_db: OpenDb) -> tuple[dict[str, int], dict[str, int], int]:
    """Rows per shadow table, soft-deleted rows per live table, live instances."""
    db = await open_db(db_url)
    shadow = {table: await count_rows(db, f"shadow_{table}") for table in TABLES}
    left = {
        table: (await select(db, f"SELECT COUNT(*) AS n FROM {table} WHERE deleted <> 0"))[0]["n"] for table in TABLES
    }
    return shadow, left, await count_rows(db, "instances")


async def test_rawdb_archives_every_soft_deleted_row_in_batches(archive_url: str, open_db: OpenDb) -> None:
    main = await open_db(archive_url)
    ours = archive_urls(archive_url)[0]
    await ensure_database(main, ours)
    db = await open_db(ours)
    await schema.bootstrap(db, "nova")
    await load_archive(db, SMALL)
    assert await count_rows(db, "instance_system_metadata") == counts(SMALL)["instance_system_metadata"]
    done = await rawdb_archive(db, max_rows=1000)
    assert done.rows == sum(expected_shadow(SMALL).values()) == sum(done.tables.values())
    assert done.calls == 2  # one run moves everything, the next finds nothing
    assert done.transactions > sum(done.tables.values()) // 1000  # in batches of at most 1000 rows
    assert 0 < done.longest_ms < done.seconds * 1000 and done.peak_rss_mb >= done.rss_mb > 0
    assert await check_archived(db, SMALL) == []
    shadow, left, instances = await _live_tables(ours, open_db)
    assert shadow == expected_shadow(SMALL) and not any(left.values()) and instances == live(SMALL)
    await load_archive(db, SMALL)  # loading again starts from an empty shadow
    assert await count_rows(db, "shadow_instances") == 0


async def test_rawdb_and_nova_34_archive_the_same_rows(archive_url: str, open_db: OpenDb) -> None:
    peer_url = archive_urls(archive_url)[1]
    if (reason := nova_peer.available(peer_url)) is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true runs nova 34: .ci/run sets RAWDB_NOVA_PYTHON)", pytrace=False)
        pytest.skip(reason)
    main = await open_db(archive_url)
    said: list[str] = []
    run = await archive_scenarios(main, [SMALL], targets=["rawdb", "openstack"], say=said.append, peer_max=SMALL)
    assert run.problems == []
    figures = {figure.target: figure for figure in run.figures}
    assert set(figures) == {"rawdb", "openstack"} and all(f.scenario == SCENARIO for f in figures.values())
    assert figures["rawdb"].info["tables"] == figures["openstack"].info["tables"]
    assert figures["rawdb"].info["rows"] == sum(expected_shadow(SMALL).values())
    assert all(f.median > 0 and f.info["longest_batch_ms"] > 0 for f in figures.values())
    ours = await _live_tables(archive_urls(archive_url)[0], open_db)
    theirs = await _live_tables(peer_url, open_db)
    assert ours == theirs
    shadow, left, instances = ours
    assert shadow == expected_shadow(SMALL) and not any(left.values()) and instances == live(SMALL)
    text = archive_table(run.figures)
    assert f"{SCENARIO} @{SMALL}" in text and "rows per second nova 34 does" in text
