"""A small connection pool shared by the drivers.

It hands out idle connections without awaiting anything (the common case costs no
event-loop round), opens new ones up to its size, and queues the rest in FIFO order
with a deadline.  asyncpg's own pool adds a reset query, a ``wait_for`` task per
acquire and a shielded task per release — about a fifth of a one-statement scope.

The pool counts *slots*: a slot is a connection that is idle, lent out, being opened,
being closed, or on its way to a waiter.  There are never more slots than ``size``.
A slot moves between those states only in code that does not await, so a cancellation
(asyncio's, ``asyncio.timeout``'s or an anyio cancel scope's) can never lose one:

- ``release()`` does not await.  A connection that comes back is handed to the oldest
  waiter, or goes idle; a broken one is closed in the background and its slot is handed
  to the oldest waiter (who opens a new connection in it) only once it is closed.
- A waiter that is cancelled or times out just as something was handed to it passes
  it on to the next waiter, or back to the pool.
- A waiter's deadline is a timer on the event loop, not a cancellation: the deadline
  and a hand-over are both plain callbacks, so exactly one of them wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, Generic, TypeVar

from rawdb import errors

C = TypeVar("C")

log = logging.getLogger("rawdb")


class _Slot:
    """What a waiter receives instead of a connection: a reserved slot to open one in."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<free slot>"


SLOT: Final = _Slot()


