"""OpenStack's shared conventions on every backend: read_deleted per soft-delete flavour,
project_only, the authorization helpers, soft delete, rows from values dicts, retries."""

from __future__ import annotations

import gc
import ipaddress
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pypika import Table
from sqltools import select, timestamp_type

import rawdb
from rawdb import conventions, errors, schema
from rawdb.conventions import Flavour
from rawdb.queries import Param, Query, compile_statement

FLAVOURS = {
    # flavour: (the deleted column's type, its live value, a deleted row's value)
    "int": ("INTEGER NOT NULL DEFAULT 0", 0, None),
    "str": ("VARCHAR(36) NOT NULL DEFAULT ''", "", None),
    "bool": ("BOOLEAN NOT NULL DEFAULT FALSE", False, True),
}


async def make_table(db: rawdb.Database, flavour: str) -> None:
    """``things``: two live rows and one soft-deleted one of the flavour, with project ids."""
    declared, live, _ = FLAVOURS[flavour]
    key = "INTEGER" if flavour != "str" else "VARCHAR(36)"
    ts = timestamp_type(db.dialect)
    async with db.writer() as tx:
        await tx.script(
            f"CREATE TABLE things (id {key} PRIMARY KEY, project_id VARCHAR(255), name VARCHAR(20), "
            f"created_at {ts}, updated_at {ts}, deleted_at {ts}, deleted {declared})"
        )
        insert = rawdb.Statement.portable(
            f"test.conv.insert_{flavour}",
            "INSERT INTO things (id, project_id, name, updated_at, deleted) VALUES (:id, :p, :name, :u, :d)",
        )
        ids = ["1", "2", "3", "4"] if flavour == "str" else [1, 2, 3, 4]
        then = datetime(2020, 1, 1)
        await tx.execute(insert, id=ids[0], p="p1", name="live-p1", u=then, d=live)
        await tx.execute(insert, id=ids[1], p="p2", name="live-p2", u=then, d=live)
        await tx.execute(insert, id=ids[2], p=None, name="live-none", u=then, d=live)
        deleted = True if flavour == "bool" else ids[3]
        await tx.execute(insert, id=ids[3], p="p1", name="gone-p1", u=then, d=deleted)


def names(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(row["name"] for row in rows)


@pytest.mark.parametrize("flavour", ["int", "str", "bool"])
async def test_read_deleted_macro_shows_live_deleted_or_all_rows_for_each_flavour(
    db: rawdb.Database, flavour: str
) -> None:
    await make_table(db, flavour)
    query = rawdb.Statement.portable(
        f"test.conv.read_{flavour}", f"SELECT name FROM things t WHERE READ_DELETED(t.deleted, {flavour})"
    )
    expected = {
        "no": ["live-none", "live-p1", "live-p2"],
        "only": ["gone-p1"],
        "yes": ["gone-p1", "live-none", "live-p1", "live-p2"],
    }
    for value, wanted in expected.items():
        ctx = rawdb.Context(db, is_admin=True, read_deleted=value)
        async with ctx.reader() as rx:
            assert names(await rx.fetch(query, read_deleted=conventions.read_deleted(rx))) == wanted, value
        # the same predicate, built for a dynamic query
        things = Table("things")
        criterion = conventions.read_deleted_criterion(things.deleted, Flavour(flavour), value)
        q = Query.from_(things).select(things.name)
        if criterion is not None:
            q = q.where(criterion)
        statement = compile_statement(f"test.conv.dynamic_{flavour}_{value}", q)
        async with ctx.reader() as rx:
            assert names(await rx.fetch(statement)) == wanted, value


async def test_read_deleted_takes_the_override_then_the_context_and_refuses_anything_else(db: rawdb.Database) -> None:
    ctx = rawdb.Context(db, read_deleted="only")
    assert conventions.read_deleted(ctx) == "only"
    assert conventions.read_deleted(ctx, "yes") == "yes"
    assert conventions.read_deleted(ctx, None) == "only"
    assert conventions.read_deleted(ctx, False) == "only"  # upstream's `read_deleted or context.read_deleted`
    for bad in ("maybe", "NO", 1, True):
        with pytest.raises(errors.InvalidReadDeleted) as caught:
            conventions.read_deleted(ctx, bad)
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, errors.Invalid)
    with pytest.raises(ValueError, match="read_deleted"):
        rawdb.Context(db, read_deleted="sometimes")
    with pytest.raises(errors.InvalidReadDeleted):
        ctx.elevated(read_deleted="never")


