"""Nova's flavors (instance types), their extra specs and access lists, async (spec A.2, A.3 "Flavors", F.1 #25).

Two sets of names: Newton's (nova 14.0.0: ``flavor_*``) and Grizzly's (2013.1:
``instance_type_*``), each with its release's parameters, authorization and errors.
Where the releases agree, one implementation serves both names.

A *flavor* is a dict of the ``instance_types`` columns (``id, name, memory_mb, vcpus,
root_gb, ephemeral_gb, flavorid, swap, rxtx_factor, vcpu_weight, disabled, is_public,
created_at, updated_at, deleted_at, deleted``) plus ``extra_specs``, its live extra specs as
``{key: value}`` (upstream's ``_dict_with_extra_specs``; no ``projects``) in insertion order
(one call inserts its new keys in key order: concurrent callers take row locks in one order).  An *access row*
is ``{id, instance_type_id, project_id, created_at, updated_at, deleted_at, deleted}``.

Where the releases differ:

==============================  ===============================  ==============================
                                Newton (``flavor_*``)            Grizzly (``instance_type_*``)
==============================  ===============================  ==============================
who may call                    getters, listing, extra specs:   create, destroy, access: admins;
                                admins and user contexts         the rest: admins and users
non-admin reads                 public flavors and those the     every flavor
                                project has access to
create                          ``projects`` → access rows;      no ``projects``;
                                ``FlavorExists``/``IdExists``    ``InstanceTypeExists``/``IdExists``
get by id / by name             ``FlavorNotFound`` /             ``InstanceTypeNotFound`` /
                                ``FlavorNotFoundByName``         ``InstanceTypeNotFoundByName``
listing                         ``sort_key`` (default flavorid), ORDER BY name, id
                                ``sort_dir``, ``limit``,
                                ``marker`` (a flavorid)
destroy                         by flavorid (``FlavorNotFound``) by name (``...NotFoundByName``);
                                updated_at becomes now           updated_at kept
extra spec delete of nothing    ``FlavorExtraSpecsNotFound``     no error
==============================  ===============================  ==============================

Both destroys soft-delete the flavor's extra specs and access rows (Grizzly left the access
rows: nova bug 1172153, fixed in Havana), and both access listings return ``[]`` for an
unknown flavor (Grizzly raised AttributeError).

Race-free by the live-unique keys (name, deleted), (flavorid, deleted), (instance_type_id,
key, deleted) and (instance_type_id, project_id, deleted): of concurrent creates of one name
or flavorid exactly one succeeds; of concurrent access adds of one project, one; concurrent
extra spec updates of one key update its one live row (an upsert: Newton's retry loop has
nothing left to retry).  Expected duplicates are caught in a savepoint, so a caller's
transaction goes on.

Where rawdb departs from upstream: listings put NULL sort values first ascending (last
descending) on every backend and pages after a marker walk them exactly (upstream's
``marker > NULL`` skipped such rows); a lookup key no row can hold (too long, NUL) finds
nothing; a key of the wrong type is ``Invalid``; ``flavor_create`` needs ``name``,
``flavorid``, ``memory_mb`` and ``vcpus`` and does not change the caller's ``values``;
unknown listing filters are ignored, as upstream ignored them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from rawdb import errors
from rawdb.checks import lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted, require_admin_context, require_context
from rawdb.decorators import reader, writer
from rawdb.nova._flavor_rows import (
    BY_NAME,
    CREATABLE,
    FLAVOR_COLUMNS,
    check_limit,
    check_projects,
    check_specs,
    create_values,
    get_all,
    get_one,
    sort_keys,
    specs_json,
    stored_text,
)
from rawdb.timeutils import utcnow

Row = dict[str, Any]
_ID_BY = {"flavorid": "nova.flavors.flavor_id_by_flavorid", "name": "nova.flavors.flavor_id_by_name"}


# --- private helpers -----------------------------------------------------------------------


async def _create(
    context: Context,
    values: Any,
    projects: Any,
    exists: type[errors.InstanceTypeExists],
    id_exists: type[errors.InstanceTypeIdExists],
) -> Row:
    """Insert a flavor, its extra specs and its access rows (the caller's transaction)."""
    columns, specs = create_values(values)
    project_ids = check_projects(projects)
    coerce_values("nova", "instance_types", columns, CREATABLE)  # Invalid before anything is written
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.flavors.flavor_create", columns)
    except errors.DBDuplicateEntry as exc:
        taken = await context.fetchrow("nova.flavors.flavor_taken", name=columns["name"], flavorid=columns["flavorid"])
        by_flavorid = any("flavorid" in str(column) for column in exc.kwargs.get("columns") or ())
        if taken is not None and (taken["name_taken"] or taken["flavorid_taken"]):
            by_flavorid = not taken["name_taken"]  # the name first, as Grizzly checked
        if by_flavorid:
            raise id_exists(flavor_id=columns["flavorid"]) from exc
        raise exists(name=columns["name"]) from exc
    flavor = {column: rows[0][column] for column in FLAVOR_COLUMNS}
    if flavor["rxtx_factor"] is not None:
        flavor["rxtx_factor"] = float(flavor["rxtx_factor"])  # SQLite's RETURNING gives 1.0 as 1
    now = utcnow()
    if specs:
        await context.execute(
            "nova.flavors.specs_upsert", instance_type_id=flavor["id"], specs=specs_json(specs), now=now
        )
    for project_id in project_ids:
        await context.fetch("nova.flavors.access_add", instance_type_id=flavor["id"], project_id=project_id, now=now)
    return {**flavor, "extra_specs": specs}


async def _live_id(context: Context, by: str, key: Any, what: str) -> int | None:
    """The id of the live flavor whose ``by`` (flavorid, name) is ``key``, or None.

    :raises Invalid: ``key`` is not a string
    """
    checked = lookup_text(key, what)
    if checked is None:
        return None
    value = await context.fetchval(_ID_BY[by], **{by: checked})
    return None if value is None else int(value)


async def _destroy(context: Context, instance_type_id: int | None, statement: str, not_found: errors.NotFound) -> None:
    """Soft-delete a live flavor, then its live extra specs and access rows (bug 1172153)."""
    if instance_type_id is None:
        raise not_found
    now = utcnow()
    if await context.execute(statement, instance_type_id=instance_type_id, now=now) == 0:
        raise not_found  # deleted by a concurrent caller since it was found
    for children in ("nova.flavors.specs_destroy_all", "nova.flavors.access_destroy_all"):
        await context.execute(children, instance_type_id=instance_type_id, now=now)


async def _access_add(context: Context, flavor_id: Any, project_id: Any) -> Row:
    project = stored_text(project_id, "project_id")
    instance_type_id = await _live_id(context, "flavorid", flavor_id, "flavor_id")
    if instance_type_id is None:
        raise errors.FlavorNotFound(flavor_id=flavor_id)
    try:
        async with context.savepoint() as sp:
            rows = await sp.fetch(
                "nova.flavors.access_add", instance_type_id=instance_type_id, project_id=project, now=utcnow()
            )
    except errors.DBDuplicateEntry as exc:
        raise errors.FlavorAccessExists(flavor_id=flavor_id, project_id=project_id) from exc
    return dict(rows[0])


async def _access_remove(context: Context, flavor_id: Any, project_id: Any) -> None:
    instance_type_id = await _live_id(context, "flavorid", flavor_id, "flavor_id")
    if instance_type_id is None:
        raise errors.FlavorNotFound(flavor_id=flavor_id)
    project = lookup_text(project_id, "project_id")
    count = 0
    if project is not None:
        count = await context.execute(
            "nova.flavors.access_remove", instance_type_id=instance_type_id, project_id=project, now=utcnow()
        )
    if count == 0:
        raise errors.FlavorAccessNotFound(flavor_id=flavor_id, project_id=project_id)


async def _access_get(context: Context, flavor_id: Any) -> list[Row]:
    flavorid = lookup_text(flavor_id, "flavor_id")
    if flavorid is None:
        return []
    return [dict(row) for row in await context.fetch("nova.flavors.access_get_by_flavor_id", flavorid=flavorid)]


async def _spec_delete(context: Context, flavor_id: Any, key: Any) -> int:
    flavorid, spec_key = lookup_text(flavor_id, "flavor_id"), lookup_text(key, "key")
    if flavorid is None or spec_key is None:
        return 0
    return await context.execute("nova.flavors.spec_delete", flavorid=flavorid, key=spec_key, now=utcnow())


def _read_deleted(context: Context, override: Any) -> str:
    """``read_deleted`` for the functions whose parameter of that name hides it."""
    return read_deleted(context, override)


# --- Newton (nova 14.0.0) ------------------------------------------------------------------


@writer(retry=True)
async def flavor_create(context: Context, values: Mapping[str, Any], projects: Iterable[str] | None = None) -> Row:
    """Create a flavor, its extra specs and access rows for ``projects``, in one transaction.

    :param values: ``name``, ``flavorid``, ``memory_mb``, ``vcpus`` (required), ``root_gb``,
        ``ephemeral_gb``, ``swap`` (0), ``rxtx_factor`` (1.0), ``vcpu_weight``, ``disabled``
        (False), ``is_public`` (True), ``created_at``, ``updated_at``, ``extra_specs``
    :param projects: project ids given access (each once)
    :returns: the flavor, with ``extra_specs``
    :raises FlavorExists: a live flavor has this name (also an InstanceTypeExists)
    :raises FlavorIdExists: a live flavor has this flavorid (also an InstanceTypeIdExists)
    :raises Invalid: a required key missing, another key, or a value its column cannot hold;
        nothing is written
    """
    return await _create(context, values, projects, errors.FlavorExists, errors.FlavorIdExists)


@require_context
@reader
async def flavor_get_all(
    context: Context,
    inactive: bool = False,
    filters: Mapping[str, Any] | None = None,
    sort_key: str = "flavorid",
    sort_dir: str = "asc",
    limit: int | None = None,
    marker: str | None = None,
) -> list[Row]:
    """Flavors, sorted by ``sort_key`` then id (both ``sort_dir``), the page after ``marker``.

    Live flavors, or deleted ones too when ``inactive``.  A non-admin sees public flavors
    and those its project has a live access row for.

    :param filters: ``min_memory_mb`` (>=), ``min_root_gb`` (>=), ``disabled`` (==),
        ``is_public`` (None: no filter; True: public, or accessible to the context's project;
        False: not public)
    :param marker: the flavorid of the previous page's last flavor
    :raises MarkerNotFound: no flavor visible to the listing has the marker flavorid
    :raises InvalidSortKey: ``sort_key`` is not a column of the flavors table
    :raises InvalidSortDir: ``sort_dir`` is not 'asc' or 'desc'
    :raises Invalid: a filter, limit or marker of the wrong type
    """
    sort = sort_keys(sort_key, sort_dir)
    return await get_all(context, inactive, filters, sort, not context.is_admin, check_limit(limit), marker)


@require_context
@reader
async def flavor_get(context: Context, id: int) -> Row:
    """A flavor by its integer id, as ``context.read_deleted`` says; non-admins see public and accessible ones.

    :raises FlavorNotFound: none visible
    :raises Invalid: ``id`` is not an integer
    """
    not_found = partial(errors.FlavorNotFound, flavor_id=id)
    return await get_one(context, "id", lookup_id(id, "id"), read_deleted(context), not context.is_admin, not_found)


@require_context
@reader
async def flavor_get_by_name(context: Context, name: str) -> Row:
    """A flavor by name, as ``context.read_deleted`` says; non-admins see public and accessible ones.

    :raises FlavorNotFoundByName: none visible (a FlavorNotFound)
    :raises Invalid: ``name`` is not a string
    """
    key, visible = lookup_text(name, "name"), not context.is_admin
    not_found = partial(errors.FlavorNotFoundByName, flavor_name=name)
    return await get_one(context, "name", key, read_deleted(context), visible, not_found)


@require_context
@reader
async def flavor_get_by_flavor_id(context: Context, id: str, read_deleted: str | None = None) -> Row:
    """A flavor by flavorid: the live one, else (as ``read_deleted`` or the context allows) the oldest deleted one.

    Non-admins see public and accessible ones.

    :raises FlavorNotFound: none visible
    :raises Invalid: ``id`` is not a string; ``read_deleted`` not 'no', 'yes' or 'only'
    """
    rd, key = _read_deleted(context, read_deleted), lookup_text(id, "id")
    not_found = partial(errors.FlavorNotFound, flavor_id=id)
    return await get_one(context, "flavorid", key, rd, not context.is_admin, not_found)


@writer(retry=True)
async def flavor_destroy(context: Context, flavor_id: str) -> None:
    """Soft-delete the live flavor with this flavorid (updated_at now), its extra specs and its access rows.

    :raises FlavorNotFound: no live flavor has this flavorid
    :raises Invalid: ``flavor_id`` is not a string
    """
    instance_type_id = await _live_id(context, "flavorid", flavor_id, "flavor_id")
    not_found = errors.FlavorNotFound(flavor_id=flavor_id)
    await _destroy(context, instance_type_id, "nova.flavors.flavor_destroy_object", not_found)


@reader
async def flavor_access_get_by_flavor_id(context: Context, flavor_id: str) -> list[Row]:
    """The live access rows of the live flavor with this flavorid, in insertion order ([] for none).

    :raises Invalid: ``flavor_id`` is not a string
    """
    return await _access_get(context, flavor_id)


@writer(retry=True)
async def flavor_access_add(context: Context, flavor_id: str, project_id: str) -> Row:
    """Give a project access to the live flavor with this flavorid.

    :returns: the access row
    :raises FlavorNotFound: no live flavor has this flavorid
    :raises FlavorAccessExists: the project has live access already (also under a race);
        an enclosing transaction goes on
    :raises Invalid: a flavorid or project id that is not a string a column holds
    """
    return await _access_add(context, flavor_id, project_id)


@writer
async def flavor_access_remove(context: Context, flavor_id: str, project_id: str) -> None:
    """Take a project's access to the live flavor with this flavorid away (soft delete).

    :raises FlavorNotFound: no live flavor has this flavorid
    :raises FlavorAccessNotFound: the project has no live access to it
    :raises Invalid: a flavorid or project id that is not a string
    """
    await _access_remove(context, flavor_id, project_id)


@require_context
@reader
async def flavor_extra_specs_get(context: Context, flavor_id: str) -> dict[str, str]:
    """The live extra specs of the live flavor with this flavorid, ``{key: value}`` ({} for none).

    :raises Invalid: ``flavor_id`` is not a string
    """
    flavorid = lookup_text(flavor_id, "flavor_id")
    if flavorid is None:
        return {}
    rows = await context.fetch("nova.flavors.specs_get", flavorid=flavorid)
    return {row["key"]: row["value"] for row in rows}


@require_context
@writer
async def flavor_extra_specs_delete(context: Context, flavor_id: str, key: str) -> None:
    """Soft-delete the live extra spec ``key`` of the live flavor with this flavorid.

    :raises FlavorExtraSpecsNotFound: there is none
    :raises Invalid: ``flavor_id`` or ``key`` is not a string
    """
    if await _spec_delete(context, flavor_id, key) == 0:
        raise errors.FlavorExtraSpecsNotFound(extra_specs_key=key, flavor_id=flavor_id)


@require_context
@writer(retry=True)
async def flavor_extra_specs_update_or_create(
    context: Context, flavor_id: str, extra_specs: Mapping[str, str]
) -> dict[str, str]:
    """Set extra specs of the live flavor with this flavorid: new values for its keys, new rows for new keys.

    One statement; concurrent callers setting the same key leave one live row (the last
    writer's value).  ``updated_at`` moves only on rows whose value changes.

    :returns: the specs set
    :raises FlavorNotFound: no live flavor has this flavorid
    :raises Invalid: ``extra_specs`` is not a dict of strings a VARCHAR(255) holds; nothing is written
    """
    specs = check_specs(extra_specs)
    instance_type_id = await _live_id(context, "flavorid", flavor_id, "flavor_id")
    if instance_type_id is None:
        raise errors.FlavorNotFound(flavor_id=flavor_id)
    if specs:
        await context.execute(
            "nova.flavors.specs_upsert", instance_type_id=instance_type_id, specs=specs_json(specs), now=utcnow()
        )
    return specs


# --- Grizzly (nova 2013.1) -----------------------------------------------------------------


@require_admin_context
@writer(retry=True)
async def instance_type_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a flavor and its extra specs (``values['extra_specs']``), in one transaction.

    :param values: as ``flavor_create``'s
    :returns: the flavor, with ``extra_specs``
    :raises InstanceTypeExists: a live flavor has this name
    :raises InstanceTypeIdExists: a live flavor has this flavorid
    :raises AdminRequired: not an admin
    :raises Invalid: see ``flavor_create``; nothing is written
    """
    return await _create(context, values, None, errors.InstanceTypeExists, errors.InstanceTypeIdExists)


@require_context
@reader
async def instance_type_get_all(
    context: Context, inactive: bool = False, filters: Mapping[str, Any] | None = None
) -> list[Row]:
    """Every flavor (live, or deleted ones too when ``inactive``) matching ``filters``, ORDER BY name.

    :param filters: as ``flavor_get_all``'s
    :raises Invalid: a filter of the wrong type
    """
    return await get_all(context, inactive, filters, BY_NAME, False)


@require_context
@reader
async def instance_type_get(context: Context, id: int) -> Row:
    """A flavor by its integer id, as ``context.read_deleted`` says.

    :raises InstanceTypeNotFound: none
    :raises Invalid: ``id`` is not an integer
    """
    not_found = partial(errors.InstanceTypeNotFound, instance_type_id=id)
    return await get_one(context, "id", lookup_id(id, "id"), read_deleted(context), False, not_found)


@require_context
@reader
async def instance_type_get_by_name(context: Context, name: str) -> Row:
    """A flavor by name, as ``context.read_deleted`` says.

    :raises InstanceTypeNotFoundByName: none
    :raises Invalid: ``name`` is not a string
    """
    not_found = partial(errors.InstanceTypeNotFoundByName, instance_type_name=name)
    return await get_one(context, "name", lookup_text(name, "name"), read_deleted(context), False, not_found)


@require_context
@reader
async def instance_type_get_by_flavor_id(context: Context, id: str, read_deleted: str | None = None) -> Row:
    """A flavor by flavorid (the live one first), as ``read_deleted`` or the context says.

    :raises FlavorNotFound: none
    :raises Invalid: ``id`` is not a string; ``read_deleted`` not 'no', 'yes' or 'only'
    """
    rd, key = _read_deleted(context, read_deleted), lookup_text(id, "id")
    return await get_one(context, "flavorid", key, rd, False, partial(errors.FlavorNotFound, flavor_id=id))


@require_admin_context
@writer(retry=True)
async def instance_type_destroy(context: Context, name: str) -> None:
    """Soft-delete the live flavor with this name (updated_at kept), its extra specs and its access rows.

    Grizzly left the access rows live (nova bug 1172153); rawdb deletes them, as Havana did.

    :raises InstanceTypeNotFoundByName: no live flavor has this name
    :raises AdminRequired: not an admin
    :raises Invalid: ``name`` is not a string
    """
    instance_type_id = await _live_id(context, "name", name, "name")
    not_found = errors.InstanceTypeNotFoundByName(instance_type_name=name)
    await _destroy(context, instance_type_id, "nova.flavors.flavor_destroy_bulk", not_found)


@require_admin_context
@reader
async def instance_type_access_get_by_flavor_id(context: Context, flavor_id: str) -> list[Row]:
    """The live access rows of the live flavor with this flavorid ([] for an unknown flavor: bug 1172153's fix).

    :raises AdminRequired: not an admin
    :raises Invalid: ``flavor_id`` is not a string
    """
    return await _access_get(context, flavor_id)


@require_admin_context
@writer(retry=True)
async def instance_type_access_add(context: Context, flavor_id: str, project_id: str) -> Row:
    """``flavor_access_add`` for admins only.

    :raises AdminRequired: not an admin
    """
    return await _access_add(context, flavor_id, project_id)


@require_admin_context
@writer
async def instance_type_access_remove(context: Context, flavor_id: str, project_id: str) -> None:
    """``flavor_access_remove`` for admins only.

    :raises AdminRequired: not an admin
    """
    await _access_remove(context, flavor_id, project_id)


@require_context
@reader
async def instance_type_extra_specs_get(context: Context, flavor_id: str) -> dict[str, str]:
    """``flavor_extra_specs_get`` (the same in both releases)."""
    return await flavor_extra_specs_get(context, flavor_id)


@require_context
@writer
async def instance_type_extra_specs_delete(context: Context, flavor_id: str, key: str) -> None:
    """Soft-delete the live extra spec ``key`` of the live flavor with this flavorid; none is no error.

    :raises Invalid: ``flavor_id`` or ``key`` is not a string
    """
    await _spec_delete(context, flavor_id, key)


@require_context
@writer(retry=True)
async def instance_type_extra_specs_update_or_create(
    context: Context, flavor_id: str, extra_specs: Mapping[str, str]
) -> dict[str, str]:
    """``flavor_extra_specs_update_or_create`` (the same in both releases, made race-free)."""
    return await flavor_extra_specs_update_or_create(context, flavor_id, extra_specs)
