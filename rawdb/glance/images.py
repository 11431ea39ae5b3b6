"""Glance's image DB API (glance.db.sqlalchemy.api), async, on rawdb scopes.

Every function takes a ``rawdb.Context`` first and returns the dicts of spec glance.md
B.0.  Called with an unbound context a function runs in its own transaction; called
inside ``ctx.writer()`` / ``ctx.reader()`` it joins it.  This module holds the image
functions and re-exports the rest of the API (properties, locations, members, tags,
maintenance), so ``images.image_tag_set_all(...)`` works as in glance.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import check_bool, collection_deferred
from rawdb.decorators import reader, retry_on_deadlock, writer
from rawdb.glance import _listing as listing
from rawdb.glance._plan import PagePlan, plan_page
from rawdb.glance._rows import LOCATION_FIELDS, PROPERTY_FIELDS, Row, fields, image_dict
from rawdb.glance._validate import (
    IMAGE_COLUMNS,
    MEMBER_STATUSES,
    STATUSES,
    check_image_id,
    check_image_values,
    check_no_4byte,
    check_properties,
    check_text,
    column_value,
)
from rawdb.glance.children import (
    check_location,
    image_delete_property_atomic,
    image_location_add,
    image_location_delete,
    image_location_update,
    image_property_create,
    image_property_delete,
    image_set_property_atomic,
    insert_locations,
    insert_properties,
    set_locations,
    set_properties,
)
from rawdb.glance.maintenance import (
    purge_deleted_rows,
    purge_deleted_rows_from_images,
    user_get_image_count,
    user_get_staging_usage,
    user_get_storage_usage,
    user_get_uploading_count,
)
from rawdb.glance.members import (
    image_member_count,
    image_member_create,
    image_member_delete,
    image_member_find,
    image_member_update,
)
from rawdb.glance.tags import image_tag_create, image_tag_delete, image_tag_get_all, image_tag_set_all
from rawdb.queries import marker_params
from rawdb.statement import Statement
from rawdb.timeutils import utcnow

# Columns image_update may not set (glance's protected attributes); updated_at is rawdb's.
PROTECTED = ("created_at", "updated_at", "deleted_at", "deleted")

# --- visibility (spec glance.md D) --------------------------------------------------------


def _check_image(image: Any, keys: tuple[str, ...]) -> None:
    """An image dict as image_get returns it, with at least ``keys``."""
    if not isinstance(image, Mapping) or any(key not in image for key in keys):
        raise errors.Invalid(f"image must be an image dict with {keys}, not {type(image).__name__}")
    if "id" in keys and not isinstance(image["id"], str):
        raise errors.Invalid(f"image['id'] must be an image id, not {type(image['id']).__name__}")


def is_image_mutable(context: Context, image: Mapping[str, Any]) -> bool:
    """Whether the caller may change the image: an admin, or its owner.

    :raises Invalid: ``image`` is not an image dict
    """
    if not isinstance(context, Context):
        raise errors.ScopeError(f"is_image_mutable() takes a rawdb.Context first, not {type(context).__name__}")
    _check_image(image, ("owner",))
    if context.is_admin:
        return True
    if image["owner"] is None or context.owner is None:
        return False
    return bool(image["owner"] == context.owner)


def _visible(context: Context, image: Mapping[str, Any], is_member: bool) -> bool:
    if context.is_admin or image["owner"] is None or image["visibility"] in ("public", "community"):
        return True
    if context.owner is None:
        return False
    if context.owner == image["owner"]:
        return True
    return image["visibility"] == "shared" and is_member


@reader
async def is_image_visible(context: Context, image: Mapping[str, Any], status: str | None = None) -> bool:
    """Whether the caller may see the image (one query at most: the membership).

    :param status: the membership status that counts; None for any live membership
    :raises Invalid: ``image`` is not an image dict, or ``status`` is not a membership status
    """
    _check_image(image, ("id", "owner", "visibility"))
    if status is not None and status not in MEMBER_STATUSES:
        raise errors.Invalid(f"status must be one of {MEMBER_STATUSES} or None, not {status!r:.80}")
    if _visible(context, image, is_member=False):
        return True
    if context.owner is None or image["visibility"] != "shared":
        return False
    if not check_image_id(image["id"], "image['id']"):
        return False
    found = await context.fetchval("glance.images.is_member", image_id=image["id"], member=context.owner, status=status)
    return bool(found)


def _mutable_or_raise(context: Context, image: Mapping[str, Any]) -> None:
    if not is_image_mutable(context, image):
        if image["visibility"] in ("public", "community"):
            raise errors.ForbiddenPublicImage()
        raise errors.Forbidden(f"You are not authorized to change image {image['id']}.")


async def _fetch_image(context: Context, image_id: str, live_only: bool, deleted_locations: bool) -> Row | None:
    """The image's row with its children (``properties``, ``locations``) and ``is_member``."""
    if context.dialect == "mysql":
        statement = listing.image_rows_statement(live_only, deleted_locations)
        return listing.image_from_rows(await context.fetch(statement, image_id=image_id, viewer=context.owner))
    statement = listing.image_statement(live_only, deleted_locations)
    return await context.fetchrow(statement, image_id=image_id, viewer=context.owner)


