"""OpenTelemetry spans for scopes and statements: ``rawdb.connect(url, tracing=True)``.

Imported only by a Database opened with tracing on, so nothing imports ``opentelemetry``
otherwise.  It needs the ``opentelemetry-api`` package (``pip install 'rawdb[otel]'``); the
application sets up the SDK, its exporters and sampling.  Spans are made through the
``tracer_provider`` given to ``connect()``, else the global one: with none set up they are
OpenTelemetry's no-op spans, and a scope whose span is not recorded (no SDK, or the sampler
dropped it) makes no statement spans either.

- A scope (``reader()``, ``writer()``, or the one an ``@reader``/``@writer`` function opens)
  is one INTERNAL span, named ``rawdb.reader``/``rawdb.writer``/``rawdb.replica``, or after
  the ``@reader``/``@writer`` function that opened it (``glance.images.image_get``).  Its parent is the span
  current where the scope was opened (the caller's request span); the scope span itself is
  not made current, so work inside it nests only the statement spans below it.  It carries
  the connection attributes below, ``rawdb.scope_mode`` and ``rawdb.scope_outcome``
  (``committed``, ``rolledback``, ``failed``); on an error its status is ERROR and
  ``error.type`` names the error class.
- Every round trip in it (BEGIN, each statement, SAVEPOINT, COMMIT/ROLLBACK) is a CLIENT
  child span named as rawdb names the statement (``glance.images.image_get``, ``COMMIT``),
  with OpenTelemetry's database conventions: ``db.system.name``, ``db.namespace``,
  ``server.address``/``server.port``, ``db.operation.name`` (the SQL's verb),
  ``db.query.text`` (the SQL with its placeholders), ``db.response.returned_rows`` (rows a
  query returned), ``rawdb.rows_affected`` (rows a statement changed) and, on a failure,
  ``error.type`` and ``db.response.status_code`` (SQLSTATE, SQLite's error name or
  MySQL's error number).  SQLite's BEGIN travels with the first statement, in its span.
- A whole-scope retry (``retry_on_deadlock``, ``@writer(retry=True)``) is a span
  ``rawdb.retry`` over the backoff wait, a sibling of the failed scope's span, with
  ``rawdb.retry_attempt``, ``code.function.name`` and ``error.type``.

Parameter values never reach a span, and neither do error messages (a duplicate-key
message quotes the value): only class names, codes and the SQL text.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from rawdb import errors

# OpenTelemetry's database semantic conventions (stable since semconv 1.33) as literal names, so
# the API package alone is enough; tests/test_tracing.py checks them against the
# opentelemetry-semantic-conventions package.
DB_SYSTEM_NAME = "db.system.name"
DB_NAMESPACE = "db.namespace"
DB_OPERATION_NAME = "db.operation.name"
DB_QUERY_TEXT = "db.query.text"
DB_RESPONSE_RETURNED_ROWS = "db.response.returned_rows"
DB_RESPONSE_STATUS_CODE = "db.response.status_code"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
CODE_FUNCTION_NAME = "code.function.name"
# rawdb's own
SCOPE_MODE = "rawdb.scope_mode"
SCOPE_OUTCOME = "rawdb.scope_outcome"
ROWS_AFFECTED = "rawdb.rows_affected"
RETRY_ATTEMPT = "rawdb.retry_attempt"

_SYSTEMS = {"postgresql": "postgresql", "sqlite": "sqlite", "mysql": "mysql"}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|/\*.*?\*/|[()]|[A-Za-z_]+", re.S)
_DML = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "VALUES"})
_OPERATION_CACHE_SIZE = 4096


def operation_name(sql: str) -> str:
    """The SQL's verb: its first keyword, upper case (``WITH …`` gives the statement's own verb)."""
    depth = 0
    first: str | None = None
    for match in _TOKEN.finditer(sql):
        token = match.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token[0] in "'\"-/":
            continue
        elif first is None:
            first = token.upper()
            if first != "WITH":
                return first
        elif depth == 0 and token.upper() in _DML:
            return token.upper()
    return first or ""


def error_type(error: BaseException) -> str:
    """What ``error.type`` says: a rawdb error's class name, another exception's qualified name."""
    cls = type(error)
    if isinstance(error, errors.RawdbError):
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def _status_code(error: BaseException) -> str | None:
    code = getattr(error, "sqlstate", None) or getattr(error, "errorname", None)
    if code is None and isinstance(error.__cause__, Exception):
        args = error.__cause__.args  # asyncmy: (errno, message)
        if args and isinstance(args[0], int):
            code = str(args[0])
    return str(code) if code is not None else None


class ScopeSpan:
    """A scope's span and the OpenTelemetry context its statement spans are children in."""

    __slots__ = ("attributes", "context", "errored", "span", "tracing")

    def __init__(self, tracing: Tracing, span: Span, attributes: dict[str, Any]) -> None:
        self.tracing = tracing
        self.span = span
        self.attributes = attributes  # what its statement spans carry besides their own
        self.errored = False
        self.context = trace.set_span_in_context(span)

    def statement(
        self,
        name: str,
        sql: str,
        elapsed_ms: float,
        rows: int | None,
        affected: int | None,
        error: BaseException | None = None,
    ) -> None:
        """Record a round trip of this scope that just ended (see ``Tracing.statement``)."""
        self.tracing.statement(self, name, sql, elapsed_ms, rows, affected, error)

    def rename(self, name: str, function: str) -> None:
        """Name the span after the API function that opened the scope."""
        self.span.update_name(name)
        self.span.set_attribute(CODE_FUNCTION_NAME, function)

    def failed(self, error: BaseException | None) -> None:
        """Mark the scope as ended by ``error`` (an exception leaving it, or a failed statement)."""
        if error is not None and not self.errored and self.span.is_recording():
            self.errored = True  # the first error is the cause; the rest follow from it
            self.span.set_attribute(ERROR_TYPE, error_type(error))
            self.span.set_status(Status(StatusCode.ERROR, error_type(error)))

    def end(self, outcome: str, error: BaseException | None) -> None:
        """End the span with the transaction's outcome (``failed``: its connection was lost)."""
        span = self.span
        if span.is_recording():
            span.set_attribute(SCOPE_OUTCOME, outcome)
            if error is not None:
                self.failed(error)
            elif outcome == "failed" and not self.errored:
                span.set_status(Status(StatusCode.ERROR, "the transaction's connection was lost"))
        span.end()


