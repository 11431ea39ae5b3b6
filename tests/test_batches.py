"""Calls sharing one writer scope (rawdb.batches.together), on every backend, with real scopes.

A first caller's work waits on an event while others arrive, so what runs in which scope is
decided by the test, not by timing.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from faulttools import INSERT, committed_ids, make_items

import rawdb
from rawdb import errors
from rawdb.batches import ALONE, together


class Recorder:
    """A work function that inserts one item per caller and answers ``id * 10``.

    ``hold`` keeps the scope of a caller whose id is in it open until released;
    ``pause`` keeps a shared scope open after its inserts until released.
    """

    def __init__(self) -> None:
        self.scopes: list[tuple[Any, list[int]]] = []
        self.hold = {1: asyncio.Event()}
        self.pause: asyncio.Event | None = None
        self.paused = asyncio.Event()
        self.entered = asyncio.Event()  # a held caller's scope is open and inserted

    async def __call__(self, tx: rawdb.Context, ids: list[int]) -> list[int]:
        self.scopes.append((tx.transaction, list(ids)))
        for item in ids:
            await tx.execute(INSERT, id=item, name=f"item {item}")
        for item in ids:
            if item in self.hold:
                self.entered.set()
                await self.hold[item].wait()
        if self.pause is not None and len(ids) > 1:
            self.paused.set()
            await self.pause.wait()
        return [item * 10 for item in ids]

    def batches(self) -> list[list[int]]:
        return [ids for _, ids in self.scopes]


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def start(ctx: rawdb.Context, work: Recorder, ids: range | list[int]) -> list[asyncio.Task[int]]:
    """The callers of ``ids`` started in order; back once the first one's work holds its scope."""
    tasks = [asyncio.create_task(together(ctx, "test.items", work, item)) for item in ids]
    await asyncio.wait_for(work.entered.wait(), 10)
    await settle()
    return tasks


async def test_callers_arriving_while_one_runs_share_one_scope_each_with_its_own_result(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    work = Recorder()
    first, *queued = await start(ctx, work, range(1, 7))
    assert work.batches() == [[1]]  # the first runs at once, the others wait for it
    work.hold[1].set()
    assert await asyncio.gather(first, *queued) == [10, 20, 30, 40, 50, 60]
    assert work.batches() == [[1], [2, 3, 4, 5, 6]]
    assert work.scopes[0][0] is not work.scopes[1][0]
    assert await committed_ids(db) == [1, 2, 3, 4, 5, 6]
    assert db.stats()["in_use"] == 0


async def test_a_caller_alone_runs_at_once_in_a_scope_of_its_own(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    work = Recorder()
    work.hold.clear()
    assert await together(ctx, "test.items", work, 7) == 70
    assert await together(ctx, "test.items", work, 8) == 80
    assert work.batches() == [[7], [8]]
    assert await committed_ids(db) == [7, 8]


async def test_an_error_in_a_shared_scope_rolls_it_back_and_each_caller_gets_its_own_result(
    db: rawdb.Database,
) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=4, name="there already")
    work = Recorder()
    first, *queued = await start(ctx, work, [1, 2, 3, 4, 5])
    work.hold[1].set()
    results = await asyncio.gather(first, *queued, return_exceptions=True)
    assert results[:3] == [10, 20, 30] and results[4] == 50
    assert isinstance(results[3], errors.DBDuplicateEntry)
    assert work.batches() == [[1], [2, 3, 4, 5], [2], [3], [4], [5]]
    assert await committed_ids(db) == [1, 2, 3, 4, 5]
    async with ctx.reader() as rx:
        names = await rx.fetch(rawdb.Statement.portable("test.items.name4", "SELECT name FROM items WHERE id = 4"))
    assert names == [{"name": "there already"}]


class Deferring(Recorder):
    """A Recorder whose shared scopes answer ALONE for the odd ids (inserting nothing for them)."""

    async def __call__(self, tx: rawdb.Context, ids: list[int]) -> list[int]:
        if len(ids) == 1:
            return await super().__call__(tx, ids)
        done = await super().__call__(tx, [item for item in ids if item % 2 == 0])
        answers = iter(done)
        return [ALONE if item % 2 else next(answers) for item in ids]


async def test_callers_a_shared_scope_answers_alone_for_run_after_it_committed_each_in_a_scope_of_its_own(
    db: rawdb.Database,
) -> None:
    """Their reruns come after the shared COMMIT: one failing there (a duplicate) fails alone and
    leaves the committed work of the others as it is."""
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=5, name="there already")
    work = Deferring()
    first, *queued = await start(ctx, work, [1, 2, 3, 4, 5, 6])
    work.hold[1].set()
    results = await asyncio.gather(first, *queued, return_exceptions=True)
    assert results[:4] == [10, 20, 30, 40] and results[5] == 60
    assert isinstance(results[4], errors.DBDuplicateEntry)
    assert work.batches() == [[1], [2, 4, 6], [3], [5]]
    assert len({id(scope) for scope, _ in work.scopes}) == 4
    assert await committed_ids(db) == [1, 2, 3, 4, 5, 6]