async def _image_row(context: Context, image_id: Any, force_show_deleted: bool = False) -> Row:
    """The image row with its children, checked against the caller (glance's ``_image_get``).

    :raises ImageNotFound: no such image, or deleted and the caller cannot see deleted ones
    :raises Forbidden: the caller may not see it
    """
    if not check_image_id(image_id):
        raise errors.ImageNotFound(image_id=image_id)
    live_only = not (force_show_deleted or context.can_see_deleted)
    row = await _fetch_image(context, image_id, live_only, force_show_deleted)
    if row is None:
        raise errors.ImageNotFound(image_id=image_id)
    if not _visible(context, row, bool(row["is_member"])):
        raise errors.Forbidden(f"Image {image_id} is not visible to you.")
    return row


def _to_dict(context: Context, row: Row, v1_mode: bool = False, tags: bool = False) -> dict[str, Any]:
    return image_dict(
        row,
        row["properties"],
        row["locations"],
        (row["tags"] or []) if tags else None,
        hide_locations=row["status"] == "deactivated" and not context.is_admin,
        v1_mode=v1_mode,
    )


# --- reading ------------------------------------------------------------------------------


@reader
async def image_get(
    context: Context, image_id: str, force_show_deleted: bool = False, v1_mode: bool = False
) -> dict[str, Any]:
    """One image with its properties (deleted ones too) and locations.

    :raises ImageNotFound: no such image (or deleted, unless shown)
    :raises Forbidden: the caller may not see it
    """
    force_show_deleted = check_bool(force_show_deleted, "force_show_deleted")
    v1_mode = check_bool(v1_mode, "v1_mode")
    return _to_dict(context, await _image_row(context, image_id, force_show_deleted), v1_mode)


