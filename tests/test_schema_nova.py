"""Nova's Newton main-database schema (sql/schema/nova/), on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rawdb
from rawdb import errors, schema
from rawdb.cli import main
from rawdb.statement import Statement

# Every table of the Newton (14.0.0) main-database models.
NOVA_TABLES = {
    "agent_builds",
    "aggregate_hosts",
    "aggregate_metadata",
    "aggregates",
    "allocations",
    "block_device_mapping",
    "bw_usage_cache",
    "cells",
    "certificates",
    "compute_nodes",
    "console_auth_tokens",
    "console_pools",
    "consoles",
    "dns_domains",
    "fixed_ips",
    "floating_ips",
    "instance_actions",
    "instance_actions_events",
    "instance_extra",
    "instance_faults",
    "instance_group_member",
    "instance_group_policy",
    "instance_groups",
    "instance_id_mappings",
    "instance_info_caches",
    "instance_metadata",
    "instance_system_metadata",
    "instance_type_extra_specs",
    "instance_type_projects",
    "instance_types",
    "instances",
    "inventories",
    "key_pairs",
    "migrations",
    "networks",
    "pci_devices",
    "project_user_quotas",
    "provider_fw_rules",
    "quota_classes",
    "quota_usages",
    "quotas",
    "reservations",
    "resource_provider_aggregates",
    "resource_providers",
    "s3_images",
    "security_group_default_rules",
    "security_group_instance_association",
    "security_group_rules",
    "security_groups",
    "services",
    "snapshot_id_mappings",
    "snapshots",
    "tags",
    "task_log",
    "virtual_interfaces",
    "volume_id_mappings",
    "volume_usage_cache",
}
# Tables without soft delete have no shadow table in Newton.
UNSHADOWED = {
    "allocations",
    "console_auth_tokens",
    "inventories",
    "resource_provider_aggregates",
    "resource_providers",
    "tags",
}
SHADOWED = NOVA_TABLES - UNSHADOWED


@pytest.fixture
async def nova_db(db: rawdb.Database) -> rawdb.Database:
    """A database with the nova schema bootstrapped, on each backend."""
    await schema.bootstrap(db, "nova")
    return db


async def catalog(db: rawdb.Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with db.reader() as tx:
        columns = await tx.fetch("rawdb.schema.live_columns")
        indexes = await tx.fetch("rawdb.schema.live_indexes")
    return columns, indexes


async def columns_by_table(db: rawdb.Database) -> dict[str, list[str]]:
    columns, _ = await catalog(db)
    tables: dict[str, list[str]] = {}
    for column in columns:
        tables.setdefault(column["table_name"], []).append(column["column_name"])
    return tables


def insert(table: str, row: dict[str, Any]) -> Statement:
    names = ", ".join(f'"{name}"' for name in row)
    values = ", ".join(f":{name}" for name in row)
    return Statement.portable(f"test.{table}.insert", f"INSERT INTO {table} ({names}) VALUES ({values})")


async def add(db: rawdb.Database, table: str, row: dict[str, Any]) -> None:
    async with db.writer() as tx:
        assert await tx.execute(insert(table, row), **row) == 1


async def soft_delete(db: rawdb.Database, table: str, row_id: int) -> None:
    """Nova's soft delete: ``deleted = id``."""
    statement = Statement.portable(
        f"test.{table}.soft_delete", f"UPDATE {table} SET deleted = id, deleted_at = :now WHERE id = :id"
    )
    async with db.writer() as tx:
        assert await tx.execute(statement, id=row_id, now=None) == 1


async def test_bootstrap_applies_every_version_and_a_second_changes_nothing(db: rawdb.Database) -> None:
    applied = await schema.bootstrap(db, "nova")
    assert [(m.version, m.name) for m in applied] == [
        (1, "nova_tables"),
        (2, "rawdb_quota"),
        (3, "rawdb_quota_phantoms"),
        (4, "rawdb_instance_indexes"),
        (5, "rawdb_allocation_indexes"),
        (6, "rawdb_archive"),
        (7, "rawdb_quota_fences"),
    ]
    before = await catalog(db)
    versions = await schema.status(db, "nova")
    assert all(v.applied and v.checksum_ok for v in versions)

    assert await schema.bootstrap(db, "nova") == []
    assert await catalog(db) == before
    assert await schema.status(db, "nova") == versions


async def test_check_passes_on_a_fresh_bootstrap(nova_db: rawdb.Database) -> None:
    report = await schema.check(nova_db, "nova")
    assert report.ok, report.problems
    assert report.problems == []


