"""A bootstrapped service schema (nova, cinder) per backend and worker, emptied for each test.

Bootstrapping a service's tables costs more than most tests that use them, so each backend's
schema is bootstrapped once per worker and every test starts from it with every table
emptied (only the tables that hold rows are touched: one query finds them).  SQLite tests copy
a bootstrapped file.  A service's conftest builds its fixtures from these.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from faulttools import mysql_admin

import rawdb
from rawdb import schema
from rawdb.conventions import table_columns


async def bootstrap(url: str, service: str) -> None:
    """Bootstrap the service's schema in the database at ``url``."""
    database = await rawdb.connect(url)
    try:
        await schema.bootstrap(database, service)
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


def sqlite_template(tmp_path_factory: pytest.TempPathFactory, service: str) -> Path:
    """A SQLite file with the service's schema, to copy for each test."""
    path = tmp_path_factory.mktemp(service) / "template.sqlite"
    asyncio.run(bootstrap(f"sqlite:///{path}", service))
    return path


def pg_shared(pg_scratch: str | None, service: str) -> Iterator[str | None]:
    """The URL of a bootstrapped schema of the service in the scratch PostgreSQL database (dropped after)."""
    if pg_scratch is None:
        yield None
        return
    name = f"{service}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(pg_scratch, f"CREATE SCHEMA {name}"))
    try:
        url = f"{pg_scratch}{'&' if '?' in pg_scratch else '?'}search_path={name}"
        asyncio.run(bootstrap(url, service))
        yield url
    finally:
        asyncio.run(_pg(pg_scratch, f"DROP SCHEMA IF EXISTS {name} CASCADE"))


def mysql_shared(mysql_server: str | None, service: str) -> Iterator[str | None]:
    """The URL of a bootstrapped database of the service on MariaDB (dropped after)."""
    if mysql_server is None:
        yield None
        return
    name = f"rawdb_{service}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_mysql(mysql_server, f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"))
    try:
        url = f"{mysql_server.rstrip('/').rsplit('/', 1)[0]}/{name}"
        asyncio.run(bootstrap(url, service))
        yield url
    finally:
        asyncio.run(_mysql(mysql_server, f"DROP DATABASE IF EXISTS {name}"))


def galera_shared(cluster: Any, service: str) -> Iterator[str]:
    """The URL of this worker's bootstrapped ``service`` database on its Galera cluster (made
    through node 1, on every node before a test uses it); dropped afterwards."""
    shared = mysql_shared(cluster.urls[0], service)
    url = next(shared)
    assert url is not None
    cluster.wait_replicated(url)
    yield url
    next(shared, None)  # drops it


def _nonempty_sql(service: str) -> str:
    return " UNION ALL ".join(
        f"SELECT '{t}' AS name FROM (SELECT 1 AS x) AS one WHERE EXISTS (SELECT 1 FROM {t})"
        for t in sorted(table_columns(service))
    )


async def empty(database: rawdb.Database, service: str) -> None:
    """Delete every row of every table of the service, foreign keys unchecked while it runs."""
    from sqltools import select

    names = [row["name"] for row in await select(database, _nonempty_sql(service))]
    if not names:
        return
    off, on = {
        "postgresql": ("SET LOCAL session_replication_role = replica", None),
        "mysql": ("SET SESSION foreign_key_checks = 0", "SET SESSION foreign_key_checks = 1"),
    }[database.dialect]
    async with database.writer() as tx:
        await tx.script(";\n".join([off, *(f"DELETE FROM {name}" for name in names), *([on] if on else [])]))


def service_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, service: str) -> str:
    """The URL of the service's database for one test: a copy of the template file, or the worker's shared one."""
    if backend == "sqlite":
        path = tmp_path / f"{service}.sqlite"
        shutil.copyfile(request.getfixturevalue(f"{service}_sqlite_template"), path)
        return f"sqlite:///{path}"
    if backend == "galera":  # the worker's shared database, through the cluster's nodes in turn
        shared = urlsplit(str(request.getfixturevalue(f"{service}_galera_shared")))
        node = urlsplit(request.getfixturevalue("galera_cluster").next_url())
        return urlunsplit(shared._replace(netloc=node.netloc))
    url = request.getfixturevalue(f"{service}_pg_shared" if backend == "postgresql" else f"{service}_mysql_shared")
    if url is None:
        pytest.skip(f"{backend} is not available")
    return str(url)
