"""Helpers private to ``rawdb.nova.flavors``: checks of what callers pass, and the reads of whole flavors.

A whole flavor is its ``instance_types`` row plus ``extra_specs``, its live extra specs as
``{key: value}`` (upstream's ``_dict_with_extra_specs``).  Every read of whole flavors (the
getters, the listings, a listing's marker) is one statement built here per call *shape*
(which lookup, which filters, which sort, whether a marker and a limit), cached, with the
extra specs aggregated per flavor in the same statement (a JSON array: no query per
flavor).  No text comes from the caller: sort keys are checked against the table's columns,
values are bound.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pypika import Table
from pypika.terms import Criterion, Term

from rawdb import errors
from rawdb.checks import check_bool, check_integer, lookup_text
from rawdb.context import Context
from rawdb.conventions import Flavour, read_deleted_criterion, table_columns
from rawdb.queries import Param, Query, Raw, SortKey, after_marker, marker_params, marker_shape, order_by
from rawdb.queries.compiler import _collector, compile_query
from rawdb.statement import DIALECTS, Compiled, Statement

Row = dict[str, Any]

FLAVORS = Table("instance_types").as_("f")
COLUMNS = table_columns("nova")["instance_types"]
# A flavor's columns, in the order results carry them (then ``extra_specs``).
FLAVOR_COLUMNS = (
    "id",
    "name",
    "memory_mb",
    "vcpus",
    "root_gb",
    "ephemeral_gb",
    "flavorid",
    "swap",
    "rxtx_factor",
    "vcpu_weight",
    "disabled",
    "is_public",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
)
# What flavor_create takes from ``values`` (besides ``extra_specs``), and the model's defaults.
CREATABLE = frozenset(FLAVOR_COLUMNS) - {"id", "deleted", "deleted_at"}
DEFAULTS: Mapping[str, Any] = {"swap": 0, "rxtx_factor": 1.0, "disabled": False, "is_public": True}
REQUIRED = ("name", "flavorid", "memory_mb", "vcpus")
NAME_LENGTH = 255


# --- checks --------------------------------------------------------------------------------


def stored_text(value: Any, what: str) -> str:
    """A string a VARCHAR(255) column will store.

    :raises Invalid: not a string, too long, or holding NUL or a lone surrogate
    """
    checked = lookup_text(value, what)
    if checked is None:
        raise errors.Invalid(f"{what} must be at most {NAME_LENGTH} characters, without NUL or lone surrogates")
    return checked


def check_specs(specs: Any, what: str = "extra_specs") -> dict[str, str]:
    """Extra specs as ``{key: value}``, both strings a VARCHAR(255) holds.

    :raises Invalid: not a dict, or a key or value that is not such a string
    """
    if specs is None:
        return {}
    if not isinstance(specs, Mapping):
        raise errors.Invalid(f"{what} must be a dict, not {type(specs).__name__}")
    return {stored_text(key, f"{what} key"): stored_text(value, f"{what}[{key!r:.40}]") for key, value in specs.items()}


def specs_json(specs: Mapping[str, str]) -> str:
    """The ``:specs`` parameter of ``specs_upsert``: a JSON array of ``{"k", "v"}`` objects."""
    return json.dumps([{"k": key, "v": value} for key, value in specs.items()])


def check_projects(projects: Any) -> list[str]:
    """The project ids of ``projects``, each once, in the order given.

    :raises Invalid: not a list (tuple, set) of strings a VARCHAR(255) holds
    """
    if projects is None:
        return []
    if isinstance(projects, (str, bytes, Mapping)) or not hasattr(projects, "__iter__"):
        raise errors.Invalid(f"projects must be a list of project ids, not {type(projects).__name__}")
    return list(dict.fromkeys(stored_text(project, "projects item") for project in projects))


def create_values(values: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The columns and the extra specs of a new flavor from ``values``, defaults filled in.

    :raises Invalid: not a dict, a required key missing or None, an unknown key, or a value
        its column cannot hold
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    for key in REQUIRED:
        if values.get(key) is None:
            raise errors.Invalid(f"a flavor needs {key!r}")
    columns = {key: value for key, value in values.items() if key != "extra_specs"}
    for key, default in DEFAULTS.items():
        if columns.get(key) is None:
            columns[key] = default
    return columns, check_specs(values.get("extra_specs"))


def check_limit(limit: Any) -> int | None:
    """:raises Invalid: a limit that is not a non-negative integer or None."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise errors.Invalid(f"limit must be a non-negative integer or None, not {limit!r:.80}")
    return limit


