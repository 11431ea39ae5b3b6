"""rawdb through a real PgBouncer in transaction pooling mode (``?pgbouncer=true``).

Each service's calls give through the bouncer what they give on a direct connection, the
quota engine keeps its books under 32 concurrent callers, no session state (settings,
named prepared statements) is left on the server connections the clients share, and
``rawdb bench --check`` passes.  One bouncer per worker (tests/pgbouncer.py); each service's
database is made directly on the server and bootstrapped through the bouncer.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pgbouncer
import pytest
import servicedb
import test_quota_concurrency as concurrency
from sqltools import OpenDb

import rawdb
from rawdb.bench import runner
from rawdb.cinder import api as cinder
from rawdb.glance import images, tags
from rawdb.nova import api as nova
from rawdb.nova import sync as nova_sync
from rawdb.quota import NOVA, QuotaEngine

SERVICES = ("glance", "nova", "cinder")


def _database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


async def _admin(url: str, *sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        for statement in sql:
            await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class Bounced:
    """The worker's bouncer and its databases: ``direct`` and ``bounced`` URLs per service."""

    bouncer: pgbouncer.Bouncer
    direct: dict[str, str]
    bounced: dict[str, str]
    # glance's database again, through a bouncer pool of one server connection: every client
    # of it lands on the same server session.
    single: str


@pytest.fixture(scope="session")
def bounced(pg_scratch: str | None) -> Iterator[Bounced]:
    reason = pgbouncer.unavailable()
    if reason is not None:
        pgbouncer.skip_or_fail(reason)
    if pg_scratch is None:
        pytest.skip("PostgreSQL is not available")
    names = {service: f"rawdb_pgb_{service}_{uuid.uuid4().hex[:8]}" for service in SERVICES}
    asyncio.run(_admin(pg_scratch, *(f'CREATE DATABASE "{name}"' for name in names.values())))
    bouncer = pgbouncer.Bouncer(pg_scratch, single={"rawdb_single": names["glance"]})
    try:
        bouncer.start()
        direct = {service: _database(pg_scratch, name) for service, name in names.items()}
        through = {service: f"{bouncer.url(url)}?pgbouncer=true" for service, url in direct.items()}
        for service, url in through.items():
            asyncio.run(servicedb.bootstrap(url, service))
        single = f"{bouncer.url(_database(pg_scratch, 'rawdb_single'))}?pgbouncer=true"
        yield Bounced(bouncer, direct, through, single)
    finally:
        bouncer.stop()
        asyncio.run(_admin(pg_scratch, *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names.values())))


async def _both(bounced: Bounced, service: str, open_db: OpenDb) -> tuple[rawdb.Database, rawdb.Database]:
    return await open_db(bounced.bounced[service]), await open_db(bounced.direct[service])


# --- every service's calls ---------------------------------------------------------------------


async def test_glance_calls_give_through_the_bouncer_what_they_give_directly(bounced: Bounced, open_db: OpenDb) -> None:
    db, direct = await _both(bounced, "glance", open_db)
    admin = rawdb.Context(db, is_admin=True)
    owner = f"p-{uuid.uuid4().hex[:6]}"
    made = []
    for n in range(6):
        values = {
            "status": "active",
            "owner": owner,
            "name": f"img{n}",
            "properties": {"os": "linux" if n % 2 else "bsd"},
        }
        made.append(await images.image_create(admin, values))
    for image in made[:3]:
        await tags.image_tag_set_all(admin, image["id"], ["blue", f"n{image['name']}"])
    await tags.image_tag_create(admin, made[5]["id"], "blue")

    user = rawdb.Context(db, project_id=owner)
    got = await images.image_get(user, made[1]["id"])
    assert (got["name"], got["properties"][0]["value"]) == ("img1", "linux")
    listings: dict[str, Any] = {
        "all": {},
        "property": {"filters": {"os": "linux"}},
        "tags": {"filters": {"tags": ["blue"]}},
        "name": {"filters": {"name": "img4"}, "return_tag": True},
        "page": {"limit": 2, "marker": made[4]["id"], "sort_key": ["name"], "sort_dir": ["asc"]},
    }
    found = {key: [i["name"] for i in await images.image_get_all(user, **kwargs)] for key, kwargs in listings.items()}
    assert sorted(found["all"]) == [f"img{n}" for n in range(6)]
    assert sorted(found["property"]) == ["img1", "img3", "img5"]
    assert sorted(found["tags"]) == ["img0", "img1", "img2", "img5"]
    assert found["name"] == ["img4"]
    assert found["page"] == ["img5"]
    # the same calls on a direct connection give the same rows
    mirror = rawdb.Context(direct, project_id=owner)
    assert await images.image_get(mirror, made[1]["id"]) == got
    for key, kwargs in listings.items():
        assert [i["name"] for i in await images.image_get_all(mirror, **kwargs)] == found[key], key


