"""Statement logging, slow-statement warnings and caller hooks.

Every round trip a scope makes (BEGIN, each statement, SAVEPOINT, COMMIT/ROLLBACK)
passes through ``Observer.record``.  The logger ``rawdb.sql`` gets one DEBUG line per
statement: its name, backend, milliseconds and rows.  Parameter values are logged only
when the Database was opened with ``log_parameters=True`` (they may hold personal data).
A statement slower than ``slow_statement_ms`` is logged as a WARNING.

The Observer also keeps the counters ``Database.stats()`` reports (always on: an addition
per round trip): round trips, failed ones by error class, and whole-scope retries.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rawdb import errors

if TYPE_CHECKING:
    from rawdb.tracing import Tracing

log = logging.getLogger("rawdb.sql")


@dataclass(frozen=True, slots=True)
class StatementEvent:
    """One round trip to the database, as hooks see it."""

    name: str
    sql: str
    args: Sequence[Any]
    backend: str
    elapsed_ms: float
    rows: int
    scope: int
    mode: str
    error: BaseException | None = None
    session: Mapping[str, str] | None = None  # settings of the reader session it ran on (PostgreSQL)


Hook = Callable[[StatementEvent], None]


class StatementCounter:
    """A hook that counts statements, in total and per transaction scope.

    ``keep=True`` also keeps every event (the benchmarks replay them through the driver).
    """

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.total = 0
        self.per_scope: Counter[int] = Counter()
        self.events: list[StatementEvent] = []

    def __call__(self, event: StatementEvent) -> None:
        self.total += 1
        self.per_scope[event.scope] += 1
        if self.keep:
            self.events.append(event)

    @property
    def scopes(self) -> int:
        """How many transaction scopes ran statements."""
        return len(self.per_scope)

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.total = 0
        self.per_scope.clear()
        self.events.clear()


class Observer:
    """Logs and hands statement events to the hooks registered on one Database."""

    __slots__ = ("backend", "errors", "hooks", "log_parameters", "retries", "slow_ms", "statements")

    def __init__(self, backend: str, slow_ms: float, log_parameters: bool) -> None:
        self.backend = backend
        self.slow_ms = slow_ms
        self.log_parameters = log_parameters
        self.hooks: list[Hook] = []
        self.statements = 0  # round trips recorded, failed ones included
        self.errors: dict[str, int] = {}  # failed round trips by rawdb error class name
        self.retries = 0  # whole scopes run again by retry_on_deadlock

    def counters(self) -> dict[str, Any]:
        """``statements``, ``errors`` (a new dict: class name -> count) and ``retries``, so far."""
        return {"statements": self.statements, "errors": dict(self.errors), "retries": self.retries}

    def record(
        self,
        name: str,
        sql: str,
        args: Sequence[Any],
        elapsed_ms: float,
        rows: int,
        scope: int,
        mode: str,
        error: BaseException | None = None,
        session: Mapping[str, str] | None = None,
    ) -> None:
        """Count and log one round trip and pass it to every hook."""
        self.statements += 1
        if error is not None:
            kind = type(error).__name__
            self.errors[kind] = self.errors.get(kind, 0) + 1
        if elapsed_ms >= self.slow_ms:
            log.warning(
                "slow statement %s on %s: %.1f ms (threshold %.0f ms): %s",
                name,
                self.backend,
                elapsed_ms,
                self.slow_ms,
                " ".join(sql.split())[:300],
            )
        if log.isEnabledFor(logging.DEBUG):
            outcome = f"error={type(error).__name__}" if error is not None else f"rows={rows}"
            if self.log_parameters:
                log.debug("%s %s %.3fms %s args=%r", name, self.backend, elapsed_ms, outcome, list(args))
            else:
                log.debug("%s %s %.3fms %s", name, self.backend, elapsed_ms, outcome)
        if self.hooks:
            event = StatementEvent(name, sql, args, self.backend, elapsed_ms, rows, scope, mode, error, session)
            for hook in list(self.hooks):
                hook(event)

    @contextlib.contextmanager
    def hooked(self, hook: Hook) -> Iterator[Hook]:
        """Register ``hook`` for the duration of a ``with`` block."""
        self.hooks.append(hook)
        try:
            yield hook
        finally:
            self.hooks.remove(hook)


def open_tracing(dialect: str, url: str, enabled: bool, provider: Any, given: Mapping[str, Any]) -> Tracing | None:
    """The Database's Tracing when ``enabled`` (or a ``provider`` is given), else None.

    ``rawdb.tracing`` (and with it ``opentelemetry``) is imported only here, only then.

    :param given: the options as the caller gave them (was ``tracing`` given at all?)
    :raises Invalid: ``tracing`` given as false with a provider, or tracing asked for without
        the OpenTelemetry API installed
    """
    if provider is not None and "tracing" in given and not enabled:
        raise errors.Invalid("tracer_provider was given but tracing is off: pass tracing=True, or no provider")
    if not enabled and provider is None:
        return None
    try:
        from rawdb.tracing import Tracing
    except ImportError as exc:
        raise errors.Invalid(f"tracing needs the OpenTelemetry API ({exc}): pip install 'rawdb[otel]'") from None
    return Tracing(dialect, url, provider)
