"""The ``openstack`` target of the glance cases: glance 33's own DB API on rawdb's database.

    peer = GlancePeer("postgresql://glance@db/glance")  # the database rawdb bootstrapped and seeded
    images = peer.call(case, dataset)  # glance.db.sqlalchemy.api.image_get_all / image_get
    peer.statements, peer.round_trips
    peer.close()

glance is configured as its service configures itself: ``[database] connection`` in
oslo.config, and the enginefacade that ``glance.db.sqlalchemy.api`` builds from it (QueuePool
with ``pool_pre_ping`` on PostgreSQL and MySQL, NullPool on a SQLite file, ``sqlite_fk=True``).
On MySQL/MariaDB that is PyMySQL (``mysql+pymysql://``, the driver oslo.db documents) with
oslo.db's own session setup: ``sql_mode`` TRADITIONAL and the server's default isolation.  Nothing
creates or migrates tables: the schema is rawdb's.  Contexts are glance ``RequestContext``s
with a stub policy enforcer, since policy is outside the DB API.

glance keeps one engine per process in a module global; each peer builds its own and installs
it there for the duration of a call, so peers on different databases can live side by side.
glance is imported lazily: this module imports without it and ``available()`` says why not.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rawdb.bench.cases import GlanceCase
from rawdb.bench.peers import count_round_trips, missing
from rawdb.bench.seed import GlanceDataset
from rawdb.database import connect_options, sqlite_path, url_dialect

__all__ = ["GLANCE_VERSION", "GlancePeer", "available", "sqlalchemy_url"]

GLANCE_VERSION = "33.0.0"
_INSTALL = "pip install 'rawdb[openstack]'"
# What ImageRepo.list passes for a v2 listing without sort parameters; glance adds id itself.
_SORT_KEY = ("created_at",)
_SORT_DIR = ("desc",)
_RAWDB_OPTIONS = connect_options()


# SQLAlchemy's driver for each dialect the peers run on, and the package that brings it.
_DRIVERS = {"postgresql": ("psycopg2", "PostgreSQL", "psycopg2-binary"), "mysql": ("pymysql", "MySQL", "PyMySQL")}
# rawdb's MySQL options that PyMySQL also takes under the same name and meaning.
_PYMYSQL_OPTIONS = frozenset({"unix_socket"})


def driver_missing(url: str) -> str | None:
    """None when SQLAlchemy's driver for ``url`` imports (psycopg2, PyMySQL); else why not."""
    driver = _DRIVERS.get(url_dialect(url))
    if driver is None:
        return None  # SQLite's driver is the standard library's
    module, name, package = driver
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"SQLAlchemy's {name} driver does not import ({exc}): pip install {package}"
    return None


def available(url: str) -> str | None:
    """None when glance 33 and the driver for ``url`` can be imported; else a one-line reason."""
    return missing("glance", GLANCE_VERSION, ["glance.db.sqlalchemy.api"], _INSTALL) or driver_missing(url)


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy form of a rawdb URL, as glance's ``[database] connection`` takes it.

    ``postgresql://…`` (``postgresql+anydriver://…`` too) becomes ``postgresql+psycopg2://…``
    and ``mysql://…`` (``mariadb://…``, ``mysql+anydriver://…``) ``mysql+pymysql://…`` with
    ``charset=utf8mb4`` unless the URL names a character set, both without rawdb's own query
    options; ``sqlite:///relative`` and ``sqlite:////absolute`` become ``sqlite:////absolute``.

    :raises Invalid: a scheme rawdb does not speak
    :raises ValueError: a SQLite database that is not a file
    """
    parts = urlsplit(url)
    dialect = url_dialect(url)
    if dialect in ("postgresql", "mysql"):
        query = parse_qsl(parts.query, keep_blank_values=True)
        kept = [(k, v) for k, v in query if k not in _RAWDB_OPTIONS or (dialect == "mysql" and k in _PYMYSQL_OPTIONS)]
        if dialect == "mysql" and not any(k == "charset" for k, _ in kept):
            kept.append(("charset", "utf8mb4"))  # rawdb's tables are utf8mb4; oslo.db would pick utf8
        scheme = "postgresql+psycopg2" if dialect == "postgresql" else "mysql+pymysql"
        return urlunsplit((scheme, parts.netloc, parts.path, urlencode(kept), ""))
    path = sqlite_path(url)
    if path is None:
        raise ValueError(f"the glance peer needs a SQLite file rawdb also opens, not {url!r}")
    return "sqlite:///" + os.path.abspath(path)


class _StubPolicy:
    """Stands in for glance's policy enforcer: the DB API never consults policy."""

    def check_is_admin(self, context: Any) -> bool:
        return False


