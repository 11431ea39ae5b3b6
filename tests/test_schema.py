"""Schema bootstrap, status and drift check, on every backend."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors, schema
from rawdb.context import Context
from rawdb.schema import files
from rawdb.statement import Statement

OpenDb = Callable[..., Awaitable[rawdb.Database]]
GLANCE_33_MYSQL = Path(__file__).resolve().parent / "upstream" / "glance_33_mysql.sql"
GLANCE_TABLES = {
    "images",
    "image_properties",
    "image_locations",
    "image_members",
    "image_tags",
    "node_reference",
    "cached_images",
}


async def catalog(db: rawdb.Database) -> tuple[list[dict], list[dict]]:
    async with db.reader() as tx:
        columns = await tx.fetch("rawdb.schema.live_columns")
        indexes = await tx.fetch("rawdb.schema.live_indexes")
    return columns, indexes


def drop_index(dialect: str, table: str, index: str) -> str:
    """``DROP INDEX`` as the dialect says it (MySQL names the table)."""
    return f"DROP INDEX {index} ON {table}" if dialect == "mysql" else f"DROP INDEX {index}"


@pytest.fixture
async def mysql_db(mysql_url: str, open_db: OpenDb) -> rawdb.Database:
    """An empty MariaDB/MySQL database (for behaviour only MySQL has)."""
    return await open_db(mysql_url)


async def test_bootstrap_creates_every_glance_table_and_records_versions(db: rawdb.Database) -> None:
    applied = await schema.bootstrap(db, "glance")
    assert [m.version for m in applied] == [m.version for m in schema.migrations("glance", db.dialect)]
    columns, _ = await catalog(db)
    assert GLANCE_TABLES <= {c["table_name"] for c in columns}
    images = [c["column_name"] for c in columns if c["table_name"] == "images"]
    assert len(images) == 20
    statuses = await schema.status(db, "glance")
    assert all(v.applied and v.checksum_ok for v in statuses)


async def test_status_before_bootstrap_lists_every_version_as_not_applied(db: rawdb.Database) -> None:
    statuses = await schema.status(db, "glance")
    assert statuses and not any(v.applied for v in statuses)
    assert all(v.applied_at is None and v.checksum_ok is None for v in statuses)


async def test_bootstrap_twice_changes_nothing(db: rawdb.Database) -> None:
    await schema.bootstrap(db, "glance")
    before = await catalog(db)
    versions_before = await schema.status(db, "glance")
    assert await schema.bootstrap(db, "glance") == []
    assert await catalog(db) == before
    assert await schema.status(db, "glance") == versions_before


@pytest.mark.parametrize("service", ["glance", "nova", "cinder"])
async def test_two_bootstraps_at_once_apply_once_and_both_succeed(url: str, open_db: OpenDb, service: str) -> None:
    first, second = await open_db(url), await open_db(url)
    results = await asyncio.gather(schema.bootstrap(first, service), schema.bootstrap(second, service))
    applied = sorted(len(r) for r in results)
    assert applied == [0, len(schema.migrations(service, first.dialect))]
    async with first.reader() as tx:
        rows = await tx.fetch("rawdb.schema.versions_applied", service=service)
    assert len(rows) == len(schema.migrations(service, first.dialect))
    assert (await schema.check(second, service)).ok


async def test_check_passes_on_a_fresh_bootstrap(glance_db: rawdb.Database) -> None:
    report = await schema.check(glance_db, "glance")
    assert report.ok, report.problems
    assert report.problems == []
    assert report.notes == []  # nothing adopted, nothing widened


async def test_check_detects_a_dropped_index(glance_db: rawdb.Database) -> None:
    async with glance_db.writer() as tx:
        await tx.script(drop_index(glance_db.dialect, "image_tags", "ix_image_tags_value_live"))
    report = await schema.check(glance_db, "glance")
    assert not report.ok
    assert [(p.kind, p.table, p.name) for p in report.problems] == [
        ("missing_index", "image_tags", "ix_image_tags_value_live")
    ]


async def test_check_detects_missing_tables_columns_and_changed_indexes(glance_db: rawdb.Database) -> None:
    async with glance_db.writer() as tx:
        await tx.script(
            "DROP TABLE cached_images; DROP TABLE node_reference; "
            "ALTER TABLE images DROP COLUMN os_hash_algo; "
            f"{drop_index(glance_db.dialect, 'images', 'owner_image_idx')}; "
            "CREATE INDEX owner_image_idx ON images (owner, id)"
        )
    report = await schema.check(glance_db, "glance")
    kinds = {(p.kind, p.table, p.name) for p in report.problems}
    assert ("missing_table", "cached_images", "") in kinds
    assert ("missing_table", "node_reference", "") in kinds
    assert ("missing_column", "images", "os_hash_algo") in kinds
    assert ("index_differs", "images", "owner_image_idx") in kinds
    assert not report.ok


async def test_check_reports_extra_columns_without_calling_them_drift(glance_db: rawdb.Database) -> None:
    async with glance_db.writer() as tx:
        await tx.script("ALTER TABLE images ADD COLUMN note VARCHAR(10)")
    report = await schema.check(glance_db, "glance")
    assert [(p.kind, p.name, p.fatal) for p in report.problems] == [("extra_column", "note", False)]
    assert report.ok


async def test_check_ignores_tables_outside_the_service(glance_db: rawdb.Database) -> None:
    async with glance_db.writer() as tx:
        await tx.script("CREATE TABLE tasks (id VARCHAR(36) PRIMARY KEY)")
    assert (await schema.check(glance_db, "glance")).ok


async def test_check_reports_versions_not_applied(db: rawdb.Database) -> None:
    report = await schema.check(db, "glance")
    assert not report.ok
    kinds = {p.kind for p in report.problems}
    assert {"version_missing", "missing_table"} <= kinds


async def test_a_changed_schema_file_is_refused_and_reported(glance_db: rawdb.Database) -> None:
    tamper = Statement.portable(
        "test.tamper", "UPDATE rawdb_schema_versions SET checksum = :c WHERE service = :s AND version = 1"
    )
    async with glance_db.writer() as tx:
        assert await tx.execute(tamper, c="0" * 64, s="glance") == 1
    with pytest.raises(errors.SchemaError, match="checksum mismatch"):
        await schema.bootstrap(glance_db, "glance")
    statuses = await schema.status(glance_db, "glance")
    assert [v.checksum_ok for v in statuses][:1] == [False]
    report = await schema.check(glance_db, "glance")
    assert ("checksum_mismatch", "0001_glance_tables") in {(p.kind, p.name) for p in report.problems}


async def test_bootstrap_adopts_tables_that_glance_already_created(db: rawdb.Database) -> None:
    first = schema.migrations("glance", db.dialect)[0]
    async with db.writer() as tx:
        await tx.script(first.sql)  # as if glance-manage had made them, without rawdb's records
    applied = await schema.bootstrap(db, "glance")
    assert [m.version for m in applied] == [m.version for m in schema.migrations("glance", db.dialect)]
    assert (await schema.check(db, "glance")).ok


@pytest.fixture
def demo_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "schema"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "0001_first.sql").write_text("CREATE TABLE demo_a (id INTEGER PRIMARY KEY);\n")
    (root / "demo" / "0002_broken.sql").write_text("CREATE TABLE demo_b (id INTEGER PRIMARY KEY);\nCREATE TABLE ;\n")
    monkeypatch.setattr(files, "schema_root", lambda: root)
    return root


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])  # DDL that can be rolled back
async def test_a_failing_script_applies_nothing_at_all(db: rawdb.Database, demo_service: Path) -> None:
    with pytest.raises(errors.DBError):
        await schema.bootstrap(db, "demo")
    columns, _ = await catalog(db)
    assert not {"demo_a", "demo_b", "rawdb_schema_versions"} & {c["table_name"] for c in columns}


async def test_on_mysql_a_failing_script_stops_at_its_version_and_a_rerun_completes(
    mysql_db: rawdb.Database, demo_service: Path
) -> None:
    """MySQL commits DDL as it runs: what ran before the failure stays, and the failed version is not recorded."""
    with pytest.raises(errors.DBError, match="1064"):
        await schema.bootstrap(mysql_db, "demo")
    columns, _ = await catalog(mysql_db)
    assert {"demo_a", "demo_b", "rawdb_schema_versions"} <= {c["table_name"] for c in columns}
    assert [(v.version, v.applied) for v in await schema.status(mysql_db, "demo")] == [(1, True), (2, False)]

    # The script is fixed (written idempotent, as every schema script is): the re-run runs all of
    # version 2 again, over the table its failed run made, and records it.  The failed run's
    # lock went with its connection: waiting a second for it would fail.
    (demo_service / "demo" / "0002_broken.sql").write_text(
        "CREATE TABLE IF NOT EXISTS demo_b (id INTEGER PRIMARY KEY);\nCREATE TABLE IF NOT EXISTS demo_c (id INTEGER);\n"
    )
    applied = await schema.bootstrap(mysql_db, "demo", lock_timeout=1)
    assert [m.version for m in applied] == [2]
    assert all(v.applied and v.checksum_ok for v in await schema.status(mysql_db, "demo"))
    assert await schema.bootstrap(mysql_db, "demo", lock_timeout=1) == []


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])  # SQLite waits on its writer lock, as long as busy_timeout
async def test_a_bootstrap_waits_for_the_lock_and_then_says_it_is_held(url: str, open_db: OpenDb) -> None:
    holder, db = await open_db(url), await open_db(url)
    lock_timeout = Statement.portable("test.lock_timeout", "SELECT current_setting('lock_timeout') AS t")
    async with holder.writer() as tx:
        if db.dialect == "postgresql":
            await tx.script("SET LOCAL lock_timeout = '7s'")
        lock = await tx.fetchrow("rawdb.schema.bootstrap_lock", service="glance", timeout=0)
        assert lock is not None and lock["locked"] == 1
        if db.dialect == "postgresql":  # the wait's own lock_timeout was put back
            assert await tx.fetchval(lock_timeout) == "7s"
        started = time.monotonic()
        held = r"another bootstrap of the glance schema on \S+ (\(connection \d+\) )?held its lock for 0\.5 s"
        with pytest.raises(errors.SchemaError, match=held) as caught:
            await schema.bootstrap(db, "glance", lock_timeout=0.5)
        assert 0.4 < time.monotonic() - started < 30
        assert ("(connection " in str(caught.value)) == (db.dialect == "mysql")  # GET_LOCK's holder is known
        if db.dialect == "mysql":  # a named lock is the session's, not the transaction's
            assert await tx.fetchval("rawdb.schema.bootstrap_unlock", service="glance") == 1
    assert await schema.status(db, "glance") == await schema.status(holder, "glance")
    assert not any(v.applied for v in await schema.status(db, "glance"))
    assert len(await schema.bootstrap(db, "glance", lock_timeout=1)) == len(schema.migrations("glance", db.dialect))


@pytest.mark.parametrize("service", ["glance", "nova", "cinder"])
async def test_a_bootstrap_stopped_before_recording_its_versions_is_completed_by_the_next(
    db: rawdb.Database, service: str
) -> None:
    """A crash right after a script, before its version row: the next run applies it again, over what it made."""
    await schema.bootstrap(db, service)
    before = await catalog(db)
    forget = Statement.portable("test.forget_versions", "DELETE FROM rawdb_schema_versions WHERE service = :s")
    async with db.writer() as tx:
        await tx.execute(forget, s=service)
    applied = await schema.bootstrap(db, service)
    assert [m.version for m in applied] == [m.version for m in schema.migrations(service, db.dialect)]
    assert await catalog(db) == before
    report = await schema.check(db, service)
    assert report.ok and report.problems == [], report.problems


def test_schema_files_must_be_numbered(demo_service: Path) -> None:
    (demo_service / "demo" / "first.sql").write_text("SELECT 1;")
    with pytest.raises(errors.SchemaError, match=r"NNNN_what\.sql"):
        schema.migrations("demo", "sqlite")


def test_a_dialect_file_replaces_the_portable_file_of_the_same_name_on_that_dialect_only(demo_service: Path) -> None:
    (demo_service / "demo" / "mysql").mkdir()
    (demo_service / "demo" / "mysql" / "0002_broken.sql").write_text("CREATE TABLE demo_b (id INTEGER PRIMARY KEY);\n")
    mysql = schema.migrations("demo", "mysql")
    assert [(m.version, m.name) for m in mysql] == [(1, "first"), (2, "broken")]
    paths = [m.path.relative_to(demo_service).as_posix() for m in mysql]
    assert paths == ["demo/0001_first.sql", "demo/mysql/0002_broken.sql"]
    assert "CREATE TABLE ;" not in mysql[1].sql
    assert [m.path.parent.name for m in schema.migrations("demo", "sqlite")] == ["demo", "demo"]


def test_a_dialect_file_taking_a_portable_version_under_another_name_is_refused(demo_service: Path) -> None:
    (demo_service / "demo" / "mysql").mkdir()
    (demo_service / "demo" / "mysql" / "0002_other.sql").write_text("SELECT 1;\n")
    with pytest.raises(errors.SchemaError, match=r"only under the same name \(0002_broken\.sql\)"):
        schema.migrations("demo", "mysql")


def test_two_files_of_one_version_in_a_dialect_folder_are_refused(demo_service: Path) -> None:
    (demo_service / "demo" / "mysql").mkdir()
    (demo_service / "demo" / "mysql" / "0003_one.sql").write_text("SELECT 1;\n")
    (demo_service / "demo" / "mysql" / "0003_two.sql").write_text("SELECT 1;\n")
    with pytest.raises(errors.SchemaError, match="version 3 of demo is also"):
        schema.migrations("demo", "mysql")


@pytest.mark.parametrize("service", ["glance", "nova", "cinder"])
def test_mysql_has_every_version_of_the_other_dialects_and_its_own_partial_index_substitutes(service: str) -> None:
    pg = [(m.version, m.name) for m in schema.migrations(service, "postgresql")]
    mysql = schema.migrations(service, "mysql")
    # MariaDB has no partial indexes: its 0002 replaces the portable one; glance adds a MySQL-only adoption step.
    assert [(m.version, m.name) for m in mysql] == pg + ([(5, "mysql_adopt")] if service == "glance" else [])
    assert mysql[1].path.parent.name == "mysql"
    indexes = [i for m in mysql for i in re.findall(r"CREATE (?:UNIQUE )?INDEX[^;]*;", m.sql)]
    assert indexes and not [i for i in indexes if "WHERE" in i]


def test_an_unknown_service_is_a_clear_error() -> None:
    with pytest.raises(errors.SchemaError, match="no schema for service 'nope'"):
        schema.migrations("nope", "sqlite")


def test_each_dialect_has_the_same_glance_versions() -> None:
    pg = [(m.version, m.name) for m in schema.migrations("glance", "postgresql")]
    lite = [(m.version, m.name) for m in schema.migrations("glance", "sqlite")]
    assert pg == lite


async def test_postgresql_knows_which_property_values_go_with_which_names(pg_db: rawdb.Database) -> None:
    await schema.bootstrap(pg_db, "glance")
    sql = "SELECT stxname, stxkeys::text AS keys, stxexprs IS NOT NULL AS has_expression FROM pg_statistic_ext"
    async with pg_db.reader() as tx:
        found = [dict(row) for row in await tx.fetch(Statement.portable("test.stats", sql))]
    # name and value (columns 3 and 4 of image_properties), and the value's indexed prefix
    assert found == [{"stxname": "st_image_properties_name_value", "keys": "3 4", "has_expression": True}]


# --- MySQL/MariaDB: 4-byte characters, and adopting a database glance-manage made ----------------

FOX = "\U0001f98a fox"  # a 4-byte UTF-8 character (U+1F98A) and ASCII
IMAGE = (
    "INSERT INTO images (id, name, status, visibility, min_disk, min_ram, protected, os_hidden, created_at, deleted) "
    "VALUES (:id, :name, 'active', 'shared', 0, 0, false, false, '2024-06-01 12:00:00', false)"
)


async def test_on_mysql_a_4_byte_character_is_stored_in_rawdbs_tables(mysql_db: rawdb.Database) -> None:
    await schema.bootstrap(mysql_db, "glance")
    await execute(mysql_db, IMAGE, id="i1", name=FOX)
    await execute(
        mysql_db,
        "INSERT INTO image_tags (image_id, value, created_at, deleted) VALUES ('i1', :v, '2024-06-01', false)",
        v="\U0001f600",
    )
    assert await select(mysql_db, "SELECT name FROM images WHERE name = :n", n=FOX) == [{"name": FOX}]
    assert await select(mysql_db, "SELECT value FROM image_tags") == [{"value": "\U0001f600"}]


async def test_on_mysql_a_utf8mb3_table_refuses_a_4_byte_character_clearly_and_keeps_nothing(
    mysql_db: rawdb.Database,
) -> None:
    """A table as older OpenStack releases made them: the write fails as bad data, and nothing of it stays."""
    async with mysql_db.writer() as tx:
        await tx.script(
            "CREATE TABLE legacy_tags (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, value VARCHAR(255) NOT NULL) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci"
        )
    insert = "INSERT INTO legacy_tags (value) VALUES (:v)"
    with pytest.raises(errors.DBDataError, match=r"Incorrect string value: .*legacy_tags.*value") as caught:
        await execute(mysql_db, insert, v=FOX)
    assert caught.value.errorname == "1366"
    with pytest.raises(errors.DBDataError):
        async with mysql_db.writer() as tx:  # a transaction that wrote a row first: all of it is rolled back
            assert await tx.execute(Statement.portable("test.legacy_insert", insert), v="plain") == 1
            await tx.execute(Statement.portable("test.legacy_insert", insert), v=FOX)
    assert await count_rows(mysql_db, "legacy_tags") == 0
    await execute(mysql_db, insert, v="plain \u00e9")  # 3-byte UTF-8 is fine there
    assert await select(mysql_db, "SELECT value FROM legacy_tags") == [{"value": "plain \u00e9"}]


async def load_glance_33(db: rawdb.Database) -> None:
    """What ``glance-manage db sync`` (glance 33.0.0) makes on MySQL, from tests/upstream/."""
    async with db.writer() as tx:
        await tx.script(GLANCE_33_MYSQL.read_text(encoding="utf-8"), GLANCE_33_MYSQL.name)


async def glance_rows(db: rawdb.Database) -> list[list[dict]]:
    return [
        await select(db, "SELECT id, name, status, created_at, updated_at FROM images ORDER BY id"),
        await select(db, "SELECT image_id, name, value, created_at FROM image_properties ORDER BY id"),
        await select(db, "SELECT image_id, member, status, deleted_at FROM image_members ORDER BY id"),
        await select(db, "SELECT image_id, value FROM image_tags ORDER BY id"),
        await select(db, "SELECT image_id, value, meta_data FROM image_locations ORDER BY id"),
        await select(db, "SELECT image_id, last_accessed, node_reference_id FROM cached_images ORDER BY id"),
    ]


async def test_on_mysql_bootstrap_adopts_a_database_glance_manage_made(mysql_db: rawdb.Database) -> None:
    db = mysql_db
    await load_glance_33(db)
    await execute(db, IMAGE, id="i1", name="Ubuntu")
    await execute(
        db,
        "INSERT INTO image_properties (image_id, name, value, created_at, deleted) "
        "VALUES ('i1', 'os_distro', 'Ubuntu', '2024-06-01 12:00:01', false)",
    )
    for member in ("Bob", "bob"):  # glance's utf8mb3_general_ci has them equal, its key lets both in
        await execute(
            db,
            "INSERT INTO image_members (image_id, member, can_share, status, created_at, deleted) "
            "VALUES ('i1', :m, false, 'accepted', '2024-06-01 12:00:02', false)",
            m=member,
        )
    await execute(
        db, "INSERT INTO image_tags (image_id, value, created_at, deleted) VALUES ('i1', 'Foo', '2024-06-01', false)"
    )
    await execute(
        db,
        "INSERT INTO image_locations (image_id, value, meta_data, status, created_at, deleted) "
        "VALUES ('i1', 'file:///i1', '{}', 'active', '2024-06-01', false)",
    )
    await execute(db, "INSERT INTO node_reference (node_reference_url) VALUES ('http://node1')")
    await execute(
        db,
        "INSERT INTO cached_images (image_id, last_accessed, last_modified, size, hits, node_reference_id) "
        "SELECT 'i1', '2024-06-01 12:00:03', '2024-06-01 12:00:03', 1, 0, node_reference_id FROM node_reference",
    )
    before = await glance_rows(db)
    with pytest.raises(errors.DBDataError, match="Incorrect string value"):
        await execute(db, IMAGE, id="i2", name=FOX)  # glance's utf8mb3 tables
    assert await select(db, "SELECT count(*) AS n FROM images WHERE name = 'ubuntu'") == [{"n": 1}]

    report = await schema.check(db, "glance")
    assert not report.ok
    differs = [p for p in report.problems if p.kind == "column_differs"]
    assert ("images", "name", "varchar(255) collate utf8mb4_nopad_bin", "varchar(255) collate utf8mb3_general_ci") in {
        (p.table, p.name, p.expected, p.live) for p in differs
    }
    assert ("images", "created_at", "datetime(6) NOT NULL", "datetime NOT NULL") in {
        (p.table, p.name, p.expected, p.live) for p in differs
    }
    assert any(n.startswith(f"{len(differs)} column(s) differ only in collation") for n in report.notes)
    assert any(n.startswith("0005_mysql_adopt.sql is not applied") and "DATETIME(6)" in n for n in report.notes)

    applied = await schema.bootstrap(db, "glance")
    assert [m.name for m in applied] == [
        "glance_tables",
        "rawdb_indexes",
        "image_cache_index",
        "property_statistics",
        "mysql_adopt",
    ]
    report = await schema.check(db, "glance")
    assert report.ok and report.problems == [], report.problems
    [widened] = report.notes  # no drift, and what adoption widened is said
    assert widened.startswith("glance's own tools made this database (alembic_version table)")
    assert "widened every DATETIME of glance's tables that rawdb uses to DATETIME(6)" in widened
    assert "utf8mb4_nopad_bin" in widened
    assert await schema.bootstrap(db, "glance") == []

    assert await glance_rows(db) == before  # converted in place, values kept
    constraints = await select(
        db,
        "SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS c FROM information_schema.REFERENTIAL_CONSTRAINTS "
        "WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME",
    )
    assert [(r["t"], r["c"]) for r in constraints] == [  # glance's foreign keys, under glance's names
        ("cached_images", "cached_images_ibfk_1"),
        ("image_locations", "image_locations_ibfk_1"),
        ("image_members", "image_members_ibfk_1"),
        ("image_properties", "image_properties_ibfk_1"),
        ("image_tags", "image_tags_ibfk_1"),
        ("metadef_namespace_resource_types", "metadef_namespace_resource_types_ibfk_1"),
        ("metadef_namespace_resource_types", "metadef_namespace_resource_types_ibfk_2"),
        ("metadef_objects", "metadef_objects_ibfk_1"),
        ("metadef_properties", "metadef_properties_ibfk_1"),
        ("metadef_tags", "metadef_tags_ibfk_1"),
        ("task_info", "task_info_ibfk_1"),
    ]
    collations = await select(
        db,
        "SELECT TABLE_NAME AS t, TABLE_COLLATION AS c FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('images', 'cached_images', 'tasks') ORDER BY TABLE_NAME",
    )
    assert [(r["t"], r["c"]) for r in collations] == [
        ("cached_images", "utf8mb4_nopad_bin"),
        ("images", "utf8mb4_nopad_bin"),
        ("tasks", "utf8mb3_general_ci"),  # glance's other tables are glance's business
    ]
    assert await select(db, "SELECT version_num FROM alembic_version") == [{"version_num": "2024_1_contract01"}]

    await execute(db, IMAGE, id="i2", name=FOX)
    assert await select(db, "SELECT name FROM images WHERE id = 'i2'") == [{"name": FOX}]
    assert await select(db, "SELECT count(*) AS n FROM images WHERE name = 'ubuntu'") == [{"n": 0}]
    with pytest.raises(errors.DBDuplicateEntry):  # the live-member key rawdb adds (0002), exact: Bob is not bob
        await execute(
            db,
            "INSERT INTO image_members (image_id, member, can_share, status, created_at, deleted) "
            "VALUES ('i1', 'bob', false, 'pending', '2024-06-02', false)",
        )
    await execute(
        db,
        "UPDATE images SET updated_at = :t WHERE id = 'i1'",
        t=datetime(2024, 6, 2, 1, 2, 3, 456789),
    )
    assert (await select(db, "SELECT updated_at FROM images WHERE id = 'i1'"))[0]["updated_at"].microsecond == 456789


@pytest.mark.parametrize("service", ["glance", "nova", "cinder"])
async def test_on_mysql_bootstrap_status_and_check_ignore_ddl_running_in_other_databases(
    mysql_url: str, open_db: OpenDb, service: str
) -> None:
    """Their information_schema reads open only this database's tables.

    A catalog read that scans the whole server opens the tables other databases are creating,
    altering and dropping, and MariaDB skips one whose definition is changing at that moment
    with warning 1684, which strict sql_mode makes an error in a statement that writes
    (0005_mysql_adopt's CREATE TEMPORARY TABLE ... SELECT was one): with two other databases
    running DDL in a loop, such a script failed in most runs.
    """
    db = await open_db(mysql_url)
    parts = urlsplit(mysql_url)
    others = [f"{parts.path.strip('/')}_ddl{n}" for n in range(2)]
    async with db.writer() as tx:
        for name in others:
            await tx.script(f"CREATE DATABASE {name}")
    stop = asyncio.Event()

    async def churn(name: str) -> int:  # tables named as the services' own, in and out of existence
        other = await open_db(urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, "")))
        rounds = 0
        while not stop.is_set():
            async with other.writer() as tx:
                await tx.script("CREATE TABLE images (id INTEGER PRIMARY KEY)")
                await tx.script("CREATE TABLE image_tags (id INTEGER PRIMARY KEY, v VARCHAR(9), KEY (v))")
                await tx.script("ALTER TABLE image_tags ADD COLUMN quota_usages DATETIME")
                await tx.script("DROP TABLE images, image_tags")
            rounds += 1
        return rounds

    churning = [asyncio.create_task(churn(name)) for name in others]
    try:
        await asyncio.sleep(0.1)
        if service == "glance":
            await load_glance_33(db)  # adoption: 0005_mysql_adopt reads the catalog before each step
        await schema.bootstrap(db, service)
        statuses = await schema.status(db, service)
        report = await schema.check(db, service)
        # Each run meets the other databases' DDL at other moments: the scripts that read the
        # catalog (idempotent, as every script), as bootstrap runs them (under its lock), and
        # check's reads, again and again.
        again = [m for m in schema.migrations(service, "mysql") if "information_schema" in m.sql]
        async with Context(db, is_admin=True).writer(autocommit=True) as tx:
            assert (await tx.fetchrow("rawdb.schema.bootstrap_lock", service=service, timeout=10) or {})["locked"] == 1
            deadline, runs = time.monotonic() + 2, 0
            while runs < 3 or time.monotonic() < deadline:
                runs += 1
                for migration in again:
                    await tx.script(migration.sql, migration.path.name)
                assert await tx.fetch("rawdb.schema.live_columns") == await tx.fetch("rawdb.schema.live_columns")
                await tx.fetch("rawdb.schema.live_indexes")
            assert await tx.fetchval("rawdb.schema.bootstrap_unlock", service=service) == 1
    finally:
        stop.set()
        rounds = await asyncio.gather(*churning)
        async with db.writer() as tx:
            for name in others:
                await tx.script(f"DROP DATABASE IF EXISTS {name}")
    assert min(rounds) >= 2  # the other databases' DDL ran throughout
    assert all(v.applied and v.checksum_ok for v in statuses)
    assert report.ok and report.problems == [], report.problems
    assert (await schema.check(db, service)).problems == []  # the repeated scripts changed nothing


def _glance_manage() -> str:
    """The glance-manage given in RAWDB_TEST_GLANCE_MANAGE (CI installs glance 33 for it)."""
    manage = os.environ.get("RAWDB_TEST_GLANCE_MANAGE")
    if not manage:
        reason = "set RAWDB_TEST_GLANCE_MANAGE to a glance-manage (glance 33.0.0, with PyMySQL) to run this"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (.ci/run installs one)", pytrace=False)
        pytest.skip(reason)
    return manage


async def glance_manage_db_sync(url: str, tmp_path: Path) -> None:
    """Run ``glance-manage db sync`` on ``url`` (a rawdb URL), as an operator would."""
    scheme, _, rest = url.partition("://")
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}[scheme]
    parts = urlsplit(f"{driver}://{rest}")
    if scheme == "postgresql":  # the test's schema: rawdb takes it as ?search_path=, libpq as options
        search_path = dict(p.split("=", 1) for p in parts.query.split("&") if p).get("search_path")
        query = f"options=-csearch_path%3D{search_path}" if search_path else ""
        parts = parts._replace(query=query)
    connection = url if scheme == "sqlite" else urlunsplit(parts)  # (urlunsplit would drop a / of sqlite:////)
    config = tmp_path / "glance.conf"
    config.write_text(f"[database]\nconnection = {connection}\n")
    sync = await asyncio.create_subprocess_exec(
        _glance_manage(),
        "--config-file",
        str(config),
        "db",
        "sync",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await sync.communicate()
    assert sync.returncode == 0, output.decode()


async def test_a_database_glance_manage_made_is_adopted_and_checks_without_drift(
    backend: str, url: str, open_db: OpenDb, tmp_path: Path
) -> None:
    """No false drift where glance's types differ only in name (SQLite: images.size INTEGER, not BIGINT)."""
    await glance_manage_db_sync(url, tmp_path)
    db = await open_db(url)
    applied = await schema.bootstrap(db, "glance")
    assert [m.name for m in applied] == [m.name for m in schema.migrations("glance", db.dialect)]
    report = await schema.check(db, "glance")
    assert report.ok and report.problems == [], report.problems


async def test_on_mysql_the_recorded_glance_schema_is_what_glance_manage_makes(
    mysql_url: str, mysql_db: rawdb.Database, tmp_path: Path
) -> None:
    """tests/upstream/glance_33_mysql.sql against a real ``glance-manage db sync``."""
    await glance_manage_db_sync(mysql_url, tmp_path)
    made = await catalog(mysql_db)
    assert (await schema.bootstrap(mysql_db, "glance")) and (await schema.check(mysql_db, "glance")).ok

    tables = [
        r["t"]
        for r in await select(
            mysql_db, "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
    ]
    async with mysql_db.writer() as tx:
        await tx.script(f"SET foreign_key_checks = 0; DROP TABLE {', '.join(tables)}; SET foreign_key_checks = 1")
    await load_glance_33(mysql_db)
    recorded = await catalog(mysql_db)
    for made_rows, recorded_rows in zip(made, recorded, strict=True):
        assert [r for r in made_rows if r not in recorded_rows] == [r for r in recorded_rows if r not in made_rows]
    assert recorded == made
