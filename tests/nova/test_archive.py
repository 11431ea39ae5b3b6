"""nova's archive of soft-deleted rows and the shadow-table purge (spec D.8, E.5 14), on every backend."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NamedTuple
from unittest.mock import patch

import pytest
import servicedb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from purgetools import CUT, STATES, nova_state
from sqltools import count_rows, execute, select, stmt

import rawdb
from rawdb import errors
from rawdb.nova import _archive_tables as tables
from rawdb.nova import archive
from rawdb.nova import instances as nova_instances
from rawdb.timeutils import utcnow

T0 = datetime(2020, 1, 1, 12, 0, 0, 123456)


# --- set-up -----------------------------------------------------------------------------------


async def pool(db: rawdb.Database, host: str = "proxy1", deleted: bool = False) -> int:
    """A console pool row (soft-deleted when asked, at T0); its id."""
    await execute(
        db,
        "INSERT INTO console_pools (host, console_type, compute_host, deleted, created_at) "
        "VALUES (:host, 'xvp', 'c1', 0, :t)",
        host=host,
        t=T0,
    )
    (row,) = await select(db, "SELECT id FROM console_pools WHERE host = :host", host=host)
    if deleted:
        await soft_delete(db, "console_pools", row["id"])
    return int(row["id"])


async def console(db: rawdb.Database, pool_id: int, deleted: bool = False) -> int:
    await execute(db, "INSERT INTO consoles (pool_id, port, deleted) VALUES (:p, 5900, 0)", p=pool_id)
    rows = await select(db, "SELECT max(id) AS id FROM consoles")
    if deleted:
        await soft_delete(db, "consoles", rows[0]["id"])
    return int(rows[0]["id"])


async def soft_delete(db: rawdb.Database, table: str, row_id: int, at: datetime | None = T0) -> None:
    await execute(db, f"UPDATE {table} SET deleted = id, deleted_at = :at WHERE id = :id", id=row_id, at=at)


async def destroyed_instance(admin: rawdb.Context, at: datetime = T0, actions: int = 1) -> str:
    """An instance made and destroyed through the API (its children soft-deleted with it), with
    live actions and events as nova leaves them; deleted_at moved to ``at``."""
    owner = rawdb.Context(admin.db, project_id="p1", user_id="u1")
    instance = await nova_instances.instance_create(
        owner, {"project_id": "p1", "user_id": "u1", "metadata": {"a": "1"}, "system_metadata": {"s": "2"}}
    )
    uuid = instance["uuid"]
    db = admin.db
    for n in range(actions):
        await execute(
            db,
            "INSERT INTO instance_actions (action, instance_uuid, request_id, start_time, deleted) "
            "VALUES ('reboot', :u, :r, :t, 0)",
            u=uuid,
            r=f"req-{uuid}-{n}",
            t=T0,
        )
        await execute(
            db,
            "INSERT INTO instance_actions_events (event, action_id, start_time, deleted) "
            "SELECT 'compute_reboot', id, :t, 0 FROM instance_actions WHERE request_id = :r",
            r=f"req-{uuid}-{n}",
            t=T0,
        )
    await nova_instances.instance_destroy(owner, uuid)
    for table in (
        "instances",
        "instance_metadata",
        "instance_system_metadata",
        "instance_info_caches",
        "instance_extra",
    ):
        column = "uuid" if table == "instances" else "instance_uuid"
        await execute(db, f"UPDATE {table} SET deleted_at = :at WHERE {column} = :u AND deleted <> 0", at=at, u=uuid)
    return str(uuid)


async def everything(db: rawdb.Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every archived table and its shadow, by key."""
    out = {}
    for table in sorted(tables.ARCHIVED):
        key = tables.key(table)
        for name in (table, f"shadow_{table}"):
            out[name] = await select(db, f"SELECT * FROM {name} ORDER BY {key}")
    return out


