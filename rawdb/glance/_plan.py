"""From image_get_all's arguments to a page shape and its parameters (spec glance.md C.1, C.2).

Everything here is checked before any statement runs, so bad input raises ``Invalid``
(or one of its glance-named subclasses) and touches nothing.  The caller's ``filters``,
``sort_key`` and ``sort_dir`` are never modified (glance bug, spec G.11).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import check_bool, check_datetime
from rawdb.glance._filters import split_list_filter, split_time_filter
from rawdb.glance._listing import FLAG_COLUMNS, PageShape, visibility_rule
from rawdb.glance._validate import (
    BIGINT_MAX,
    IMAGE_COLUMNS,
    MEMBER_STATUSES,
    STATUSES,
    VISIBILITIES,
    check_image_id,
    check_text,
    column_value,
)
from rawdb.queries import SortKey

NOT_NULL = frozenset(name for name, (_, _, nullable) in IMAGE_COLUMNS.items() if not nullable)
RANGE_COLUMNS = ("size", "virtual_size", "min_disk", "min_ram")
LIST_COLUMNS = ("name", "id", "status", "container_format", "disk_format")
TIME_COLUMNS = ("created_at", "updated_at")
CHILDREN = ("properties", "locations", "tags", "members")
SORT_DIRS = ("asc", "desc")


CUSTOM_PLAN = {"plan_cache_mode": "force_custom_plan"}
GENERIC_PLAN = {"plan_cache_mode": "force_generic_plan"}
# Conditions of the plain listing: the flags glance's API sets on every call.
_FLAG_KINDS = frozenset({"not_killed", "public", "not_public"})


@dataclass(frozen=True, slots=True)
class PagePlan:
    """A checked image_get_all call: the page shape (before the marker) and its parameters."""

    shape: PageShape
    params: dict[str, Any]
    marker: str | None
    limit: int | None
    showing_deleted: bool
    custom_plan: bool

    def with_marker(self, nulls: tuple[bool, ...] | None) -> PageShape:
        """The shape once the marker is known: embedded, or by value with its NULL pattern."""
        if self.marker is None:
            return self.shape
        if nulls is None:
            return dataclasses.replace(self.shape, marker="embedded")
        return dataclasses.replace(self.shape, marker="values", marker_nulls=nulls)

    @property
    def plan_settings(self) -> dict[str, str] | None:
        """The PostgreSQL plan cache mode the page statement runs with (other backends ignore it).

        Filters whose selectivity decides the plan (properties, tags, and any column filter)
        are planned for their values each time: a generic plan of the property filter ran 15x
        slower (spec perf_baseline.md).  The plain listing, filtered only by the flags every
        API call sets, has one good plan whatever the values (the sort order's index, walked
        from the marker), and planning it anew cost a third of the call: it runs generic.
        """
        if self.custom_plan:
            return CUSTOM_PLAN
        if all(
            kind in _FLAG_KINDS or (kind == "eq" and column in FLAG_COLUMNS)
            for kind, column, _ in self.shape.conditions
        ):
            return GENERIC_PLAN
        return None

    @property
    def embeds_marker(self) -> bool:
        """Same-direction NOT NULL keys: the marker row is compared inside the page statement."""
        keys = self.shape.sort
        return all(not k.nullable for k in keys) and len({k.desc for k in keys}) == 1


def _as_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    raise errors.Invalid(f"{what} must be a list, not {type(value).__name__}")


def sort_keys(sort_key: Any, sort_dir: Any) -> tuple[SortKey, ...]:
    """glance's defaults and checks, then ``created_at`` and ``id`` as tie-breakers."""
    keys = _as_list(sort_key, "sort_key") or ["created_at"]
    dirs = _as_list(sort_dir, "sort_dir")
    default_dir = "desc"
    if not dirs:
        dirs = [default_dir] * len(keys)
    elif len(dirs) == 1:
        default_dir = dirs[0]
        dirs = dirs * len(keys)
    if len(dirs) != len(keys):
        raise errors.Invalid(f"sort_dir has {len(dirs)} entries for {len(keys)} sort keys")
    for key in keys:
        if not isinstance(key, str) or key not in IMAGE_COLUMNS:
            raise errors.InvalidSortKey(key=key)
    for direction in [*dirs, default_dir]:
        if direction not in SORT_DIRS:
            raise errors.InvalidSortDir(direction=direction)
    if len(set(keys)) != len(keys):
        raise errors.Invalid(f"sort keys repeat: {keys}")
    for key in ("created_at", "id"):
        if key not in keys:
            keys.append(key)
            dirs.append(default_dir)
    return tuple(SortKey(k, d == "desc", None, k not in NOT_NULL) for k, d in zip(keys, dirs, strict=True))


