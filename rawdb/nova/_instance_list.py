"""The statements that read instances: one per call shape, cached, children aggregated after the LIMIT.

``instance_get_all_by_filters_sort`` (spec nova_cinder.md D.1) turns the caller's filters
into a *plan*: a tuple of hashable descriptors (which filter, on which column, how many
tags) and the values to bind.  The statement is built from the plan alone, once per plan
(``functools.lru_cache``), so its text is stable for PostgreSQL's statement cache and no
text ever comes from the caller: column names are checked against the schema's, values
are bound.  The same builder serves the getters (``where`` a uuid or an id).
"""

from __future__ import annotations

import functools
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pypika import Table
from pypika.terms import Criterion, Term, Tuple

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import Flavour, collection_deferred, read_deleted, read_deleted_criterion, table_columns
from rawdb.nova._instance_filters import ADDRESSES, UNSTORABLE, Plan, PlanBuilder
from rawdb.nova._instance_rows import Joins, children_join, children_sql, instance_dict
from rawdb.queries import (
    AnyOf,
    Never,
    Param,
    PerDialect,
    Query,
    Raw,
    Regex,
    SortKey,
    after_marker,
    marker_params,
    marker_shape,
    order_by,
)
from rawdb.queries.compiler import compile_query
from rawdb.statement import DIALECTS, Compiled, Statement, convert

Row = dict[str, Any]
INSTANCES = Table("instances").as_("i")
_COLUMNS = table_columns("nova")["instances"]

SOFT_DELETED = "soft-delete"  # vm_states.SOFT_DELETED
_META_TABLES = {"metadata": "instance_metadata", "system_metadata": "instance_system_metadata"}


class Fixed(Criterion):
    """A predicate written by rawdb's code (``i.deleted = 0``), never holding caller input."""

    def __init__(self, sql: str) -> None:
        super().__init__()
        self.sql = sql

    def get_sql(self, **kwargs: Any) -> str:
        return self.sql


class _Exists(Criterion):
    """``EXISTS (<fixed SQL>)``: a correlated probe written by rawdb's code, never the caller."""

    def __init__(self, sql: str, *params: str) -> None:
        super().__init__()
        self.sql = sql
        self.params = params

    def get_sql(self, **kwargs: Any) -> str:
        kwargs.pop("with_alias", None)
        values = [Param(name).get_sql(**kwargs) for name in self.params]
        return f"EXISTS ({self.sql.format(*values)})"


def _tag_exists(param: str) -> Criterion:
    return _Exists("SELECT 1 FROM tags t WHERE t.resource_id = i.uuid AND t.tag = {}", param)


class _TagAny(Criterion):
    """``EXISTS`` a tag of the instance in the bound list."""

    def __init__(self, param: str) -> None:
        super().__init__()
        self.param = param

    def get_sql(self, **kwargs: Any) -> str:
        kwargs.pop("with_alias", None)
        member = AnyOf(Raw("t.tag"), self.param).get_sql(**kwargs)
        return f"EXISTS (SELECT 1 FROM tags t WHERE t.resource_id = i.uuid AND {member})"


class _Grantee(Criterion):
    """``EXISTS`` a live group of the instance with a live rule whose grantee is in the bound list."""

    def __init__(self, param: str) -> None:
        super().__init__()
        self.param = param

    def get_sql(self, **kwargs: Any) -> str:
        kwargs.pop("with_alias", None)
        member = AnyOf(Raw("r.group_id"), self.param).get_sql(**kwargs)
        return (
            "EXISTS (SELECT 1 FROM security_group_instance_association a "
            "JOIN security_groups g ON g.id = a.security_group_id AND g.deleted = 0 "
            "JOIN security_group_rules r ON r.parent_group_id = g.id AND r.deleted = 0 "
            f"WHERE a.instance_uuid = i.uuid AND a.deleted = 0 AND {member})"
        )


class _MetaIn(Criterion):
    """``i.uuid IN`` the live-or-as-read_deleted metadata rows matching the EC2 ``filter`` block."""

    def __init__(self, keys: str | None, values: str | None, key: str | None, either: bool) -> None:
        super().__init__()
        self.keys, self.values, self.key, self.either = keys, values, key, either

    def get_sql(self, **kwargs: Any) -> str:
        kwargs.pop("with_alias", None)
        # rendered in the order the text uses them: MySQL's placeholders are positional
        key = f"f.key = {Param(self.key).get_sql(**kwargs)} AND " if self.key else ""
        terms = []
        if self.keys:
            terms.append(AnyOf(Raw("f.key"), self.keys).get_sql(**kwargs))
        if self.values:
            terms.append(AnyOf(Raw("f.value"), self.values).get_sql(**kwargs))
        where = key + (f"({' OR '.join(terms)})" if self.either else " AND ".join(terms))
        rd = Param("read_deleted").get_sql(**kwargs)
        live = f"(CASE {rd} WHEN 'no' THEN f.deleted = 0 WHEN 'only' THEN f.deleted <> 0 ELSE TRUE END)"
        return f"i.uuid IN (SELECT f.instance_uuid FROM instance_metadata f WHERE {where} AND {live})"