CONTEXTS = {
    "admin": {"is_admin": True, "project_id": "p1", "user_id": "u1"},
    "user": {"project_id": "p1", "user_id": "u1"},
    "no project": {"user_id": "u1"},
}
PROJECT_ONLY = {
    # (context, mode): the live rows seen
    ("admin", True): ["live-none", "live-p1", "live-p2"],
    ("admin", "allow_none"): ["live-none", "live-p1", "live-p2"],
    ("user", True): ["live-p1"],
    ("user", "allow_none"): ["live-none", "live-p1"],
    ("user", False): ["live-none", "live-p1", "live-p2"],
    ("no project", True): ["live-none", "live-p1", "live-p2"],  # not a user context: not applied
}


@pytest.mark.parametrize(("who", "mode"), list(PROJECT_ONLY))
async def test_project_only_restricts_user_contexts_only(db: rawdb.Database, who: str, mode: Any) -> None:
    await make_table(db, "int")
    ctx = rawdb.Context(db, **CONTEXTS[who])
    query = rawdb.Statement.portable(
        "test.conv.project_only",
        "SELECT name FROM things t WHERE PROJECT_ONLY(t.project_id) AND READ_DELETED(t.deleted, int)",
    )
    async with ctx.reader() as rx:
        rows = await rx.fetch(query, read_deleted="no", **conventions.project_only(rx, mode))
    assert names(rows) == PROJECT_ONLY[(who, mode)]
    things = Table("things")
    q = Query.from_(things).select(things.name).where(things.deleted == Param("zero"))
    criterion = conventions.project_only_criterion(things.project_id, ctx, mode)
    if criterion is not None:
        q = q.where(criterion)
    shape = f"{who}_{mode}".replace(" ", "_")
    async with ctx.reader() as rx:
        params = {"zero": 0} | ({"project_only": ctx.project_id} if criterion is not None else {})
        assert (
            names(await rx.fetch(compile_statement(f"test.conv.po_{shape}", q), **params)) == PROJECT_ONLY[(who, mode)]
        )


async def test_project_only_refuses_an_unknown_mode(db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid, match="project_only"):
        conventions.project_only(rawdb.Context(db, **CONTEXTS["user"]), "yes")


async def test_authorization_helpers_refuse_who_upstream_refuses(db: rawdb.Database) -> None:
    admin = rawdb.Context(db, **CONTEXTS["admin"])
    user = rawdb.Context(db, **CONTEXTS["user"], quota_class="gold")
    nobody = rawdb.Context(db, **CONTEXTS["no project"])

    @conventions.require_context
    async def anyone(context: rawdb.Context) -> str:
        return "ok"

    @conventions.require_admin_context
    async def admins(context: rawdb.Context) -> str:
        return "ok"

    assert await anyone(admin) == await anyone(user) == await admins(admin) == "ok"
    with pytest.raises(errors.NotAuthorized):
        await anyone(nobody)
    with pytest.raises(errors.AdminRequired):
        await admins(user)
    with pytest.raises(errors.ScopeError):
        await anyone("not a context")  # type: ignore[arg-type]
    for check, own, other in (
        (conventions.authorize_project_context, "p1", "p2"),
        (conventions.authorize_user_context, "u1", "u2"),
        (conventions.authorize_quota_class_context, "gold", "silver"),
    ):
        check(user, own)
        check(admin, other)  # admins reach everything
        with pytest.raises(errors.NotAuthorized):
            check(user, other)
    with pytest.raises(errors.NotAuthorized):  # a user context without a class reaches none
        conventions.authorize_quota_class_context(rawdb.Context(db, **CONTEXTS["user"]), "gold")
    assert conventions.is_user_context(user) and not conventions.is_user_context(admin)
    assert not conventions.is_user_context(nobody)


