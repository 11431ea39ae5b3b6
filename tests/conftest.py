"""Test harness: every behaviour test runs on SQLite, PostgreSQL and MariaDB/MySQL.

PostgreSQL comes from ``RAWDB_TEST_POSTGRES_URL``, else ``postgresql://root@127.0.0.1:5432/test``
when it answers.  Each run creates a scratch database and drops it at the end; each test
gets a schema of its own in it (``?search_path=`` in the URL), so tests never see each
other's rows.  MariaDB comes from ``RAWDB_TEST_MYSQL_URL``, else
``mysql://root@127.0.0.1:3306/test`` when it answers; each test gets a scratch database of
its own, dropped at its end.  Without a server those tests skip with the reason — except
under ``CI=true``, where a missing server fails the run.  SQLite tests use a file in the
test's temporary directory.

A module that sets ``GALERA = True`` runs its backend tests on a fourth backend too,
``galera``: a three-node MariaDB Galera cluster of each worker's own (``galera.py``).  Each
test connects to the nodes in turn (its scratch database made through the node it uses),
so over a run the writes are spread over all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import galera
import pytest
from faulttools import mysql_admin
from sqltools import BACKENDS, GALERA_BACKENDS, OpenDb

import rawdb
from rawdb import schema

DEFAULT_PG = "postgresql://root@127.0.0.1:5432/test"
DEFAULT_MYSQL = "mysql://root@127.0.0.1:3306/test"
_schemas = itertools.count(1)
_pg_unavailable: list[str] = []  # the reason PostgreSQL tests skip, once known
_mysql_unavailable: list[str] = []  # the reason MariaDB tests skip, once known


def _pg_admin_url() -> str:
    return os.environ.get("RAWDB_TEST_POSTGRES_URL") or DEFAULT_PG


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


async def _create_scratch(admin_url: str) -> str:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        name = f"rawdb_test_{uuid.uuid4().hex[:10]}"
        await conn.execute(f'CREATE DATABASE "{name}"')
        return name
    finally:
        await conn.close()


async def _drop_scratch(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_scratch() -> Iterator[str | None]:
    """URL of this run's scratch PostgreSQL database, or None with the reason recorded."""
    admin = _pg_admin_url()
    try:
        name = asyncio.run(_create_scratch(admin))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {admin} is not available: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)", pytrace=False)
        _pg_unavailable.append(reason)
        yield None
        return
    try:
        yield _with_database(admin, name)
    finally:
        asyncio.run(_drop_scratch(admin, name))


async def _fresh_pg_schema(scratch: str) -> str:
    schema_name = f"t{next(_schemas)}_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(scratch, timeout=5)
    try:
        await conn.execute(f"CREATE SCHEMA {schema_name}")
    finally:
        await conn.close()
    return schema_name


async def _drop_pg_schema(scratch: str, schema_name: str) -> None:
    conn = await asyncpg.connect(scratch, timeout=5)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema_name} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def pg_url(pg_scratch: str | None) -> AsyncIterator[str]:
    """A PostgreSQL URL whose search_path is an empty schema of this test's own."""
    if pg_scratch is None:
        pytest.skip(_pg_unavailable[0] if _pg_unavailable else "PostgreSQL is not available")
    schema_name = await _fresh_pg_schema(pg_scratch)
    try:
        yield f"{pg_scratch}{'&' if '?' in pg_scratch else '?'}search_path={schema_name}"
    finally:
        await _drop_pg_schema(pg_scratch, schema_name)


def _mysql_admin_url() -> str:
    return os.environ.get("RAWDB_TEST_MYSQL_URL") or DEFAULT_MYSQL


async def _mysql(admin: str, sql: str) -> None:
    conn = await mysql_admin(admin)
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def mysql_server() -> str | None:
    """The MariaDB/MySQL admin URL when the server answers, else None with the reason recorded."""
    admin = _mysql_admin_url()
    try:
        asyncio.run(_mysql(admin, "SELECT 1"))
    except Exception as exc:
        reason = f"MariaDB/MySQL at {admin} is not available: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true requires MariaDB)", pytrace=False)
        _mysql_unavailable.append(reason)
        return None
    return admin


