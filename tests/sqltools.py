"""Raw SQL for tests: read or change rows behind the API's back (set-up and checks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

import rawdb

# The backends every behaviour test runs on, and with the Galera cluster (conftest.py).
BACKENDS = ["sqlite", "postgresql", "mysql"]
GALERA_BACKENDS = [*BACKENDS, "galera"]
# PostgreSQL through the worker's PgBouncer in transaction pooling mode (conftest.py): the
# ``backend`` fixture of such a test is "postgresql" (the same expectations), its route this.
PGBOUNCER_BACKEND = "pgbouncer"

# The ``open_db`` fixture: opens a Database that the test's teardown closes.
OpenDb = Callable[..., Awaitable[rawdb.Database]]


def route(request: pytest.FixtureRequest) -> str:
    """The test's ``backend`` parameter as its id names it: "pgbouncer" where ``backend`` says "postgresql"."""
    callspec = getattr(request.node, "callspec", None)
    return str(callspec.params.get("backend", "")) if callspec is not None else ""


def stmt(sql: str) -> rawdb.Statement:
    """A portable statement named after its text (the same text, the same statement)."""
    return rawdb.Statement.portable(f"test.sql.q{abs(hash(sql))}", sql)


async def select(db: rawdb.Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with db.reader() as rx:
        return [dict(row) for row in await rx.fetch(stmt(sql), **params)]


async def execute(db: rawdb.Database, sql: str, **params: Any) -> int:
    async with db.writer() as tx:
        return await tx.execute(stmt(sql), **params)


async def count_rows(db: rawdb.Database, table: str) -> int:
    rows = await select(db, f"SELECT count(*) AS n FROM {table}")
    return int(rows[0]["n"])


def timestamp_type(dialect: str) -> str:
    """The column type the schema scripts give a timestamp on ``dialect`` (microseconds kept)."""
    return {"sqlite": "DATETIME", "mysql": "DATETIME(6)"}.get(dialect, "TIMESTAMP")


async def concurrent_databases(url: str, backend: str, open_db: OpenDb, count: int) -> list[rawdb.Database]:
    """Connections enough for ``count`` concurrent tasks; tasks use ``dbs[n % len(dbs)]``.

    One pool on PostgreSQL and MariaDB, eight writers on SQLite, and one pool per node on
    Galera, so the tasks write through every node.  The options differ by backend only in
    name: SQLite waits for its one writer through ``busy_timeout``, MariaDB for a row lock
    through ``lock_wait_timeout`` (its open refuses ``busy_timeout``); the limits are the same.
    Galera's pools are causal (``wsrep_sync_wait`` 15: every kind of statement): a statement
    through one node sees what another node committed before it, tables made there included.
    They also retry more (``deadlock_retries``): a conflict across nodes aborts a transaction
    where one server would have made it wait.
    """
    if backend == "postgresql":
        return [await open_db(url, pool_size=count + 2, acquire_timeout=60)]
    if backend == "mysql":
        return [await open_db(url, pool_size=count + 2, acquire_timeout=60, lock_wait_timeout=60)]
    if backend == "galera":
        import galera

        return [
            await open_db(
                node,
                pool_size=count + 2,
                acquire_timeout=60,
                lock_wait_timeout=60,
                server_settings={"wsrep_sync_wait": 15},
                deadlock_retries=20,
            )
            for node in galera.spread(url)
        ]
    return [await open_db(url, busy_timeout=60, acquire_timeout=60) for _ in range(8)]


async def node_databases(url: str, backend: str, open_db: OpenDb, count: int) -> list[rawdb.Database]:
    """``count`` Databases of the test's database, for separate connections.

    On Galera they connect through every node in turn, causal (``wsrep_sync_wait`` 15): a
    statement through one node sees what was committed through another before it.
    """
    if backend != "galera":
        return [await open_db(url) for _ in range(count)]
    import galera

    nodes = galera.spread(url)
    return [await open_db(nodes[i % len(nodes)], server_settings={"wsrep_sync_wait": 15}) for i in range(count)]


def pg_database_url(server_url: str, name: str) -> str:
    """``server_url`` with its database replaced by ``name`` (its query kept)."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


async def pg_create_database(server_url: str, name: str) -> None:
    """CREATE DATABASE ``name``, directly on the server of ``server_url``."""
    conn = await asyncpg.connect(server_url, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def pg_drop_database(server_url: str, name: str) -> None:
    """DROP DATABASE ``name`` directly on the server, ending its sessions (a bouncer's too)."""
    conn = await asyncpg.connect(server_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