def _bind(statement: Statement, dialect: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of a call's parameters that a statement uses."""
    return {name: params[name] for name in statement.compiled(dialect).names}


async def image_get_all(
    context: Context,
    filters: Mapping[str, Any] | None = None,
    marker: str | None = None,
    limit: int | None = None,
    sort_key: Sequence[str] | None = None,
    sort_dir: Sequence[str] | None = None,
    member_status: str = "accepted",
    is_public: bool | None = None,
    admin_as_user: bool = False,
    return_tag: bool = False,
    v1_mode: bool = False,
) -> list[dict[str, Any]]:
    """A page of the images the caller may see, in ``sort_key`` order after ``marker``.

    :param filters: spec glance.md C.2 (``visibility``, ``deleted``, ``properties``,
        ``tags``, ``size_min``, ``created_at='gte:…'``, ``name='in:a,b'``, …)
    :param limit: None for every image, 0 for none
    :raises InvalidSortKey, InvalidSortDir, Invalid: bad sort keys, directions or filters
    :raises InvalidFilterRangeValue, InvalidFilterOperatorValue, InvalidParameterValue
    :raises MarkerNotFound: the marker does not exist or the caller may not see it
    """
    plan = plan_page(
        context, filters, marker, limit, sort_key, sort_dir, member_status, is_public, admin_as_user, return_tag
    )
    v1_mode = check_bool(v1_mode, "v1_mode")
    return_tag = plan.shape.tags
    if limit == 0:
        return []
    async with context.reader(settings=plan.plan_settings) as tx:
        rows = await _page(tx, plan)
    with collection_deferred():
        return [_to_dict(context, row, v1_mode, tags=return_tag) for row in rows]


async def _page(tx: Context, plan: PagePlan) -> list[Row]:
    params = dict(plan.params)
    if plan.marker is None:
        shape = plan.shape
    elif plan.embeds_marker:
        shape = plan.with_marker(None)
    else:
        found = await _marker_row(tx, plan)
        if found is None:
            raise errors.MarkerNotFound(marker=plan.marker)
        shape = plan.with_marker(tuple(found[k.column] is None for k in plan.shape.sort))
        params.update(marker_params(plan.shape.sort, found))
    statement = listing.page_statement(shape)
    rows = list(await tx.fetch_records(statement, **_bind(statement, tx.dialect, params)))
    if not rows and shape.marker == "embedded" and await _marker_row(tx, plan) is None:
        raise errors.MarkerNotFound(marker=plan.marker)
    return rows


async def _marker_row(tx: Context, plan: PagePlan) -> Row | None:
    statement = listing.marker_statement(plan.shape.sort, plan.shape.marker_rule, plan.shape.marker_live_only)
    return await tx.fetchrow(statement, **_bind(statement, tx.dialect, plan.params))


# --- writing ------------------------------------------------------------------------------


def _v2_visibility(values: dict[str, Any]) -> None:
    """glance's ensure_image_dict_v2_compliant: ``is_public`` becomes ``visibility``."""
    if "is_public" in values:
        if "visibility" in values:
            raise errors.Invalid("Passing both is_public and visibility is not allowed.")
        values["visibility"] = "public" if check_bool(values.pop("is_public"), "is_public") else "shared"
    if "owner" in values and not values["owner"]:
        values["owner"] = None


def _split(values: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]] | None]:
    """Copy ``values`` and take out properties and locations, checking their form."""
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    values = dict(values)
    for relation in ("tags", "members"):
        if relation in values:
            raise errors.Invalid(f"{relation} cannot be set with the image; use image_{relation[:-1]}_* calls")
    properties = values.pop("properties", None)
    properties = check_properties({} if properties is None else properties)
    locations = values.pop("locations", None)
    if locations is not None:
        if isinstance(locations, (str, bytes)) or not isinstance(locations, Sequence):
            raise errors.Invalid("locations must be a list of location dicts")
        locations = [check_location(loc) for loc in locations]
    _v2_visibility(values)
    check_no_4byte(values, "Param values")
    return values, properties, locations


def _coerce_int(values: dict[str, Any], key: str, value: Any) -> None:
    try:
        values[key] = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise errors.Invalid(f"Image {key} must be an integer, not {value!r:.80}.") from None


def _times(values: dict[str, Any]) -> None:
    """The image's timestamps as stored: aware datetimes converted to naive UTC."""
    for column in ("created_at", "updated_at", "deleted_at"):
        if values.get(column) is not None:
            values[column] = column_value(column, values[column])


