"""The same glance calls return the same dicts on SQLite, PostgreSQL and MariaDB: same keys,
same values, same Python types (``True`` is not ``1``), same order.

The behaviour tests run each backend on its own, and ``==`` cannot tell ``1`` from ``True``
or ``1.0`` from ``1``; here one dataset is written through the API to the three backends and
every result is compared in a form that keeps each value's type.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import OpenDb

import rawdb
from rawdb import schema
from rawdb.glance import children, images, members, tags

START = datetime(2024, 5, 1, 12, 0, 0, 123456)
# Mixed case and accents: the binary collations must agree on their order.  (Glance refuses
# 4-byte characters in its values on every backend.)
NAMES = ["alpha", "Alpha", "beta", "Émile", "emile", "zeta", "Zeta", "ǅ digraph", "a b", None]


# Set by rawdb when it writes (``now``), so different in each backend's run: compared by type.
WRITTEN_AT = datetime(2025, 1, 1)


def typed(value: Any, child_rows: bool = False) -> Any:
    """``value`` with every leaf paired with its type's name.

    Timestamps rawdb set when it wrote become ``"now"``.  The ids of property and location
    rows (``child_rows``) are kept only as their type: InnoDB hands out auto-increment values
    in batches to an INSERT … SELECT of several rows and skips the unused ones, as sequences
    skip after a rollback, so their values are not comparable; their order is (rows are
    listed by id).
    """
    if isinstance(value, dict):
        return {
            key: ("int", "id") if child_rows and key == "id" and type(item) is int else typed(item, key in CHILDREN)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [typed(item, child_rows) for item in value]
    if isinstance(value, datetime) and value >= WRITTEN_AT:
        return ("datetime", "now")
    return (type(value).__name__, value)


CHILDREN = {"properties", "locations"}


async def _dataset(db: rawdb.Database) -> list[str]:
    admin = rawdb.Context(db, is_admin=True)
    ids = []
    for i, name in enumerate(NAMES):
        at = START + timedelta(seconds=i // 3, microseconds=i)  # ties in created_at, ids break them
        image = await images.image_create(
            admin,
            {
                "id": f"00000000-0000-0000-0000-{i:012d}",
                "name": name,
                "status": "active" if i % 4 else "queued",
                "owner": ["p1", "p2", None][i % 3],
                "visibility": ["public", "private", "shared", "community"][i % 4],
                "size": None if i == 3 else 2**40 + i,
                "min_disk": i,
                "min_ram": 0,
                "protected": i % 2 == 0,
                "disk_format": "qcow2",
                "container_format": "bare",
                "created_at": at,
                "updated_at": at,
                "properties": {"os_distro": ["ubuntu", "Ubuntu", "cirros"][i % 3], "k": f"v{i}"},
                "locations": [{"url": f"file:///images/{i}", "metadata": {"n": i, "ok": True}, "status": "active"}],
            },
        )
        ids.append(image["id"])
        await tags.image_tag_set_all(admin, image["id"], [f"t{i % 2}", "Shared", "shared"])
    await members.image_member_create(admin, {"image_id": ids[2], "member": "p1", "can_share": True})
    await members.image_member_create(admin, {"image_id": ids[6], "member": "p1", "status": "accepted"})
    await children.image_property_delete(admin, "k", ids[1])
    await images.image_destroy(admin, ids[5])
    return ids


async def _results(db: rawdb.Database, ids: list[str]) -> dict[str, Any]:
    admin = rawdb.Context(db, is_admin=True)
    p1 = rawdb.Context(db, project_id="p1")
    out: dict[str, Any] = {}
    for key in ("name", "created_at", "size", "status", "visibility", "min_disk"):
        for direction in ("asc", "desc"):
            out[f"admin {key} {direction}"] = await images.image_get_all(
                admin, sort_key=[key, "id"], sort_dir=[direction, direction]
            )
    out["admin deleted"] = await images.image_get_all(admin, filters={"deleted": True})
    out["user default"] = await images.image_get_all(p1)
    out["user page 2"] = await images.image_get_all(p1, marker=ids[4], limit=3, sort_key=["name"], sort_dir=["asc"])
    out["user property"] = await images.image_get_all(p1, filters={"os_distro": "ubuntu"})
    out["user tag"] = await images.image_get_all(p1, filters={"tags": ["shared"]}, return_tag=True)
    out["user name in"] = await images.image_get_all(p1, filters={"name": "in:alpha,Alpha,emile"})
    out["member list"] = await members.image_member_find(admin, member="p1")
    out["image v1"] = await images.image_get(admin, ids[2], v1_mode=True)
    out["tags"] = await tags.image_tag_get_all(admin, ids[0])
    return out


async def test_glance_results_are_identical_in_keys_values_types_and_order_on_every_backend(
    sqlite_url: str, pg_url: str, mysql_url: str, open_db: OpenDb
) -> None:
    results = {}
    for backend, url in (("sqlite", sqlite_url), ("postgresql", pg_url), ("mysql", mysql_url)):
        db = await open_db(url)
        await schema.bootstrap(db, "glance")
        results[backend] = typed(await _results(db, await _dataset(db)))
    assert results["sqlite"]["admin name asc"], "the dataset is listed"
    for case, expected in results["postgresql"].items():
        assert results["sqlite"][case] == expected, f"sqlite differs from postgresql in {case!r}"
        assert results["mysql"][case] == expected, f"mysql differs from postgresql in {case!r}"


@pytest.mark.parametrize("name", ["Émile", "ǅ", "\u00a0space\u00a0"])
async def test_names_beyond_ascii_read_back_byte_for_byte(backend: str, glance_db: rawdb.Database, name: str) -> None:
    admin = rawdb.Context(glance_db, is_admin=True)
    image = await images.image_create(admin, {"name": name, "status": "active", "owner": "p1"})
    assert (await images.image_get(admin, image["id"]))["name"] == name
    listed = await images.image_get_all(admin, filters={"name": name})
    assert [i["id"] for i in listed] == [image["id"]]
