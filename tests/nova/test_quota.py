"""Nova's quota DB API (Newton per-user quotas, spec C.3) and the QuotaEngine on the nova schema, on every backend."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import execute, select

import rawdb
from rawdb import errors
from rawdb.nova import quotas, sync
from rawdb.observe import StatementCounter
from rawdb.quota import NOVA, QuotaEngine
from rawdb.quota.core import MAX_INT
from rawdb.timeutils import utcnow

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

P1 = "project-1"
P2 = "project-2"
ALICE = "alice"
BOB = "bob"


# --- helpers ---------------------------------------------------------------------------------


async def add_instance(
    db: rawdb.Database, project: str, user: str, vcpus: int = 1, ram: int = 512, deleted: bool = False
) -> str:
    instance_uuid = str(uuid.uuid4())
    await execute(
        db,
        "INSERT INTO instances (uuid, project_id, user_id, vcpus, memory_mb, deleted)"
        " VALUES (:u, :p, :user, :vcpus, :ram, 0)",
        u=instance_uuid,
        p=project,
        user=user,
        vcpus=vcpus,
        ram=ram,
    )
    if deleted:
        await execute(db, "UPDATE instances SET deleted = id WHERE uuid = :u", u=instance_uuid)
    return instance_uuid


async def add_floating_ip(db: rawdb.Database, project: str, auto_assigned: bool = False, deleted: bool = False) -> None:
    await execute(
        db,
        "INSERT INTO floating_ips (project_id, auto_assigned, deleted) VALUES (:p, :a, 0)",
        p=project,
        a=auto_assigned,
    )
    if deleted:
        await execute(db, "UPDATE floating_ips SET deleted = id WHERE id = (SELECT max(id) FROM floating_ips)")


async def add_fixed_ip(db: rawdb.Database, instance_uuid: str | None, deleted: bool = False) -> None:
    await execute(db, "INSERT INTO fixed_ips (instance_uuid, deleted) VALUES (:i, 0)", i=instance_uuid)
    if deleted:
        await execute(db, "UPDATE fixed_ips SET deleted = id WHERE id = (SELECT max(id) FROM fixed_ips)")


async def dump(db: rawdb.Database) -> dict[str, list[dict[str, Any]]]:
    """Every row and column of the quota bookkeeping tables."""
    return {
        "quota_usages": await select(db, "SELECT * FROM quota_usages ORDER BY id"),
        "reservations": await select(db, "SELECT * FROM reservations ORDER BY id"),
    }


async def set_updated_at(db: rawdb.Database, user: str | None, resource: str, when: datetime) -> None:
    count = await execute(
        db,
        "UPDATE quota_usages SET updated_at = :t"
        " WHERE project_id = :p AND resource = :r AND deleted = 0 AND coalesce(user_id, '') = :u",
        t=when,
        p=P1,
        r=resource,
        u=user or "",
    )
    assert count == 1


def engine(**options: Any) -> QuotaEngine:
    return QuotaEngine(NOVA, sync.resources(), sync.DEFAULTS, **options)


def resources() -> dict[str, Any]:
    return {r.name: r for r in sync.resources()}


# The nova database of each test is tests/nova/conftest.py's; the contexts are this module's own.


@pytest.fixture
def admin(nova_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(nova_db, is_admin=True)


@pytest.fixture
def alice(nova_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(nova_db, project_id=P1, user_id=ALICE)


@pytest.fixture
def bob(nova_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(nova_db, project_id=P1, user_id=BOB)


async def usage(admin: rawdb.Context, resource: str, user: str | None, project: str = P1) -> tuple[int, int]:
    row = await quotas.quota_usage_get(admin, project, resource, user)
    return row["in_use"], row["reserved"]


async def over_quota(call: Awaitable[Any]) -> errors.OverQuota:
    with pytest.raises(errors.OverQuota) as info:
        await call
    return info.value


# --- limits --------------------------------------------------------------------------------


async def test_quota_create_with_a_user_id_sets_a_user_limit(nova_db: rawdb.Database, admin: rawdb.Context) -> None:
    created = await quotas.quota_create(admin, P1, "instances", 5, user_id=ALICE)
    assert (created["project_id"], created["user_id"], created["resource"], created["hard_limit"]) == (
        P1,
        ALICE,
        "instances",
        5,
    )
    assert created["deleted"] == 0
    assert await select(nova_db, "SELECT user_id, hard_limit FROM project_user_quotas") == [
        {"user_id": ALICE, "hard_limit": 5}
    ]
    assert await select(nova_db, "SELECT id FROM quotas") == []
    assert (await quotas.quota_get(admin, P1, "instances", user_id=ALICE))["id"] == created["id"]
    with pytest.raises(errors.ProjectQuotaNotFound):
        await quotas.quota_get(admin, P1, "instances")
    project = await quotas.quota_create(admin, P1, "instances", 9)  # the project's limit is another row
    assert "user_id" not in project
    assert (await quotas.quota_get(admin, P1, "instances"))["hard_limit"] == 9
    assert (await quotas.quota_get(admin, P1, "instances", user_id=ALICE))["hard_limit"] == 5


async def test_a_per_project_resource_limit_is_the_projects_even_with_a_user_id(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "floating_ips", 3, user_id=ALICE)
    assert await select(nova_db, "SELECT project_id, resource, hard_limit FROM quotas") == [
        {"project_id": P1, "resource": "floating_ips", "hard_limit": 3}
    ]
    assert await select(nova_db, "SELECT id FROM project_user_quotas") == []
    assert (await quotas.quota_get(admin, P1, "floating_ips", user_id=BOB))["hard_limit"] == 3
    await quotas.quota_update(admin, P1, "floating_ips", 5, user_id=BOB)
    assert (await quotas.quota_get(admin, P1, "floating_ips"))["hard_limit"] == 5
    with pytest.raises(errors.QuotaExists):
        await quotas.quota_create(admin, P1, "floating_ips", 4, user_id=BOB)


async def test_quota_get_of_a_missing_user_limit_raises_project_user_quota_not_found(admin: rawdb.Context) -> None:
    await quotas.quota_create(admin, P1, "instances", 5)
    await quotas.quota_create(admin, P1, "cores", 5, user_id=ALICE)
    with pytest.raises(errors.ProjectUserQuotaNotFound) as info:
        await quotas.quota_get(admin, P1, "instances", user_id=ALICE)
    assert ALICE in str(info.value) and P1 in str(info.value)
    with pytest.raises(errors.ProjectUserQuotaNotFound):
        await quotas.quota_get(admin, P1, "cores", user_id=BOB)
    with pytest.raises(errors.ProjectQuotaNotFound):
        await quotas.quota_get(admin, P2, "instances")


async def test_quota_create_of_a_live_duplicate_raises_quota_exists(admin: rawdb.Context) -> None:
    await quotas.quota_create(admin, P1, "instances", 5)
    await quotas.quota_create(admin, P1, "instances", 3, user_id=ALICE)
    with pytest.raises(errors.QuotaExists) as info:
        await quotas.quota_create(admin, P1, "instances", 6)
    assert (info.value.project_id, info.value.resource) == (P1, "instances")
    with pytest.raises(errors.QuotaExists):
        await quotas.quota_create(admin, P1, "instances", 6, user_id=ALICE)
    await quotas.quota_create(admin, P1, "instances", 6, user_id=BOB)
    await quotas.quota_create(admin, P2, "instances", 6, user_id=ALICE)
    assert (await quotas.quota_get(admin, P1, "instances"))["hard_limit"] == 5
    assert (await quotas.quota_get(admin, P1, "instances", user_id=ALICE))["hard_limit"] == 3


async def test_quota_update_changes_project_and_user_limits(admin: rawdb.Context) -> None:
    await quotas.quota_create(admin, P1, "instances", 5)
    await quotas.quota_create(admin, P1, "instances", 3, user_id=ALICE)
    await quotas.quota_update(admin, P1, "instances", 7)
    await quotas.quota_update(admin, P1, "instances", 2, user_id=ALICE)
    assert (await quotas.quota_get(admin, P1, "instances"))["hard_limit"] == 7
    assert (await quotas.quota_get(admin, P1, "instances", user_id=ALICE))["hard_limit"] == 2
    with pytest.raises(errors.ProjectUserQuotaNotFound):
        await quotas.quota_update(admin, P1, "instances", 2, user_id=BOB)
    with pytest.raises(errors.ProjectQuotaNotFound):
        await quotas.quota_update(admin, P1, "cores", 2)
    with pytest.raises(errors.ProjectQuotaNotFound):  # a per-project resource has no user limits
        await quotas.quota_update(admin, P1, "floating_ips", 2, user_id=ALICE)


async def test_quota_get_all_variants_return_the_right_rows(admin: rawdb.Context) -> None:
    await quotas.quota_create(admin, P1, "instances", 10)
    await quotas.quota_create(admin, P1, "floating_ips", 4)
    await quotas.quota_create(admin, P1, "instances", 5, user_id=ALICE)
    await quotas.quota_create(admin, P1, "cores", 8, user_id=ALICE)
    await quotas.quota_create(admin, P1, "instances", 2, user_id=BOB)
    await quotas.quota_create(admin, P2, "instances", 1, user_id=ALICE)
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1, "instances": 10, "floating_ips": 4}
    assert await quotas.quota_get_all_by_project_and_user(admin, P1, ALICE) == {
        "project_id": P1,
        "user_id": ALICE,
        "instances": 5,
        "cores": 8,
    }
    assert await quotas.quota_get_all_by_project_and_user(admin, P2, BOB) == {"project_id": P2, "user_id": BOB}
    got = await quotas.quota_get_all_by_project_and_user(admin, P1, ALICE)
    assert list(got)[:2] == ["project_id", "user_id"]  # upstream's key order
    every = await quotas.quota_get_all(admin, P1)
    assert [(r["user_id"], r["resource"], r["hard_limit"]) for r in every] == [
        (ALICE, "instances", 5),
        (ALICE, "cores", 8),
        (BOB, "instances", 2),
    ]
    assert all(r["project_id"] == P1 for r in every)
    assert await quotas.quota_get_all(admin, "project-3") == []


async def test_quota_destroy_all_by_project_soft_deletes_limits_usages_and_reservations(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", 10)
    await quotas.quota_create(admin, P1, "instances", 5, user_id=ALICE)
    await quotas.quota_create(admin, P2, "instances", 5, user_id=ALICE)
    reservations = await engine().reserve(alice, instances=1, floating_ips=1)
    await quotas.quota_destroy_all_by_project(admin, P1)
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1}
    assert await quotas.quota_get_all(admin, P1) == []
    assert await quotas.quota_usage_get_all_by_project(admin, P1) == {"project_id": P1}
    for reservation in reservations:
        with pytest.raises(errors.ReservationNotFound):
            await quotas.reservation_get(admin, reservation)
    rows = await select(nova_db, "SELECT id, deleted FROM quota_usages")
    assert rows and all(r["deleted"] == r["id"] for r in rows)
    assert (await quotas.quota_get(admin, P2, "instances", user_id=ALICE))["hard_limit"] == 5
    await quotas.quota_create(admin, P1, "instances", 5, user_id=ALICE)  # the project may start again
    await engine().reserve(alice, instances=1)
    assert await usage(admin, "instances", ALICE) == (0, 1)
    with pytest.raises(errors.AdminRequired):
        await engine().destroy_all_by_project(alice, P1)
    await engine().destroy_all_by_project(admin, P1)
    assert await quotas.quota_get_all_by_project_and_user(admin, P1, ALICE) == {"project_id": P1, "user_id": ALICE}
    assert await quotas.quota_usage_get_all_by_project(admin, P1) == {"project_id": P1}


async def test_quota_destroy_all_by_project_and_user_soft_deletes_only_that_users_rows(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", 10)
    await quotas.quota_create(admin, P1, "instances", 5, user_id=ALICE)
    await quotas.quota_create(admin, P1, "instances", 6, user_id=BOB)
    alices = await engine().reserve(alice, instances=1, floating_ips=1)
    bobs = await engine().reserve(bob, instances=2)
    await quotas.quota_destroy_all_by_project_and_user(admin, P1, ALICE)
    assert await quotas.quota_get_all_by_project_and_user(admin, P1, ALICE) == {"project_id": P1, "user_id": ALICE}
    assert await quotas.quota_get_all_by_project_and_user(admin, P1, BOB) == {
        "project_id": P1,
        "user_id": BOB,
        "instances": 6,
    }
    assert await quotas.quota_get_all_by_project(admin, P1) == {"project_id": P1, "instances": 10}
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_get(admin, P1, "instances", ALICE)
    for reservation in alices:
        with pytest.raises(errors.ReservationNotFound):
            await quotas.reservation_get(admin, reservation)
    assert (await quotas.reservation_get(admin, bobs[0]))["user_id"] == BOB
    assert await usage(admin, "instances", BOB) == (0, 2)
    assert await usage(admin, "floating_ips", None) == (0, 1)  # the project's row stays


# --- quota classes ---------------------------------------------------------------------------


async def test_quota_classes_create_get_update_and_destroy(admin: rawdb.Context) -> None:
    assert await quotas.quota_class_get_default(admin) == {"class_name": "default"}  # nova seeds none
    created = await quotas.quota_class_create(admin, "default", "instances", 20)
    assert (created["class_name"], created["resource"], created["hard_limit"]) == ("default", "instances", 20)
    await quotas.quota_class_create(admin, "gold", "instances", 50)
    await quotas.quota_class_create(admin, "gold", "cores", 100)
    assert await quotas.quota_class_get_default(admin) == {"class_name": "default", "instances": 20}
    assert (await quotas.quota_class_get(admin, "gold", "cores"))["hard_limit"] == 100
    await quotas.quota_class_update(admin, "gold", "cores", 120)
    assert await quotas.quota_class_get_all_by_name(admin, "gold") == {
        "class_name": "gold",
        "instances": 50,
        "cores": 120,
    }
    await quotas.quota_class_destroy_all_by_name(admin, "gold")
    assert await quotas.quota_class_get_all_by_name(admin, "gold") == {"class_name": "gold"}
    assert await quotas.quota_class_get_default(admin) == {"class_name": "default", "instances": 20}


async def test_limits_given_as_integer_strings_are_stored_as_numbers_as_novas_api_passes_them(
    admin: rawdb.Context,
) -> None:
    created = await quotas.quota_class_create(admin, "default", "instances", "10")
    assert created["hard_limit"] == 10
    assert await quotas.quota_class_get_default(admin) == {"class_name": "default", "instances": 10}
    await quotas.quota_class_update(admin, "default", "instances", " 12 ")
    await quotas.quota_create(admin, "p1", "cores", "-1")
    assert (await quotas.quota_get(admin, "p1", "cores"))["hard_limit"] == -1
    for bad in ("ten", "1.5", "1e3", "", "1_000"):
        with pytest.raises(errors.Invalid, match="quota limit"):
            await quotas.quota_class_create(admin, "gold", "instances", bad)
    assert await quotas.quota_class_get_all_by_name(admin, "gold") == {"class_name": "gold"}
    assert await quotas.quota_class_get_default(admin) == {"class_name": "default", "instances": 12}


async def test_quota_class_not_found(admin: rawdb.Context) -> None:
    await quotas.quota_class_create(admin, "gold", "instances", 50)
    with pytest.raises(errors.QuotaClassNotFound) as info:
        await quotas.quota_class_get(admin, "silver", "instances")
    assert "silver" in str(info.value)
    with pytest.raises(errors.QuotaClassNotFound):
        await quotas.quota_class_get(admin, "gold", "cores")
    with pytest.raises(errors.QuotaClassNotFound):
        await quotas.quota_class_update(admin, "silver", "instances", 1)


# --- usages ----------------------------------------------------------------------------------


async def test_per_project_resources_count_in_one_row_without_a_user(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    eng = engine()
    await eng.reserve(alice, floating_ips=2, fixed_ips=1, instances=1)
    await eng.reserve(bob, floating_ips=3, instances=1)
    rows = await select(
        nova_db, "SELECT user_id, resource, reserved FROM quota_usages WHERE deleted = 0 ORDER BY resource, user_id"
    )
    assert sorted((r["resource"], r["user_id"] or "", r["reserved"]) for r in rows) == [
        ("fixed_ips", "", 1),
        ("floating_ips", "", 5),
        ("instances", ALICE, 1),
        ("instances", BOB, 1),
    ]
    for user in (ALICE, BOB, None):
        assert await usage(admin, "floating_ips", user) == (0, 5)
    reservations = await quotas.reservation_get_all_by_project(admin, P1)
    assert sorted(reservations["floating_ips"].values()) == [2, 3]
    refused = await over_quota(eng.reserve(bob, floating_ips=6))  # the default limit is 10, for the project
    assert refused.overs == ["floating_ips"]
    assert refused.usages == {"floating_ips": {"in_use": 0, "reserved": 5}}


async def test_quota_usage_get_reads_the_users_row(admin: rawdb.Context, alice: rawdb.Context) -> None:
    await engine().reserve(alice, instances=1)
    row = await quotas.quota_usage_get(admin, P1, "instances", ALICE)
    assert (row["project_id"], row["user_id"], row["resource"], row["in_use"], row["reserved"]) == (
        P1,
        ALICE,
        "instances",
        0,
        1,
    )
    assert row["updated_at"] is not None
    with pytest.raises(errors.QuotaUsageNotFound) as info:
        await quotas.quota_usage_get(admin, P1, "instances", BOB)
    assert P1 in str(info.value)
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_get(admin, P1, "cores", ALICE)


async def test_quota_usage_get_without_a_user_reads_the_projects_first_row_as_newton(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_get(admin, P1, "instances")
    await engine().reserve(alice, instances=1)
    await engine().reserve(bob, instances=2)
    row = await quotas.quota_usage_get(admin, P1, "instances")  # no user filter: the first row, by id
    assert (row["user_id"], row["reserved"]) == (ALICE, 1)
    assert (await quotas.quota_usage_get(admin, P1, "instances", BOB))["reserved"] == 2


async def test_quota_usage_get_all_by_project_sums_users_and_by_user_does_not(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    eng = engine()
    await eng.commit(alice, await eng.reserve(alice, instances=2, cores=4))
    await eng.reserve(alice, instances=1, floating_ips=1)
    await eng.reserve(bob, instances=3, floating_ips=2)
    assert await quotas.quota_usage_get_all_by_project(admin, P1) == {
        "project_id": P1,
        "instances": {"in_use": 2, "reserved": 4},
        "cores": {"in_use": 4, "reserved": 0},
        "floating_ips": {"in_use": 0, "reserved": 3},
    }
    assert await quotas.quota_usage_get_all_by_project_and_user(admin, P1, ALICE) == {
        "project_id": P1,
        "user_id": ALICE,
        "instances": {"in_use": 2, "reserved": 1},
        "cores": {"in_use": 4, "reserved": 0},
        "floating_ips": {"in_use": 0, "reserved": 3},
    }
    assert await quotas.quota_usage_get_all_by_project_and_user(admin, P1, BOB) == {
        "project_id": P1,
        "user_id": BOB,
        "instances": {"in_use": 0, "reserved": 3},
        "floating_ips": {"in_use": 0, "reserved": 3},
    }
    assert await quotas.quota_usage_get_all_by_project(admin, P2) == {"project_id": P2}


async def test_quota_usage_update_sets_the_users_or_the_projects_row(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await engine().reserve(alice, instances=1, floating_ips=1)
    await engine().reserve(bob, instances=1)
    await quotas.quota_usage_update(admin, P1, ALICE, "instances", in_use=4, until_refresh=2)
    row = await quotas.quota_usage_get(admin, P1, "instances", ALICE)
    assert (row["in_use"], row["reserved"], row["until_refresh"]) == (4, 1, 2)
    assert await usage(admin, "instances", BOB) == (0, 1)
    await quotas.quota_usage_update(admin, P1, BOB, "floating_ips", reserved=0)  # the project's row
    assert await usage(admin, "floating_ips", None) == (0, 0)
    before = await dump(nova_db)
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_update(admin, P1, ALICE, "cores", in_use=1)
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_update(admin, P1, "carol", "instances", in_use=1)
    assert await dump(nova_db) == before


async def test_quota_usage_refresh_recounts_the_users_usage(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    eng = engine()
    await eng.commit(alice, await eng.reserve(alice, instances=5, cores=5))
    await eng.commit(bob, await eng.reserve(bob, instances=5))
    await add_instance(nova_db, P1, ALICE, vcpus=2, ram=256)
    await add_instance(nova_db, P1, BOB, vcpus=8, ram=256)
    await quotas.quota_usage_refresh(admin, resources(), ["instances", "cores", "ram"], 0, 0, P1, ALICE)
    assert await usage(admin, "instances", ALICE) == (1, 0)
    assert await usage(admin, "cores", ALICE) == (2, 0)
    assert await usage(admin, "ram", ALICE) == (256, 0)  # a missing row is created
    assert await usage(admin, "instances", BOB) == (5, 0)  # another user's row is left alone
    await add_floating_ip(nova_db, P1)
    await quotas.quota_usage_refresh(bob, resources(), ["floating_ips", "instances"], 3, 0)
    assert await usage(admin, "floating_ips", None) == (1, 0)
    row = await quotas.quota_usage_get(admin, P1, "instances", BOB)
    assert (row["in_use"], row["until_refresh"]) == (1, 3)


# --- reservations (DB API) ----------------------------------------------------------------------


# Round trips of a steady-state reserve and its commit, BEGIN and COMMIT included; they
# differ by backend on purpose (see the same test in test_quota_cinder.py).
# On Galera a reservation writes its fence rows first (rawdb.quota.core.fence): one more.
ROUND_TRIPS = {"postgresql": (1, 1), "mysql": (5, 4), "sqlite": (6, 4), "galera": (6, 4)}


async def test_steady_state_reserve_and_commit_keep_to_their_round_trips(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context, backend: str
) -> None:
    eng = engine()
    for ctx in (alice, bob):  # creates the rows: alice's counts see bob's in the project total
        await eng.commit(ctx, await eng.reserve(ctx, instances=1, floating_ips=1))
    reserving, committing = StatementCounter(), StatementCounter()
    with nova_db.hooked(reserving):
        reservations = await eng.reserve(alice, instances=1, floating_ips=1)
    with nova_db.hooked(committing):
        await eng.commit(alice, reservations)
    assert (reserving.total, committing.total) == ROUND_TRIPS[backend]
    assert await usage(admin, "instances", ALICE) == (2, 0)
    assert await usage(admin, "floating_ips", None) == (3, 0)


async def test_reservation_create_get_and_get_all_by_project(admin: rawdb.Context, alice: rawdb.Context) -> None:
    await engine().reserve(alice, instances=1)
    instances = await quotas.quota_usage_get(admin, P1, "instances", ALICE)
    expire = datetime(2040, 1, 2, 3, 4, 5)
    made = str(uuid.uuid4())
    created = await quotas.reservation_create(admin, made, instances, P1, ALICE, "instances", 2, expire)
    assert (created["uuid"], created["usage_id"], created["user_id"], created["delta"], created["expire"]) == (
        made,
        instances["id"],
        ALICE,
        2,
        expire,
    )
    got = await quotas.reservation_get(admin, made)
    assert (got["id"], got["project_id"], got["resource"], got["deleted"]) == (created["id"], P1, "instances", 0)
    everything = await quotas.reservation_get_all_by_project(admin, P1)
    assert set(everything) == {"project_id", "instances"} and everything["instances"][made] == 2
    assert len(everything["instances"]) == 2
    with pytest.raises(errors.ReservationNotFound):
        await quotas.reservation_get(admin, str(uuid.uuid4()))
    await quotas.reservation_commit(admin, [made])  # made by hand: it never added to reserved
    with pytest.raises(errors.ReservationNotFound):
        await quotas.reservation_get(admin, made)
    assert await usage(admin, "instances", ALICE) == (2, 0)


# --- sync functions ----------------------------------------------------------------------------


async def test_sync_functions_count_live_rows_per_project_and_user(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    a1 = await add_instance(nova_db, P1, ALICE, vcpus=2, ram=512)
    await add_instance(nova_db, P1, ALICE, vcpus=4, ram=1024)
    await add_instance(nova_db, P1, ALICE, vcpus=16, ram=9999, deleted=True)
    b1 = await add_instance(nova_db, P1, BOB, vcpus=1, ram=256)
    await add_instance(nova_db, P2, ALICE, vcpus=32, ram=4096)
    await add_floating_ip(nova_db, P1)
    await add_floating_ip(nova_db, P1)
    await add_floating_ip(nova_db, P1, auto_assigned=True)
    await add_floating_ip(nova_db, P1, deleted=True)
    await add_floating_ip(nova_db, P2)
    await add_fixed_ip(nova_db, a1)
    await add_fixed_ip(nova_db, b1)
    await add_fixed_ip(nova_db, b1, deleted=True)
    await add_fixed_ip(nova_db, None)
    async with nova_db.reader() as tx:
        assert await sync.sync_instances(tx, P1, ALICE) == {"instances": 2, "cores": 6, "ram": 1536}
        assert await sync.sync_instances(tx, P1, BOB) == {"instances": 1, "cores": 1, "ram": 256}
        assert await sync.sync_instances(tx, P1, None) == {"instances": 3, "cores": 7, "ram": 1792}
        assert await sync.sync_instances(tx, "project-3", ALICE) == {"instances": 0, "cores": 0, "ram": 0}
        assert await sync.sync_floating_ips(tx, P1, ALICE) == {"floating_ips": 2}
        assert await sync.sync_fixed_ips(tx, P1, BOB) == {"fixed_ips": 2}
        assert await sync.sync_fixed_ips(tx, P2, None) == {"fixed_ips": 0}


async def test_first_reservation_creates_the_users_rows_with_the_counted_usage(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    await add_instance(nova_db, P1, ALICE, vcpus=2, ram=512)
    await add_instance(nova_db, P1, ALICE, vcpus=4, ram=1024)
    await add_instance(nova_db, P1, ALICE, vcpus=16, ram=9999, deleted=True)
    await add_instance(nova_db, P1, BOB, vcpus=1, ram=256)
    await add_floating_ip(nova_db, P1)
    await engine().reserve(alice, instances=1, cores=2, ram=128, floating_ips=1)
    assert await usage(admin, "instances", ALICE) == (2, 1)
    assert await usage(admin, "cores", ALICE) == (6, 2)
    assert await usage(admin, "ram", ALICE) == (1536, 128)
    assert await usage(admin, "floating_ips", None) == (1, 1)
    with pytest.raises(errors.QuotaUsageNotFound):
        await quotas.quota_usage_get(admin, P1, "instances", BOB)


# --- the engine: limits --------------------------------------------------------------------


async def test_effective_limits_resolve_user_then_project_then_classes_then_defaults(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    eng = engine()
    limits = await eng.get_limits(alice)
    assert (limits["instances"], limits["cores"], limits["fixed_ips"], limits["metadata_items"]) == (10, 20, -1, 128)
    await quotas.quota_class_create(admin, "default", "instances", 8)
    assert (await eng.get_limits(alice))["instances"] == 8
    assert (await eng.get_defaults(alice))["instances"] == 8
    gold = rawdb.Context(nova_db, project_id=P1, user_id=ALICE, quota_class="gold")
    await quotas.quota_class_create(admin, "gold", "instances", 6)
    assert (await eng.get_limits(gold))["instances"] == 6
    assert (await eng.get_limits(alice))["instances"] == 8
    await quotas.quota_create(admin, P1, "instances", 4)
    assert (await eng.get_limits(gold))["instances"] == 4
    await quotas.quota_create(admin, P1, "instances", 3, user_id=ALICE)
    assert (await eng.get_limits(gold))["instances"] == 3
    assert (await eng.get_limits(bob))["instances"] == 4  # bob has no row: the project's limit
    assert (await eng.get_limits(admin, project_id=P1, user_id=BOB))["instances"] == 4
    await eng.reserve(alice, instances=3)
    await over_quota(eng.reserve(alice, instances=1))
    await quotas.quota_create(admin, P1, "instances", -1, user_id=BOB)
    assert (await eng.get_limits(bob))["instances"] == -1


async def test_a_user_limit_defaults_to_the_project_limit(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "cores", 4)
    eng = engine()
    refused = await over_quota(eng.reserve(alice, cores=5))
    assert refused.quotas == {"cores": 4}
    await eng.rollback(alice, await eng.reserve(alice, cores=4))
    refused = await over_quota(eng.reserve(alice, cores=5))  # with the row there
    assert refused.quotas == {"cores": 4}
    await eng.reserve(alice, cores=4)


async def test_a_user_under_its_own_limit_is_refused_when_the_project_total_is_over(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", 3)
    await quotas.quota_create(admin, P1, "instances", 3, user_id=BOB)
    eng = engine()
    await eng.commit(alice, await eng.reserve(alice, instances=2))
    refused = await over_quota(eng.reserve(bob, instances=2))  # bob has no row yet
    assert refused.overs == ["instances"]
    assert refused.usages == {"instances": {"in_use": 2, "reserved": 0}}  # project view: equal limits
    await eng.reserve(bob, instances=1)
    refused = await over_quota(eng.reserve(bob, instances=1))  # bob's row exists
    assert refused.overs == ["instances"]
    assert refused.usages == {"instances": {"in_use": 2, "reserved": 1}}
    assert await usage(admin, "instances", BOB) == (0, 1)


async def test_a_user_limit_below_the_project_limit_refuses_that_user_only(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", 10)
    await quotas.quota_create(admin, P1, "instances", 1, user_id=ALICE)
    eng = engine()
    await eng.reserve(alice, instances=1)
    refused = await over_quota(eng.reserve(alice, instances=1))
    assert refused.quotas == {"instances": 1}
    assert refused.usages == {"instances": {"in_use": 0, "reserved": 1}}  # the user's view
    await eng.reserve(bob, instances=5)
    assert await usage(admin, "instances", BOB) == (0, 5)


async def test_an_unlimited_project_with_a_limited_user_is_over_quota_not_an_error(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", -1)
    await quotas.quota_create(admin, P1, "instances", 2, user_id=ALICE)
    eng = engine()
    refused = await over_quota(eng.reserve(alice, instances=3))
    assert refused.overs == ["instances"] and refused.quotas == {"instances": 2}
    await eng.reserve(alice, instances=2)
    await over_quota(eng.reserve(alice, instances=1))
    await eng.reserve(bob, instances=1000)
    assert await quotas.quota_usage_get_all_by_project(admin, P1) == {
        "project_id": P1,
        "instances": {"in_use": 0, "reserved": 1002},
    }


async def test_limit_check_checks_absolute_resources(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    eng = engine()
    await eng.limit_check(alice, metadata_items=128, injected_files=5)
    refused = await over_quota(eng.limit_check(alice, metadata_items=129, injected_files=5))
    assert refused.overs == ["metadata_items"]
    assert refused.quotas == {"metadata_items": 128, "injected_files": 5}
    assert refused.usages == {}
    with pytest.raises(errors.InvalidQuotaValue) as info:
        await eng.limit_check(alice, metadata_items=-1, injected_files=-2, key_pairs=1)
    assert info.value.unders == ["injected_files", "metadata_items"]
    for bad in ({"instances": 1}, {"shares": 1}):
        with pytest.raises(errors.QuotaResourceUnknown):
            await eng.limit_check(alice, **bad)
    await quotas.quota_create(admin, P1, "metadata_items", 200)
    await eng.limit_check(alice, metadata_items=200)
    await quotas.quota_create(admin, P1, "metadata_items", 10, user_id=ALICE)
    refused = await over_quota(eng.limit_check(alice, metadata_items=11))
    assert refused.quotas == {"metadata_items": 10}
    await eng.limit_check(rawdb.Context(nova_db, project_id=P1, user_id=BOB), metadata_items=200)
    await quotas.quota_update(admin, P1, "metadata_items", -1)
    await quotas.quota_update(admin, P1, "metadata_items", -1, user_id=ALICE)
    await eng.limit_check(alice, metadata_items=10**6)
    assert await dump(nova_db) == {"quota_usages": [], "reservations": []}


# --- the engine: reserve, commit, rollback, expire -------------------------------------------


async def test_reserve_commit_and_rollback_move_the_users_counters_exactly(
    admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    eng = engine()
    first = await eng.reserve(alice, instances=1, cores=2, ram=512)
    assert len(first) == 3
    assert [(await quotas.reservation_get(admin, u))["user_id"] for u in first] == [ALICE] * 3
    second = await eng.reserve(alice, instances=1, cores=4)
    assert await usage(admin, "cores", ALICE) == (0, 6)
    await eng.commit(alice, first)
    assert await usage(admin, "instances", ALICE) == (1, 1)
    assert await usage(admin, "cores", ALICE) == (2, 4)
    assert await usage(admin, "ram", ALICE) == (512, 0)
    await eng.rollback(alice, second)
    assert await usage(admin, "instances", ALICE) == (1, 0)
    assert await usage(admin, "cores", ALICE) == (2, 0)
    await eng.commit(alice, first)  # applies once
    await eng.rollback(alice, first)
    assert await usage(admin, "cores", ALICE) == (2, 0)
    await quotas.reservation_rollback(bob, second)
    assert await usage(admin, "cores", ALICE) == (2, 0)


async def test_negative_deltas_pass_and_commit_clamps_in_use_at_zero(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    await add_instance(nova_db, P1, ALICE, vcpus=4)
    await quotas.quota_create(admin, P1, "cores", 1)  # already over
    eng = engine()
    down = await eng.reserve(alice, cores=-6, instances=-1)
    assert await usage(admin, "cores", ALICE) == (4, 0)
    await eng.commit(alice, down)
    assert await usage(admin, "cores", ALICE) == (0, 0)
    assert await usage(admin, "instances", ALICE) == (0, 0)


async def test_delta_zero_is_refused_for_a_user_already_over_its_limit(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", 1, user_id=ALICE)
    await add_instance(nova_db, P1, ALICE)
    await add_instance(nova_db, P1, ALICE)
    eng = engine()
    refused = await over_quota(eng.reserve(alice, instances=0))
    assert refused.usages == {"instances": {"in_use": 2, "reserved": 0}}
    await eng.reserve(alice, instances=-1)  # a negative delta passes and creates the row
    before = await dump(nova_db)
    await over_quota(eng.reserve(alice, instances=0))
    assert await dump(nova_db) == before
    (zero,) = await eng.reserve(bob, instances=0)  # bob is under the project's limit
    assert (await quotas.reservation_get(admin, zero))["delta"] == 0


async def test_rollback_and_expire_never_drive_reserved_negative(admin: rawdb.Context, alice: rawdb.Context) -> None:
    eng = engine()
    rolled_back = await eng.reserve(alice, instances=3)
    await eng.reserve(alice, expire=utcnow() - timedelta(seconds=1), cores=5)
    (fresh,) = await eng.reserve(alice, expire=timedelta(hours=1), ram=100)
    await quotas.quota_usage_update(admin, P1, ALICE, "instances", reserved=1)
    await quotas.quota_usage_update(admin, P1, ALICE, "cores", reserved=2)
    await eng.rollback(alice, rolled_back)
    await quotas.reservation_expire(admin)
    assert await usage(admin, "instances", ALICE) == (0, 0)
    assert await usage(admin, "cores", ALICE) == (0, 0)
    assert await usage(admin, "ram", ALICE) == (0, 100)  # not expired
    assert (await quotas.reservation_get(admin, fresh))["delta"] == 100
    with pytest.raises(errors.AdminRequired):
        await quotas.reservation_expire(alice)


async def test_reserve_refuses_unknown_resources_and_bad_expiries(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    eng = engine()
    with pytest.raises(errors.QuotaResourceUnknown) as info:
        await eng.reserve(alice, instances=1, metadata_items=1)
    assert info.value.unknown == ["metadata_items"]
    with pytest.raises(errors.QuotaResourceUnknown):
        await eng.reserve(alice, networks=1)
    with pytest.raises(errors.InvalidReservationExpiration):
        await eng.reserve(alice, expire="soon", instances=1)
    assert await dump(nova_db) == {"quota_usages": [], "reservations": []}


# --- the engine: refreshes --------------------------------------------------------------------


async def test_usage_reset_recounts_only_the_callers_rows(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    eng = engine()
    await eng.commit(alice, await eng.reserve(alice, instances=4, cores=4))
    await eng.commit(bob, await eng.reserve(bob, instances=4))
    await add_instance(nova_db, P1, ALICE, vcpus=3)
    await add_instance(nova_db, P1, BOB, vcpus=3)
    await eng.usage_reset(alice, ["instances", "ram"])  # alice has no ram row: ignored
    assert await usage(admin, "instances", ALICE) == (-1, 0)
    await eng.reserve(alice, instances=1, cores=1)
    assert await usage(admin, "instances", ALICE) == (1, 1)
    assert await usage(admin, "cores", ALICE) == (3, 1)  # counted by the same sync
    await eng.reserve(bob, instances=1)
    assert await usage(admin, "instances", BOB) == (4, 1)


async def test_until_refresh_and_max_age_recount_from_the_instances_table(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    counting = engine(until_refresh=2)
    await counting.commit(alice, await counting.reserve(alice, instances=3))  # created: counted 0, then 1 to go
    row = await quotas.quota_usage_get(admin, P1, "instances", ALICE)
    assert (row["in_use"], row["until_refresh"]) == (3, 1)
    await add_instance(nova_db, P1, ALICE)
    await counting.reserve(alice, instances=1)
    row = await quotas.quota_usage_get(admin, P1, "instances", ALICE)
    assert (row["in_use"], row["reserved"], row["until_refresh"]) == (1, 1, 2)
    aging = engine(max_age=60)
    await quotas.quota_usage_update(admin, P1, ALICE, "instances", in_use=7, until_refresh=None)
    await aging.reserve(alice, instances=1)
    assert await usage(admin, "instances", ALICE) == (7, 2)
    await set_updated_at(nova_db, ALICE, "instances", utcnow() - timedelta(days=1, seconds=5))
    await aging.reserve(alice, instances=1)
    assert await usage(admin, "instances", ALICE) == (1, 3)


async def test_one_sync_refreshes_every_resource_it_counts_and_none_is_counted_down_twice(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    # spec C.1/C.3: resources refreshed by another resource's sync leave the work set
    eng = engine(until_refresh=3)
    await eng.reserve(alice, instances=1, cores=1)  # created with 3, counted down to 2
    await eng.reserve(alice, instances=1, cores=1)  # 1
    await add_instance(nova_db, P1, ALICE, vcpus=6)
    await eng.reserve(alice, instances=1, cores=1)  # instances reaches 0: its sync recounts cores too
    instances = await quotas.quota_usage_get(admin, P1, "instances", ALICE)
    cores = await quotas.quota_usage_get(admin, P1, "cores", ALICE)
    assert (instances["in_use"], instances["reserved"], instances["until_refresh"]) == (1, 3, 3)
    assert (cores["in_use"], cores["reserved"], cores["until_refresh"]) == (6, 3, 3)


# --- the engine: refusals and overflow ----------------------------------------------------------


async def test_over_quota_leaves_the_database_as_it_was(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", 2)
    await quotas.quota_create(admin, P1, "floating_ips", 1)
    eng = engine(max_age=60)
    await over_quota(eng.reserve(alice, instances=3, cores=1, floating_ips=1))  # fresh: rows not kept
    assert await dump(nova_db) == {"quota_usages": [], "reservations": []}
    await eng.reserve(alice, instances=1, cores=1, floating_ips=1)
    before = await dump(nova_db)
    await over_quota(eng.reserve(bob, cores=1, instances=2))  # bob's rows would be created
    assert await dump(nova_db) == before
    await over_quota(eng.reserve(alice, floating_ips=1))
    assert await dump(nova_db) == before
    await add_instance(nova_db, P1, ALICE, vcpus=2)
    await set_updated_at(nova_db, ALICE, "instances", utcnow() - timedelta(hours=1))
    await set_updated_at(nova_db, ALICE, "cores", utcnow() - timedelta(hours=1))
    before = await dump(nova_db)
    refused = await over_quota(eng.reserve(alice, cores=1, instances=1))  # refreshes instances and cores first
    assert refused.usages["instances"] == {"in_use": 1, "reserved": 1}
    assert await dump(nova_db) == before


async def test_over_quota_after_counting_down_until_refresh_leaves_the_database_as_it_was(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", 1, user_id=ALICE)
    eng = engine(until_refresh=5)
    await eng.reserve(alice, instances=1)
    before = await dump(nova_db)
    await over_quota(eng.reserve(alice, instances=1))
    assert await dump(nova_db) == before


async def test_quota_usage_overflow_near_max_int_leaves_the_database_as_it_was(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "ram", -1)
    eng = engine()
    await eng.reserve(alice, ram=0)
    await quotas.quota_usage_update(admin, P1, ALICE, "ram", in_use=MAX_INT - 100)
    before = await dump(nova_db)
    with pytest.raises(errors.QuotaUsageOverflow) as info:
        await eng.reserve(alice, ram=101, instances=1)
    assert info.value.overs == ["ram"]
    assert await dump(nova_db) == before
    await eng.reserve(alice, ram=100)
    assert await usage(admin, "ram", ALICE) == (MAX_INT - 100, 100)


# --- the DB API's quota_reserve ----------------------------------------------------------------


async def test_quota_reserve_checks_the_given_project_and_user_quotas(
    nova_db: rawdb.Database, admin: rawdb.Context, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    await quotas.quota_create(admin, P1, "instances", 100)
    expire = utcnow() + timedelta(hours=1)
    project_quotas = {"instances": 3, "cores": -1}
    user_quotas = {"instances": 2, "cores": 4}
    reserve = quotas.quota_reserve
    refused = await over_quota(reserve(alice, resources(), project_quotas, user_quotas, {"instances": 3}, expire, 0, 0))
    assert refused.quotas == {"instances": 2}
    uuids = await reserve(alice, resources(), project_quotas, user_quotas, {"instances": 2, "cores": 4}, expire, 0, 0)
    assert (await quotas.reservation_get(admin, uuids[0]))["expire"] == expire
    refused = await over_quota(reserve(bob, resources(), project_quotas, user_quotas, {"instances": 2}, expire, 0, 0))
    assert refused.overs == ["instances"]  # bob is under 2, the project total would be 4 > 3
    await reserve(admin, resources(), project_quotas, None, {"instances": 1}, expire, 0, 0, P1, BOB)
    assert await usage(admin, "instances", BOB) == (0, 1)
    assert await quotas.quota_usage_get_all_by_project(admin, P1) == {
        "project_id": P1,
        "instances": {"in_use": 0, "reserved": 3},
        "cores": {"in_use": 0, "reserved": 4},
    }
    await quotas.reservation_commit(alice, uuids, project_id=P1, user_id=ALICE)
    assert await usage(admin, "cores", ALICE) == (4, 0)
