"""Cinder's quota DB API and the QuotaEngine on the cinder schema (spec C.4, C.5), on every backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqltools import execute, select

import rawdb
from rawdb import errors, schema
from rawdb.cinder import quotas, sync
from rawdb.observe import StatementCounter
from rawdb.quota import CINDER, AbsoluteResource, QuotaEngine
from rawdb.quota.core import MAX_INT
from rawdb.timeutils import utcnow

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)
PGBOUNCER = True  # and through a PgBouncer in transaction pooling mode (conftest.py)

P1 = "project-1"
P2 = "project-2"
SEEDED_DEFAULTS = {
    "class_name": "default",
    "volumes": 10,
    "snapshots": 10,
    "gigabytes": 1000,
    "per_volume_gigabytes": -1,
    "groups": 10,
    "backups": 10,
    "backup_gigabytes": 1000,
}


# --- helpers ---------------------------------------------------------------------------------


async def add_volume(
    db: rawdb.Database, project: str, size: int, type_id: int | None = None, deleted: bool = False
) -> str:
    volume_id = str(uuid.uuid4())
    await execute(
        db,
        "INSERT INTO volumes (id, project_id, size, volume_type_id, deleted) VALUES (:id, :p, :size, :t, :d)",
        id=volume_id,
        p=project,
        size=size,
        t=type_id,
        d=deleted,
    )
    return volume_id


async def add_snapshot(db: rawdb.Database, project: str, volume_id: str, size: int, deleted: bool = False) -> str:
    snapshot_id = str(uuid.uuid4())
    await execute(
        db,
        "INSERT INTO snapshots (id, project_id, volume_id, volume_size, deleted) VALUES (:id, :p, :v, :size, :d)",
        id=snapshot_id,
        p=project,
        v=volume_id,
        size=size,
        d=deleted,
    )
    return snapshot_id


async def add_volume_type(db: rawdb.Database, type_id: int, name: str, deleted: bool = False) -> None:
    await execute(
        db, "INSERT INTO volume_types (id, name, deleted) VALUES (:id, :name, :d)", id=type_id, name=name, d=deleted
    )


async def dump(db: rawdb.Database) -> dict[str, list[dict[str, Any]]]:
    """Every row and column of the quota bookkeeping tables."""
    return {
        "quota_usages": await select(db, "SELECT * FROM quota_usages ORDER BY id"),
        "reservations": await select(db, "SELECT * FROM reservations ORDER BY id"),
    }


async def set_updated_at(db: rawdb.Database, project: str, resource: str, when: datetime) -> None:
    count = await execute(
        db,
        "UPDATE quota_usages SET updated_at = :t WHERE project_id = :p AND resource = :r AND NOT deleted",
        t=when,
        p=project,
        r=resource,
    )
    assert count == 1


def engine(**options: Any) -> QuotaEngine:
    return QuotaEngine(CINDER, sync.resources(), sync.DEFAULTS, **options)


def resources(volume_types: dict[int, str] | None = None) -> dict[str, Any]:
    return {r.name: r for r in sync.resources(volume_types)}


@pytest.fixture
async def cinder_db(db: rawdb.Database) -> rawdb.Database:
    """An empty database with the cinder schema, on each backend."""
    await schema.bootstrap(db, "cinder")
    return db


@pytest.fixture
def admin(cinder_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(cinder_db, is_admin=True)


@pytest.fixture
def user(cinder_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(cinder_db, project_id=P1, user_id="user-1")


async def usage(admin: rawdb.Context, resource: str, project: str = P1) -> tuple[int, int]:
    row = await quotas.quota_usage_get(admin, project, resource)
    return row["in_use"], row["reserved"]


async def over_quota(call: Awaitable[Any]) -> errors.OverQuota:
    with pytest.raises(errors.OverQuota) as info:
        await call
    return info.value


# --- limits --------------------------------------------------------------------------------


async def test_quota_create_returns_the_row_and_quota_get_reads_it(admin: rawdb.Context, user: rawdb.Context) -> None:
    created = await quotas.quota_create(admin, P1, "volumes", 5)
    assert (created["project_id"], created["resource"], created["hard_limit"]) == (P1, "volumes", 5)
    assert created["deleted"] is False
    for ctx in (admin, user):
        got = await quotas.quota_get(ctx, P1, "volumes")
        assert got["id"] == created["id"]
        assert got["hard_limit"] == 5


async def test_quota_create_of_a_live_duplicate_raises_quota_exists(admin: rawdb.Context) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    with pytest.raises(errors.QuotaExists) as info:
        await quotas.quota_create(admin, P1, "volumes", 7)
    assert (info.value.project_id, info.value.resource) == (P1, "volumes")
    assert (await quotas.quota_get(admin, P1, "volumes"))["hard_limit"] == 5
    await quotas.quota_create(admin, P2, "volumes", 7)  # another project may have its own


async def test_quota_create_refuses_a_limit_that_is_not_an_integer_of_minus_one_or_more(admin: rawdb.Context) -> None:
    for bad in (-2, "five", "5.0", 2.5, True, MAX_INT + 1):
        with pytest.raises(errors.Invalid):
            await quotas.quota_create(admin, P1, "volumes", bad)  # type: ignore[arg-type]
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1}


async def test_quota_get_of_a_missing_limit_raises_project_quota_not_found(admin: rawdb.Context) -> None:
    await quotas.quota_create(admin, P2, "volumes", 5)
    with pytest.raises(errors.ProjectQuotaNotFound) as info:
        await quotas.quota_get(admin, P1, "volumes")
    assert P1 in str(info.value)
    with pytest.raises(errors.ProjectQuotaNotFound):
        await quotas.quota_get(admin, P2, "gigabytes")


async def test_quota_get_all_by_project_returns_the_projects_live_limits_only(admin: rawdb.Context) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    await quotas.quota_create(admin, P1, "gigabytes", 50)
    await quotas.quota_create(admin, P2, "volumes", 9)
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1, "volumes": 5, "gigabytes": 50}
    await quotas.quota_destroy_all_by_project(admin, P2)
    assert await quotas.quota_get_all_by_project(admin, P2) == {"project_id": P2}


async def test_quota_update_changes_the_live_limit_or_raises_project_quota_not_found(admin: rawdb.Context) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    await quotas.quota_update(admin, P1, "volumes", 8)
    assert (await quotas.quota_get(admin, P1, "volumes"))["hard_limit"] == 8
    await quotas.quota_update(admin, P1, "volumes", -1)
    assert (await quotas.quota_get(admin, P1, "volumes"))["hard_limit"] == -1
    with pytest.raises(errors.ProjectQuotaNotFound):
        await quotas.quota_update(admin, P1, "gigabytes", 8)
    with pytest.raises(errors.ProjectQuotaNotFound):
        await quotas.quota_update(admin, P2, "volumes", 8)
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1, "volumes": -1}


async def test_quota_destroy_all_by_project_soft_deletes_limits_usages_and_reservations_shadowed_def_bug(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    """cinder F.3 bug, the shadowed ``quota_destroy_all_by_project``: Folsom's api.py defined it twice and
    the later, effective definition soft-deleted only the ``quotas`` rows, leaving the project's usages and
    reservations live (spec A.5, C.2); rawdb deletes all three, as the first definition meant to."""
    await quotas.quota_create(admin, P1, "volumes", 5)
    await quotas.quota_create(admin, P2, "volumes", 6)
    reservations = await engine().reserve(user, volumes=1)
    await engine().reserve(rawdb.Context(cinder_db, project_id=P2, user_id="u2"), volumes=2)
    await quotas.quota_destroy_all_by_project(admin, P1)
    with pytest.raises(errors.ProjectQuotaNotFound):
        await quotas.quota_get(admin, P1, "volumes")
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_get(admin, P1, "volumes")
    with pytest.raises(errors.ReservationNotFound):
        await quotas.reservation_get(admin, reservations[0])
    deleted = await select(cinder_db, "SELECT deleted, deleted_at FROM quota_usages WHERE project_id = :p", p=P1)
    assert deleted and all(r["deleted"] and r["deleted_at"] is not None for r in deleted)
    # the other project is untouched, and the destroyed project may start again
    assert (await quotas.quota_get(admin, P2, "volumes"))["hard_limit"] == 6
    assert await usage(admin, "volumes", P2) == (0, 2)
    await quotas.quota_create(admin, P1, "volumes", 3)
    await engine().reserve(user, volumes=1)
    assert await usage(admin, "volumes") == (0, 1)


async def test_quota_destroy_by_project_soft_deletes_only_the_limits(admin: rawdb.Context, user: rawdb.Context) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    reservations = await engine().reserve(user, volumes=1)
    await quotas.quota_destroy_by_project(admin, P1)
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1}
    assert await usage(admin, "volumes") == (0, 1)
    assert (await quotas.reservation_get(admin, reservations[0]))["delta"] == 1


# --- authorization ---------------------------------------------------------------------------


async def test_admin_only_functions_raise_admin_required_for_a_user_context(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    await engine().reserve(user, volumes=1)
    before = await dump(cinder_db)
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: quotas.quota_create(user, P1, "gigabytes", 5),
        lambda: quotas.quota_update(user, P1, "volumes", 50),
        lambda: quotas.quota_destroy_all_by_project(user, P1),
        lambda: quotas.quota_destroy_by_project(user, P1),
        lambda: quotas.quota_class_create(user, "gold", "volumes", 5),
        lambda: quotas.quota_class_update(user, "default", "volumes", 50),
        lambda: quotas.quota_class_destroy_all_by_name(user, "default"),
        lambda: quotas.quota_usage_update(user, P1, "volumes", in_use=0),
        lambda: quotas.reservation_create(user, str(uuid.uuid4()), 1, P1, "volumes", 1, None),
        lambda: quotas.reservation_expire(user),
        lambda: engine().expire(user),
        lambda: engine().destroy_all_by_project(user, P1),
    ]
    for call in calls:
        with pytest.raises(errors.AdminRequired):
            await call()
    assert await dump(cinder_db) == before
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1, "volumes": 5}
    assert await quotas.quota_class_get_defaults(admin) == SEEDED_DEFAULTS


async def test_require_context_refuses_a_context_without_admin_or_user_and_project(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    calls: list[Callable[[rawdb.Context], Awaitable[Any]]] = [
        lambda ctx: quotas.quota_get(ctx, P1, "volumes"),
        lambda ctx: quotas.quota_get_all_by_project(ctx, P1),
        lambda ctx: quotas.quota_class_get(ctx, "default", "volumes"),
        lambda ctx: quotas.quota_class_get_defaults(ctx),
        lambda ctx: quotas.quota_class_get_all_by_name(ctx, "default"),
        lambda ctx: quotas.quota_usage_get(ctx, P1, "volumes"),
        lambda ctx: quotas.quota_usage_get_all_by_project(ctx, P1),
        lambda ctx: quotas.reservation_get(ctx, str(uuid.uuid4())),
        lambda ctx: quotas.reservation_get_all_by_project(ctx, P1),
        lambda ctx: quotas.reservation_commit(ctx, [str(uuid.uuid4())]),
        lambda ctx: quotas.reservation_rollback(ctx, [str(uuid.uuid4())]),
        lambda ctx: quotas.quota_reserve(ctx, resources(), {"volumes": 5}, {"volumes": 1}, None, 0, 0, P1),
        lambda ctx: engine().reserve(ctx, project_id=P1, volumes=1),
    ]
    for ctx in (
        rawdb.Context(cinder_db),
        rawdb.Context(cinder_db, project_id=P1),
        rawdb.Context(cinder_db, user_id="user-1"),
    ):
        for call in calls:
            with pytest.raises(errors.NotAuthorized) as info:
                await call(ctx)
            assert not isinstance(info.value, errors.AdminRequired)
    assert await dump(cinder_db) == {"quota_usages": [], "reservations": []}


async def test_a_user_may_not_read_another_projects_quotas(admin: rawdb.Context, user: rawdb.Context) -> None:
    await quotas.quota_create(admin, P2, "volumes", 5)
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: quotas.quota_get(user, P2, "volumes"),
        lambda: quotas.quota_get_all_by_project(user, P2),
        lambda: quotas.quota_usage_get(user, P2, "volumes"),
        lambda: quotas.quota_usage_get_all_by_project(user, P2),
        lambda: quotas.reservation_get_all_by_project(user, P2),
    ]
    for call in calls:
        with pytest.raises(errors.NotAuthorized) as info:
            await call()
        assert not isinstance(info.value, errors.AdminRequired)
    # its own project is readable
    await quotas.quota_create(admin, P1, "volumes", 3)
    assert await quotas.quota_get_all_by_project(user, P1) == {"project_id": P1, "volumes": 3}
    assert await quotas.quota_usage_get_all_by_project(user, P1) == {"project_id": P1}
    assert await quotas.reservation_get_all_by_project(user, P1) == {"project_id": P1}


# --- quota classes ---------------------------------------------------------------------------


async def test_quota_class_get_defaults_returns_the_seeded_default_rows(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    assert await quotas.quota_class_get_defaults(admin) == SEEDED_DEFAULTS
    assert await quotas.quota_class_get_defaults(user) == SEEDED_DEFAULTS
    assert (await quotas.quota_class_get(user, "default", "gigabytes"))["hard_limit"] == 1000


async def test_quota_class_create_get_update_and_get_all_by_name(admin: rawdb.Context, user: rawdb.Context) -> None:
    created = await quotas.quota_class_create(admin, "gold", "volumes", 50)
    assert (created["class_name"], created["resource"], created["hard_limit"]) == ("gold", "volumes", 50)
    await quotas.quota_class_create(admin, "gold", "gigabytes", 5000)
    got = await quotas.quota_class_get(user, "gold", "volumes")
    assert (got["id"], got["hard_limit"]) == (created["id"], 50)
    await quotas.quota_class_update(admin, "gold", "volumes", 60)
    assert await quotas.quota_class_get_all_by_name(user, "gold") == {
        "class_name": "gold",
        "volumes": 60,
        "gigabytes": 5000,
    }
    await quotas.quota_class_update(admin, "default", "volumes", 20)
    assert (await quotas.quota_class_get_defaults(admin))["volumes"] == 20


async def test_quota_class_not_found_for_a_missing_or_destroyed_class(admin: rawdb.Context) -> None:
    await quotas.quota_class_create(admin, "gold", "volumes", 50)
    with pytest.raises(errors.QuotaClassNotFound) as info:
        await quotas.quota_class_get(admin, "silver", "volumes")
    assert "silver" in str(info.value)
    with pytest.raises(errors.QuotaClassNotFound):
        await quotas.quota_class_get(admin, "gold", "snapshots")
    with pytest.raises(errors.QuotaClassNotFound):
        await quotas.quota_class_update(admin, "silver", "volumes", 5)
    assert await quotas.quota_class_get_all_by_name(admin, "silver") == {"class_name": "silver"}
    await quotas.quota_class_create(admin, "gold", "gigabytes", 500)
    await quotas.quota_class_destroy_all_by_name(admin, "gold")
    assert await quotas.quota_class_get_all_by_name(admin, "gold") == {"class_name": "gold"}
    with pytest.raises(errors.QuotaClassNotFound):
        await quotas.quota_class_get(admin, "gold", "volumes")
    assert await quotas.quota_class_get_defaults(admin) == SEEDED_DEFAULTS


# --- usages ----------------------------------------------------------------------------------


async def test_quota_usage_get_and_get_all_by_project_or_quota_usage_not_found(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    await engine().reserve(user, volumes=2, gigabytes=20)
    row = await quotas.quota_usage_get(user, P1, "volumes")
    assert (row["project_id"], row["resource"], row["in_use"], row["reserved"]) == (P1, "volumes", 0, 2)
    assert row["until_refresh"] is None and row["deleted"] is False
    assert row["updated_at"] is not None
    assert await quotas.quota_usage_get_all_by_project(user, P1) == {
        "project_id": P1,
        "volumes": {"in_use": 0, "reserved": 2},
        "gigabytes": {"in_use": 0, "reserved": 20},
    }
    assert await quotas.quota_usage_get_all_by_project(admin, P2) == {"project_id": P2}
    with pytest.raises(errors.QuotaUsageNotFound) as info:
        await quotas.quota_usage_get(admin, P1, "snapshots")
    assert P1 in str(info.value)
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_get(admin, P2, "volumes")


async def test_quota_usage_update_sets_the_given_counters_only(admin: rawdb.Context, user: rawdb.Context) -> None:
    await engine().reserve(user, volumes=2)
    await quotas.quota_usage_update(admin, P1, "volumes", in_use=7)
    row = await quotas.quota_usage_get(admin, P1, "volumes")
    assert (row["in_use"], row["reserved"], row["until_refresh"]) == (7, 2, None)
    await quotas.quota_usage_update(admin, P1, "volumes", reserved=0, until_refresh=4)
    row = await quotas.quota_usage_get(admin, P1, "volumes")
    assert (row["in_use"], row["reserved"], row["until_refresh"]) == (7, 0, 4)
    await quotas.quota_usage_update(admin, P1, "volumes", until_refresh=None)
    assert (await quotas.quota_usage_get(admin, P1, "volumes"))["until_refresh"] is None


async def test_quota_usage_update_of_a_missing_row_raises_quota_usage_not_found(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await engine().reserve(user, volumes=2)
    before = await dump(cinder_db)
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_update(admin, P1, "snapshots", in_use=1)
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_update(admin, P2, "volumes", in_use=1)
    with pytest.raises(errors.Invalid):
        await quotas.quota_usage_update(admin, P1, "volumes", hard_limit=1)
    with pytest.raises(errors.Invalid):
        await quotas.quota_usage_update(admin, P1, "volumes", in_use="one")
    assert await dump(cinder_db) == before


# --- reservations (DB API) ----------------------------------------------------------------------


async def test_reservation_create_get_and_get_all_by_project_which_reads_reservations_wrong_table_bug(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    """cinder F.3 bug, ``reservation_get_all_by_project`` reading the wrong table: Folsom's queried
    ``quota_usages`` and read ``row.uuid`` (AttributeError); rawdb lists the project's live reservations
    as ``{'project_id': p, resource: {uuid: delta}}`` (spec A.5), and a usage without one is not listed."""
    await engine().reserve(user, volumes=1, gigabytes=1)
    await quotas.quota_usage_create(admin, P1, "snapshots", 1, 0, None)  # a usage row with no reservation
    volumes = await quotas.quota_usage_get(admin, P1, "volumes")
    expire = datetime(2040, 1, 2, 3, 4, 5, 600000)
    made = str(uuid.uuid4())
    created = await quotas.reservation_create(admin, made, volumes, P1, "volumes", 3, expire)
    assert (created["uuid"], created["usage_id"], created["project_id"]) == (made, volumes["id"], P1)
    assert (created["resource"], created["delta"], created["expire"]) == ("volumes", 3, expire)
    other = str(uuid.uuid4())
    await quotas.reservation_create(admin, other, volumes["id"], P1, "volumes", -1, None)
    got = await quotas.reservation_get(user, made)
    assert (got["id"], got["delta"], got["expire"], got["deleted"]) == (created["id"], 3, expire, False)
    everything = await quotas.reservation_get_all_by_project(user, P1)
    assert everything["project_id"] == P1
    assert set(everything) == {"project_id", "volumes", "gigabytes"}
    assert {made: 3, other: -1}.items() <= everything["volumes"].items()
    assert len(everything["volumes"]) == 3 and len(everything["gigabytes"]) == 1


async def test_reservation_get_of_an_unknown_or_finished_uuid_raises_reservation_not_found(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(errors.ReservationNotFound) as info:
        await quotas.reservation_get(admin, unknown)
    assert unknown in str(info.value)
    committed = await engine().reserve(user, volumes=1)
    rolled_back = await engine().reserve(user, volumes=1)
    await quotas.reservation_commit(user, committed)
    await quotas.reservation_rollback(user, rolled_back)
    for finished in committed + rolled_back:
        with pytest.raises(errors.ReservationNotFound):
            await quotas.reservation_get(admin, finished)
    assert await quotas.reservation_get_all_by_project(admin, P1) == {"project_id": P1}


# --- the engine: effective limits -----------------------------------------------------------


async def assert_limit(eng: QuotaEngine, ctx: rawdb.Context, resource: str, limit: int) -> None:
    """``limit`` of ``resource`` can be reserved and one more cannot, with and without usage rows."""
    assert (await eng.get_limits(ctx))[resource] == limit
    refused = await over_quota(eng.reserve(ctx, **{resource: limit + 1}))  # no usage row yet
    assert refused.overs == [resource] and refused.quotas == {resource: limit}
    await eng.rollback(ctx, await eng.reserve(ctx, **{resource: limit}))  # creates the row
    refused = await over_quota(eng.reserve(ctx, **{resource: limit + 1}))  # the row exists
    assert refused.overs == [resource] and refused.quotas == {resource: limit}
    await eng.rollback(ctx, await eng.reserve(ctx, **{resource: limit}))


async def test_effective_limit_is_the_configured_default_without_rows(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_class_destroy_all_by_name(admin, "default")
    eng = QuotaEngine(CINDER, sync.resources(), {"volumes": 2, "gigabytes": 30})
    assert await eng.get_limits(user) == {"volumes": 2, "gigabytes": 30, "snapshots": -1}
    assert await eng.get_defaults(user) == {"volumes": 2, "gigabytes": 30, "snapshots": -1}
    await assert_limit(eng, user, "volumes", 2)
    await assert_limit(eng, user, "gigabytes", 30)


async def test_effective_limit_prefers_the_default_class_to_the_configured_default(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_class_update(admin, "default", "volumes", 3)
    eng = QuotaEngine(CINDER, sync.resources(), {"volumes": 2})
    assert await eng.get_defaults(user) == {"volumes": 3, "gigabytes": 1000, "snapshots": 10}
    await assert_limit(eng, user, "volumes", 3)


async def test_effective_limit_prefers_the_contexts_quota_class_to_the_default_class(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_class_create(admin, "gold", "volumes", 4)
    gold = rawdb.Context(cinder_db, project_id=P1, user_id="user-1", quota_class="gold")
    await assert_limit(engine(), gold, "volumes", 4)
    plain = rawdb.Context(cinder_db, project_id=P2, user_id="user-2")
    await assert_limit(engine(), plain, "volumes", 10)
    silver = rawdb.Context(cinder_db, project_id=P2, user_id="user-2", quota_class="silver")  # has no rows
    await assert_limit(engine(), silver, "volumes", 10)


async def test_effective_limit_prefers_the_project_row_to_every_class(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_class_create(admin, "gold", "volumes", 4)
    await quotas.quota_create(admin, P1, "volumes", 5)
    gold = rawdb.Context(cinder_db, project_id=P1, user_id="user-1", quota_class="gold")
    await assert_limit(engine(), gold, "volumes", 5)
    await quotas.quota_update(admin, P1, "volumes", 1)
    await assert_limit(engine(), gold, "volumes", 1)


async def test_minus_one_is_unlimited_at_every_level(admin: rawdb.Context, user: rawdb.Context) -> None:
    await quotas.quota_class_update(admin, "default", "snapshots", -1)
    await quotas.quota_create(admin, P1, "volumes", -1)
    eng = engine()
    assert (await eng.get_limits(user))["volumes"] == -1
    reservations = await eng.reserve(user, volumes=1_000_000, snapshots=500_000)
    assert await usage(admin, "volumes") == (0, 1_000_000)
    await eng.commit(user, reservations)
    await eng.reserve(user, volumes=1_000_000, snapshots=500_000)  # the fast path too
    assert await usage(admin, "volumes") == (1_000_000, 1_000_000)
    assert await usage(admin, "snapshots") == (500_000, 500_000)


# --- the engine: reserve, commit, rollback ------------------------------------------------


async def test_reserve_commit_and_rollback_move_reserved_and_in_use_exactly(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    eng = engine()
    first = await eng.reserve(user, volumes=2, gigabytes=20)
    assert len(first) == 2 and len(set(first)) == 2
    assert [(await quotas.reservation_get(admin, u))["resource"] for u in first] == ["volumes", "gigabytes"]
    assert (await usage(admin, "volumes"), await usage(admin, "gigabytes")) == ((0, 2), (0, 20))
    second = await eng.reserve(user, volumes=1, gigabytes=5)
    assert (await usage(admin, "volumes"), await usage(admin, "gigabytes")) == ((0, 3), (0, 25))
    await eng.commit(user, first)
    assert (await usage(admin, "volumes"), await usage(admin, "gigabytes")) == ((2, 1), (20, 5))
    await eng.rollback(user, second)
    assert (await usage(admin, "volumes"), await usage(admin, "gigabytes")) == ((2, 0), (20, 0))
    assert await quotas.reservation_get_all_by_project(admin, P1) == {"project_id": P1}


async def test_reservation_commit_and_rollback_of_the_db_api(admin: rawdb.Context, user: rawdb.Context) -> None:
    eng = engine()
    committed = await eng.reserve(user, volumes=3)
    rolled_back = await eng.reserve(user, volumes=4)
    await quotas.reservation_commit(user, committed, project_id=P1)
    await quotas.reservation_rollback(user, rolled_back, project_id=P1)
    assert await usage(admin, "volumes") == (3, 0)
    # another project's id matches none of them: nothing happens
    again = await eng.reserve(user, volumes=2)
    await quotas.reservation_commit(admin, again, project_id=P2)
    assert await usage(admin, "volumes") == (3, 2)
    await quotas.reservation_commit(admin, [*again, str(uuid.uuid4())])  # unknown uuids are ignored
    assert await usage(admin, "volumes") == (5, 0)


async def test_first_reservation_creates_usage_rows_holding_the_counted_usage(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    v1 = await add_volume(cinder_db, P1, 1)
    await add_volume(cinder_db, P1, 2)
    await add_volume(cinder_db, P1, 3)
    await add_volume(cinder_db, P1, 100, deleted=True)
    await add_volume(cinder_db, P2, 200)
    await add_snapshot(cinder_db, P1, v1, 5)
    await add_snapshot(cinder_db, P1, v1, 7)
    await add_snapshot(cinder_db, P1, v1, 300, deleted=True)
    await add_snapshot(cinder_db, P2, v1, 400)
    await engine().reserve(user, volumes=1, gigabytes=4, snapshots=1)
    assert await usage(admin, "volumes") == (3, 1)
    assert await usage(admin, "gigabytes") == (1 + 2 + 3 + 5 + 7, 4)
    assert await usage(admin, "snapshots") == (2, 1)
    rows = await select(cinder_db, "SELECT resource, race_preventer FROM quota_usages ORDER BY id")
    assert sorted(r["resource"] for r in rows) == ["gigabytes", "snapshots", "volumes"]
    assert all(r["race_preventer"] for r in rows)


async def test_the_counted_usage_counts_against_the_limit_of_the_first_reservation(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 3)
    for _ in range(3):
        await add_volume(cinder_db, P1, 1)
    refused = await over_quota(engine().reserve(user, volumes=1))
    assert refused.usages == {"volumes": {"in_use": 3, "reserved": 0}}
    assert await dump(cinder_db) == {"quota_usages": [], "reservations": []}


async def test_per_volume_type_resources_count_that_types_volumes_and_snapshots(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await add_volume_type(cinder_db, 1, "ssd")
    await add_volume_type(cinder_db, 2, "hdd")
    await add_volume_type(cinder_db, 3, "old", deleted=True)
    ssd = await add_volume(cinder_db, P1, 10, type_id=1)
    await add_volume(cinder_db, P1, 20, type_id=1)
    await add_volume(cinder_db, P1, 99, type_id=1, deleted=True)
    hdd = await add_volume(cinder_db, P1, 5, type_id=2)
    await add_volume(cinder_db, P1, 7)
    await add_volume(cinder_db, P2, 50, type_id=1)
    await add_snapshot(cinder_db, P1, ssd, 10)
    await add_snapshot(cinder_db, P1, hdd, 5)
    types = await sync.volume_types(admin)
    assert types == {1: "ssd", 2: "hdd"}
    eng = QuotaEngine(CINDER, sync.resources(types), sync.DEFAULTS)
    limits = await eng.get_limits(user)
    assert limits["volumes_ssd"] == -1 and limits["gigabytes_hdd"] == -1  # per-type limits default to unlimited
    await eng.reserve(user, volumes_ssd=1, gigabytes_ssd=3, snapshots_ssd=1, volumes_hdd=1, volumes=1, gigabytes=2)
    assert await usage(admin, "volumes_ssd") == (2, 1)
    assert await usage(admin, "gigabytes_ssd") == (10 + 20 + 10, 3)
    assert await usage(admin, "snapshots_ssd") == (1, 1)
    assert await usage(admin, "volumes_hdd") == (1, 1)
    assert await usage(admin, "volumes") == (4, 1)
    assert await usage(admin, "gigabytes") == (10 + 20 + 5 + 7 + 10 + 5, 2)
    await quotas.quota_create(admin, P1, "volumes_ssd", 3)
    refused = await over_quota(eng.reserve(user, volumes_ssd=1))
    assert refused.overs == ["volumes_ssd"]
    assert refused.quotas == {"volumes_ssd": 3}
    assert refused.usages == {"volumes_ssd": {"in_use": 2, "reserved": 1}}


async def test_negative_deltas_always_pass_and_never_touch_reserved(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    for _ in range(3):
        await add_volume(cinder_db, P1, 1)
    await quotas.quota_create(admin, P1, "volumes", 1)  # already over
    eng = engine()
    first = await eng.reserve(user, volumes=-1)  # slow path: creates the row
    assert await usage(admin, "volumes") == (3, 0)
    second = await eng.reserve(user, volumes=-1)  # fast path
    assert await usage(admin, "volumes") == (3, 0)
    await eng.commit(user, first + second)
    assert await usage(admin, "volumes") == (1, 0)


async def test_commit_clamps_in_use_at_zero(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await add_volume(cinder_db, P1, 4)
    eng = engine()
    down = await eng.reserve(user, volumes=-5, gigabytes=-10)
    assert (await usage(admin, "volumes"), await usage(admin, "gigabytes")) == ((1, 0), (4, 0))
    await eng.commit(user, down)
    assert (await usage(admin, "volumes"), await usage(admin, "gigabytes")) == ((0, 0), (0, 0))
    mixed = await eng.reserve(user, volumes=2)
    down = await eng.reserve(user, volumes=-1)
    await eng.commit(user, down + mixed)
    assert await usage(admin, "volumes") == (1, 0)


async def test_rollback_commit_and_expire_never_drive_reserved_negative(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    eng = engine()
    reservations = await eng.reserve(user, volumes=3, gigabytes=30)
    await quotas.quota_usage_update(admin, P1, "volumes", reserved=1)
    await eng.rollback(user, reservations)
    assert (await usage(admin, "volumes"), await usage(admin, "gigabytes")) == ((0, 0), (0, 0))
    reservations = await eng.reserve(user, volumes=3)
    await quotas.quota_usage_update(admin, P1, "volumes", reserved=1)
    await eng.commit(user, reservations)
    assert await usage(admin, "volumes") == (3, 0)
    await eng.reserve(user, expire=utcnow() - timedelta(minutes=1), volumes=3)
    await quotas.quota_usage_update(admin, P1, "volumes", reserved=1)
    assert await eng.expire(admin) == 1
    assert await usage(admin, "volumes") == (3, 0)


# Round trips of a steady-state reserve (rows exist, limits from the tables) and of its
# commit, BEGIN and COMMIT included.  They differ by backend on purpose: PostgreSQL does
# each in one data-modifying statement; MySQL locks the usage rows and reads the limits in
# one statement, then bumps and inserts (no data-modifying CTE), and commits with a lock of
# the reservations and one multi-table UPDATE; SQLite runs the locked path under BEGIN IMMEDIATE.
ROUND_TRIPS = {"postgresql": (1, 1), "mysql": (5, 4), "sqlite": (6, 4)}


async def test_steady_state_reserve_and_commit_keep_to_their_round_trips(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    eng = engine()
    await eng.commit(user, await eng.reserve(user, volumes=1, gigabytes=10))  # creates the rows
    reserving, committing = StatementCounter(), StatementCounter()
    with cinder_db.hooked(reserving):
        reservations = await eng.reserve(user, volumes=1, gigabytes=10)
    with cinder_db.hooked(committing):
        await eng.commit(user, reservations)
    assert (reserving.total, committing.total) == ROUND_TRIPS[cinder_db.dialect]
    assert (await usage(admin, "volumes"), await usage(admin, "gigabytes")) == ((2, 0), (20, 0))


async def test_a_reservation_applies_once_even_if_finished_twice(admin: rawdb.Context, user: rawdb.Context) -> None:
    eng = engine()
    committed = await eng.reserve(user, volumes=2)
    await eng.commit(user, committed)
    await eng.commit(user, committed)
    assert await usage(admin, "volumes") == (2, 0)
    await eng.rollback(user, committed)
    assert await usage(admin, "volumes") == (2, 0)
    other = await eng.reserve(user, volumes=1)
    await eng.reserve(user, volumes=4)
    await eng.rollback(user, other)
    await eng.rollback(user, other)
    await eng.commit(user, other)
    assert await usage(admin, "volumes") == (2, 4)
    await eng.commit(user, [])
    assert await usage(admin, "volumes") == (2, 4)


async def test_delta_zero_on_an_already_over_project_is_refused(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    eng = engine()
    zero = await eng.reserve(user, volumes=0)  # under the limit a zero delta is a reservation like another
    assert len(zero) == 1 and await usage(admin, "volumes") == (0, 0)
    assert (await quotas.reservation_get(admin, zero[0]))["delta"] == 0
    await eng.commit(user, zero)
    await quotas.quota_create(admin, P1, "volumes", 2)
    await quotas.quota_usage_update(admin, P1, "volumes", in_use=3)
    before = await dump(cinder_db)
    refused = await over_quota(eng.reserve(user, volumes=0))
    assert refused.overs == ["volumes"]
    assert refused.usages == {"volumes": {"in_use": 3, "reserved": 0}}
    assert await dump(cinder_db) == before


async def test_reserve_of_an_unknown_or_absolute_resource_raises_quota_resource_unknown(
    cinder_db: rawdb.Database, user: rawdb.Context
) -> None:
    eng = engine()
    eng.register_resource(AbsoluteResource("per_volume_gigabytes"))
    with pytest.raises(errors.QuotaResourceUnknown) as info:
        await eng.reserve(user, volumes=1, shares=1)
    assert info.value.unknown == ["shares"]
    with pytest.raises(errors.QuotaResourceUnknown) as info:
        await eng.reserve(user, per_volume_gigabytes=1)
    assert info.value.unknown == ["per_volume_gigabytes"]
    with pytest.raises(errors.QuotaResourceUnknown):
        await quotas.quota_reserve(user, resources(), {"shares": 5}, {"shares": 1}, None, 0, 0)
    assert await dump(cinder_db) == {"quota_usages": [], "reservations": []}


async def test_reserve_refuses_an_expiry_that_is_not_seconds_timedelta_or_datetime(
    cinder_db: rawdb.Database, user: rawdb.Context
) -> None:
    for bad in ("tomorrow", 1.5, True, [60]):
        with pytest.raises(errors.InvalidReservationExpiration):
            await engine().reserve(user, expire=bad, volumes=1)
    assert await dump(cinder_db) == {"quota_usages": [], "reservations": []}


async def test_reserve_takes_the_expiry_as_seconds_timedelta_or_datetime(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    eng = engine(reservation_expire=600)
    start = utcnow()
    (default,) = await eng.reserve(user, volumes=1)
    (seconds,) = await eng.reserve(user, expire=3600, volumes=1)
    (delta,) = await eng.reserve(user, expire=timedelta(hours=2), volumes=1)
    (naive,) = await eng.reserve(user, expire=datetime(2040, 5, 6, 7, 8, 9), volumes=1)
    aware_at = datetime(2040, 5, 6, 9, 8, 9, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    (aware,) = await eng.reserve(user, expire=aware_at, volumes=1)
    end = utcnow()

    async def expiry(reservation: str) -> datetime:
        return (await quotas.reservation_get(admin, reservation))["expire"]

    assert start + timedelta(seconds=600) <= await expiry(default) <= end + timedelta(seconds=600)
    assert start + timedelta(seconds=3600) <= await expiry(seconds) <= end + timedelta(seconds=3600)
    assert start + timedelta(hours=2) <= await expiry(delta) <= end + timedelta(hours=2)
    assert await expiry(naive) == datetime(2040, 5, 6, 7, 8, 9)
    assert await expiry(aware) == datetime(2040, 5, 6, 9, 8, 9)


async def test_reservation_expire_rolls_back_only_expired_reservations_bug_1185325(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    """cinder bug 1185325: Folsom's ``Reservation`` model had no ``usage`` relationship, so
    ``reservation_expire`` raised AttributeError whenever a reservation had expired (spec A.2, C.2, F.3);
    rawdb gives each expired reservation's delta back to its usage's ``reserved``."""
    eng = engine()
    (old,) = await eng.reserve(user, expire=utcnow() - timedelta(seconds=1), volumes=2)
    (negative,) = await eng.reserve(user, expire=-60, volumes=-1)
    (fresh,) = await eng.reserve(user, expire=3600, volumes=3)
    assert await usage(admin, "volumes") == (0, 5)
    await quotas.reservation_expire(admin)
    assert await usage(admin, "volumes") == (0, 3)  # rolled back: in_use unchanged
    for expired in (old, negative):
        with pytest.raises(errors.ReservationNotFound):
            await quotas.reservation_get(admin, expired)
    assert (await quotas.reservation_get(admin, fresh))["delta"] == 3
    assert await eng.expire(admin) == 0
    await eng.commit(user, [fresh])
    assert await usage(admin, "volumes") == (3, 0)


# --- the engine: refreshes --------------------------------------------------------------------


async def test_until_refresh_recounts_after_that_many_reservations(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await add_volume(cinder_db, P1, 1)
    await add_volume(cinder_db, P1, 1)
    eng = engine(until_refresh=3)
    await eng.commit(user, await eng.reserve(user, volumes=1))  # creates the row: counted 2, then 2 to go
    row = await quotas.quota_usage_get(admin, P1, "volumes")
    assert (row["in_use"], row["until_refresh"]) == (3, 2)
    await eng.commit(user, await eng.reserve(user, volumes=1))  # no volume row was made: in_use drifts
    row = await quotas.quota_usage_get(admin, P1, "volumes")
    assert (row["in_use"], row["until_refresh"]) == (4, 1)
    await eng.reserve(user, volumes=1)  # the third: recounted from the volumes table
    row = await quotas.quota_usage_get(admin, P1, "volumes")
    assert (row["in_use"], row["reserved"], row["until_refresh"]) == (2, 1, 3)


async def test_a_changed_until_refresh_setting_takes_effect_on_existing_rows(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await engine().reserve(user, volumes=1)
    assert (await quotas.quota_usage_get(admin, P1, "volumes"))["until_refresh"] is None
    await engine(until_refresh=4).reserve(user, volumes=1)  # switched on: the countdown starts
    assert (await quotas.quota_usage_get(admin, P1, "volumes"))["until_refresh"] == 4
    await quotas.quota_usage_update(admin, P1, "volumes", until_refresh=9)
    await engine(until_refresh=4).reserve(user, volumes=1)  # lowered: the row follows
    assert (await quotas.quota_usage_get(admin, P1, "volumes"))["until_refresh"] == 4
    await engine().reserve(user, volumes=1)  # switched off: the countdown stops
    row = await quotas.quota_usage_get(admin, P1, "volumes")
    assert (row["in_use"], row["reserved"], row["until_refresh"]) == (0, 4, None)


async def test_max_age_recounts_a_stale_usage_row(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    eng = engine(max_age=60)
    await eng.commit(user, await eng.reserve(user, volumes=2))
    assert await usage(admin, "volumes") == (2, 0)  # drifted: there are no volume rows
    await eng.reserve(user, volumes=1)  # fresh row: no recount
    assert await usage(admin, "volumes") == (2, 1)
    await add_volume(cinder_db, P1, 1)
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(seconds=120))
    await eng.reserve(user, volumes=1)
    row = await quotas.quota_usage_get(admin, P1, "volumes")
    assert (row["in_use"], row["reserved"]) == (1, 2)
    assert row["updated_at"] > utcnow() - timedelta(seconds=60)


async def test_max_age_compares_the_whole_age_of_the_row_bug_1363324(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    """nova bug 1363324, in cinder's Folsom copy of quota_reserve too (spec C.2, F.3): ``max_age`` took
    ``(updated_at - now).seconds``, the wrong way round, so almost every row was refreshed; and
    ``.seconds`` drops whole days."""
    eng = engine(max_age=3600)
    await eng.commit(user, await eng.reserve(user, volumes=5))
    # two days and ten seconds old: timedelta.seconds would say 10 seconds
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(days=2, seconds=10))
    await eng.reserve(user, volumes=1)
    assert await usage(admin, "volumes") == (0, 1)
    await quotas.quota_usage_update(admin, P1, "volumes", in_use=5)
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(seconds=3000))  # younger than max_age
    await eng.reserve(user, volumes=1)
    assert await usage(admin, "volumes") == (5, 2)
    without = engine()  # max_age 0: never by age
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(days=30))
    await without.reserve(user, volumes=1)
    assert await usage(admin, "volumes") == (5, 3)


async def test_a_usage_row_a_reservation_creates_has_updated_at_for_max_age_null_updated_at_bug(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    """F.3 "NULL updated_at on new quota_usages", in cinder's Folsom copy of quota_reserve too (spec C.1, C.2):
    a usage row whose only write was its INSERT kept ``updated_at`` NULL, and the next reserve with
    ``max_age`` computed ``NULL - now`` (TypeError); rawdb sets it when it makes the row."""
    before = utcnow()
    await engine().reserve(user, volumes=-1)  # no row yet: made, counted 0, and a negative delta leaves it
    row = await quotas.quota_usage_get(admin, P1, "volumes")
    assert (row["in_use"], row["reserved"]) == (0, 0)
    assert row["updated_at"] is not None and row["updated_at"] >= before
    await engine(max_age=60).reserve(user, volumes=1)  # judged by its age: fresh, no recount
    assert await usage(admin, "volumes") == (0, 1)


async def test_usage_reset_forces_a_recount_on_the_next_reservation(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    eng = engine()
    await eng.commit(user, await eng.reserve(user, volumes=4, gigabytes=40))
    for _ in range(2):
        await add_volume(cinder_db, P1, 3)
    await eng.usage_reset(user, ["volumes", "snapshots"])  # snapshots has no row: ignored
    assert await usage(admin, "volumes") == (-1, 0)
    assert await usage(admin, "gigabytes") == (40, 0)
    await eng.reserve(user, volumes=1, gigabytes=1)
    assert await usage(admin, "volumes") == (2, 1)
    assert await usage(admin, "gigabytes") == (40, 1)  # not reset: not recounted


async def test_a_negative_in_use_set_by_quota_usage_update_forces_a_recount(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    eng = engine()
    await eng.reserve(user, snapshots=1)
    volume = await add_volume(cinder_db, P1, 3)
    await add_snapshot(cinder_db, P1, volume, 3)
    await quotas.quota_usage_update(admin, P1, "snapshots", in_use=-5)
    await eng.reserve(user, snapshots=1)
    assert await usage(admin, "snapshots") == (1, 2)


# --- the engine: overflow and refusals ----------------------------------------------------------


async def test_quota_usage_overflow_when_in_use_or_reserved_would_pass_max_int(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", -1)
    eng = engine()
    await eng.reserve(user, volumes=0)
    await quotas.quota_usage_update(admin, P1, "volumes", in_use=MAX_INT - 10)
    before = await dump(cinder_db)
    with pytest.raises(errors.QuotaUsageOverflow) as info:
        await eng.reserve(user, volumes=11)
    assert info.value.overs == ["volumes"]
    assert info.value.max_int == MAX_INT
    assert await dump(cinder_db) == before
    reservations = await eng.reserve(user, volumes=10)  # exactly MAX_INT still fits
    await eng.commit(user, reservations)
    assert await usage(admin, "volumes") == (MAX_INT, 0)
    await quotas.quota_create(admin, P1, "gigabytes", -1)
    await eng.reserve(user, gigabytes=MAX_INT - 5)
    before = await dump(cinder_db)
    with pytest.raises(errors.QuotaUsageOverflow) as info:
        await eng.reserve(user, gigabytes=6, volumes=-1)
    assert info.value.overs == ["gigabytes"]
    assert await dump(cinder_db) == before


async def test_quota_usage_overflow_on_the_slow_path(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", -1)
    eng = engine(until_refresh=5)  # every reservation takes the slow path
    await eng.reserve(user, volumes=MAX_INT - 1)
    before = await dump(cinder_db)
    with pytest.raises(errors.QuotaUsageOverflow):
        await eng.reserve(user, volumes=2)
    assert await dump(cinder_db) == before


async def test_over_quota_carries_overs_quotas_and_usages(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await add_volume(cinder_db, P1, 50)
    await quotas.quota_create(admin, P1, "volumes", 2)
    await quotas.quota_create(admin, P1, "gigabytes", 100)
    eng = engine()
    first = await over_quota(eng.reserve(user, volumes=1, gigabytes=60))  # slow path
    assert first.overs == ["gigabytes"]
    assert first.quotas == {"volumes": 2, "gigabytes": 100}
    assert first.usages == {"volumes": {"in_use": 1, "reserved": 0}, "gigabytes": {"in_use": 50, "reserved": 0}}
    await eng.reserve(user, volumes=1, gigabytes=10)
    second = await over_quota(eng.reserve(user, gigabytes=60, volumes=1, snapshots=1))  # fast path
    assert second.overs == ["gigabytes", "volumes"]
    assert second.quotas == {"volumes": 2, "gigabytes": 100, "snapshots": 10}
    assert second.usages == {
        "volumes": {"in_use": 1, "reserved": 1},
        "gigabytes": {"in_use": 50, "reserved": 10},
        "snapshots": {"in_use": 0, "reserved": 0},
    }
    assert "gigabytes" in str(second)


async def test_over_quota_leaves_the_database_as_it_was_with_or_without_usage_rows(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await add_volume(cinder_db, P1, 10)
    await quotas.quota_create(admin, P1, "volumes", 1)
    await over_quota(engine().reserve(user, gigabytes=5, volumes=1, snapshots=1))
    assert await dump(cinder_db) == {"quota_usages": [], "reservations": []}
    await quotas.quota_update(admin, P1, "volumes", 3)
    eng = engine()
    await eng.commit(user, await eng.reserve(user, volumes=1, gigabytes=10))
    await eng.reserve(user, volumes=1, gigabytes=5)
    before = await dump(cinder_db)
    await over_quota(eng.reserve(user, gigabytes=5, volumes=2))
    assert await dump(cinder_db) == before


async def test_over_quota_leaves_the_database_as_it_was_after_refreshing_a_stale_row(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 3)
    eng = engine(max_age=60)
    await eng.commit(user, await eng.reserve(user, volumes=1, gigabytes=1))
    for _ in range(3):
        await add_volume(cinder_db, P1, 1)  # the recount finds 3: the project is full
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(hours=1))
    await set_updated_at(cinder_db, P1, "gigabytes", utcnow() - timedelta(hours=1))
    before = await dump(cinder_db)
    refused = await over_quota(eng.reserve(user, gigabytes=1, volumes=1))
    assert refused.usages["volumes"] == {"in_use": 3, "reserved": 0}  # decided on the recount
    assert await dump(cinder_db) == before


async def test_over_quota_leaves_the_database_as_it_was_after_counting_down_until_refresh(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 2)
    eng = engine(until_refresh=4)
    await eng.reserve(user, volumes=1, gigabytes=1)
    before = await dump(cinder_db)
    await over_quota(eng.reserve(user, gigabytes=1, volumes=2))
    assert await dump(cinder_db) == before
    for _ in range(5):
        await add_volume(cinder_db, P1, 1)
    await eng.usage_reset(user, ["volumes"])
    before = await dump(cinder_db)
    refused = await over_quota(eng.reserve(user, volumes=1))  # recounts 5 first
    assert refused.usages == {"volumes": {"in_use": 5, "reserved": 1}}
    assert await dump(cinder_db) == before


async def test_over_quota_inside_the_callers_transaction_keeps_only_the_callers_work(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 1)
    eng = engine(max_age=60)
    await eng.reserve(user, volumes=1)
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(hours=1))
    before = await dump(cinder_db)
    async with user.writer() as tx:
        await over_quota(eng.reserve(tx, volumes=1))
        await over_quota(eng.reserve(tx, snapshots=1, volumes=1))
        kept = await eng.reserve(tx, gigabytes=3)
    after = await dump(cinder_db)
    assert after["quota_usages"][0] == before["quota_usages"][0]
    assert [r["resource"] for r in after["quota_usages"]] == ["volumes", "gigabytes"]
    assert [r["uuid"] for r in after["reservations"]] == [before["reservations"][0]["uuid"], *kept]


# --- the DB API's quota_reserve ----------------------------------------------------------------


async def test_quota_reserve_checks_the_given_quotas_not_the_tables(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 100)
    expire = utcnow() + timedelta(hours=1)
    given = {"volumes": 1, "gigabytes": -1}
    refused = await over_quota(quotas.quota_reserve(user, resources(), given, {"volumes": 2}, expire, 0, 0))
    assert refused.overs == ["volumes"] and refused.quotas == {"volumes": 1}
    reservations = await quotas.quota_reserve(
        user, resources(), given, {"volumes": 1, "gigabytes": 10**6}, expire, 0, 0
    )
    assert len(reservations) == 2
    assert (await quotas.reservation_get(admin, reservations[0]))["expire"] == expire
    assert await usage(admin, "volumes") == (0, 1)
    assert await usage(admin, "gigabytes") == (0, 10**6)
    with pytest.raises(errors.Invalid):  # every delta needs a quota
        await quotas.quota_reserve(user, resources(), given, {"snapshots": 1}, expire, 0, 0)


async def test_quota_reserve_for_another_project_with_an_admin_context(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await add_volume(cinder_db, P2, 8)
    expire = utcnow() + timedelta(hours=1)
    reservations = await quotas.quota_reserve(
        admin, resources(), {"volumes": 5, "gigabytes": 50}, {"volumes": 1, "gigabytes": 8}, expire, 0, 0, P2
    )
    assert await usage(admin, "volumes", P2) == (1, 1)
    assert await usage(admin, "gigabytes", P2) == (8, 8)
    assert (await quotas.reservation_get(admin, reservations[0]))["project_id"] == P2
    await quotas.reservation_commit(admin, reservations, project_id=P2)
    assert await usage(admin, "volumes", P2) == (2, 0)
    assert await quotas.quota_usage_get_all_by_project(admin, P1) == {"project_id": P1}


async def test_quota_reserve_honours_until_refresh_and_max_age_arguments(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    expire = utcnow() + timedelta(hours=1)
    limits = {"volumes": 10, "snapshots": 10}
    reservations = await quotas.quota_reserve(user, resources(), limits, {"volumes": 3}, expire, 1, 0)
    await quotas.reservation_commit(user, reservations)
    assert await usage(admin, "volumes") == (3, 0)
    await quotas.quota_reserve(user, resources(), limits, {"volumes": 1}, expire, 1, 0)  # until_refresh 1: recount
    assert await usage(admin, "volumes") == (0, 1)
    reservations = await quotas.quota_reserve(user, resources(), limits, {"snapshots": 2}, expire, 0, 30)
    await quotas.reservation_commit(user, reservations)
    await set_updated_at(cinder_db, P1, "snapshots", utcnow() - timedelta(seconds=31))
    await quotas.quota_reserve(user, resources(), limits, {"snapshots": 1}, expire, 0, 30)
    assert await usage(admin, "snapshots") == (0, 1)
    refused = await over_quota(quotas.quota_reserve(user, resources(), limits, {"snapshots": 10}, expire, 0, 30))
    assert refused.usages == {"snapshots": {"in_use": 0, "reserved": 1}}


# --- the functions issue 5 left out: one-row destroys and quota_usage_create (spec A.5) ----------


async def test_quota_destroy_soft_deletes_the_projects_limit_for_the_resource_only(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    made = await quotas.quota_create(admin, P1, "volumes", 5)
    await quotas.quota_create(admin, P1, "gigabytes", 50)
    await quotas.quota_create(admin, P2, "volumes", 6)
    before = utcnow()
    await quotas.quota_destroy(admin, P1, "volumes")
    with pytest.raises(errors.ProjectQuotaNotFound):
        await quotas.quota_get(admin, P1, "volumes")
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1, "gigabytes": 50}
    assert await quotas.quota_get_all_by_project(admin, P2) == {"project_id": P2, "volumes": 6}
    [row] = await select(cinder_db, "SELECT * FROM quotas WHERE id = :id", id=made["id"])
    assert row["deleted"] in (True, 1) and row["hard_limit"] == 5  # soft: the row stays
    assert row["deleted_at"] >= before and row["updated_at"] == row["deleted_at"]  # a model delete bumps updated_at
    again = await quotas.quota_create(admin, P1, "volumes", 7)  # a new live limit may follow
    assert (await quotas.quota_get(admin, P1, "volumes"))["id"] == again["id"]


async def test_quota_destroy_of_a_missing_limit_raises_project_quota_not_found_and_writes_nothing(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    await quotas.quota_destroy(admin, P1, "volumes")
    before = await select(cinder_db, "SELECT * FROM quotas ORDER BY id")
    for project, resource in ((P1, "volumes"), (P1, "gigabytes"), (P2, "volumes"), (P1, "r" * 400)):
        with pytest.raises(errors.ProjectQuotaNotFound) as info:
            await quotas.quota_destroy(admin, project, resource)
        assert project in str(info.value)
    for bad in ((None, "volumes"), (P1, 5), (P1, "vol\x00umes")):
        with pytest.raises(errors.Invalid):
            await quotas.quota_destroy(admin, *bad)  # type: ignore[arg-type]
    assert await select(cinder_db, "SELECT * FROM quotas ORDER BY id") == before


async def test_quota_destroy_of_one_limit_by_two_concurrent_callers_deletes_it_once(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    outcomes = await asyncio.gather(
        quotas.quota_destroy(admin, P1, "volumes"), quotas.quota_destroy(admin, P1, "volumes"), return_exceptions=True
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "ProjectQuotaNotFound"]
    assert await select(cinder_db, "SELECT count(*) AS n FROM quotas WHERE deleted = true") == [{"n": 1}]


async def test_quota_class_destroy_soft_deletes_the_classs_limit_for_the_resource_only(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_class_create(admin, "gold", "volumes", 50)
    await quotas.quota_class_create(admin, "gold", "volumes", 60)  # cinder's table lets a class repeat a resource
    await quotas.quota_class_create(admin, "gold", "gigabytes", 500)
    await quotas.quota_class_destroy(admin, "gold", "volumes")
    with pytest.raises(errors.QuotaClassNotFound):
        await quotas.quota_class_get(admin, "gold", "volumes")
    assert await quotas.quota_class_get_all_by_name(admin, "gold") == {"class_name": "gold", "gigabytes": 500}
    assert await quotas.quota_class_get_defaults(admin) == SEEDED_DEFAULTS
    rows = await select(
        cinder_db, "SELECT deleted, deleted_at, updated_at FROM quota_classes WHERE class_name = 'gold' ORDER BY id"
    )
    assert [bool(r["deleted"]) for r in rows] == [True, True, False]
    assert all(r["updated_at"] == r["deleted_at"] is not None for r in rows[:2])


async def test_quota_class_destroy_of_a_missing_limit_raises_quota_class_not_found_and_writes_nothing(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_class_create(admin, "gold", "volumes", 50)
    before = await select(cinder_db, "SELECT * FROM quota_classes ORDER BY id")
    for class_name, resource in (("gold", "gigabytes"), ("silver", "volumes")):
        with pytest.raises(errors.QuotaClassNotFound) as info:
            await quotas.quota_class_destroy(admin, class_name, resource)
        assert class_name in str(info.value)
    with pytest.raises(errors.Invalid):
        await quotas.quota_class_destroy(admin, ["gold"], "volumes")  # type: ignore[arg-type]
    assert await select(cinder_db, "SELECT * FROM quota_classes ORDER BY id") == before
    await quotas.quota_class_destroy(admin, "gold", "volumes")
    with pytest.raises(errors.QuotaClassNotFound):
        await quotas.quota_class_destroy(admin, "gold", "volumes")  # already gone


async def test_quota_usage_create_returns_the_live_row_with_total_and_updated_at(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    before = utcnow()
    made = await quotas.quota_usage_create(admin, P1, "volumes", 3, 2, 5)
    assert set(made) == {
        "id",
        "project_id",
        "resource",
        "in_use",
        "reserved",
        "until_refresh",
        "total",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted",
    }
    assert (made["project_id"], made["resource"], made["in_use"], made["reserved"]) == (P1, "volumes", 3, 2)
    assert (made["until_refresh"], made["total"], made["deleted"], made["deleted_at"]) == (5, 5, False, None)
    assert made["created_at"] >= before and made["updated_at"] == made["created_at"]  # max_age judges by it
    assert await quotas.quota_usage_get(admin, P1, "volumes") == made
    [row] = await select(cinder_db, "SELECT race_preventer FROM quota_usages")
    assert row["race_preventer"] in (True, 1)
    negative = await quotas.quota_usage_create(admin, P1, "gigabytes", -1, 0, None)  # -1: the recount marker
    assert (negative["in_use"], negative["total"], negative["until_refresh"]) == (-1, -1, None)


async def test_quota_usage_create_is_the_row_quota_reserve_then_uses(admin: rawdb.Context, user: rawdb.Context) -> None:
    await quotas.quota_usage_create(admin, P1, "volumes", 8, 0, None)
    refused = await over_quota(engine().reserve(user, volumes=3))  # 8 + 3 > the default 10
    assert refused.usages["volumes"] == {"in_use": 8, "reserved": 0}
    await engine().reserve(user, volumes=2)
    assert await usage(admin, "volumes") == (8, 2)


async def test_quota_usage_create_of_a_live_row_is_a_duplicate_and_leaves_the_callers_transaction_usable(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_usage_create(admin, P1, "volumes", 1, 0, None)
    async with admin.writer() as tx:
        with pytest.raises(errors.DBDuplicateEntry):
            await quotas.quota_usage_create(tx, P1, "volumes", 9, 9, None)
        await quotas.quota_usage_create(tx, P1, "gigabytes", 4, 0, None)
    assert await usage(admin, "volumes") == (1, 0)
    assert await usage(admin, "gigabytes") == (4, 0)
    await quotas.quota_usage_destroy(admin, P1, "volumes")
    assert (await quotas.quota_usage_create(admin, P1, "volumes", 2, 0, None))["in_use"] == 2  # after a delete


async def test_quota_usage_create_by_concurrent_callers_makes_one_live_row(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    outcomes = await asyncio.gather(
        *(quotas.quota_usage_create(admin, P1, "volumes", n, 0, None) for n in range(4)), return_exceptions=True
    )
    made = [o for o in outcomes if isinstance(o, dict)]
    assert len(made) == 1
    assert all(isinstance(o, errors.DBDuplicateEntry) for o in outcomes if not isinstance(o, dict))
    rows = await select(cinder_db, "SELECT in_use FROM quota_usages WHERE project_id = :p", p=P1)
    assert rows == [{"in_use": made[0]["in_use"]}]


async def test_quota_usage_create_refuses_bad_arguments_and_writes_nothing(
    cinder_db: rawdb.Database, admin: rawdb.Context
) -> None:
    good: dict[str, Any] = {"project_id": P1, "resource": "volumes", "in_use": 0, "reserved": 0, "until_refresh": None}
    for key, bad in (
        ("project_id", None),
        ("project_id", "p" * 256),
        ("resource", "r" * 301),
        ("resource", "a\x00b"),
        ("in_use", None),
        ("in_use", "many"),
        ("in_use", 1.5),
        ("reserved", MAX_INT + 1),
        ("reserved", True),
        ("until_refresh", "soon"),
    ):
        with pytest.raises(errors.Invalid, match=key):
            await quotas.quota_usage_create(admin, **{**good, key: bad})
    assert await dump(cinder_db) == {"quota_usages": [], "reservations": []}
    made = await quotas.quota_usage_create(admin, P1, "r" * 300, "4", 0, "2")  # integer strings, as the columns took
    assert (made["in_use"], made["until_refresh"], made["total"]) == (4, 2, 4)


async def test_quota_usage_destroy_soft_deletes_the_row_so_a_new_one_may_follow(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await engine().reserve(user, volumes=2, gigabytes=20)
    gone = await quotas.quota_usage_get(admin, P1, "volumes")
    await quotas.quota_usage_destroy(admin, P1, "volumes")
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_get(admin, P1, "volumes")
    [row] = await select(cinder_db, "SELECT * FROM quota_usages WHERE id = :id", id=gone["id"])
    assert (bool(row["deleted"]), row["race_preventer"]) == (True, None)
    assert row["deleted_at"] is not None and row["updated_at"] == row["deleted_at"]
    assert await quotas.quota_usage_get_all_by_project(admin, P1) == {
        "project_id": P1,
        "gigabytes": {"in_use": 0, "reserved": 20},
    }
    await engine().reserve(user, volumes=1)  # a new live row, counted afresh
    fresh = await quotas.quota_usage_get(admin, P1, "volumes")
    assert fresh["id"] != gone["id"] and (fresh["in_use"], fresh["reserved"]) == (0, 1)


async def test_quota_usage_destroy_of_a_missing_row_raises_quota_usage_not_found_and_writes_nothing(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await engine().reserve(user, volumes=1)
    before = await dump(cinder_db)
    for project, resource in ((P1, "snapshots"), (P2, "volumes")):
        with pytest.raises(errors.QuotaUsageNotFound) as info:
            await quotas.quota_usage_destroy(admin, project, resource)
        assert project in str(info.value)
    with pytest.raises(errors.Invalid):
        await quotas.quota_usage_destroy(admin, P1, None)  # type: ignore[arg-type]
    assert await dump(cinder_db) == before


async def test_reservation_destroy_soft_deletes_the_reservation_and_leaves_the_usage_as_it_is(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    destroyed, kept = await engine().reserve(user, volumes=2), await engine().reserve(user, volumes=3)
    await quotas.reservation_destroy(admin, destroyed[0])
    with pytest.raises(errors.ReservationNotFound):
        await quotas.reservation_get(admin, destroyed[0])
    assert await usage(admin, "volumes") == (0, 5)  # upstream gives nothing back to reserved
    [row] = await select(cinder_db, "SELECT * FROM reservations WHERE uuid = :u", u=destroyed[0])
    assert bool(row["deleted"]) and row["deleted_at"] is not None and row["updated_at"] == row["deleted_at"]
    await quotas.reservation_commit(user, destroyed + kept)  # the destroyed one applies nothing
    assert await usage(admin, "volumes") == (3, 2)


async def test_reservation_destroy_of_an_unknown_or_finished_uuid_raises_reservation_not_found(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    committed = await engine().reserve(user, volumes=1)
    await quotas.reservation_commit(user, committed)
    before = await dump(cinder_db)
    for missing in (str(uuid.uuid4()), committed[0], "u" * 40):
        with pytest.raises(errors.ReservationNotFound) as info:
            await quotas.reservation_destroy(admin, missing)
        assert missing in str(info.value)
    with pytest.raises(errors.Invalid):
        await quotas.reservation_destroy(admin, 5)  # type: ignore[arg-type]
    assert await dump(cinder_db) == before


async def test_the_new_destroys_and_quota_usage_create_are_for_admins_only(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "volumes", 5)
    await quotas.quota_class_create(admin, "gold", "volumes", 5)
    reservations = await engine().reserve(user, volumes=1)
    before = await dump(cinder_db)
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: quotas.quota_destroy(user, P1, "volumes"),
        lambda: quotas.quota_class_destroy(user, "gold", "volumes"),
        lambda: quotas.quota_usage_create(user, P1, "gigabytes", 0, 0, None),
        lambda: quotas.quota_usage_destroy(user, P1, "volumes"),
        lambda: quotas.reservation_destroy(user, reservations[0]),
    ]
    for call in calls:
        with pytest.raises(errors.AdminRequired):
            await call()
    assert await dump(cinder_db) == before
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1, "volumes": 5}
    assert await quotas.quota_class_get_all_by_name(admin, "gold") == {"class_name": "gold", "volumes": 5}


# --- fidelity gaps found by calling the quota API as cinder does ------------------------------------


async def test_fidelity_gap_max_age_as_a_timedelta_is_accepted_like_seconds(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    # before: QuotaEngine(max_age=timedelta(...)).reserve raised a bare TypeError, quota_reserve Invalid
    expire = utcnow() + timedelta(hours=1)
    limits = {"volumes": 10}
    await quotas.reservation_commit(
        user, await quotas.quota_reserve(user, resources(), limits, {"volumes": 3}, expire, 0, timedelta(minutes=1))
    )
    assert await usage(admin, "volumes") == (3, 0)  # no volume rows: drifted, and young, so kept
    await quotas.quota_reserve(user, resources(), limits, {"volumes": 1}, expire, 0, timedelta(minutes=1))
    assert await usage(admin, "volumes") == (3, 1)
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(seconds=61))
    await quotas.quota_reserve(user, resources(), limits, {"volumes": 1}, expire, 0, timedelta(minutes=1))
    assert await usage(admin, "volumes") == (0, 2)  # stale: recounted
    eng = engine(max_age=timedelta(seconds=90.5))  # a fractional age is kept, not rounded
    await quotas.quota_usage_update(admin, P1, "volumes", in_use=4)
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(seconds=90))
    await eng.reserve(user, volumes=1)
    assert await usage(admin, "volumes") == (4, 3)
    await set_updated_at(cinder_db, P1, "volumes", utcnow() - timedelta(seconds=91))
    await eng.reserve(user, volumes=1)
    assert await usage(admin, "volumes") == (0, 4)
    await engine(max_age=timedelta(0)).reserve(user, volumes=1)  # zero: never by age, as max_age=0
    assert await usage(admin, "volumes") == (0, 5)


async def test_fidelity_gap_max_age_refuses_a_negative_or_huge_timedelta_and_writes_nothing(
    cinder_db: rawdb.Database, admin: rawdb.Context, user: rawdb.Context
) -> None:
    expire = utcnow() + timedelta(hours=1)
    for bad in (timedelta(seconds=-1), timedelta(days=999_999), 1.5, "a minute"):
        with pytest.raises(errors.Invalid, match="max_age"):
            await quotas.quota_reserve(user, resources(), {"volumes": 10}, {"volumes": 1}, expire, 0, bad)
        with pytest.raises(errors.Invalid, match="max_age"):
            engine(max_age=bad)
    assert await dump(cinder_db) == {"quota_usages": [], "reservations": []}


async def test_fidelity_gap_usage_rows_carry_total_as_cinders_quota_usage_model(
    admin: rawdb.Context, user: rawdb.Context
) -> None:
    await engine().commit(user, await engine().reserve(user, volumes=3))
    await engine().reserve(user, volumes=2)
    row = await quotas.quota_usage_get(user, P1, "volumes")
    assert (row["in_use"], row["reserved"], row["total"]) == (3, 2, 5)
    made = await quotas.quota_usage_create(admin, P1, "gigabytes", 7, 4, None)
    assert made["total"] == 11
    # cinder's quota_usage_get_all_by_project builds plain {in_use, reserved} dicts: no total there
    assert await quotas.quota_usage_get_all_by_project(admin, P1) == {
        "project_id": P1,
        "volumes": {"in_use": 3, "reserved": 2},
        "gigabytes": {"in_use": 7, "reserved": 4},
    }