def moved_counts(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    return {
        t: len(after[f"shadow_{t}"]) - len(before[f"shadow_{t}"])
        for t in tables.ARCHIVED
        if len(after[f"shadow_{t}"]) != len(before[f"shadow_{t}"])
    }


# --- foreign keys and order (E.5 14) ------------------------------------------------------------


async def test_a_deleted_pool_whose_deleted_console_is_still_there_stays_until_the_console_moves(
    admin: rawdb.Context,
) -> None:
    db = admin.db
    pool_id = await pool(db, deleted=True)
    await console(db, pool_id, deleted=True)

    assert await archive.archive_deleted_rows_for_table(admin, "console_pools") == 0
    assert await count_rows(db, "console_pools") == 1
    assert await archive.archive_deleted_rows_for_table(admin, "consoles") == 1
    assert await archive.archive_deleted_rows_for_table(admin, "console_pools") == 1
    assert await count_rows(db, "shadow_console_pools") == 1
    assert await count_rows(db, "console_pools") == 0


async def test_a_live_child_keeps_its_parent_while_the_tables_other_deleted_rows_move(admin: rawdb.Context) -> None:
    db = admin.db
    kept = await pool(db, "proxy1", deleted=True)
    await console(db, kept, deleted=False)
    freed = [await pool(db, f"proxy{n}", deleted=True) for n in (2, 3)]

    assert await archive.archive_deleted_rows(admin) == {"console_pools": 2}
    assert [r["id"] for r in await select(db, "SELECT id FROM shadow_console_pools ORDER BY id")] == freed
    assert await archive.archive_deleted_rows(admin) == {}
    assert [r["id"] for r in await select(db, "SELECT id FROM console_pools")] == [kept]


async def test_one_run_moves_an_instance_after_its_children(admin: rawdb.Context) -> None:
    uuid = await destroyed_instance(admin)
    live = await nova_instances.instance_create(
        rawdb.Context(admin.db, project_id="p1", user_id="u1"), {"project_id": "p1"}
    )

    moved = await archive.archive_deleted_rows(admin)

    assert moved["instances"] == 1
    order = list(moved)
    for child in ("instance_metadata", "instance_system_metadata", "instance_actions", "instance_actions_events"):
        assert order.index(child) < order.index("instances")
    assert order.index("instance_actions_events") < order.index("instance_actions")
    rows = await select(admin.db, "SELECT uuid FROM instances")
    assert [r["uuid"] for r in rows] == [live["uuid"]]
    assert [r["uuid"] for r in await select(admin.db, "SELECT uuid FROM shadow_instances")] == [uuid]


def test_the_order_puts_every_child_table_before_its_parents() -> None:
    for parent, refs in tables.REFERENCES.items():
        for child, _, _ in refs:
            assert tables.ORDER.index(child) < tables.ORDER.index(parent)
    assert sorted(tables.ORDER) == sorted(tables.ARCHIVED)


_FKS = {
    "postgresql": "SELECT c.conrelid::regclass::text AS child, a.attname AS col, "
    "c.confrelid::regclass::text AS parent, p.attname AS pcol FROM pg_constraint c "
    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
    "JOIN pg_attribute p ON p.attrelid = c.confrelid AND p.attnum = c.confkey[1] "
    "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    "mysql": "SELECT table_name AS child, column_name AS col, referenced_table_name AS parent, "
    "referenced_column_name AS pcol FROM information_schema.key_column_usage "
    "WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL",
    "sqlite": 'SELECT m.name AS child, f."from" AS col, f."table" AS parent, f."to" AS pcol '
    "FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
}
_COLUMNS = {
    "postgresql": "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
    "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
    "mysql": "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
    "WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position",
    "sqlite": "SELECT m.name AS t, c.name AS c FROM sqlite_master m, pragma_table_info(m.name) c "
    "WHERE m.type = 'table' ORDER BY m.name, c.cid",
}


async def test_the_archive_knows_every_foreign_key_of_the_schema(nova_db: rawdb.Database) -> None:
    found = {(r["child"], r["col"], r["parent"], r["pcol"]) for r in await select(nova_db, _FKS[nova_db.dialect])}
    known = {(c, col, parent, pcol) for parent, refs in tables.REFERENCES.items() for c, col, pcol in refs}
    assert found == known


async def test_archived_tables_are_those_with_deleted_and_a_shadow_with_the_same_columns_in_order(
    nova_db: rawdb.Database,
) -> None:
    columns: dict[str, list[str]] = {}
    for row in await select(nova_db, _COLUMNS[nova_db.dialect]):
        columns.setdefault(row["t"], []).append(row["c"])
    with_shadow = {t for t in columns if f"shadow_{t}" in columns and "deleted" in columns[t]}
    assert with_shadow == tables.ARCHIVED
    for table in tables.ARCHIVED:
        copied = tables.COLUMNS[table].split(", ") if table in tables.COLUMNS else columns[table]
        assert copied == columns[f"shadow_{table}"], table
        assert set(columns[table]) - set(copied) <= {"live_user_id"}  # MariaDB's virtual column
    nova_tables = {t for t in columns if not t.startswith(("shadow_", "rawdb_"))}
    assert nova_tables - tables.ARCHIVED == tables.UNSHADOWED


async def test_every_archive_statement_is_accepted_by_the_database(nova_db: rawdb.Database) -> None:
    async with nova_db.writer() as tx:
        for table in sorted(tables.ARCHIVED):
            for kind in ("ids", "copy", "delete", "move", "count", "purge", "purge_count"):
                for before in (False, True):
                    for resume in (False, True):
                        statement = tables.statement(table, kind, before, resume)
                        if nova_db.dialect in statement.variants:
                            await tx.prepare(statement)


# --- the cap, before, the pre-step ---------------------------------------------------------------


async def test_max_rows_is_respected_exactly_across_tables_and_the_next_call_goes_on(
    admin: rawdb.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "BATCH", 2)  # several batches per table
    db = admin.db
    for _ in range(3):
        await destroyed_instance(admin)
    await pool(db, "lonely", deleted=True)
    expected = await archive.archive_deleted_rows_count(admin)
    total = sum(expected.values())

    seen: dict[str, int] = {}
    for step in range(0, total, 5):
        moved = await archive.archive_deleted_rows(admin, max_rows=5)
        assert sum(moved.values()) == min(5, total - step)
        for table, rows in moved.items():
            seen[table] = seen.get(table, 0) + rows
    assert await archive.archive_deleted_rows(admin, max_rows=5) == {}
    assert seen == expected


async def test_before_moves_only_rows_deleted_earlier_and_a_row_without_deleted_at_only_without_before(
    admin: rawdb.Context,
) -> None:
    db = admin.db
    old = await pool(db, "old", deleted=True)  # deleted at T0
    new = await pool(db, "new")
    await soft_delete(db, "console_pools", new, at=T0 + timedelta(days=2))
    undated = await pool(db, "undated")
    await soft_delete(db, "console_pools", undated, at=None)

    assert await archive.archive_deleted_rows(admin, before=T0 + timedelta(days=1)) == {"console_pools": 1}
    aware = (T0 + timedelta(days=3)).replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=5)))
    assert await archive.archive_deleted_rows(admin, before=aware) == {"console_pools": 1}
    assert [r["id"] for r in await select(db, "SELECT id FROM console_pools")] == [undated]
    assert await archive.archive_deleted_rows(admin) == {"console_pools": 1}
    assert [r["id"] for r in await select(db, "SELECT id FROM shadow_console_pools ORDER BY id")] == [old, new, undated]


