"""The storage manager (SM) tables (cinder 2012.2, spec A.5 "SM"): flavors, backend configs, SM volumes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.cinder import sm

FLAVOR_KEYS = {"id", "label", "description", "created_at", "updated_at", "deleted_at", "deleted"}
BACKEND_KEYS = {
    "id",
    "flavor_id",
    "sr_uuid",
    "sr_type",
    "config_params",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}
VOLUME_KEYS = {"id", "backend_id", "vdi_uuid", "created_at", "updated_at", "deleted_at", "deleted"}


async def add_volume(db: rawdb.Database) -> str:
    volume_id = str(uuid.uuid4())
    await execute(db, "INSERT INTO volumes (id, project_id, size, deleted) VALUES (:id, 'p1', 1, false)", id=volume_id)
    return volume_id


async def flavor_and_backend(admin: rawdb.Context, label: str = "gold", sr_uuid: str = "sr-1") -> tuple[int, int]:
    flavor = await sm.sm_flavor_create(admin, {"label": label, "description": f"{label} storage"})
    backend = await sm.sm_backend_conf_create(
        admin, {"flavor_id": flavor["id"], "sr_uuid": sr_uuid, "sr_type": "nfs", "config_params": "server=x"}
    )
    return flavor["id"], backend["id"]


async def all_sm_rows(db: rawdb.Database) -> dict[str, list[dict[str, Any]]]:
    return {
        table: await select(db, f"SELECT * FROM {table} ORDER BY id")
        for table in ("sm_flavors", "sm_backend_config", "sm_volume")
    }


# --- flavors ---------------------------------------------------------------------------------


async def test_sm_flavor_create_returns_the_flavor_with_every_column(admin: rawdb.Context) -> None:
    before = datetime.utcnow()
    made = await sm.sm_flavor_create(admin, {"label": "gold", "description": "fast disks"})
    assert set(made) == FLAVOR_KEYS
    assert isinstance(made["id"], int)
    assert (made["label"], made["description"]) == ("gold", "fast disks")
    assert (made["updated_at"], made["deleted_at"], made["deleted"]) == (None, None, False)
    assert before <= made["created_at"] <= datetime.utcnow()


async def test_sm_flavor_get_finds_a_flavor_by_label_not_by_id(admin: rawdb.Context) -> None:
    made = await sm.sm_flavor_create(admin, {"label": "gold", "description": "g"})
    assert await sm.sm_flavor_get(admin, "gold") == made
    with pytest.raises(errors.NotFound) as caught:
        await sm.sm_flavor_get(admin, str(made["id"]))
    assert str(caught.value) == f"No sm_flavor called {made['id']}"


async def test_sm_flavor_get_of_an_unknown_label_is_not_found_with_upstreams_message(admin: rawdb.Context) -> None:
    with pytest.raises(errors.NotFound) as caught:
        await sm.sm_flavor_get(admin, "silver")
    assert type(caught.value) is errors.NotFound
    assert str(caught.value) == "No sm_flavor called silver"
    for unstorable in ("x" * 300, "a\x00b"):
        with pytest.raises(errors.NotFound):
            await sm.sm_flavor_get(admin, unstorable)


async def test_sm_flavor_get_of_a_shared_label_returns_the_oldest(admin: rawdb.Context) -> None:
    first = await sm.sm_flavor_create(admin, {"label": "gold", "description": "one"})
    await sm.sm_flavor_create(admin, {"label": "gold", "description": "two"})
    assert (await sm.sm_flavor_get(admin, "gold"))["description"] == "one"
    assert (await sm.sm_flavor_get(admin, "gold"))["id"] == first["id"]


async def test_sm_flavor_get_all_returns_every_flavor_deleted_or_not_oldest_first(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    assert await sm.sm_flavor_get_all(admin) == []
    await sm.sm_flavor_create(admin, {"label": "gold"})
    await sm.sm_flavor_create(admin, {"label": "silver"})
    await execute(cinder_db, "UPDATE sm_flavors SET deleted = true WHERE label = 'silver'")
    got = await sm.sm_flavor_get_all(admin)
    assert [(f["label"], f["deleted"]) for f in got] == [("gold", False), ("silver", True)]
    assert (await sm.sm_flavor_get(admin, "silver"))["deleted"] is True  # read_deleted='yes'


async def test_sm_flavor_update_changes_the_given_columns_and_returns_the_flavor(admin: rawdb.Context) -> None:
    made = await sm.sm_flavor_create(admin, {"label": "gold", "description": "old"})
    changed = await sm.sm_flavor_update(admin, "gold", {"description": "new"})
    assert (changed["id"], changed["label"], changed["description"]) == (made["id"], "gold", "new")
    assert changed["created_at"] == made["created_at"]
    assert changed["updated_at"] is not None and changed["updated_at"] >= made["created_at"]
    renamed = await sm.sm_flavor_update(admin, "gold", {"label": "platinum"})
    assert (renamed["label"], renamed["description"]) == ("platinum", "new")
    assert await sm.sm_flavor_get(admin, "platinum") == renamed


async def test_sm_flavor_update_keeps_a_given_updated_at(admin: rawdb.Context) -> None:
    await sm.sm_flavor_create(admin, {"label": "gold"})
    when = datetime(2012, 9, 27, 10, 30, 0, 123456)
    assert (await sm.sm_flavor_update(admin, "gold", {"updated_at": when}))["updated_at"] == when


async def test_sm_flavor_update_changes_only_the_oldest_flavor_of_a_shared_label(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await sm.sm_flavor_create(admin, {"label": "gold", "description": "one"})
    await sm.sm_flavor_create(admin, {"label": "gold", "description": "two"})
    await sm.sm_flavor_update(admin, "gold", {"description": "changed"})
    rows = await select(cinder_db, "SELECT description FROM sm_flavors ORDER BY id")
    assert rows == [{"description": "changed"}, {"description": "two"}]


async def test_sm_flavor_update_of_an_unknown_label_is_not_found_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await sm.sm_flavor_create(admin, {"label": "gold"})
    before = await all_sm_rows(cinder_db)
    with pytest.raises(errors.NotFound) as caught:
        await sm.sm_flavor_update(admin, "silver", {"description": "x"})
    assert str(caught.value) == "No sm_flavor called silver"
    assert await all_sm_rows(cinder_db) == before


async def test_sm_flavor_delete_deletes_every_flavor_of_the_label_for_good(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await sm.sm_flavor_create(admin, {"label": "gold"})
    await sm.sm_flavor_create(admin, {"label": "gold"})
    await sm.sm_flavor_create(admin, {"label": "silver"})
    await sm.sm_flavor_delete(admin, "gold")
    assert await select(cinder_db, "SELECT label FROM sm_flavors") == [{"label": "silver"}]  # no soft-deleted rows
    with pytest.raises(errors.NotFound):
        await sm.sm_flavor_get(admin, "gold")


async def test_sm_flavor_delete_of_an_unknown_label_is_no_error(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await sm.sm_flavor_create(admin, {"label": "gold"})
    await sm.sm_flavor_delete(admin, "silver")
    await sm.sm_flavor_delete(admin, "x" * 300)
    assert await count_rows(cinder_db, "sm_flavors") == 1


async def test_sm_flavor_delete_of_a_flavor_with_backend_configs_is_a_reference_error_and_deletes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    await flavor_and_backend(admin)
    before = await all_sm_rows(cinder_db)
    with pytest.raises(errors.DBReferenceError):
        await sm.sm_flavor_delete(admin, "gold")
    assert await all_sm_rows(cinder_db) == before


async def test_sm_flavor_create_refuses_bad_values_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    for bad in (
        ["label", "gold"],
        {"label": 5},
        {"label": "x" * 256},
        {"label": "a\x00b"},
        {"id": 7, "label": "gold"},
        {"deleted": True},
        {"colour": "red"},
        {"created_at": "yesterday"},
    ):
        with pytest.raises(errors.Invalid):
            await sm.sm_flavor_create(admin, bad)  # type: ignore[arg-type]
    assert await count_rows(cinder_db, "sm_flavors") == 0
    made = await sm.sm_flavor_create(admin, {"label": "gold", "colour": None})  # None for an unknown key is ignored
    assert made["label"] == "gold"


async def test_sm_flavor_lookups_refuse_a_label_that_is_not_a_string(admin: rawdb.Context) -> None:
    await sm.sm_flavor_create(admin, {"label": "5"})
    with pytest.raises(errors.Invalid):
        await sm.sm_flavor_get(admin, 5)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await sm.sm_flavor_update(admin, None, {"description": "x"})  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await sm.sm_flavor_delete(admin, ["5"])  # type: ignore[arg-type]
    assert (await sm.sm_flavor_get(admin, "5"))["description"] is None


# --- backend configs ------------------------------------------------------------------------


async def test_sm_backend_conf_create_returns_the_config_with_every_column(admin: rawdb.Context) -> None:
    flavor = await sm.sm_flavor_create(admin, {"label": "gold"})
    made = await sm.sm_backend_conf_create(
        admin, {"flavor_id": flavor["id"], "sr_uuid": "sr-1", "sr_type": "nfs", "config_params": "a=1 b=2"}
    )
    assert set(made) == BACKEND_KEYS
    assert (made["flavor_id"], made["sr_uuid"], made["sr_type"], made["config_params"]) == (
        flavor["id"],
        "sr-1",
        "nfs",
        "a=1 b=2",
    )
    assert (made["updated_at"], made["deleted_at"], made["deleted"]) == (None, None, False)
    assert await sm.sm_backend_conf_get(admin, made["id"]) == made


async def test_sm_backend_conf_create_takes_config_params_of_2047_characters(admin: rawdb.Context) -> None:
    flavor = await sm.sm_flavor_create(admin, {"label": "gold"})
    made = await sm.sm_backend_conf_create(admin, {"flavor_id": flavor["id"], "config_params": "p" * 2047})
    assert made["config_params"] == "p" * 2047
    with pytest.raises(errors.Invalid):
        await sm.sm_backend_conf_create(admin, {"flavor_id": flavor["id"], "config_params": "p" * 2048})


async def test_sm_backend_conf_create_of_an_unknown_flavor_is_a_reference_error_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    with pytest.raises(errors.DBReferenceError):
        await sm.sm_backend_conf_create(admin, {"flavor_id": 4242, "sr_uuid": "sr-1"})
    assert await count_rows(cinder_db, "sm_backend_config") == 0


async def test_sm_backend_conf_create_reference_error_leaves_the_callers_transaction_usable(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    async with admin.writer() as tx:
        flavor = await sm.sm_flavor_create(tx, {"label": "gold"})
        with pytest.raises(errors.DBReferenceError):
            await sm.sm_backend_conf_create(tx, {"flavor_id": flavor["id"] + 1})
        await sm.sm_backend_conf_create(tx, {"flavor_id": flavor["id"], "sr_uuid": "sr-ok"})
    assert [b["sr_uuid"] for b in await sm.sm_backend_conf_get_all(admin)] == ["sr-ok"]


async def test_sm_backend_conf_create_refuses_bad_values_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    flavor = await sm.sm_flavor_create(admin, {"label": "gold"})
    for bad in (
        {},
        {"sr_uuid": "sr-1"},  # flavor_id is required
        {"flavor_id": None},
        {"flavor_id": "gold"},
        {"flavor_id": 2**31},
        {"flavor_id": flavor["id"], "id": 9},
        {"flavor_id": flavor["id"], "sr_uuid": "s" * 256},
        {"flavor_id": flavor["id"], "deleted_at": datetime(2012, 1, 1)},
        None,
    ):
        with pytest.raises(errors.Invalid):
            await sm.sm_backend_conf_create(admin, bad)  # type: ignore[arg-type]
    assert await count_rows(cinder_db, "sm_backend_config") == 0
    made = await sm.sm_backend_conf_create(admin, {"flavor_id": str(flavor["id"])})  # an integer string, as the ORM
    assert made["flavor_id"] == flavor["id"]


async def test_sm_backend_conf_update_changes_the_given_columns_and_returns_the_config(admin: rawdb.Context) -> None:
    gold, backend_id = await flavor_and_backend(admin)
    silver = await sm.sm_flavor_create(admin, {"label": "silver"})
    before = await sm.sm_backend_conf_get(admin, backend_id)
    changed = await sm.sm_backend_conf_update(admin, backend_id, {"flavor_id": silver["id"], "sr_type": "iscsi"})
    assert (changed["id"], changed["flavor_id"], changed["sr_uuid"], changed["sr_type"]) == (
        backend_id,
        silver["id"],
        "sr-1",
        "iscsi",
    )
    assert changed["config_params"] == "server=x"
    assert changed["created_at"] == before["created_at"]
    assert changed["updated_at"] is not None
    assert await sm.sm_backend_conf_get(admin, backend_id) == changed
    assert changed["flavor_id"] != gold


async def test_sm_backend_conf_update_of_a_deleted_config_changes_it_too(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    await execute(cinder_db, "UPDATE sm_backend_config SET deleted = true WHERE id = :id", id=backend_id)
    changed = await sm.sm_backend_conf_update(admin, backend_id, {"sr_type": "lvm"})
    assert (changed["sr_type"], changed["deleted"]) == ("lvm", True)


async def test_sm_backend_conf_update_of_an_unknown_id_is_not_found_with_upstreams_message(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    before = await all_sm_rows(cinder_db)
    for missing in (backend_id + 1, 2**40, 0):
        with pytest.raises(errors.NotFound) as caught:
            await sm.sm_backend_conf_update(admin, missing, {"sr_type": "lvm"})
        assert type(caught.value) is errors.NotFound
        assert str(caught.value) == f"No backend config with id {missing}"
    assert await all_sm_rows(cinder_db) == before


async def test_sm_backend_conf_update_refuses_bad_input_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    before = await all_sm_rows(cinder_db)
    with pytest.raises(errors.DBReferenceError):
        await sm.sm_backend_conf_update(admin, backend_id, {"flavor_id": 4242, "sr_type": "lvm"})
    for bad_id, bad_values in (
        ("one", {"sr_type": "lvm"}),
        (backend_id, {"flavor_id": None}),
        (backend_id, {"sr_type": 7}),
        (backend_id, {"id": 99}),
        (backend_id, "sr_type=lvm"),
    ):
        with pytest.raises(errors.Invalid):
            await sm.sm_backend_conf_update(admin, bad_id, bad_values)  # type: ignore[arg-type]
    assert await all_sm_rows(cinder_db) == before


async def test_sm_backend_conf_get_of_an_unknown_id_is_not_found_and_of_a_non_integer_invalid(
    admin: rawdb.Context,
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    assert (await sm.sm_backend_conf_get(admin, str(backend_id)))["id"] == backend_id
    with pytest.raises(errors.NotFound) as caught:
        await sm.sm_backend_conf_get(admin, backend_id + 1)
    assert str(caught.value) == f"No backend config with id {backend_id + 1}"
    with pytest.raises(errors.NotFound):
        await sm.sm_backend_conf_get(admin, -1)
    for bad in ("sr-1", 1.5, None, True):
        with pytest.raises(errors.Invalid):
            await sm.sm_backend_conf_get(admin, bad)  # type: ignore[arg-type]


async def test_sm_backend_conf_get_by_sr_returns_the_oldest_config_of_the_sr_or_none(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    flavor_id, first = await flavor_and_backend(admin, sr_uuid="sr-1")
    await sm.sm_backend_conf_create(admin, {"flavor_id": flavor_id, "sr_uuid": "sr-1", "sr_type": "second"})
    await sm.sm_backend_conf_create(admin, {"flavor_id": flavor_id, "sr_uuid": "sr-2"})
    found = await sm.sm_backend_conf_get_by_sr(admin, "sr-1")
    assert found is not None and found["id"] == first
    assert await sm.sm_backend_conf_get_by_sr(admin, "sr-3") is None
    assert await sm.sm_backend_conf_get_by_sr(admin, "s" * 300) is None
    await execute(cinder_db, "UPDATE sm_backend_config SET deleted = true WHERE sr_uuid = 'sr-2'")
    deleted = await sm.sm_backend_conf_get_by_sr(admin, "sr-2")
    assert deleted is not None and deleted["deleted"] is True
    with pytest.raises(errors.Invalid):
        await sm.sm_backend_conf_get_by_sr(admin, 5)  # type: ignore[arg-type]


async def test_sm_backend_conf_get_by_sr_of_none_finds_a_config_without_an_sr(admin: rawdb.Context) -> None:
    flavor_id, _ = await flavor_and_backend(admin, sr_uuid="sr-1")
    assert await sm.sm_backend_conf_get_by_sr(admin, None) is None  # type: ignore[arg-type]
    bare = await sm.sm_backend_conf_create(admin, {"flavor_id": flavor_id})
    assert await sm.sm_backend_conf_get_by_sr(admin, None) == bare  # type: ignore[arg-type]


async def test_sm_backend_conf_get_all_returns_every_config_oldest_first(admin: rawdb.Context) -> None:
    assert await sm.sm_backend_conf_get_all(admin) == []
    flavor_id, first = await flavor_and_backend(admin, sr_uuid="sr-1")
    second = await sm.sm_backend_conf_create(admin, {"flavor_id": flavor_id, "sr_uuid": "sr-2"})
    got = await sm.sm_backend_conf_get_all(admin)
    assert [(b["id"], b["sr_uuid"]) for b in got] == [(first, "sr-1"), (second["id"], "sr-2")]
    assert all(set(b) == BACKEND_KEYS for b in got)


async def test_sm_backend_conf_delete_deletes_the_config_for_good(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    flavor_id, first = await flavor_and_backend(admin, sr_uuid="sr-1")
    second = await sm.sm_backend_conf_create(admin, {"flavor_id": flavor_id, "sr_uuid": "sr-2"})
    await sm.sm_backend_conf_delete(admin, first)
    assert await select(cinder_db, "SELECT id FROM sm_backend_config") == [{"id": second["id"]}]
    with pytest.raises(errors.NotFound):
        await sm.sm_backend_conf_get(admin, first)


async def test_sm_backend_conf_delete_of_an_unknown_id_is_no_error_and_of_a_non_integer_invalid(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    await sm.sm_backend_conf_delete(admin, backend_id + 1)
    await sm.sm_backend_conf_delete(admin, 2**40)
    with pytest.raises(errors.Invalid):
        await sm.sm_backend_conf_delete(admin, "sr-1")  # type: ignore[arg-type]
    assert await count_rows(cinder_db, "sm_backend_config") == 1


async def test_sm_backend_conf_delete_of_a_config_with_sm_volumes_is_a_reference_error_and_deletes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    await sm.sm_volume_create(admin, {"id": await add_volume(cinder_db), "backend_id": backend_id})
    before = await all_sm_rows(cinder_db)
    with pytest.raises(errors.DBReferenceError):
        await sm.sm_backend_conf_delete(admin, backend_id)
    assert await all_sm_rows(cinder_db) == before


# --- SM volumes ---------------------------------------------------------------------------------


async def test_sm_volume_create_returns_the_sm_volume_with_every_column(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    volume_id = await add_volume(cinder_db)
    made = await sm.sm_volume_create(admin, {"id": volume_id, "backend_id": backend_id, "vdi_uuid": "vdi-1"})
    assert set(made) == VOLUME_KEYS
    assert (made["id"], made["backend_id"], made["vdi_uuid"]) == (volume_id, backend_id, "vdi-1")
    assert (made["updated_at"], made["deleted_at"], made["deleted"]) == (None, None, False)
    assert isinstance(made["created_at"], datetime)
    assert await sm.sm_volume_get(admin, volume_id) == made


async def test_sm_volume_create_of_an_unknown_volume_or_backend_is_a_reference_error_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    volume_id = await add_volume(cinder_db)
    with pytest.raises(errors.DBReferenceError):
        await sm.sm_volume_create(admin, {"id": str(uuid.uuid4()), "backend_id": backend_id})
    with pytest.raises(errors.DBReferenceError):
        await sm.sm_volume_create(admin, {"id": volume_id, "backend_id": backend_id + 1})
    assert await count_rows(cinder_db, "sm_volume") == 0


async def test_sm_volume_create_of_a_volume_that_has_one_is_a_duplicate_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    volume_id = await add_volume(cinder_db)
    await sm.sm_volume_create(admin, {"id": volume_id, "backend_id": backend_id, "vdi_uuid": "first"})
    with pytest.raises(errors.DBDuplicateEntry):
        await sm.sm_volume_create(admin, {"id": volume_id, "backend_id": backend_id, "vdi_uuid": "second"})
    assert await select(cinder_db, "SELECT vdi_uuid FROM sm_volume") == [{"vdi_uuid": "first"}]


async def test_sm_volume_create_refuses_bad_values_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    volume_id = await add_volume(cinder_db)
    for bad in (
        {"backend_id": backend_id},  # the id is required
        {"id": volume_id},  # and so is backend_id
        {"id": volume_id, "backend_id": "b"},
        {"id": 5, "backend_id": backend_id},
        {"id": "v" * 37, "backend_id": backend_id},
        {"id": volume_id, "backend_id": backend_id, "vdi_uuid": "\ud800"},
        {"id": volume_id, "backend_id": backend_id, "deleted": False},
        [("id", volume_id)],
    ):
        with pytest.raises(errors.Invalid):
            await sm.sm_volume_create(admin, bad)  # type: ignore[arg-type]
    assert await count_rows(cinder_db, "sm_volume") == 0


async def test_sm_volume_update_changes_the_given_columns_and_returns_the_sm_volume(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    flavor_id, backend_id = await flavor_and_backend(admin)
    other = await sm.sm_backend_conf_create(admin, {"flavor_id": flavor_id, "sr_uuid": "sr-2"})
    volume_id = await add_volume(cinder_db)
    made = await sm.sm_volume_create(admin, {"id": volume_id, "backend_id": backend_id, "vdi_uuid": "vdi-1"})
    changed = await sm.sm_volume_update(admin, volume_id, {"backend_id": other["id"]})
    assert (changed["id"], changed["backend_id"], changed["vdi_uuid"]) == (volume_id, other["id"], "vdi-1")
    assert changed["created_at"] == made["created_at"] and changed["updated_at"] is not None
    changed = await sm.sm_volume_update(admin, volume_id, {"vdi_uuid": None})
    assert (changed["backend_id"], changed["vdi_uuid"]) == (other["id"], None)
    assert await sm.sm_volume_get(admin, volume_id) == changed


async def test_sm_volume_update_of_an_unknown_volume_is_not_found_and_bad_input_invalid(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    volume_id = await add_volume(cinder_db)
    await sm.sm_volume_create(admin, {"id": volume_id, "backend_id": backend_id})
    before = await all_sm_rows(cinder_db)
    missing = str(uuid.uuid4())
    with pytest.raises(errors.NotFound) as caught:
        await sm.sm_volume_update(admin, missing, {"vdi_uuid": "x"})
    assert str(caught.value) == f"No sm_volume with id {missing}"
    with pytest.raises(errors.NotFound):
        await sm.sm_volume_update(admin, "v" * 40, {"vdi_uuid": "x"})
    with pytest.raises(errors.DBReferenceError):
        await sm.sm_volume_update(admin, volume_id, {"backend_id": backend_id + 1})
    for bad_id, bad_values in (
        (5, {"vdi_uuid": "x"}),
        (volume_id, {"backend_id": None}),
        (volume_id, {"id": missing}),
        (volume_id, {"vdi_uuid": 5}),
    ):
        with pytest.raises(errors.Invalid):
            await sm.sm_volume_update(admin, bad_id, bad_values)  # type: ignore[arg-type]
    assert await all_sm_rows(cinder_db) == before


async def test_sm_volume_get_of_an_unknown_volume_is_not_found_with_upstreams_message(admin: rawdb.Context) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(errors.NotFound) as caught:
        await sm.sm_volume_get(admin, missing)
    assert type(caught.value) is errors.NotFound
    assert str(caught.value) == f"No sm_volume with id {missing}"
    with pytest.raises(errors.NotFound):
        await sm.sm_volume_get(admin, "a\x00b")
    with pytest.raises(errors.Invalid):
        await sm.sm_volume_get(admin, 5)  # type: ignore[arg-type]


async def test_sm_volume_get_all_returns_every_sm_volume_deleted_or_not(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    assert await sm.sm_volume_get_all(admin) == []
    _, backend_id = await flavor_and_backend(admin)
    ids = sorted([await add_volume(cinder_db), await add_volume(cinder_db)])
    for volume_id in reversed(ids):
        await sm.sm_volume_create(admin, {"id": volume_id, "backend_id": backend_id})
    await execute(cinder_db, "UPDATE sm_volume SET deleted = true WHERE id = :id", id=ids[0])
    got = await sm.sm_volume_get_all(admin)
    assert [(v["id"], v["deleted"]) for v in got] == [(ids[0], True), (ids[1], False)]
    assert (await sm.sm_volume_get(admin, ids[0]))["deleted"] is True


async def test_sm_volume_delete_deletes_the_sm_volume_for_good_and_an_unknown_one_is_no_error(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    _, backend_id = await flavor_and_backend(admin)
    volume_id = await add_volume(cinder_db)
    await sm.sm_volume_create(admin, {"id": volume_id, "backend_id": backend_id})
    await sm.sm_volume_delete(admin, volume_id)
    assert await count_rows(cinder_db, "sm_volume") == 0
    with pytest.raises(errors.NotFound):
        await sm.sm_volume_get(admin, volume_id)
    await sm.sm_volume_delete(admin, volume_id)
    await sm.sm_volume_delete(admin, "v" * 40)
    with pytest.raises(errors.Invalid):
        await sm.sm_volume_delete(admin, None)  # type: ignore[arg-type]
    await sm.sm_backend_conf_delete(admin, backend_id)  # nothing refers to it any more
    assert await count_rows(cinder_db, "sm_backend_config") == 0


async def test_sm_volume_functions_check_no_caller_as_upstream(alice: rawdb.Context, cinder_db: rawdb.Database) -> None:
    admin = rawdb.Context(cinder_db, is_admin=True)
    _, backend_id = await flavor_and_backend(admin)
    volume_id = await add_volume(cinder_db)
    anyone = rawdb.Context(cinder_db)
    for ctx in (alice, anyone):
        await sm.sm_volume_create(ctx, {"id": volume_id, "backend_id": backend_id})
        assert [v["id"] for v in await sm.sm_volume_get_all(ctx)] == [volume_id]
        assert (await sm.sm_volume_update(ctx, volume_id, {"vdi_uuid": "v"}))["vdi_uuid"] == "v"
        assert (await sm.sm_volume_get(ctx, volume_id))["vdi_uuid"] == "v"
        await sm.sm_volume_delete(ctx, volume_id)
    assert await count_rows(cinder_db, "sm_volume") == 0


# --- callers -------------------------------------------------------------------------------------


async def test_backend_config_and_flavor_functions_are_for_admins_only(
    admin: rawdb.Context, alice: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    flavor_id, backend_id = await flavor_and_backend(admin)
    before = await all_sm_rows(cinder_db)
    calls = (
        lambda ctx: sm.sm_backend_conf_create(ctx, {"flavor_id": flavor_id}),
        lambda ctx: sm.sm_backend_conf_update(ctx, backend_id, {"sr_type": "x"}),
        lambda ctx: sm.sm_backend_conf_delete(ctx, backend_id),
        lambda ctx: sm.sm_backend_conf_get(ctx, backend_id),
        lambda ctx: sm.sm_backend_conf_get_by_sr(ctx, "sr-1"),
        lambda ctx: sm.sm_backend_conf_get_all(ctx),
        lambda ctx: sm.sm_flavor_create(ctx, {"label": "x"}),
        lambda ctx: sm.sm_flavor_update(ctx, "gold", {"label": "x"}),
        lambda ctx: sm.sm_flavor_delete(ctx, "gold"),
        lambda ctx: sm.sm_flavor_get(ctx, "gold"),
        lambda ctx: sm.sm_flavor_get_all(ctx),
    )
    for call in calls:
        with pytest.raises(errors.AdminRequired):
            await call(alice)
    assert await all_sm_rows(cinder_db) == before


async def test_sm_functions_join_the_callers_transaction_and_roll_back_with_it(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            flavor = await sm.sm_flavor_create(tx, {"label": "gold"})
            backend = await sm.sm_backend_conf_create(tx, {"flavor_id": flavor["id"]})
            assert (await sm.sm_backend_conf_get(tx, backend["id"]))["flavor_id"] == flavor["id"]
            raise RuntimeError("roll back")
    assert await all_sm_rows(cinder_db) == {"sm_flavors": [], "sm_backend_config": [], "sm_volume": []}


async def test_created_at_and_updated_at_given_on_create_are_kept_to_the_microsecond(admin: rawdb.Context) -> None:
    created = datetime(2012, 9, 27, 8, 0, 0, 654321)
    made = await sm.sm_flavor_create(admin, {"label": "gold", "created_at": created, "updated_at": created})
    assert (made["created_at"], made["updated_at"]) == (created, created)
    later = created + timedelta(days=1)
    changed = await sm.sm_flavor_update(admin, "gold", {"created_at": later})
    assert changed["created_at"] == later