class _Conditions:
    """Collects (kind, column, parameter) conditions and their values."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []
        self.params: dict[str, Any] = {}

    def add(self, kind: str, column: str = "", bound: Any = None, **named: Any) -> None:
        ref = f"f{len(self.items)}"
        self.items.append((kind, column, ref))
        if bound is not None:
            self.params[ref] = bound
        for suffix, item in named.items():
            self.params[f"{ref}_{suffix}"] = item

    def prop(self, name: Any, value: Any) -> None:
        if not isinstance(name, str) or not isinstance(value, str):
            raise errors.Invalid(f"property filter {name!r}={value!r}: names and values are strings")
        check_text(name, "Property filter name", 255)
        check_text(value, "Property filter value")
        self.add("property", name=name, value=value)


def _filters(filters: Mapping[str, Any], is_public: bool | None) -> tuple[_Conditions, bool, bool]:
    """Spec C.2, in its order; returns the conditions, showing_deleted, and custom_plan."""
    conds = _Conditions()
    pending = dict(filters)
    if is_public is not None:
        conds.add("public" if is_public else "not_public")
    for column in ("os_hidden", "checksum", "os_hash_value"):
        if column in pending:
            value = pending.pop(column)
            if value is not None:
                conds.add("eq", column, column_value(column, value))
    custom_plan = False
    if "properties" in pending:
        properties = pending.pop("properties")
        if properties is not None:
            if not isinstance(properties, Mapping):
                raise errors.Invalid("the properties filter must be a dict")
            for name, value in properties.items():
                conds.prop(name, value)
                custom_plan = True
    has_deleted = "deleted" in pending
    deleted = pending.pop("deleted", None)
    if has_deleted and not isinstance(deleted, bool):
        raise errors.Invalid("the deleted filter must be True or False")
    showing_deleted = "changes-since" in pending or bool(deleted)
    if "changes-since" in pending:
        since = pending.pop("changes-since")
        if not isinstance(since, datetime):
            raise errors.InvalidParameterValue(value=since, param="changes-since", extra_msg="expected a datetime")
        conds.add("gt", "updated_at", check_datetime(since, "the changes-since filter"))
    if deleted is not None:
        conds.add("eq", "deleted", deleted)
        if not deleted:
            conds.add("not_killed", "status")
    if "tags" in pending:
        tags = pending.pop("tags")
        if tags is not None:
            if isinstance(tags, (str, bytes)) or not isinstance(tags, Sequence):
                raise errors.Invalid("the tags filter must be a list of tags")
            for tag in tags:
                if not isinstance(tag, str):
                    raise errors.Invalid(f"tag filter {tag!r} is not a string")
                check_text(tag, "Tag filter", 255)
                conds.add("tag", "", tag)
                custom_plan = True
    for key, value in pending.items():
        if value is None:
            continue
        _filter(conds, key, value)
        if conds.items[-1][0] == "property":
            custom_plan = True
    return conds, showing_deleted, custom_plan


def _filter(conds: _Conditions, key: str, value: Any) -> None:
    if not isinstance(key, str):
        raise errors.Invalid(f"filter names are strings, not {key!r}")
    if key.endswith(("_min", "_max")) and key[:-4] in IMAGE_COLUMNS:
        column = key[:-4]
        if column not in RANGE_COLUMNS:
            raise errors.InvalidFilterRangeValue(f"Unable to filter {column} by a range.")
        try:
            bound = int(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
            raise errors.InvalidFilterRangeValue(f"Unable to filter {key} using the value {value!r:.80}.") from None
        conds.add("gte" if key.endswith("_min") else "lte", column, column_value(column, bound))
    elif key in TIME_COLUMNS:
        operator, when = split_time_filter(value, key)
        conds.add(operator, key, when)
    elif key in LIST_COLUMNS:
        operator, items = split_list_filter(value, key)
        if operator == "in":
            for item in items:
                check_text(item, f"Filter {key}")
            conds.add("in", key, list(items))
        else:
            assert isinstance(items, str)
            check_text(items, f"Filter {key}")
            conds.add("eq", key, items)
    elif key in IMAGE_COLUMNS:
        conds.add("eq", key, column_value(key, value))
    else:
        conds.prop(key, value)


def plan_page(
    context: Context,
    filters: Mapping[str, Any] | None,
    marker: str | None,
    limit: int | None,
    sort_key: Any,
    sort_dir: Any,
    member_status: str,
    is_public: bool | None,
    admin_as_user: bool,
    return_tag: bool,
) -> PagePlan:
    """Check every argument of image_get_all and work out the page's shape and parameters.

    :raises MarkerNotFound: the marker cannot be an image id (so no statement need run)
    """
    if not isinstance(context, Context):
        raise errors.ScopeError(f"image_get_all() takes a rawdb.Context first, not {type(context).__name__}")
    if filters is not None and not isinstance(filters, Mapping):
        raise errors.Invalid(f"filters must be a dict, not {type(filters).__name__}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= BIGINT_MAX):
        raise errors.Invalid(f"limit must be an integer from 0 to {BIGINT_MAX} or None, not {limit!r:.80}")
    if member_status != "all" and member_status not in MEMBER_STATUSES:
        raise errors.Invalid(f"member_status must be one of {(*MEMBER_STATUSES, 'all')}, not {member_status!r:.80}")
    if marker is not None:
        if not isinstance(marker, str):
            raise errors.Invalid(f"marker must be an image id, not {type(marker).__name__}")
        if not check_image_id(marker, "marker") and limit != 0:  # limit 0 lists nothing, marker or not
            raise errors.MarkerNotFound(marker=marker)
    if is_public is not None:
        is_public = check_bool(is_public, "is_public")
    admin_as_user = check_bool(admin_as_user, "admin_as_user")
    return_tag = check_bool(return_tag, "return_tag")
    keys = sort_keys(sort_key, sort_dir)
    remaining = dict(filters or {})
    visibility = remaining.pop("visibility", None)
    if visibility is not None and visibility != "all" and visibility not in VISIBILITIES:
        raise errors.Invalid(f"visibility must be one of {(*VISIBILITIES, 'all')}, not {visibility!r}")
    conds, showing_deleted, custom_plan = _filters(remaining, is_public)

    regular = not context.is_admin or admin_as_user
    owner = context.owner
    rule = visibility_rule(regular, owner, visibility)
    # A superset: each statement binds only the names it uses (see images._bind).
    params = {
        **conds.params,
        "owner": owner,
        "member_status": member_status,
        "visibility": visibility or "public",
    }
    if marker is not None:
        params["marker"] = marker
    member_all = member_status == "all"
    shape = PageShape(
        conditions=tuple(conds.items),
        visibility=rule,
        member_all=member_all,
        sort=keys,
        marker="none",
        marker_nulls=(),
        marker_rule=regular,
        marker_live_only=not (showing_deleted or context.can_see_deleted),
        limit=limit,
        tags=return_tag,
        deleted_locations=showing_deleted,
    )
    return PagePlan(shape, params, marker, limit, showing_deleted, custom_plan)


__all__ = ["STATUSES", "PagePlan", "plan_page", "sort_keys"]