@retry_on_deadlock
@writer
async def image_create(context: Context, values: Mapping[str, Any], v1_mode: bool = False) -> dict[str, Any]:
    """Create an image with its properties and locations; return it (spec B.1).

    Explicit ``id``, ``created_at``, ``updated_at``, ``deleted`` and ``deleted_at`` are
    honoured; unknown keys are ignored.  Unlike glance, an image the caller could not
    see afterwards is refused before anything is written.

    :raises Invalid: missing or unknown status, bad values, 4-byte unicode
    :raises Duplicate: the id is taken
    :raises Forbidden: a non-admin creating a private image for another project
    :raises ImageNotFound: a non-admin creating a deleted image
    """
    v1_mode = check_bool(v1_mode, "v1_mode")
    values, properties, locations = _split(values)
    if values.get("size") is not None:
        _coerce_int(values, "size", values["size"])
    for key in ("min_ram", "min_disk"):
        if key in values:
            _coerce_int(values, key, values[key] or 0)
    _times(values)
    # glance coerces with bool(), which takes 'false' for True; rawdb parses it as glance's API does
    for key in ("protected", "deleted"):
        values[key] = check_bool(values[key], f"Image {key}") if values.get(key) is not None else False
    now = utcnow()
    row = {column: values.get(column) for column in IMAGE_COLUMNS}
    row.update(
        id=values.get("id") or str(uuid.uuid4()),
        visibility=values.get("visibility", "shared"),
        min_disk=values.get("min_disk") or 0,
        min_ram=values.get("min_ram") or 0,
        os_hidden=values.get("os_hidden", False),
        created_at=values.get("created_at") or now,
        updated_at=values.get("updated_at") or now,
        deleted=values["deleted"],
    )
    check_image_values(row, status_required=True)
    if row["deleted"] and not context.can_see_deleted:
        raise errors.ImageNotFound(image_id=row["id"])
    if not _visible(context, row, is_member=False):
        raise errors.Forbidden("You cannot create an image you would not be able to see.")
    try:
        image = await context.fetchrow("glance.images.image_insert", **row)
    except errors.DBDuplicateEntry as exc:
        raise errors.Duplicate(f"Image ID {row['id']} already exists!") from exc
    assert image is not None
    prop_rows = await insert_properties(context, image["id"], properties, now)
    located = await insert_locations(context, image["id"], locations or [], now)
    return image_dict(
        image,
        [fields(p, PROPERTY_FIELDS) for p in prop_rows],
        [fields(loc, LOCATION_FIELDS) for loc in located if not loc["deleted"]],
        hide_locations=image["status"] == "deactivated" and not context.is_admin,
        v1_mode=v1_mode,
    )


