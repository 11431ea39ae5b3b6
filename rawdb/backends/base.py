"""The contract between the scope machinery and a driver adapter.

An adapter knows its driver, its placeholders, its BEGIN flavours and how to turn a
driver error into a rawdb error.  It knows no table name.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from rawdb import errors

Mode = Literal["reader", "writer", "replica"]
Row = dict[str, Any]


class Connection(abc.ABC):
    """One driver connection, used by one scope at a time.

    Adapters keep two plain attributes: ``owner`` (the transaction holding it, for
    messages about leaks) and ``failed_before_sending`` (the last failure happened before
    the statement was written, so the server never saw it).
    """

    __slots__ = ("failed_before_sending", "owner")

    failed_before_sending: bool
    owner: object

    @abc.abstractmethod
    async def fetch(self, sql: str, args: list[Any]) -> list[Row]:
        """Run one statement and return its rows as dicts."""

    async def fetch_records(self, sql: str, args: list[Any]) -> Sequence[Mapping[str, Any]]:
        """Run one statement and return its rows as the driver's read-only mappings."""
        return await self.fetch(sql, args)

    @abc.abstractmethod
    async def execute(self, sql: str, args: list[Any]) -> int:
        """Run one statement that returns no rows; return the affected row count."""

    @abc.abstractmethod
    async def script(self, sql: str) -> None:
        """Run several statements without parameters (DDL); no result."""

    @abc.abstractmethod
    async def prepare(self, sql: str, nargs: int) -> None:
        """Compile a statement without running it; raise the driver's error if it is invalid."""

    @property
    @abc.abstractmethod
    def broken(self) -> bool:
        """True when the connection must not go back to the pool."""

    async def end(self, verb: str) -> None:
        """Send COMMIT or ROLLBACK."""
        await self.execute(verb, [])

    def interrupt(self) -> None:  # noqa: B027  (most drivers stop a cancelled statement themselves)
        """The caller of the running statement was cancelled: stop it, where the driver does not."""

    @abc.abstractmethod
    def alive(self) -> bool:
        """A cheap check, without a round trip, that an idle connection can be handed out."""

    def defer(self, sql: str) -> bool:
        """Send a parameterless ``sql`` with the next statement, if the driver can; False if not."""
        return False

    def drop_deferred(self) -> bool:
        """Forget a deferred statement that never ran; return whether there was one."""
        return False

    @abc.abstractmethod
    def mark_broken(self) -> None:
        """Make sure the connection is closed instead of reused."""


class Backend(abc.ABC):
    """A pool of connections to one database through one driver."""

    dialect: str
    begin_writer: str
    begin_reader: str
    # A node of a MariaDB Galera cluster (wsrep on): its row locks do not reach the other nodes,
    # so a nova reservation also writes a fence row for the totals it counted (rawdb.quota.core.fence).
    galera: bool = False

    @abc.abstractmethod
    async def acquire(self, mode: Mode, settings: Mapping[str, str] | None = None) -> Connection:
        """Return a connection for ``mode``; raise PoolTimeout when none comes in time.

        ``settings`` (readers only): session settings the connection must have, where the
        backend has any (PostgreSQL); others ignore them.
        """

    @abc.abstractmethod
    def release(self, conn: Connection) -> None:
        """Give ``conn`` back (or drop it, when it is broken); never awaits."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every connection."""

    @abc.abstractmethod
    def abandon(self) -> None:
        """Drop every connection without awaiting (a Database garbage-collected unclosed)."""

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """Pool figures: size, in use, idle, waiting; pool_waits and pool_wait_seconds (acquires
        that queued since the pools opened, and their total time in the queue)."""

    @abc.abstractmethod
    def translate(self, exc: BaseException) -> errors.RawdbError | None:
        """Map a driver exception to a rawdb error, or None if it is not a driver error."""

    def describe(self) -> str:
        """A short description of the database for messages (no password)."""
        return self.dialect


_KEY_DETAIL = re.compile(r"Key \((?P<cols>.*?)\)=\((?P<value>.*)\) (?:already exists|is not present|is still)")


def parse_key_detail(detail: str | None) -> tuple[list[str], str | None]:
    """Read columns and value from PostgreSQL's ``Key (a, b)=(1, 2) already exists.``"""
    match = _KEY_DETAIL.search(detail or "")
    if not match:
        return [], None
    return [c.strip().strip('"') for c in match.group("cols").split(",")], match.group("value")
