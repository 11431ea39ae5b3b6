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

A module that sets ``PGBOUNCER = True`` (or whose directory's conftest.py does: tests/nova,
tests/cinder) runs them on ``pgbouncer`` too: PostgreSQL through a PgBouncer of each
worker's own in transaction pooling mode, ``pgbouncer=true`` in the URL (``pgbouncer.py``).
Such a test's ``backend`` fixture says "postgresql" (the server, rawdb's dialect and every
expectation are PostgreSQL's); its id and ``sqltools.route`` say "pgbouncer".  A URL through
PgBouncer carries no ``search_path``, so its database is a database, made directly on the
server: the worker's, emptied before each test (nova's and cinder's bootstrapped once per
worker, emptied as on the other backends).  A test of such a module that takes ``pg_url`` and
no ``backend`` (PostgreSQL alone) runs both ways.  ``PGBOUNCER_EXCLUDED`` names the few tests
left out, and why.
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

import asyncpg
import galera
import pgbouncer
import pytest
from faulttools import mysql_admin
from sqltools import BACKENDS, PGBOUNCER_BACKEND, OpenDb, pg_create_database, pg_database_url, pg_drop_database, route

import rawdb
from rawdb import schema

DEFAULT_PG = "postgresql://root@127.0.0.1:5432/test"
DEFAULT_MYSQL = "mysql://root@127.0.0.1:3306/test"
_schemas = itertools.count(1)
_pg_unavailable: list[str] = []  # the reason PostgreSQL tests skip, once known
_mysql_unavailable: list[str] = []  # the reason MariaDB tests skip, once known


def _pg_admin_url() -> str:
    return os.environ.get("RAWDB_TEST_POSTGRES_URL") or DEFAULT_PG


@pytest.fixture(scope="session")
def pg_scratch() -> Iterator[str | None]:
    """URL of this run's scratch PostgreSQL database, or None with the reason recorded."""
    admin = _pg_admin_url()
    try:
        name = f"rawdb_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_create_database(admin, name))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {admin} is not available: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)", pytrace=False)
        _pg_unavailable.append(reason)
        yield None
        return
    try:
        yield pg_database_url(admin, name)
    finally:
        asyncio.run(pg_drop_database(admin, name))


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
def pg_url(request: pytest.FixtureRequest) -> str:
    """A PostgreSQL URL of an empty database of this test's own: a schema of the run's scratch
    database, or (parametrized "pgbouncer") a database through the worker's PgBouncer."""
    if getattr(request, "param", "postgresql") == PGBOUNCER_BACKEND:
        return str(request.getfixturevalue("pgbouncer_url"))
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
async def pg_schema_url(pg_scratch: str | None) -> AsyncIterator[str]:
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
        yield pg_database_url(server, name)
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


@pytest.fixture(scope="session")
def pgbouncer_server(pg_scratch: str | None) -> Iterator[pgbouncer.Bouncer]:
    """This worker's PgBouncer in transaction pooling mode before the test PostgreSQL, started at its first use."""
    reason = pgbouncer.unavailable()
    if reason is not None:
        pgbouncer.skip_or_fail(reason)
    if pg_scratch is None:  # (under CI=true pg_scratch has failed the run already)
        pytest.skip(_pg_unavailable[0] if _pg_unavailable else "PostgreSQL is not available")
    bouncer = pgbouncer.Bouncer(pg_scratch)
    try:
        bouncer.start()
    except RuntimeError as exc:
        pgbouncer.skip_or_fail(str(exc))
    try:
        yield bouncer
    finally:
        bouncer.stop()


@pytest.fixture(scope="session")
def pgbouncer_database(pgbouncer_server: pgbouncer.Bouncer, pg_scratch: str) -> Iterator[str]:
    """The direct URL of this worker's database for tests through PgBouncer (made at first use, dropped at the end)."""
    name = f"rawdb_pgb_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_create_database(pg_scratch, name))
    try:
        yield pg_database_url(pg_scratch, name)
    finally:
        asyncio.run(pg_drop_database(pg_scratch, name))


