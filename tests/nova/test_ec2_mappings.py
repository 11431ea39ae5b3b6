"""EC2 ids of instances, volumes and snapshots, and S3 images (Newton, nova 2013.1: spec A.3), on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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


# --- volumes, snapshots and S3 images --------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One mapping table's public functions, as the tests below call them."""

    table: str
    create: Callable[..., Awaitable[dict[str, Any]]]
    get_by_id: Callable[..., Awaitable[dict[str, Any]]]
    get_by_uuid: Callable[..., Awaitable[dict[str, Any]]]
    id_by_uuid: Callable[..., Awaitable[int]] | None  # nova 2013.1's, for volumes and snapshots
    uuid_by_id: Callable[..., Awaitable[str]] | None
    not_found: type[errors.NotFound]
    kwarg: str  # the NotFound's keyword
    forced_id: str | None  # create's keyword for a chosen id


KINDS = {
    "volume": Kind(
        "volume_id_mappings",
        db.ec2_volume_create,
        db.ec2_volume_get_by_id,
        db.ec2_volume_get_by_uuid,
        db.get_ec2_volume_id_by_uuid,
        db.get_volume_uuid_by_ec2_id,
        errors.VolumeNotFound,
        "volume_id",
        "forced_id",
    ),
    "snapshot": Kind(
        "snapshot_id_mappings",
        db.ec2_snapshot_create,
        db.ec2_snapshot_get_by_ec2_id,
        db.ec2_snapshot_get_by_uuid,
        db.get_ec2_snapshot_id_by_uuid,
        db.get_snapshot_uuid_by_ec2_id,
        errors.SnapshotNotFound,
        "snapshot_id",
        "forced_id",
    ),
    "s3_image": Kind(
        "s3_images",
        db.s3_image_create,
        db.s3_image_get,
        db.s3_image_get_by_uuid,
        None,
        None,
        errors.ImageNotFound,
        "image_id",
        None,
    ),
}
CHOOSING = ["volume", "snapshot"]  # the kinds whose create takes a chosen id


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


async def test_create_returns_the_mapping_and_the_getters_find_it(kind: Kind, alice: rawdb.Context) -> None:
    before = datetime.utcnow()
    mapping = await kind.create(alice, UUID)
    await kind.create(alice, "another-uuid")
    assert set(mapping) == KEYS
    assert isinstance(mapping["id"], int) and mapping["id"] >= 1
    assert (mapping["uuid"], mapping["updated_at"], mapping["deleted_at"], mapping["deleted"]) == (UUID, None, None, 0)
    assert before <= mapping["created_at"] <= datetime.utcnow()
    assert await kind.get_by_id(alice, mapping["id"]) == mapping
    assert await kind.get_by_id(alice, str(mapping["id"])) == mapping
    assert await kind.get_by_uuid(alice, UUID) == mapping
    if kind.id_by_uuid is not None and kind.uuid_by_id is not None:
        assert await kind.id_by_uuid(alice, UUID) == mapping["id"]
        assert await kind.uuid_by_id(alice, mapping["id"]) == UUID


async def test_a_uuid_with_several_mappings_gives_the_first_of_its_kind(kind: Kind, alice: rawdb.Context) -> None:
    first = await kind.create(alice, UUID)
    await kind.create(alice, UUID)
    assert await kind.get_by_uuid(alice, UUID) == first


