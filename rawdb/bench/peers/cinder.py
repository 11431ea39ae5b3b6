"""The ``openstack`` target of the quota scenarios: cinder 29's own quota DB API on rawdb's database.

    peer = CinderPeer("postgresql://root@db/bench")  # the database rawdb bootstrapped and seeded
    uuids = peer.reserve("project-1", {"volumes": 1, "gigabytes": 10})  # cinder.db.api.quota_reserve
    peer.commit("project-1", uuids)  # reservation_commit (or peer.rollback: reservation_rollback)
    peer.statements, peer.round_trips
    peer.close()

``reserve`` passes what ``DbQuotaDriver.reserve`` passes: real ``cinder.quota.ReservableResource``
objects (the global ones ``VolumeTypeQuotaEngine.resources`` builds; the per-volume-type ones
need ``volume_type_get_all``, which cinder 29 cannot run on rawdb's Folsom ``volume_types``),
the project's hard limits (read once per project through ``DbQuotaDriver._get_quotas``), an
expiry ``reservation_expire`` seconds ahead, ``until_refresh=0`` and ``max_age=0``.  A refusal
is raised as ``rawdb.errors.OverQuota``, so callers need not import cinder.

cinder's enginefacade is configured as ``cinder.db.api.configure`` does from ``[database]``:
a QueuePool with ``pool_pre_ping`` (``max_pool_size=36``, so 32 threads do not churn
connections) on PostgreSQL and MySQL (PyMySQL), a NullPool on a SQLite file.  Nothing creates or migrates tables.
Only the quota tables are used, and rawdb's cinder schema has them exactly as cinder 29's
models do.  The usage-row sync functions (``_sync_volumes`` …) are never reached, because
every usage row exists and nothing is due for a refresh; they would fail on rawdb's Folsom
``volumes``/``snapshots`` tables and the missing ``backups`` table.

cinder keeps its engine in the module global ``cinder.db.api.main_context_manager``: a peer
patches its own factory in there, so only one peer can be open in a process at a time.  The
peer is thread-safe: concurrent callers are threads, each with its own RequestContexts.
cinder is imported lazily: this module imports without it and ``available()`` says why not.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from rawdb import errors
from rawdb.bench.peers import count_round_trips, missing
from rawdb.bench.peers.glance import driver_missing, sqlalchemy_url

__all__ = ["CINDER_VERSION", "MAX_POOL_SIZE", "RESOURCES", "CinderPeer", "available"]

CINDER_VERSION = "29.0.0"
_INSTALL = "pip install 'rawdb[openstack]'"
MAX_POOL_SIZE = 36
# (name, sync, flag): the global resources of cinder.quota.VolumeTypeQuotaEngine.resources.
RESOURCES: tuple[tuple[str, str | None, str], ...] = (
    ("volumes", "_sync_volumes", "quota_volumes"),
    ("per_volume_gigabytes", None, "per_volume_size_limit"),
    ("snapshots", "_sync_snapshots", "quota_snapshots"),
    ("gigabytes", "_sync_gigabytes", "quota_gigabytes"),
    ("backups", "_sync_backups", "quota_backups"),
    ("backup_gigabytes", "_sync_backup_gigabytes", "quota_backup_gigabytes"),
)
_USER = "bench-user"

_lock = threading.Lock()
_open: CinderPeer | None = None  # the peer whose factory is patched into cinder.db.api


def available(url: str) -> str | None:
    """None when cinder 29 and the driver for ``url`` can be imported; else a one-line reason."""
    return missing("cinder", CINDER_VERSION, ["cinder.db.api", "cinder.quota"], _INSTALL) or driver_missing(url)


class CinderPeer:
    """cinder's ``quota_reserve`` / ``reservation_commit`` / ``reservation_rollback`` at a rawdb URL.

    ``statements`` counts SQL statements sent (SQLAlchemy ``before_cursor_execute``, which
    includes oslo.db's explicit ``BEGIN`` on SQLite); ``round_trips`` adds the pool pre-ping
    at checkout, psycopg2's implicit ``BEGIN`` and every ``COMMIT``/``ROLLBACK``.  Connection
    setup is in neither.  ``reset_counts()`` zeroes both.
    """

    def __init__(self, url: str) -> None:
        global _open
        reason = available(url)
        if reason is not None:
            raise RuntimeError(reason)
        self.url = url
        self.connection = sqlalchemy_url(url)
        self.statements = 0
        self.round_trips = 0
        self._counting = threading.Lock()
        self._local = threading.local()  # per thread: {project_id: RequestContext}
        self._limits: dict[tuple[str, tuple[str, ...]], dict[str, int]] = {}
        self._api: Any = importlib.import_module("cinder.db.api")
        self._quota: Any = importlib.import_module("cinder.quota")
        self._context_class: Any = importlib.import_module("cinder.context").RequestContext
        self._over_quota: type[Exception] = importlib.import_module("cinder.exception").OverQuota
        self._utcnow: Callable[[], Any] = importlib.import_module("oslo_utils.timeutils").utcnow
        self._conf: Any = importlib.import_module("oslo_config.cfg").CONF
        self.resources: dict[str, Any] = {}
        for name, sync, flag in RESOURCES:
            resource = self._quota.ReservableResource(name, sync, flag)
            self.resources[resource.name] = resource
        self._driver: Any = self._quota.DbQuotaDriver()
        # What cinder.db.api.configure does with [database]; a copy of cinder's own factory.
        options: dict[str, Any] = {"connection": self.connection}
        if not self.connection.startswith("sqlite"):
            options["max_pool_size"] = MAX_POOL_SIZE
        with _lock:
            if _open is not None:
                raise RuntimeError(
                    f"a CinderPeer on {_open.url} is open: cinder keeps one engine per process; close it first"
                )
            manager = self._api.main_context_manager.make_new_manager()
            manager.configure(**options)
            self._reset_factory: Callable[[], None] = self._api.main_context_manager.patch_factory(manager)
            _open = self
        self._manager: Any = manager
        try:
            self._engine: Any = manager.writer.get_engine()  # starts the facade
            self._count(self._engine)
        except BaseException:
            self._unpatch()
            raise

    def _count(self, engine: Any) -> None:
        counting = self._counting

        def add(statements: int, round_trips: int) -> None:
            with counting:
                self.statements += statements
                self.round_trips += round_trips

        count_round_trips(engine, add)

    def reset_counts(self) -> None:
        with self._counting:
            self.statements = 0
            self.round_trips = 0

    def context(self, project_id: str) -> Any:
        """This thread's cinder RequestContext for a member of ``project_id``."""
        contexts: dict[str, Any] | None = getattr(self._local, "contexts", None)
        if contexts is None:
            contexts = self._local.contexts = {}
        ctx = contexts.get(project_id)
        if ctx is None:
            ctx = contexts[project_id] = self._context_class(
                user_id=_USER, project_id=project_id, is_admin=False, overwrite=False
            )
        return ctx

    def limits(self, project_id: str, resources: Sequence[str]) -> dict[str, int]:
        """The project's hard limits of ``resources``, as ``DbQuotaDriver.reserve`` reads them (once)."""
        key = (project_id, tuple(sorted(resources)))
        found = self._limits.get(key)
        if found is None:
            found = self._driver._get_quotas(
                self.context(project_id), self.resources, list(key[1]), has_sync=True, project_id=project_id
            )
            self._limits[key] = found
        return dict(found)

    def reserve(self, project_id: str, deltas: Mapping[str, int]) -> list[str]:
        """``cinder.db.api.quota_reserve``; return the reservation uuids.

        :raises rawdb.errors.OverQuota: cinder refused (its OverQuota)
        """
        ctx = self.context(project_id)
        quotas = self.limits(project_id, list(deltas))
        expire = self._utcnow() + timedelta(seconds=self._conf.reservation_expire)
        try:
            uuids: list[str] = self._api.quota_reserve(
                ctx, self.resources, quotas, dict(deltas), expire, 0, 0, project_id
            )
        except self._over_quota as exc:
            details: dict[str, Any] = getattr(exc, "kwargs", {})
            raise errors.OverQuota(
                overs=details.get("overs", []), quotas=details.get("quotas", {}), usages=details.get("usages", {})
            ) from exc
        return uuids

    def commit(self, project_id: str, reservations: Sequence[str]) -> None:
        """``cinder.db.api.reservation_commit`` (with the project, as ``DbQuotaDriver.commit`` passes it)."""
        self._api.reservation_commit(self.context(project_id), list(reservations), project_id=project_id)

    def rollback(self, project_id: str, reservations: Sequence[str]) -> None:
        """``cinder.db.api.reservation_rollback``."""
        self._api.reservation_rollback(self.context(project_id), list(reservations), project_id=project_id)

    def release(self) -> None:
        """Close the pooled connections (the peer stays usable and reconnects on demand)."""
        self._manager.dispose_pool()

    def _unpatch(self) -> None:
        global _open
        with _lock:
            if _open is self:
                self._reset_factory()
                _open = None

    def close(self) -> None:
        """Close the peer's connections and give cinder its own factory back."""
        try:
            self._manager.dispose_pool()
        finally:
            self._unpatch()
