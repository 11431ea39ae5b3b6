"""A small connection pool shared by both drivers.

It hands out idle connections without awaiting anything (the common case costs no
event-loop round), opens new ones up to its size, and queues the rest in FIFO order
with a deadline.  asyncpg's own pool adds a reset query, a ``wait_for`` task per
acquire and a shielded task per release — about a fifth of a one-statement scope.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from rawdb import errors

C = TypeVar("C")


class Pool(Generic[C]):
    """At most ``size`` connections; waiting longer than ``timeout`` raises ``on_timeout()``."""

    def __init__(
        self,
        open_connection: Callable[[], Awaitable[C]],
        close_connection: Callable[[C], Awaitable[None]],
        size: int,
        timeout: float,
        on_timeout: Callable[[], errors.DBError],
        usable: Callable[[C], bool] = lambda conn: True,
        max_idle: float | None = None,
    ) -> None:
        if size < 1:
            raise errors.Invalid(f"a pool needs at least one connection, not {size}")
        self._open_connection = open_connection
        self._close_connection = close_connection
        self._usable = usable
        self._max_idle = max_idle
        self.size = size
        self._timeout = timeout
        self._on_timeout = on_timeout
        self._idle: list[tuple[C, float]] = []
        self._waiters: deque[asyncio.Future[C | None]] = deque()
        self._opened = 0
        self._closed = False

    # --- figures ---------------------------------------------------------------------

    @property
    def opened(self) -> int:
        return self._opened

    @property
    def idle(self) -> int:
        return len(self._idle)

    @property
    def in_use(self) -> int:
        return self._opened - len(self._idle)

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    # --- acquire and release -----------------------------------------------------------

    async def acquire(self) -> C:
        """Return a connection: an idle one, a new one, or the next one released."""
        if self._closed:
            raise errors.DBConnectionError("the connection pool is closed")
        while self._idle:
            conn, since = self._idle.pop()
            if self._usable(conn) and (self._max_idle is None or time.monotonic() - since < self._max_idle):
                return conn
            await self._discard(conn)
        if self._opened < self.size:
            return await self._open()
        return await self._wait()

    async def _open(self) -> C:
        self._opened += 1
        try:
            return await self._open_connection()
        except BaseException:
            self._opened -= 1
            self._hand_over(None)
            raise

    async def _wait(self) -> C:
        waiter: asyncio.Future[C | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._timeout):
                conn = await waiter
        except TimeoutError:
            raise self._on_timeout() from None
        except BaseException:
            # Cancelled (or timed out) just as a connection was handed over: pass it on.
            if waiter.done() and not waiter.cancelled():
                self._hand_over(waiter.result())
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
        return conn if conn is not None else await self._open()

    def _hand_over(self, conn: C | None) -> bool:
        """Give a connection (or, with None, a free slot) to the oldest waiter, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def release(self, conn: C, broken: bool = False) -> None:
        """Take a connection back; a broken one is closed and its slot freed."""
        if broken or self._closed or not self._usable(conn):
            await self._discard(conn)
            self._hand_over(None)
            return
        if not self._hand_over(conn):
            self._idle.append((conn, time.monotonic()))

    async def _discard(self, conn: C) -> None:
        self._opened -= 1
        with contextlib.suppress(Exception):
            await self._close_connection(conn)

    async def close(self) -> None:
        """Close the idle connections; those in use are closed when they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await self._discard(conn)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(errors.DBConnectionError("the connection pool was closed"))