async def test_the_getters_of_every_kind_see_deleted_mappings_whatever_the_context_reads(
    kind: Kind, nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    mapping = await kind.create(alice, UUID)
    await execute(nova_db, f"UPDATE {kind.table} SET deleted = id, deleted_at = :t", t=datetime(2016, 1, 1))
    found = await kind.get_by_uuid(alice, UUID)
    assert (found["id"], found["deleted"], found["deleted_at"]) == (mapping["id"], mapping["id"], datetime(2016, 1, 1))
    assert (await kind.get_by_id(alice, mapping["id"]))["deleted"] == mapping["id"]
    if kind.id_by_uuid is not None and kind.uuid_by_id is not None:
        assert await kind.id_by_uuid(alice, UUID) == mapping["id"]
        assert await kind.uuid_by_id(alice, mapping["id"]) == UUID


async def test_lookups_that_find_nothing_raise_the_kinds_not_found_naming_the_value(
    kind: Kind, alice: rawdb.Context
) -> None:
    await kind.create(alice, UUID)
    calls: list[tuple[Callable[..., Awaitable[Any]], Any]] = [
        (kind.get_by_uuid, "uuid-not-present"),
        (kind.get_by_id, 123456),
    ]
    if kind.id_by_uuid is not None and kind.uuid_by_id is not None:
        calls += [(kind.id_by_uuid, "uuid-not-present"), (kind.uuid_by_id, 100500)]
    for call, value in calls:
        with pytest.raises(kind.not_found) as caught:
            await call(alice, value)
        assert str(value) in str(caught.value) and getattr(caught.value, kind.kwarg) == value
        assert isinstance(caught.value, errors.NotFound)


async def test_each_kind_has_its_own_table(alice: rawdb.Context) -> None:
    volume = await db.ec2_volume_create(alice, "vol-uuid")
    with pytest.raises(errors.SnapshotNotFound):
        await db.ec2_snapshot_get_by_uuid(alice, "vol-uuid")
    with pytest.raises(errors.ImageNotFound):
        await db.s3_image_get_by_uuid(alice, "vol-uuid")
    with pytest.raises(errors.InstanceNotFound):
        await db.ec2_instance_get_by_uuid(alice, "vol-uuid")
    with pytest.raises(errors.SnapshotNotFound):
        await db.get_snapshot_uuid_by_ec2_id(alice, volume["id"])
    with pytest.raises(errors.ImageNotFound):
        await db.s3_image_get(alice, volume["id"])


@pytest.mark.parametrize("value", [12345, None, "u" * 37, "nul\x00", "\ud800"])
async def test_a_uuid_no_mapping_of_the_kind_can_have_is_not_found(
    kind: Kind, alice: rawdb.Context, value: Any
) -> None:
    with pytest.raises(kind.not_found):
        await kind.get_by_uuid(alice, value)
    if kind.id_by_uuid is not None:
        with pytest.raises(kind.not_found):
            await kind.id_by_uuid(alice, value)


@pytest.mark.parametrize("value", ["abc", None, True, 0, -1, 2**31, 2**70, 1.0])
async def test_an_id_no_mapping_of_the_kind_can_have_is_not_found(kind: Kind, alice: rawdb.Context, value: Any) -> None:
    await kind.create(alice, UUID)  # id 1: True and 1.0 must not find it
    with pytest.raises(kind.not_found):
        await kind.get_by_id(alice, value)
    if kind.uuid_by_id is not None:
        with pytest.raises(kind.not_found):
            await kind.uuid_by_id(alice, value)


@pytest.mark.parametrize("bad_uuid", [None, 123, b"bytes", "u" * 37, "nul\x00", "\udc80"])
async def test_creating_a_mapping_of_a_uuid_no_mapping_can_hold_is_invalid(
    kind: Kind, nova_db: rawdb.Database, alice: rawdb.Context, bad_uuid: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await kind.create(alice, bad_uuid)
    assert await count_rows(nova_db, kind.table) == 0


async def test_a_uuid_of_36_characters_of_any_kind_is_taken_by_every_table(kind: Kind, alice: rawdb.Context) -> None:
    odd = "é" * 30 + "🙂" * 6
    mapping = await kind.create(alice, odd)
    assert await kind.get_by_uuid(alice, odd) == mapping


@pytest.mark.parametrize("name", CHOOSING)
async def test_a_forced_id_is_kept_and_later_generated_ids_follow_it(
    name: str, nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    kind = KINDS[name]
    await kind.create(alice, "first")
    chosen = await kind.create(alice, UUID, forced_id=1000)
    assert (chosen["id"], chosen["uuid"]) == (1000, UUID)
    assert (await kind.create(alice, "later"))["id"] == 1001
    assert (await kind.create(alice, "positional", 500))["id"] == 500  # below the counter: no change
    assert (await kind.create(alice, "last"))["id"] == 1002
    assert await count_rows(nova_db, kind.table) == 5


@pytest.mark.parametrize("name", CHOOSING)
async def test_a_forced_id_that_is_taken_is_a_duplicate_and_writes_nothing(
    name: str, nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    kind = KINDS[name]
    mapping = await kind.create(alice, UUID)
    with pytest.raises(errors.DBDuplicateEntry):
        await kind.create(alice, "other-uuid", forced_id=mapping["id"])
    assert await select(nova_db, f"SELECT id, uuid FROM {kind.table}") == [{"id": mapping["id"], "uuid": UUID}]


@pytest.mark.parametrize("name", CHOOSING)
@pytest.mark.parametrize("bad_id", [0, -5, 2**31, "abc", 1.5, True])
async def test_a_forced_id_that_is_not_a_positive_integer_is_invalid(
    name: str, nova_db: rawdb.Database, alice: rawdb.Context, bad_id: Any
) -> None:
    kind = KINDS[name]
    with pytest.raises(errors.Invalid):
        await kind.create(alice, UUID, forced_id=bad_id)
    assert await count_rows(nova_db, kind.table) == 0


async def test_volume_and_snapshot_ids_need_an_admin_or_user_context(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    volume = await db.ec2_volume_create(alice, UUID)
    snapshot = await db.ec2_snapshot_create(alice, UUID)
    anonymous = rawdb.Context(nova_db)
    calls = (
        db.ec2_volume_create(anonymous, "x"),
        db.ec2_volume_get_by_id(anonymous, volume["id"]),
        db.ec2_volume_get_by_uuid(anonymous, UUID),
        db.get_ec2_volume_id_by_uuid(anonymous, UUID),
        db.get_volume_uuid_by_ec2_id(anonymous, volume["id"]),
        db.ec2_snapshot_create(anonymous, "x"),
        db.ec2_snapshot_get_by_ec2_id(anonymous, snapshot["id"]),
        db.ec2_snapshot_get_by_uuid(anonymous, UUID),
        db.get_ec2_snapshot_id_by_uuid(anonymous, UUID),
        db.get_snapshot_uuid_by_ec2_id(anonymous, snapshot["id"]),
    )
    for call in calls:
        with pytest.raises(errors.NotAuthorized):
            await call
    assert await count_rows(nova_db, "volume_id_mappings") == 1
    assert await count_rows(nova_db, "snapshot_id_mappings") == 1


async def test_like_newton_s3_images_check_no_caller(nova_db: rawdb.Database) -> None:
    anonymous = rawdb.Context(nova_db)
    image = await db.s3_image_create(anonymous, UUID)
    assert await db.s3_image_get(anonymous, image["id"]) == image
    assert await db.s3_image_get_by_uuid(anonymous, UUID) == image


async def test_concurrent_creates_of_every_kind_get_distinct_ids(
    nova_db: rawdb.Database, alice: rawdb.Context, bob: rawdb.Context
) -> None:
    calls = [
        create(ctx, f"uuid-{n}")
        for n in range(5)
        for ctx in (alice, bob)
        for create in (db.ec2_volume_create, db.ec2_snapshot_create, db.s3_image_create)
    ]
    created = await asyncio.gather(*calls)
    for table in ("volume_id_mappings", "snapshot_id_mappings", "s3_images"):
        rows = await select(nova_db, f"SELECT id FROM {table}")
        assert len({row["id"] for row in rows}) == len(rows) == 10
    assert len(created) == 30


async def test_creates_inside_a_callers_writer_are_rolled_back_with_it(
    nova_db: rawdb.Database, alice: rawdb.Context
) -> None:
    with pytest.raises(RuntimeError):
        async with alice.writer() as tx:
            volume = await db.ec2_volume_create(tx, UUID, forced_id=7)
            image = await db.s3_image_create(tx, UUID)
            assert await db.get_ec2_volume_id_by_uuid(tx, UUID) == volume["id"] == 7
            assert await db.s3_image_get_by_uuid(tx, UUID) == image
            raise RuntimeError("roll back")
    assert await count_rows(nova_db, "volume_id_mappings") == 0
    assert await count_rows(nova_db, "s3_images") == 0
