"""Transaction scopes: commit, rollback, joining, savepoints, modes, misuse and contexts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from faulttools import IDS, INSERT, SQLITE_ROWS_PER_SECOND, committed_ids, make_items, slow

import rawdb
from rawdb import errors
from rawdb.transaction import TxState

INSERT_RETURNING = rawdb.Statement.portable(
    "test.items.insert_returning", "INSERT INTO items (id, name) VALUES (:id, :name) RETURNING id"
)
SOME = rawdb.Statement.portable("test.items.some", "SELECT id, name FROM items WHERE id = ANY(:ids) ORDER BY id")


class Boom(Exception):
    pass


# --- commit and rollback ------------------------------------------------------------


async def test_writer_commits_on_exit_and_a_later_reader_sees_the_row(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        assert await tx.execute(INSERT, id=1, name="one") == 1
    assert tx.transaction is not None and tx.transaction.state is TxState.COMMITTED
    async with ctx.reader() as rx:
        assert await rx.fetch(SOME, ids=[1]) == [{"id": 1, "name": "one"}]


async def test_exception_in_writer_rolls_back_everything(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    with pytest.raises(Boom):
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="one")
            await tx.execute(INSERT, id=2, name="two")
            raise Boom
    assert tx.transaction is not None and tx.transaction.state is TxState.ROLLEDBACK
    assert await committed_ids(db) == []
    assert db.stats()["in_use"] == 0


# --- joining ------------------------------------------------------------------------


async def test_reader_inside_writer_joins_and_sees_the_uncommitted_row(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="one")
        async with tx.reader() as rx:
            assert rx.transaction is tx.transaction
            assert await rx.fetch(IDS) == [{"id": 1}]
        # a scope of its own (another connection) does not see the uncommitted row
        assert await committed_ids(db) == []
        # leaving the joined reader neither ended nor committed the writer's transaction
        assert tx.transaction is not None and tx.transaction.state is TxState.STARTED
    assert await committed_ids(db) == [1]


async def test_writer_inside_writer_joins_and_does_not_commit_on_its_own(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    with pytest.raises(Boom):
        async with ctx.writer() as tx:
            async with tx.writer() as inner:
                assert inner.transaction is tx.transaction
                await inner.execute(INSERT, id=1, name="one")
            assert tx.transaction is not None and tx.transaction.state is TxState.STARTED
            assert await committed_ids(db) == []
            raise Boom
    assert await committed_ids(db) == []


# --- savepoints ---------------------------------------------------------------------


async def test_savepoint_rollback_keeps_outer_work(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="outer")
        with pytest.raises(Boom):
            async with tx.savepoint() as sp:
                await sp.execute(INSERT, id=2, name="inner")
                raise Boom
        assert await tx.fetch(IDS) == [{"id": 1}]
        await tx.execute(INSERT, id=3, name="after")
    assert await committed_ids(db) == [1, 3]


async def test_savepoint_released_on_success_keeps_its_work(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        async with tx.savepoint() as sp:
            await sp.execute(INSERT, id=1, name="inner")
        await tx.execute(INSERT, id=2, name="outer")
    assert await committed_ids(db) == [1, 2]


async def test_error_caught_inside_savepoint_rolls_it_back_and_outer_commits(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="outer")
        async with tx.savepoint() as sp:
            await sp.execute(INSERT, id=2, name="inner")
            with pytest.raises(errors.DBDuplicateEntry):
                await sp.execute(INSERT, id=1, name="duplicate")
        # the transaction goes on after the block
        assert await tx.fetch(IDS) == [{"id": 1}]
        await tx.execute(INSERT, id=3, name="after")
    assert await committed_ids(db) == [1, 3]


async def test_error_escaping_a_savepoint_rolls_it_back_and_outer_can_commit(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="outer")
        with pytest.raises(errors.DBDuplicateEntry):
            async with tx.savepoint() as sp:
                await sp.execute(INSERT, id=2, name="inner")
                await sp.execute(INSERT, id=1, name="duplicate")
        await tx.execute(INSERT, id=3, name="after")
    assert await committed_ids(db) == [1, 3]


async def test_nested_savepoints_roll_back_only_the_failing_level(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        async with tx.savepoint() as outer_sp:
            await outer_sp.execute(INSERT, id=1, name="level 1")
            async with tx.savepoint() as inner_sp:
                await inner_sp.execute(INSERT, id=2, name="level 2")
                with pytest.raises(errors.DBDuplicateEntry):
                    await inner_sp.execute(INSERT, id=1, name="duplicate")
            await outer_sp.execute(INSERT, id=3, name="level 1 again")
    assert await committed_ids(db) == [1, 3]


async def test_caught_error_without_savepoint_aborts_the_transaction(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    with pytest.raises(errors.DBInvalidTransaction) as exit_error:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="one")
            with pytest.raises(errors.DBDuplicateEntry):
                await tx.execute(INSERT, id=1, name="duplicate")
            with pytest.raises(errors.DBInvalidTransaction):
                await tx.execute(INSERT, id=2, name="two")
            with pytest.raises(errors.DBInvalidTransaction):
                await tx.fetch(IDS)
    assert isinstance(exit_error.value.__cause__, errors.DBDuplicateEntry)
    assert tx.transaction is not None and tx.transaction.state is TxState.ROLLEDBACK
    assert await committed_ids(db) == []
    assert db.stats()["in_use"] == 0


# --- modes --------------------------------------------------------------------------


async def test_writer_inside_reader_raises_scope_error(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.reader() as rx:
        with pytest.raises(errors.ScopeError):
            async with rx.writer():
                pass
        # the reader is still usable
        assert await rx.fetch(IDS) == []


async def test_writer_function_called_with_reader_bound_context_raises_scope_error(
    db: rawdb.Database,
) -> None:
    ctx = await make_items(db)
    calls = 0

    @rawdb.writer
    async def add(context: rawdb.Context, item_id: int) -> None:
        nonlocal calls
        calls += 1
        await context.execute(INSERT, id=item_id, name="x")

    async with ctx.reader() as rx:
        with pytest.raises(errors.ScopeError):
            await add(rx, 1)
    assert calls == 0
    assert await committed_ids(db) == []


async def test_execute_in_reader_raises_scope_error(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.reader() as rx:
        with pytest.raises(errors.ScopeError):
            await rx.execute(INSERT, id=1, name="one")
        with pytest.raises(errors.ScopeError):
            await rx.script("CREATE TABLE other (id INTEGER)")
    assert await committed_ids(db) == []


async def test_write_through_fetch_in_reader_raises_read_only_error(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.reader() as rx:
        with pytest.raises(errors.DBReadOnlyTransaction):
            await rx.fetch(INSERT_RETURNING, id=1, name="one")
    assert await committed_ids(db) == []


async def test_replica_reader_without_replicas_reads_the_primary(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="one")
    async with ctx.reader(replica=True) as rx:
        assert await rx.fetch(IDS) == [{"id": 1}]
        with pytest.raises(errors.ScopeError):
            await rx.execute(INSERT, id=2, name="two")


# --- misuse -------------------------------------------------------------------------


async def test_bound_context_used_after_its_scope_ended_raises_scope_error(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="one")
    with pytest.raises(errors.ScopeError):
        await tx.fetch(IDS)
    with pytest.raises(errors.ScopeError):
        await tx.execute(INSERT, id=2, name="two")
    with pytest.raises(errors.ScopeError):
        async with tx.reader():
            pass
    async with ctx.reader() as rx:
        pass
    with pytest.raises(errors.ScopeError):
        await rx.fetch(IDS)
    assert await committed_ids(db) == [1]


async def test_unbound_context_refuses_statements(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    with pytest.raises(errors.ScopeError):
        await ctx.fetch(IDS)
    with pytest.raises(errors.ScopeError):
        await ctx.execute(INSERT, id=1, name="one")


async def test_second_task_on_a_busy_bound_transaction_gets_scope_error(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    started = asyncio.Event()

    async def first(tx: rawdb.Context) -> Any:
        started.set()
        return await slow(tx, seconds=0.3)

    async def second(tx: rawdb.Context) -> Any:
        await started.wait()
        await asyncio.sleep(0.05)  # the first statement is running now
        return await tx.fetch(IDS)

    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="one")
        results = await asyncio.gather(first(tx), second(tx), return_exceptions=True)
        assert isinstance(results[1], errors.ScopeError)
        expected = int(SQLITE_ROWS_PER_SECOND * 0.3) if db.dialect == "sqlite" else 1
        assert results[0] == expected
        # the refused statement did not abort the transaction
        assert await tx.fetch(IDS) == [{"id": 1}]
    assert await committed_ids(db) == [1]


# --- decorators ---------------------------------------------------------------------


async def test_decorated_functions_open_their_own_scope_when_unbound(db: rawdb.Database) -> None:
    ctx = await make_items(db)

    @rawdb.writer
    async def add(context: rawdb.Context, item_id: int) -> rawdb.Context:
        await context.execute(INSERT, id=item_id, name="x")
        return context

    @rawdb.reader
    async def ids(context: rawdb.Context) -> tuple[rawdb.Context, list[int]]:
        return context, [row["id"] for row in await context.fetch(IDS)]

    bound = await add(ctx, 1)
    assert bound is not ctx and ctx.transaction is None
    assert bound.transaction is not None
    assert bound.transaction.mode == "writer"
    assert bound.transaction.state is TxState.COMMITTED

    read_ctx, seen = await ids(ctx)
    assert seen == [1]
    assert read_ctx.transaction is not None
    assert read_ctx.transaction.mode == "reader"
    assert read_ctx.transaction is not bound.transaction


async def test_decorated_functions_join_a_bound_context(db: rawdb.Database) -> None:
    ctx = await make_items(db)

    @rawdb.writer
    async def add(context: rawdb.Context, item_id: int) -> rawdb.Context:
        await context.execute(INSERT, id=item_id, name="x")
        return context

    @rawdb.reader
    async def ids(context: rawdb.Context) -> tuple[rawdb.Context, list[int]]:
        return context, [row["id"] for row in await context.fetch(IDS)]

    with pytest.raises(Boom):
        async with ctx.writer() as tx:
            joined = await add(tx, 1)
            assert joined.transaction is tx.transaction
            assert tx.transaction is not None and tx.transaction.state is TxState.STARTED
            read_ctx, seen = await ids(tx)
            assert read_ctx.transaction is tx.transaction
            assert seen == [1]
            raise Boom
    # the joined writer did not commit on its own
    assert await committed_ids(db) == []

    async with ctx.reader() as rx:
        read_ctx, _ = await ids(rx)
        assert read_ctx.transaction is rx.transaction


async def test_decorated_function_needs_a_context(db: rawdb.Database) -> None:
    @rawdb.reader
    async def nothing(context: rawdb.Context) -> None:
        return None

    with pytest.raises(errors.ScopeError):
        await nothing(db)  # type: ignore[arg-type]


# --- contexts -----------------------------------------------------------------------


async def test_elevated_context_is_an_admin_copy(db: rawdb.Database) -> None:
    ctx = rawdb.Context(db, project_id="p1", user_id="u1", roles=["member"])
    admin = ctx.elevated()
    assert admin is not ctx
    assert admin.is_admin and admin.roles == ["member", "admin"]
    assert admin.project_id == "p1" and admin.user_id == "u1"
    assert not ctx.is_admin and ctx.roles == ["member"]
    assert ctx.elevated(read_deleted="yes").read_deleted == "yes"
    assert ctx.read_deleted == "no"
    with pytest.raises(errors.Invalid):
        ctx.elevated(read_deleted="maybe")
    # already an admin: no second "admin" role
    assert admin.elevated().roles == ["member", "admin"]


async def test_elevated_bound_context_stays_in_the_same_transaction(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        admin = tx.elevated()
        assert admin.transaction is tx.transaction
        await admin.execute(INSERT, id=1, name="one")
        assert await tx.fetch(IDS) == [{"id": 1}]
    assert await committed_ids(db) == [1]


async def test_owner_and_can_see_deleted(db: rawdb.Database) -> None:
    plain = rawdb.Context(db, project_id="p1")
    assert plain.owner == "p1"
    assert rawdb.Context(db).owner is None
    assert not plain.can_see_deleted
    assert rawdb.Context(db, show_deleted=True).can_see_deleted
    assert rawdb.Context(db, is_admin=True).can_see_deleted
    assert plain.elevated().can_see_deleted


async def test_bad_read_deleted_or_roles_is_invalid(db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid):
        rawdb.Context(db, read_deleted="sometimes")
    with pytest.raises(errors.Invalid):
        rawdb.Context(db, roles="admin")
    for value in ("no", "yes", "only"):
        assert rawdb.Context(db, read_deleted=value).read_deleted == value


async def test_context_flags_given_as_strings_are_parsed_as_oslo_does_never_truthy_cast(db: rawdb.Database) -> None:
    assert rawdb.Context(db, is_admin="false").is_admin is False
    assert rawdb.Context(db, is_admin="True").is_admin is True
    assert rawdb.Context(db, show_deleted="0").show_deleted is False
    for bad in ("maybe", 2, [], None):
        with pytest.raises(errors.Invalid, match="is_admin"):
            rawdb.Context(db, is_admin=bad)


@pytest.mark.parametrize("field", ["project_id", "user_id", "quota_class"])
@pytest.mark.parametrize("value", [5, b"p1", "p\x00", "\ud800", "x" * 256], ids=["int", "bytes", "nul", "lone", "long"])
async def test_context_ids_no_database_could_hold_are_invalid_at_once(
    db: rawdb.Database, field: str, value: object
) -> None:
    with pytest.raises(errors.Invalid, match=field):
        rawdb.Context(db, **{field: value})  # type: ignore[arg-type]


async def test_bound_context_is_a_new_object_and_the_original_stays_unbound(db: rawdb.Database) -> None:
    ctx = rawdb.Context(db, project_id="p1", user_id="u1", is_admin=False, roles=["member"])
    async with ctx.reader() as rx:
        assert rx is not ctx
        assert ctx.transaction is None
        assert rx.transaction is not None
        assert (rx.project_id, rx.user_id, rx.is_admin, rx.roles) == ("p1", "u1", False, ["member"])
        assert rx.db is db
    async with ctx.writer() as tx:
        assert tx is not ctx and tx is not rx
        assert tx.transaction is not rx.transaction
    assert ctx.transaction is None


# --- independent writers ------------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)  # SQLite: one writer, next test
async def test_independent_writer_commits_when_the_outer_rolls_back(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    with pytest.raises(Boom):
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="outer")
            async with tx.writer(independent=True) as ind:
                assert ind.transaction is not tx.transaction
                await ind.execute(INSERT, id=2, name="independent")
            # committed already, while the outer transaction is still open
            assert await committed_ids(db) == [2]
            raise Boom
    assert await committed_ids(db) == [2]


async def test_sqlite_independent_writer_inside_writer_raises_scope_error_at_once(
    sqlite_db: rawdb.Database,
) -> None:
    ctx = await make_items(sqlite_db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="outer")
        started = time.perf_counter()
        with pytest.raises(errors.ScopeError):
            async with tx.writer(independent=True):
                pass
        assert time.perf_counter() - started < 0.5  # refused, not waiting for itself
        assert sqlite_db.stats()["writers_waiting"] == 0
    assert await committed_ids(sqlite_db) == [1]


async def test_sqlite_independent_writer_inside_reader_commits(sqlite_db: rawdb.Database) -> None:
    ctx = await make_items(sqlite_db)
    async with ctx.reader() as rx:
        assert await rx.fetch(IDS) == []
        async with rx.writer(independent=True) as ind:
            assert ind.transaction is not rx.transaction
            assert ind.transaction is not None and ind.transaction.mode == "writer"
            await ind.execute(INSERT, id=1, name="independent")
        assert ind.transaction.state is TxState.COMMITTED
    assert await committed_ids(sqlite_db) == [1]
