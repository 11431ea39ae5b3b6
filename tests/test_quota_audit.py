"""Quota check and sync (rawdb.quota.audit through nova's and cinder's quotas modules), every backend.

A drift is planted by writing ``quota_usages.in_use`` behind the engine's back; check must
find exactly that row, sync must repair it and nothing else.  Under concurrency, callers on
separate connections reserve, create or delete resources and commit (the resource change
and the commit in one transaction, as a service does) while sync runs again and again: when
everything has committed, every usage row must equal the live resources' count.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqltools import BACKENDS, concurrent_databases, execute, select

import rawdb
from rawdb import errors, schema
from rawdb.cinder import quotas as cinder_quotas
from rawdb.cinder import sync as cinder_sync
from rawdb.nova import quotas as nova_quotas
from rawdb.nova import sync as nova_sync
from rawdb.quota import CINDER, NOVA, QuotaEngine
from rawdb.quota import api as quota_api
from rawdb.statement import Statement

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

OpenDb = Callable[..., Awaitable[rawdb.Database]]
KEYS = ["project_id", "user_id", "resource", "in_use", "reserved", "actual", "in_sync"]

NEW_INSTANCE = Statement.portable(
    "test.audit.new_instance",
    "INSERT INTO instances (uuid, project_id, user_id, vcpus, memory_mb, deleted) VALUES (:id, :p, :u, 2, 0, 0)",
)
DROP_INSTANCE = Statement.portable(
    "test.audit.drop_instance",
    "UPDATE instances SET deleted = id WHERE uuid = :id",
)
NEW_VOLUME = Statement.portable(
    "test.audit.new_volume",
    "INSERT INTO volumes (id, project_id, user_id, size, deleted) VALUES (:id, :p, :u, 1, false)",
)
DROP_VOLUME = Statement.portable("test.audit.drop_volume", "UPDATE volumes SET deleted = true WHERE id = :id")


@rawdb.retry_on_deadlock
async def change_and_commit(
    ctx: rawdb.Context, engine: QuotaEngine, statement: Statement, params: dict[str, Any], reservations: list[str]
) -> None:
    """A resource change and the commit of its reservations in one transaction, retried whole on a conflict.

    On one server the transaction waits for the usage rows another holds; on Galera, where
    another node's sync or commit does not make it wait, it may lose certification instead
    (DBDeadlock) and runs again, as a service's would.
    """
    async with ctx.writer() as tx:
        await tx.execute(statement, **params)
        await engine.commit(tx, reservations)


class Service:
    """What a test needs of one service: its engine, its resources and its audit functions."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "nova":
            self.engine = QuotaEngine(NOVA, nova_sync.resources(), nova_sync.DEFAULTS)
            self.deltas = {"instances": 1, "cores": 2}
            self.new, self.drop = NEW_INSTANCE, DROP_INSTANCE
            self.check, self.sync = nova_quotas.quota_usage_check, nova_quotas.quota_usage_sync
        else:
            self.engine = QuotaEngine(CINDER, cinder_sync.resources(), cinder_sync.DEFAULTS)
            self.deltas = {"volumes": 1, "gigabytes": 1}
            self.new, self.drop = NEW_VOLUME, DROP_VOLUME
            self.check, self.sync = cinder_quotas.quota_usage_check, cinder_quotas.quota_usage_sync

    def user(self, user: str) -> str | None:
        return user if self.name == "nova" else None

    async def unlimited(self, admin: rawdb.Context, project: str) -> None:
        for resource in self.deltas:
            await quota_api.quota_create(admin, self.engine.service, project, resource, -1)

    async def create(self, ctx: rawdb.Context) -> str:
        """Reserve, then create the resource and commit in one transaction; return its id."""
        reservations = await self.engine.reserve(ctx, **self.deltas)  # type: ignore[arg-type]
        resource_id = str(uuid.uuid4())
        await change_and_commit(
            ctx, self.engine, self.new, {"id": resource_id, "p": ctx.project_id, "u": ctx.user_id}, reservations
        )
        return resource_id

    async def delete(self, ctx: rawdb.Context, resource_id: str) -> None:
        reservations = await self.engine.reserve(ctx, **{r: -d for r, d in self.deltas.items()})  # type: ignore[arg-type]
        await change_and_commit(ctx, self.engine, self.drop, {"id": resource_id}, reservations)


@pytest.fixture(params=["nova", "cinder"])
def service(request: pytest.FixtureRequest) -> Service:
    return Service(str(request.param))


@pytest.fixture
async def admin(url: str, open_db: OpenDb, service: Service) -> rawdb.Context:
    db = await open_db(url)
    await schema.bootstrap(db, service.name)
    return rawdb.Context(db, is_admin=True)


