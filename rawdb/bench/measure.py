"""Figures and how they are taken: every scenario, every target, one ``Figure``."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

TARGETS = ("rawdb", "limit", "driver", "openstack")

Unit = Literal["ms", "pairs/s", "allocs/s", "rows/s", "calls/s"]


@dataclass(slots=True)
class Figure:
    """One target's figures for one scenario.

    ``samples`` are milliseconds per call for a latency (``unit='ms'``, lower is better) and
    pairs (allocations, rows, calls) per second per round for a throughput (``unit='pairs/s'``,
    ``'allocs/s'``, ``'rows/s'``, ``'calls/s'``, higher is better).
    """

    scenario: str
    target: str
    unit: Unit
    samples: list[float] = field(default_factory=list)
    statements: float | None = None  # per call (per pair for quota), as sent to the database
    info: dict[str, Any] = field(default_factory=dict)  # scenario-specific facts (violations, rows, …)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def p90(self) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["median"] = self.median
        data["p90"] = self.p90
        return data


def speedup(rawdb: Figure, other: Figure) -> float:
    """How many times better rawdb is than ``other`` (>1: rawdb faster)."""
    if rawdb.unit == "ms":
        return other.median / rawdb.median
    return rawdb.median / other.median


async def time_async(call: Callable[[], Awaitable[Any]], calls: int, warmup: int = 5) -> list[float]:
    """Milliseconds of each of ``calls`` awaited calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        await call()
    samples = []
    clock = time.perf_counter
    for _ in range(calls):
        started = clock()
        await call()
        samples.append((clock() - started) * 1000)
    return samples


def time_sync(call: Callable[[], Any], calls: int, warmup: int = 5) -> list[float]:
    """Milliseconds of each of ``calls`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    samples = []
    clock = time.perf_counter
    for _ in range(calls):
        started = clock()
        call()
        samples.append((clock() - started) * 1000)
    return samples
