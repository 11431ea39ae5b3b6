"""cinder-manage db purge (rawdb.cinder.maintenance) on every backend.

Rows are planted with raw SQL in one of five states: live, live with an old ``deleted_at``
(a revived row), deleted recently, deleted long ago, deleted without ``deleted_at``.  Only
rows deleted long ago may go, children before parents; a parent something still refers to
stays for a later run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from purgetools import STATES, state
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.cinder import maintenance
from rawdb.timeutils import utcnow

TABLES = maintenance.TABLES


async def put(db: rawdb.Database, table: str, in_state: str, /, **values: Any) -> None:
    """Insert one row in a state (race_preventer NULL on deleted usage rows, as cinder leaves them)."""
    values = {**values, **state(in_state)}
    if table == "quota_usages":
        values["race_preventer"] = None if values["deleted"] else True
    columns = ", ".join(f'"{c}"' for c in values)
    await execute(db, f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})", **values)


async def ids(db: rawdb.Database, table: str, column: str = "id") -> set[Any]:
    return {row["k"] for row in await select(db, f'SELECT "{column}" AS k FROM {table}')}


async def counts(db: rawdb.Database) -> dict[str, int]:
    return {table: await count_rows(db, table) for table in TABLES}


@pytest.fixture
def collected() -> list[tuple[str, int]]:
    return []


# --- what goes and what stays ----------------------------------------------------------------


async def test_purge_deletes_old_deleted_rows_children_first_and_keeps_referenced_parents(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    db = cinder_db
    await put(db, "volume_types", "old", name="gone")
    await put(db, "volume_types", "old", name="in_use")  # a live volume still has this type
    types = {r["name"]: r["id"] for r in await select(db, "SELECT id, name FROM volume_types")}
    await put(db, "volume_type_extra_specs", "old", key="k", value="v", volume_type_id=types["gone"])
    await put(db, "volume_type_extra_specs", "old", key="k", value="v", volume_type_id=types["in_use"])
    await put(db, "volumes", "old", id="v-gone", project_id="p1", size=1, volume_type_id=types["gone"])
    await put(db, "volume_metadata", "old", key="a", value="1", volume_id="v-gone")
    await put(db, "snapshots", "old", id="s-gone", volume_id="v-gone", project_id="p1")
    await put(db, "volumes", "old", id="v-meta", project_id="p1", size=1)
    await put(db, "volume_metadata", "live", key="keep", value="1", volume_id="v-meta")
    await put(db, "volumes", "old", id="v-snap", project_id="p1", size=1)
    await put(db, "snapshots", "live", id="s-live", volume_id="v-snap", project_id="p1")
    await put(db, "volumes", "young", id="v-young", project_id="p1", size=1)
    await put(db, "volumes", "revived", id="v-revived", project_id="p1", size=1, volume_type_id=types["in_use"])
    await put(db, "volumes", "no_time", id="v-no-time", project_id="p1", size=1)
    await put(db, "quota_usages", "old", project_id="p1", resource="volumes", in_use=0, reserved=0)
    await put(db, "quota_usages", "old", project_id="p1", resource="gigabytes", in_use=0, reserved=0)
    usages = {r["resource"]: r["id"] for r in await select(db, "SELECT id, resource FROM quota_usages")}
    await put(db, "reservations", "old", uuid="r-old", usage_id=usages["volumes"], project_id="p1", delta=1)
    await put(db, "reservations", "live", uuid="r-live", usage_id=usages["gigabytes"], project_id="p1", delta=1)
    await put(db, "services", "old", host="h-old", report_count=0)
    await put(db, "services", "live", host="h-live", report_count=0)
    await put(db, "migrations", "old", status="done")

    expected = {
        "volume_metadata": 1,
        "snapshots": 1,
        "volumes": 1,
        "volume_type_extra_specs": 2,
        "volume_types": 1,
        "reservations": 1,
        "quota_usages": 1,
        "services": 1,
        "migrations": 1,
    }
    before = await counts(db)
    assert await maintenance.purge_deleted_rows_count(admin, 1) == expected
    assert await counts(db) == before  # the dry run changed nothing

    purged = await maintenance.purge_deleted_rows(admin, 1)

    assert purged == expected
    assert list(purged) == [t for t in TABLES if t in expected]  # in the order purged
    assert await ids(db, "volumes") == {"v-meta", "v-snap", "v-young", "v-revived", "v-no-time"}
    assert await ids(db, "volume_metadata", "key") == {"keep"}
    assert await ids(db, "snapshots") == {"s-live"}
    assert await ids(db, "volume_types", "name") == {"in_use"}
    assert await ids(db, "volume_type_extra_specs") == set()
    assert await ids(db, "quota_usages", "resource") == {"gigabytes"}
    assert await ids(db, "reservations", "uuid") == {"r-live"}
    assert await ids(db, "services", "host") == {"h-live"}
    assert await maintenance.purge_deleted_rows(admin, 1) == {}
    assert await maintenance.purge_deleted_rows_count(admin, 1) == {}


async def test_a_parent_whose_children_are_purged_goes_in_the_same_run_and_the_count_says_so(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    db = cinder_db
    await put(db, "sm_flavors", "old", label="f")
    flavor = (await select(db, "SELECT id FROM sm_flavors"))[0]["id"]
    await put(db, "sm_backend_config", "old", flavor_id=flavor)
    backend = (await select(db, "SELECT id FROM sm_backend_config"))[0]["id"]
    await put(db, "volumes", "old", id="v1", size=1)
    await put(db, "sm_volume", "old", id="v1", backend_id=backend)
    await put(db, "iscsi_targets", "old", target_num=1, host="h", volume_id="v1")
    expected = {"iscsi_targets": 1, "sm_volume": 1, "volumes": 1, "sm_backend_config": 1, "sm_flavors": 1}

    assert await maintenance.purge_deleted_rows_count(admin, 0) == expected
    assert await maintenance.purge_deleted_rows(admin, 0) == expected
    left = await counts(db)
    assert left == {**dict.fromkeys(TABLES, 0), "quota_classes": left["quota_classes"]}  # the seeded defaults stay


async def test_the_age_cutoff_keeps_rows_deleted_more_recently(admin: rawdb.Context, cinder_db: rawdb.Database) -> None:
    now = utcnow()
    for days in (1, 5, 10):
        await execute(
            cinder_db,
            "INSERT INTO services (host, report_count, deleted, deleted_at) VALUES (:host, 0, :deleted, :at)",
            host=f"d{days}",
            deleted=True,
            at=now - timedelta(days=days, hours=1),
        )

    assert await maintenance.purge_deleted_rows_count(admin, 30) == {}
    assert await maintenance.purge_deleted_rows_count(admin, 4) == {"services": 2}
    assert await maintenance.purge_deleted_rows(admin, 4) == {"services": 2}
    assert await ids(cinder_db, "services", "host") == {"d1"}
    assert await maintenance.purge_deleted_rows(admin, 0) == {"services": 1}


# --- batches ------------------------------------------------------------------------------------


async def test_purge_works_in_batches_and_reports_each_batch(
    admin: rawdb.Context, cinder_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch, collected: list[Any]
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    for n in range(5):
        await put(cinder_db, "services", "old", host=f"h{n}", report_count=0)
    for n in range(4):
        await put(cinder_db, "volumes", "old", id=f"v{n}", size=1)
    await put(cinder_db, "volumes", "live", id="v-live", size=1)

    purged = await maintenance.purge_deleted_rows(admin, 1, progress=lambda t, n: collected.append((t, n)))

    assert purged == {"volumes": 4, "services": 5}
    assert collected == [("volumes", 2), ("volumes", 2), ("services", 2), ("services", 2), ("services", 1)]
    assert await ids(cinder_db, "volumes") == {"v-live"}


async def test_each_batch_is_committed_before_progress_hears_of_it(
    admin: rawdb.Context, cinder_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    for n in range(5):
        await put(cinder_db, "migrations", "old", status=f"m{n}")

    def stop(table: str, rows: int) -> None:
        raise KeyboardInterrupt("operator pressed ^C")

    with pytest.raises(KeyboardInterrupt):
        await maintenance.purge_deleted_rows(admin, 1, progress=stop)

    assert await count_rows(cinder_db, "migrations") == 3  # the first batch is kept, the rest untouched
    assert await maintenance.purge_deleted_rows(admin, 1) == {"migrations": 3}


async def test_purge_inside_a_callers_writer_runs_in_its_transaction(
    admin: rawdb.Context, cinder_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    for n in range(3):
        await put(cinder_db, "migrations", "old", status=f"m{n}")

    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            assert await maintenance.purge_deleted_rows(tx, 1) == {"migrations": 3}
            raise RuntimeError("the caller rolls back")
    assert await count_rows(cinder_db, "migrations") == 3

    async with admin.writer() as tx:
        assert await maintenance.purge_deleted_rows(tx, 1) == {"migrations": 3}
    assert await count_rows(cinder_db, "migrations") == 0


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("age", [-1, "1", 1.5, None, True])
async def test_a_bad_age_is_invalid_and_changes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, age: Any
) -> None:
    await put(cinder_db, "services", "old", host="h", report_count=0)

    for call in (maintenance.purge_deleted_rows, maintenance.purge_deleted_rows_count):
        with pytest.raises(errors.Invalid) as caught:
            await call(admin, age)
        if age == -1:
            assert "non-negative" in str(caught.value)

    assert await count_rows(cinder_db, "services") == 1


async def test_purge_needs_an_admin_and_a_callable_progress(
    alice: rawdb.Context, admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await put(cinder_db, "services", "old", host="h", report_count=0)

    with pytest.raises(errors.AdminRequired):
        await maintenance.purge_deleted_rows(alice, 1)
    with pytest.raises(errors.AdminRequired):
        await maintenance.purge_deleted_rows_count(alice, 1)
    with pytest.raises(errors.Invalid):
        await maintenance.purge_deleted_rows(admin, 1, progress="bar")  # type: ignore[arg-type]

    assert await count_rows(cinder_db, "services") == 1


async def test_an_age_beyond_year_1_purges_nothing(admin: rawdb.Context, cinder_db: rawdb.Database) -> None:
    await put(cinder_db, "services", "old", host="h", report_count=0)
    assert await maintenance.purge_deleted_rows(admin, 10**30) == {}
    assert await maintenance.purge_deleted_rows_count(admin, 10**6) == {}
    assert await count_rows(cinder_db, "services") == 1


# --- property: whatever the states, purge never deletes a live row or breaks a reference -------


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    states = st.sampled_from(STATES)
    types = draw(st.lists(states, max_size=3))
    volumes = draw(st.lists(st.tuples(states, st.none() | st.integers(0, 2)), max_size=5))
    children = st.tuples(states, st.integers(0, 4))
    return {
        "types": types,
        "specs": draw(st.lists(st.tuples(states, st.integers(0, 2)), max_size=4)),
        "volumes": volumes,
        "metadata": draw(st.lists(children, max_size=4)),
        "snapshots": draw(st.lists(children, max_size=4)),
        "iscsi": draw(st.lists(children, max_size=3)),
        "usages": draw(st.lists(states, max_size=3)),
        "reservations": draw(st.lists(st.tuples(states, st.integers(0, 2)), max_size=4)),
    }


def planted(world: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(table, state, values) of every row of the world whose parent exists."""
    for n, status in enumerate(world["types"]):
        yield "volume_types", status, {"name": f"t{n}"}
    for n, (status, parent) in enumerate(world["specs"]):
        if parent < len(world["types"]):
            yield "volume_type_extra_specs", status, {"key": f"k{n}", "volume_type_id": f"t{parent}"}
    for n, (status, vtype) in enumerate(world["volumes"]):
        typed = vtype if vtype is not None and vtype < len(world["types"]) else None
        yield "volumes", status, {"id": f"v{n}", "volume_type_id": None if typed is None else f"t{typed}"}
    for table, key in (("volume_metadata", "metadata"), ("snapshots", "snapshots"), ("iscsi_targets", "iscsi")):
        for n, (status, parent) in enumerate(world[key]):
            if parent < len(world["volumes"]):
                yield table, status, {"n": n, "volume_id": f"v{parent}"}
    for n, status in enumerate(world["usages"]):
        yield "quota_usages", status, {"resource": f"r{n}"}
    for n, (status, parent) in enumerate(world["reservations"]):
        if parent < len(world["usages"]):
            yield "reservations", status, {"uuid": f"u{n}", "usage_id": f"r{parent}"}