async def test_a_caller_cancelled_before_its_rerun_alone_is_not_run(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    work = Deferring()
    work.hold[3] = asyncio.Event()
    first, two, three, four, five = await start(ctx, work, [1, 2, 3, 4, 5])
    work.entered.clear()
    work.hold[1].set()
    await asyncio.wait_for(work.entered.wait(), 10)  # the shared scope committed 2 and 4; 3's own is held
    assert work.batches() == [[1], [2, 4], [3]]
    five.cancel()
    await settle()
    work.hold[3].set()
    assert await asyncio.gather(first, two, three, four) == [10, 20, 30, 40]
    with pytest.raises(asyncio.CancelledError):
        await five
    assert work.batches() == [[1], [2, 4], [3]]
    assert await committed_ids(db) == [1, 2, 3, 4]


async def test_alone_answered_for_a_caller_alone_is_an_error_not_a_loop(db: rawdb.Database) -> None:
    ctx = await make_items(db)

    async def lost(tx: rawdb.Context, ids: list[int]) -> list[Any]:
        return [ALONE for _ in ids]

    with pytest.raises(RuntimeError, match="ALONE"):
        await asyncio.wait_for(together(ctx, "test.items", lost, 1), 10)


async def test_a_caller_cancelled_while_it_waits_is_never_run(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    work = Recorder()
    first, two, three, four = await start(ctx, work, [1, 2, 3, 4])
    three.cancel()
    await settle()
    work.hold[1].set()
    assert await asyncio.gather(first, two, four) == [10, 20, 40]
    with pytest.raises(asyncio.CancelledError):
        await three
    assert work.batches() == [[1], [2, 4]]
    assert await committed_ids(db) == [1, 2, 4]


async def test_a_caller_cancelled_while_its_shared_scope_runs_is_rolled_back_and_the_others_go_again(
    db: rawdb.Database,
) -> None:
    ctx = await make_items(db)
    work = Recorder()
    work.pause = asyncio.Event()
    first, two, three, four = await start(ctx, work, [1, 2, 3, 4])
    work.hold[1].set()
    assert await first == 10
    await asyncio.wait_for(work.paused.wait(), 10)  # [2, 3, 4] inserted, not committed
    three.cancel()
    await settle()
    work.pause.set()
    assert await asyncio.gather(two, four) == [20, 40]
    with pytest.raises(asyncio.CancelledError):
        await three
    assert work.batches() == [[1], [2, 3, 4], [2, 4]]
    assert await committed_ids(db) == [1, 2, 4]
    assert db.stats()["in_use"] == 0


async def test_the_first_caller_cancelled_leaves_the_waiting_ones_served(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    work = Recorder()
    first, *queued = await start(ctx, work, [1, 2, 3])
    first.cancel()
    assert await asyncio.wait_for(asyncio.gather(*queued), 10) == [20, 30]
    with pytest.raises(asyncio.CancelledError):
        await first
    assert work.batches() == [[1], [2, 3]]
    assert await committed_ids(db) == [2, 3]  # the first one's scope rolled back


async def test_inside_a_callers_writer_the_work_joins_that_transaction_and_a_reader_is_refused(
    db: rawdb.Database,
) -> None:
    ctx = await make_items(db)
    work = Recorder()
    work.hold.clear()
    with pytest.raises(RuntimeError):
        async with ctx.writer() as tx:
            assert await together(tx, "test.items", work, 5) == 50
            assert work.scopes[0][0] is tx.transaction
            raise RuntimeError("the caller's transaction rolls back, and the work with it")
    assert await committed_ids(db) == []
    async with ctx.reader() as rx:
        with pytest.raises(errors.ScopeError):
            await together(rx, "test.items", work, 6)
    assert work.batches() == [[5]]


async def test_keys_do_not_share_scopes(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    work = Recorder()
    first = asyncio.create_task(together(ctx, "test.items", work, 1))
    await asyncio.wait_for(work.entered.wait(), 10)
    other = Recorder()
    other.hold.clear()
    # another key runs at once, beside the first key's open scope (SQLite: after it, one writer)
    second = asyncio.create_task(together(ctx, "test.other", other, 2))
    await settle()
    work.hold[1].set()
    assert await asyncio.gather(first, second) == [10, 20]
    assert (work.batches(), other.batches()) == ([[1]], [[2]])
    assert await committed_ids(db) == [1, 2]


async def test_many_callers_with_errors_and_random_cancellations_keep_the_books(db: rawdb.Database) -> None:
    """120 callers, some of them duplicates, a third cancelled at random moments: nobody waits for
    ever, each caller's answer matches what was committed, and no connection is left out."""
    rng = random.Random(20261207)
    ctx = await make_items(db)
    taken = set(range(0, 120, 11))
    async with ctx.writer() as tx:
        for item in taken:
            await tx.execute(INSERT, id=item, name="there already")

    sizes: list[int] = []

    async def work(tx: rawdb.Context, ids: list[int]) -> list[int]:
        sizes.append(len(ids))
        for item in ids:
            await tx.execute(INSERT, id=item, name=f"item {item}")
            await asyncio.sleep(rng.random() / 1000)
        return [item * 10 for item in ids]

    tasks = {item: asyncio.create_task(together(ctx, "test.items", work, item)) for item in range(120)}
    doomed = rng.sample(sorted(tasks), 40)
    for item in doomed:
        await asyncio.sleep(rng.random() / 500)
        tasks[item].cancel()
    _, pending = await asyncio.wait(tasks.values(), timeout=60)
    assert not pending
    committed = set(await committed_ids(db))
    assert max(sizes) > 1 and any(task.cancelled() for task in tasks.values())
    for item, task in tasks.items():
        if task.cancelled():
            assert item in doomed  # committed or not: a cancellation may come during its COMMIT
        elif isinstance(task.exception(), errors.DBDuplicateEntry):
            assert item in taken
        else:
            assert task.result() == item * 10 and item in committed and item not in taken
    answered = {item for item, task in tasks.items() if not task.cancelled() and task.exception() is None}
    assert committed - taken <= answered | set(doomed)
    assert db.stats()["in_use"] == 0
    assert await together(ctx, "test.items", work, 500) == 5000  # the lane is free again