@pytest.fixture
async def mysql_url(mysql_server: str | None) -> AsyncIterator[str]:
    """A MariaDB/MySQL URL of a scratch database of this test's own (utf8mb4, binary collation)."""
    if mysql_server is None:
        pytest.skip(_mysql_unavailable[0] if _mysql_unavailable else "MariaDB/MySQL is not available")
    async with _mysql_scratch(mysql_server, "rawdb_t") as url:
        yield url


@contextlib.asynccontextmanager
async def _mysql_scratch(server: str, prefix: str) -> AsyncIterator[str]:
    """A scratch database (utf8mb4, binary collation) made through ``server``; its URL there."""
    name = f"{prefix}{next(_schemas)}_{uuid.uuid4().hex[:8]}"
    await _mysql(server, f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin")
    try:
        yield _with_database(server, name)
    finally:
        await _drop_mysql_database(server, name)


async def _drop_mysql_database(admin: str, name: str) -> None:
    """DROP DATABASE that cannot hang: what PostgreSQL's ``WITH (FORCE)`` does, by hand.

    A test that failed halfway may leave a session of its database in a transaction (a
    task that never ended), and DROP DATABASE would wait for its metadata locks forever:
    its sessions are killed first, and DROP waits 10 s at most.
    """
    import asyncmy

    conn = await mysql_admin(admin)
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()", (name,)
            )
            for (session,) in await cursor.fetchall():
                with contextlib.suppress(asyncmy.errors.Error):  # it may have ended meanwhile
                    await cursor.execute(f"KILL CONNECTION {int(session)}")
            await cursor.execute("SET SESSION lock_wait_timeout = 10")
            await cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    finally:
        conn.close()


@pytest.fixture(scope="session")
def galera_cluster() -> Iterator[galera.Cluster]:
    """This worker's three-node Galera cluster, started at its first use and removed at the end."""
    reason = galera.unavailable()
    if reason is not None:
        galera.skip_or_fail(reason)
    cluster = galera.Cluster()
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        galera.skip_or_fail(f"a Galera cluster did not start: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def galera_url(galera_cluster: galera.Cluster) -> AsyncIterator[str]:
    """A scratch database on the Galera cluster, on the next node in turn.

    It is made through the node the test connects to, and is there on every node before the
    test starts: another node applies the replicated ``CREATE DATABASE`` a moment later.
    """
    async with _mysql_scratch(galera_cluster.next_url(), "rawdb_g") as url:
        galera_cluster.wait_replicated(url)
        yield url


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules with ``GALERA = True`` run their backend tests on the Galera cluster too."""
    if "backend" not in metafunc.fixturenames or not getattr(metafunc.module, "GALERA", False):
        return
    if any("backend" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")):
        return
    metafunc.definition.add_marker(pytest.mark.parametrize("backend", GALERA_BACKENDS, indirect=True))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest) -> str:
    """The database URL of the parametrized backend (an empty database)."""
    if backend == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    if backend == "mysql":
        return str(request.getfixturevalue("mysql_url"))
    if backend == "galera":
        return str(request.getfixturevalue("galera_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def open_db() -> AsyncIterator[Callable[..., Awaitable[rawdb.Database]]]:
    """``await open_db(url, **options)``: a Database closed when the test ends."""
    opened: list[rawdb.Database] = []

    async def opener(url: str, **options: Any) -> rawdb.Database:
        db = await rawdb.connect(url, **options)
        opened.append(db)
        return db

    yield opener
    for db in opened:
        await db.close()


@pytest.fixture
async def db(url: str, open_db: OpenDb) -> rawdb.Database:
    """An empty database on each backend."""
    return await open_db(url)


@pytest.fixture
async def glance_db(db: rawdb.Database) -> rawdb.Database:
    """A database with the glance schema bootstrapped, on each backend."""
    await schema.bootstrap(db, "glance")
    return db


@pytest.fixture
async def pg_db(pg_url: str, open_db: OpenDb) -> rawdb.Database:
    """An empty PostgreSQL database (for behaviour only PostgreSQL has)."""
    return await open_db(pg_url)


@pytest.fixture
async def sqlite_db(sqlite_url: str, open_db: OpenDb) -> rawdb.Database:
    """An empty SQLite database (for behaviour only SQLite has)."""
    return await open_db(sqlite_url)


@pytest.fixture
def ctx(db: rawdb.Database) -> rawdb.Context:
    """A plain non-admin context on ``db``."""
    return rawdb.Context(db, project_id="project-a", user_id="user-a")
