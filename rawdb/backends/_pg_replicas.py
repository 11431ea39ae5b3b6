"""PostgreSQL read replicas: which one a replica reader gets, or none (then the primary).

A replica that cannot be reached is left out and tried again in the background, after 1 s
and then twice as long each time up to 30 s; its readers meanwhile read from the primary.
With ``max_replica_lag`` a replica's replay lag is measured on one of its connections at most
once a second, and a replica further behind (or whose lag is unknown) is left out as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from rawdb import errors
from rawdb.backends.base import Connection
from rawdb.backends.pool import Pool

log = logging.getLogger("rawdb")

RETRY_FIRST = 1.0
RETRY_MAX = 30.0
LAG_TTL = 1.0  # seconds a measured lag is trusted
# Seconds of replay lag: 0 on a primary, or when everything received is replayed; else the
# age of the last transaction replayed (NULL when none was replayed since the standby started).
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0::float8"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8"
    " ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))::float8 END AS lag"
)


class Replica:
    """A replica's pool and what is known of it: down (being retried), its last measured lag."""

    __slots__ = ("lag", "lag_at", "pool", "retrying", "sessions", "target")

    def __init__(self, pool: Pool[Any], target: str) -> None:
        self.pool = pool
        self.target = target  # what its connections are opened to
        self.sessions: dict[Any, Pool[Any]] = {}  # pools of sessions with a reader's settings, by settings
        self.retrying: asyncio.Task[None] | None = None  # set while it is down
        self.lag: float | None = None
        self.lag_at = -LAG_TTL  # monotonic time of the last measurement


class ReplicaSet:
    """The replicas in turn; ``acquire()`` returns a connection to one, or None."""

    def __init__(self, max_lag: float | None) -> None:
        self.max_lag = max_lag
        self.replicas: list[Replica] = []
        self._next = 0

    def add(self, pool: Pool[Any], target: str = "") -> Replica:
        replica = Replica(pool, target)
        self.replicas.append(replica)
        return replica

    async def acquire(self, sessions: Callable[[Replica], Pool[Any]] | None = None) -> Connection | None:
        """A connection to the next replica that is up and close enough, or None.

        ``sessions``: the pool of the replica to take it from, when not the replica's own (a
        reader whose settings its sessions carry).
        """
        count = len(self.replicas)
        for _ in range(count):
            replica = self.replicas[self._next % count]
            self._next += 1
            if replica.retrying is not None:
                continue
            measure = False
            if self.max_lag is not None:
                if time.monotonic() - replica.lag_at < LAG_TTL:
                    if not self._close_enough(replica):
                        continue
                else:
                    measure = True
                    replica.lag_at = time.monotonic()  # callers meanwhile go by the last figure
            pool = replica.pool if sessions is None else sessions(replica)
            try:
                conn: Connection = await pool.acquire()
            except errors.DBConnectionError as exc:
                self.down(replica, exc)
                continue
            if measure and not await self._measure(replica, pool, conn):
                continue
            return conn
        return None

    async def _measure(self, replica: Replica, pool: Pool[Any], conn: Connection) -> bool:
        """Measure the lag on ``conn``; keep it (True) if the replica is close enough, else release it."""
        try:
            rows = await conn.fetch(LAG_SQL, [])
        except BaseException as exc:
            pool.release(conn, broken=conn.broken)
            if not isinstance(exc, Exception):
                raise
            replica.lag = None
            if conn.broken:
                self.down(replica, exc)
            return False
        replica.lag = rows[0]["lag"]
        if self._close_enough(replica):
            return True
        pool.release(conn)
        return False

    def _close_enough(self, replica: Replica) -> bool:
        assert self.max_lag is not None
        return replica.lag is not None and replica.lag <= self.max_lag

    def down(self, replica: Replica, exc: BaseException) -> None:
        """Leave the replica out until a connection to it opens again."""
        if replica.retrying is not None:
            return
        log.warning("read replica unavailable (%s), reading from the primary: %s", replica.pool.name, exc)
        replica.lag = None
        replica.retrying = asyncio.get_running_loop().create_task(self._retry(replica))

    async def _retry(self, replica: Replica) -> None:
        delay = RETRY_FIRST
        while True:
            await asyncio.sleep(delay)
            try:
                conn = await replica.pool.acquire()
            except (errors.DBConnectionError, errors.PoolTimeout) as exc:
                log.debug("read replica still unavailable (%s): %s", replica.pool.name, exc)
                delay = min(delay * 2, RETRY_MAX)
                continue
            replica.pool.release(conn, broken=conn.broken)
            break
        replica.retrying = None
        replica.lag_at = -LAG_TTL
        log.warning("read replica back (%s): replica readers use it again", replica.pool.name)

    def stats(self) -> dict[str, Any]:
        lags = [r.lag for r in self.replicas if r.lag is not None]
        return {
            "replicas": sum(1 for r in self.replicas if r.retrying is None),
            "replica_lag_seconds": max(lags) if lags else None,
        }

    async def close(self) -> None:
        """Stop the background retries (the pools are closed by their owner)."""
        retries = [r.retrying for r in self.replicas if r.retrying is not None]
        for task in retries:
            task.cancel()
        await asyncio.gather(*retries, return_exceptions=True)

    def abandon(self) -> None:
        for replica in self.replicas:
            if replica.retrying is not None:
                with contextlib.suppress(RuntimeError):  # its event loop may be closed already
                    replica.retrying.cancel()
