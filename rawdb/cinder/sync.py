"""Cinder's quota sync functions: count live volumes, gigabytes and snapshots (spec C.4)."""

from __future__ import annotations

from collections.abc import Mapping

from rawdb.context import Context
from rawdb.decorators import reader
from rawdb.quota.resources import ReservableResource, Sync

DEFAULTS = {"volumes": 10, "snapshots": 10, "gigabytes": 1000}


def _suffix(volume_type_name: str | None) -> str:
    return f"_{volume_type_name}" if volume_type_name else ""


def sync_volumes(volume_type_id: int | None = None, volume_type_name: str | None = None) -> Sync:
    """``{volumes[_<type>]: count}`` of the project's live volumes."""

    async def sync(context: Context, project_id: str, user_id: str | None) -> Mapping[str, int]:
        row = await context.fetchrow("cinder.sync.volumes", project_id=project_id, volume_type_id=volume_type_id)
        assert row is not None
        return {f"volumes{_suffix(volume_type_name)}": int(row["volumes"])}

    return sync


def sync_snapshots(volume_type_id: int | None = None, volume_type_name: str | None = None) -> Sync:
    """``{snapshots[_<type>]: count}`` of the project's live snapshots."""

    async def sync(context: Context, project_id: str, user_id: str | None) -> Mapping[str, int]:
        row = await context.fetchrow("cinder.sync.snapshots", project_id=project_id, volume_type_id=volume_type_id)
        assert row is not None
        return {f"snapshots{_suffix(volume_type_name)}": int(row["snapshots"])}

    return sync


def sync_gigabytes(volume_type_id: int | None = None, volume_type_name: str | None = None) -> Sync:
    """``{gigabytes[_<type>]: GB}`` of the project's live volumes and snapshots."""

    async def sync(context: Context, project_id: str, user_id: str | None) -> Mapping[str, int]:
        volumes = await context.fetchrow("cinder.sync.volumes", project_id=project_id, volume_type_id=volume_type_id)
        snapshots = await context.fetchrow(
            "cinder.sync.snapshots", project_id=project_id, volume_type_id=volume_type_id
        )
        assert volumes is not None and snapshots is not None
        return {f"gigabytes{_suffix(volume_type_name)}": int(volumes["gigabytes"]) + int(snapshots["gigabytes"])}

    return sync


def resources(volume_types: Mapping[int, str] | None = None) -> list[ReservableResource]:
    """Cinder's reservable resources, plus ``volumes_<type>`` etc. for each volume type given."""
    result = [
        ReservableResource("volumes", sync_volumes()),
        ReservableResource("snapshots", sync_snapshots()),
        ReservableResource("gigabytes", sync_gigabytes()),
    ]
    for type_id, name in (volume_types or {}).items():
        result += [
            # per-type limits default to unlimited, as cinder's VolumeTypeResource does
            ReservableResource(f"volumes_{name}", sync_volumes(type_id, name)),
            ReservableResource(f"snapshots_{name}", sync_snapshots(type_id, name)),
            ReservableResource(f"gigabytes_{name}", sync_gigabytes(type_id, name)),
        ]
    return result


@reader
async def volume_types(context: Context) -> dict[int, str]:
    """The live volume types, ``{id: name}``."""
    return {row["id"]: row["name"] for row in await context.fetch("cinder.sync.volume_types")}
