"""EC2 instance id mappings (Newton, spec A.3 "EC2 mappings"), on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import ec2_mappings as db

UUID = "11111111-2222-3333-4444-555555555555"
KEYS = {"id", "uuid", "created_at", "updated_at", "deleted_at", "deleted"}


async def test_ec2_instance_create_returns_the_mapping_with_every_column(alice: rawdb.Context) -> None:
    before = datetime.utcnow()
    mapping = await db.ec2_instance_create(alice, UUID)
    assert set(mapping) == KEYS
    assert isinstance(mapping["id"], int) and mapping["id"] >= 1
    assert (mapping["uuid"], mapping["updated_at"], mapping["deleted_at"], mapping["deleted"]) == (UUID, None, None, 0)
    assert before <= mapping["created_at"] <= datetime.utcnow()


async def test_the_getters_find_a_mapping_by_uuid_and_by_id(alice: rawdb.Context, admin: rawdb.Context) -> None:
    mapping = await db.ec2_instance_create(alice, UUID)
    await db.ec2_instance_create(alice, "another-uuid")
    assert await db.ec2_instance_get_by_uuid(alice, UUID) == mapping
    assert await db.ec2_instance_get_by_id(admin, mapping["id"]) == mapping
    assert await db.get_ec2_instance_id_by_uuid(alice, UUID) == mapping["id"]
    assert await db.get_instance_uuid_by_ec2_id(alice, mapping["id"]) == UUID


async def test_a_uuid_with_several_mappings_gives_the_first(alice: rawdb.Context) -> None:
    first = await db.ec2_instance_create(alice, UUID)
    await db.ec2_instance_create(alice, UUID)
    assert await db.ec2_instance_get_by_uuid(alice, UUID) == first
    assert await db.get_ec2_instance_id_by_uuid(alice, UUID) == first["id"]


async def test_the_getters_see_deleted_mappings_whatever_the_context_reads(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    mapping = await db.ec2_instance_create(alice, UUID)
    await execute(nova_db, "UPDATE instance_id_mappings SET deleted = id, deleted_at = :t", t=datetime(2016, 1, 1))
    assert alice.read_deleted == "no"
    found = await db.ec2_instance_get_by_uuid(alice, UUID)
    assert (found["id"], found["deleted"]) == (mapping["id"], mapping["id"])
    assert (await db.ec2_instance_get_by_id(alice, mapping["id"]))["deleted_at"] == datetime(2016, 1, 1)
    assert await db.get_instance_uuid_by_ec2_id(alice, mapping["id"]) == UUID
    assert await db.get_ec2_instance_id_by_uuid(alice, UUID) == mapping["id"]


async def test_lookups_that_find_nothing_raise_instance_not_found_naming_the_value(alice: rawdb.Context) -> None:
    await db.ec2_instance_create(alice, UUID)
    for call, value in (
        (db.ec2_instance_get_by_uuid, "uuid-not-present"),
        (db.get_ec2_instance_id_by_uuid, "uuid-not-present"),
        (db.ec2_instance_get_by_id, 123456),
        (db.get_instance_uuid_by_ec2_id, 100500),
    ):
        with pytest.raises(errors.InstanceNotFound) as caught:
            await call(alice, value)
        assert str(value) in str(caught.value) and caught.value.instance_id == value


@pytest.mark.parametrize("value", [12345, None, "u" * 37, "nul\x00", "\ud800"])
async def test_a_uuid_no_mapping_can_have_is_not_found(alice: rawdb.Context, value: Any) -> None:
    with pytest.raises(errors.InstanceNotFound):
        await db.ec2_instance_get_by_uuid(alice, value)
    with pytest.raises(errors.InstanceNotFound):
        await db.get_ec2_instance_id_by_uuid(alice, value)


@pytest.mark.parametrize("value", ["abc", None, True, 0, -1, 2**31, 2**70, 1.0])
async def test_an_id_no_mapping_can_have_is_not_found(alice: rawdb.Context, value: Any) -> None:
    await db.ec2_instance_create(alice, UUID)  # id 1: True and 1.0 must not find it
    with pytest.raises(errors.InstanceNotFound):
        await db.ec2_instance_get_by_id(alice, value)
    with pytest.raises(errors.InstanceNotFound):
        await db.get_instance_uuid_by_ec2_id(alice, value)


async def test_an_id_given_as_digits_is_looked_up(alice: rawdb.Context) -> None:
    mapping = await db.ec2_instance_create(alice, UUID)
    assert await db.get_instance_uuid_by_ec2_id(alice, str(mapping["id"])) == UUID


async def test_a_chosen_id_is_kept_and_later_generated_ids_follow_it(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    generated = await db.ec2_instance_create(alice, "first")
    chosen = await db.ec2_instance_create(alice, UUID, id=1000)
    assert chosen["id"] == 1000 and chosen["uuid"] == UUID
    assert await db.get_instance_uuid_by_ec2_id(alice, 1000) == UUID
    later = await db.ec2_instance_create(alice, "later")
    assert later["id"] == 1001
    lower = await db.ec2_instance_create(alice, "lower", id=generated["id"] + 1)  # below the counter: no change
    assert lower["id"] == generated["id"] + 1
    assert (await db.ec2_instance_create(alice, "last"))["id"] == 1002
    assert await count_rows(nova_db, "instance_id_mappings") == 5


async def test_a_chosen_id_that_is_taken_is_a_duplicate_and_writes_nothing(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    mapping = await db.ec2_instance_create(alice, UUID)
    with pytest.raises(errors.DBDuplicateEntry) as caught:
        await db.ec2_instance_create(alice, "other-uuid", id=mapping["id"])
    assert isinstance(caught.value, errors.Duplicate)
    assert await select(nova_db, "SELECT id, uuid FROM instance_id_mappings") == [{"id": mapping["id"], "uuid": UUID}]


@pytest.mark.parametrize("bad_id", [0, -5, 2**31, "abc", 1.5, True])
async def test_a_chosen_id_that_is_not_a_positive_integer_is_invalid(
    nova_db: rawdb.Database, alice: rawdb.Context, bad_id: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.ec2_instance_create(alice, UUID, id=bad_id)
    assert await count_rows(nova_db, "instance_id_mappings") == 0


@pytest.mark.parametrize("bad_uuid", [None, 123, b"bytes", "u" * 37, "nul\x00", "\udc80"])
async def test_a_uuid_no_mapping_can_hold_is_invalid(
    nova_db: rawdb.Database, alice: rawdb.Context, bad_uuid: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.ec2_instance_create(alice, bad_uuid)
    assert await count_rows(nova_db, "instance_id_mappings") == 0


async def test_a_uuid_of_36_characters_of_any_kind_is_taken(alice: rawdb.Context) -> None:
    odd = "é" * 30 + "🙂" * 6
    mapping = await db.ec2_instance_create(alice, odd)
    assert await db.ec2_instance_get_by_uuid(alice, odd) == mapping
    with pytest.raises(errors.InstanceNotFound):
        await db.ec2_instance_get_by_uuid(alice, "É" * 30 + "🙂" * 6)


async def test_a_context_that_is_neither_admin_nor_user_is_not_authorized(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    mapping = await db.ec2_instance_create(alice, UUID)
    anonymous = rawdb.Context(nova_db)
    calls = (
        db.ec2_instance_create(anonymous, "x"),
        db.ec2_instance_get_by_uuid(anonymous, UUID),
        db.ec2_instance_get_by_id(anonymous, mapping["id"]),
        db.get_ec2_instance_id_by_uuid(anonymous, UUID),
        db.get_instance_uuid_by_ec2_id(anonymous, mapping["id"]),
    )
    for call in calls:
        with pytest.raises(errors.NotAuthorized):
            await call
    assert await count_rows(nova_db, "instance_id_mappings") == 1


async def test_concurrent_creates_get_distinct_ids(
    nova_db: rawdb.Database, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    created = await asyncio.gather(
        *(db.ec2_instance_create(ctx, f"uuid-{n}") for n in range(10) for ctx in (alice, bob))
    )
    assert len({m["id"] for m in created}) == 20
    for mapping in created:
        assert await db.get_instance_uuid_by_ec2_id(alice, mapping["id"]) == mapping["uuid"]


async def test_a_create_inside_a_callers_writer_is_rolled_back_with_it(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    with pytest.raises(RuntimeError):
        async with alice.writer() as tx:
            mapping = await db.ec2_instance_create(tx, UUID, id=7)
            assert await db.get_ec2_instance_id_by_uuid(tx, UUID) == mapping["id"] == 7
            raise RuntimeError("roll back")
    assert await count_rows(nova_db, "instance_id_mappings") == 0
    assert (await db.ec2_instance_create(alice, UUID, id=7))["id"] == 7
