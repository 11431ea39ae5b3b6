"""Key pairs (Newton, spec A.3 "Key pairs"), on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import key_pairs as db

KEYS = {
    "id",
    "name",
    "user_id",
    "fingerprint",
    "public_key",
    "type",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


def values(name: str = "kp1", user_id: str = "alice", **extra: Any) -> dict[str, Any]:
    return {"name": name, "user_id": user_id, "fingerprint": f"fp:{name}", "public_key": f"ssh-rsa AAA {name}", **extra}


async def test_key_pair_create_returns_the_key_pair_with_every_column_and_type_ssh(alice: rawdb.Context) -> None:
    before = datetime.utcnow()
    pair = await db.key_pair_create(alice, values())
    assert set(pair) == KEYS
    assert isinstance(pair["id"], int)
    assert (pair["name"], pair["user_id"], pair["fingerprint"], pair["public_key"], pair["type"]) == (
        "kp1",
        "alice",
        "fp:kp1",
        "ssh-rsa AAA kp1",
        "ssh",
    )
    assert (pair["updated_at"], pair["deleted_at"], pair["deleted"]) == (None, None, 0)
    assert before <= pair["created_at"] <= datetime.utcnow()


async def test_key_pair_create_keeps_an_x509_type_and_given_times(alice: rawdb.Context) -> None:
    then = datetime(2016, 3, 4, 5, 6, 7, 123456)
    pair = await db.key_pair_create(alice, values(type="x509", created_at=then, updated_at=then))
    assert (pair["type"], pair["created_at"], pair["updated_at"]) == ("x509", then, then)
    assert await db.key_pair_get(alice, "alice", "kp1") == pair


async def test_key_pair_create_of_a_live_name_is_key_pair_exists_and_writes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    await db.key_pair_create(alice, values())
    with pytest.raises(errors.KeyPairExists) as caught:
        await db.key_pair_create(alice, values(fingerprint="other"))
    assert isinstance(caught.value, errors.Duplicate)
    assert caught.value.key_name == "kp1" and "kp1" in str(caught.value)
    assert await select(nova_db, "SELECT name, fingerprint FROM key_pairs") == [
        {"name": "kp1", "fingerprint": "fp:kp1"}
    ]


async def test_the_same_name_for_another_user_or_after_a_delete_is_no_duplicate(
    nova_db: rawdb.Database, alice: rawdb.Context, admin: rawdb.Context
) -> None:
    first = await db.key_pair_create(alice, values())
    await db.key_pair_create(admin, values(user_id="bob"))
    await db.key_pair_destroy(alice, "alice", "kp1")
    again = await db.key_pair_create(alice, values())
    assert again["id"] != first["id"]
    assert await db.key_pair_get(alice, "alice", "kp1") == again
    assert await count_rows(nova_db, "key_pairs") == 3


async def test_a_duplicate_inside_a_callers_writer_leaves_the_transaction_usable(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    async with alice.writer() as tx:
        await db.key_pair_create(tx, values())
        with pytest.raises(errors.KeyPairExists):
            await db.key_pair_create(tx, values())
        await db.key_pair_create(tx, values(name="kp2"))
    names = await select(nova_db, "SELECT name FROM key_pairs ORDER BY name")
    assert [row["name"] for row in names] == ["kp1", "kp2"]


async def test_concurrent_creates_of_one_key_pair_give_one_row_and_key_pair_exists_to_the_others(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, project_id="p1", user_id="alice") for d in databases]
    results = await asyncio.gather(
        *(db.key_pair_create(c, values(fingerprint=f"fp{i}")) for i, c in enumerate(callers)),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.KeyPairExists)]
    assert (len(created), len(refused)) == (1, 7)
    rows = await select(nova_db, "SELECT id, fingerprint, deleted FROM key_pairs")
    assert rows == [{"id": created[0]["id"], "fingerprint": created[0]["fingerprint"], "deleted": 0}]


async def test_keys_the_schema_lacks_are_ignored_when_none(alice: rawdb.Context) -> None:
    pair = await db.key_pair_create(alice, values(bogus=None, project_id=None))
    assert set(pair) == KEYS


@pytest.mark.parametrize(
    "bad",
    [
        {"name": None},
        {"name": 42},
        {"name": "n" * 256},
        {"name": "nul\x00"},
        {"name": "\ud800"},
        {"user_id": ["alice"]},
        {"fingerprint": "f" * 256},
        {"public_key": b"bytes"},
        {"type": "rsa"},
        {"type": None},
        {"bogus": "value"},
        {"id": 5},
        {"deleted": 1},
        {"created_at": "yesterday"},
    ],
)
async def test_key_pair_create_with_bad_values_is_invalid_and_writes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context, bad: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.key_pair_create(alice, values(**bad))
    assert await count_rows(nova_db, "key_pairs") == 0


async def test_key_pair_create_without_a_name_or_with_values_not_a_dict_is_invalid(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    with pytest.raises(errors.Invalid):
        await db.key_pair_create(alice, {"user_id": "alice"})
    with pytest.raises(errors.Invalid):
        await db.key_pair_create(alice, [("name", "kp1")])  # type: ignore[arg-type]
    assert await count_rows(nova_db, "key_pairs") == 0


async def test_a_public_key_larger_than_mariadbs_mediumtext_is_invalid(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    with pytest.raises(errors.Invalid):
        await db.key_pair_create(alice, values(public_key="é" * 8388608))  # 16 MiB of UTF-8
    assert await count_rows(nova_db, "key_pairs") == 0


async def test_names_with_four_byte_characters_are_stored_and_found(alice: rawdb.Context) -> None:
    name = "clé 🔑"
    pair = await db.key_pair_create(alice, values(name=name, public_key="🙂" * 10))
    assert pair["name"] == name and pair["public_key"] == "🙂" * 10
    assert await db.key_pair_get(alice, "alice", name) == pair


async def test_key_pair_destroy_soft_deletes_keeping_updated_at(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    then = datetime(2015, 1, 1)
    pair = await db.key_pair_create(alice, values(updated_at=then))
    before = datetime.utcnow()
    assert await db.key_pair_destroy(alice, "alice", "kp1") is None
    rows = await select(nova_db, "SELECT id, deleted, deleted_at, updated_at FROM key_pairs")
    assert (rows[0]["id"], rows[0]["deleted"], rows[0]["updated_at"]) == (pair["id"], pair["id"], then)
    assert before <= rows[0]["deleted_at"] <= datetime.utcnow()
    with pytest.raises(errors.KeypairNotFound):
        await db.key_pair_get(alice, "alice", "kp1")


async def test_key_pair_destroy_of_a_missing_or_deleted_key_pair_is_keypair_not_found(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    await db.key_pair_create(alice, values())
    await db.key_pair_destroy(alice, "alice", "kp1")
    deleted_at = (await select(nova_db, "SELECT deleted_at FROM key_pairs"))[0]["deleted_at"]
    for name in ("kp1", "missing", "n" * 300, "nul\x00"):
        with pytest.raises(errors.KeypairNotFound) as caught:
            await db.key_pair_destroy(alice.elevated(read_deleted="yes"), "alice", name)
        assert (caught.value.user_id, caught.value.name) == ("alice", name)
    assert (await select(nova_db, "SELECT deleted_at FROM key_pairs"))[0]["deleted_at"] == deleted_at


async def test_key_pair_get_raises_keypair_not_found_naming_user_and_name(alice: rawdb.Context) -> None:
    await db.key_pair_create(alice, values())
    with pytest.raises(errors.KeypairNotFound) as caught:
        await db.key_pair_get(alice, "alice", "nope")
    assert isinstance(caught.value, errors.NotFound)
    assert "nope" in str(caught.value) and "alice" in str(caught.value)
    with pytest.raises(errors.KeypairNotFound):
        await db.key_pair_get(alice, "alice", "x" * 256)


async def test_key_pair_get_sees_deleted_key_pairs_as_read_deleted_says_the_live_one_first(
    admin: rawdb.Context,
) -> None:
    old = await db.key_pair_create(admin, values(fingerprint="old"))
    await db.key_pair_destroy(admin, "alice", "kp1")
    live = await db.key_pair_create(admin, values(fingerprint="new"))
    assert (await db.key_pair_get(admin.elevated(read_deleted="yes"), "alice", "kp1"))["id"] == live["id"]
    only = await db.key_pair_get(admin.elevated(read_deleted="only"), "alice", "kp1")
    assert (only["id"], only["deleted"], only["fingerprint"]) == (old["id"], old["id"], "old")
    assert (await db.key_pair_get(admin, "alice", "kp1"))["fingerprint"] == "new"


async def test_key_pair_get_all_by_user_lists_live_key_pairs_by_name(
    alice: rawdb.Context, admin: rawdb.Context
) -> None:
    for name in ("b", "a", "C", "c"):
        await db.key_pair_create(alice, values(name=name))
    await db.key_pair_create(admin, values(name="zz", user_id="bob"))
    await db.key_pair_create(alice, values(name="gone"))
    await db.key_pair_destroy(alice, "alice", "gone")
    pairs = await db.key_pair_get_all_by_user(alice, "alice")
    assert [p["name"] for p in pairs] == ["C", "a", "b", "c"]  # code point order
    assert all(set(p) == KEYS and p["user_id"] == "alice" for p in pairs)
    assert await db.key_pair_get_all_by_user(alice.elevated(read_deleted="yes"), "alice") == pairs
    assert await db.key_pair_get_all_by_user(admin, "nobody") == []


async def test_key_pair_get_all_by_user_pages_with_limit_and_marker(alice: rawdb.Context) -> None:
    for name in ("k3", "k1", "k4", "k2", "k5"):
        await db.key_pair_create(alice, values(name=name))
    first = await db.key_pair_get_all_by_user(alice, "alice", limit=2)
    assert [p["name"] for p in first] == ["k1", "k2"]
    second = await db.key_pair_get_all_by_user(alice, "alice", limit=2, marker="k2")
    assert [p["name"] for p in second] == ["k3", "k4"]
    rest = await db.key_pair_get_all_by_user(alice, "alice", marker="k4")
    assert [p["name"] for p in rest] == ["k5"]
    assert await db.key_pair_get_all_by_user(alice, "alice", marker="k5") == []
    assert await db.key_pair_get_all_by_user(alice, "alice", limit=0) == []
    assert [p["name"] for p in await db.key_pair_get_all_by_user(alice, "alice", limit="3")] == ["k1", "k2", "k3"]


async def test_an_unknown_or_deleted_or_other_users_marker_is_marker_not_found(
    alice: rawdb.Context, admin: rawdb.Context
) -> None:
    await db.key_pair_create(alice, values(name="k1"))
    await db.key_pair_create(alice, values(name="gone"))
    await db.key_pair_destroy(alice, "alice", "gone")
    await db.key_pair_create(admin, values(name="bobs", user_id="bob"))
    for marker in ("missing", "gone", "bobs", "m" * 300):
        with pytest.raises(errors.MarkerNotFound) as caught:
            await db.key_pair_get_all_by_user(alice, "alice", marker=marker)
        assert caught.value.marker == marker
    with pytest.raises(errors.MarkerNotFound):
        await db.key_pair_get_all_by_user(admin, "u" * 300, marker="k1")


@pytest.mark.parametrize("limit", [-1, 1.5, "many", True])
async def test_a_bad_limit_is_invalid(alice: rawdb.Context, limit: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.key_pair_get_all_by_user(alice, "alice", limit=limit)


async def test_key_pair_count_by_user_counts_live_key_pairs(alice: rawdb.Context, admin: rawdb.Context) -> None:
    assert await db.key_pair_count_by_user(alice, "alice") == 0
    for name in ("a", "b", "c"):
        await db.key_pair_create(alice, values(name=name))
    await db.key_pair_create(admin, values(name="a", user_id="bob"))
    await db.key_pair_destroy(alice, "alice", "b")
    assert await db.key_pair_count_by_user(alice, "alice") == 2
    assert await db.key_pair_count_by_user(admin, "bob") == 1
    assert await db.key_pair_count_by_user(admin, "u" * 300) == 0


async def test_a_user_context_reaches_only_its_own_users_key_pairs(
    nova_db: rawdb.Database, alice: rawdb.Context, bob: rawdb.Context, admin: rawdb.Context
) -> None:
    await db.key_pair_create(alice, values())
    calls = (
        db.key_pair_get(bob, "alice", "kp1"),
        db.key_pair_destroy(bob, "alice", "kp1"),
        db.key_pair_get_all_by_user(bob, "alice"),
        db.key_pair_count_by_user(bob, "alice"),
    )
    for call in calls:
        with pytest.raises(errors.NotAuthorized):
            await call
    assert (await db.key_pair_get(admin, "alice", "kp1"))["name"] == "kp1"
    assert await db.key_pair_count_by_user(admin, "alice") == 1
    assert await select(nova_db, "SELECT deleted FROM key_pairs") == [{"deleted": 0}]


async def test_a_context_that_is_neither_admin_nor_user_is_not_authorized(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    await db.key_pair_create(alice, values())
    anonymous = rawdb.Context(nova_db)
    calls = (
        db.key_pair_create(anonymous, values(name="kp2")),
        db.key_pair_get(anonymous, "alice", "kp1"),
        db.key_pair_destroy(anonymous, "alice", "kp1"),
        db.key_pair_get_all_by_user(anonymous, "alice"),
        db.key_pair_count_by_user(anonymous, "alice"),
    )
    for call in calls:
        with pytest.raises(errors.NotAuthorized):
            await call
    assert await select(nova_db, "SELECT name, deleted FROM key_pairs") == [{"name": "kp1", "deleted": 0}]


@pytest.mark.parametrize("bad", [None, 5, b"alice"])
async def test_lookups_by_a_user_id_or_name_that_is_no_string_are_invalid(admin: rawdb.Context, bad: Any) -> None:
    for call in (
        db.key_pair_get(admin, bad, "kp1"),
        db.key_pair_get(admin, "alice", bad),
        db.key_pair_destroy(admin, "alice", bad),
        db.key_pair_get_all_by_user(admin, bad),
        db.key_pair_count_by_user(admin, bad),
    ):
        with pytest.raises(errors.Invalid):
            await call
    with pytest.raises(errors.Invalid):
        await db.key_pair_get_all_by_user(admin, "alice", marker=5)  # type: ignore[arg-type]


async def test_rows_changed_behind_the_apis_back_are_read_as_stored(
    nova_db: rawdb.Database, admin: rawdb.Context
) -> None:
    await execute(
        nova_db,
        "INSERT INTO key_pairs (name, user_id, type, created_at, deleted) VALUES ('raw', 'alice', 'x509', :t, 0)",
        t=datetime(2014, 2, 3),
    )
    pair = await db.key_pair_get(admin, "alice", "raw")
    assert (pair["type"], pair["created_at"], pair["fingerprint"], pair["public_key"]) == (
        "x509",
        datetime(2014, 2, 3),
        None,
        None,
    )