async def test_newton_prestep_soft_deletes_the_actions_events_and_migrations_of_deleted_instances(
    admin: rawdb.Context,
) -> None:
    db = admin.db
    gone = await destroyed_instance(admin, at=T0, actions=2)
    alive = await nova_instances.instance_create(
        rawdb.Context(admin.db, project_id="p1", user_id="u1"), {"project_id": "p1"}
    )
    for uuid in (gone, alive["uuid"]):
        await execute(db, "INSERT INTO migrations (instance_uuid, status, deleted) VALUES (:u, 'done', 0)", u=uuid)
        await execute(
            db,
            "INSERT INTO instance_actions (action, instance_uuid, request_id, deleted) VALUES ('x', :u, 'r', 0)",
            u=uuid,
        )

    # actions and events of the deleted instance go with it, stamped with its deletion time
    assert await archive.archive_deleted_rows_for_table(admin, "instance_actions_events", before=T0) == 0
    moved = await archive.archive_deleted_rows(admin, before=T0 + timedelta(seconds=1))
    assert moved["instance_actions_events"] == 2
    assert moved["instance_actions"] == 3
    assert moved["migrations"] == 1
    assert moved["instances"] == 1
    shadow = await select(db, "SELECT deleted, id, deleted_at FROM shadow_instance_actions")
    assert all(r["deleted"] == r["id"] and r["deleted_at"] == T0 for r in shadow)
    live = await select(db, "SELECT deleted FROM instance_actions UNION ALL SELECT deleted FROM migrations")
    assert [r["deleted"] for r in live] == [0, 0]


# --- what moves ----------------------------------------------------------------------------------


async def test_shadow_rows_equal_the_original_rows_column_for_column(admin: rawdb.Context) -> None:
    await destroyed_instance(admin)
    await execute(
        admin.db,
        "UPDATE instances SET locked_by = 'admin', hostname = 'h', launched_at = :t WHERE deleted <> 0",
        t=T0,
    )
    original = await everything(admin.db)
    await archive.archive_deleted_rows(admin)
    after = await everything(admin.db)
    for table in ("instances", "instance_metadata", "instance_system_metadata", "instance_info_caches"):
        deleted = [r for r in original[table] if r["deleted"]]
        assert deleted
        assert after[f"shadow_{table}"] == deleted
        assert after[table] == [r for r in original[table] if not r["deleted"]]


async def test_tables_without_a_shadow_move_nothing_and_unknown_names_are_invalid(admin: rawdb.Context) -> None:
    assert await archive.archive_deleted_rows_for_table(admin, "tags") == 0
    assert await archive.archive_deleted_rows_for_table(admin, "security_group_default_rules") == 0
    for name in ("shadow_instances", "nope", "instances; DROP TABLE instances", 7, None):
        with pytest.raises(errors.Invalid):
            await archive.archive_deleted_rows_for_table(admin, name)  # type: ignore[arg-type]