@pytest.fixture
async def pgbouncer_url(pgbouncer_server: pgbouncer.Bouncer, pgbouncer_database: str) -> str:
    """rawdb's URL (``pgbouncer=true``) through the worker's PgBouncer of an empty database.

    A URL through PgBouncer carries no search_path, so a test cannot have a schema of its own
    there: it has the worker's database, emptied (every schema dropped) directly on the server first.
    """
    await pgbouncer.empty_database(pgbouncer_database)
    return pgbouncer_server.rawdb_url(pgbouncer_database)


# Tests of modules on the pgbouncer backend that do not run there, and why: each needs what a
# transaction-pooled connection cannot give.  Keyed "path under tests/::function".
PGBOUNCER_EXCLUDED: dict[str, str] = {
    "test_glance_listing.py::test_postgresql_probes_memberships_per_image_not_all_of_them": (
        "EXPLAINs rawdb's statement on a session of its own, with the URL's search_path"
    ),
    "test_glance_listing.py::test_a_page_is_one_statement_and_filters_on_values_force_a_custom_plan": (
        "counts the reader pools of plan_cache_mode sessions, which rawdb opens only on direct"
        " connections: through PgBouncer no session keeps a setting"
    ),
}


def _flag(metafunc: pytest.Metafunc, name: str) -> bool:
    """A module's flag (``GALERA``, ``PGBOUNCER``), else that of its directory's conftest.py."""
    module = metafunc.module
    if hasattr(module, name):
        return bool(getattr(module, name))
    conftest = Path(module.__file__).resolve().with_name("conftest.py")
    for plugin in metafunc.config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path is not None and Path(path).resolve() == conftest:
            return bool(getattr(plugin, name, False))
    return False


def _pgbouncer_wanted(metafunc: pytest.Metafunc) -> bool:
    if not _flag(metafunc, "PGBOUNCER"):
        return False
    module = Path(metafunc.module.__file__).resolve().relative_to(Path(__file__).resolve().parent)
    return f"{module.as_posix()}::{metafunc.function.__name__}" not in PGBOUNCER_EXCLUDED


def _with_pgbouncer(metafunc: pytest.Metafunc) -> None:
    """A test's own ``parametrize("backend", [...])`` that names "postgresql" names "pgbouncer" too."""
    for node, mark in metafunc.definition.iter_markers_with_node("parametrize"):
        values = mark.args[1] if len(mark.args) > 1 else mark.kwargs.get("argvalues", [])
        if mark.args[0] != "backend" or "postgresql" not in values or PGBOUNCER_BACKEND in values:
            continue
        wider = pytest.mark.parametrize("backend", [*values, PGBOUNCER_BACKEND], **mark.kwargs).mark
        node.own_markers[node.own_markers.index(mark)] = wider


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The backends of a module's tests: with ``GALERA`` the Galera cluster too, with ``PGBOUNCER`` PgBouncer too."""
    names = metafunc.fixturenames
    if "backend" not in names:
        if "pg_url" in names and _pgbouncer_wanted(metafunc):  # a PostgreSQL-only test: both ways
            if not any("pg_url" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")):
                metafunc.definition.add_marker(
                    pytest.mark.parametrize("pg_url", ["postgresql", PGBOUNCER_BACKEND], indirect=True)
                )
        return
    through_bouncer = _pgbouncer_wanted(metafunc)
    if any("backend" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")):
        if through_bouncer:
            _with_pgbouncer(metafunc)
        return
    backends = [
        *BACKENDS,
        *(["galera"] if _flag(metafunc, "GALERA") else []),
        *([PGBOUNCER_BACKEND] if through_bouncer else []),
    ]
    if backends != BACKENDS:
        metafunc.definition.add_marker(pytest.mark.parametrize("backend", backends, indirect=True))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The parametrized backend; "postgresql" for "pgbouncer" (PostgreSQL through PgBouncer)."""
    return "postgresql" if request.param == PGBOUNCER_BACKEND else str(request.param)


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest) -> str:
    """The database URL of the parametrized backend (an empty database)."""
    if route(request) == PGBOUNCER_BACKEND:
        return str(request.getfixturevalue("pgbouncer_url"))
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
