"""Nova's quota sync functions and resources (nova/quota.py at 14.0.0, spec C.3)."""

from __future__ import annotations

from collections.abc import Mapping

from rawdb.context import Context
from rawdb.quota.resources import AbsoluteResource, BaseResource, ReservableResource

# nova's configured defaults (CONF.quota_*), by resource flag
DEFAULTS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "floating_ips": 10,
    "fixed_ips": -1,
    "metadata_items": 128,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
    "security_groups": 10,
    "security_group_rules": 20,
    "key_pairs": 100,
    "server_groups": 10,
    "server_group_members": 10,
}


async def sync_instances(context: Context, project_id: str, user_id: str | None) -> Mapping[str, int]:
    """``{instances, cores, ram}`` of the live instances of the project (and user)."""
    row = await context.fetchrow("nova.sync.instances", project_id=project_id, user_id=user_id)
    assert row is not None
    return {"instances": int(row["instances"]), "cores": int(row["cores"]), "ram": int(row["ram"])}


async def sync_floating_ips(context: Context, project_id: str, user_id: str | None) -> Mapping[str, int]:
    """``{floating_ips}`` the project allocated (counted per project)."""
    return {"floating_ips": int(await context.fetchval("nova.sync.floating_ips", project_id=project_id))}


async def sync_fixed_ips(context: Context, project_id: str, user_id: str | None) -> Mapping[str, int]:
    """``{fixed_ips}`` of the project's instances (counted per project)."""
    return {"fixed_ips": int(await context.fetchval("nova.sync.fixed_ips", project_id=project_id))}


async def sync_security_groups(context: Context, project_id: str, user_id: str | None) -> Mapping[str, int]:
    """``{security_groups}`` of the project (and user)."""
    return {
        "security_groups": int(
            await context.fetchval("nova.sync.security_groups", project_id=project_id, user_id=user_id)
        )
    }


async def sync_server_groups(context: Context, project_id: str, user_id: str | None) -> Mapping[str, int]:
    """``{server_groups}`` of the project (and user)."""
    return {
        "server_groups": int(await context.fetchval("nova.sync.server_groups", project_id=project_id, user_id=user_id))
    }


def resources() -> list[BaseResource]:
    """Nova's quota resources: the reservable ones with their syncs, and the absolute ones."""
    return [
        ReservableResource("instances", sync_instances),
        ReservableResource("cores", sync_instances),
        ReservableResource("ram", sync_instances),
        ReservableResource("floating_ips", sync_floating_ips),
        ReservableResource("fixed_ips", sync_fixed_ips),
        ReservableResource("security_groups", sync_security_groups),
        ReservableResource("server_groups", sync_server_groups),
        AbsoluteResource("metadata_items"),
        AbsoluteResource("injected_files"),
        AbsoluteResource("injected_file_content_bytes"),
        AbsoluteResource("injected_file_path_bytes"),
        AbsoluteResource("security_group_rules"),
        AbsoluteResource("key_pairs"),
        AbsoluteResource("server_group_members"),
    ]