class GlancePeer:
    """glance's ``image_get_all`` / ``image_get`` on the database at a rawdb URL.

    ``statements`` counts SQL statements sent (SQLAlchemy ``before_cursor_execute``, which
    includes oslo.db's explicit ``BEGIN`` on SQLite); ``round_trips`` adds the pool pre-ping
    at checkout, the driver's implicit ``BEGIN`` and every ``COMMIT``/``ROLLBACK``.  Connection
    setup is in neither.  Both may be reset by assigning 0.
    """

    def __init__(self, url: str) -> None:
        reason = available(url)
        if reason is not None:
            raise RuntimeError(reason)
        self.url = url
        self.connection = sqlalchemy_url(url)
        self.statements = 0
        self.round_trips = 0
        self._contexts: dict[tuple[bool, str], Any] = {}
        cfg = importlib.import_module("oslo_config.cfg")
        db_options = importlib.import_module("oslo_db.options")
        self._api: Any = importlib.import_module("glance.db.sqlalchemy.api")
        self._context_class: Any = importlib.import_module("glance.context").RequestContext
        self._policy = _StubPolicy()
        api: Any = self._api
        db_options.set_defaults(cfg.CONF)  # registers [database], as glance.db.migration does
        previous = api._main_context_manager
        cfg.CONF.set_override("connection", self.connection, group="database")
        try:
            api.clear_db_env()
            self._manager: Any = api._get_main_context_manager()  # glance's own enginefacade setup
            self._engine: Any = api.get_engine()  # starts the facade: reads [database] now
        finally:
            cfg.CONF.clear_override("connection", group="database")
            api._main_context_manager = previous
        self._count(self._engine)

    def _count(self, engine: Any) -> None:
        def add(statements: int, round_trips: int) -> None:
            self.statements += statements
            self.round_trips += round_trips

        count_round_trips(engine, add)

    def context(self, admin: bool, project_id: str) -> Any:
        """glance's RequestContext for an admin or a member of ``project_id`` (one per pair)."""
        key = (admin, project_id)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._context_class(
                project_id=project_id,
                is_admin=admin,
                roles=["admin", "member", "reader"] if admin else ["member", "reader"],
                policy_enforcer=self._policy,
                overwrite=False,
            )
            self._contexts[key] = ctx
        return ctx

    def call(self, case: GlanceCase, dataset: GlanceDataset) -> Any:
        """Run ``case``: a list of image dicts (``image_get_all``) or one (``image_get``)."""
        api = self._api
        api._main_context_manager = self._manager
        ctx = self.context(case.admin, case.project(dataset))
        if case.kind == "get":
            return api.image_get(ctx, case.image_id(dataset))
        return api.image_get_all(
            ctx,
            filters=case.listing_filters(),
            marker=case.marker(dataset),
            limit=case.limit,
            sort_key=list(_SORT_KEY),
            sort_dir=list(_SORT_DIR),
            member_status="accepted",
            return_tag=case.return_tag,
        )

    def close(self) -> None:
        """Close the peer's connections; glance forgets its engine if it is this one."""
        api = self._api
        with api._main_context_lock:
            if api._main_context_manager is self._manager:
                api._main_context_manager = None
        self._engine.dispose()
