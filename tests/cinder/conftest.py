"""Fixtures of cinder's behaviour tests: a bootstrapped cinder database per backend, emptied per test.

As nova's (``tests/servicedb.py``): each backend's schema is bootstrapped once per worker and
every test starts from it with every table emptied; SQLite tests copy a bootstrapped file.
Contexts as cinder's suites build them: ``admin`` is ``get_admin_context()``, ``alice`` and
``bob`` are users of project P1, ``carol`` of P2.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
def cinder_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return servicedb.sqlite_template(tmp_path_factory, "cinder")


@pytest.fixture(scope="session")
def cinder_pg_shared(pg_scratch: str | None) -> Iterator[str | None]:
    """The URL of this worker's bootstrapped cinder schema in the scratch PostgreSQL database."""
    yield from servicedb.pg_shared(pg_scratch, "cinder")


@pytest.fixture(scope="session")
def cinder_mysql_shared(mysql_server: str | None) -> Iterator[str | None]:
    """The URL of this worker's bootstrapped cinder database on MariaDB."""
    yield from servicedb.mysql_shared(mysql_server, "cinder")


@pytest.fixture(scope="session")
def cinder_pgbouncer_shared(pgbouncer_server: pgbouncer.Bouncer, pg_scratch: str) -> Iterator[str]:
    """rawdb's URL through this worker's PgBouncer of its bootstrapped cinder database (a database of its own)."""
    yield from pgbouncer.service_shared(pgbouncer_server, pg_scratch, "cinder")


@pytest.fixture
def cinder_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a cinder database for this test: a copy of the template file, or the worker's shared one."""
    if route(request) == PGBOUNCER_BACKEND:
        return str(request.getfixturevalue("cinder_pgbouncer_shared"))
    return servicedb.service_url(backend, request, tmp_path, "cinder")


@pytest.fixture
async def cinder_db(backend: str, cinder_url: str, open_db: OpenDb) -> rawdb.Database:
    """A database with cinder's schema and no rows, on the parametrized backend."""
    database = await open_db(cinder_url)
    if backend != "sqlite":
        await servicedb.empty(database, "cinder")
    return database


@pytest.fixture
def admin(cinder_db: rawdb.Database) -> rawdb.Context:
    """``get_admin_context()``: no user or project, admin, read_deleted 'no'."""
    return rawdb.Context(cinder_db, is_admin=True)


@pytest.fixture
def alice(cinder_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(cinder_db, project_id=P1, user_id=ALICE)


@pytest.fixture
def bob(cinder_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(cinder_db, project_id=P1, user_id=BOB)


@pytest.fixture
def carol(cinder_db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(cinder_db, project_id=P2, user_id=CAROL)