def usage(service: Service, project: str, user: str, resource: str, in_use: int, actual: int) -> dict[str, Any]:
    return {
        "project_id": project,
        "user_id": service.user(user),
        "resource": resource,
        "in_use": in_use,
        "reserved": 0,
        "actual": actual,
        "in_sync": in_use == actual,
    }


async def test_check_reports_every_row_and_finds_a_planted_drift_which_sync_repairs(
    admin: rawdb.Context, service: Service
) -> None:
    for project in ("p1", "p2"):
        await service.unlimited(admin, project)
    users = ("u1", "u2") if service.name == "nova" else ("u1",)
    for user in users:
        ctx = rawdb.Context(admin.db, project_id="p1", user_id=user)
        for _ in range(2):
            await service.create(ctx)
    await service.create(rawdb.Context(admin.db, project_id="p2", user_id="u1"))
    first = next(iter(service.deltas))
    per_user = {"u1": 2, "u2": 2} if service.name == "nova" else {"u1": 2}

    report = await service.check(admin)

    counts = [("p1", user, n) for user, n in per_user.items()] + [("p2", "u1", 1)]
    expected = [
        usage(service, project, user, resource, n * service.deltas[resource], n * service.deltas[resource])
        for project, user, n in counts
        for resource in sorted(service.deltas)
    ]
    assert report == expected
    assert all(list(row) == KEYS for row in report)
    assert await service.sync(admin) == []

    mine = " AND user_id = 'u1'" if service.name == "nova" else ""
    await execute(
        admin.db, f"UPDATE quota_usages SET in_use = 7 WHERE project_id = 'p1' AND resource = :r{mine}", r=first
    )
    drifted = usage(service, "p1", "u1", first, 7, 2 * service.deltas[first])

    assert [row for row in await service.check(admin) if not row["in_sync"]] == [drifted]
    assert await service.check(admin, "p2") == expected[-2:]  # one project only
    assert await service.check(admin, "nobody") == []
    assert await service.sync(admin, "p2") == []

    assert await service.sync(admin) == [drifted]

    assert await service.check(admin) == expected
    assert await service.sync(admin) == []


async def test_check_and_sync_need_an_admin_and_a_string_project(admin: rawdb.Context, service: Service) -> None:
    user = rawdb.Context(admin.db, project_id="p1", user_id="u1")
    for call in (service.check, service.sync):
        with pytest.raises(errors.AdminRequired):
            await call(user)
        with pytest.raises(errors.Invalid):
            await call(admin, 42)  # type: ignore[arg-type]
        assert await call(admin) == []


async def test_sync_leaves_rows_without_a_sync_alone_and_creates_no_missing_row(
    admin: rawdb.Context, service: Service
) -> None:
    await service.unlimited(admin, "p1")
    ctx = rawdb.Context(admin.db, project_id="p1", user_id="u1")
    await service.create(ctx)
    await execute(admin.db, "UPDATE quota_usages SET in_use = 5 WHERE resource <> 'no_such'")
    await execute(
        admin.db,
        "INSERT INTO quota_usages (project_id, resource, in_use, reserved, deleted) VALUES ('p1', 'gone_type', 9, 0, "
        + ("0)" if service.name == "nova" else "false)"),
    )
    rows_before = len(await select(admin.db, "SELECT id FROM quota_usages"))

    repaired = await service.sync(admin)

    assert sorted(row["resource"] for row in repaired) == sorted(service.deltas)
    assert len(await select(admin.db, "SELECT id FROM quota_usages")) == rows_before
    assert (await select(admin.db, "SELECT in_use FROM quota_usages WHERE resource = 'gone_type'"))[0]["in_use"] == 9


# --- under concurrency -----------------------------------------------------------------------------

CALLERS = 8
STEPS = 8


