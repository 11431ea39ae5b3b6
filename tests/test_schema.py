"""Schema bootstrap, status and drift check, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import rawdb
from rawdb import errors, schema
from rawdb.schema import files
from rawdb.statement import Statement

OpenDb = Callable[..., Awaitable[rawdb.Database]]
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


async def test_two_bootstraps_at_once_apply_once_and_both_succeed(url: str, open_db: OpenDb) -> None:
    first, second = await open_db(url), await open_db(url)
    results = await asyncio.gather(schema.bootstrap(first, "glance"), schema.bootstrap(second, "glance"))
    applied = sorted(len(r) for r in results)
    assert applied == [0, len(schema.migrations("glance", first.dialect))]
    async with first.reader() as tx:
        rows = await tx.fetch("rawdb.schema.versions_applied", service="glance")
    assert len(rows) == len(schema.migrations("glance", first.dialect))


async def test_check_passes_on_a_fresh_bootstrap(glance_db: rawdb.Database) -> None:
    report = await schema.check(glance_db, "glance")
    assert report.ok, report.problems
    assert report.problems == []


async def test_check_detects_a_dropped_index(glance_db: rawdb.Database) -> None:
    async with glance_db.writer() as tx:
        await tx.script("DROP INDEX ix_image_tags_value_live")
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
            "DROP INDEX owner_image_idx; CREATE INDEX owner_image_idx ON images (owner, id)"
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


async def test_a_failing_script_applies_nothing_at_all(db: rawdb.Database, demo_service: Path) -> None:
    with pytest.raises(errors.DBError):
        await schema.bootstrap(db, "demo")
    columns, _ = await catalog(db)
    assert not {"demo_a", "demo_b", "rawdb_schema_versions"} & {c["table_name"] for c in columns}


def test_schema_files_must_be_numbered(demo_service: Path) -> None:
    (demo_service / "demo" / "first.sql").write_text("SELECT 1;")
    with pytest.raises(errors.SchemaError, match=r"NNNN_what\.sql"):
        schema.migrations("demo", "sqlite")


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
