"""A SQLite connection in a thread of its own, and the ``sqlite3`` module rawdb uses.

sqlite3 blocks, so each connection lives in one worker thread that runs the calls
queued to it, in order, and hands each result back to the event loop that asked.
This is what aiosqlite does; owning it lets rawdb hand a call over in one queue put
and one ``call_soon_threadsafe`` (no partial, no logger calls, no event-loop lookup per
call), stop a connection without an event loop (at interpreter exit, or for a
connection dropped when the loop is gone), and depend on no library's internals.

rawdb reads DATETIME and BOOLEAN columns typed, as SQLAlchemy's SQLite dialect stores
them.  sqlite3's converters are a process-wide registry; registering them there would
change how every other sqlite3 connection in the process converts its values.  So
rawdb loads a second, isolated instance of the ``_sqlite3`` extension module (it keeps
its converters in its own module state) and registers them there only.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sqlite3
import threading
import weakref
from collections.abc import Callable
from datetime import datetime
from queue import SimpleQueue
from types import ModuleType
from typing import Any, Final


def _isolated_sqlite3() -> ModuleType:
    """A private instance of the ``_sqlite3`` extension module, with converters of its own."""
    spec = importlib.util.find_spec("_sqlite3")
    if spec is None or spec.loader is None:
        raise ImportError("rawdb needs Python's _sqlite3 extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if module.converters is sqlite3.converters:  # a build whose _sqlite3 cannot have two instances
        raise ImportError("this Python's _sqlite3 module cannot be loaded privately; rawdb needs Python >= 3.11")
    return module


sqlite: Final = _isolated_sqlite3()
# Values come back typed by the column's declared type: DATETIME as
# 'YYYY-MM-DD HH:MM:SS.ffffff', BOOLEAN as 0/1.
sqlite.register_converter("DATETIME", lambda raw: datetime.fromisoformat(raw.decode()))
sqlite.register_converter("BOOLEAN", lambda raw: raw not in (b"0", b""))
Error: Final[type[Exception]] = sqlite.Error


class _Stop:
    """Put on a worker's queue: close the connection and end the thread."""

    __slots__ = ("closed",)

    def __init__(self, closed: Callable[[], None] | None) -> None:
        self.closed = closed


def _deliver(future: asyncio.Future[Any], ok: bool, result: Any) -> None:
    if not future.done():  # a caller cancelled meanwhile has stopped waiting
        if ok:
            future.set_result(result)
        else:
            future.set_exception(result)


def _run(queue: SimpleQueue[Any], worker: weakref.ref[Worker]) -> None:
    """The thread: run each queued call and send its outcome back to the asking loop."""
    connection: Any = None
    while True:
        item = queue.get()
        if isinstance(item, _Stop):
            try:
                if connection is not None:
                    connection.close()
            finally:
                if item.closed is not None:
                    item.closed()
            return
        fn, args, loop, future = item
        try:
            result = fn(connection, *args) if connection is not None else fn(*args)
            ok = True
        except BaseException as exc:  # delivered to the caller, whatever it is
            result, ok = exc, False
        if ok and connection is None:
            connection = result  # the first call opens the connection
            alive = worker()
            if alive is not None:
                alive.connection = connection
        try:
            loop.call_soon_threadsafe(_deliver, future, ok, result)
        except RuntimeError:  # the event loop is closed: nobody waits any more
            pass


# Workers still running, stopped at interpreter exit: their threads are not daemons (a
# daemon thread would be killed mid-statement), so one left by a Database nobody closed
# would otherwise keep the process from ever exiting.
_running: weakref.WeakSet[Worker] = weakref.WeakSet()


def _stop_all() -> None:
    for worker in list(_running):
        worker.stop()


threading._register_atexit(_stop_all)  # type: ignore[attr-defined]  # runs before non-daemon threads are joined


class Worker:
    """One sqlite3 connection and the thread that runs every call on it, in order."""

    __slots__ = ("__weakref__", "_queue", "_stopped", "_thread", "connection", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.connection: Any = None
        self._stopped = False
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._thread = threading.Thread(target=_run, args=(self._queue, weakref.ref(self)), name=name)

    def __repr__(self) -> str:
        return f"<Worker {self.name} {'stopped' if self._stopped else 'running'}>"

    @property
    def running(self) -> bool:
        return not self._stopped and self.connection is not None

    async def open(self, connect: Callable[[], Any]) -> None:
        """Start the thread and open the connection in it (``connect()`` runs there)."""
        self._thread.start()
        _running.add(self)
        try:
            await self.call(connect)
        except BaseException:
            self.stop()
            raise

    def call(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Queue ``fn(connection, *args)`` for the thread; await the result to get it or its error.

        Check ``running`` first: a stopped worker runs nothing.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((fn, args, loop, future))
        return future

    def interrupt(self) -> None:
        """Stop the statement running now (safe from any thread; nothing if none runs)."""
        if self.connection is not None and not self._stopped:
            with contextlib.suppress(Exception):
                self.connection.interrupt()

    def stop(self, closed: Callable[[], None] | None = None) -> None:
        """Close the connection after the calls queued before, then end the thread.

        Needs no event loop; ``closed`` is called in the thread once the file is closed.
        """
        _running.discard(self)
        if self._stopped:
            if closed is not None:
                closed()
            return
        self._stopped = True
        if self._thread.ident is None:  # never started: nothing to close
            if closed is not None:
                closed()
            return
        self._queue.put(_Stop(closed))

    async def close(self) -> None:
        """Stop, and wait until the thread has closed the database file."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        def closed() -> None:
            with contextlib.suppress(RuntimeError):  # the event loop is gone: nobody waits any more
                loop.call_soon_threadsafe(wake)

        self.stop(closed)
        await done
