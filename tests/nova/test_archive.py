"""nova's archive of soft-deleted rows and the shadow-table purge (spec D.8, E.5 14), on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import _archive_tables as tables
from rawdb.nova import archive
from rawdb.nova import instances as nova_instances

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


async def test_archive_while_instances_come_and_go_loses_and_duplicates_nothing(admin: rawdb.Context) -> None:
    db = admin.db
    created: list[str] = []
    done = asyncio.Event()

    async def churn(worker: int) -> None:
        for n in range(12):
            ctx = rawdb.Context(db, project_id=f"w{worker}", user_id="u")
            uuid = (await nova_instances.instance_create(ctx, {"project_id": ctx.project_id, "metadata": {"k": "v"}}))[
                "uuid"
            ]
            created.append(uuid)
            await execute(
                db,
                "INSERT INTO instance_actions (action, instance_uuid, request_id, deleted) VALUES ('c', :u, :r, 0)",
                u=uuid,
                r=f"r{worker}-{n}",
            )
            if n % 3 != 2:
                await nova_instances.instance_destroy(ctx, uuid)
            await asyncio.sleep(0)

    async def archiver() -> int:
        runs = 0
        while not done.is_set() or runs < 2:
            await archive.archive_deleted_rows(admin.elevated(), max_rows=7)
            runs += 1
            await asyncio.sleep(0)
        return runs

    task = asyncio.create_task(archiver())
    await asyncio.gather(*(churn(w) for w in range(3)))
    done.set()
    assert await task >= 2
    await archive.archive_deleted_rows(admin)

    live = {r["uuid"] for r in await select(db, "SELECT uuid FROM instances")}
    shadow = [r["uuid"] for r in await select(db, "SELECT uuid FROM shadow_instances")]
    assert len(shadow) == len(set(shadow))
    assert live | set(shadow) == set(created) and not live & set(shadow)
    assert len(shadow) == 24  # every destroyed instance archived in the end
    for table in ("instance_metadata", "instance_actions"):
        rows = [r["instance_uuid"] for r in await select(db, f"SELECT instance_uuid FROM {table}")]
        moved = [r["instance_uuid"] for r in await select(db, f"SELECT instance_uuid FROM shadow_{table}")]
        assert sorted(rows + moved) == sorted(created)
