"""Statement logging, slow-statement warnings and caller hooks.

Every round trip a scope makes (BEGIN, each statement, SAVEPOINT, COMMIT/ROLLBACK)
passes through ``Observer.record``.  The logger ``rawdb.sql`` gets one DEBUG line per
statement: its name, backend, milliseconds and rows.  Parameter values are logged only
when the Database was opened with ``log_parameters=True`` (they may hold personal data).
A statement slower than ``slow_statement_ms`` is logged as a WARNING.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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

    __slots__ = ("backend", "hooks", "log_parameters", "slow_ms")

    def __init__(self, backend: str, slow_ms: float, log_parameters: bool) -> None:
        self.backend = backend
        self.slow_ms = slow_ms
        self.log_parameters = log_parameters
        self.hooks: list[Hook] = []

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
        """Log one round trip and pass it to every hook."""
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
