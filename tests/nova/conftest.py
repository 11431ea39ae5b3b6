"""Fixtures of nova's behaviour tests: a bootstrapped nova database per backend, emptied per test.

Bootstrapping nova's ~200 tables costs ~0.4 s on PostgreSQL and MariaDB, more than most
tests here, so each backend's schema is bootstrapped once per worker and every test starts
from it with every table emptied (only the tables that hold rows are touched: one query
finds them). SQLite tests copy a bootstrapped file. Contexts as upstream's suites build
them (spec E.4): ``admin`` is ``get_admin_context()``, ``alice`` and ``bob`` are users of
project P1, ``carol`` of P2.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import galera
import pgbouncer
import pytest
import servicedb
from sqltools import PGBOUNCER_BACKEND, OpenDb, route

import rawdb

# Every module here runs its backend tests through the worker's PgBouncer too (tests/conftest.py).
PGBOUNCER = True

P1, P2 = "p1", "p2"
ALICE, BOB, CAROL = "alice", "bob", "carol"


@pytest.fixture(scope="session")
def nova_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return servicedb.sqlite_template(tmp_path_factory, "nova")


@pytest.fixture(scope="session")
def nova_pg_shared(pg_scratch: str | None) -> Iterator[str | None]:
    """The URL of this worker's bootstrapped nova schema in the scratch PostgreSQL database."""
    yield from servicedb.pg_shared(pg_scratch, "nova")


@pytest.fixture(scope="session")
def nova_mysql_shared(mysql_server: str | None) -> Iterator[str | None]:
    """The URL of this worker's bootstrapped nova database on MariaDB."""
    yield from servicedb.mysql_shared(mysql_server, "nova")


@pytest.fixture(scope="session")
def nova_galera_shared(galera_cluster: galera.Cluster) -> Iterator[str | None]:
    """The URL of this worker's bootstrapped nova database on its Galera cluster (made through node 1)."""
    yield from servicedb.galera_shared(galera_cluster, "nova")


@pytest.fixture(scope="session")
def nova_pgbouncer_shared(pgbouncer_server: pgbouncer.Bouncer, pg_scratch: str) -> Iterator[str]:
    """rawdb's URL through this worker's PgBouncer of its bootstrapped nova database (a database of its own)."""
    yield from pgbouncer.service_shared(pgbouncer_server, pg_scratch, "nova")


@pytest.fixture
def nova_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a nova database for this test: a copy of the template file, or the worker's shared one."""
    if route(request) == PGBOUNCER_BACKEND:
        return str(request.getfixturevalue("nova_pgbouncer_shared"))
    return servicedb.service_url(backend, request, tmp_path, "nova")


@pytest.fixture
async def nova_db(backend: str, nova_url: str, open_db: OpenDb) -> rawdb.Database:
    """A database with nova's schema and no rows, on the parametrized backend."""
    database = await open_db(nova_url)
    if backend != "sqlite":
        await servicedb.empty(database, "nova")
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