def _as_text(column: str) -> Term:
    field = INSTANCES.field(column)
    if column in ADDRESSES:
        return PerDialect(field, **_ADDRESS_TEXT)
    if _COLUMNS[column].kind == "string" and column != "locked_by":
        return field
    return PerDialect(field, postgresql="CAST({} AS TEXT)", mysql="CAST({} AS CHAR)")


# Nullable timestamps sort with NULL as the smallest value on every backend.  PostgreSQL and
# SQLite sort COALESCE(column, <below every time>) instead, which is never NULL, so one row
# comparison starts a keyset page (``(t, id) < (...)``, an index range), the marker's values can
# be read inside the page statement, and an expression index serves the default order
# (schema 0004).  MySQL sorts NULL first natively and needs neither.
TIMES = frozenset(name for name, column in _COLUMNS.items() if column.kind == "datetime" and column.nullable)
_FLOOR = {"postgresql": "COALESCE({}, TIMESTAMP '0001-01-02 00:00:00')", "sqlite": "COALESCE({}, '')"}
# (not datetime.min: asyncpg sends that as -infinity)
FLOOR_VALUE: dict[str, Any] = {"postgresql": datetime(1, 1, 2), "sqlite": ""}
_AS_TEXT = {"postgresql": "CAST({} AS TEXT)", "mysql": "CAST({} AS CHAR)"}
# The access addresses (INET on PostgreSQL) match and sort as the text every backend stores and
# returns (abbrev: INET's own output), not in INET's order, which no other backend has.
_ADDRESS_TEXT = {"postgresql": "abbrev({})"}


def sort_term(table: Any, column: str) -> Term:
    """A sort key's term: locked_by (an ENUM elsewhere) and the addresses as text, nullable times floored."""
    if column == "locked_by":
        return PerDialect(table.field(column), **_AS_TEXT)
    if column in ADDRESSES:
        return PerDialect(table.field(column), **_ADDRESS_TEXT)
    field: Term = table.field(column)
    return PerDialect(field, **_FLOOR) if column in TIMES else field


def sort_value(column: str) -> Term:
    """A sort key's term on the page's instances."""
    return sort_term(INSTANCES, column)


def dialect_keys(sort: tuple[SortKey, ...], dialect: str) -> tuple[SortKey, ...]:
    """The sort keys as ``dialect`` sorts them: floored times are never NULL (not on MySQL)."""
    if dialect == "mysql":
        return sort
    return tuple(SortKey(k.column, k.desc, nullable=False) if k.column in TIMES else k for k in sort)


def embeddable(sort: tuple[SortKey, ...]) -> bool:
    """Whether a page after a marker is one statement (PostgreSQL, SQLite): one row comparison."""
    keys = dialect_keys(sort, "postgresql")
    return all(not key.nullable for key in keys) and len({key.desc for key in keys}) == 1


def floored(marker: Mapping[str, Any], sort: tuple[SortKey, ...], dialect: str) -> dict[str, Any]:
    """The marker's sort values as ``dialect`` compares them (NULL times floored, not on MySQL)."""
    values = dict(marker)
    if dialect != "mysql":
        for key in sort:
            if key.column in TIMES and values[key.column] is None:
                values[key.column] = FLOOR_VALUE[dialect]
    return values