async def test_security_group_default_rules_are_archived_they_have_a_shadow_in_this_schema(
    admin: rawdb.Context,
) -> None:
    await execute(admin.db, "INSERT INTO security_group_default_rules (protocol, deleted) VALUES ('tcp', 0)")
    await execute(admin.db, "UPDATE security_group_default_rules SET deleted = id, deleted_at = :t", t=T0)
    assert await archive.archive_deleted_rows(admin) == {"security_group_default_rules": 1}


async def test_dry_run_counts_equal_what_archive_then_moves_and_change_nothing(admin: rawdb.Context) -> None:
    db = admin.db
    await destroyed_instance(admin, at=T0, actions=2)
    await destroyed_instance(admin, at=T0 + timedelta(days=5))
    kept = await pool(db, "kept", deleted=True)
    await console(db, kept, deleted=False)
    await console(db, await pool(db, "freed", deleted=True), deleted=True)
    cut = T0 + timedelta(days=1)

    before = await everything(db)
    counted_cut = await archive.archive_deleted_rows_count(admin, before=cut)
    counted_all = await archive.archive_deleted_rows_count(admin)
    assert await everything(db) == before
    assert counted_cut["instances"] == 1 and counted_all["instances"] == 2
    assert "console_pools" in counted_cut

    assert await archive.archive_deleted_rows(admin, before=cut) == counted_cut
    assert moved_counts(before, await everything(db)) == counted_cut
    assert await archive.archive_deleted_rows_count(admin) == await archive.archive_deleted_rows(admin)


async def test_purge_shadow_tables_before_then_all(admin: rawdb.Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "BATCH", 2)
    db = admin.db
    for n, at in enumerate((T0, T0, T0, T0 + timedelta(days=3))):
        await soft_delete(db, "console_pools", await pool(db, f"p{n}"), at=at)
    await archive.archive_deleted_rows(admin)
    cut = T0 + timedelta(days=1)
    assert await archive.purge_shadow_tables_count(admin, before=cut) == {"shadow_console_pools": 3}
    calls: list[tuple[str, int]] = []
    assert await archive.purge_shadow_tables(admin, before=cut, progress=lambda t, n: calls.append((t, n))) == {
        "shadow_console_pools": 3
    }
    assert calls == [("shadow_console_pools", 2), ("shadow_console_pools", 1)]
    assert await archive.purge_shadow_tables_count(admin) == {"shadow_console_pools": 1}
    assert await archive.purge_shadow_tables(admin) == {"shadow_console_pools": 1}
    assert await archive.purge_shadow_tables(admin) == {}


async def test_progress_reports_each_batch_and_the_sums_are_the_result(
    admin: rawdb.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "BATCH", 3)
    for n in range(7):
        await pool(admin.db, f"p{n}", deleted=True)
    calls: list[tuple[str, int]] = []
    assert await archive.archive_deleted_rows(admin, progress=lambda t, n: calls.append((t, n))) == {"console_pools": 7}
    assert calls == [("console_pools", 3), ("console_pools", 3), ("console_pools", 1)]


async def test_an_instance_made_after_another_was_archived_is_archived_too(admin: rawdb.Context, backend: str) -> None:
    owner = rawdb.Context(admin.db, project_id="p1", user_id="u1")
    first = await nova_instances.instance_create(owner, {"project_id": "p1"})
    await nova_instances.instance_destroy(owner, first["uuid"])
    assert (await archive.archive_deleted_rows(admin))["instances"] == 1
    second = await nova_instances.instance_create(owner, {"project_id": "p1"})
    await nova_instances.instance_destroy(owner, second["uuid"])

    moved = await archive.archive_deleted_rows(admin)
    if backend == "sqlite":
        # SQLite numbered the second instance (and its extra row) after the highest id left: the
        # first one's archived ids.  They stay, nothing fails, until the shadow rows are purged.
        assert second["id"] == first["id"]
        assert moved.get("instances", 0) == 0
        assert await archive.archive_deleted_rows_count(admin) == {}
        assert [r["uuid"] for r in await select(admin.db, "SELECT uuid FROM instances")] == [second["uuid"]]
        await archive.purge_shadow_tables(admin)
        moved = await archive.archive_deleted_rows(admin)
        assert [r["uuid"] for r in await select(admin.db, "SELECT uuid FROM shadow_instances")] == [second["uuid"]]
    else:
        shadow = await select(admin.db, "SELECT uuid FROM shadow_instances")
        assert sorted(r["uuid"] for r in shadow) == sorted([first["uuid"], second["uuid"]])
    assert moved["instances"] == 1
    assert await select(admin.db, "SELECT uuid FROM instances") == []