def sort_keys(sort_key: Any, sort_dir: Any) -> tuple[SortKey, ...]:
    """``[sort_key, 'id']`` in ``sort_dir`` (Newton's paginate_query call).

    :raises InvalidSortKey: not a column of instance_types
    :raises InvalidSortDir: not 'asc' or 'desc'
    """
    if not isinstance(sort_key, str) or sort_key not in FLAVOR_COLUMNS:
        raise errors.InvalidSortKey(key=sort_key)
    if sort_dir not in ("asc", "desc"):
        raise errors.InvalidSortDir(direction=sort_dir)
    desc = sort_dir == "desc"
    keys = [SortKey(sort_key, desc, nullable=COLUMNS[sort_key].nullable)]
    if sort_key != "id":
        keys.append(SortKey("id", desc, nullable=False))
    return tuple(keys)


# --- the reads of whole flavors ------------------------------------------------------------

# Newton's flavor_get_by_flavor_id order (bug 1288636: the live row before deleted ones); the
# other getters take it too, so a lookup that sees deleted rows returns the same row everywhere.
LIVE_FIRST = (SortKey("deleted", nullable=COLUMNS["deleted"].nullable), SortKey("id", nullable=False))
# Grizzly's instance_type_get_all: ORDER BY name (id breaks ties among deleted namesakes).
BY_NAME = (SortKey("name", nullable=COLUMNS["name"].nullable), SortKey("id", nullable=False))

_SPECS_SOURCE = "FROM instance_type_extra_specs s WHERE s.instance_type_id = f.id AND s.deleted = 0"
_SPECS = {
    "postgresql": f'(SELECT json_agg(json_build_array(s.id, s."key", s.value) ORDER BY s.id) {_SPECS_SOURCE})',
    "sqlite": f'(SELECT json_group_array(json_array(s.id, s."key", s.value)) {_SPECS_SOURCE})',
    "mysql": f'(SELECT JSON_ARRAYAGG(JSON_ARRAY(s.id, s."key", s.value)) {_SPECS_SOURCE})',
}
_ACCESS = (
    "EXISTS (SELECT 1 FROM instance_type_projects p WHERE p.instance_type_id = f.id AND p.deleted = 0 "
    "AND p.project_id = {})"
)


class _ExtraSpecs(Term):
    """The select-list item aggregating a flavor's live extra specs, in its dialect's JSON."""

    is_aggregate: bool | None = None  # type: ignore[assignment]  # pypika's "neither"

    def get_sql(self, **kwargs: Any) -> str:
        return _SPECS[_collector(kwargs, "_ExtraSpecs").dialect] + ' AS "extra_specs"'


class _HasAccess(Criterion):
    """The flavor has a live access row for the bound project."""

    def __init__(self, param: str) -> None:
        super().__init__()
        self.param = param

    def get_sql(self, **kwargs: Any) -> str:
        kwargs.pop("with_alias", None)
        return _ACCESS.format(Param(self.param).get_sql(**kwargs))


@dataclass(frozen=True, slots=True)
class Shape:
    """Everything the text of a read of whole flavors depends on.

    :param where: the column looked up (bound as ``:lookup``), or None for a listing
    :param read_deleted: 'no', 'yes' or 'only'
    :param visible: restrict to public flavors and those the context's project may use
        (Newton, non-admin callers): binds ``:visible_project``
    :param filters: the listing filters given: ``min_memory_mb``, ``min_root_gb``,
        ``disabled``, ``is_public`` (bound under their names), ``is_public_or_access``
        (also the flavors ``:filter_project`` has access to)
    :param marker_nulls: the marker's NULL sort values, when there is a marker
    """

    where: str | None
    read_deleted: str
    visible: bool
    sort: tuple[SortKey, ...]
    filters: tuple[str, ...] = ()
    marker_nulls: tuple[bool, ...] | None = None
    limit: int | None = None


def _filter(name: str) -> Criterion:
    if name == "min_memory_mb":
        return FLAVORS.memory_mb >= Param(name)
    if name == "min_root_gb":
        return FLAVORS.root_gb >= Param(name)
    if name == "disabled":
        return FLAVORS.disabled == Param(name)
    if name == "is_public":
        return FLAVORS.is_public == Param(name)
    if name == "is_public_or_access":
        return (FLAVORS.is_public == Param("is_public")) | _HasAccess("filter_project")
    raise AssertionError(f"unknown flavor filter {name!r}")


def _query(shape: Shape) -> Any:
    query = Query.from_(FLAVORS).select(*(FLAVORS.field(column) for column in FLAVOR_COLUMNS), _ExtraSpecs())
    if shape.where is not None:
        query = query.where(FLAVORS.field(shape.where) == Param("lookup"))
    deleted = read_deleted_criterion(FLAVORS.deleted, Flavour.INT, shape.read_deleted)
    if deleted is not None:
        query = query.where(deleted)
    if shape.visible:
        query = query.where((FLAVORS.is_public == Raw("TRUE")) | _HasAccess("visible_project"))
    for name in shape.filters:
        query = query.where(_filter(name))
    if shape.marker_nulls is not None:
        query = query.where(after_marker(shape.sort, shape.marker_nulls, FLAVORS.field))
    query = query.orderby(*order_by(shape.sort, FLAVORS.field))
    if shape.limit is not None:
        query = query.limit(shape.limit)
    return query


