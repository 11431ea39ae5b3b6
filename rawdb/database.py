"""``connect()`` and the Database: a backend's pools plus statements, observers and scopes."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import warnings
from collections.abc import Generator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from rawdb import errors
from rawdb.backends.base import Backend
from rawdb.context import Context, Scope
from rawdb.observe import Hook, Observer, open_tracing
from rawdb.sqlfiles import registry
from rawdb.statement import Statement

if TYPE_CHECKING:
    from rawdb.tracing import Tracing

DEFAULT_URL = "sqlite:///rawdb.sqlite"

log = logging.getLogger("rawdb")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(value: Any) -> bool:
    """A boolean option: True/False, or one of the words in _TRUE/_FALSE (URL query values)."""
    if isinstance(value, bool):
        return value
    word = str(value).lower()
    if word not in _TRUE | _FALSE:
        raise ValueError(f"not a boolean: use one of {sorted(_TRUE | _FALSE)}")
    return word in _TRUE


def _count(value: Any) -> int:
    """A count, 0 or more: a whole number, or its text (URL query values)."""
    if isinstance(value, bool) or int(value) != float(value) or int(value) < 0:
        raise ValueError("must be a whole number, 0 or more")
    return int(value)


def _seconds(value: Any) -> float:
    """A duration in seconds, 0 or more: a number, or its text (URL query values)."""
    if isinstance(value, bool):
        raise ValueError("not a number of seconds")
    seconds = float(value)
    if not seconds >= 0:  # also refuses NaN
        raise ValueError("must be a number of seconds, 0 or more")
    return seconds


def _provider(value: Any) -> Any:
    """A TracerProvider object: only a keyword option can carry one."""
    if isinstance(value, (str, bytes)):
        raise ValueError("a tracer provider is an object, passed as connect(..., tracer_provider=provider)")
    return value


# option -> (converter, default); URL query parameters are strings, keyword options need not be.
_COMMON: dict[str, tuple[Any, Any]] = {
    "acquire_timeout": (float, 30.0),
    "max_waiting": (int, None),
    "connect_retries": (int, 0),
    "connect_retry_interval": (float, 1.0),
    "deadlock_retries": (_count, 5),
    "slow_statement_ms": (float, 500.0),
    "log_parameters": (lambda v: v if isinstance(v, bool) else str(v).lower() in _TRUE, False),
    "tracing": (_flag, False),
    "tracer_provider": (_provider, None),
}
_RETRY = {name: _COMMON[name] for name in ("connect_retries", "connect_retry_interval")}
_TRACING = {name: _COMMON[name] for name in ("tracing", "tracer_provider")}
_POSTGRESQL: dict[str, tuple[Any, Any]] = {
    "pool_size": (int, 5),
    "min_size": (int, 1),
    "pgbouncer": (lambda v: v if isinstance(v, bool) else str(v).lower() in _TRUE, False),
    "connect_timeout": (float, 10.0),
    "statement_cache_size": (int, None),
    "command_timeout": (float, None),
    "replicas": (lambda v: [v] if isinstance(v, str) else list(v), []),
    "max_replica_lag": (_seconds, None),
    "server_settings": (dict, None),
    "writer_plan_cache_mode": (
        lambda v: _choice(str(v), ("auto", "force_generic_plan", "force_custom_plan"), "writer_plan_cache_mode"),
        "force_generic_plan",
    ),
}
_MYSQL: dict[str, tuple[Any, Any]] = {
    "pool_size": (int, 5),
    "min_size": (int, 1),
    "connect_timeout": (float, 10.0),
    "lock_wait_timeout": (int, 30),
    "server_settings": (dict, None),
    "unix_socket": (str, None),
}
# What oslo.db URLs carry for MySQL besides rawdb's options: the connection character set (rawdb
# always talks utf8mb4; a table's own character set still decides what it can store) and
# SQLAlchemy's ``plugin`` list.  Accepted so a URL from nova.conf works unchanged, and ignored.
_MYSQL_CHARSETS = frozenset({"utf8", "utf8mb3", "utf8mb4"})
_SQLITE: dict[str, tuple[Any, Any]] = {
    "readers": (int, 4),
    "busy_timeout": (float, 30.0),
    "synchronous": (
        lambda v: _choice(str(v).upper(), ("OFF", "NORMAL", "FULL", "EXTRA"), "synchronous"),
        "FULL",
    ),
}


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise errors.Invalid(f"option {name} must be one of {allowed}, not {value!r}")
    return value


def _options(url_options: dict[str, Any], options: dict[str, Any], table: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    merged = {**url_options, **options}
    unknown = sorted(set(merged) - set(table))
    if unknown:
        raise errors.Invalid(f"unknown option(s) {unknown}; known: {sorted(table)}")
    result: dict[str, Any] = {}
    for name, (convert, default) in table.items():
        if name in merged and merged[name] is not None:
            try:
                result[name] = convert(merged[name])
            except (TypeError, ValueError) as exc:
                raise errors.Invalid(f"option {name}={merged[name]!r} is invalid: {exc}") from None
        else:
            result[name] = default
    return result


def resolve_url(url: str | None) -> str:
    """The URL argument, else ``RAWDB_URL``, else ``sqlite:///rawdb.sqlite``."""
    return url or os.environ.get("RAWDB_URL") or DEFAULT_URL


