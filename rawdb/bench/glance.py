"""The glance scenarios: cases a to i on rawdb, on the driver replay, and on glance itself."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import rawdb
from rawdb.bench.cases import GlanceCase, shape
from rawdb.bench.driver import Driver, steps
from rawdb.bench.measure import Figure, time_async, time_sync
from rawdb.bench.seed import GlanceDataset
from rawdb.glance import images


def rawdb_call(db: rawdb.Database, case: GlanceCase, dataset: GlanceDataset) -> Callable[[], Awaitable[Any]]:
    """The case as rawdb's public API runs it, with a context of the case's caller."""
    ctx = rawdb.Context(db, project_id=case.project(dataset), is_admin=case.admin)
    if case.kind == "get":
        image_id = case.image_id(dataset)
        return lambda: images.image_get(ctx, image_id)
    marker = case.marker(dataset)

    def listing() -> Awaitable[Any]:
        return images.image_get_all(
            ctx, case.listing_filters(), marker=marker, limit=case.limit, return_tag=case.return_tag
        )

    return listing


async def run_glance(
    db: rawdb.Database,
    dataset: GlanceDataset,
    cases: Sequence[GlanceCase],
    *,
    targets: Sequence[str],
    rounds: int,
    calls: int,
    peer: Any = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Figure], dict[str, Any]]:
    """Time every case on every target, interleaved round by round.

    Returns the figures and, per case, the shaped rawdb result (the runner checks it against
    its reference) with any disagreement between rawdb and glance under ``"mismatches"``.
    """
    figures: dict[tuple[str, str], Figure] = {}
    results: dict[str, Any] = {}
    mismatches: dict[str, str] = {}
    driver = await Driver.open(db, read_only=True) if "driver" in targets else None
    try:
        plans = {}
        for case in cases:
            call = rawdb_call(db, case, dataset)
            counter = rawdb.StatementCounter(keep=True)
            with db.hooked(counter):
                result = await call()
            results[case.name] = shape(case, result)
            figures[case.name, "rawdb"] = Figure(case.name, "rawdb", "ms", statements=float(counter.total))
            if driver is not None:
                plans[case.name] = steps(counter.events)
                figures[case.name, "driver"] = Figure(case.name, "driver", "ms", statements=float(counter.total))
            if peer is not None:
                peer.statements = 0
                theirs = shape(case, await asyncio.to_thread(peer.call, case, dataset))
                figures[case.name, "openstack"] = Figure(
                    case.name, "openstack", "ms", statements=float(peer.statements)
                )
                if theirs != results[case.name]:
                    mismatches[case.name] = _difference(results[case.name], theirs)
        for round_ in range(rounds):
            for case in cases:
                if progress is not None:
                    progress(f"glance round {round_ + 1}/{rounds}: {case.name}")
                call = rawdb_call(db, case, dataset)
                n = max(3, calls // 10) if case.limit and case.limit >= 1000 else calls
                figures[case.name, "rawdb"].samples += await time_async(call, n)
                if driver is not None:
                    replay = functools.partial(driver.replay, plans[case.name])
                    figures[case.name, "driver"].samples += await time_async(replay, n)
                if peer is not None:
                    theirs_call = functools.partial(peer.call, case, dataset)
                    figures[case.name, "openstack"].samples += time_sync(theirs_call, n)
    finally:
        if driver is not None:
            await driver.close()
    for case in cases:
        figures[case.name, "rawdb"].info["rows"] = len(results[case.name]) if case.kind == "list" else 1
    return list(figures.values()), {"results": results, "mismatches": mismatches}


def _difference(ours: Any, theirs: Any) -> str:
    """A short description of the first difference between two shaped results."""
    if isinstance(ours, list) and isinstance(theirs, list):
        if [i["id"] for i in ours] != [i["id"] for i in theirs]:
            return f"ids differ: rawdb {len(ours)} images, glance {len(theirs)} images"
        for mine, other in zip(ours, theirs, strict=True):
            if mine != other:
                keys = sorted(k for k in mine if mine[k] != other.get(k))
                return f"image {mine['id']}: {', '.join(keys)} differ"
    return "results differ"