def _criterion(item: tuple[Any, ...]) -> Criterion:
    """The predicate of one plan descriptor."""
    kind = item[0]
    if kind == "eq":
        return INSTANCES.field(item[1]) == Param(item[2])
    if kind == "null":
        return INSTANCES.field(item[1]).isnull()
    if kind == "in":
        return AnyOf(INSTANCES.field(item[1]), item[2])
    if kind == "regex":
        return Regex(_as_text(item[1]), item[2])
    if kind == "since":
        return INSTANCES.updated_at >= Param("changes_since")
    if kind == "deleted":
        return _deleted(item[1], item[2])
    if kind == "read_deleted":
        criterion = read_deleted_criterion(INSTANCES.deleted, Flavour.INT, item[1])
        assert criterion is not None
        return criterion
    if kind == "cleaned":
        return INSTANCES.cleaned == Param("cleaned")
    if kind == "tags":  # every tag of item[1] params
        return Criterion.all([Fixed("i.deleted = 0"), *(_tag_exists(p) for p in item[1])])
    if kind == "not_tags":
        return Criterion.all([Fixed("i.deleted = 0"), *(_tag_exists(p) for p in item[1])]).negate()
    if kind == "tags_any":
        return Fixed("i.deleted = 0") & _TagAny(item[1])
    if kind == "not_tags_any":
        return (Fixed("i.deleted = 0") & _TagAny(item[1])).negate()
    if kind == "meta":  # (meta, table, key param, value param)
        # two probes, not one row: nova's any(key=k) AND any(value=v) (spec D.1 step 6)
        probe = f"SELECT 1 FROM {_META_TABLES[item[1]]} m WHERE m.instance_uuid = i.uuid AND m.deleted = 0 AND "
        return _Exists(probe + "m.key = {}", item[2]) & _Exists(probe + "m.value = {}", item[3])
    if kind == "ec2":  # (ec2, keys param, values param, key param, either)
        return _MetaIn(item[1], item[2], item[3], item[4])
    if kind == "ne":
        return INSTANCES.field(item[1]) != Param(item[2])
    if kind == "active_since":  # not terminated before the window began
        return INSTANCES.terminated_at.isnull() | (INSTANCES.terminated_at > Param(item[1]))
    if kind == "launched_before":
        return INSTANCES.launched_at < Param(item[1])
    if kind == "updated_before":
        return INSTANCES.updated_at <= Param(item[1])
    if kind == "grantee":  # in a live group of a live instance with a live rule granting one of the groups
        return Fixed("i.deleted = 0") & _Grantee(item[1])
    if kind == "never":
        return Never()
    raise AssertionError(f"unknown plan item {item!r}")


def _deleted(deleted: bool, soft_deleted: bool) -> Criterion:
    """nova 14.0.0's ``deleted`` / ``soft_deleted`` filter pair (D.1 step 2)."""
    soft = INSTANCES.vm_state == Raw(f"'{SOFT_DELETED}'")
    if deleted:
        return Fixed("i.deleted = i.id") | soft if soft_deleted else Fixed("i.deleted = i.id")
    live = Fixed("i.deleted = 0")
    return (
        live
        if soft_deleted
        else live & ((INSTANCES.vm_state != Raw(f"'{SOFT_DELETED}'")) | INSTANCES.vm_state.isnull())
    )


@dataclass(frozen=True, slots=True)
class Shape:
    """Everything the text of a statement reading instances depends on."""

    plan: Plan
    joins: Joins
    sort: tuple[SortKey, ...] = ()
    marker_nulls: tuple[bool, ...] | None = None  # the marker's NULL sort values, when given as values
    limit: int | None = None
    marker_embedded: bool = False  # the marker's values read by the statement itself (:marker)


MARKER = Table("instances").as_("mk")


def _inner(shape: Shape, dialect: str) -> Any:
    query = Query.from_(INSTANCES).select(INSTANCES.star)
    for item in shape.plan:
        query = query.where(_criterion(item))
    keys = dialect_keys(shape.sort, dialect)
    if shape.marker_embedded:
        marker_row = Query.from_(MARKER).select(*(sort_term(MARKER, key.column) for key in keys))
        marker_row = marker_row.where(MARKER.uuid == Param("marker"))
        row = Tuple(*(sort_value(key.column) for key in keys))
        query = query.where(row < marker_row if keys[0].desc else row > marker_row)
    elif shape.marker_nulls is not None:
        query = query.where(after_marker(keys, shape.marker_nulls, sort_value))
        first = keys[0]
        if (
            dialect == "mysql"
            and first.nullable
            and first.desc
            and not first.nulls_go_first
            and not shape.marker_nulls[0]
        ):
            # [NULL, marker]: one index range to MariaDB, which sorts NULL first (the predicate
            # above is an OR it cannot start a range at)
            field = sort_value(first.column)
            query = query.where((field <= Param("marker_0")) | field.isnull())
    if keys:
        query = query.orderby(*order_by(keys, sort_value))
    return query


def _outer_order(shape: Shape, dialect: str) -> str:
    items = []
    for key in dialect_keys(shape.sort, dialect):
        item = f"page.{key.column}"
        if key.column == "locked_by":
            item = _AS_TEXT.get(dialect, "{}").format(item)
        elif key.column in ADDRESSES:
            item = _ADDRESS_TEXT.get(dialect, "{}").format(item)
        elif key.column in TIMES:
            item = _FLOOR.get(dialect, "{}").format(item)
        direction = " DESC" if key.desc else " ASC"
        if not key.nullable or (dialect != "postgresql" and key.nulls_go_first is not key.desc):
            items.append(item + direction)  # NULL is the smallest value already (SQLite, MySQL)
        elif dialect == "mysql":
            items.append(f"{item} IS {'NOT ' if key.nulls_go_first else ''}NULL, {item}{direction}")
        else:
            items.append(item + direction + (" NULLS FIRST" if key.nulls_go_first else " NULLS LAST"))
    return ", ".join(items)


