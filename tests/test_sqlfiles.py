"""The SQL file loader, parameter conversion, and every shipped statement preparing on every backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rawdb
from rawdb import errors, schema
from rawdb.sqlfiles import load, registry
from rawdb.statement import Statement, convert

LOCAL_CACHE = "glance._cache_stores."  # the image cache's own cache.db (SQLite only), not the glance schema


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("service", ["glance", "nova", "cinder"])
async def test_every_shipped_statement_prepares_on_every_backend(db: rawdb.Database, service: str) -> None:
    await schema.bootstrap(db, service)  # each service has its own database: their tables collide
    statements = registry()
    names = sorted(
        name
        for name, stmt in statements.items()
        if name.startswith((f"{service}.", "rawdb."))
        and not name.startswith(LOCAL_CACHE)
        and db.dialect in stmt.variants
    )
    assert any(name.startswith(f"{service}.") for name in names), f"no {service} statements in sql/"
    async with db.writer() as tx:
        for name in names:
            await tx.prepare(name)


async def test_the_local_image_cache_statements_prepare_on_a_cache_db(sqlite_db: rawdb.Database) -> None:
    names = sorted(name for name in registry() if name.startswith(LOCAL_CACHE))
    assert "glance._cache_stores.create_table" in names
    async with sqlite_db.writer() as tx:
        await tx.execute("glance._cache_stores.create_table")
        for name in names:
            await tx.prepare(name)


def test_every_statement_exists_for_every_dialect_unless_marked_for_some() -> None:
    marked = {
        name: sorted(s.variants)
        for name, s in registry().items()
        if len(s.variants) < 3 and not name.startswith(LOCAL_CACHE)
    }
    assert all(registry()[name].variants.keys() == {"sqlite"} for name in registry() if name.startswith(LOCAL_CACHE))
    postgresql_only = {"reserve", "finish", "project_lock"}
    # MySQL: the quota engine's locked paths and the read-backs of INSERTs (no RETURNING)
    mysql_only = {"usages_lock_limits", "finish_lock", "finish_apply", "fence"} | {
        f"{table}_read_back" for table in ("quota", "user_quota", "quota_class", "reservation")
    }
    # The two-statement finish of PostgreSQL's slow path and SQLite, which MySQL does its own way
    not_mysql = {"finish_usages", "finish_reservations"}
    expected = {
        f"{service}.quota.{name}": dialects
        for service in ("nova", "cinder")
        for names, dialects in (
            (postgresql_only, ["postgresql"]),
            (mysql_only, ["mysql"]),
            (not_mysql, ["postgresql", "sqlite"]),
        )
        for name in names
        # cinder has no per-user quotas, and no project totals to serialise
        if service == "nova" or name not in {"project_lock", "fence", "user_quota_read_back"}
    }
    # MySQL: a named lock outlives the transaction (released by name), and check's way back
    # from its scratch database
    expected |= {"rawdb.schema.bootstrap_unlock": ["mysql"], "rawdb.schema.current_database": ["mysql"]}
    # Address and target claims of several callers sharing a transaction: one statement where
    # the backend can, else a (locking) pick and one UPDATE
    expected |= {
        "cinder.iscsi.allocate_many": ["postgresql", "sqlite"],
        "cinder.iscsi.allocate_claim_many": ["mysql"],
        "nova.fixed_ips.pool_claim_many": ["postgresql"],
        "nova.fixed_ips.pool_take": ["mysql", "sqlite"],
        "nova.fixed_ips.pool_pick": ["mysql"],
        "nova.fixed_ips.claim_many": ["sqlite"],
        "nova.floating_ips.allocate_many": ["postgresql", "sqlite"],
        "nova.floating_ips.allocate_pick_many": ["mysql"],
        "nova.floating_ips.allocate_claim_many": ["mysql"],
    }
    assert marked == expected


def test_a_statement_marked_for_two_dialects_has_exactly_those(tmp_path: Path) -> None:
    write(tmp_path, "a/b.postgresql.sql", "-- name: s (postgresql, sqlite only)\n-- Two.\nSELECT 2\n")
    write(tmp_path, "a/b.sqlite.sql", "-- name: s (sqlite, postgresql only)\n-- Two.\nSELECT 1\n")
    stmt = load(tmp_path)["a.b.s"]
    assert sorted(stmt.variants) == ["postgresql", "sqlite"]
    write(tmp_path, "a/b.mysql.sql", "-- name: s\n-- Three.\nSELECT 3\n")
    with pytest.raises(
        errors.SQLLoadError, match=r"b.mysql.sql:1: statement a.b.s is \(postgresql, sqlite only\) in a mysql"
    ):
        load(tmp_path)


def test_a_statement_without_text_for_some_dialect_is_a_load_error(tmp_path: Path) -> None:
    write(tmp_path, "a/b.postgresql.sql", "-- name: s\n-- One.\nSELECT 2\n")
    write(tmp_path, "a/b.sqlite.sql", "-- name: s\n-- One.\nSELECT 1\n")
    with pytest.raises(
        errors.SQLLoadError, match=re.escape("statement a.b.s has no mysql variant and no portable text")
    ):
        load(tmp_path)


async def test_prepare_reports_an_unknown_column_as_a_db_error(glance_db: rawdb.Database) -> None:
    broken = Statement.portable("test.broken", "SELECT no_such_column FROM images WHERE id = :id")
    async with glance_db.reader() as tx:
        with pytest.raises(errors.DBError):
            await tx.prepare(broken)


def test_statement_names_come_from_the_file_path(tmp_path: Path) -> None:
    write(
        tmp_path,
        "glance/images.sql",
        "-- name: image_get\n-- One image.\nSELECT * FROM images WHERE id = :id\n",
    )
    statements = load(tmp_path)
    assert list(statements) == ["glance.images.image_get"]
    stmt = statements["glance.images.image_get"]
    assert stmt.doc == "One image."
    assert stmt.source.endswith("glance/images.sql:1")
    assert stmt.compiled("postgresql").sql == "SELECT * FROM images WHERE id = $1"
    assert stmt.compiled("sqlite").sql == "SELECT * FROM images WHERE id = ?1"


def test_dialect_file_replaces_the_portable_text_for_that_dialect_only(tmp_path: Path) -> None:
    write(tmp_path, "a/b.sql", "-- name: s\n-- Portable.\nSELECT 1\n")
    write(tmp_path, "a/b.postgresql.sql", "-- name: s\n-- PostgreSQL flavour.\nSELECT 2\n")
    stmt = load(tmp_path)["a.b.s"]
    assert stmt.compiled("postgresql").sql == "SELECT 2"
    assert stmt.compiled("sqlite").sql == "SELECT 1"


def test_a_statement_marked_for_one_dialect_has_only_that_variant(tmp_path: Path) -> None:
    write(tmp_path, "a/b.postgresql.sql", "-- name: s (postgresql only)\n-- A CTE SQLite lacks.\nSELECT 1\n")
    stmt = load(tmp_path)["a.b.s"]
    assert list(stmt.variants) == ["postgresql"]
    with pytest.raises(errors.StatementError, match="no sqlite variant"):
        stmt.compiled("sqlite")


def test_schema_scripts_are_not_named_statements(tmp_path: Path) -> None:
    write(tmp_path, "schema/glance/postgresql/0001_x.sql", "CREATE TABLE x (id int);\n")
    write(tmp_path, "a/b.sql", "-- name: s\n-- Doc.\nSELECT 1\n")
    assert list(load(tmp_path)) == ["a.b.s"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a/b.sql": "-- name: s\nSELECT 1\n"}, "b.sql:1: statement a.b.s has no doc comment"),
        ({"a/b.sql": "SELECT 1\n-- name: s\n-- Doc.\nSELECT 1\n"}, "b.sql:1: SQL before the first"),
        (
            {"a/b.sql": "-- name: s\n-- Doc.\nSELECT 1\n\n-- name: s\n-- Again.\nSELECT 2\n"},
            "b.sql:5: statement a.b.s is defined twice",
        ),
        ({"a/b.sql": "-- name: s\n-- Doc.\n\n"}, "b.sql:1: statement a.b.s is empty"),
        ({"a/b.sql": "-- name: bad-name\n-- Doc.\nSELECT 1\n"}, "b.sql:1: bad statement name"),
        ({"a/b.oracle.sql": "-- name: s\n-- Doc.\nSELECT 1\n"}, "b.oracle.sql:1: unknown dialect suffix"),
        (
            {"a/b.mysql.sql": "-- name: s\n-- Only here.\nSELECT 1\n"},
            "b.mysql.sql:1: statement a.b.s has no postgresql variant",
        ),
        (
            {"a/b.postgresql.sql": "-- name: s\n-- Only here.\nSELECT 1\n"},
            "b.postgresql.sql:1: statement a.b.s has no sqlite variant",
        ),
        (
            {
                "a/b.sql": "-- name: s\n-- Portable.\nSELECT :key\n",
                "a/b.mysql.sql": "-- name: s\n-- Another name.\nSELECT :service, :timeout\n",
            },
            "b.mysql.sql:1: statement a.b.s takes ['service', 'timeout'] on mysql but ['key'] on postgresql",
        ),
        (
            {"a/b.sqlite.sql": "-- name: s (postgresql only)\n-- Misplaced.\nSELECT 1\n"},
            "is (postgresql only) in a sqlite file",
        ),
        ({"a/b.sql": "-- name: s (oracle only)\n-- No.\nSELECT 1\n"}, "unknown dialect 'oracle'"),
    ],
)
def test_load_errors_name_file_and_line(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for rel, text in files.items():
        write(tmp_path, rel, text)
    with pytest.raises(errors.SQLLoadError) as caught:
        load(tmp_path)
    assert message in str(caught.value)


def test_a_repeated_parameter_reuses_its_number() -> None:
    compiled = convert("SELECT * FROM t WHERE owner = :owner OR (:owner IS NULL AND x = :x)", "postgresql")
    assert compiled.sql == "SELECT * FROM t WHERE owner = $1 OR ($1 IS NULL AND x = $2)"
    assert compiled.names == ("owner", "x")
    assert convert("SELECT :a, :a", "sqlite").sql == "SELECT ?1, ?1"


def test_casts_strings_identifiers_and_comments_are_left_alone() -> None:
    sql = "SELECT :v::int, ':not', \"a:b\", $$x:y$$ -- :comment\nFROM t /* :block */ WHERE y = :y"
    compiled = convert(sql, "postgresql")
    assert compiled.sql == "SELECT $1::int, ':not', \"a:b\", $$x:y$$ -- :comment\nFROM t /* :block */ WHERE y = $2"
    assert compiled.names == ("v", "y")


def test_any_list_stays_an_array_on_postgresql_and_reads_json_on_sqlite() -> None:
    pg = convert("SELECT id FROM t WHERE id = ANY(:ids) AND x <> ALL(:skip)", "postgresql")
    assert pg.sql == "SELECT id FROM t WHERE id = ANY($1) AND x <> ALL($2)"
    lite = convert("SELECT id FROM t WHERE id = ANY(:ids) AND x <> ALL(:skip)", "sqlite")
    assert lite.sql == (
        "SELECT id FROM t WHERE id IN (SELECT value FROM json_each(?1)) AND x NOT IN (SELECT value FROM json_each(?2))"
    )
    assert lite.bind("t", {"ids": ["a", "b"], "skip": []}) == ['["a", "b"]', "[]"]
    with pytest.raises(errors.StatementError, match="must be a list"):
        lite.bind("t", {"ids": "abc", "skip": []})


async def test_any_list_membership_gives_the_same_rows_on_both_backends(db: rawdb.Database) -> None:
    async with db.writer() as tx:
        await tx.script("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(10))")
        for i, name in enumerate(["a", "b", "c", "d"], start=1):
            await tx.execute(Statement.portable("t.ins", "INSERT INTO t VALUES (:id, :name)"), id=i, name=name)
        select = Statement.portable("t.sel", "SELECT id FROM t WHERE name = ANY(:names) ORDER BY id")
        assert [r["id"] for r in await tx.fetch(select, names=["d", "b", "zz"])] == [2, 4]
        assert await tx.fetch(select, names=[]) == []
        exclude = Statement.portable("t.not", "SELECT id FROM t WHERE name <> ALL(:names) ORDER BY id")
        assert [r["id"] for r in await tx.fetch(exclude, names=["a"])] == [2, 3, 4]


def test_binding_reports_missing_and_unknown_parameters() -> None:
    compiled = convert("SELECT :a + :b", "postgresql")
    with pytest.raises(errors.StatementError, match=":b"):
        compiled.bind("test.sum", {"a": 1})
    with pytest.raises(errors.StatementError, match="unknown parameter"):
        compiled.bind("test.sum", {"a": 1, "b": 2, "c": 3})