async def plant(db: rawdb.Database, world: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Insert the world; return (table, key, state) of every row."""
    type_ids: dict[str, int] = {}
    usage_ids: dict[str, int] = {}
    rows = []
    for table, status, values in planted(world):
        if table == "volume_types":
            await put(db, table, status, name=values["name"])
            type_ids = {r["name"]: r["id"] for r in await select(db, "SELECT id, name FROM volume_types")}
            key = values["name"]
        elif table == "volume_type_extra_specs":
            await put(db, table, status, key=values["key"], volume_type_id=type_ids[values["volume_type_id"]])
            key = values["key"]
        elif table == "volumes":
            vtype = values["volume_type_id"]
            await put(db, table, status, id=values["id"], size=1, volume_type_id=vtype and type_ids[vtype])
            key = values["id"]
        elif table == "snapshots":
            key = f"s{values['n']}"
            await put(db, table, status, id=key, volume_id=values["volume_id"])
        elif table == "volume_metadata":
            key = f"m{values['n']}"
            await put(db, table, status, key=key, volume_id=values["volume_id"])
        elif table == "iscsi_targets":
            key = f"i{values['n']}"
            await put(db, table, status, host=key, target_num=1, volume_id=values["volume_id"])
        elif table == "quota_usages":
            key = values["resource"]
            await put(db, table, status, project_id="p", resource=key, in_use=0, reserved=0)
            usage_ids = {r["resource"]: r["id"] for r in await select(db, "SELECT id, resource FROM quota_usages")}
        else:
            key = values["uuid"]
            await put(db, table, status, uuid=key, usage_id=usage_ids[values["usage_id"]], project_id="p", delta=1)
        rows.append((table, key, status))
    return rows


KEYS = {
    "volume_types": "name",
    "volume_type_extra_specs": '"key"',
    "volumes": "id",
    "volume_metadata": '"key"',
    "snapshots": "id",
    "iscsi_targets": "host",
    "quota_usages": "resource",
    "reservations": "uuid",
}
DANGLING = {  # children whose parent is gone
    "specs": "SELECT count(*) AS n FROM volume_type_extra_specs c"
    " WHERE NOT EXISTS (SELECT 1 FROM volume_types p WHERE p.id = c.volume_type_id)",
    "volume types": "SELECT count(*) AS n FROM volumes c WHERE c.volume_type_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM volume_types p WHERE p.id = c.volume_type_id)",
    "snapshots": "SELECT count(*) AS n FROM snapshots c"
    " WHERE NOT EXISTS (SELECT 1 FROM volumes p WHERE p.id = c.volume_id)",
    "metadata": "SELECT count(*) AS n FROM volume_metadata c"
    " WHERE NOT EXISTS (SELECT 1 FROM volumes p WHERE p.id = c.volume_id)",
    "reservations": "SELECT count(*) AS n FROM reservations c"
    " WHERE NOT EXISTS (SELECT 1 FROM quota_usages p WHERE p.id = c.usage_id)",
}


async def run_world(url: str, world: dict[str, Any]) -> None:
    async with rawdb.connect(url) as db:
        await empty(db)
        rows = await plant(db, world)
        admin = rawdb.Context(db, is_admin=True)
        counted = await maintenance.purge_deleted_rows_count(admin, 1)

        purged = await maintenance.purge_deleted_rows(admin, 1)

        assert purged == counted
        left = set()
        for table, column in KEYS.items():
            left |= {(table, str(r["k"])) for r in await select(db, f"SELECT {column} AS k FROM {table}")}
        gone = [(table, key, status) for table, key, status in rows if (table, key) not in left]
        assert all(status == "old" for _, _, status in gone), gone
        assert sum(purged.values()) == len(gone)
        for what, sql in DANGLING.items():
            assert (await select(db, sql))[0]["n"] == 0, what
        # a second run finds nothing: every old row left is a parent something still refers to
        assert await maintenance.purge_deleted_rows(admin, 1) == {}


async def empty(db: rawdb.Database) -> None:
    """Delete every row, children first (the foreign keys stay checked)."""
    async with db.writer() as tx:
        for table in TABLES:
            await tx.script(f"DELETE FROM {table}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_purge_never_deletes_a_live_row_nor_leaves_a_reference_dangling(
    cinder_url: str, backend: str, world: dict[str, Any]
) -> None:
    asyncio.run(run_world(cinder_url, world))


async def test_the_world_builder_plants_every_state(cinder_db: rawdb.Database) -> None:
    world = {
        "types": ["old"],
        "specs": [("live", 0)],
        "volumes": [(s, 0) for s in STATES],
        "metadata": [("old", 0)],
        "snapshots": [("young", 1)],
        "iscsi": [("revived", 2)],
        "usages": ["old"],
        "reservations": [("no_time", 0)],
    }
    rows = await plant(cinder_db, world)
    assert {status for _, _, status in rows} == set(STATES)
    assert await count_rows(cinder_db, "volumes") == 5