@pytest.mark.parametrize("flavour", ["int", "str", "bool"])
async def test_soft_delete_bulk_keeps_updated_at_and_object_bumps_it(db: rawdb.Database, flavour: str) -> None:
    await make_table(db, flavour)
    now = datetime(2024, 5, 6, 7, 8, 9, 123456)
    for kind, name in (("bulk", "live-p1"), ("object", "live-p2")):
        statement = rawdb.Statement.portable(
            f"test.conv.soft_delete_{flavour}_{kind}",
            f"UPDATE things SET SOFT_DELETE({flavour}, {kind}) WHERE name = :n",
        )
        async with db.writer() as tx:
            assert await tx.execute(statement, n=name, now=now) == 1
    rows = {r["name"]: r for r in await select(db, "SELECT id, name, updated_at, deleted_at, deleted FROM things")}
    assert rows["live-p1"]["updated_at"] == datetime(2020, 1, 1)  # bulk: kept
    assert rows["live-p2"]["updated_at"] == now  # object: bumped
    for name in ("live-p1", "live-p2"):
        assert rows[name]["deleted_at"] == now
        assert rows[name]["deleted"] == (True if flavour == "bool" else rows[name]["id"])


def test_a_misspelled_convention_macro_is_a_load_error_naming_it() -> None:
    with pytest.raises(errors.SQLLoadError, match="READ_DELETED"):
        rawdb.Statement.portable("test.conv.bad", "SELECT 1 FROM t WHERE READ_DELETED(t.deleted, integer)")
    with pytest.raises(errors.SQLLoadError, match="bulk or object"):
        rawdb.Statement.portable("test.conv.bad2", "UPDATE t SET SOFT_DELETE(int, now)")


# --- rows from values dicts ---------------------------------------------------------------------

INSERT_IMAGE = rawdb.Statement.portable(
    "glance.tests.image_insert",
    "INSERT INTO images (id, name, size, min_disk, min_ram, protected, status, visibility, created_at, "
    "updated_at, deleted, os_hidden) VALUES (:id, :name, :size, COALESCE(:min_disk, 0), COALESCE(:min_ram, 0), "
    "COALESCE(:protected, FALSE), COALESCE(:status, 'queued'), 'private', :created_at, :updated_at, FALSE, FALSE) "
    "RETURNING id, name, size, min_disk, min_ram, protected, status, created_at, updated_at",
)


async def insert(db: rawdb.Database, values: Any, **options: Any) -> dict[str, Any]:
    async with db.writer() as tx:
        rows = await conventions.insert_values(tx, INSERT_IMAGE, values, **options)
    return rows[0]