async def test_nova_calls_give_through_the_bouncer_what_they_give_directly(bounced: Bounced, open_db: OpenDb) -> None:
    db, direct = await _both(bounced, "nova", open_db)
    project = f"p-{uuid.uuid4().hex[:6]}"
    ctx = rawdb.Context(db, project_id=project, user_id="alice")
    made = [
        await nova.instance_create(
            ctx,
            {
                "project_id": project,
                "user_id": "alice",
                "hostname": f"web{n}",
                "host": "h1" if n else "h2",
                "metadata": {"n": str(n)},
                "security_groups": ["default"],
                "vm_state": "building",
            },
        )
        for n in range(3)
    ]
    got = await nova.instance_get(ctx, made[0]["id"])
    assert got["hostname"] == "web0" and got["metadata"] == [{"key": "n", "value": "0"}]
    updated = await nova.instance_update(
        ctx, made[1]["uuid"], {"vm_state": "active", "task_state": None, "expected_vm_state": "building"}
    )
    assert updated["vm_state"] == "active"
    listed = await nova.instance_get_all_by_filters(ctx, {"host": "h1"}, sort_key="hostname", sort_dir="asc")
    assert [i["hostname"] for i in listed] == ["web1", "web2"]
    assert [i["vm_state"] for i in listed] == ["active", "building"]
    mirror = rawdb.Context(direct, project_id=project, user_id="alice")
    assert await nova.instance_get_by_uuid(mirror, made[1]["uuid"]) == await nova.instance_get_by_uuid(
        ctx, made[1]["uuid"]
    )
    assert await nova.instance_get_all_by_filters(mirror, {"host": "h1"}, sort_key="hostname", sort_dir="asc") == listed


async def test_cinder_calls_give_through_the_bouncer_what_they_give_directly(bounced: Bounced, open_db: OpenDb) -> None:
    db, direct = await _both(bounced, "cinder", open_db)
    project = f"p-{uuid.uuid4().hex[:6]}"
    ctx = rawdb.Context(db, project_id=project, user_id="alice")
    volume = await cinder.volume_create(
        ctx, {"project_id": project, "user_id": "alice", "size": 3, "metadata": {"k": "v"}}
    )
    got = await cinder.volume_get(ctx, volume["id"])
    assert (got["size"], got["project_id"]) == (3, project)
    assert got == volume
    assert await cinder.volume_get(rawdb.Context(direct, project_id=project, user_id="alice"), volume["id"]) == got


async def test_quota_reserve_and_commit_through_the_bouncer(bounced: Bounced, open_db: OpenDb) -> None:
    db = await open_db(bounced.bounced["nova"])
    engine = QuotaEngine(NOVA, nova_sync.resources(), nova_sync.DEFAULTS)
    project = f"p-{uuid.uuid4().hex[:6]}"
    ctx = rawdb.Context(db, project_id=project, user_id="alice")
    reservations = await engine.reserve(ctx, instances=2, cores=4)
    await engine.commit(ctx, reservations)
    rows = {r["resource"]: (r["in_use"], r["reserved"]) for r in await concurrency.Setup("nova").rows(db, project)}
    assert rows == {"instances": (2, 0), "cores": (4, 0)}


@pytest.fixture
async def empty_bounced(bounced: Bounced, pg_scratch: str) -> AsyncIterator[str]:
    """An empty database of this test's own, through the bouncer (and the benchmark's next to it, dropped after)."""
    name = f"rawdb_pgb_{uuid.uuid4().hex[:10]}"
    await _admin(pg_scratch, f'CREATE DATABASE "{name}"')
    try:
        yield f"{bounced.bouncer.url(_database(pg_scratch, name))}?pgbouncer=true"
    finally:
        tails = ("", "_nova", "_nova34", "_cinder", "_cinder29", "_novaarc", "_novaarc34")
        await _admin(pg_scratch, *(f'DROP DATABASE IF EXISTS "{name}{tail}" WITH (FORCE)' for tail in tails))


@pytest.mark.parametrize("service", ["nova", "cinder"])
async def test_32_concurrent_callers_through_the_bouncer_never_exceed_a_limit_and_the_books_balance(
    empty_bounced: str, service: str, open_db: OpenDb
) -> None:
    # 34 client connections on 16 server connections: the bouncer queues transactions
    test = concurrency.test_32_concurrent_callers_never_exceed_a_limit_and_the_books_balance
    await test(empty_bounced, "postgresql", service, open_db)


# --- no session state left on the shared server connections -----------------------------------