# --- property: random soft-delete states of instances and their children --------------------------

# The children of an instance a world plants, and a row's columns besides its keys and deleted
# columns (n: the row's number in its table); events belong to actions.
CHILD_VALUES: dict[str, Callable[[int], dict[str, Any]]] = {
    "instance_metadata": lambda n: {"key": f"k{n}", "value": "v"},
    "instance_system_metadata": lambda n: {"key": f"s{n}", "value": "v"},
    "instance_info_caches": lambda n: {"network_info": f"[{n}]"},
    "instance_faults": lambda n: {"code": 500, "message": f"fault {n}"},
    "instance_actions": lambda n: {"action": "reboot", "request_id": f"req-{n}", "start_time": T0},
    "block_device_mapping": lambda n: {"device_name": f"/dev/vd{n}", "source_type": "volume"},
}
WORLD = ("instances", *CHILD_VALUES, "instance_actions_events")
Key = tuple[str, int]  # (table, id) of a planted row
Rows = dict[str, dict[int, dict[str, Any]]]  # table (and shadow_table) -> id -> row

STATE = st.sampled_from(STATES)
# ("archive", max_rows, before, batch) and ("purge", before)
ARCHIVE = st.tuples(
    st.just("archive"), st.sampled_from([None, 1, 2, 5]), st.sampled_from([None, CUT]), st.sampled_from([None, 1, 3])
)
PURGE = st.tuples(st.just("purge"), st.sampled_from([None, CUT]))


def instance_uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    """Instances, children and events in random soft-delete states (parents deleted with live
    children among them), and the archives and purges to run on them."""
    instances = draw(st.lists(STATE, min_size=1, max_size=3))
    owner = st.integers(0, len(instances) - 1)
    children = {
        table: draw(st.lists(st.tuples(STATE, owner), max_size=3 if table == "instance_actions" else 2))
        for table in CHILD_VALUES
        if table != "instance_info_caches"
    }
    caches = draw(st.lists(st.none() | STATE, min_size=len(instances), max_size=len(instances)))  # one at most
    children["instance_info_caches"] = [(name, n) for n, name in enumerate(caches) if name is not None]
    actions = len(children["instance_actions"])
    events = draw(st.lists(st.tuples(STATE, st.integers(0, actions - 1)), max_size=3)) if actions else []
    ops = [draw(ARCHIVE), *draw(st.lists(ARCHIVE | PURGE, max_size=2))]
    return {"instances": instances, "children": children, "events": events, "ops": ops}


class Planted(NamedTuple):
    """A world in the database: every row as read back, and which rows refer to which."""

    rows: dict[Key, dict[str, Any]]
    parent: dict[Key, Key]  # a child row -> the row its foreign key refers to
    instance: dict[Key, Key]  # a child row or an event -> its instance


async def empty_world(db: rawdb.Database) -> None:
    """No rows in any of nova's tables: what the tests before (on the worker's shared database)
    or the example before left."""
    if db.dialect != "sqlite":
        await servicedb.empty(db, "nova")
        return
    async with db.writer() as tx:  # a copy of the template per test: only the world's tables have rows
        for table in (t for t in tables.ORDER if t in WORLD):  # children first
            await tx.script(f"DELETE FROM {table}")
            await tx.script(f"DELETE FROM shadow_{table}")


async def world_rows(db: rawdb.Database) -> Rows:
    """Every row of the world's tables and their shadow tables, by id (an id twice fails)."""
    out: Rows = {}
    async with db.reader() as rx:
        for table in WORLD:
            for name in (table, f"shadow_{table}"):
                rows = await rx.fetch(stmt(f"SELECT * FROM {name} ORDER BY id"))
                out[name] = {row["id"]: dict(row) for row in rows}
                assert len(out[name]) == len(rows), f"an id is twice in {name}"
    return out


async def plant(db: rawdb.Database, world: dict[str, Any]) -> Planted:
    parent: dict[Key, Key] = {}
    instance: dict[Key, Key] = {}

    async def insert(tx: rawdb.Context, table: str, values: dict[str, Any]) -> None:
        columns = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join(f":{c}" for c in values)
        await tx.execute(stmt(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), **values)

    async with db.writer() as tx:
        for n, name in enumerate(world["instances"], start=1):
            values = {"id": n, "uuid": instance_uuid(n), "project_id": "p1", "created_at": T0}
            await insert(tx, "instances", {**values, **nova_state(name, n)})
        for table, rows in world["children"].items():
            for n, (name, owner) in enumerate(rows, start=1):
                values = {
                    "id": n,
                    "instance_uuid": instance_uuid(owner + 1),
                    "created_at": T0,
                    **CHILD_VALUES[table](n),
                }
                await insert(tx, table, {**values, **nova_state(name, n)})
                parent[(table, n)] = instance[(table, n)] = ("instances", owner + 1)
        for n, (name, action) in enumerate(world["events"], start=1):
            values = {"id": n, "action_id": action + 1, "event": "compute_reboot", "created_at": T0}
            await insert(tx, "instance_actions_events", {**values, **nova_state(name, n)})
            parent[("instance_actions_events", n)] = ("instance_actions", action + 1)
            instance[("instance_actions_events", n)] = instance[("instance_actions", action + 1)]
    found = await world_rows(db)
    assert not any(found[f"shadow_{table}"] for table in WORLD)
    return Planted({(t, i): row for t in WORLD for i, row in found[t].items()}, parent, instance)


