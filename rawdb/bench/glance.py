"""The glance scenarios: cases a to i on rawdb, on the driver replay, and on glance itself.

Two replays of rawdb's own statements on the bare driver (``rawdb.bench.driver``):

* ``driver``: the rows as the driver returns them, turned into dicts; nothing decoded;
* ``limit``: the same, plus the least decoding that gives a caller the result: children
  aggregated as JSON text parsed (a location's metadata too), soft-deleted properties left
  out, a deactivated image's locations hidden from non-admins, and each image reduced to
  ``{id, properties: {name: value}, locations: [(url, metadata, status)], tags}`` (``lean``).
  No timestamps parsed, no glance dicts built.  Its result is checked against rawdb's
  before timing (``lean_shape``).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import rawdb
from rawdb.bench.cases import GlanceCase, shape
from rawdb.bench.driver import Driver, steps
from rawdb.bench.measure import Figure, time_async, time_sync
from rawdb.bench.seed import GlanceDataset
from rawdb.glance import images

_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _array(value: Any) -> Any:
    """Children as the driver returned them: records (PostgreSQL) or JSON array text."""
    if value is None:
        return ()
    return _scan_json(value, 0)[0] if isinstance(value, str) else value


def _lean_image(row: dict[str, Any], tags: bool, admin: bool) -> dict[str, Any]:
    hidden = row["status"] == "deactivated" and not admin  # glance hides them from non-admins
    image: dict[str, Any] = {
        "id": row["id"],
        "properties": {p[1]: p[2] for p in _array(row["properties"]) if not p[6]},
        "locations": []
        if hidden
        else [(loc[1], json.loads(loc[2]) if loc[2] else {}, loc[3]) for loc in _array(row["locations"])],
    }
    if tags:
        image["tags"] = [tag[1] for tag in _array(row["tags"])]
    return image


def _lean_parts(rows: list[dict[str, Any]], admin: bool) -> dict[str, Any]:
    """An image sent as rows of parts (MySQL's image_get: the image, then its children)."""
    image = next(row for row in rows if row["part"] == 0)
    hidden = image["status"] == "deactivated" and not admin
    return {
        "id": image["id"],
        "properties": {r["child_a"]: r["child_b"] for r in rows if r["part"] == 1 and not r["child_del"]},
        "locations": []
        if hidden
        else [
            (r["child_a"], json.loads(r["child_b"]) if r["child_b"] else {}, r["child_status"])
            for r in rows
            if r["part"] == 2
        ],
    }


def lean(case: GlanceCase, rows: list[dict[str, Any]]) -> Any:
    """A replayed page (or image) decoded as little as a caller can use it."""
    if case.kind == "get":
        return _lean_parts(rows, case.admin) if "part" in rows[0] else _lean_image(rows[0], False, case.admin)
    return [_lean_image(row, case.return_tag, case.admin) for row in rows]


def lean_shape(case: GlanceCase, result: Any) -> Any:
    """``lean``'s result in the comparable form of ``cases.shape``."""

    def one(image: dict[str, Any]) -> dict[str, Any]:
        shaped: dict[str, Any] = {
            "id": image["id"],
            "properties": sorted(image["properties"].items()),
            "locations": sorted(
                (url, json.dumps(meta, sort_keys=True), status) for url, meta, status in image["locations"]
            ),
        }
        if "tags" in image:
            shaped["tags"] = sorted(image["tags"])
        return shaped

    return one(result) if case.kind == "get" else [one(image) for image in result]


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
    its reference) with any disagreement between rawdb and glance under ``"mismatches"``
    and between rawdb and the limit's decode under ``"replay"``.
    """
    figures: dict[tuple[str, str], Figure] = {}
    results: dict[str, Any] = {}
    mismatches: dict[str, str] = {}
    replay_mismatches: dict[str, str] = {}
    replays = "driver" in targets or "limit" in targets
    driver = await Driver.open(db, read_only=True) if replays else None
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
                for target in ("driver", "limit"):
                    if target in targets:
                        figures[case.name, target] = Figure(case.name, target, "ms", statements=float(counter.total))
                if "limit" in targets:
                    replayed = await driver.replay(plans[case.name])
                    if lean_shape(case, lean(case, replayed[-1])) != results[case.name]:
                        replay_mismatches[case.name] = "the limit's decode of rawdb's replayed statements differs"
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
                if "driver" in targets:
                    assert driver is not None
                    replay = functools.partial(driver.replay, plans[case.name])
                    figures[case.name, "driver"].samples += await time_async(replay, n)
                if "limit" in targets:
                    assert driver is not None
                    figures[case.name, "limit"].samples += await time_async(
                        functools.partial(_limit, driver, plans[case.name], case), n
                    )
                if peer is not None:
                    theirs_call = functools.partial(peer.call, case, dataset)
                    figures[case.name, "openstack"].samples += time_sync(theirs_call, n)
    finally:
        if driver is not None:
            await driver.close()
    for case in cases:
        figures[case.name, "rawdb"].info["rows"] = len(results[case.name]) if case.kind == "list" else 1
    return list(figures.values()), {"results": results, "mismatches": mismatches, "replay": replay_mismatches}


async def _limit(driver: Driver, plan: Sequence[Any], case: GlanceCase) -> Any:
    rows = await driver.replay(plan)
    return lean(case, rows[-1])


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
