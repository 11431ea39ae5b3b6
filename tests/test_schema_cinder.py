"""The cinder schema (Folsom tables, HEAD quota tables), bootstrapped on every backend."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqltools import execute, select, stmt

import rawdb
from rawdb import errors, schema
from rawdb.cli import main
from rawdb.timeutils import utcnow

CINDER_TABLES = {
    "volumes",
    "volume_metadata",
    "volume_types",
    "volume_type_extra_specs",
    "snapshots",
    "iscsi_targets",
    "services",
    "migrations",
    "quotas",
    "quota_classes",
    "quota_usages",
    "reservations",
    "sm_flavors",
    "sm_backend_config",
    "sm_volume",
}
DEFAULT_QUOTA_CLASS = {
    "volumes": 10,
    "snapshots": 10,
    "gigabytes": 1000,
    "per_volume_gigabytes": -1,
    "groups": 10,
    "backups": 10,
    "backup_gigabytes": 1000,
}


async def catalog(db: rawdb.Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with db.reader() as tx:
        columns = [dict(r) for r in await tx.fetch("rawdb.schema.live_columns")]
        indexes = [dict(r) for r in await tx.fetch("rawdb.schema.live_indexes")]
    return columns, indexes


@pytest.fixture
async def cinder_db(db: rawdb.Database) -> rawdb.Database:
    await schema.bootstrap(db, "cinder")
    return db


async def add_usage(db: rawdb.Database, project: str, resource: str, race_preventer: bool | None = True) -> int:
    return await execute(
        db,
        "INSERT INTO quota_usages (project_id, resource, in_use, reserved, race_preventer) VALUES (:p, :r, 0, 0, :rp)",
        p=project,
        r=resource,
        rp=race_preventer,
    )


# --- bootstrap and check -------------------------------------------------------------------


async def test_bootstrap_applies_every_version_and_creates_the_tables(db: rawdb.Database) -> None:
    applied = await schema.bootstrap(db, "cinder")
    assert [m.version for m in applied] == [m.version for m in schema.migrations("cinder", db.dialect)]
    columns, indexes = await catalog(db)
    assert CINDER_TABLES <= {c["table_name"] for c in columns}
    assert all(v.applied and v.checksum_ok for v in await schema.status(db, "cinder"))
    volumes = [c["column_name"] for c in columns if c["table_name"] == "volumes"]
    assert len(volumes) == 25
    names = {(i["table_name"], i["index_name"]) for i in indexes}
    assert {
        ("quota_usages", "quota_usage_project_resource_idx"),
        ("quota_usages", "ix_quota_usages_project_id"),
        ("reservations", "reservations_deleted_expire_idx"),
        ("reservations", "reservations_deleted_uuid_idx"),
        ("reservations", "ix_reservations_usage_id"),
        ("reservations", "ix_reservations_project_id"),
        ("quota_classes", "ix_quota_classes_class_name"),
        ("quotas", "ix_quotas_project_id"),
    } <= names


async def test_quota_columns_are_as_cinder_head_has_them(cinder_db: rawdb.Database) -> None:
    columns, _ = await catalog(cinder_db)
    spec = {(c["table_name"], c["column_name"]): (c["type"].lower(), bool(c["not_null"])) for c in columns}
    varchar = "character varying" if cinder_db.dialect == "postgresql" else "varchar"
    boolean = "tinyint(1)" if cinder_db.dialect == "mysql" else "boolean"
    integer = "int" if cinder_db.dialect == "mysql" else "integer"
    assert spec[("quota_usages", "resource")] == (f"{varchar}(300)", False)
    assert spec[("quota_usages", "race_preventer")] == (boolean, False)
    assert spec[("quota_usages", "in_use")][1] and spec[("quota_usages", "reserved")][1]
    assert spec[("reservations", "resource")] == (f"{varchar}(300)", False)
    assert spec[("reservations", "usage_id")] == (integer, False)
    assert spec[("reservations", "delta")] == (integer, True)
    assert spec[("quotas", "resource")] == (f"{varchar}(300)", True)
    assert spec[("volumes", "deleted")] == (boolean, False)


async def test_a_second_bootstrap_changes_nothing(cinder_db: rawdb.Database) -> None:
    before = await catalog(cinder_db)
    versions = await schema.status(cinder_db, "cinder")
    rows = await select(cinder_db, "SELECT id, class_name, resource, hard_limit FROM quota_classes ORDER BY id")
    assert await schema.bootstrap(cinder_db, "cinder") == []
    assert await catalog(cinder_db) == before
    assert await schema.status(cinder_db, "cinder") == versions
    assert await select(cinder_db, "SELECT id, class_name, resource, hard_limit FROM quota_classes ORDER BY id") == rows


async def test_check_passes_on_a_fresh_bootstrap(cinder_db: rawdb.Database) -> None:
    report = await schema.check(cinder_db, "cinder")
    assert report.ok, report.problems
    assert report.problems == []


async def test_check_detects_a_dropped_head_index(cinder_db: rawdb.Database) -> None:
    async with cinder_db.writer() as tx:
        on = " ON reservations" if cinder_db.dialect == "mysql" else ""
        await tx.script(f"DROP INDEX reservations_deleted_uuid_idx{on}")
    report = await schema.check(cinder_db, "cinder")
    assert not report.ok
    assert [(p.kind, p.table, p.name) for p in report.problems] == [
        ("missing_index", "reservations", "reservations_deleted_uuid_idx")
    ]


async def test_bootstrap_adopts_tables_cinder_already_created(db: rawdb.Database) -> None:
    first = schema.migrations("cinder", db.dialect)[0]
    async with db.writer() as tx:
        await tx.script(first.sql)  # as if cinder had made them, seeds included, without rawdb's records
    await schema.bootstrap(db, "cinder")
    assert (await schema.check(db, "cinder")).ok
    rows = await select(db, "SELECT resource FROM quota_classes")
    assert sorted(r["resource"] for r in rows) == sorted(DEFAULT_QUOTA_CLASS)


def test_each_dialect_has_the_same_cinder_versions() -> None:
    pg = [(m.version, m.name) for m in schema.migrations("cinder", "postgresql")]
    lite = [(m.version, m.name) for m in schema.migrations("cinder", "sqlite")]
    mysql = [(m.version, m.name) for m in schema.migrations("cinder", "mysql")]
    assert pg == lite == mysql


# --- seeded rows ---------------------------------------------------------------------------


async def test_default_quota_class_rows_are_seeded_exactly_once(db: rawdb.Database) -> None:
    await schema.bootstrap(db, "cinder")
    first = schema.migrations("cinder", db.dialect)[0]
    async with db.writer() as tx:
        await tx.script(first.sql)  # re-running the file must not seed again
    await schema.bootstrap(db, "cinder")
    rows = await select(
        db, "SELECT class_name, resource, hard_limit, deleted, deleted_at, created_at FROM quota_classes ORDER BY id"
    )
    assert [(r["class_name"], r["resource"], r["hard_limit"]) for r in rows] == [
        ("default", resource, limit) for resource, limit in DEFAULT_QUOTA_CLASS.items()
    ]
    assert all(r["deleted"] is False and r["deleted_at"] is None and r["created_at"] is not None for r in rows)


async def test_an_existing_live_default_row_is_left_alone(db: rawdb.Database) -> None:
    first = schema.migrations("cinder", db.dialect)[0]
    async with db.writer() as tx:
        await tx.script(first.sql)
        await tx.execute(stmt("UPDATE quota_classes SET hard_limit = 50 WHERE resource = 'volumes'"))
        await tx.execute(stmt("UPDATE quota_classes SET deleted = true WHERE resource = 'groups'"))
    await schema.bootstrap(db, "cinder")
    rows = await select(db, "SELECT resource, hard_limit, deleted FROM quota_classes WHERE NOT deleted")
    live = {r["resource"]: r["hard_limit"] for r in rows}
    assert live == {**DEFAULT_QUOTA_CLASS, "volumes": 50}
    assert len(rows) == len(DEFAULT_QUOTA_CLASS)


# --- constraints ---------------------------------------------------------------------------


async def test_race_preventer_allows_one_live_usage_row_per_project_resource(cinder_db: rawdb.Database) -> None:
    await add_usage(cinder_db, "p1", "volumes")
    with pytest.raises(errors.DBDuplicateEntry) as info:
        await add_usage(cinder_db, "p1", "volumes")
    assert info.value.columns == ["project_id", "resource", "race_preventer"]
    await add_usage(cinder_db, "p1", "gigabytes")
    await add_usage(cinder_db, "p2", "volumes")
    rows = await select(cinder_db, "SELECT race_preventer, deleted FROM quota_usages WHERE project_id = 'p1'")
    assert [(r["race_preventer"], r["deleted"]) for r in rows] == [(True, False), (True, False)]


async def test_the_server_default_race_preventer_is_true(cinder_db: rawdb.Database) -> None:
    await execute(
        cinder_db, "INSERT INTO quota_usages (project_id, resource, in_use, reserved) VALUES ('p', 'r', 0, 0)"
    )
    with pytest.raises(errors.DBDuplicateEntry):
        await execute(
            cinder_db, "INSERT INTO quota_usages (project_id, resource, in_use, reserved) VALUES ('p', 'r', 1, 0)"
        )


async def test_soft_deleted_usage_rows_never_collide(cinder_db: rawdb.Database) -> None:
    await add_usage(cinder_db, "p1", "volumes")
    soft_delete = (
        "UPDATE quota_usages SET deleted = true, race_preventer = NULL, deleted_at = :now "
        "WHERE project_id = 'p1' AND resource = 'volumes' AND NOT deleted"
    )
    assert await execute(cinder_db, soft_delete, now=utcnow()) == 1
    await add_usage(cinder_db, "p1", "volumes")  # a new live row beside the deleted one
    assert await execute(cinder_db, soft_delete, now=utcnow()) == 1
    await add_usage(cinder_db, "p1", "volumes", race_preventer=None)  # two deleted-style rows too
    rows = await select(cinder_db, "SELECT race_preventer FROM quota_usages WHERE project_id = 'p1' ORDER BY id")
    assert [r["race_preventer"] for r in rows] == [None, None, None]


async def test_iscsi_target_num_is_unique_per_host(cinder_db: rawdb.Database) -> None:
    insert = "INSERT INTO iscsi_targets (target_num, host, deleted) VALUES (:n, :h, false)"
    await execute(cinder_db, insert, n=1, h="host1")
    await execute(cinder_db, insert, n=1, h="host2")
    await execute(cinder_db, insert, n=2, h="host1")
    with pytest.raises(errors.DBDuplicateEntry) as info:
        await execute(cinder_db, insert, n=1, h="host1")
    assert info.value.columns == ["target_num", "host"]
    assert len(await select(cinder_db, "SELECT id FROM iscsi_targets")) == 3


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO volume_metadata (volume_id, \"key\", value) VALUES ('no-such-volume', 'k', 'v')",
        "INSERT INTO iscsi_targets (target_num, host, volume_id) VALUES (1, 'h', 'no-such-volume')",
        "INSERT INTO volume_type_extra_specs (volume_type_id, \"key\", value) VALUES (999, 'k', 'v')",
        "INSERT INTO reservations (uuid, usage_id, project_id, resource, delta) VALUES ('u', 999, 'p', 'r', 1)",
        "INSERT INTO sm_backend_config (flavor_id, sr_uuid) VALUES (999, 'sr')",
        "INSERT INTO sm_volume (id, backend_id) VALUES ('no-such-volume', 999)",
    ],
    ids=["volume_metadata", "iscsi_targets", "extra_specs", "reservations", "sm_backend_config", "sm_volume"],
)
async def test_foreign_keys_are_enforced(cinder_db: rawdb.Database, sql: str) -> None:
    with pytest.raises(errors.DBReferenceError):
        await execute(cinder_db, sql)


async def test_rows_with_parents_insert_and_a_referenced_volume_stays(cinder_db: rawdb.Database) -> None:
    await execute(cinder_db, "INSERT INTO volumes (id, project_id, size) VALUES ('v1', 'p1', 1)")
    await execute(cinder_db, "INSERT INTO volume_metadata (volume_id, \"key\", value) VALUES ('v1', 'k', 'v')")
    await execute(cinder_db, "INSERT INTO iscsi_targets (target_num, host, volume_id) VALUES (1, 'h', 'v1')")
    await execute(
        cinder_db, "INSERT INTO quota_usages (project_id, resource, in_use, reserved) VALUES ('p1', 'r', 0, 0)"
    )
    await execute(
        cinder_db,
        "INSERT INTO reservations (uuid, usage_id, project_id, resource, delta) "
        "SELECT 'u1', id, 'p1', 'r', 1 FROM quota_usages",
    )
    await execute(  # HEAD: a reservation need not point at a usage row
        cinder_db,
        "INSERT INTO reservations (uuid, usage_id, project_id, resource, delta) VALUES ('u2', NULL, 'p', 'r', 1)",
    )
    with pytest.raises(errors.DBReferenceError):
        await execute(cinder_db, "DELETE FROM volumes WHERE id = 'v1'")


async def test_cinder_python_defaults_are_server_defaults(cinder_db: rawdb.Database) -> None:
    await execute(cinder_db, "INSERT INTO services (host, \"binary\", topic) VALUES ('h', 'cinder-volume', 't')")
    rows = await select(cinder_db, "SELECT deleted, report_count, disabled, availability_zone FROM services")
    assert rows == [{"deleted": False, "report_count": 0, "disabled": False, "availability_zone": "cinder"}]


# --- CLI -----------------------------------------------------------------------------------


def test_cli_bootstraps_cinder_on_sqlite(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "bootstrap", "--service", "cinder", "--url", sqlite_url]) == 0
    assert "applied 0001_cinder_tables, 0002_rawdb_indexes, 0003_rawdb_volume_indexes" in capsys.readouterr().out
    assert main(["schema", "bootstrap", "--service", "cinder", "--url", sqlite_url]) == 0
    assert "up to date, nothing applied" in capsys.readouterr().out
    assert main(["schema", "check", "--service", "cinder", "--url", sqlite_url]) == 0

    async def default_rows() -> int:
        async with rawdb.connect(sqlite_url) as db:
            return len(await select(db, "SELECT id FROM quota_classes WHERE class_name = 'default'"))

    assert asyncio.run(default_rows()) == len(DEFAULT_QUOTA_CLASS)