@retry_on_deadlock
@writer
async def image_update(
    context: Context,
    image_id: str,
    values: Mapping[str, Any],
    purge_props: bool = False,
    from_state: str | None = None,
    v1_mode: bool = False,
    atomic_props: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Update an image's columns, properties and locations in one transaction (spec B.1).

    ``from_state`` is a compare-and-swap in the UPDATE itself: a concurrent change of
    status cannot slip in between.  ``locations=[]`` deletes every location.

    :raises ImageNotFound: no such image (or deleted and not shown to the caller)
    :raises Forbidden, ForbiddenPublicImage: the caller may not see or change it
    :raises Conflict: the image is not in ``from_state``
    :raises Invalid: bad values (nothing is written)
    """
    values, properties, locations = _split(values)
    atomic = _atomic_props(atomic_props)
    purge_props = check_bool(purge_props, "purge_props")
    v1_mode = check_bool(v1_mode, "v1_mode")
    if values.get("id", image_id) != image_id:
        raise errors.Invalid("The id of an image cannot be changed.")
    changes = {k: v for k, v in values.items() if k in IMAGE_COLUMNS and k not in PROTECTED and k != "id"}
    if "status" in changes and changes["status"] is None:
        raise errors.Invalid("Image status may not be None.")
    check_image_values(changes, status_required=False)
    if from_state is not None and from_state not in STATUSES:
        raise errors.Invalid(f"from_state {from_state!r} is not an image status")
    now = utcnow()
    changes["updated_at"] = now
    if not check_image_id(image_id):
        raise errors.ImageNotFound(image_id=image_id)

    guard_owner = None if context.is_admin else context.owner
    statement = listing.update_statement(
        tuple(sorted(changes)), from_state is not None, not context.can_see_deleted, guard_owner is not None
    )
    params = {**changes, "image_id": image_id, "guard_status": from_state, "guard_owner": guard_owner}
    updated = 0
    if context.is_admin or guard_owner is not None:
        updated = await context.execute(statement, **_bind(statement, context.dialect, params))
    if updated != 1:
        await _explain_refusal(context, image_id, from_state, changes.get("status"))
    await set_properties(context, image_id, properties, purge_props, atomic, now)
    if locations is not None:
        await set_locations(context, image_id, locations, now)
    return await _read_back(context, image_id, v1_mode)


def _atomic_props(atomic_props: Any) -> list[str]:
    """image_update's ``atomic_props``: None, or a list of property names."""
    if atomic_props is None:
        return []
    if isinstance(atomic_props, (str, bytes)) or not isinstance(atomic_props, Sequence):
        raise errors.Invalid(f"atomic_props must be a list of property names, not {type(atomic_props).__name__}")
    for name in atomic_props:
        if not isinstance(name, str):
            raise errors.Invalid(f"atomic_props must hold property names, not {type(name).__name__}")
        check_text(name, "An atomic_props name", 255)
    return list(atomic_props)


async def _read_back(context: Context, image_id: str, v1_mode: bool = False) -> dict[str, Any]:
    """The image as a write left it, deleted or not, without a visibility check."""
    row = await _fetch_image(context, image_id, False, False)
    assert row is not None
    return _to_dict(context, row, v1_mode)


async def _explain_refusal(context: Context, image_id: str, from_state: str | None, new_status: Any) -> None:
    """The guarded UPDATE changed nothing: raise what glance would have raised, in its order."""
    row = await _image_row(context, image_id)
    _mutable_or_raise(context, row)
    raise errors.Conflict(
        f"cannot transition from {row['status']} to {new_status} in update (wanted from_state={from_state})"
    )


@retry_on_deadlock
@writer
async def image_destroy(context: Context, image_id: str) -> dict[str, Any]:
    """Soft-delete an image and its properties, locations, members and tags, in one transaction.

    :raises ImageNotFound, Forbidden, ForbiddenPublicImage: as image_update
    """
    row = await _image_row(context, image_id)
    _mutable_or_raise(context, row)
    now = utcnow()
    await context.execute("glance.images.image_soft_delete", image_id=image_id, now=now)
    for statement in (
        "glance.images.locations_soft_delete_all",
        "glance.images.properties_soft_delete_all",
        "glance.images.members_soft_delete_all",
        "glance.images.tags_soft_delete_all",
    ):
        await context.execute(statement, image_id=image_id, now=now)
    return await _read_back(context, image_id)


@writer
async def image_restore(context: Context, image_id: str) -> None:
    """Bring a ``pending_delete`` image back to ``active`` and live.

    :raises ImageNotFound, Forbidden, ForbiddenPublicImage: as image_update
    :raises Conflict: the image is not pending_delete
    """
    row = await _image_row(context, image_id)
    _mutable_or_raise(context, row)
    count = await context.execute("glance.images.image_restore", image_id=image_id, now=utcnow())
    if count != 1:
        raise errors.Conflict(
            f"cannot restore the image from {row['status']} to active (wanted from_state=pending_delete)"
        )


__all__ = [
    "image_create",
    "image_delete_property_atomic",
    "image_destroy",
    "image_get",
    "image_get_all",
    "image_location_add",
    "image_location_delete",
    "image_location_update",
    "image_member_count",
    "image_member_create",
    "image_member_delete",
    "image_member_find",
    "image_member_update",
    "image_property_create",
    "image_property_delete",
    "image_restore",
    "image_set_property_atomic",
    "image_tag_create",
    "image_tag_delete",
    "image_tag_get_all",
    "image_tag_set_all",
    "image_update",
    "is_image_mutable",
    "is_image_visible",
    "purge_deleted_rows",
    "purge_deleted_rows_from_images",
    "user_get_image_count",
    "user_get_staging_usage",
    "user_get_storage_usage",
    "user_get_uploading_count",
]