async def test_sync_under_concurrent_reservations_leaves_the_books_balanced(
    url: str, backend: str, open_db: OpenDb, service: Service
) -> None:
    dbs = await concurrent_databases(url, backend, open_db, CALLERS)
    await schema.bootstrap(dbs[0], service.name)
    admin = rawdb.Context(dbs[0], is_admin=True)
    project = "busy"
    await service.unlimited(admin, project)
    for user in ("u0", "u1"):
        await service.create(rawdb.Context(dbs[0], project_id=project, user_id=user))
    await execute(dbs[0], "UPDATE quota_usages SET in_use = in_use + 5")  # the drift sync must repair
    done = asyncio.Event()
    syncs = 0

    async def caller(n: int) -> None:
        rng = random.Random(n)
        ctx = rawdb.Context(dbs[n % len(dbs)], project_id=project, user_id=f"u{n % 3}")
        mine: list[str] = []
        for _ in range(STEPS):
            if mine and rng.random() < 0.3:
                await service.delete(ctx, mine.pop(rng.randrange(len(mine))))
            elif rng.random() < 0.2:
                await service.engine.rollback(ctx, await service.engine.reserve(ctx, **service.deltas))  # type: ignore[arg-type]
            else:
                mine.append(await service.create(ctx))
            await asyncio.sleep(rng.random() / 200)

    async def syncer() -> None:
        nonlocal syncs
        ctx = rawdb.Context(dbs[-1], is_admin=True)
        while not done.is_set() or syncs < 2:
            await service.sync(ctx)
            syncs += 1
            await asyncio.sleep(0.005)

    sync_task = asyncio.create_task(syncer())
    try:
        await asyncio.gather(*(caller(n) for n in range(CALLERS)))
    finally:
        done.set()
        await sync_task

    report = await service.check(admin)
    assert syncs >= 2
    assert report and all(row["in_sync"] and row["reserved"] == 0 for row in report), report
    live = Statement.portable(
        f"test.audit.live_{service.name}",
        "SELECT count(*) AS n FROM instances WHERE deleted = 0"
        if service.name == "nova"
        else "SELECT count(*) AS n FROM volumes WHERE NOT deleted",
    )
    async with dbs[0].reader() as rx:
        count = int((await rx.fetch(live))[0]["n"])
    first = next(iter(service.deltas))
    assert sum(row["in_use"] for row in report if row["resource"] == first) == count


async def _drifted_with_a_reservation(
    url: str, backend: str, open_db: OpenDb, service: Service
) -> tuple[list[rawdb.Database], rawdb.Context, rawdb.Context, list[str]]:
    """Two resources of u1 in p1, the first resource's usage drifted by 5, and a live reservation of u1's."""
    dbs = await concurrent_databases(url, backend, open_db, CALLERS)
    await schema.bootstrap(dbs[0], service.name)
    admin = rawdb.Context(dbs[0], is_admin=True)
    await service.unlimited(admin, "p1")
    ctx = rawdb.Context(dbs[0], project_id="p1", user_id="u1")
    for _ in range(2):
        await service.create(ctx)
    first = next(iter(service.deltas))
    await execute(dbs[0], "UPDATE quota_usages SET in_use = in_use + 5 WHERE resource = :r", r=first)
    reservations = await service.engine.reserve(ctx, **service.deltas)  # type: ignore[arg-type]
    return dbs, admin, ctx, reservations


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)  # Galera: the next test
async def test_sync_waits_for_a_commit_in_flight_and_counts_after_it(
    url: str, backend: str, open_db: OpenDb, service: Service
) -> None:
    dbs, admin, ctx, reservations = await _drifted_with_a_reservation(url, backend, open_db, service)
    first = next(iter(service.deltas))

    async with ctx.writer() as tx:  # a service creating its third resource, committing the reservation with it
        await tx.execute(service.new, id=str(uuid.uuid4()), p="p1", u="u1")
        await service.engine.commit(tx, reservations)
        syncing = asyncio.create_task(service.sync(rawdb.Context(dbs[-1], is_admin=True)))
        await asyncio.sleep(0.5)
        assert not syncing.done()  # it waits for the usage rows this commit holds
    repaired = await syncing

    d = service.deltas[first]
    assert repaired == [usage(service, "p1", "u1", first, 2 * d + 5 + d, 3 * d)]
    assert all(row["in_sync"] for row in await service.check(admin))


@pytest.mark.parametrize("backend", ["galera"], indirect=True)
async def test_on_galera_a_sync_through_another_node_wins_over_a_commit_in_flight_which_runs_again(
    url: str, backend: str, open_db: OpenDb, service: Service
) -> None:
    """Row locks do not reach other nodes: the sync does not wait, and the commit in flight loses."""
    dbs, admin, ctx, reservations = await _drifted_with_a_reservation(url, backend, open_db, service)
    first = next(iter(service.deltas))
    third = {"id": str(uuid.uuid4()), "p": "p1", "u": "u1"}

    with pytest.raises(errors.DBDeadlock):
        async with ctx.writer() as tx:
            await tx.execute(service.new, **third)
            await service.engine.commit(tx, reservations)
            repaired = await asyncio.wait_for(service.sync(rawdb.Context(dbs[-1], is_admin=True)), 10)

    d = service.deltas[first]
    assert repaired == [{**usage(service, "p1", "u1", first, 2 * d + 5, 2 * d), "reserved": d}]
    await change_and_commit(ctx, service.engine, service.new, third, reservations)  # the service's retry
    report = await service.check(admin)
    assert all(row["in_sync"] and row["reserved"] == 0 for row in report), report
    assert [row["in_use"] for row in report if row["resource"] == first] == [3 * d]
