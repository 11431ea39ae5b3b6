"""Calls that share one writer transaction: group commit in the client.

Where a call's transaction is short and its COMMIT's flush is most of its cost (SQLite's one
writer, InnoDB's log flush at every commit), concurrent calls of one kind are served better by
one transaction for all of them than by one each::

    row = await together(context, ("nova.fixed_ips.pool_claim", network_id), claim_many, params)

``work(tx, args)`` does the work of several callers at once in the writer scope ``tx`` and
returns their results in the order of ``args``: one statement for all of them where it can.

- A caller that finds none of its key running runs ``work(tx, [arg])`` at once, in a writer
  scope of its own: no task, no wait.
- Callers that arrive while one runs wait for it; then one task serves everyone waiting (up to
  ``BATCH`` at a time) with one ``work`` in one writer scope and one COMMIT.  Each caller gets
  its own result.
- When any ``work`` of a shared scope raises, the scope rolls back and each of its callers runs
  again alone, in a scope of its own: a caller gets its own error, never another's.
- ``work`` given several callers may answer ``ALONE`` for some of them (an allocation that
  found nothing free it may take without waiting): once the shared scope has committed, each
  of those runs again alone, in a scope of its own.  Nothing that can fail runs after the shared
  work, so a failure never reruns a caller whose work is committed (in an autocommit scope the
  work's first statement commits by itself).
- A caller cancelled while it waits leaves the queue.  One cancelled while its shared scope runs
  makes the scope roll back before its COMMIT, and the others run again without it (a
  cancellation during the COMMIT itself is as for a call alone: its work may be committed).
- Deadlocks re-run a scope whole, as ``@writer(retry=True)`` does.
- ``autocommit=True``: ``work`` is one statement, atomic alone (PostgreSQL), run without
  BEGIN/COMMIT; a caller cancelled while it runs is then as a call alone cancelled during its
  statement: its work may be committed.
- Inside a caller's own scope (a bound context) ``work`` runs there: that transaction belongs to
  its caller and is never shared.

``work`` must depend on nothing of its context but the database: a shared scope is opened from
the first waiting caller's context.  ``key`` names the calls that may share one scope.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from rawdb.context import Context
from rawdb.database import Database
from rawdb.decorators import retry_on_deadlock, writer

__all__ = ["ALONE", "BATCH", "together"]

A = TypeVar("A")
R = TypeVar("R")
Work = Callable[[Context, list[A]], Awaitable[list[R]]]

BATCH = 64  # callers served by one shared scope at most


class _Alone:
    """The type of ``ALONE``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ALONE"


ALONE: Any = _Alone()  # work's answer for a caller to be served again in a scope of its own


class _Withdrawn(Exception):
    """A caller of a shared scope was cancelled before its COMMIT: roll back and go again."""


class _Call(Generic[A, R]):
    __slots__ = ("arg", "context", "result")

    def __init__(self, context: Context, arg: A) -> None:
        self.context = context
        self.arg = arg
        self.result: asyncio.Future[R] = asyncio.get_running_loop().create_future()


class _Lane:
    """The calls of one key on one database: whether a scope of theirs runs, and who waits."""

    __slots__ = ("busy", "waiting")

    def __init__(self) -> None:
        self.busy = False
        self.waiting: deque[_Call[Any, Any]] = deque()


_lanes: weakref.WeakKeyDictionary[Database, dict[Hashable, _Lane]] = weakref.WeakKeyDictionary()
_drains: set[asyncio.Task[None]] = set()  # the running drain tasks, kept from the collector


async def together(context: Context, key: Hashable, work: Work[A, R], arg: A, *, autocommit: bool = False) -> R:
    """``work(tx, [arg])``'s one result, in a writer scope shared with concurrent callers of ``key``."""
    if context.transaction is not None:
        return _only(work, await _joined(context, work, [arg]))
    lane = _lane(context.db, key)
    if not lane.busy:
        lane.busy = True
        try:
            return _only(work, await _alone(context, work, [arg], autocommit))
        finally:
            _hand_on(lane, work, autocommit)
    call: _Call[A, R] = _Call(context, arg)
    lane.waiting.append(call)
    return await call.result  # cancelled while waiting: the future is cancelled, and skipped


