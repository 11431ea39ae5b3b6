"""The benchmark dataset seeder: exact, deterministic rows on both backends, reused when present."""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import rawdb
from rawdb import errors, schema
from rawdb.bench import seed as seeding
from rawdb.bench.seed import COLUMNS, TABLES, GlanceDataset, seed_glance
from rawdb.timeutils import utcnow

OpenDb = Callable[..., Awaitable[rawdb.Database]]
SMALL = 300


def stmt(name: str, sql: str) -> rawdb.Statement:
    return rawdb.Statement.portable(f"test.seed.{name}", sql)


async def fetch(db: rawdb.Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with db.writer() as tx:  # a writer: nextval() writes
        return await tx.fetch(stmt("query", sql), **params)


async def value(db: rawdb.Database, sql: str, **params: Any) -> Any:
    rows = await fetch(db, sql, **params)
    return next(iter(rows[0].values()))


async def stored_rows(db: rawdb.Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the dataset's tables as tuples in COLUMNS order, sorted by id."""
    found = {}
    for table in TABLES:
        rows = await fetch(db, f"SELECT {', '.join(COLUMNS[table])} FROM {table}")
        found[table] = sorted((tuple(r[c] for c in COLUMNS[table]) for r in rows), key=lambda r: r[0])
    return found


def generated_rows(images: int, seed: int = seeding.DEFAULT_SEED) -> dict[str, list[tuple[Any, ...]]]:
    plan = seeding._plan(images, seed)
    return {table: sorted(rows, key=lambda r: r[0]) for table, _, rows in seeding._rows(plan, None)}


def digest(rows: dict[str, list[tuple[Any, ...]]]) -> str:
    return hashlib.sha256(repr(sorted(rows.items())).encode()).hexdigest()


async def counts(db: rawdb.Database) -> dict[str, int]:
    return {t: int(await value(db, f"SELECT COUNT(*) AS n FROM {t}")) for t in TABLES}


@pytest.mark.parametrize("rebuild", [False, True], ids=["indexes-kept", "indexes-rebuilt"])
async def test_stored_rows_are_exactly_the_generated_ones(
    db: rawdb.Database, rebuild: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if rebuild:  # the path large loads take: drop indexes and constraints, load, rebuild
        monkeypatch.setattr(seeding, "REBUILD_INDEXES_FROM", 0)
    dataset = await seed_glance(db, SMALL)
    assert not dataset.reused
    expected = generated_rows(SMALL)
    assert await stored_rows(db) == expected
    assert dataset.counts == {t: len(rows) for t, rows in expected.items()} == await counts(db)
    if rebuild:  # every index and constraint is back, exactly as bootstrap made it
        report = await schema.check(db, "glance")
        assert report.ok and not report.problems, [str(p) for p in report.problems]
    if db.dialect == "postgresql":  # COPY wrote explicit ids: the sequences must continue after them
        for table in TABLES[1:]:
            nextval = await value(db, f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS n")
            assert nextval == dataset.counts[table] + 1
    else:  # stored as rawdb stores DATETIME: always six fractional digits
        texts = await fetch(
            db, "SELECT created_at || '' AS t FROM images UNION SELECT deleted_at || '' FROM image_tags"
        )
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", r["t"]) for r in texts if r["t"])


async def test_same_dataset_on_both_backends_and_on_every_run(
    sqlite_db: rawdb.Database, pg_db: rawdb.Database, open_db: OpenDb, tmp_path: Path
) -> None:
    on_sqlite = await seed_glance(sqlite_db, SMALL)
    on_pg = await seed_glance(pg_db, SMALL)
    again = await seed_glance(await open_db(f"sqlite:///{tmp_path / 'again.sqlite'}"), SMALL)
    assert on_sqlite == on_pg == again
    assert on_sqlite.fingerprint == seeding.fingerprint(SMALL, seeding.DEFAULT_SEED)
    assert digest(await stored_rows(sqlite_db)) == digest(await stored_rows(pg_db)) == digest(generated_rows(SMALL))
    assert digest(generated_rows(SMALL, 7)) != digest(generated_rows(SMALL))  # the seed matters


# sha256 of generated_rows(300) per generator version: the data must not change silently.
GOLDEN = {1: "99572e787c0fa83480122608d9214b408aa2c55904ed9ae0da9c4b7429f489e3"}


def test_the_generator_output_is_pinned_to_its_version() -> None:
    assert digest(generated_rows(SMALL)) == GOLDEN[seeding.GENERATOR_VERSION], (
        "the generated glance data changed: bump rawdb.bench.seed.GENERATOR_VERSION (so databases "
        "seeded before are reloaded) and record the new digest here"
    )


async def test_seeding_twice_reuses_the_dataset(db: rawdb.Database) -> None:
    first = await seed_glance(db, SMALL)
    before = await counts(db)
    calls: list[tuple[str, int, int]] = []
    started = time.perf_counter()
    second = await seed_glance(db, SMALL, progress=lambda *call: calls.append(call))
    elapsed = time.perf_counter() - started
    assert second.reused and not first.reused
    assert second == first
    assert calls == []  # nothing loaded, nothing analyzed
    assert await counts(db) == before == first.counts
    assert elapsed < 2.0
    recorded = await fetch(db, "SELECT name, fingerprint FROM rawdb_bench_datasets")
    assert recorded == [{"name": "glance", "fingerprint": first.fingerprint}]


async def test_another_dataset_replaces_the_recorded_one(db: rawdb.Database) -> None:
    await seed_glance(db, SMALL)
    calls: list[tuple[str, int, int]] = []
    replaced = await seed_glance(db, 250, seed=7, progress=lambda *call: calls.append(call))
    assert not replaced.reused
    assert await stored_rows(db) == generated_rows(250, 7)
    stages = [stage for stage, _, _ in calls]
    assert list(dict.fromkeys(stages)) == [*TABLES, "analyze"]
    assert all(done <= total for _, done, total in calls)
    assert {(stage, total) for stage, done, total in calls if done == total} >= {
        (t, n) for t, n in replaced.counts.items()
    }
    assert await fetch(db, "SELECT fingerprint FROM rawdb_bench_datasets") == [{"fingerprint": replaced.fingerprint}]
    async with db.writer() as tx:  # a benchmark wrote to the dataset: it is loaded afresh
        await tx.execute(stmt("drop_tag", "DELETE FROM image_tags WHERE id = 1"))
    reloaded = await seed_glance(db, 250, seed=7)
    assert not reloaded.reused and reloaded == replaced
    assert await counts(db) == replaced.counts
    assert (await seed_glance(db, 250, seed=7)).reused


async def test_glance_rows_nobody_seeded_are_left_alone(db: rawdb.Database) -> None:
    await schema.bootstrap(db, "glance")
    async with db.writer() as tx:
        await tx.execute(
            stmt(
                "insert_image",
                "INSERT INTO images (id, status, visibility, min_disk, min_ram, protected, os_hidden,"
                " created_at, deleted) VALUES ('real-image', 'active', 'public', 0, 0, false, false,"
                " :now, false)",
            ),
            now=utcnow(),
        )
    with pytest.raises(errors.Invalid, match="refusing"):
        await seed_glance(db, SMALL)
    assert await value(db, "SELECT COUNT(*) AS n FROM images") == 1


async def test_too_few_images_are_refused(sqlite_db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid, match="at least 200"):
        await seed_glance(sqlite_db, 199)


async def test_a_2000_image_dataset_is_shaped_as_the_baseline_says(db: rawdb.Database) -> None:
    n = 2000
    dataset = await seed_glance(db, n)

    def share(count: int, total: int = n) -> float:
        return count / total

    visibility = {
        r["visibility"]: r["n"]
        for r in await fetch(db, "SELECT visibility, COUNT(*) AS n FROM images GROUP BY visibility")
    }
    assert abs(share(visibility["public"]) - 0.10) < 0.03
    assert abs(share(visibility["community"]) - 0.05) < 0.02
    assert abs(share(visibility["shared"]) - 0.15) < 0.03
    assert abs(share(visibility["private"]) - 0.70) < 0.04

    images = await fetch(db, f"SELECT {', '.join(COLUMNS['images'])} FROM images")
    deleted = [r for r in images if r["deleted"]]
    assert abs(share(len(deleted)) - 0.05) < 0.02
    assert {r["status"] for r in deleted} == {"deleted", "pending_delete"}
    assert all((r["deleted_at"] is not None) == r["deleted"] for r in images)
    live = Counter(r["status"] for r in images if not r["deleted"])
    assert share(live["active"], sum(live.values())) > 0.88
    assert len(set(live) - {"active"}) >= 4 and set(live) <= set(seeding._STATUSES)
    assert 0.01 < share(sum(r["os_hidden"] for r in images)) < 0.05
    assert 0.01 < share(sum(r["protected"] for r in images)) < 0.05
    assert 0 < sum(r["name"] is None for r in images) < 0.05 * n
    assert 0 < sum(r["size"] is None for r in images) < 0.05 * n
    created = Counter(r["created_at"] for r in images)
    assert 0.07 * n < n - len(created) < 0.13 * n  # ties on created_at, for the id tie-break
    assert any(r["created_at"].microsecond for r in images)
    assert all(r["updated_at"] >= r["created_at"] for r in images)
    assert len({r["owner"] for r in images}) > 100

    for table in TABLES[1:]:
        bad = await value(
            db,
            f"SELECT COUNT(*) AS n FROM {table} WHERE created_at IS NULL OR updated_at < created_at"
            " OR (deleted AND deleted_at IS NULL) OR (NOT deleted AND deleted_at IS NOT NULL)",
        )
        assert bad == 0, table

    per_image = await fetch(db, "SELECT image_id, COUNT(*) AS n FROM image_properties GROUP BY image_id")
    assert len(per_image) == n and all(3 <= r["n"] <= 12 for r in per_image)
    distro = await value(db, "SELECT COUNT(*) AS n FROM image_properties WHERE name = 'os_distro'")
    ubuntu = await value(db, "SELECT COUNT(*) AS n FROM image_properties WHERE name = 'os_distro' AND value = 'ubuntu'")
    assert abs(share(distro) - 0.87) < 0.03 and abs(share(ubuntu) - 0.26) < 0.04
    gone = await value(db, "SELECT COUNT(*) AS n FROM image_properties WHERE deleted")
    assert abs(share(gone, dataset.counts["image_properties"]) - 0.03) < 0.01

    assert all(r["n"] <= 5 for r in await fetch(db, "SELECT COUNT(*) AS n FROM image_tags GROUP BY image_id"))
    a_tag = await value(db, "SELECT COUNT(DISTINCT image_id) AS n FROM image_tags WHERE value = 'a-tag'")
    assert abs(share(a_tag) - 0.05) < 0.02
    gone = await value(db, "SELECT COUNT(*) AS n FROM image_tags WHERE deleted")
    assert 0 < share(gone, dataset.counts["image_tags"]) < 0.04
    locations = await fetch(db, "SELECT image_id, COUNT(*) AS n FROM image_locations GROUP BY image_id")
    assert len(locations) == n and {r["n"] for r in locations} == {1, 2}
    urls = await fetch(db, "SELECT value, meta_data FROM image_locations")
    assert {u["value"].split("://")[0] for u in urls} == {"rbd", "file", "swift"}
    assert all(u["meta_data"].startswith("{") for u in urls)

    members = await fetch(
        db,
        "SELECT m.status, m.deleted, m.member, i.owner, i.visibility FROM image_members m"
        " JOIN images i ON i.id = m.image_id",
    )
    assert all(m["visibility"] == "shared" and m["member"] != m["owner"] for m in members)
    statuses = Counter(m["status"] for m in members)
    assert abs(share(statuses["accepted"], len(members)) - 0.60) < 0.06
    assert abs(share(statuses["pending"], len(members)) - 0.25) < 0.06
    assert abs(share(statuses["rejected"], len(members)) - 0.15) < 0.05
    assert 0 < sum(m["deleted"] for m in members) < 0.06 * len(members)

    for table, column in (("image_tags", "value"), ("image_members", "member")):
        duplicates = await fetch(
            db,
            f"SELECT image_id, {column} FROM {table} WHERE NOT deleted GROUP BY image_id, {column} HAVING COUNT(*) > 1",
        )
        assert duplicates == [], table

    await check_probe(db, dataset)


def test_small_datasets_still_give_the_probe_its_own_and_a_shared_image() -> None:
    # Few images leave the probe with no accepted share (or no usable image of its own)
    # by chance: the plan then grants one, and the description finds both.
    for seed in range(12):
        plan = seeding._plan(200, seed)
        dataset = seeding._describe(plan, 200, seed)
        images = {row[0]: dict(zip(COLUMNS["images"], row, strict=True)) for row in plan.images}
        own, shared = images[dataset.own_image_id], images[dataset.shared_image_id]
        assert own["owner"] == dataset.probe_owner and own["status"] == "active" and not own["deleted"]
        assert shared["owner"] != dataset.probe_owner and shared["visibility"] == "shared"
        assert shared["status"] == "active" and not shared["deleted"]
        assert (dataset.shared_image_id, dataset.probe_owner, "accepted", False) in {
            (m[1], m[2], m[4], m[8]) for m in plan.members
        }


async def check_probe(db: rawdb.Database, dataset: GlanceDataset) -> None:
    """The probe is the 21st-largest owner and sees its own image and the shared one."""
    probe = dataset.probe_owner
    ranked = await fetch(db, "SELECT owner, COUNT(*) AS n FROM images GROUP BY owner ORDER BY n DESC, owner")
    assert ranked[20] == {"owner": probe, "n": dataset.probe_owned}
    assert dataset.admin_project not in {r["owner"] for r in ranked}
    assert await value(db, "SELECT COUNT(*) AS n FROM image_members WHERE member = :p", p=dataset.admin_project) == 0

    own = await fetch(db, "SELECT * FROM images WHERE id = :id", id=dataset.own_image_id)
    assert own[0]["owner"] == probe and own[0]["status"] == "active"
    assert not own[0]["deleted"] and not own[0]["os_hidden"]
    shared = await fetch(db, "SELECT * FROM images WHERE id = :id", id=dataset.shared_image_id)
    assert shared[0]["owner"] != probe and shared[0]["visibility"] == "shared"
    assert shared[0]["status"] == "active" and not shared[0]["deleted"]
    membership = await fetch(
        db,
        "SELECT status, deleted FROM image_members WHERE image_id = :id AND member = :p",
        id=dataset.shared_image_id,
        p=probe,
    )
    assert membership == [{"status": "accepted", "deleted": False}]
    accepted = await value(
        db, "SELECT COUNT(*) AS n FROM image_members WHERE member = :p AND status = 'accepted' AND NOT deleted", p=probe
    )
    assert accepted == dataset.probe_memberships >= 1

    listing = await fetch(
        db,
        "SELECT i.id FROM images i WHERE NOT i.deleted AND NOT i.os_hidden AND (i.visibility = 'public'"
        " OR i.owner = :p OR (i.visibility = 'shared' AND EXISTS (SELECT 1 FROM image_members m"
        " WHERE m.image_id = i.id AND m.member = :p AND m.status = 'accepted' AND NOT m.deleted)))"
        " ORDER BY i.created_at DESC, i.id DESC",
        p=probe,
    )
    ids = [r["id"] for r in listing]
    assert len(ids) == dataset.probe_visible
    assert {dataset.own_image_id, dataset.shared_image_id} <= set(ids)
    assert ids.index(dataset.deep_marker_id) == len(ids) * 9 // 10