@functools.lru_cache(maxsize=512)
def statement(shape: Shape) -> Statement:
    """The read of one shape, for every dialect (built once per shape)."""
    variants: dict[str, Compiled] = {dialect: compile_query(_query(shape), dialect) for dialect in DIALECTS}
    kind = "flavor_get" if shape.where is not None else "flavor_get_all"
    return Statement(f"nova.flavors.{kind}", "Flavors with their live extra specs.", "dynamic SQL", variants)


def flavor_dict(row: Mapping[str, Any]) -> Row:
    """A flavor from a row of the reads: its columns, then ``extra_specs`` as ``{key: value}`` (insertion order)."""
    flavor = {column: row[column] for column in FLAVOR_COLUMNS}
    aggregated = row["extra_specs"]
    items = json.loads(aggregated) if isinstance(aggregated, (str, bytes)) else (aggregated or [])
    items.sort(key=lambda item: item[0])
    flavor["extra_specs"] = {key: value for _, key, value in items}
    return flavor


async def read(
    context: Context,
    shape: Shape,
    params: Mapping[str, Any],
    marker: Mapping[str, Any] | None = None,
) -> list[Row]:
    """Run a read of whole flavors; ``marker`` is the marker row when the shape has one."""
    bound = dict(params)
    if marker is not None:
        bound.update(marker_params(shape.sort, marker))
    compiled = statement(shape)
    names = compiled.compiled(context.dialect).names
    rows = await context.fetch(compiled, **{name: bound[name] for name in names})
    return [flavor_dict(row) for row in rows]


def with_marker(shape: Shape, marker: Mapping[str, Any]) -> Shape:
    """The shape of the page after ``marker`` (a row of the same sort)."""
    return Shape(
        shape.where,
        shape.read_deleted,
        shape.visible,
        shape.sort,
        shape.filters,
        marker_shape(shape.sort, marker),
        shape.limit,
    )


async def get_one(
    context: Context, column: str, key: Any, rd: str, visible: bool, not_found: Callable[[], errors.NotFound]
) -> Row:
    """The flavor whose ``column`` is ``key`` (a live one before deleted ones), or ``not_found()``."""
    rows: list[Row] = []
    if key is not None:
        params = {"lookup": key, "visible_project": context.project_id}
        rows = await read(context, Shape(column, rd, visible, LIVE_FIRST, limit=1), params)
    if not rows:
        raise not_found()
    return rows[0]


async def get_all(
    context: Context,
    inactive: Any,
    filters: Any,
    sort: tuple[SortKey, ...],
    visible: bool,
    limit: int | None = None,
    marker: Any = None,
) -> list[Row]:
    """Flavors live (or all, ``inactive``) matching ``filters``, sorted, the page after ``marker`` (a flavorid)."""
    rd = "yes" if inactive else "no"
    names, params = listing_filters(context, filters)
    params["visible_project"] = context.project_id
    shape = Shape(None, rd, visible, sort, names, limit=limit)
    if marker is None:
        return [] if limit == 0 else await read(context, shape, params)
    flavorid = lookup_text(marker, "marker")
    found: list[Row] = []
    if flavorid is not None:
        lookup = {"lookup": flavorid, "visible_project": context.project_id}
        found = await read(context, Shape("flavorid", rd, visible, LIVE_FIRST, limit=1), lookup)
    if not found:
        raise errors.MarkerNotFound(marker=marker)
    return [] if limit == 0 else await read(context, with_marker(shape, found[0]), params, found[0])


def listing_filters(context: Context, filters: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The listing filters nova's flavor_get_all knows, as shape names and bound values.

    Other keys are ignored, as upstream ignored them.  ``is_public`` None is no filter;
    True also admits the flavors the context's project has a live access row for.

    :raises Invalid: ``filters`` is not a dict, or a value of the wrong type
    """
    if filters is None:
        return (), {}
    if not isinstance(filters, Mapping):
        raise errors.Invalid(f"filters must be a dict, not {type(filters).__name__}")
    names: list[str] = []
    params: dict[str, Any] = {}
    for name in ("min_memory_mb", "min_root_gb"):
        if name in filters:
            names.append(name)
            params[name] = check_integer(filters[name], name)
    if "disabled" in filters:
        names.append("disabled")
        params["disabled"] = check_bool(filters["disabled"], "disabled")
    if filters.get("is_public") is not None:
        params["is_public"] = public = check_bool(filters["is_public"], "is_public")
        if public and context.project_id is not None:
            names.append("is_public_or_access")
            params["filter_project"] = context.project_id
        else:
            names.append("is_public")
    return tuple(names), params