async def test_values_accept_what_upstreams_orm_accepted(glance_db: rawdb.Database) -> None:
    aware = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    row = await insert(
        glance_db,
        {
            "id": "i1",
            "name": "cirros",
            "size": "1048576",  # an integer given as a string
            "min_ram": " 512 ",
            "protected": "false",  # oslo's boolean strings
            "created_at": aware,  # stored as naive UTC
            "no_such_column": None,  # a key the table lacks, set to None: ignored
        },
    )
    assert row["size"] == 1048576 and row["min_ram"] == 512 and row["min_disk"] == 0
    assert row["protected"] is False and row["status"] == "queued"
    assert row["created_at"] == datetime(2024, 1, 2, 1, 4, 5)  # honoured, in UTC
    assert row["updated_at"] is None
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    row = await insert(glance_db, {"id": "i2", "updated_at": "2024-02-03T04:05:06.000007"}, parse_times=True)
    assert row["updated_at"] == datetime(2024, 2, 3, 4, 5, 6, 7)
    assert row["created_at"] >= before  # now, when not given


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"id": "i9", "no_such_column": "x"}, "no_such_column"),
        ({"id": "i9", "deleted": True}, "deleted"),  # a column the statement does not take
        ({"id": "i9", "size": "ten"}, "size"),
        ({"id": "i9", "size": 2**63}, "size"),
        ({"id": "i9", "min_disk": 2**31}, "min_disk"),
        ({"id": "i9", "min_disk": 1.5}, "min_disk"),
        ({"id": "i9", "protected": "maybe"}, "protected"),
        ({"id": "i9", "name": "x" * 256}, "name"),
        ({"id": "i9", "name": "nul\x00"}, "name"),
        ({"id": "i9", "name": "\ud800"}, "name"),
        ({"id": "i9", "name": 5}, "name"),
        ({"id": "i9", "updated_at": "2024-02-03"}, "updated_at"),  # strings only where upstream parsed them
        ({"id": None}, "id"),
    ],
)
async def test_values_a_column_cannot_hold_are_invalid_naming_the_key_and_nothing_is_written(
    glance_db: rawdb.Database, values: dict[str, Any], named: str
) -> None:
    with pytest.raises(errors.Invalid, match=named):
        await insert(glance_db, values)
    assert await select(glance_db, "SELECT id FROM images") == []


async def test_values_must_be_a_dict(glance_db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid, match="values must be a dict"):
        await insert(glance_db, [("id", "i1")])


async def test_address_objects_are_stored_as_their_text(url: str, open_db: Any) -> None:
    db = await open_db(url)
    await schema.bootstrap(db, "nova")
    statement = rawdb.Statement.portable(
        "nova.tests.fixed_ip_insert",
        "INSERT INTO fixed_ips (address, created_at, allocated, leased, reserved, deleted) "
        "VALUES (:address, :created_at, FALSE, FALSE, FALSE, 0) RETURNING id",
    )
    async with db.writer() as tx:
        await conventions.insert_values(tx, statement, {"address": ipaddress.ip_address("10.0.0.5")})
        await conventions.insert_values(tx, statement, {"address": ipaddress.ip_address("fe80::1")})
    rows = await select(db, "SELECT address FROM fixed_ips ORDER BY id")
    assert [str(r["address"]) for r in rows] == ["10.0.0.5", "fe80::1"]


def test_column_types_are_read_from_the_schema_scripts() -> None:
    columns = conventions.table_columns("nova")["instances"]
    assert columns["memory_mb"].kind == "integer"
    assert columns["hostname"].kind == "string" and columns["hostname"].length == 255
    assert columns["launched_at"].kind == "datetime"
    assert conventions.table_columns("cinder")["volumes"]["deleted"].kind == "boolean"
    assert conventions.table_columns("glance")["images"]["size"].kind == "bigint"


# --- retries ---------------------------------------------------------------------------------------


async def test_writer_retry_reruns_the_whole_scope_on_a_deadlock(db: rawdb.Database) -> None:
    attempts = 0

    @rawdb.writer(retry=True, interval=0.001)
    async def flaky(context: rawdb.Context) -> int:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise errors.DBDeadlock()
        return attempts

    assert await flaky(rawdb.Context(db)) == 3


def test_retry_on_deadlock_under_writer_is_refused_when_decorating() -> None:
    with pytest.raises(errors.ScopeError, match="never retries"):

        @rawdb.writer
        @rawdb.retry_on_deadlock
        async def misplaced(context: rawdb.Context) -> None:
            pass

    @rawdb.retry_on_deadlock
    @rawdb.writer
    async def placed(context: rawdb.Context) -> None:  # above @writer: fine
        pass


def test_collection_deferred_pauses_the_collector_for_its_block_and_restores_it() -> None:
    assert gc.isenabled()
    with conventions.collection_deferred():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), conventions.collection_deferred():
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()  # an application that runs without the collector keeps it off
    try:
        with conventions.collection_deferred():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
