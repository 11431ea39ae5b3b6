"""Image memberships (spec glance.md B.1): who an image is shared with, and their answer."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pypika import Table

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import check_bool
from rawdb.decorators import reader, writer
from rawdb.glance._returning import update_returning
from rawdb.glance._rows import MEMBER_KEYS, member_dict
from rawdb.glance._validate import INT_MAX, MEMBER_STATUSES, check_reference, check_text, lookup_text
from rawdb.queries import Param, Query, Raw, compile_statement
from rawdb.statement import Statement
from rawdb.timeutils import utcnow

PROTECTED = ("id", "created_at", "updated_at", "deleted_at", "deleted")
UPDATABLE = ("status", "can_share")


def _check_status(status: Any) -> None:
    if status not in MEMBER_STATUSES:
        raise errors.Invalid(f"member status must be one of {MEMBER_STATUSES}, not {status!r:.80}")


def _check_can_share(can_share: Any) -> None:
    if not isinstance(can_share, bool):
        raise errors.Invalid("can_share must be True or False")


def _member_id(memb_id: Any) -> bool:
    """Whether a membership can have this id (image_members.id is an INTEGER).

    :raises Invalid: not an integer
    """
    if isinstance(memb_id, bool) or not isinstance(memb_id, int):
        raise errors.Invalid(f"memb_id must be an integer, not {type(memb_id).__name__}")
    return -INT_MAX - 1 <= memb_id <= INT_MAX


@writer
async def image_member_create(context: Context, values: Mapping[str, Any]) -> dict[str, Any]:
    """Share an image with a project: ``{image_id, member, [status], [can_share]}``.

    :raises DBDuplicateEntry: (a Duplicate) the project already has a live membership
        (glance accepted a second one, spec G.6)
    :raises DBReferenceError: the image does not exist
    :raises Invalid: bad values, 4-byte unicode
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid("values must be a dict")
    values = {k: v for k, v in values.items() if k not in PROTECTED}
    image_id, member = values.get("image_id"), values.get("member")
    check_reference(image_id)
    if not isinstance(member, str) or not member:
        raise errors.Invalid("member must be a non-empty string")
    check_text(member, "Member", 255)
    status = values.get("status", "pending")
    can_share = values.get("can_share", False)
    _check_status(status)
    _check_can_share(can_share)
    row = await context.fetchrow(
        "glance.members.member_create",
        image_id=image_id,
        member=member,
        can_share=can_share,
        status=status,
        now=utcnow(),
    )
    assert row is not None
    return member_dict(row)


@writer
async def image_member_update(context: Context, memb_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Change a membership's ``status`` and/or ``can_share``; a deleted one becomes live again.

    Unlike glance, ``can_share`` keeps its value unless given, and reviving clears
    ``deleted_at`` (so purge never removes a revived row).

    :raises ImageMemberNotFound: no membership with this id
    :raises Invalid: an unknown key or a bad value
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid("values must be a dict")
    values = {k: v for k, v in values.items() if k not in PROTECTED}
    unknown = sorted(set(values) - set(UPDATABLE) - {"image_id", "member"})
    if unknown:
        raise errors.Invalid(f"cannot update {unknown} of a membership; only {UPDATABLE}")
    if "status" in values:
        _check_status(values["status"])
    if "can_share" in values:
        _check_can_share(values["can_share"])
    row = None
    if _member_id(memb_id):
        changes = {"status": values.get("status"), "can_share": values.get("can_share"), "now": utcnow()}
        key = {"member_id": memb_id}
        row = await update_returning(
            context, "glance.members.member_update", {**key, **changes}, "glance.members.member_get", key
        )
    if row is None:
        raise errors.ImageMemberNotFound(member_id=memb_id)
    return member_dict(row)


@writer
async def image_member_delete(context: Context, memb_id: int) -> None:
    """Soft-delete a membership.

    :raises ImageMemberNotFound: no membership with this id
    :raises Invalid: the id is not an integer
    """
    if not _member_id(memb_id):
        raise errors.ImageMemberNotFound(member_id=memb_id)
    if await context.execute("glance.members.member_soft_delete", member_id=memb_id, now=utcnow()) != 1:
        raise errors.ImageMemberNotFound(member_id=memb_id)


@functools.lru_cache(maxsize=64)
def _find_statement(scope: str, image_id: bool, member: bool, status: bool, include_deleted: bool) -> Statement:
    """image_member_find's statement; ``scope`` is ``admin``, ``project`` or ``no_project``."""
    members = Table("image_members").as_("m")
    images = Table("images").as_("i")
    query = Query.from_(members).select(*(members.field(key) for key in MEMBER_KEYS))
    if scope != "admin":
        query = query.join(images).on(images.id == members.image_id)
        if scope == "project":
            query = query.where((images.owner == Param("owner")) | (members.member == Param("owner")))
        else:  # glance compares a None project as IS NULL: memberships of ownerless images
            query = query.where(images.owner.isnull())
    if not include_deleted:
        query = query.where(members.deleted == Raw("false"))
    if image_id:
        query = query.where(members.image_id == Param("image_id"))
    if member:
        query = query.where(members.member == Param("member"))
    if status:
        query = query.where(members.status == Param("status"))
    return compile_statement("glance.members.image_member_find", query.orderby(members.id))


@reader
async def image_member_find(
    context: Context,
    image_id: str | None = None,
    member: str | None = None,
    status: str | None = None,
    include_deleted: bool = False,
) -> list[dict[str, Any]]:
    """Memberships matching the filters that the caller may see, in creation order.

    A non-admin sees the memberships of its own images and its own memberships; a
    non-admin without a project sees those of ownerless images (glance's rule).

    :raises Invalid: a filter is neither None nor a string UTF-8 can encode
    """
    include_deleted = check_bool(include_deleted, "include_deleted")
    possible = True
    for name, value, max_length in (("image_id", image_id, 36), ("member", member, 255), ("status", status, 20)):
        if value is not None and not lookup_text(value, name, max_length):
            possible = False
    if not possible:
        return []
    params = {"image_id": image_id, "member": member, "status": status, "owner": context.owner}
    scope = "admin" if context.is_admin else "project" if context.owner is not None else "no_project"
    statement = _find_statement(scope, image_id is not None, member is not None, status is not None, include_deleted)
    names = statement.compiled(context.dialect).names
    rows = await context.fetch(statement, **{k: v for k, v in params.items() if k in names})
    return [member_dict(row) for row in rows]


@reader
async def image_member_count(context: Context, image_id: str) -> int:
    """The number of live memberships of an image (0 for an unknown image).

    :raises Invalid: no image id given
    """
    if not image_id:
        raise errors.Invalid("Image id is required.")
    if not lookup_text(image_id, "image_id", 36):
        return 0
    return int(await context.fetchval("glance.members.member_count", image_id=image_id))
