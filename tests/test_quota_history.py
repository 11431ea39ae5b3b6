"""A commit's cost does not depend on how many reservations came before it.

Soft-deleted reservations pile up for ever (cinder purges them only when asked), so the
statement that commits or rolls back must find the live ones by uuid and never walk a usage
row's past reservations.  The plan is what decides it: PostgreSQL writers run generic plans,
which are planned without the values and, without fresh statistics, without knowing how many
past rows there are.  These tests read the plans, not the clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

import rawdb
from rawdb import schema
from rawdb.sqlfiles import registry

HISTORY = 3000  # past reservations per usage row


# A project with three usage rows, each with HISTORY reservations finished long ago (never
# updated since: no dead row versions), among 400 usage rows of other projects; the usage
# table's statistics are fresh, the reservations' were gathered while it was empty (a new
# database: its first ANALYZE ran before any reservation).  With three usage rows alone, or
# without any statistics, the plans came out differently and never showed the walk of the
# usage rows' past reservations that this arrangement showed (400 usage rows probed).
_USAGES = {
    "cinder": """
        INSERT INTO quota_usages (project_id, resource, in_use, reserved, created_at, updated_at, deleted)
        SELECT p, r, 0, 0, now(), now(), false
        FROM unnest(ARRAY['p1'] || ARRAY(SELECT 'other-' || g FROM generate_series(1, 100) AS g)) AS p
        CROSS JOIN unnest(ARRAY['volumes', 'gigabytes', 'snapshots', 'backups']) AS r""",
    "nova": """
        INSERT INTO quota_usages (project_id, user_id, resource, in_use, reserved, created_at, updated_at, deleted)
        SELECT p, 'u1', r, 0, 0, now(), now(), 0
        FROM unnest(ARRAY['p1'] || ARRAY(SELECT 'other-' || g FROM generate_series(1, 100) AS g)) AS p
        CROSS JOIN unnest(ARRAY['instances', 'cores', 'ram', 'fixed_ips']) AS r""",
}
_P1 = "u.project_id = 'p1' AND u.resource <> (SELECT max(resource) FROM quota_usages)"  # three of its four rows
_HISTORY = {
    "cinder": f"""
        INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at,
                                  deleted_at, deleted)
        SELECT md5(g::text || u.id), u.id, 'p1', u.resource, 1, now(), now(), now(), now(), true
        FROM generate_series(1, {HISTORY}) AS g CROSS JOIN quota_usages AS u WHERE {_P1}""",
    "nova": f"""
        INSERT INTO reservations (id, uuid, usage_id, project_id, user_id, resource, delta, expire, created_at,
                                  updated_at, deleted_at, deleted)
        SELECT n, md5(n::text), usage_id, 'p1', 'u1', resource, 1, now(), now(), now(), now(), n
        FROM (SELECT nextval('reservations_id_seq') AS n, u.id AS usage_id, u.resource
              FROM generate_series(1, {HISTORY}) AS g CROSS JOIN quota_usages AS u WHERE {_P1}) AS h""",
}


async def _with_history(db: rawdb.Database, service: str) -> None:
    async with db.writer() as tx:
        await tx.script(
            "ALTER TABLE reservations SET (autovacuum_enabled = false); ANALYZE reservations; "
            f"{_USAGES[service]}; ANALYZE quota_usages; {_HISTORY[service]}"
        )


def _reservation_rows_read(node: Any) -> int:
    """Rows of ``reservations`` the plan read: returned by its scans, or filtered out by them
    (EXPLAIN gives both per loop: times the node's loops)."""
    read = 0
    if isinstance(node, dict):
        if node.get("Relation Name") == "reservations" or "reservations" in node.get("Index Name", ""):
            counted = ("Actual Rows", "Rows Removed by Filter", "Rows Removed by Index Recheck")
            per_loop = sum(float(node.get(k, 0)) for k in counted)
            read += round(per_loop * int(node.get("Actual Loops", 1)))
        for value in node.values():
            read += _reservation_rows_read(value)
    elif isinstance(node, list):
        read += sum(_reservation_rows_read(value) for value in node)
    return read


class _RollBack(Exception):
    """Leaves the transaction of the explained commit, undoing it."""


@pytest.mark.parametrize("service", ["cinder", "nova"])
async def test_the_generic_plan_of_a_commit_reads_only_the_reservations_it_commits(
    pg_url: str, open_db: Any, service: str
) -> None:
    db = await open_db(pg_url)
    await schema.bootstrap(db, service)
    await _with_history(db, service)
    live = "false" if service == "cinder" else "0"
    async with db.writer() as tx:  # three reservations still to commit, one per usage row
        await tx.script(
            "INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, deleted)"
            f" SELECT md5('live' || u.id), u.id, 'p1', u.resource, 1, now(), {live} FROM quota_usages u WHERE {_P1}"
        )
    finish = registry()[f"{service}.quota.finish"].compiled("postgresql")
    dsn, _, search_path = pg_url.partition("?search_path=")
    conn = await asyncpg.connect(
        dsn, server_settings={"search_path": search_path, "plan_cache_mode": "force_generic_plan"}
    )
    types = {"uuids": "text[]", "project_id": "varchar", "now": "timestamp", "commit": "boolean"}
    try:  # (the uuids are md5 digests the test made: hexadecimal, safe to inline)
        uuids = await conn.fetchval(f"SELECT array_agg(uuid) FROM reservations WHERE deleted = {live}")
        values = {"uuids": "ARRAY[" + ", ".join(f"'{u}'" for u in uuids) + "]", "project_id": "'p1'"}
        values |= {"now": "'2026-01-01'", "commit": "true"}
        # A prepared statement, as rawdb's writers run it: plan_cache_mode makes its plan generic.
        await conn.execute(f"PREPARE finish({', '.join(types[n] for n in finish.names)}) AS {finish.sql}")
        async with conn.transaction():
            plan = await conn.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE finish({', '.join(values[n] for n in finish.names)})"
            )
            committed = await conn.fetchval(f"SELECT count(*) FROM reservations WHERE deleted = {live}")
            raise _RollBack
    except _RollBack:
        pass
    finally:
        await conn.close()
    assert committed == 0  # the statement did commit the three
    read = _reservation_rows_read(json.loads(plan) if isinstance(plan, str) else plan)
    # the three live rows (a few times over: found, then updated), never the 9,000 past ones
    assert 3 <= read <= 30, read


async def test_a_commit_after_history_applies_only_the_live_reservations(pg_url: str, open_db: Any) -> None:
    """The rewritten commit still applies exactly the given live reservations, once."""
    from rawdb.cinder import quotas, sync

    db = await open_db(pg_url)
    await schema.bootstrap(db, "cinder")
    await _with_history(db, "cinder")
    user = rawdb.Context(db, project_id="p1", user_id="u1")
    resources = {r.name: r for r in sync.resources()}
    expire = datetime.now() + timedelta(hours=1)
    done = await quotas.quota_reserve(user, resources, {"volumes": 10}, {"volumes": 2}, expire, 0, 0)
    await quotas.reservation_commit(user, done)
    await quotas.reservation_commit(user, done)  # a second commit applies nothing
    usage = await quotas.quota_usage_get(rawdb.Context(db, is_admin=True), "p1", "volumes")
    assert (usage["in_use"], usage["reserved"]) == (2, 0)