class Tracing:
    """Makes a Database's spans; one per Database, built by ``connect(tracing=True)``."""

    __slots__ = ("_attributes", "_operations", "_scope_attributes", "_statement_attributes", "tracer")

    def __init__(self, dialect: str, url: str, tracer_provider: Any = None) -> None:
        from rawdb import __version__

        self.tracer = trace.get_tracer("rawdb", __version__, tracer_provider=tracer_provider)
        self._attributes = connection_attributes(dialect, url)
        # a replica's address is not the primary's: its spans name only the system and database
        without_server = {k: v for k, v in self._attributes.items() if not k.startswith("server.")}
        self._statement_attributes = {
            mode: without_server if mode == "replica" else self._attributes for mode in ("reader", "writer", "replica")
        }
        self._scope_attributes = {
            mode: {**attributes, SCOPE_MODE: mode} for mode, attributes in self._statement_attributes.items()
        }
        self._operations: dict[str, str] = {}

    def start_scope(self, mode: str) -> ScopeSpan | None:
        """Start a scope's span (child of the current span); ``end()`` it when the scope ends.

        :returns: None when the sampler dropped it (or the provider is a no-op): the scope
            and its statements then cost nothing more
        """
        attributes = self._scope_attributes[mode]
        span = self.tracer.start_span(f"rawdb.{mode}", kind=SpanKind.INTERNAL, attributes=attributes)
        if not span.is_recording():
            return None
        return ScopeSpan(self, span, self._statement_attributes[mode])

    def statement(
        self,
        scope: ScopeSpan,
        name: str,
        sql: str,
        elapsed_ms: float,
        rows: int | None,
        affected: int | None,
        error: BaseException | None = None,
    ) -> None:
        """Record one round trip that just ended (it took ``elapsed_ms``) as a child of ``scope``."""
        end = time.time_ns()
        operation = self._operations.get(sql)
        if operation is None:
            if len(self._operations) >= _OPERATION_CACHE_SIZE:
                self._operations.clear()
            operation = self._operations[sql] = operation_name(sql)
        attributes = {**scope.attributes, DB_OPERATION_NAME: operation, DB_QUERY_TEXT: sql}
        if rows is not None:
            attributes[DB_RESPONSE_RETURNED_ROWS] = rows
        if affected is not None:
            attributes[ROWS_AFFECTED] = affected
        if error is not None:
            attributes[ERROR_TYPE] = error_type(error)
            code = _status_code(error)
            if code is not None:
                attributes[DB_RESPONSE_STATUS_CODE] = code
        span = self.tracer.start_span(
            name,
            context=scope.context,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(elapsed_ms * 1_000_000),
        )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error_type(error)))
        span.end(end_time=end)

    def start_retry(self, function: str, attempt: int, error: BaseException) -> Span:
        """Start the span of a retry's backoff wait (``end()`` it once the wait is over)."""
        return self.tracer.start_span(
            "rawdb.retry",
            kind=SpanKind.INTERNAL,
            attributes={
                **self._attributes,
                RETRY_ATTEMPT: attempt,
                CODE_FUNCTION_NAME: function,
                ERROR_TYPE: error_type(error),
            },
        )


def connection_attributes(dialect: str, url: str) -> dict[str, Any]:
    """``db.system.name``, ``db.namespace`` and ``server.address``/``server.port`` of a URL.

    The namespace is the database name (SQLite: the file's path).  ``mariadb://`` URLs say
    ``mariadb``, ``mysql://`` ones ``mysql`` (rawdb does not ask the server which it is).
    """
    parts = urlsplit(url)
    system = _SYSTEMS[dialect]
    if dialect == "mysql" and parts.scheme.lower().startswith("mariadb"):
        system = "mariadb"
    attributes: dict[str, Any] = {DB_SYSTEM_NAME: system}
    if dialect == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if path:
            attributes[DB_NAMESPACE] = path
        return attributes
    namespace = parts.path.lstrip("/")
    if namespace:
        attributes[DB_NAMESPACE] = namespace
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number: the driver already refused it
        host, port = parts.hostname, None
    if host:
        attributes[SERVER_ADDRESS] = host
        attributes[SERVER_PORT] = port or _DEFAULT_PORTS[dialect]
    return attributes