def pending(p: Planted, key: Key) -> bool:
    """A live action or event of a deleted instance: Newton's pre-step soft-deletes it before its
    table moves, with its instance's deleted_at (the run's time when the instance has none)."""
    return key[0] in tables.PRESTEP_TABLES and not p.rows[key]["deleted"] and bool(p.rows[p.instance[key]]["deleted"])


def may_move(p: Planted, key: Key, before: datetime | None) -> bool:
    """An archive with this ``before`` may move the row: it is soft-deleted (or pending), before
    ``before`` when there is one (a row without deleted_at never is)."""
    row = p.rows[key]
    if row["deleted"]:
        at = row["deleted_at"]
    elif pending(p, key):
        at = p.rows[p.instance[key]]["deleted_at"]  # None: stamped with the run's time, after CUT
    else:
        return False
    return before is None or (at is not None and at < before)


def referenced(p: Planted, key: Key, now: Rows) -> bool:
    """A row still in its table refers to ``key``."""
    return any(parent == key and child[1] in now[child[0]] for child, parent in p.parent.items())


def check_values(
    p: Planted, expected: dict[Key, dict[str, Any]], key: Key, row: dict[str, Any], run: tuple[datetime, datetime]
) -> None:
    """The row as expected, or a pending row the pre-step of this run stamped (then expected so)."""
    want = expected[key]
    if row == want:
        return
    assert pending(p, key) and not want["deleted"], (key, row, want)
    assert row == {**want, "deleted": key[1], "deleted_at": row["deleted_at"]}, (key, row, want)
    instance_at = p.rows[p.instance[key]]["deleted_at"]
    if instance_at is not None:
        assert row["deleted_at"] == instance_at
    else:
        assert run[0] <= row["deleted_at"] <= run[1]
    expected[key] = row


def check_archive(
    p: Planted,
    expected: dict[Key, dict[str, Any]],
    seen: Rows,
    now: Rows,
    op: tuple[Any, ...],
    result: dict[str, int],
    counted: dict[str, int],
    run: tuple[datetime, datetime],
) -> None:
    _, max_rows, before, _ = op
    left = {(t, i) for t in WORLD for i in seen[t] if i not in now[t]}
    arrived = {(t, i) for t in WORLD for i in now[f"shadow_{t}"] if i not in seen[f"shadow_{t}"]}
    for table in WORLD:
        assert now[table].keys() <= seen[table].keys()
        assert seen[f"shadow_{table}"] == {i: now[f"shadow_{table}"][i] for i in seen[f"shadow_{table}"]}
    assert arrived == left  # every row that left its table is in its shadow table, once (world_rows)
    assert sorted(k for k in left if not may_move(p, k, before)) == []  # never a live or a younger row
    for table in WORLD:
        for i, row in now[table].items():
            check_values(p, expected, (table, i), row, run)
        for i, row in now[f"shadow_{table}"].items():
            if (table, i) in left:
                check_values(p, expected, (table, i), row, run)  # the row's values, nothing else
    assert result == dict(Counter(t for t, _ in left))  # the counts returned are what moved
    if max_rows is None:
        assert result == counted
        stuck = [
            k for t in WORLD for k in ((t, i) for i in now[t]) if may_move(p, k, before) and not referenced(p, k, now)
        ]
        assert stuck == []  # an uncapped run leaves only rows that rows still in a table refer to
    else:
        assert sum(result.values()) == min(max_rows, sum(counted.values()))
        assert all(rows <= counted[t] for t, rows in result.items())


def check_purge(
    seen: Rows, now: Rows, before: datetime | None, result: dict[str, int], counted: dict[str, int]
) -> set[Key]:
    """The rows the purge deleted, checked: only shadow rows, all of those deleted before ``before``."""
    gone: set[Key] = set()
    for table in WORLD:
        assert now[table] == seen[table]  # live or deleted, a table's rows stay as they are
        shadow = f"shadow_{table}"
        for i, row in seen[shadow].items():
            old = before is None or (row["deleted_at"] is not None and row["deleted_at"] < before)
            if old:
                assert i not in now[shadow], (shadow, row)
                gone.add((table, i))
            else:
                assert now[shadow].get(i) == row, (shadow, row)
        assert now[shadow].keys() <= seen[shadow].keys()
    assert result == counted == dict(Counter(f"shadow_{t}" for t, _ in gone))
    return gone


