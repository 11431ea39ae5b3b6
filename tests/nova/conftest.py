"""Fixtures of nova's behaviour tests: a bootstrapped nova database per backend, emptied per test.

Bootstrapping nova's ~200 tables costs ~0.4 s on PostgreSQL and MariaDB, more than most
tests here, so each backend's schema is bootstrapped once per worker and every test starts
from it with every table emptied (only the tables that hold rows are touched: one query
finds them). SQLite tests copy a bootstrapped file. Contexts as upstream's suites build
them (spec E.4): ``admin`` is ``get_admin_context()``, ``alice`` and ``bob`` are users of
project P1, ``carol`` of P2.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from faulttools import mysql_admin
from sqltools import OpenDb

import rawdb
from rawdb import schema
from rawdb.conventions import table_columns

P1, P2 = "p1", "p2"
ALICE, BOB, CAROL = "alice", "bob", "carol"


async def _bootstrap(url: str) -> None:
    database = await rawdb.connect(url)
    try:
        await schema.bootstrap(database, "nova")
    finally:
        await database.close()


async def _pg(scratch: str, sql: str) -> None:
    conn = await asyncpg.connect(scratch, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _mysql(admin: str, sql: str) -> None:
    conn = await mysql_admin(admin)
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def nova_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nova") / "template.sqlite"
    asyncio.run(_bootstrap(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def nova_pg_shared(pg_scratch: str | None) -> Iterator[str | None]:
    """The URL of this worker's bootstrapped nova schema in the scratch PostgreSQL database."""
    if pg_scratch is None:
        yield None
        return
    name = f"nova_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(pg_scratch, f"CREATE SCHEMA {name}"))
    try:
        url = f"{pg_scratch}{'&' if '?' in pg_scratch else '?'}search_path={name}"
        asyncio.run(_bootstrap(url))
        yield url
    finally:
        asyncio.run(_pg(pg_scratch, f"DROP SCHEMA IF EXISTS {name} CASCADE"))


@pytest.fixture(scope="session")
def nova_mysql_shared(mysql_server: str | None) -> Iterator[str | None]:
    """The URL of this worker's bootstrapped nova database on MariaDB."""
    if mysql_server is None:
        yield None
        return
    name = f"rawdb_nova_{uuid.uuid4().hex[:8]}"
    asyncio.run(_mysql(mysql_server, f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"))
    try:
        url = f"{mysql_server.rstrip('/').rsplit('/', 1)[0]}/{name}"
        asyncio.run(_bootstrap(url))
        yield url
    finally:
        asyncio.run(_mysql(mysql_server, f"DROP DATABASE IF EXISTS {name}"))


def _tables() -> list[str]:
    return sorted(table_columns("nova"))


def _nonempty_sql() -> str:
    return " UNION ALL ".join(
        f"SELECT '{t}' AS name FROM (SELECT 1 AS x) AS one WHERE EXISTS (SELECT 1 FROM {t})" for t in _tables()
    )


async def _empty(database: rawdb.Database) -> None:
    """Delete every row of every nova table, foreign keys unchecked while it runs."""
    from sqltools import select

    names = [row["name"] for row in await select(database, _nonempty_sql())]
    if not names:
        return
    off, on = {
        "postgresql": ("SET LOCAL session_replication_role = replica", None),
        "mysql": ("SET SESSION foreign_key_checks = 0", "SET SESSION foreign_key_checks = 1"),
    }[database.dialect]
    async with database.writer() as tx:
        await tx.script(";\n".join([off, *(f"DELETE FROM {name}" for name in names), *([on] if on else [])]))


@pytest.fixture
def nova_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a nova database for this test: a copy of the template file, or the worker's shared one."""
    if backend == "sqlite":
        path = tmp_path / "nova.sqlite"
        shutil.copyfile(request.getfixturevalue("nova_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("nova_pg_shared" if backend == "postgresql" else "nova_mysql_shared")
    if url is None:
        pytest.skip(f"{backend} is not available")
    return str(url)


@pytest.fixture
async def nova_db(backend: str, nova_url: str, open_db: OpenDb) -> rawdb.Database:
    """A database with nova's schema and no rows, on the parametrized backend."""
    database = await open_db(nova_url)
    if backend != "sqlite":
        await _empty(database)
    return database


@pytest.fixture
def admin(nova_db: rawdb.Database) -> rawdb.Context:
    """``get_admin_context()``: no user or project, admin, read_deleted 'no'."""
    return rawdb.Context(nova_db, is_admin=True)


@pytest.fixture
def alice(nova_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(nova_db, project_id=P1, user_id=ALICE)


@pytest.fixture
def bob(nova_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(nova_db, project_id=P1, user_id=BOB)


@pytest.fixture
def carol(nova_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(nova_db, project_id=P2, user_id=CAROL)
