"""Contexts and images for the glance API tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import rawdb
from rawdb.glance import images


def admin(db: rawdb.Database, **kwargs: Any) -> rawdb.Context:
    return rawdb.Context(db, is_admin=True, **kwargs)


def user(db: rawdb.Database, project: str | None = "p1", **kwargs: Any) -> rawdb.Context:
    return rawdb.Context(db, project_id=project, **kwargs)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def loc(url: str, status: str = "active", **metadata: Any) -> dict[str, Any]:
    return {"url": url, "metadata": metadata, "status": status}


async def make_image(db: rawdb.Database, owner: str | None = "p1", **values: Any) -> dict[str, Any]:
    """An image created by an admin, so any owner and visibility can be set up."""
    values = {"status": "active", "owner": owner, **values}
    return await images.image_create(admin(db), values)