async def run_world(url: str, world: dict[str, Any]) -> dict[Key, str]:
    """Plant the world and run its archives and purges, checking each; where each row ended:
    "table", "shadow" or "purged"."""
    async with rawdb.connect(url) as db:
        await empty_world(db)
        p = await plant(db, world)
        ctx = rawdb.Context(db, is_admin=True)
        expected = dict(p.rows)  # a row's values now, wherever it is
        purged: set[Key] = set()
        seen = await world_rows(db)
        with patch.object(archive, "BATCH", 2):  # several batches per table, for the archive and the purge
            for op in world["ops"]:
                if op[0] == "archive":
                    counted = await archive.archive_deleted_rows_count(ctx, op[2])
                    start = utcnow()
                    result = await archive.archive_deleted_rows(ctx, op[1], op[2], batch=op[3])
                    now = await world_rows(db)
                    check_archive(p, expected, seen, now, op, result, counted, (start, utcnow()))
                else:
                    counted = await archive.purge_shadow_tables_count(ctx, op[1])
                    result = await archive.purge_shadow_tables(ctx, op[1])
                    now = await world_rows(db)
                    purged |= check_purge(seen, now, op[1], result, counted)
                for child, parent in p.parent.items():  # a row refers only to rows still in their table
                    assert child[1] not in now[child[0]] or parent[1] in now[parent[0]], (child, parent)
                seen = now
    place: dict[Key, str] = {}
    for key in p.rows:
        table, i = key
        places = [
            name
            for name, here in (
                ("table", i in seen[table]),
                ("shadow", i in seen[f"shadow_{table}"]),
                ("purged", key in purged),
            )
            if here
        ]
        assert len(places) == 1, (key, places)
        place[key] = places[0]
        if not may_move(p, key, None):  # a live row never leaves, nor changes
            assert seen[table][i] == p.rows[key], key
    return place


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_archive_and_purge_never_move_a_live_row_and_move_each_deleted_row_whole_and_once(
    nova_url: str, world: dict[str, Any]
) -> None:
    asyncio.run(run_world(nova_url, world))


async def test_a_world_of_every_case_ends_where_nova_puts_each_row(nova_url: str) -> None:
    world = {
        "instances": ["old", "old", "no_time", "live"],
        "children": {
            "instance_metadata": [("live", 0), ("old", 0), ("old", 1)],  # a live child keeps instance 1
            "instance_actions": [("live", 1), ("old", 3), ("live", 2)],  # two pending: instances 2 and 3 are deleted
            "block_device_mapping": [("revived", 3)],
        },
        "events": [("live", 1), ("live", 0)],  # a live event keeps its deleted action 2; event 2 is pending
        "ops": [
            ("archive", None, CUT, 1),
            ("purge", CUT),
            ("archive", 2, None, None),
            ("archive", None, None, None),
            ("purge", None),
        ],
    }
    place = await run_world(nova_url, world)
    assert {key for key, where in place.items() if where == "table"} == {
        ("instances", 1),
        ("instances", 4),
        ("instance_metadata", 1),
        ("instance_actions", 2),
        ("instance_actions_events", 1),
        ("block_device_mapping", 1),
    }
    assert {key for key, where in place.items() if where == "purged"} == {
        ("instances", 2),
        ("instances", 3),  # deleted without deleted_at: only a run without before moves it
        ("instance_metadata", 2),
        ("instance_metadata", 3),
        ("instance_actions", 1),
        ("instance_actions", 3),  # stamped with the time of the first run: after CUT
        ("instance_actions_events", 2),
    }


# --- scopes, callers, bad input ------------------------------------------------------------------


async def test_inside_a_writer_scope_the_whole_run_is_the_callers_transaction(admin: rawdb.Context) -> None:
    await pool(admin.db, "a", deleted=True)
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            assert await archive.archive_deleted_rows(tx) == {"console_pools": 1}
            raise RuntimeError("roll back")
    assert await count_rows(admin.db, "console_pools") == 1
    assert await count_rows(admin.db, "shadow_console_pools") == 0
    async with admin.reader() as rx:
        with pytest.raises(errors.ScopeError):
            await archive.archive_deleted_rows(rx)


