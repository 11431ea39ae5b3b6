"""OpenStack's shared rules, once: what nova's, cinder's and the quota code's functions stand on.

Upstream expressed these once, in ``model_query`` and friends (spec nova_cinder.md B.1-B.4);
here they are:

- ``read_deleted`` and the soft-delete flavours (``deleted``): which rows a statement sees,
  written in SQL as ``READ_DELETED(column, int|str|bool)`` and ``SOFT_DELETE(flavour,
  bulk|object)``, or built with ``read_deleted_criterion``;
- ``project_only`` and the authorization helpers (``access``): ``@require_context``,
  ``@require_admin_context``, ``authorize_project_context`` and friends, and the
  ``PROJECT_ONLY(column)`` macro;
- rows from ``values`` dicts (``rows``): what upstream's ORM accepted, checked against the
  schema before anything is written;
- how values given as strings are read (``rawdb.checks``): oslo's booleans, integers,
  naive UTC times.

Whole-scope retries are ``@writer(retry=True)`` (``rawdb.decorators``).
"""

from rawdb.checks import (
    BIGINT_MAX,
    INT_MAX,
    check_bool,
    check_datetime,
    check_identity,
    check_integer,
)
from rawdb.conventions.access import (
    authorize_project_context,
    authorize_quota_class_context,
    authorize_user_context,
    check_require_admin_context,
    check_require_context,
    is_admin_context,
    is_user_context,
    project_only,
    project_only_criterion,
    project_only_sql,
    require_admin_context,
    require_context,
)
from rawdb.conventions.deleted import (
    READ_DELETED,
    Flavour,
    read_deleted,
    read_deleted_criterion,
    read_deleted_sql,
    soft_delete_sql,
)
from rawdb.conventions.rows import Column, coerce, coerce_values, collection_deferred, insert_values, table_columns

__all__ = [
    "BIGINT_MAX",
    "INT_MAX",
    "READ_DELETED",
    "Column",
    "Flavour",
    "authorize_project_context",
    "authorize_quota_class_context",
    "authorize_user_context",
    "check_bool",
    "check_datetime",
    "check_identity",
    "check_integer",
    "check_require_admin_context",
    "check_require_context",
    "coerce",
    "coerce_values",
    "collection_deferred",
    "insert_values",
    "is_admin_context",
    "is_user_context",
    "project_only",
    "project_only_criterion",
    "project_only_sql",
    "read_deleted",
    "read_deleted_criterion",
    "read_deleted_sql",
    "require_admin_context",
    "require_context",
    "soft_delete_sql",
    "table_columns",
]
