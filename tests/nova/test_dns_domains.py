"""DNS domains (rawdb.nova.dns_domains) on every backend: registration as an upsert, hard unregistration."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import dns_domains as db
from rawdb.timeutils import frozen

DOMAIN_KEYS = {
    "domain",
    "scope",
    "availability_zone",
    "project_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}
T0 = datetime(2016, 5, 1, 10, 0, 0, 250000)
T1 = datetime(2016, 5, 2, 11, 30, 0, 1)


async def insert_domain(database: rawdb.Database, domain: str, deleted: bool = False, **values: Any) -> None:
    row = {"domain": domain, "deleted": deleted, "created_at": T0, **values}
    columns = sorted(row)
    await execute(
        database,
        f"INSERT INTO dns_domains ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
        **row,
    )


async def test_dnsdomain_register_for_zone_creates_a_private_domain(admin: rawdb.Context) -> None:
    with frozen(T0):
        assert await db.dnsdomain_register_for_zone(admin, "test.domain", "testzone") is None
    assert await db.dnsdomain_get(admin, "test.domain") == {
        "domain": "test.domain",
        "scope": "private",
        "availability_zone": "testzone",
        "project_id": None,
        "created_at": T0,
        "updated_at": None,
        "deleted_at": None,
        "deleted": False,
    }


async def test_dnsdomain_register_for_project_creates_a_public_domain(
    admin: rawdb.Context, alice: rawdb.Context
) -> None:
    await db.dnsdomain_register_for_project(admin, "test.domain", "fake")
    domain = await db.dnsdomain_get(alice, "test.domain")
    assert domain is not None and set(domain) == DOMAIN_KEYS
    assert (domain["domain"], domain["scope"], domain["project_id"], domain["availability_zone"]) == (
        "test.domain",
        "public",
        "fake",
        None,
    )
    assert domain["deleted"] is False


async def test_dnsdomain_registering_again_switches_scope_and_keeps_the_other_association(
    admin: rawdb.Context,
) -> None:
    with frozen(T0):
        await db.dnsdomain_register_for_project(admin, "example.org", "p1")
    with frozen(T1):
        await db.dnsdomain_register_for_zone(admin, "example.org", "az1")
    domain = await db.dnsdomain_get(admin, "example.org")
    assert domain is not None
    assert (domain["scope"], domain["availability_zone"], domain["project_id"]) == ("private", "az1", "p1")
    assert (domain["created_at"], domain["updated_at"]) == (T0, T1)

    with frozen(datetime(2017, 1, 1)):
        await db.dnsdomain_register_for_zone(admin, "example.org", "az1")  # nothing changes: updated_at stays
    assert (await db.dnsdomain_get(admin, "example.org")) == domain
    with frozen(datetime(2017, 1, 2)):
        await db.dnsdomain_register_for_project(admin, "example.org", "p2")
    domain = await db.dnsdomain_get(admin, "example.org")
    assert domain is not None
    assert (domain["scope"], domain["availability_zone"], domain["project_id"]) == ("public", "az1", "p2")
    assert domain["updated_at"] == datetime(2017, 1, 2)
    with frozen(datetime(2017, 1, 3)):
        await db.dnsdomain_register_for_zone(admin, "example.org", None)
    domain = await db.dnsdomain_get(admin, "example.org")
    assert domain is not None
    assert (domain["scope"], domain["availability_zone"], domain["updated_at"]) == (
        "private",
        None,
        datetime(2017, 1, 3),
    )


async def test_dnsdomain_registering_a_soft_deleted_domain_registers_it_anew(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await insert_domain(
        nova_db, "old.example", deleted=True, deleted_at=T0, scope="public", project_id="gone", updated_at=T0
    )
    assert await db.dnsdomain_get(admin, "old.example") is None
    with frozen(T1):
        await db.dnsdomain_register_for_zone(admin, "old.example", "az9")
    assert await db.dnsdomain_get(admin, "old.example") == {
        "domain": "old.example",
        "scope": "private",
        "availability_zone": "az9",
        "project_id": None,
        "created_at": T1,
        "updated_at": None,
        "deleted_at": None,
        "deleted": False,
    }
    assert await count_rows(nova_db, "dns_domains") == 1


async def test_dnsdomain_get_all_and_list_return_the_live_domains_in_order(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    assert await db.dnsdomain_get_all(admin) == []
    assert await db.dnsdomain_list(alice) == []
    await db.dnsdomain_register_for_zone(admin, "test.domain.two", "zone")
    await db.dnsdomain_register_for_project(admin, "test.domain.one", "fake")
    await insert_domain(nova_db, "test.domain.deleted", deleted=True, deleted_at=T0)
    listed = await db.dnsdomain_get_all(admin)
    assert [d["domain"] for d in listed] == ["test.domain.one", "test.domain.two"]
    assert all(set(d) == DOMAIN_KEYS and d["deleted"] is False for d in listed)
    assert await db.dnsdomain_list(alice) == ["test.domain.one", "test.domain.two"]


async def test_dnsdomain_unregister_deletes_the_row_for_good(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    await db.dnsdomain_register_for_zone(admin, "test.domain", "testzone")
    await db.dnsdomain_register_for_zone(admin, "kept.domain", "testzone")
    assert await db.dnsdomain_unregister(admin, "test.domain") is None
    assert await db.dnsdomain_get(admin, "test.domain") is None
    rows = await select(nova_db, "SELECT domain FROM dns_domains")
    assert [r["domain"] for r in rows] == ["kept.domain"]
    await db.dnsdomain_unregister(admin, "test.domain")  # not registered: nothing happens
    await db.dnsdomain_unregister(admin, "x" * 300)
    assert await count_rows(nova_db, "dns_domains") == 1


async def test_dnsdomain_unregister_reaches_a_soft_deleted_domain_only_as_read_deleted_allows(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await insert_domain(nova_db, "old.example", deleted=True, deleted_at=T0)
    await db.dnsdomain_unregister(admin, "old.example")
    assert await count_rows(nova_db, "dns_domains") == 1
    await db.dnsdomain_unregister(admin.elevated(read_deleted="yes"), "old.example")
    assert await count_rows(nova_db, "dns_domains") == 0


async def test_dnsdomain_concurrent_registrations_of_a_new_domain_give_one_row_and_no_error(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    callers = [rawdb.Context(await open_db(nova_url), is_admin=True) for _ in range(8)]
    calls = [
        db.dnsdomain_register_for_zone(c, "race.example", f"az{i}")
        if i % 2
        else db.dnsdomain_register_for_project(c, "race.example", f"p{i}")
        for i, c in enumerate(callers)
    ]
    assert await asyncio.gather(*calls) == [None] * 8
    rows = await select(nova_db, "SELECT domain, scope, availability_zone, project_id FROM dns_domains")
    assert len(rows) == 1 and rows[0]["domain"] == "race.example"
    assert rows[0]["scope"] in {"private", "public"}
    assert rows[0]["availability_zone"] in {None, "az1", "az3", "az5", "az7"}
    assert rows[0]["project_id"] in {None, "p0", "p2", "p4", "p6"}


@pytest.mark.parametrize(
    ("domain", "other"),
    [(None, "az"), (42, "az"), ("x" * 256, "az"), ("a\x00b", "az"), ("ok.domain", 7), ("ok.domain", "z" * 256)],
)
async def test_dnsdomain_register_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, domain: Any, other: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.dnsdomain_register_for_zone(admin, domain, other)
    with pytest.raises(errors.Invalid):
        await db.dnsdomain_register_for_project(admin, domain, other)
    assert await count_rows(nova_db, "dns_domains") == 0


async def test_dnsdomain_lookups_check_their_argument_and_caller(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    assert await db.dnsdomain_get(admin, "y" * 300) is None  # no domain can be that long
    for bad in (None, 5, "nul\x00"):
        with pytest.raises(errors.Invalid):
            await db.dnsdomain_get(admin, bad)  # type: ignore[arg-type]
        with pytest.raises(errors.Invalid):
            await db.dnsdomain_unregister(admin, bad)  # type: ignore[arg-type]
    nobody = rawdb.Context(nova_db)
    with pytest.raises(errors.NotAuthorized):
        await db.dnsdomain_get(nobody, "test.domain")
    with pytest.raises(errors.NotAuthorized):
        await db.dnsdomain_list(nobody)
