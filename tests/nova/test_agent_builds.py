"""Agent builds (Newton, spec A.3 "Agent builds"), on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import agent_builds as db

KEYS = {
    "id",
    "hypervisor",
    "os",
    "architecture",
    "version",
    "url",
    "md5hash",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


def build(hypervisor: str = "kvm", os: str = "linux", architecture: str = "x86_64", **extra: Any) -> dict[str, Any]:
    return {
        "hypervisor": hypervisor,
        "os": os,
        "architecture": architecture,
        "version": "1.0",
        "url": "http://agents/1.0",
        "md5hash": "d41d8cd98f00b204e9800998ecf8427e",
        **extra,
    }


async def test_agent_build_create_returns_the_build_with_every_column(admin: rawdb.Context) -> None:
    before = datetime.utcnow()
    made = await db.agent_build_create(admin, build())
    assert set(made) == KEYS
    assert isinstance(made["id"], int)
    assert (made["hypervisor"], made["os"], made["architecture"], made["version"], made["url"]) == (
        "kvm",
        "linux",
        "x86_64",
        "1.0",
        "http://agents/1.0",
    )
    assert made["md5hash"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert (made["updated_at"], made["deleted_at"], made["deleted"]) == (None, None, 0)
    assert before <= made["created_at"] <= datetime.utcnow()


async def test_agent_build_create_of_a_live_triple_is_agent_build_exists_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.agent_build_create(admin, build())
    with pytest.raises(errors.AgentBuildExists) as caught:
        await db.agent_build_create(admin, build(version="2.0"))
    assert isinstance(caught.value, errors.Duplicate)
    assert (caught.value.hypervisor, caught.value.os, caught.value.architecture) == ("kvm", "linux", "x86_64")
    assert "kvm" in str(caught.value) and "x86_64" in str(caught.value)
    assert await select(nova_db, "SELECT version FROM agent_builds") == [{"version": "1.0"}]


async def test_a_deleted_triple_or_another_triple_is_no_duplicate(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    first = await db.agent_build_create(admin, build())
    await db.agent_build_create(admin, build(architecture="arm64"))
    await db.agent_build_create(admin, build(hypervisor="xen"))
    await db.agent_build_destroy(admin, first["id"])
    again = await db.agent_build_create(admin, build(version="2.0"))
    assert (await db.agent_build_get_by_triple(admin, "kvm", "linux", "x86_64")) == again
    assert await count_rows(nova_db, "agent_builds") == 4


async def test_a_triple_with_a_null_repeats_as_the_unique_key_lets_it(admin: rawdb.Context) -> None:
    one = await db.agent_build_create(admin, {"hypervisor": "kvm", "os": "linux"})
    two = await db.agent_build_create(admin, {"hypervisor": "kvm", "os": "linux"})
    assert one["id"] != two["id"] and one["architecture"] is None
    assert await db.agent_build_get_by_triple(admin, "kvm", "linux", None) == one  # the oldest


async def test_a_duplicate_inside_a_callers_writer_leaves_the_transaction_usable(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    async with admin.writer() as tx:
        await db.agent_build_create(tx, build())
        with pytest.raises(errors.AgentBuildExists):
            await db.agent_build_create(tx, build())
        await db.agent_build_create(tx, build(os="windows"))
    assert await count_rows(nova_db, "agent_builds") == 2


async def test_concurrent_creates_of_one_triple_give_one_row_and_agent_build_exists_to_the_others(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    results = await asyncio.gather(
        *(db.agent_build_create(c, build(version=str(i))) for i, c in enumerate(callers)),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.AgentBuildExists)]
    assert (len(created), len(refused)) == (1, 7)
    rows = await select(nova_db, "SELECT id, version, deleted FROM agent_builds")
    assert rows == [{"id": created[0]["id"], "version": created[0]["version"], "deleted": 0}]


async def test_keys_the_schema_lacks_are_ignored_when_none(admin: rawdb.Context) -> None:
    made = await db.agent_build_create(admin, build(bogus=None))
    assert set(made) == KEYS


@pytest.mark.parametrize(
    "bad",
    [
        {"bogus": "x"},
        {"id": 9},
        {"deleted": 1},
        {"hypervisor": 5},
        {"os": "o" * 256},
        {"url": "nul\x00"},
        {"md5hash": "\ud800"},
        {"created_at": "then"},
    ],
)
async def test_agent_build_create_with_bad_values_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, bad: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.agent_build_create(admin, build(**bad))
    with pytest.raises(errors.Invalid):
        await db.agent_build_create(admin, "kvm")  # type: ignore[arg-type]
    assert await count_rows(nova_db, "agent_builds") == 0


async def test_four_byte_characters_are_stored_and_found(admin: rawdb.Context) -> None:
    made = await db.agent_build_create(admin, build(os="🐧 linux"))
    assert await db.agent_build_get_by_triple(admin, "kvm", "🐧 linux", "x86_64") == made


async def test_agent_build_get_by_triple_finds_the_live_build_or_none(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await db.agent_build_create(admin, build())
    gone = await db.agent_build_create(admin, build(os="bsd"))
    await db.agent_build_destroy(admin, gone["id"])
    assert await db.agent_build_get_by_triple(admin, "kvm", "linux", "x86_64") == made
    assert await db.agent_build_get_by_triple(admin.elevated(read_deleted="yes"), "kvm", "bsd", "x86_64") is None
    assert await db.agent_build_get_by_triple(admin, "KVM", "linux", "x86_64") is None
    assert await db.agent_build_get_by_triple(admin, "kvm", "linux", None) is None
    assert await db.agent_build_get_by_triple(admin, "kvm", "l" * 300, "x86_64") is None
    assert await db.agent_build_get_by_triple(admin, "kvm", "linux", "nul\x00") is None


async def test_agent_build_get_all_lists_live_builds_oldest_first_optionally_by_hypervisor(
    admin: rawdb.Context,
) -> None:
    a = await db.agent_build_create(admin, build(os="b"))
    b = await db.agent_build_create(admin, build(hypervisor="xen", os="a"))
    c = await db.agent_build_create(admin, build(os="a"))
    gone = await db.agent_build_create(admin, build(os="z"))
    await db.agent_build_destroy(admin, gone["id"])
    assert await db.agent_build_get_all(admin) == [a, b, c]
    assert await db.agent_build_get_all(admin, "") == [a, b, c]
    assert await db.agent_build_get_all(admin, hypervisor="kvm") == [a, c]
    assert await db.agent_build_get_all(admin, "xen") == [b]
    assert await db.agent_build_get_all(admin, "hyperv") == []
    assert await db.agent_build_get_all(admin, "h" * 256) == []
    assert await db.agent_build_get_all(admin.elevated(read_deleted="yes")) == [a, b, c]


@pytest.mark.parametrize("bad", [5, ["kvm"], b"kvm"])
async def test_lookups_by_a_value_that_is_no_string_are_invalid(admin: rawdb.Context, bad: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.agent_build_get_all(admin, bad)
    with pytest.raises(errors.Invalid):
        await db.agent_build_get_by_triple(admin, "kvm", bad, "x86_64")


async def test_agent_build_destroy_soft_deletes_keeping_updated_at(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    then = datetime(2015, 5, 5)
    made = await db.agent_build_create(admin, build(updated_at=then))
    before = datetime.utcnow()
    assert await db.agent_build_destroy(admin, made["id"]) is None
    rows = await select(nova_db, "SELECT deleted, deleted_at, updated_at FROM agent_builds")
    assert (rows[0]["deleted"], rows[0]["updated_at"]) == (made["id"], then)
    assert before <= rows[0]["deleted_at"] <= datetime.utcnow()


async def test_agent_build_destroy_of_a_deleted_build_succeeds_and_changes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await db.agent_build_create(admin, build())
    await execute(nova_db, "UPDATE agent_builds SET deleted = id, deleted_at = :t", t=datetime(2014, 1, 1))
    await db.agent_build_destroy(admin, made["id"])
    await db.agent_build_destroy(admin, str(made["id"]))
    rows = await select(nova_db, "SELECT deleted, deleted_at FROM agent_builds")
    assert rows == [{"deleted": made["id"], "deleted_at": datetime(2014, 1, 1)}]


@pytest.mark.parametrize("missing", [12345, 0, -1, 2**31, 2**62])
async def test_agent_build_destroy_or_update_of_no_build_is_agent_build_not_found(
    admin: rawdb.Context, nova_db: rawdb.Database, missing: int
) -> None:
    await db.agent_build_create(admin, build())
    with pytest.raises(errors.AgentBuildNotFound) as caught:
        await db.agent_build_destroy(admin, missing)
    assert caught.value.id == missing and str(missing) in str(caught.value)
    with pytest.raises(errors.AgentBuildNotFound) as caught:
        await db.agent_build_update(admin, missing, {"version": "9"})
    assert caught.value.id == missing
    assert await select(nova_db, "SELECT version, deleted FROM agent_builds") == [{"version": "1.0", "deleted": 0}]


@pytest.mark.parametrize("bad", ["abc", 1.0, True, None])
async def test_an_id_that_is_no_integer_is_invalid(admin: rawdb.Context, nova_db: rawdb.Database, bad: Any) -> None:
    await db.agent_build_create(admin, build())
    with pytest.raises(errors.Invalid):
        await db.agent_build_destroy(admin, bad)
    with pytest.raises(errors.Invalid):
        await db.agent_build_update(admin, bad, {"version": "9"})
    assert await select(nova_db, "SELECT version, deleted FROM agent_builds") == [{"version": "1.0", "deleted": 0}]


async def test_agent_build_update_changes_the_given_columns_and_updated_at(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = await db.agent_build_create(admin, build())
    other = await db.agent_build_create(admin, build(os="bsd"))
    before = datetime.utcnow()
    assert await db.agent_build_update(admin, made["id"], {"version": "2.0", "url": None, "bogus": None}) is None
    row = await db.agent_build_get_by_triple(admin, "kvm", "linux", "x86_64")
    assert row is not None
    assert (row["version"], row["url"], row["md5hash"], row["created_at"]) == (
        "2.0",
        None,
        made["md5hash"],
        made["created_at"],
    )
    assert before <= row["updated_at"] <= datetime.utcnow()
    assert await db.agent_build_get_by_triple(admin, "kvm", "bsd", "x86_64") == other


async def test_agent_build_update_with_no_values_still_moves_updated_at_and_honours_a_given_one(
    admin: rawdb.Context,
) -> None:
    made = await db.agent_build_create(admin, build())
    await db.agent_build_update(admin, made["id"], {})
    row = await db.agent_build_get_by_triple(admin, "kvm", "linux", "x86_64")
    assert row is not None and row["updated_at"] is not None and row["version"] == "1.0"
    then = datetime(2012, 12, 12, 12, 12, 12, 121212)
    await db.agent_build_update(admin, made["id"], {"updated_at": then})
    row = await db.agent_build_get_by_triple(admin, "kvm", "linux", "x86_64")
    assert row is not None and row["updated_at"] == then


async def test_agent_build_update_reaches_a_deleted_build(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    made = await db.agent_build_create(admin, build())
    await db.agent_build_destroy(admin, made["id"])
    await db.agent_build_update(admin, made["id"], {"version": "3.0"})
    rows = await select(nova_db, "SELECT version, deleted FROM agent_builds")
    assert rows == [{"version": "3.0", "deleted": made["id"]}]


async def test_agent_build_update_onto_a_live_triple_is_agent_build_exists_and_changes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.agent_build_create(admin, build())
    other = await db.agent_build_create(admin, build(os="bsd"))
    async with admin.writer() as tx:
        with pytest.raises(errors.AgentBuildExists) as caught:
            await db.agent_build_update(tx, other["id"], {"os": "linux", "version": "5"})
        assert (caught.value.hypervisor, caught.value.os, caught.value.architecture) == ("kvm", "linux", "x86_64")
        await db.agent_build_update(tx, other["id"], {"version": "6"})  # the transaction goes on
    rows = await select(nova_db, "SELECT os, version FROM agent_builds ORDER BY id")
    assert rows == [{"os": "linux", "version": "1.0"}, {"os": "bsd", "version": "6"}]


@pytest.mark.parametrize("bad", [{"bogus": 1}, {"id": 4}, {"deleted": 0}, {"os": 5}, {"url": "u" * 256}])
async def test_agent_build_update_with_bad_values_is_invalid_and_changes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, bad: dict[str, Any]
) -> None:
    made = await db.agent_build_create(admin, build())
    with pytest.raises(errors.Invalid):
        await db.agent_build_update(admin, made["id"], bad)
    with pytest.raises(errors.Invalid):
        await db.agent_build_update(admin, made["id"], None)  # type: ignore[arg-type]
    assert await select(nova_db, "SELECT updated_at, os, url FROM agent_builds") == [
        {"updated_at": None, "os": "linux", "url": "http://agents/1.0"}
    ]


async def test_like_newton_any_context_may_call(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    anonymous = rawdb.Context(nova_db)
    made = await db.agent_build_create(anonymous, build())
    assert await db.agent_build_get_all(alice) == [made]
    await db.agent_build_update(alice, made["id"], {"version": "2"})
    await db.agent_build_destroy(anonymous, made["id"])
    assert await select(nova_db, "SELECT version, deleted FROM agent_builds") == [
        {"version": "2", "deleted": made["id"]}
    ]