async def test_bad_input_is_invalid_and_changes_nothing(admin: rawdb.Context, alice: rawdb.Context) -> None:
    await pool(admin.db, "a", deleted=True)
    for kwargs in ({"max_rows": 0}, {"max_rows": True}, {"max_rows": 1.5}, {"max_rows": "3"}, {"before": "2020-01-01"}):
        with pytest.raises(errors.Invalid):
            await archive.archive_deleted_rows(admin, **kwargs)
        with pytest.raises(errors.Invalid):
            await archive.archive_deleted_rows_for_table(admin, "console_pools", **kwargs)
    with pytest.raises(errors.Invalid):
        await archive.archive_deleted_rows(admin, progress=3)  # type: ignore[arg-type]
    for call in (archive.purge_shadow_tables, archive.purge_shadow_tables_count, archive.archive_deleted_rows_count):
        with pytest.raises(errors.Invalid):
            await call(admin, before=20200101)  # type: ignore[arg-type]
    with pytest.raises(errors.AdminRequired):
        await archive.archive_deleted_rows(alice)
    with pytest.raises(errors.AdminRequired):
        await archive.purge_shadow_tables(alice)
    assert await count_rows(admin.db, "console_pools") == 1
    assert await count_rows(admin.db, "shadow_console_pools") == 0


# --- concurrency ---------------------------------------------------------------------------------


async def test_archive_and_purge_while_instances_come_and_go_lose_and_duplicate_nothing(admin: rawdb.Context) -> None:
    """live + shadow rows = rows ever created - rows purged, whatever the interleaving."""
    db = admin.db
    created: list[str] = []
    done = asyncio.Event()
    halfway: list[datetime] = []  # when half the instances were made: the purges' before=

    async def churn(worker: int) -> None:
        ctx = rawdb.Context(db, project_id=f"w{worker}", user_id="u")
        mine: list[str] = []
        for n in range(12):
            uuid = (await nova_instances.instance_create(ctx, {"project_id": ctx.project_id, "metadata": {"k": "v"}}))[
                "uuid"
            ]
            created.append(uuid)
            mine.append(uuid)
            if len(created) == 18:  # some instances were destroyed before now, some will be after
                halfway.append(utcnow())
            await execute(
                db,
                "INSERT INTO instance_actions (action, instance_uuid, request_id, deleted) VALUES ('c', :u, :r, 0)",
                u=uuid,
                r=f"r{worker}-{n}",
            )
            # The instance made before this one goes (two in three of them): the newest rows stay
            # live, so SQLite, which gives a new row the id after the highest one left, never
            # reuses an archived id here (see test_an_instance_made_after_another_was_archived_...).
            if n and (n - 1) % 3 != 2:
                await nova_instances.instance_destroy(ctx, mine[n - 1])
            await asyncio.sleep(0)

    purged: Counter[str] = Counter()

    async def archiver() -> int:
        runs, last = 0, False
        while not last:
            last = done.is_set()  # the last run starts once every instance was made and destroyed
            # capped and uncapped runs in turn: the uncapped ones reach the instances table
            await archive.archive_deleted_rows(admin.elevated(), max_rows=None if last or runs % 2 else 7)
            runs += 1
            if halfway and (runs % 2 == 0 or last):  # every other run purges the rows deleted before halfway
                purged.update(await archive.purge_shadow_tables(admin.elevated(), before=halfway[0]))
            await asyncio.sleep(0)
        return runs

    task = asyncio.create_task(archiver())
    await asyncio.gather(*(churn(w) for w in range(3)))
    done.set()
    assert await task >= 2
    assert await archive.archive_deleted_rows(admin) == {}  # the last run left nothing to archive

    live = {r["uuid"] for r in await select(db, "SELECT uuid FROM instances")}
    shadow = await select(db, "SELECT uuid, deleted_at FROM shadow_instances")
    moved = {r["uuid"] for r in shadow}
    assert purged["shadow_instances"] > 0 and moved  # destroyed before halfway: purged; after: kept
    assert all(r["deleted_at"] >= halfway[0] for r in shadow)
    assert len(shadow) == len(moved)
    assert live <= set(created) and moved <= set(created) and not live & moved
    assert len(live) + len(moved) == len(created) - purged["shadow_instances"]
    assert len(live) == 12 and {r["deleted"] for r in await select(db, "SELECT deleted FROM instances")} == {0}
    assert len(moved) + purged["shadow_instances"] == 24  # every destroyed instance archived in the end
    for table in ("instance_metadata", "instance_actions"):
        rows = [r["instance_uuid"] for r in await select(db, f"SELECT instance_uuid FROM {table}")]
        archived = [r["instance_uuid"] for r in await select(db, f"SELECT instance_uuid FROM shadow_{table}")]
        assert len(archived) == len(set(archived)) and not set(rows) & set(archived)
        assert set(rows) | set(archived) <= set(created)
        assert len(rows) + len(archived) == len(created) - purged[f"shadow_{table}"]  # one row per instance made