def _only(work: Work[A, R], results: list[R]) -> R:
    """The result of a caller alone (never ALONE: asking again would never end)."""
    if results[0] is ALONE:
        raise RuntimeError(f"{work!r} answered ALONE for a caller alone")
    return results[0]


def _lane(db: Database, key: Hashable) -> _Lane:
    """The lane of ``key`` on ``db``, made on first use (nothing allocated on the way after that)."""
    lanes = _lanes.get(db)
    if lanes is None:
        lanes = _lanes[db] = {}
    lane = lanes.get(key)
    if lane is None:
        lane = lanes[key] = _Lane()
    return lane


def _hand_on(lane: _Lane, work: Work[Any, Any], autocommit: bool) -> None:
    """The lane's running call ended: serve those waiting in a task, or free the lane."""
    if not lane.waiting:
        lane.busy = False
        return
    task = asyncio.get_running_loop().create_task(_drain(lane, work, autocommit))
    _drains.add(task)
    task.add_done_callback(_drains.discard)


async def _drain(lane: _Lane, work: Work[Any, Any], autocommit: bool) -> None:
    calls: list[_Call[Any, Any]] = []
    try:
        while True:
            if not lane.waiting:
                await asyncio.sleep(0)  # the callers just served may come straight back for more
                if not lane.waiting:
                    break
            calls = []
            while lane.waiting and len(calls) < BATCH:
                call = lane.waiting.popleft()
                if not call.result.done():
                    calls.append(call)
            if calls:
                await _serve(calls, work, autocommit)
    except BaseException as exc:  # the loop is going away: nobody may wait for ever
        for call in [*calls, *lane.waiting]:
            if not call.result.done():
                call.result.cancel() if isinstance(exc, asyncio.CancelledError) else call.result.set_exception(exc)
        lane.waiting.clear()
        raise
    finally:
        lane.busy = False


async def _serve(calls: list[_Call[Any, Any]], work: Work[Any, Any], autocommit: bool) -> None:
    """One shared scope for ``calls``; on an error, each of them alone.  A call cancelled
    before its scope starts is left out (nothing is done for a caller gone)."""
    while True:
        calls = [call for call in calls if not call.result.done()]
        if not calls:
            return
        try:
            results = await _shared(calls[0].context, calls, work, autocommit)
        except _Withdrawn:
            continue
        except Exception as exc:
            if len(calls) > 1:
                for call in calls:
                    await _serve([call], work, autocommit)
            elif not calls[0].result.done():
                calls[0].result.set_exception(exc)
            return
        again = []
        for call, result in zip(calls, results, strict=True):
            if call.result.done():
                continue
            if result is not ALONE:
                call.result.set_result(result)
            elif len(calls) > 1:
                again.append(call)
            else:
                call.result.set_exception(RuntimeError(f"{work!r} answered ALONE for a caller alone"))
        for call in again:
            await _serve([call], work, autocommit)
        return


@writer
async def _joined(context: Context, work: Work[A, R], args: list[A]) -> list[R]:
    """The caller's own scope (a writer's: a reader's is refused, as ``@writer`` refuses it)."""
    return await work(context, args)


@retry_on_deadlock
async def _alone(context: Context, work: Work[A, R], args: list[A], autocommit: bool) -> list[R]:
    async with context.writer(autocommit=autocommit) as tx:
        return await work(tx, args)


@retry_on_deadlock
async def _shared(context: Context, calls: list[_Call[Any, Any]], work: Work[Any, Any], autocommit: bool) -> list[Any]:
    async with context.writer(autocommit=autocommit) as tx:
        results = await work(tx, [call.arg for call in calls])
        if not autocommit and any(call.result.done() for call in calls):
            raise _Withdrawn
        return results
