"""Quota reservations under real concurrency, on every backend and both schemas.

32 tasks on separate connections reserve, commit and roll back against small limits (on
Galera, through all three nodes).
After every step a task reads the usages and checks that no limit is exceeded; at the
end the usages must equal a serial replay of the operations that succeeded.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqltools import OpenDb, concurrent_databases

import rawdb
from rawdb import errors, schema
from rawdb.cinder import sync as cinder_sync
from rawdb.nova import sync as nova_sync
from rawdb.quota import CINDER, NOVA, QuotaEngine
from rawdb.quota import api as quota_api
from rawdb.statement import Statement

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

TASKS = 32
STEPS = 12

USAGES = Statement.portable(
    "test.quota.usages",
    "SELECT resource, user_id, in_use, reserved FROM quota_usages WHERE project_id = :p AND deleted = 0",
)
USAGES_CINDER = Statement.portable(
    "test.quota.usages_cinder",
    "SELECT resource, in_use, reserved FROM quota_usages WHERE project_id = :p AND NOT deleted",
)
COUNT_ROWS = Statement.portable(
    "test.quota.count_rows",
    "SELECT resource, count(*) AS n FROM quota_usages WHERE project_id = :p GROUP BY resource",
)


class Setup:
    def __init__(self, service: str) -> None:
        self.service = service
        if service == "nova":
            self.engine = QuotaEngine(NOVA, nova_sync.resources(), nova_sync.DEFAULTS)
            self.resources = ("instances", "cores")
            self.usages = USAGES
        else:
            self.engine = QuotaEngine(CINDER, cinder_sync.resources(), cinder_sync.DEFAULTS)
            self.resources = ("volumes", "gigabytes")
            self.usages = USAGES_CINDER

    async def rows(self, db: rawdb.Database, project: str) -> list[dict[str, Any]]:
        async with db.reader() as tx:
            return await tx.fetch(self.usages, p=project)


@pytest.fixture(params=["nova", "cinder"])
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_32_concurrent_callers_never_exceed_a_limit_and_the_books_balance(
    url: str, backend: str, service: str, open_db: OpenDb
) -> None:
    setup = Setup(service)
    dbs = await concurrent_databases(url, backend, open_db, TASKS)
    await schema.bootstrap(dbs[0], service)
    admin = rawdb.Context(dbs[0], is_admin=True, project_id="admin", user_id="admin")
    project = "tight"
    limits = {setup.resources[0]: 15, setup.resources[1]: 40}
    for resource, limit in limits.items():
        await quota_api.quota_create(admin, setup.engine.service, project, resource, limit)
    user_limit = 6
    if service == "nova":  # users u0..u3 also have a limit of their own on the first resource
        for user in range(4):
            await quota_api.quota_create(
                admin, setup.engine.service, project, setup.resources[0], user_limit, user_id=f"u{user}"
            )

    committed: list[tuple[str, dict[str, int]]] = []
    violations: list[str] = []
    refusals = 0

    def check(rows: list[dict[str, Any]]) -> None:
        for resource, limit in limits.items():
            total = sum(r["in_use"] + r["reserved"] for r in rows if r["resource"] == resource)
            if total > limit:
                violations.append(f"{resource}: {total} > {limit}")
            if service == "nova" and resource == setup.resources[0]:
                for row in rows:
                    if row["resource"] == resource and row["user_id"] in {f"u{u}" for u in range(4)}:
                        if row["in_use"] + row["reserved"] > user_limit:
                            violations.append(f"user {row['user_id']}: over {user_limit}")
            if any(r["reserved"] < 0 or r["in_use"] < 0 for r in rows):
                violations.append(f"negative counter in {rows}")

    async def caller(n: int) -> None:
        rng = random.Random(n)
        db = dbs[n % len(dbs)]
        user = f"u{n % 8}"
        ctx = rawdb.Context(db, project_id=project, user_id=user)
        for _ in range(STEPS):
            deltas = {setup.resources[0]: rng.randint(1, 2), setup.resources[1]: rng.randint(1, 4)}
            try:
                reservations = await setup.engine.reserve(ctx, **deltas)
            except errors.OverQuota:
                nonlocal refusals
                refusals += 1
                check(await setup.rows(db, project))
                continue
            check(await setup.rows(db, project))
            await asyncio.sleep(rng.random() / 500)
            if rng.random() < 0.3:
                await setup.engine.rollback(ctx, reservations)
            else:
                await setup.engine.commit(ctx, reservations)
                committed.append((user, deltas))
            check(await setup.rows(db, project))

    await asyncio.gather(*(caller(n) for n in range(TASKS)))

    assert violations == []
    rows = await setup.rows(dbs[0], project)
    for resource in limits:
        in_use = sum(r["in_use"] for r in rows if r["resource"] == resource)
        reserved = sum(r["reserved"] for r in rows if r["resource"] == resource)
        replay = sum(deltas[resource] for _, deltas in committed)
        assert (in_use, reserved) == (replay, 0), resource
        assert in_use <= limits[resource]
    if service == "nova":  # per user too
        for user in range(8):
            row_in_use = sum(
                r["in_use"] for r in rows if r["resource"] == setup.resources[0] and r["user_id"] == f"u{user}"
            )
            assert row_in_use == sum(d[setup.resources[0]] for u, d in committed if u == f"u{user}")
    # the callers pushed past the limits, so the checks above were tested, not idle
    assert refusals > 0
    assert committed


async def test_concurrent_first_reservations_create_one_usage_row_per_resource(
    url: str, backend: str, service: str, open_db: OpenDb
) -> None:
    setup = Setup(service)
    dbs = await concurrent_databases(url, backend, open_db, TASKS)
    await schema.bootstrap(dbs[0], service)
    project = "fresh"
    admin = rawdb.Context(dbs[0], is_admin=True, project_id="admin", user_id="admin")
    for resource in setup.resources:  # room for every caller: only the usage rows are contended
        await quota_api.quota_create(admin, setup.engine.service, project, resource, 1000)

    async def first(n: int) -> list[str]:
        # nova counts per user: all callers are one user, so they all need the same rows
        ctx = rawdb.Context(dbs[n % len(dbs)], project_id=project, user_id="u1")
        return await setup.engine.reserve(ctx, **{setup.resources[0]: 1, setup.resources[1]: 1})

    results = await asyncio.gather(*(first(n) for n in range(TASKS)))
    assert all(len(r) == 2 for r in results)
    async with dbs[0].reader() as tx:
        counts = {row["resource"]: row["n"] for row in await tx.fetch(COUNT_ROWS, p=project)}
    assert counts == {setup.resources[0]: 1, setup.resources[1]: 1}
    rows = await setup.rows(dbs[0], project)
    assert sorted((r["resource"], r["reserved"]) for r in rows) == sorted(
        [(setup.resources[0], TASKS), (setup.resources[1], TASKS)]
    )


async def test_concurrent_commits_of_one_reservation_apply_it_once(
    url: str, backend: str, service: str, open_db: OpenDb
) -> None:
    setup = Setup(service)
    dbs = await concurrent_databases(url, backend, open_db, 8)
    await schema.bootstrap(dbs[0], service)
    ctx = rawdb.Context(dbs[0], project_id="p", user_id="u1")
    reservations = await setup.engine.reserve(ctx, **{setup.resources[0]: 3})

    async def commit(n: int) -> None:
        other = rawdb.Context(dbs[n % len(dbs)], project_id="p", user_id="u1")
        if n % 2:
            await setup.engine.commit(other, reservations)
        else:
            await setup.engine.rollback(other, reservations)

    await asyncio.gather(*(commit(n) for n in range(8)))
    (row,) = [r for r in await setup.rows(dbs[0], "p") if r["resource"] == setup.resources[0]]
    assert row["reserved"] == 0
    assert row["in_use"] in (0, 3)  # committed once or rolled back once, never both or twice