def _with_children(inner: Compiled, shape: Shape, dialect: str) -> Compiled:
    children = children_sql(dialect, shape.joins)
    limited = f" LIMIT {int(shape.limit)}" if shape.limit is not None else ""
    text = f"SELECT page.*{', ' if children else ''}{children} FROM ({inner.sql}{limited}) AS page"
    text += children_join(dialect, shape.joins)
    if shape.sort:
        text += f" ORDER BY {_outer_order(shape, dialect)}"
    return convert(text, dialect, after=inner)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1024)
def statement(name: str, shape: Shape) -> Statement:
    """The statement of one shape, for every dialect (built once per shape)."""
    variants: dict[str, Compiled] = {
        dialect: _with_children(compile_query(_inner(shape, dialect), dialect), shape, dialect) for dialect in DIALECTS
    }
    return Statement(f"nova.instances.{name}", "Instances with their joined children.", "dynamic SQL", variants)


@functools.lru_cache(maxsize=64)
def marker_statement(columns: tuple[str, ...]) -> Statement:
    """The sort values of the marker instance (any project, deleted or not: nova elevates)."""
    query = (
        Query.from_(INSTANCES)
        .select(*(INSTANCES.field(column) for column in columns))
        .where(INSTANCES.uuid == Param("marker"))
    )
    return Statement(
        "nova.instances.marker",
        "The sort values of a page marker.",
        "dynamic SQL",
        {dialect: compile_query(query, dialect) for dialect in DIALECTS},
    )


# --- reading -------------------------------------------------------------------------------


def check_uuid(value: Any) -> str:
    """An instance uuid as nova's ``is_uuid_like`` accepts it.

    :raises InvalidUUID: anything else
    """
    if isinstance(value, str):
        try:
            uuidlib.UUID(value)
        except ValueError:
            pass
        else:
            if len(value) <= 36 or "-" not in value:
                return value
    raise errors.InvalidUUID(uuid=value)


def lookup(value: Any) -> str | None:
    """A uuid to look up, or None when no instance can have it (NotFound without a query)."""
    if not isinstance(value, str) or len(value) > 36 or UNSTORABLE.search(value):
        return None
    return value


async def read(
    context: Context,
    name: str,
    plan: Plan,
    params: dict[str, Any],
    joins: Joins,
    sort: tuple[SortKey, ...] = (),
    marker: Mapping[str, Any] | str | None = None,
    limit: int | None = None,
) -> list[Row]:
    """Run a read; ``marker`` is the marker's sort values, or its uuid for a page that reads them itself."""
    bound = dict(params)
    if isinstance(marker, str):
        shape = Shape(plan, joins, sort, None, limit, marker_embedded=True)
        bound["marker"] = marker
    elif marker is not None:
        keys = dialect_keys(sort, context.dialect)
        values = floored(marker, sort, context.dialect)
        shape = Shape(plan, joins, sort, marker_shape(keys, values), limit)
        bound.update(marker_params(keys, values))
    else:
        shape = Shape(plan, joins, sort, None, limit)
    if joins.by_read_deleted:
        bound["read_deleted"] = read_deleted(context)
    compiled = statement(name, shape)
    rows = await context.fetch_records(compiled, **_used(compiled, context.dialect, bound))
    with collection_deferred():
        return [instance_dict(row, joins) for row in rows]


def _used(statement: Any, dialect: str, params: dict[str, Any]) -> dict[str, Any]:
    names = statement.compiled(dialect).names
    return {name: params[name] for name in names}


def scope(context: Context) -> tuple[PlanBuilder, bool]:
    """A plan for model_query(project_only=True): the caller's read_deleted and project."""
    builder = PlanBuilder()
    builder.read_deleted(read_deleted(context))
    user = not context.is_admin and bool(context.user_id) and bool(context.project_id)
    if user:
        builder.exact("project_id", context.project_id)
    return builder, user


async def get_one(context: Context, column: str, value: Any, joins: Joins) -> Row | None:
    builder, _ = scope(context)
    builder.exact(column, value)
    rows = await read(context, f"instance_get_by_{column}", builder.plan(), builder.params, joins)
    return rows[0] if rows else None
