"""The ``openstack`` target of the cinder volume cases: cinder 29's own volume reads on its own schema.

    peer = CinderVolumesPeer("postgresql://root@db/bench?search_path=rawdb_bench_cinder29")
    seconds = peer.sync()                      # cinder's schema: cinder.db.migration.db_sync
    call = peer.caller("c_volume_get", project_id, volume_id)   # cinder.db.api.volume_get, unshaped
    volume = peer.plain("c_volume_get", call())                 # models as rawdb-like dicts
    peer.statements, peer.round_trips
    peer.close()

The database is one of cinder 29's own schema (``rawdb.bench.cinder.cinder29_url``), created by
``db_sync`` (cinder's alembic migrations, from ``921e1a36b076_initial`` on) and seeded by
``rawdb.bench.cinder_seed.seed_cinder29`` with the rows rawdb's volume dataset has.  cinder is
configured in-process as the quota peer (``rawdb.bench.peers.cinder``) configures it: an
enginefacade of its own patched into the module global ``cinder.db.api.main_context_manager``
(QueuePool with pre-ping on PostgreSQL and MySQL, NullPool on a SQLite file).  So only one cinder
peer can be open in a process: this one refuses to open while a quota peer is, and the runner
closes it (``cinder_scenarios`` does, before returning) before the quota scenarios open theirs.
Calls are synchronous and thread-safe: callers run them in threads, each with its own
RequestContext.  cinder is imported lazily: this module imports without it.
"""

from __future__ import annotations

import importlib
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from rawdb.bench.peers import count_round_trips, missing
from rawdb.bench.peers.glance import driver_missing
from rawdb.bench.peers.nova import peer_sqlalchemy_url

__all__ = ["CINDER_VERSION", "CinderVolumesPeer", "available"]

CINDER_VERSION = "29.0.0"
_INSTALL = "pip install 'rawdb[openstack]'"
_USER = "bench-user"
_MODULES = ["cinder.db.api", "cinder.db.migration", "cinder.context"]

_lock = threading.Lock()
_open: CinderVolumesPeer | None = None


def available(url: str) -> str | None:
    """None when cinder 29 and the driver for ``url`` can be imported; else a one-line reason."""
    return missing("cinder", CINDER_VERSION, _MODULES, _INSTALL) or driver_missing(url)


class CinderVolumesPeer:
    """cinder 29's ``volume_get`` and ``volume_get_all_by_project`` on a database of its own schema.

    ``statements`` counts the SQL statements sent (SQLAlchemy ``before_cursor_execute``, oslo.db's
    explicit ``BEGIN`` on SQLite included), ``round_trips`` adds pre-pings, implicit BEGINs and
    transaction ends (``rawdb.bench.peers.count_round_trips``); ``reset_counts()`` zeroes both.
    """

    def __init__(self, url: str) -> None:
        global _open
        reason = available(url)
        if reason is not None:
            raise RuntimeError(reason)
        from rawdb.bench.peers import cinder as quota_peer

        self.url = url
        self.connection = peer_sqlalchemy_url(url)
        self.statements = 0
        self.round_trips = 0
        self._counting = threading.Lock()
        self._local = threading.local()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._api: Any = importlib.import_module("cinder.db.api")
            self._migration: Any = importlib.import_module("cinder.db.migration")
            self._context_class: Any = importlib.import_module("cinder.context").RequestContext
        options: dict[str, Any] = {"connection": self.connection}
        if not self.connection.startswith("sqlite"):
            options["max_pool_size"] = quota_peer.MAX_POOL_SIZE
        with quota_peer._lock, _lock:
            if quota_peer._open is not None or _open is not None:
                holder = quota_peer._open.url if quota_peer._open is not None else _open.url  # type: ignore[union-attr]
                raise RuntimeError(f"a cinder peer on {holder} is open: cinder keeps one engine per process")
            manager = self._api.main_context_manager.make_new_manager()
            manager.configure(**options)
            self._reset_factory: Callable[[], None] = self._api.main_context_manager.patch_factory(manager)
            _open = self
        self._manager: Any = manager
        try:
            self._engine: Any = manager.writer.get_engine()
            count_round_trips(self._engine, self._add)
        except BaseException:
            self._unpatch()
            raise

    def _add(self, statements: int, round_trips: int) -> None:
        with self._counting:
            self.statements += statements
            self.round_trips += round_trips

    def reset_counts(self) -> None:
        with self._counting:
            self.statements = 0
            self.round_trips = 0

    def sync(self) -> float:
        """Create or upgrade cinder 29's schema on the peer's database (``db_sync``); the seconds it took."""
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # alembic's notes on SQLite's batch table recreates, SQLAlchemy's
            self._migration.db_sync(engine=self._engine)
        return time.perf_counter() - started

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

    def caller(self, case: str, project_id: str, volume_id: str) -> Callable[[], Any]:
        """cinder's call of ``case`` as ``project_id``'s user (the raw models)."""
        api = self._api
        if case == "c_volumes_by_project":
            # rawdb lists oldest first, then by id (cinder's default is newest first): ask for that order
            return lambda: api.volume_get_all_by_project(
                self.context(project_id),
                project_id,
                None,
                None,
                sort_keys=["created_at", "id"],
                sort_dirs=["asc", "asc"],
            )
        if case == "c_volume_get":
            return lambda: api.volume_get(self.context(project_id), volume_id)
        raise ValueError(f"cinder {CINDER_VERSION} has no counterpart of the case {case!r}")

    def plain(self, case: str, result: Any) -> Any:
        """cinder's models as rawdb-like dicts (the keys ``rawdb.bench.cinder.compared`` reads)."""
        if case == "c_volumes_by_project":
            return [_plain(volume) for volume in result]
        return _plain(result)

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


def _plain(volume: Any) -> dict[str, Any]:
    kind = volume.volume_type
    return {
        "id": volume.id,
        "project_id": volume.project_id,
        "host": volume.host,
        "size": volume.size,
        "status": volume.status,
        "volume_type": None if kind is None else {"name": kind.name},
        "volume_metadata": [{"key": m.key, "value": m.value} for m in volume.volume_metadata],
    }
