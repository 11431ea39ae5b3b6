"""``cinder.db.api`` on rawdb: every function under its upstream name, async.

Code written against upstream changes one import::

    from rawdb.cinder import api as db

    limits = await db.quota_get_all_by_project(ctx, project_id)

This module only re-exports (explicitly, so a reader and an IDE see every name); each
function lives in its domain module (``rawdb.cinder.quotas``, ...), which says where it
departs from upstream.  A test checks that every name here is a coroutine function with
upstream's parameter names.
"""

from rawdb.cinder.migrations import (
    migration_create,
    migration_get,
    migration_get_all_unconfirmed,
    migration_get_by_instance_and_status,
    migration_update,
)
from rawdb.cinder.quotas import (
    quota_class_create,
    quota_class_destroy_all_by_name,
    quota_class_get,
    quota_class_get_all_by_name,
    quota_class_get_defaults,
    quota_class_update,
    quota_create,
    quota_destroy_all_by_project,
    quota_destroy_by_project,
    quota_get,
    quota_get_all_by_project,
    quota_reserve,
    quota_update,
    quota_usage_get,
    quota_usage_get_all_by_project,
    quota_usage_update,
    reservation_commit,
    reservation_create,
    reservation_expire,
    reservation_get,
    reservation_get_all_by_project,
    reservation_rollback,
)
from rawdb.cinder.services import (
    service_create,
    service_destroy,
    service_get,
    service_get_all,
    service_get_all_by_host,
    service_get_all_by_topic,
    service_get_all_volume_sorted,
    service_get_by_args,
    service_get_by_host_and_topic,
    service_update,
)

__all__ = [
    "migration_create",
    "migration_get",
    "migration_get_all_unconfirmed",
    "migration_get_by_instance_and_status",
    "migration_update",
    "quota_class_create",
    "quota_class_destroy_all_by_name",
    "quota_class_get",
    "quota_class_get_all_by_name",
    "quota_class_get_defaults",
    "quota_class_update",
    "quota_create",
    "quota_destroy_all_by_project",
    "quota_destroy_by_project",
    "quota_get",
    "quota_get_all_by_project",
    "quota_reserve",
    "quota_update",
    "quota_usage_get",
    "quota_usage_get_all_by_project",
    "quota_usage_update",
    "reservation_commit",
    "reservation_create",
    "reservation_expire",
    "reservation_get",
    "reservation_get_all_by_project",
    "reservation_rollback",
    "service_create",
    "service_destroy",
    "service_get",
    "service_get_all",
    "service_get_all_by_host",
    "service_get_all_by_topic",
    "service_get_all_volume_sorted",
    "service_get_by_args",
    "service_get_by_host_and_topic",
    "service_update",
]
