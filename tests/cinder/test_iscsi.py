"""Cinder's iSCSI targets (rawdb.cinder.iscsi) on every backend (spec A.5, D.9, E.3)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.cinder import iscsi as db
from rawdb.cinder import volumes
from rawdb.observe import StatementCounter

T0 = datetime(2012, 9, 27, 10, 0, 0, 123456)


async def volume(ctx: rawdb.Context) -> str:
    created = await volumes.volume_create(ctx, {"project_id": "p1", "size": 1})
    return str(created["id"])


async def provision(ctx: rawdb.Context, host: str, count: int) -> None:
    """What cinder's volume driver does at start: create the host's targets 1..count."""
    for number in range(1, count + 1):
        await db.iscsi_target_create_safe(ctx, {"host": host, "target_num": number})


# --- count, create -------------------------------------------------------------------------


async def test_iscsi_target_count_by_host_counts_the_hosts_targets_as_read_deleted_allows(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    assert await db.iscsi_target_count_by_host(admin, "h1") == 0
    await provision(admin, "h1", 3)
    await provision(admin, "h2", 2)
    await execute(cinder_db, "UPDATE iscsi_targets SET deleted = true WHERE host = 'h1' AND target_num = 3")
    assert await db.iscsi_target_count_by_host(admin, "h1") == 2
    assert await db.iscsi_target_count_by_host(admin.elevated(read_deleted="yes"), "h1") == 3
    assert await db.iscsi_target_count_by_host(admin.elevated(read_deleted="only"), "h1") == 1
    assert await db.iscsi_target_count_by_host(admin, "h" * 300) == 0
    with pytest.raises(errors.Invalid):
        await db.iscsi_target_count_by_host(admin, None)  # type: ignore[arg-type]


async def test_iscsi_target_create_safe_returns_the_target(admin: rawdb.Context) -> None:
    target = await db.iscsi_target_create_safe(admin, {"host": "h1", "target_num": "7", "created_at": T0})
    assert target is not None
    assert {k: v for k, v in target.items() if k != "id"} == {
        "target_num": 7,
        "host": "h1",
        "volume_id": None,
        "created_at": T0,
        "updated_at": None,
        "deleted_at": None,
        "deleted": False,
    }
    assert isinstance(target["id"], int)


async def test_iscsi_target_create_safe_swallows_a_duplicate_and_keeps_one_row(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    first = await db.iscsi_target_create_safe(admin, {"host": "h1", "target_num": 1})
    assert first is not None
    assert await db.iscsi_target_create_safe(admin, {"host": "h1", "target_num": 1}) is None
    assert await db.iscsi_target_create_safe(admin, {"host": "h2", "target_num": 1}) is not None
    rows = await select(cinder_db, "SELECT host, target_num FROM iscsi_targets ORDER BY id")
    assert [(r["host"], r["target_num"]) for r in rows] == [("h1", 1), ("h2", 1)]


async def test_iscsi_target_create_safe_duplicate_inside_a_writer_lets_the_transaction_go_on(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    async with admin.writer() as tx:
        assert await db.iscsi_target_create_safe(tx, {"host": "h1", "target_num": 1}) is not None
        assert await db.iscsi_target_create_safe(tx, {"host": "h1", "target_num": 1}) is None
        second = await db.iscsi_target_create_safe(tx, {"host": "h1", "target_num": 2})
        assert second is not None and second["target_num"] == 2
    assert await count_rows(cinder_db, "iscsi_targets") == 2


async def test_iscsi_target_create_safe_is_race_free_across_connections(
    cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(cinder_url) for _ in range(6)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    created = await asyncio.gather(*(db.iscsi_target_create_safe(c, {"host": "h1", "target_num": 1}) for c in callers))
    assert sum(target is not None for target in created) == 1
    assert await count_rows(cinder_db, "iscsi_targets") == 1


@pytest.mark.parametrize(
    "values",
    [
        {"host": "h1"},
        {"target_num": 1},
        {"host": None, "target_num": 1},
        {"host": "h1", "target_num": 1, "colour": "red"},
        {"host": "h" * 256, "target_num": 1},
        {"host": "h\x00", "target_num": 1},
        {"host": "h1", "target_num": "one"},
        {"host": "h1", "target_num": 2**31},
        ["host", "h1"],
    ],
    ids=repr,
)
async def test_iscsi_target_create_safe_refuses_bad_values_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, values: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.iscsi_target_create_safe(admin, values)
    assert await count_rows(cinder_db, "iscsi_targets") == 0


async def test_iscsi_target_create_safe_for_an_unknown_volume_is_volume_not_found(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    with pytest.raises(errors.VolumeNotFound):
        await db.iscsi_target_create_safe(admin, {"host": "h1", "target_num": 1, "volume_id": "no-such-volume"})
    assert await count_rows(cinder_db, "iscsi_targets") == 0
    volume_id = await volume(admin)
    target = await db.iscsi_target_create_safe(admin, {"host": "h1", "target_num": 1, "volume_id": volume_id})
    assert target is not None and target["volume_id"] == volume_id


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("iscsi_target_count_by_host", ("h1",)),
        ("iscsi_target_create_safe", ({"host": "h1", "target_num": 1},)),
        ("volume_allocate_iscsi_target", ("v", "h1")),
        ("volume_get_iscsi_target_num", ("v",)),
    ],
)
async def test_iscsi_functions_are_admin_only(
    alice: rawdb.Context, cinder_db: rawdb.Database, name: str, args: tuple[Any, ...]
) -> None:
    with pytest.raises(errors.AdminRequired):
        await getattr(db, name)(alice, *args)
    assert await count_rows(cinder_db, "iscsi_targets") == 0


# --- allocation ----------------------------------------------------------------------------


async def test_volume_allocate_iscsi_target_gives_the_lowest_free_live_target_of_the_host(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await provision(admin, "h2", 3)
    await provision(admin, "h1", 4)
    await execute(cinder_db, "UPDATE iscsi_targets SET deleted = true WHERE host = 'h1' AND target_num = 1")
    first, second = await volume(admin), await volume(admin)
    assert await db.volume_allocate_iscsi_target(admin, first, "h1") == 2
    assert await db.volume_allocate_iscsi_target(admin, second, "h1") == 3
    assert await db.volume_get_iscsi_target_num(admin, first) == 2
    assert await db.volume_get_iscsi_target_num(admin, second) == 3
    rows = await select(
        cinder_db, "SELECT volume_id, updated_at FROM iscsi_targets WHERE host = 'h1' ORDER BY target_num"
    )
    assert [r["volume_id"] for r in rows] == [None, first, second, None]
    assert rows[1]["updated_at"] is not None and rows[0]["updated_at"] is None


async def test_volume_allocate_iscsi_target_raises_no_more_targets_exactly_when_none_is_free(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    with pytest.raises(errors.NoMoreTargets):
        await db.volume_allocate_iscsi_target(admin, await volume(admin), "h1")  # no targets at all
    await provision(admin, "h1", 2)
    await provision(admin, "h2", 1)
    ids = [await volume(admin) for _ in range(3)]
    assert [await db.volume_allocate_iscsi_target(admin, v, "h1") for v in ids[:2]] == [1, 2]
    with pytest.raises(errors.NoMoreTargets):
        await db.volume_allocate_iscsi_target(admin, ids[2], "h1")
    with pytest.raises(errors.NoMoreTargets):
        await db.volume_allocate_iscsi_target(admin, ids[2], "h" * 300)
    with pytest.raises(errors.ISCSITargetNotFoundForVolume):
        await db.volume_get_iscsi_target_num(admin, ids[2])
    await volumes.volume_destroy(admin, ids[0])  # gives target 1 back
    assert await db.volume_allocate_iscsi_target(admin, ids[2], "h1") == 1


async def test_volume_allocate_iscsi_target_refuses_an_unknown_volume_and_bad_arguments(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await provision(admin, "h1", 1)
    for volume_id in ("no-such-volume", "x" * 40):
        with pytest.raises(errors.VolumeNotFound):
            await db.volume_allocate_iscsi_target(admin, volume_id, "h1")
    for volume_id, host in ((None, "h1"), ("v", 5)):
        with pytest.raises(errors.Invalid):
            await db.volume_allocate_iscsi_target(admin, volume_id, host)  # type: ignore[arg-type]
    rows = await select(cinder_db, "SELECT volume_id FROM iscsi_targets")
    assert rows == [{"volume_id": None}]


async def test_volume_allocate_iscsi_target_inside_a_callers_writer_rolls_back_with_it(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await provision(admin, "h1", 1)
    volume_id = await volume(admin)
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            assert await db.volume_allocate_iscsi_target(tx, volume_id, "h1") == 1
            raise RuntimeError("the caller's transaction fails")
    assert await select(cinder_db, "SELECT volume_id FROM iscsi_targets") == [{"volume_id": None}]
    assert await db.volume_allocate_iscsi_target(admin, volume_id, "h1") == 1


async def test_concurrent_volumes_get_different_targets(
    cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb
) -> None:
    # E.3: cinder's VolumeTestCase.test_concurrent_volumes_get_different_targets, with real
    # concurrent connections, and more callers than targets: 12 callers on 10 free targets.
    admin = rawdb.Context(cinder_db, is_admin=True)
    await provision(admin, "h1", 10)
    ids = [await volume(admin) for _ in range(12)]
    databases = [await open_db(cinder_url) for _ in range(12)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]

    results = await asyncio.gather(
        *(db.volume_allocate_iscsi_target(c, v, "h1") for c, v in zip(callers, ids, strict=True)),
        return_exceptions=True,
    )

    numbers = [r for r in results if isinstance(r, int)]
    failures = [r for r in results if not isinstance(r, int)]
    assert sorted(numbers) == list(range(1, 11))
    assert len(failures) == 2 and all(isinstance(f, errors.NoMoreTargets) for f in failures)
    rows = await select(cinder_db, "SELECT volume_id FROM iscsi_targets WHERE volume_id IS NOT NULL")
    assert len({r["volume_id"] for r in rows}) == 10
    for volume_id, result in zip(ids, results, strict=True):
        if isinstance(result, int):
            assert await db.volume_get_iscsi_target_num(admin, volume_id) == result


async def test_allocations_through_one_database_share_transactions_each_with_its_own_target_or_error(
    cinder_db: rawdb.Database, backend: str
) -> None:
    """14 callers through one Database on 10 targets, one naming no volume: those arriving while
    an allocation runs share the next transaction; the lowest numbers go out in arrival order."""
    admin = rawdb.Context(cinder_db, is_admin=True)
    await provision(admin, "h1", 10)
    ids = [await volume(admin) for _ in range(13)]
    ids.insert(4, "no-such-volume")
    counter = StatementCounter(keep=True)
    with cinder_db.hooked(counter):
        results = await asyncio.gather(
            *(db.volume_allocate_iscsi_target(admin, v, "h1") for v in ids), return_exceptions=True
        )
    assert isinstance(results[4], errors.VolumeNotFound)
    numbers = [r for r in results if isinstance(r, int)]
    assert numbers == list(range(1, 11))  # arrival order, lowest first
    assert [type(r) for r in results[-3:]] == [errors.NoMoreTargets] * 3
    for volume_id, result in zip(ids, results, strict=True):
        if isinstance(result, int):
            assert await db.volume_get_iscsi_target_num(admin, volume_id) == result
    shared = {e.name for e in counter.events if e.name.endswith("_many")}
    expected = "cinder.iscsi.allocate_claim_many" if backend == "mysql" else "cinder.iscsi.allocate_many"
    assert shared == {expected}


async def test_concurrent_allocations_inside_transactions_get_different_targets(
    cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb
) -> None:
    # Each caller holds its claim in an open transaction for a while: the others skip it.
    admin = rawdb.Context(cinder_db, is_admin=True)
    await provision(admin, "h1", 4)
    ids = [await volume(admin) for _ in range(4)]
    databases = [await open_db(cinder_url) for _ in range(4)]

    async def claim(database: rawdb.Database, volume_id: str) -> int:
        async with rawdb.Context(database, is_admin=True).writer() as tx:
            number = await db.volume_allocate_iscsi_target(tx, volume_id, "h1")
            await asyncio.sleep(0.05)
            return number

    numbers = await asyncio.gather(*(claim(d, v) for d, v in zip(databases, ids, strict=True)))
    assert sorted(numbers) == [1, 2, 3, 4]


# --- target number -------------------------------------------------------------------------


async def test_volume_get_iscsi_target_num_reads_deleted_targets_too(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await provision(admin, "h1", 1)
    volume_id = await volume(admin)
    assert await db.volume_allocate_iscsi_target(admin, volume_id, "h1") == 1
    await execute(cinder_db, "UPDATE iscsi_targets SET deleted = true")
    assert await db.volume_get_iscsi_target_num(admin, volume_id) == 1
    for missing in ("no-such-volume", "x" * 40):
        with pytest.raises(errors.ISCSITargetNotFoundForVolume) as caught:
            await db.volume_get_iscsi_target_num(admin, missing)
        assert missing in str(caught.value)
    with pytest.raises(errors.Invalid):
        await db.volume_get_iscsi_target_num(admin, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("holder_commits", [False, True], ids=["holder_rolls_back", "holder_commits"])
async def test_an_allocation_waits_for_a_held_last_target_instead_of_guessing_no_more_targets(
    cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb, holder_commits: bool
) -> None:
    # The only free target is claimed by an open transaction: NoMoreTargets would be a guess, so
    # the next caller waits for it, and gets it if the holder rolls back, NoMoreTargets if it commits.
    admin = rawdb.Context(cinder_db, is_admin=True)
    await provision(admin, "h1", 1)
    holder_volume, waiter_volume = await volume(admin), await volume(admin)
    holder_db, waiter_db = await open_db(cinder_url), await open_db(cinder_url)
    claimed = asyncio.Event()

    async def hold() -> None:
        try:
            async with rawdb.Context(holder_db, is_admin=True).writer() as tx:
                assert await db.volume_allocate_iscsi_target(tx, holder_volume, "h1") == 1
                claimed.set()
                await asyncio.sleep(0.3)
                if not holder_commits:
                    raise RuntimeError("the holder gives up")
        except RuntimeError:
            pass

    async def wait() -> int | Exception:
        await claimed.wait()
        try:
            return await db.volume_allocate_iscsi_target(rawdb.Context(waiter_db, is_admin=True), waiter_volume, "h1")
        except errors.NoMoreTargets as exc:
            return exc

    _, result = await asyncio.gather(hold(), wait())
    if holder_commits:
        assert isinstance(result, errors.NoMoreTargets)
        assert await db.volume_get_iscsi_target_num(admin, holder_volume) == 1
    else:
        assert result == 1
        assert await db.volume_get_iscsi_target_num(admin, waiter_volume) == 1