class PoolState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Pool(Generic[C]):
    """At most ``size`` connections; waiting longer than ``timeout`` raises ``on_timeout()``.

    :param open_connection: opens a connection (raising a rawdb error when it cannot)
    :param close_connection: closes one (a broken one without a goodbye)
    :param alive: a cheap check that an idle connection is still usable, run before it is
        handed out; a dead one is closed and replaced
    :param drop_connection: closes one without awaiting (no event loop may be left), for
        connections that come back to a closed pool
    :param max_idle: seconds after which an idle connection is closed instead of reused
    :param max_waiting: callers that may queue for a connection; more get PoolTimeout at
        once (None: no limit)
    :param name: what messages call this pool
    """

    def __init__(
        self,
        open_connection: Callable[[], Coroutine[Any, Any, C]],
        close_connection: Callable[[C], Awaitable[None]],
        size: int,
        timeout: float,
        on_timeout: Callable[[], errors.DBError],
        alive: Callable[[C], bool] = lambda conn: True,
        drop_connection: Callable[[C], None] = lambda conn: None,
        max_idle: float | None = None,
        max_waiting: int | None = None,
        name: str = "pool",
    ) -> None:
        if size < 1:
            raise errors.Invalid(f"a pool needs at least one connection, not {size}")
        if max_waiting is not None and max_waiting < 0:
            raise errors.Invalid(f"max_waiting must be 0 or more, not {max_waiting}")
        self._open_connection = open_connection
        self._close_connection = close_connection
        self._alive = alive
        self._drop_connection = drop_connection
        self._max_idle = max_idle
        self._max_waiting = max_waiting
        self.size = size
        self.name = name
        self._timeout = timeout
        self._on_timeout = on_timeout
        self._state = PoolState.OPEN
        self._slots = 0
        self._idle: list[tuple[C, float]] = []
        self._lent: set[C] = set()
        self._waiters: deque[asyncio.Future[C | _Slot]] = deque()
        self._background: set[asyncio.Task[Any]] = set()  # connections being opened or closed
        # Acquires that had to queue (whatever they got in the end) and the seconds they queued.
        self.waits = 0
        self.wait_seconds = 0.0

    def __repr__(self) -> str:
        return f"<Pool {self.name} {self._state.value} {self._slots}/{self.size} in_use={len(self._lent)}>"

    # --- figures ---------------------------------------------------------------------

    @property
    def opened(self) -> int:
        """Slots taken: connections open, being opened, being closed or being handed over."""
        return self._slots

    @property
    def idle(self) -> int:
        return len(self._idle)

    @property
    def in_use(self) -> int:
        """Connections lent out and not yet released."""
        return len(self._lent)

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    @property
    def closed(self) -> bool:
        return self._state is PoolState.CLOSED

    # --- acquire ---------------------------------------------------------------------

    async def acquire(self) -> C:
        """Return a connection: an idle live one, a new one, or the next one released.

        :raises DBConnectionError: the pool is closed, or a new connection cannot be opened
        :raises PoolTimeout: ``max_waiting`` callers are queued already
        :raises: ``on_timeout()`` when none comes in time
        """
        if self._state is PoolState.CLOSED:
            raise errors.DBConnectionError(f"the connection pool {self.name} is closed")
        now = time.monotonic()
        while self._idle:
            conn, since = self._idle.pop()
            if (self._max_idle is None or now - since < self._max_idle) and self._alive(conn):
                self._lent.add(conn)
                return conn
            self._retire(conn)  # its slot comes back once it is closed
        if self._slots < self.size:
            self._slots += 1
            return await self._open_in_slot()
        got = await self._wait()
        if got is SLOT:
            return await self._open_in_slot()
        assert not isinstance(got, _Slot)
        self._lent.add(got)
        return got

    async def _open_in_slot(self) -> C:
        """Open a connection in a slot already counted for it; give the slot up on failure.

        The opening runs on its own: a caller cancelled meanwhile leaves the connection to
        the pool (the next waiter, or idle) instead of abandoning a half-made one.
        """
        opening: asyncio.Task[C] = asyncio.get_running_loop().create_task(self._open_connection())
        try:
            conn = await asyncio.shield(opening)
        except asyncio.CancelledError:
            if opening.done() and not opening.cancelled() and opening.exception() is None:
                self._give(opening.result())
            elif not opening.done():
                self._background.add(opening)
                opening.add_done_callback(self._opened_for_nobody)
            else:
                self._give(SLOT)
            raise
        except BaseException:
            self._give(SLOT)
            raise
        self._lent.add(conn)
        return conn

    def _opened_for_nobody(self, opening: asyncio.Task[C]) -> None:
        self._background.discard(opening)
        if opening.cancelled() or opening.exception() is not None:
            self._give(SLOT)
        else:
            self._give(opening.result())

    async def _wait(self) -> C | _Slot:
        pending = self.waiting
        if self._max_waiting is not None and pending >= self._max_waiting:
            raise errors.PoolTimeout(
                f"The pool couldn't provide a connection: {pending} callers already wait for the {self.name} "
                f"(max_waiting={self._max_waiting}); try again later, or raise max_waiting or the pool size",
                timeout=0,
            )
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[C | _Slot] = loop.create_future()
        self._waiters.append(waiter)
        deadline = loop.call_later(self._timeout, self._expire, waiter)
        queued = loop.time()
        try:
            return await waiter
        except BaseException:
            # Cancelled just as a connection (or a slot) was handed over: pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give(waiter.result())
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise
        finally:
            deadline.cancel()
            self.waits += 1
            self.wait_seconds += loop.time() - queued

    def _expire(self, waiter: asyncio.Future[C | _Slot]) -> None:
        if not waiter.done():
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            waiter.set_exception(self._on_timeout())

    # --- release ---------------------------------------------------------------------

    def release(self, conn: C, broken: bool = False) -> None:
        """Take a connection back; a broken one is closed and its slot freed once it is.

        Never awaits, so a cancelled caller cannot interrupt it halfway.
        """
        try:
            self._lent.remove(conn)
        except KeyError:
            raise errors.ScopeError(f"cannot release {conn!r} to {self!r}: it was not lent out by this pool") from None
        if self._state is PoolState.CLOSED:
            self._drop(conn)
        elif broken:
            self._retire(conn)
        else:
            self._give(conn)

    def _give(self, item: C | _Slot) -> None:
        """Hand a connection or a free slot to the oldest waiter, else keep it (or free the slot)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        if item is SLOT:
            self._slots -= 1
        elif self._state is PoolState.CLOSED:
            self._drop(item)  # type: ignore[arg-type]
        else:
            self._idle.append((item, time.monotonic()))  # type: ignore[arg-type]

    def _retire(self, conn: C) -> None:
        """Close ``conn`` in the background; its slot is given away once it is closed."""
        try:
            task = asyncio.get_running_loop().create_task(self._close_then_free(conn))
        except RuntimeError:  # no event loop any more
            self._drop(conn)
            return
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _drop(self, conn: C) -> None:
        """Close ``conn`` without awaiting and free its slot at once (the pool is closed)."""
        self._slots -= 1
        try:
            self._drop_connection(conn)
        except Exception as exc:  # it is gone either way
            log.debug("dropping a connection of %s failed: %s", self.name, exc)

    async def _close_then_free(self, conn: C) -> None:
        try:
            await self._close_connection(conn)
        except Exception as exc:  # it is gone either way
            log.debug("closing a connection of %s failed: %s", self.name, exc)
        finally:
            self._give(SLOT)

    # --- closing ---------------------------------------------------------------------

    async def close(self) -> None:
        """Close the idle connections and fail the waiters; those in use close when they come back.

        Warns (ResourceWarning) when connections are still in use: a scope was not exited.
        """
        if self._state is PoolState.CLOSED:
            await self._drain()
            return
        self._state = PoolState.CLOSED
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            self._retire(conn)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(errors.DBConnectionError(f"the connection pool {self.name} was closed"))
        if self._lent:
            warnings.warn(
                f"{self.name} closed with {len(self._lent)} connection(s) still in use: "
                f"{', '.join(sorted(repr(c) for c in self._lent))}; they are closed when released",
                ResourceWarning,
                stacklevel=3,
            )
        await self._drain()

    async def _drain(self) -> None:
        """Wait for the connections being opened or closed."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def abandon(self) -> None:
        """Close every connection without awaiting: the event loop may be gone."""
        self._state = PoolState.CLOSED
        conns = [conn for conn, _ in self._idle] + list(self._lent)
        self._idle.clear()
        self._lent.clear()
        for conn in conns:
            self._drop(conn)

    def stats(self) -> dict[str, Any]:
        return {
            "size": self._slots,
            "in_use": len(self._lent),
            "idle": len(self._idle),
            "waiting": self.waiting,
            "waits": self.waits,
            "wait_seconds": self.wait_seconds,
        }