async def test_every_newton_table_and_its_shadow_exists(nova_db: rawdb.Database) -> None:
    tables = set(await columns_by_table(nova_db))
    assert len(NOVA_TABLES) == 57 and len(SHADOWED) == 51
    assert NOVA_TABLES <= tables
    assert {f"shadow_{t}" for t in SHADOWED} <= tables
    assert not {f"shadow_{t}" for t in UNSHADOWED} & tables
    assert tables - NOVA_TABLES - {f"shadow_{t}" for t in SHADOWED} == {"rawdb_schema_versions", "rawdb_quota_fences"}


async def test_every_shadow_table_has_the_columns_of_its_table(nova_db: rawdb.Database) -> None:
    tables = await columns_by_table(nova_db)
    # MySQL's substitutes for partial indexes are generated columns of rawdb's, not nova's:
    # archive_deleted_rows copies the models' columns, so the shadow tables do not have them.
    columns, _ = await catalog(nova_db)
    generated = {(c["table_name"], c["column_name"]) for c in columns if c.get("expression")}
    assert generated == ({("quota_usages", "live_user_id")} if nova_db.dialect == "mysql" else set())
    for table in sorted(SHADOWED):
        own = [c for c in tables[table] if (table, c) not in generated]
        assert tables[f"shadow_{table}"] == own, table


async def test_shadow_tables_have_no_unique_keys(nova_db: rawdb.Database) -> None:
    _, indexes = await catalog(nova_db)
    shadow_indexes = {
        i["index_name"]
        for i in indexes
        if i["table_name"].startswith("shadow_")
        and not i["index_name"].endswith("_pkey")
        and i["index_name"] != "PRIMARY"
    }
    # Newton's 252 indexed shadow_instance_extra; SQLite lists string primary keys as autoindexes.
    assert {n for n in shadow_indexes if not n.startswith("sqlite_autoindex_")} == {"shadow_instance_extra_idx"}


UNIQUE_KEY_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "quotas": ("quotas", {"project_id": "p1", "resource": "instances", "hard_limit": 10}),
    "project_user_quotas": (
        "project_user_quotas",
        {"user_id": "u1", "project_id": "p1", "resource": "cores", "hard_limit": 4},
    ),
    "security_groups": ("security_groups", {"project_id": "p1", "name": "default", "description": "d"}),
    "key_pairs": ("key_pairs", {"user_id": "u1", "name": "kp", "public_key": "ssh-rsa AAAA"}),
    "instance_types": ("instance_types", {"name": "m9.test", "flavorid": "f9", "memory_mb": 64, "vcpus": 1}),
    "services": ("services", {"host": "h1", "binary": "nova-compute", "topic": "compute", "report_count": 0}),
    "cells": ("cells", {"name": "child", "transport_url": "rabbit://"}),
    "instance_groups": ("instance_groups", {"uuid": "8f1b8e1c-2d1b-4c1e-9a55-0b8b1f0c3f11", "name": "g"}),
}


@pytest.mark.parametrize("case", sorted(UNIQUE_KEY_CASES))
async def test_unique_keys_admit_one_live_row_and_any_number_of_deleted_ones(
    nova_db: rawdb.Database, case: str
) -> None:
    table, values = UNIQUE_KEY_CASES[case]
    await add(nova_db, table, {"id": 101, **values})
    with pytest.raises(errors.DBDuplicateEntry):
        await add(nova_db, table, {"id": 102, **values})

    await soft_delete(nova_db, table, 101)  # deleted = 101
    await add(nova_db, table, {"id": 102, **values})
    await soft_delete(nova_db, table, 102)  # deleted = 102: two deleted rows, no collision
    await add(nova_db, table, {"id": 103, **values})
    with pytest.raises(errors.DBDuplicateEntry):
        await add(nova_db, table, {"id": 104, **values})

    count = Statement.portable(f"test.{case}.count", f"SELECT deleted FROM {table} WHERE id > 100 ORDER BY id")
    async with nova_db.reader() as tx:
        assert [r["deleted"] for r in await tx.fetch(count)] == [101, 102, 0]