async def _session(url: str) -> dict[str, Any]:
    """What a fresh client sees of its server session."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "pgbouncer"])  # rawdb's own option
    conn = await asyncpg.connect(urlunsplit(parts._replace(query=query)), statement_cache_size=0, timeout=5)
    try:
        row = await conn.fetchrow(
            "SELECT pg_backend_pid() AS pid, current_setting('plan_cache_mode') AS plan_cache_mode,"
            " current_setting('statement_timeout') AS statement_timeout, current_setting('jit') AS jit,"
            " current_setting('default_transaction_read_only') AS read_only,"
            " (SELECT count(*) FROM pg_prepared_statements) AS prepared"
        )
        return dict(row.items())
    finally:
        await conn.close()


async def test_no_setting_or_prepared_statement_outlives_a_transaction(bounced: Bounced, open_db: OpenDb) -> None:
    before = await _session(bounced.single)
    direct = await _session(bounced.direct["glance"])  # the server's defaults
    assert {k: before[k] for k in ("plan_cache_mode", "statement_timeout", "jit")} == {
        k: direct[k] for k in ("plan_cache_mode", "statement_timeout", "jit")
    }
    db = await open_db(bounced.single)
    ctx = rawdb.Context(db, is_admin=True)
    seen: dict[str, Any] = {}
    async with ctx.writer() as writer:
        # a reader joining a writer applies its settings with SET LOCAL
        async with writer.reader(settings={"plan_cache_mode": "force_custom_plan", "statement_timeout": "1234"}) as tx:
            (seen,) = await tx.fetch(
                rawdb.Statement.portable(
                    "test.pgbouncer.settings",
                    "SELECT pg_backend_pid() AS pid, current_setting('plan_cache_mode') AS plan_cache_mode,"
                    " current_setting('statement_timeout') AS statement_timeout",
                )
            )
    assert (seen["plan_cache_mode"], seen["statement_timeout"]) == ("force_custom_plan", "1234ms")
    # every kind of call: writers, plain readers, listings that ask for plan settings
    image = await images.image_create(ctx, {"status": "active", "owner": "p1", "properties": {"os": "linux"}})
    await tags.image_tag_create(ctx, image["id"], "blue")
    assert (await images.image_get(ctx, image["id"]))["id"] == image["id"]
    for filters in ({}, {"os": "linux"}, {"tags": ["blue"]}):
        assert image["id"] in [i["id"] for i in await images.image_get_all(ctx, filters=filters)]
    after = await _session(bounced.single)
    assert after["pid"] == seen["pid"] == before["pid"]  # the same server session, one pool of one
    assert {k: after[k] for k in ("plan_cache_mode", "statement_timeout", "jit", "read_only", "prepared")} == {
        "plan_cache_mode": direct["plan_cache_mode"],
        "statement_timeout": direct["statement_timeout"],
        "jit": direct["jit"],
        "read_only": "off",
        "prepared": 0,
    }


async def test_prepare_leaves_no_prepared_statement_on_the_shared_server_connection(
    bounced: Bounced, open_db: OpenDb
) -> None:
    # ctx.prepare() checks a statement on the server without running it.  Its exchange must
    # end there: PgBouncer gives the server session to no other client until it has (through
    # a pool of one, the next scope waited for ever), and nothing of it may stay on the session.
    before = await _session(bounced.single)
    first, second = await open_db(bounced.single), await open_db(bounced.single)
    statement = rawdb.Statement.portable("test.pgbouncer.prepare", "SELECT id FROM images WHERE owner = :owner")
    async with asyncio.timeout(30):
        for db in (first, second):
            ctx = rawdb.Context(db, is_admin=True)
            async with ctx.reader() as rx:
                await rx.prepare(statement)
            async with ctx.writer() as tx:
                await tx.prepare(statement)
                assert await tx.fetch(statement, owner="nobody") == []
        with pytest.raises(rawdb.errors.DBError, match="nope"):
            async with rawdb.Context(first, is_admin=True).reader() as rx:
                await rx.prepare(rawdb.Statement.portable("test.pgbouncer.typo", "SELECT nope FROM images"))
        after = await _session(bounced.single)
    assert after["pid"] == before["pid"]  # the same server session, one pool of one
    assert after["prepared"] == 0


# --- the benchmark's check ---------------------------------------------------------------------


async def test_bench_check_passes_through_the_bouncer(
    empty_bounced: str, pg_scratch: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every case of --check (glance, nova, cinder, the quota engine with its over-limit monitor),
    # rawdb's target alone, the short way: one call, 0.2 s throughput runs, no history.
    out = tmp_path / "check.json"
    argv = ["--url", empty_bounced, "--check", "--calls", "1", "--seconds", "0.2", "--history", "0"]
    argv += ["--json", str(out), "-q"]
    code = await asyncio.wait_for(asyncio.to_thread(runner.main, argv), 600)
    capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["problems"] == []
    assert code == 0
    assert {f["target"] for f in data["figures"]} == {"rawdb"}
    kinds = {f["scenario"].split("_")[0] for f in data["figures"]}
    assert {"a", "n", "c", "quota"} <= kinds
    overlimit = [f for f in data["figures"] if f["scenario"].startswith("quota_overlimit")]
    assert overlimit and all(f["info"]["violations"] == 0 for f in overlimit)
    # the nova and cinder datasets in databases of their own: a PgBouncer URL carries no search_path
    database = urlsplit(empty_bounced).path.lstrip("/")
    conn = await asyncpg.connect(pg_scratch)
    try:
        names = {
            r["datname"]
            for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", f"{database}_%")
        }
    finally:
        await conn.close()
    assert names == {f"{database}_nova", f"{database}_cinder"}