# URL scheme -> dialect.  A SQLAlchemy driver suffix (``postgresql+psycopg2``) is dropped first.
_SCHEMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
}


def url_dialect(url: str) -> str:
    """The dialect a database URL names: ``postgresql``, ``mysql`` or ``sqlite``.

    A SQLAlchemy ``+driver`` suffix is ignored, so a URL copied from an OpenStack config file
    works as it is: ``postgresql+psycopg2://…`` is PostgreSQL, ``mysql+pymysql://…`` and
    ``mariadb://…`` MySQL/MariaDB, ``sqlite+pysqlite:///…`` SQLite.

    :raises Invalid: any other scheme
    """
    scheme = urlsplit(url).scheme.lower()
    dialect = _SCHEMES.get(scheme.partition("+")[0])
    if dialect is None:
        # urlsplit() finds no scheme in ``oracle+cx_oracle://`` (the underscore): name what was written
        scheme = scheme or url.partition("://")[0][:40]
        raise errors.Invalid(
            f"unsupported database URL scheme {scheme!r}: use postgresql://…, mysql://… (mariadb://…) or sqlite:///…"
        )
    return dialect


def sqlite_path(url: str) -> str | None:
    """The file a ``sqlite:///relative`` or ``sqlite:////absolute`` URL names, as given.

    :returns: None for an in-memory database (``sqlite:///:memory:``) or a URL of another dialect
    :raises Invalid: an unsupported scheme, or a sqlite URL with a host
    """
    if url_dialect(url) != "sqlite":
        return None
    path = _sqlite_file(url)
    return None if path in ("", ":memory:") else path


def _sqlite_file(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise errors.Invalid(f"a sqlite URL has no host: use sqlite:///relative/path or sqlite:////abs/path ({url})")
    return parts.path[1:] if parts.path.startswith("/") else parts.path


def connect_options() -> frozenset[str]:
    """Every option name ``connect()`` takes, as a keyword or a URL query parameter."""
    return frozenset({*_COMMON, *_POSTGRESQL, *_MYSQL, *_SQLITE, "replica"})


async def _open_backend(url: str, options: dict[str, Any]) -> tuple[Backend, dict[str, Any]]:
    parts = urlsplit(url)
    dialect = url_dialect(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if dialect == "sqlite":
        table = {**_COMMON, **_SQLITE}
        opts = _options(dict(query), options, table)
        path = _sqlite_file(url)
        from rawdb.backends.sqlite import SqliteBackend

        backend: Backend = await SqliteBackend.open(
            path,
            readers=opts["readers"],
            busy_timeout=opts["busy_timeout"],
            acquire_timeout=opts["acquire_timeout"],
            synchronous=opts["synchronous"],
            max_waiting=opts["max_waiting"],
        )
        return backend, opts
    if dialect == "postgresql":
        table = {**_COMMON, **_POSTGRESQL}
        ours: dict[str, Any] = {k: v for k, v in query if k in table or k == "replica"}
        passthrough = [(k, v) for k, v in query if k not in ours]
        replicas = [v for k, v in query if k == "replica"]
        ours.pop("replica", None)
        if replicas:
            ours["replicas"] = [_replica_dsn(parts, r) for r in replicas]
        opts = _options(ours, options, table)
        dsn = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(passthrough), ""))
        from rawdb.backends.postgresql import PostgresBackend

        backend = await PostgresBackend.open(
            dsn,
            replicas=opts["replicas"],
            pool_size=opts["pool_size"],
            min_size=opts["min_size"],
            acquire_timeout=opts["acquire_timeout"],
            pgbouncer=opts["pgbouncer"],
            connect_timeout=opts["connect_timeout"],
            statement_cache_size=opts["statement_cache_size"],
            server_settings=opts["server_settings"],
            command_timeout=opts["command_timeout"],
            writer_plan_cache_mode=opts["writer_plan_cache_mode"],
            max_waiting=opts["max_waiting"],
            max_replica_lag=opts["max_replica_lag"],
        )
        return backend, opts
    if dialect == "mysql":
        url_options = dict(query)
        charset = url_options.pop("charset", "utf8mb4")
        if charset.lower() not in _MYSQL_CHARSETS:
            raise errors.Invalid(f"charset={charset!r}: rawdb talks utf8mb4 to MySQL/MariaDB (utf8 is accepted)")
        url_options.pop("plugin", None)
        opts = _options(url_options, options, {**_COMMON, **_MYSQL})
        from rawdb.backends.mysql import MysqlBackend

        backend = await MysqlBackend.open(
            urlunsplit(("mysql", parts.netloc, parts.path, "", "")),
            pool_size=opts["pool_size"],
            min_size=opts["min_size"],
            acquire_timeout=opts["acquire_timeout"],
            connect_timeout=opts["connect_timeout"],
            lock_wait_timeout=opts["lock_wait_timeout"],
            server_settings=opts["server_settings"],
            max_waiting=opts["max_waiting"],
            unix_socket=opts["unix_socket"],
        )
        return backend, opts
    raise AssertionError(f"no backend for dialect {dialect!r}")