async def test_live_quota_usages_are_unique_per_project_user_and_resource_even_for_null_users(
    nova_db: rawdb.Database,
) -> None:
    def usage(row_id: int, project: str, user: str | None, resource: str) -> dict[str, Any]:
        return {
            "id": row_id,
            "project_id": project,
            "user_id": user,
            "resource": resource,
            "in_use": 0,
            "reserved": 0,
        }

    await add(nova_db, "quota_usages", usage(1, "p1", None, "fixed_ips"))
    with pytest.raises(errors.DBDuplicateEntry):  # NULL user ids collide
        await add(nova_db, "quota_usages", usage(2, "p1", None, "fixed_ips"))
    await add(nova_db, "quota_usages", usage(2, "p1", "u1", "fixed_ips"))
    await add(nova_db, "quota_usages", usage(3, "p2", None, "fixed_ips"))
    await add(nova_db, "quota_usages", usage(4, "p1", None, "floating_ips"))
    with pytest.raises(errors.DBDuplicateEntry):
        await add(nova_db, "quota_usages", usage(5, "p1", "u1", "fixed_ips"))

    await soft_delete(nova_db, "quota_usages", 1)
    await add(nova_db, "quota_usages", usage(5, "p1", None, "fixed_ips"))
    await soft_delete(nova_db, "quota_usages", 5)
    await add(nova_db, "quota_usages", usage(6, "p1", None, "fixed_ips"))


async def test_reservations_need_their_quota_usage_row(nova_db: rawdb.Database) -> None:
    reservation = {"id": 1, "uuid": "r-1", "usage_id": 99, "resource": "cores", "delta": 1}
    with pytest.raises(errors.DBError):
        await add(nova_db, "reservations", reservation)
    await add(nova_db, "quota_usages", {"id": 99, "project_id": "p", "resource": "cores", "in_use": 0, "reserved": 0})
    await add(nova_db, "reservations", reservation)


async def test_the_default_flavors_are_seeded_once(nova_db: rawdb.Database) -> None:
    flavors = Statement.portable(
        "test.flavors", "SELECT name, flavorid, memory_mb FROM instance_types WHERE deleted = 0 ORDER BY id"
    )
    async with nova_db.reader() as tx:
        rows = await tx.fetch(flavors)
    assert [(r["name"], r["flavorid"]) for r in rows] == [
        ("m1.tiny", "1"),
        ("m1.small", "2"),
        ("m1.medium", "3"),
        ("m1.large", "4"),
        ("m1.xlarge", "5"),
    ]
    async with nova_db.writer() as tx:
        await tx.script(schema.migrations("nova", nova_db.dialect)[0].sql)  # running it again adds nothing
    async with nova_db.reader() as tx:
        assert len(await tx.fetch(flavors)) == 5


async def test_bootstrap_adopts_a_database_nova_made(db: rawdb.Database) -> None:
    tables = schema.migrations("nova", db.dialect)[0]
    async with db.writer() as tx:
        # As if nova-manage db sync had made it: sqlalchemy-migrate's table, then the tables.
        await tx.script(
            "CREATE TABLE migrate_version (repository_id VARCHAR(250) PRIMARY KEY, "
            "repository_path TEXT, version INTEGER)"
        )
        await tx.script(tables.sql)
    applied = await schema.bootstrap(db, "nova")
    assert [m.version for m in applied] == [1, 2, 3, 4, 5, 6, 7]
    report = await schema.check(db, "nova")
    assert report.ok, report.problems
    count = Statement.portable("test.flavor_count", "SELECT count(*) AS n FROM instance_types")
    async with db.reader() as tx:
        assert await tx.fetchval(count) == 0  # nova's own flavors are nova's business


def test_each_dialect_has_the_same_nova_versions() -> None:
    pg = [(m.version, m.name) for m in schema.migrations("nova", "postgresql")]
    lite = [(m.version, m.name) for m in schema.migrations("nova", "sqlite")]
    mysql = [(m.version, m.name) for m in schema.migrations("nova", "mysql")]
    assert (
        pg
        == lite
        == mysql
        == [
            (1, "nova_tables"),
            (2, "rawdb_quota"),
            (3, "rawdb_quota_phantoms"),
            (4, "rawdb_instance_indexes"),
            (5, "rawdb_allocation_indexes"),
            (6, "rawdb_archive"),
            (7, "rawdb_quota_fences"),
        ]
    )


def test_cli_bootstraps_and_checks_nova_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'nova.sqlite'}"
    assert main(["schema", "bootstrap", "--service", "nova", "--url", url]) == 0
    applied = (
        "applied 0001_nova_tables, 0002_rawdb_quota, 0003_rawdb_quota_phantoms, 0004_rawdb_instance_indexes,"
        " 0005_rawdb_allocation_indexes, 0006_rawdb_archive, 0007_rawdb_quota_fences"
    )
    assert applied in capsys.readouterr().out

    assert main(["schema", "bootstrap", "--service", "nova", "--url", url]) == 0
    assert "up to date, nothing applied" in capsys.readouterr().out

    assert main(["schema", "check", "--service", "nova", "--url", url]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("OK")
