"""Certificates (Newton, spec A.3 "Certificates"), on every backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import certificates as db

KEYS = {"id", "user_id", "project_id", "file_name", "created_at", "updated_at", "deleted_at", "deleted"}


async def test_certificate_create_returns_the_certificate_with_every_column(admin: rawdb.Context) -> None:
    before = datetime.utcnow()
    cert = await db.certificate_create(admin, {"user_id": "u1", "project_id": "p1", "file_name": "c.pem"})
    assert set(cert) == KEYS
    assert isinstance(cert["id"], int)
    assert (cert["user_id"], cert["project_id"], cert["file_name"]) == ("u1", "p1", "c.pem")
    assert (cert["updated_at"], cert["deleted_at"], cert["deleted"]) == (None, None, 0)
    assert before <= cert["created_at"] <= datetime.utcnow()


async def test_certificate_create_keeps_given_times_and_takes_empty_values(admin: rawdb.Context) -> None:
    then = datetime(2013, 4, 5, 6, 7, 8, 9)
    cert = await db.certificate_create(admin, {"file_name": "x", "created_at": then, "updated_at": then})
    assert (cert["user_id"], cert["project_id"], cert["created_at"], cert["updated_at"]) == (None, None, then, then)
    empty = await db.certificate_create(admin, {})
    assert (empty["user_id"], empty["file_name"], empty["deleted"]) == (None, None, 0)


async def test_keys_the_schema_lacks_are_ignored_when_none(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    cert = await db.certificate_create(admin, {"user_id": "u1", "bogus": None})
    assert set(cert) == KEYS
    assert await count_rows(nova_db, "certificates") == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"bogus": "x"},
        {"id": 3},
        {"deleted": 1},
        {"user_id": 5},
        {"project_id": "p" * 256},
        {"file_name": "nul\x00"},
        {"file_name": "\udc80"},
        {"created_at": "not a time"},
    ],
)
async def test_certificate_create_with_bad_values_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, bad: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.certificate_create(admin, {"user_id": "u1", "project_id": "p1", **bad})
    assert await count_rows(nova_db, "certificates") == 0


async def test_certificate_create_with_values_not_a_dict_is_invalid(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.certificate_create(admin, None)  # type: ignore[arg-type]


async def test_four_byte_characters_are_stored(admin: rawdb.Context) -> None:
    cert = await db.certificate_create(admin, {"user_id": "ü🙂", "project_id": "p1", "file_name": "🔐.pem"})
    assert await db.certificate_get_all_by_user(admin, "ü🙂") == [cert]


async def test_the_listings_give_live_certificates_in_insertion_order(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    made = {}
    for name, user, project in (
        ("a", "u1", "p1"),
        ("b", "u2", "p1"),
        ("c", "u1", "p2"),
        ("d", "u1", "p1"),
        ("gone", "u1", "p1"),
    ):
        made[name] = await db.certificate_create(admin, {"user_id": user, "project_id": project, "file_name": name})
    await execute(nova_db, "UPDATE certificates SET deleted = id WHERE file_name = 'gone'")

    def names(rows: list[dict[str, Any]]) -> list[str]:
        return [row["file_name"] for row in rows]

    assert names(await db.certificate_get_all_by_project(admin, "p1")) == ["a", "b", "d"]
    assert names(await db.certificate_get_all_by_user(admin, "u1")) == ["a", "c", "d"]
    assert names(await db.certificate_get_all_by_user_and_project(admin, "u1", "p1")) == ["a", "d"]
    assert await db.certificate_get_all_by_user_and_project(admin, "u2", "p1") == [made["b"]]
    yes = admin.elevated(read_deleted="yes")  # the listings read live rows whatever the context says
    assert names(await db.certificate_get_all_by_project(yes, "p1")) == ["a", "b", "d"]


async def test_the_listings_of_unknown_or_unstorable_keys_are_empty(admin: rawdb.Context) -> None:
    await db.certificate_create(admin, {"user_id": "u1", "project_id": "p1"})
    assert await db.certificate_get_all_by_project(admin, "p9") == []
    assert await db.certificate_get_all_by_user(admin, "u" * 256) == []
    assert await db.certificate_get_all_by_user_and_project(admin, "u1", "nul\x00") == []
    assert await db.certificate_get_all_by_user_and_project(admin, "u1", "P1") == []  # case-sensitive


@pytest.mark.parametrize("bad", [None, 7, ["u1"]])
async def test_listing_by_a_key_that_is_no_string_is_invalid(admin: rawdb.Context, bad: Any) -> None:
    for call in (
        db.certificate_get_all_by_project(admin, bad),
        db.certificate_get_all_by_user(admin, bad),
        db.certificate_get_all_by_user_and_project(admin, bad, "p1"),
        db.certificate_get_all_by_user_and_project(admin, "u1", bad),
    ):
        with pytest.raises(errors.Invalid):
            await call


async def test_like_newton_any_context_may_call(nova_db: rawdb.Database, alice: rawdb.Context) -> None:
    anonymous = rawdb.Context(nova_db)
    cert = await db.certificate_create(anonymous, {"user_id": "bob", "project_id": "p2"})
    assert await db.certificate_get_all_by_user(alice, "bob") == [cert]
    assert await select(nova_db, "SELECT user_id FROM certificates") == [{"user_id": "bob"}]


async def test_a_create_inside_a_callers_writer_is_rolled_back_with_it(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            cert = await db.certificate_create(tx, {"user_id": "u1", "project_id": "p1"})
            assert await db.certificate_get_all_by_project(tx, "p1") == [cert]
            raise RuntimeError("roll back")
    assert await count_rows(nova_db, "certificates") == 0