def _replica_dsn(primary: SplitResult, replica: str) -> str:
    """``?replica=host:port`` shares the primary's user and database; a full URL stands alone."""
    if "://" in replica:
        url_dialect(replica)  # a +driver suffix is dropped there too
        return str(urlunsplit(urlsplit(replica)._replace(scheme="postgresql")))
    userinfo = primary.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{replica}" if userinfo else replica
    return str(urlunsplit(("postgresql", netloc, primary.path, "", "")))


class Database:
    """A connected database: open scopes on a Context, or on the Database as an admin.

    Use ``rawdb.connect(url)`` to make one, and close it (``await db.close()`` or
    ``async with``); an unclosed Database warns with a ResourceWarning.
    """

    def __init__(self, url: str, backend: Backend, options: dict[str, Any], tracing: Tracing | None = None) -> None:
        self.url = url
        self.backend = backend
        self.dialect = backend.dialect
        self.options = options
        self.observer = Observer(backend.dialect, options["slow_statement_ms"], options["log_parameters"])
        self.tracing = tracing  # spans for scopes and statements (connect(tracing=True)), or None
        self.single_writer = self.dialect == "sqlite"
        self._statements = registry()
        self._closed = False

    def __repr__(self) -> str:
        return f"<Database {self.url_safe}{' closed' if self._closed else ''}>"

    @property
    def url_safe(self) -> str:
        """The URL without a password."""
        description: str = self.backend.describe()
        return description

    @property
    def closed(self) -> bool:
        return self._closed

    # --- statements ---------------------------------------------------------------

    def statement(self, name: str) -> Statement:
        """The named statement from ``sql/``.

        :raises StatementError: if there is none by that name
        """
        try:
            return self._statements[name]
        except KeyError:
            raise errors.StatementError(f"no SQL statement named {name!r} in sql/") from None

    def statement_source(self, name: str) -> str:
        """Where the statement's text for this database's dialect was defined (``file:line``:
        the dialect's own file when it has one), for messages."""
        stmt = self._statements.get(name)
        if stmt is not None:
            return stmt.source_for(self.dialect)
        return "dynamic SQL" if "." in name else "control statement"

    @property
    def statements(self) -> dict[str, Statement]:
        """Every named statement, by name."""
        return dict(self._statements)

    # --- scopes -------------------------------------------------------------------

    def context(self, **identity: Any) -> Context:
        """A Context for this database (``project_id=``, ``user_id=``, ``is_admin=``, ...)."""
        return Context(self, **identity)

    def reader(self, replica: bool = False, settings: Mapping[str, str] | None = None) -> Scope:
        """A reader scope with an admin context (maintenance work)."""
        return Context(self, is_admin=True).reader(replica=replica, settings=settings)

    def writer(self, independent: bool = False) -> Scope:
        """A writer scope with an admin context (maintenance work)."""
        return Context(self, is_admin=True).writer(independent=independent)

    # --- health and observability ---------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Pool figures now, and counters since the Database was opened (always kept).

        :returns: ``backend``, ``size``, ``max_size``, ``in_use``, ``idle``, ``waiting`` (and
            the backend's own: ``writers_waiting``, PostgreSQL's ``replicas`` (reachable ones)
            and ``replica_lag_seconds`` (the largest replay lag last measured, None unless
            ``max_replica_lag`` is set)), plus the
            counters ``statements`` (round trips, as hooks see them: BEGIN and COMMIT included,
            failed ones too), ``errors`` (failed round trips by rawdb error class name, a new
            dict), ``retries`` (whole scopes run again by ``retry_on_deadlock``),
            ``pool_waits`` (acquires that found no free connection and queued, timed out ones
            included) and ``pool_wait_seconds`` (their total time in the queue)
        """
        return {**self.backend.stats(), **self.observer.counters()}

    async def ping(self) -> float:
        """Run ``SELECT 1`` in a reader scope; return the round trip in milliseconds.

        :raises DBConnectionError: when the database cannot be reached
        """
        started = time.perf_counter()
        async with self.reader() as tx:
            await tx.fetch(_PING)
        return (time.perf_counter() - started) * 1000

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(event)`` after every round trip (see StatementEvent)."""
        self.observer.hooks.append(hook)

    def remove_hook(self, hook: Hook) -> None:
        """Stop calling ``hook``."""
        self.observer.hooks.remove(hook)

    def hooked(self, hook: Hook) -> Any:
        """``with db.hooked(counter):`` registers a hook for the block."""
        return self.observer.hooked(hook)

    # --- lifecycle ----------------------------------------------------------------

    async def close(self) -> None:
        """Close every pooled connection; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        await self.backend.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        self._closed = True
        try:
            warnings.warn(
                f"{self!r} was garbage-collected without being closed; use `async with "
                "rawdb.connect(...)` or `await db.close()`",
                ResourceWarning,
                stacklevel=1,
            )
        except Exception:  # the interpreter may be shutting down: nothing left to warn through
            pass
        # Its connections (and SQLite's worker threads, which would keep the process
        # from exiting) are closed without the event loop, which may be gone.
        self.backend.abandon()


_PING = Statement.portable("rawdb.ping", "SELECT 1 AS ok", "Is the database there?")


class _Connecting:
    """``await rawdb.connect(...)`` or ``async with rawdb.connect(...) as db``."""

    __slots__ = ("_db", "_options", "_url")

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self._url = url
        self._options = options
        self._db: Database | None = None

    async def _open(self) -> Database:
        query = dict(parse_qsl(urlsplit(self._url).query, keep_blank_values=True))
        given = {**query, **self._options}
        retries = _options({}, {k: v for k, v in given.items() if k in _RETRY}, _RETRY)
        if retries["connect_retries"] < 0 or retries["connect_retry_interval"] < 0:
            raise errors.Invalid(f"connect_retries and connect_retry_interval must not be negative: {retries}")
        traced = _options({}, {k: v for k, v in given.items() if k in _TRACING}, _TRACING)
        # checked before anything connects
        tracing = open_tracing(url_dialect(self._url), self._url, traced["tracing"], traced["tracer_provider"], given)
        attempt = 0
        while True:
            try:
                backend, opts = await _open_backend(self._url, self._options)
            except errors.DBConnectionError as exc:
                if attempt >= retries["connect_retries"]:
                    raise
                attempt += 1
                log.warning(
                    "cannot connect to the database (attempt %d of %d), retrying in %.1f s: %s",
                    attempt,
                    retries["connect_retries"] + 1,
                    retries["connect_retry_interval"],
                    exc,
                )
                await asyncio.sleep(retries["connect_retry_interval"])
                continue
            return Database(self._url, backend, opts, tracing)

    def __await__(self) -> Generator[Any, None, Database]:
        return self._open().__await__()

    async def __aenter__(self) -> Database:
        self._db = await self._open()
        return self._db

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            await self._db.close()


def connect(url: str | None = None, **options: Any) -> _Connecting:
    """Connect to a database; await the result, or use it with ``async with``.

    :param url: ``postgresql://user@host:port/db`` or ``sqlite:///path``; defaults to
        ``RAWDB_URL``, then ``sqlite:///rawdb.sqlite``.  ``sqlite:///:memory:`` is a
        temporary file removed on close.  Options may also come as URL query parameters.
    :param options: ``acquire_timeout`` (s, 30), ``max_waiting`` (callers that may queue
        for a connection; None), ``connect_retries`` (0) and ``connect_retry_interval`` (s, 1)
        while the database cannot be reached, ``slow_statement_ms`` (500),
        ``log_parameters`` (False), ``tracing`` (False: OpenTelemetry spans for scopes and
        statements, needs ``rawdb[otel]``) and ``tracer_provider`` (keyword only; the global
        provider when not given; giving one turns tracing on); PostgreSQL: ``pool_size`` (5), ``min_size`` (1),
        ``pgbouncer`` (False: statement cache off), ``replicas`` (URLs, or ``?replica=host:port``),
        ``max_replica_lag`` (s, None: replicas whose replay lags further behind are skipped),
        ``connect_timeout`` (10), ``statement_cache_size``, ``command_timeout``,
        ``server_settings``, ``writer_plan_cache_mode`` (force_generic_plan); SQLite:
        ``readers`` (4), ``busy_timeout`` (s, 30), ``synchronous`` (FULL).
    :raises Invalid: on an unknown scheme or option
    :raises DBConnectionError: when the database cannot be reached (after the retries);
        whatever failed, every connection opened meanwhile is closed
    """
    return _Connecting(resolve_url(url), options)
