"""The statements behind image_get_all and image_get: one statement per page, cached per shape.

A page is a keyset page over ``images``: the filters and the caller's visibility are
plain predicates (``visibility = 'public' OR owner = $1 OR (visibility = 'shared' AND
EXISTS membership)``), never glance's de-duplicating UNION, so an index on the sort
order (``created_at, id``) serves admins and regular users alike and a page costs the
same wherever the marker is.  The page's children are aggregated in the same statement
(``array_agg`` of records / ``json_group_array`` / ``JSON_ARRAYAGG``) after the page is
LIMITed, so no row is multiplied by properties x tags x locations.  (Fetching them by ``= ANY`` of the
page's ids instead took 20-50% longer on both backends: one round trip per child table.)

Everything that varies with the caller's input is a bound parameter.  The statement
text depends only on the *shape* of the call (which filters, which sort, a marker or
not), so it is built once per shape and PostgreSQL's statement cache sees stable text.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pypika import Field, JoinType, Table
from pypika.terms import Criterion, ExistsCriterion, Term, Tuple

from rawdb.glance._validate import IMAGE_COLUMN_NAMES, IMAGE_COLUMNS
from rawdb.queries import AnyOf, Never, Param, PerDialect, Query, Raw, SortKey, after_marker, order_by
from rawdb.queries.compiler import compile_query
from rawdb.queries.paginate import RowAfter
from rawdb.statement import DIALECTS, Compiled, Statement, convert

IMAGES = Table("images").as_("i")
MARKER = Table("images").as_("mk")

# Children of the page, aggregated per image (``page`` is the LIMITed page) as positional
# tuples: asyncpg decodes an array of anonymous records with native types, SQLite and MySQL
# send JSON arrays.  The field order is rows.PROPERTY_FIELDS / LOCATION_FIELDS / TAG_FIELDS.
# PostgreSQL orders inside the aggregate; SQLite 3.40 cannot, so rows.py sorts JSON by id.
# MySQL's JSON_ARRAYAGG of no rows is NULL, so it is replaced by a JSON array (never by the
# text '[]', which would turn the whole value into a string: spec mariadb.md 2.5).
_AGGREGATE = {
    "postgresql": "array_agg(ROW({fields}) ORDER BY {alias}.id)",
    "sqlite": "json_group_array(json_array({fields}))",
    "mysql": "COALESCE(JSON_ARRAYAGG(JSON_ARRAY({fields})), JSON_ARRAY())",
}
_CHILDREN = {
    "properties": (
        "p",
        "p.id, p.name, p.value, p.created_at, p.updated_at, p.deleted_at, p.deleted",
        "image_properties p WHERE p.image_id = page.id",
    ),
    "locations": ("l", "l.id, l.value, l.meta_data, l.status", "image_locations l WHERE l.image_id = page.id{live}"),
    "tags": ("t", "t.id, t.value", "image_tags t WHERE t.image_id = page.id AND NOT t.deleted"),
}


def _children(dialect: str, child: str, live: str = "") -> str:
    alias, fields, source = _CHILDREN[child]
    aggregate = _AGGREGATE[dialect].format(fields=fields, alias=alias)
    return f"(SELECT {aggregate} FROM {source.format(live=live)}) AS {child}"


_IS_MEMBER = (
    "EXISTS (SELECT 1 FROM image_members mm WHERE mm.image_id = page.id "
    "AND mm.member = :viewer AND NOT mm.deleted) AS is_member"
)


def exists(query: Any) -> Criterion:
    """``EXISTS (query)``."""
    criterion: Criterion = ExistsCriterion(query)  # type: ignore[no-untyped-call]
    return criterion


def lit(value: str) -> Raw:
    """A string constant chosen by rawdb's code (a visibility or status name)."""
    assert value.isidentifier(), value
    return Raw(f"'{value}'")


class _PerRow(Criterion):
    """EXISTS (query), in a form the planner must run for each outer row, never as a join or a hash.

    PostgreSQL hashes an EXISTS it can rewrite as ``= ANY`` (``OFFSET 0`` forbids the
    rewrite); MariaDB materializes one it can rewrite as ``IN``, LIMIT or not (a scalar
    subquery it cannot rewrite).  For the membership probe of the visibility rule, hashing
    read every live membership of the caller on every page: a project 1,332 images were
    shared with (PostgreSQL, 1,000,000 images) paid 1.7 ms of a 3.1 ms page for it, where
    probing the few shared images a page meets costs microseconds.  SQLite runs an EXISTS
    per row anyway.
    """

    def __init__(self, query: Any) -> None:
        super().__init__()
        self.query = query

    def get_sql(self, **kwargs: Any) -> str:
        kwargs.pop("with_alias", None)
        dialect = kwargs["parameter"].dialect
        inner = self.query.get_sql(**{**kwargs, "subquery": False})
        if dialect == "mysql":
            return f"({inner} LIMIT 1) IS NOT NULL"
        return f"EXISTS ({inner}{' OFFSET 0' if dialect == 'postgresql' else ''})"


def _member_of(table: Any, owner: Term, status: Term | None) -> Criterion:
    """A live membership of ``owner`` in the image (with ``status`` if given), probed per row."""
    members = Table("image_members").as_("m")
    where = (members.image_id == table.id) & Raw("NOT m.deleted") & (members.member == owner)
    if status is not None:
        where &= members.status == status
    return _PerRow(Query.from_(members).select(Raw("1")).where(where))


def scanned(column: str) -> Term:
    """An images column SQLite is kept from looking up through an index (``+i.column``).

    The page is a walk of the sort-order index, and the visibility rule and the flags every
    API call sets (deleted, os_hidden, status, visibility) are checked on the rows it meets.
    Without statistics (no ANALYZE since the table filled) SQLite's planner guesses ten rows
    per equality and prefers a lookup of ``deleted`` or ``os_hidden``, or one lookup per arm
    of the visibility OR, then sorts everything they found: at 10,000 images an admin's first
    page took 18.3 ms instead of 1.1 ms, a user's 5.9 instead of 1.2.  Other planners
    ignore it (PostgreSQL and MariaDB keep their statistics fresh on their own).
    """
    return PerDialect(IMAGES.field(column), sqlite="+{}")


VISIBILITY_COLUMN, OWNER_COLUMN = scanned("visibility"), scanned("owner")
FLAG_COLUMNS = frozenset({"deleted", "os_hidden"})  # set by every API call (ImagesController.index)


# --- visibility (spec glance.md C.3, with the fixes of G.11) ---------------------------
#
# Each rule returns the predicate for one shape; :owner is the caller's project,
# :visibility the visibility filter, :member_status the membership status wanted.


def _shared_with_me(member_all: bool) -> Criterion:
    return (VISIBILITY_COLUMN == lit("shared")) & _member_of(
        IMAGES, Param("owner"), None if member_all else Param("member_status")
    )


VISIBILITY: dict[str, Callable[[bool], Criterion | None]] = {
    # admins (admin_as_user=False)
    "admin_all": lambda m: None,
    "admin_default": lambda m: VISIBILITY_COLUMN != lit("community"),
    "admin_default_owner": lambda m: (OWNER_COLUMN == Param("owner")) | (VISIBILITY_COLUMN != lit("community")),
    # anyone, when a visibility is asked for that needs no ownership
    "visibility_eq": lambda m: VISIBILITY_COLUMN == Param("visibility"),
    # regular users with a project
    "user_default": lambda m: (
        (VISIBILITY_COLUMN == lit("public")) | (OWNER_COLUMN == Param("owner")) | _shared_with_me(m)
    ),
    "user_all": lambda m: (
        VISIBILITY_COLUMN.isin([lit("public"), lit("community")])
        | (OWNER_COLUMN == Param("owner"))
        | _shared_with_me(m)
    ),
    # (the caller's own images: its owner index may serve them)
    "user_private": lambda m: (VISIBILITY_COLUMN == lit("private")) & (IMAGES.owner == Param("owner")),
    "user_shared": lambda m: (
        (VISIBILITY_COLUMN == lit("shared"))
        & ((OWNER_COLUMN == Param("owner")) | _member_of(IMAGES, Param("owner"), None if m else Param("member_status")))
    ),
    # regular users without a project: public (and community) images only — never the
    # shared images of other people's memberships (glance bug, spec C.3)
    "anon_all": lambda m: VISIBILITY_COLUMN.isin([lit("public"), lit("community")]),
    "nothing": lambda m: Never(),
}


def visibility_rule(regular: bool, owner: str | None, visibility: str | None) -> str:
    """Which visibility predicate a call needs (a key of VISIBILITY)."""
    if not regular:
        if visibility == "all":
            return "admin_all"
        if visibility is not None:
            return "visibility_eq"
        return "admin_default_owner" if owner is not None else "admin_default"
    if owner is None:
        return {None: "visibility_eq", "all": "anon_all", "public": "visibility_eq", "community": "visibility_eq"}.get(
            visibility, "nothing"
        )
    return {
        None: "user_default",
        "all": "user_all",
        "public": "visibility_eq",
        "community": "visibility_eq",
        "private": "user_private",
        "shared": "user_shared",
    }[visibility]


def marker_visible(regular: bool) -> Criterion | None:
    """Spec D, on the marker row: may the caller see it (any membership status counts)?"""
    if not regular:
        return None
    return (
        MARKER.owner.isnull()
        | MARKER.visibility.isin([lit("public"), lit("community")])
        | (MARKER.owner == Param("owner"))
        | ((MARKER.visibility == lit("shared")) & _member_of(MARKER, Param("owner"), None))
    )


# --- filters ------------------------------------------------------------------------------

VALUE_PREFIX = 100  # characters of a property value in ix_image_properties_name_value_live (schema 0002)


class _Prefix(Term):
    """``substr(term, 1, VALUE_PREFIX)``, the expression the property-value index holds."""

    is_aggregate: bool | None = None  # type: ignore[assignment]  # pypika's "neither"

    def __init__(self, term: Term) -> None:
        super().__init__()
        self.term = term

    def get_sql(self, **kwargs: Any) -> str:
        return f"substr({self.term.get_sql(**kwargs)}, 1, {VALUE_PREFIX})"


def _property(ref: str, dialect: str = "") -> Criterion:
    """A live property ``:{ref}_name`` with the value ``:{ref}_value``.

    On MySQL a probe the optimizer cannot turn into a semi-join (a scalar subquery): as a
    semi-join, MariaDB 10.11 read every live image through ``ix_images_deleted`` and sorted
    them (10,000 images, a value on 26% of them: 14.0 ms) instead of walking the sort order
    and probing each visible image (3.1 ms).
    """
    props = Table("image_properties").as_("pf")
    value = Param(f"{ref}_value")
    where = (
        (props.image_id == IMAGES.id)
        & Raw("NOT pf.deleted")
        & (props.name == Param(f"{ref}_name"))
        & (props.value == value)
        # The value's prefix, as ix_image_properties_name_value_live holds it: a rare value
        # is then found through the index instead of every row of the property's name.
        & (_Prefix(props.value) == _Prefix(value))
    )
    probe = Query.from_(props).select(Raw("1")).where(where)
    if dialect == "mysql":
        criterion: Criterion = probe.limit(1).isnotnull()
        return criterion
    return exists(probe)


def _tag(ref: str) -> Criterion:
    tags = Table("image_tags").as_("tf")
    where = (tags.image_id == IMAGES.id) & Raw("NOT tf.deleted") & (tags.value == Param(ref))
    return exists(Query.from_(tags).select(Raw("1")).where(where))


# Where a tag stops being "rare" (see _TagSwitch): bands of the images table's size (its
# largest rowid), each with the square root of a size inside it.
_SIZE_BANDS = ((30_000, 100), (300_000, 316), (3_000_000, 1_000))
_SIZE_BEYOND = 3_162


def _rare_below(limit: int) -> str:
    """SQL for the number of tag rows from which walking in sort order is the cheaper plan.

    A tag on T of N images: the walk visits about limit * N / T images before it has a page,
    starting from the tag visits T.  Both cost about the same per image visited, give or
    take a factor of 4 measured on SQLite, so the tag is rare below 2 * sqrt(limit * N).
    """
    factor = 2 * math.sqrt(limit)
    bands = " ".join(f"WHEN n <= {size} THEN {math.ceil(factor * root)}" for size, root in _SIZE_BANDS)
    return (
        f"(SELECT CASE {bands} ELSE {math.ceil(factor * _SIZE_BEYOND)} END "
        "FROM (SELECT coalesce(max(rowid), 0) AS n FROM images) AS size)"
    )


class _TagSwitch(Term):
    """A page with a tag filter, as two branches of which only one runs.

    Walking the images in sort order and probing each one for the tag finds a page of a
    common tag after a few dozen images, but walks every visible image for a rare one;
    starting from the tag's rows costs one probe per row carrying it, whatever its order.
    The tag's live rows are counted up to where it stops being rare (``_rare_below``: an
    index-only count, evaluated once), and each branch's LIMIT is the page size for the
    branch that suits the count and 0 for the other, which then reads nothing (SQLite skips
    a LIMIT 0 branch before its first row).  SQLite 3.40, 10,000 images, the page alone: a
    tag on 1% of them 6.6 -> 0.15 ms, on 5% 3.1 -> 0.8 ms, on 22% 0.45 -> 0.57 ms (the
    count).  SQLite only: PostgreSQL's planner makes the same choice from the tag's
    statistics (its custom plans start from a rare tag's rows), and MySQL takes no
    expression as a LIMIT.
    """

    is_aggregate: bool | None = None  # type: ignore[assignment]  # pypika's "neither"

    def __init__(self, walk: Any, tag_first: Any, ref: str, limit: int) -> None:
        super().__init__()
        self.walk, self.tag_first, self.ref, self.limit = walk, tag_first, ref, int(limit)

    def get_sql(self, **kwargs: Any) -> str:
        kwargs.pop("with_alias", None)
        k, n = _rare_below(self.limit), self.limit
        tag = Param(self.ref).get_sql(**kwargs)
        walk = self.walk.get_sql(**kwargs)
        tag_first = self.tag_first.get_sql(**kwargs)
        # a CTE read twice is evaluated once
        return (
            f"WITH tag_rows AS (SELECT count(*) < {k} AS rare FROM (SELECT 1 FROM image_tags tc "
            f"WHERE tc.value = {tag} AND NOT tc.deleted LIMIT {k}) AS tcs) "
            f"SELECT * FROM ({walk} LIMIT CASE WHEN (SELECT rare FROM tag_rows) THEN 0 ELSE {n} END) AS walk "
            f"UNION ALL SELECT * FROM ({tag_first} LIMIT CASE WHEN (SELECT rare FROM tag_rows) THEN {n} ELSE 0 END) "
            "AS tag_first"
        )


CONDITIONS: dict[str, Callable[[str, str], Criterion]] = {
    "eq": lambda col, ref: IMAGES.field(col) == Param(ref),
    "neq": lambda col, ref: IMAGES.field(col) != Param(ref),
    "gt": lambda col, ref: IMAGES.field(col) > Param(ref),
    "gte": lambda col, ref: IMAGES.field(col) >= Param(ref),
    "lt": lambda col, ref: IMAGES.field(col) < Param(ref),
    "lte": lambda col, ref: IMAGES.field(col) <= Param(ref),
    "in": lambda col, ref: AnyOf(IMAGES.field(col), ref),
    "not_killed": lambda col, ref: scanned("status") != lit("killed"),
    "public": lambda col, ref: VISIBILITY_COLUMN == lit("public"),
    "not_public": lambda col, ref: VISIBILITY_COLUMN != lit("public"),
    "flag": lambda col, ref: scanned(col) == Param(ref),
    "tag": lambda col, ref: _tag(ref),
}


@dataclass(frozen=True, slots=True)
class PageShape:
    """Everything the text of a page statement depends on (and nothing else)."""

    conditions: tuple[tuple[str, str, str], ...]  # (kind, column, parameter)
    visibility: str
    member_all: bool
    sort: tuple[SortKey, ...]
    marker: str  # "none", "embedded" (row comparison with the marker row) or "values"
    marker_nulls: tuple[bool, ...]
    marker_rule: bool  # the marker must pass spec D for a regular caller
    marker_live_only: bool
    limit: int | None  # inlined: a generic plan that does not know the LIMIT may pick a full sort
    tags: bool
    deleted_locations: bool


# Conditions that probe a child table for each image: written last.
_PROBES = frozenset({"property", "tag"})


def _switched_tag(shape: PageShape, dialect: str) -> str | None:
    """The parameter of the tag filter a page can start from (the first one), if any."""
    if dialect != "sqlite" or shape.limit is None:
        return None
    return next((ref for kind, _, ref in shape.conditions if kind == "tag"), None)


def _where(shape: PageShape, dialect: str, tag_first: str | None = None) -> list[Criterion]:
    """The page's predicates, cheapest first: the image's own columns, visibility, the marker,
    then the child-table probes.  SQLite evaluates a WHERE in written order, so a probe written
    first ran for every image the index walk met, visible or not (SQLite, 10k images: property
    filter 6.1 -> 2.0 ms, tag filter 6.4 -> 5.2 ms; the other planners reorder anyway)."""
    where: list[Criterion] = []
    for kind, column, ref in shape.conditions:
        if kind not in _PROBES:
            flag = kind == "eq" and column in FLAG_COLUMNS
            where.append(CONDITIONS["flag" if flag else kind](column, ref))
    rule = VISIBILITY[shape.visibility](shape.member_all)
    if rule is not None:
        where.append(rule)
    if shape.marker == "embedded":
        where.append(_after_marker_row(shape, dialect))
    elif shape.marker == "values":
        where.append(after_marker(shape.sort, shape.marker_nulls, lambda column: sort_value(IMAGES, column)))
    for kind, column, ref in shape.conditions:
        if kind == "property":
            where.append(_property(ref, dialect))
        elif kind in _PROBES and ref != tag_first:  # (a tag the page starts from is joined)
            where.append(CONDITIONS[kind](column, ref))
    return where


def _after_marker_row(shape: PageShape, dialect: str) -> Criterion:
    """The rows after the marker row, compared with it inside the page statement.

    ``(k1, k2) < (SELECT mk.k1, mk.k2 …)``: one row comparison, which PostgreSQL and SQLite
    answer with an index range.  MySQL can start a range neither at a row comparison (spec
    mariadb.md 2.6) nor at a subquery's value: there the marker row is joined by its primary
    key (``_inner``), which MariaDB reads before planning ("const"), and each key is compared
    with the marker's value of it, so the index range starts at the marker (a page at 90% of
    10k images: 15 ms of index walk before, 0.5 ms after).
    """
    cols = [sort_value(IMAGES, k.column) for k in shape.sort]
    desc = shape.sort[0].desc
    if dialect == "mysql":
        return RowAfter(cols, [sort_value(MARKER, k.column) for k in shape.sort], desc)
    marker_row = Query.from_(MARKER).select(*(sort_value(MARKER, k.column) for k in shape.sort))
    marker_row = marker_row.where(_marker_where(shape))
    return Tuple(*cols) < marker_row if desc else Tuple(*cols) > marker_row


def _marker_where(shape: PageShape) -> Criterion:
    where = MARKER.id == Param("marker")
    if shape.marker_live_only:
        where &= Raw("NOT mk.deleted")
    rule = marker_visible(shape.marker_rule)
    return where if rule is None else where & rule


TAGGED = Table("image_tags").as_("tg")


def _inner(shape: PageShape, dialect: str, tag_first: str | None = None) -> Any:
    """The page's images in sort order; with ``tag_first``, starting from that tag's rows
    (a CROSS JOIN: SQLite then keeps the written join order, whatever its statistics say)."""
    if tag_first is None:
        query = Query.from_(IMAGES).select(IMAGES.star)
    else:
        query = Query.from_(TAGGED).join(IMAGES, how=JoinType.cross).cross().select(IMAGES.star)
        query = query.where(IMAGES.id == TAGGED.image_id).where(TAGGED.value == Param(tag_first))
        query = query.where(Raw("NOT tg.deleted"))
    if shape.marker == "embedded" and dialect == "mysql":
        # the marker row, if the caller may see it: no row, no page (as the row comparison's NULL)
        query = query.join(MARKER).on(_marker_where(shape))
    for criterion in _where(shape, dialect, tag_first):
        query = query.where(criterion)
    return query.orderby(*order_by(shape.sort, lambda column: sort_value(IMAGES, column)))


def _page(shape: PageShape, dialect: str) -> tuple[Any, int | None]:
    """The query of a page's images, and the LIMIT to put after it (None: it has its own)."""
    tag = _switched_tag(shape, dialect)
    if tag is None:
        return _inner(shape, dialect), shape.limit
    assert shape.limit is not None
    return _TagSwitch(_inner(shape, dialect), _inner(shape, dialect, tag_first=tag), tag, shape.limit), None


# Visibility sorts as text on every backend: the ENUMs of PostgreSQL and MySQL would sort it
# in declaration order, SQLite's text alphabetically.
_ENUM_AS_TEXT = {"postgresql": "CAST({} AS TEXT)", "mysql": "CAST({} AS CHAR)"}


def sort_value(table: Any, column: str) -> Term:
    """A sort key's value (visibility as text)."""
    field = table.field(column)
    return PerDialect(field, **_ENUM_AS_TEXT) if column == "visibility" else field


def _page_order(shape: PageShape, dialect: str) -> str:
    """The outer ORDER BY, the inner one's (rawdb.queries.order_by) on the page's columns."""
    items = []
    for key in shape.sort:
        item = (
            _ENUM_AS_TEXT.get(dialect, "{}").format(f"page.{key.column}")
            if key.column == "visibility"
            else (f"page.{key.column}")
        )
        direction = " DESC" if key.desc else " ASC"
        if not key.nullable:
            items.append(item + direction)
        elif dialect != "mysql":
            items.append(item + direction + (" NULLS FIRST" if key.nulls_go_first else " NULLS LAST"))
        else:
            # MySQL has no NULLS FIRST/LAST: a NULL test sorts first (false before true), as
            # rawdb.queries.Ordered does it
            items.append(f"{item} IS {'NOT ' if key.nulls_go_first else ''}NULL, {item}{direction}")
    return ", ".join(items)


def with_children(
    inner: Compiled,
    dialect: str,
    tags: bool,
    deleted_locations: bool,
    extra: str = "",
    limit: int | None = None,
    order: str = "",
) -> Compiled:
    """Wrap a query selecting ``images`` rows so each row carries its children."""
    columns = [
        _children(dialect, "properties"),
        _children(dialect, "locations", "" if deleted_locations else " AND NOT l.deleted"),
    ]
    if tags:
        columns.append(_children(dialect, "tags"))
    if extra:
        columns.append(extra)
    limited = f" LIMIT {int(limit)}" if limit is not None else ""
    text = f"SELECT page.*, {', '.join(columns)} FROM ({inner.sql}{limited}) AS page"
    if order:
        text += f" ORDER BY {order}"
    return convert(text, dialect, after=inner)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1024)
def page_statement(shape: PageShape) -> Statement:
    """The statement for one page shape, for every dialect (built once per shape)."""
    variants: dict[str, Compiled] = {}
    for dialect in DIALECTS:
        query, limit = _page(shape, dialect)
        variants[dialect] = with_children(
            compile_query(query, dialect),
            dialect,
            shape.tags,
            shape.deleted_locations,
            limit=limit,
            order=_page_order(shape, dialect),
        )
    return Statement("glance.images.image_get_all", "One page of image_get_all.", "dynamic SQL", variants)


@functools.lru_cache(maxsize=16)
def marker_statement(sort: tuple[SortKey, ...], regular: bool, live_only: bool) -> Statement:
    """The marker's sort values, if the marker exists and the caller may see it."""
    shape = PageShape((), "admin_all", True, sort, "none", (), regular, live_only, None, False, False)
    columns = [MARKER.field(k.column) for k in sort]
    query = Query.from_(MARKER).select(*columns).where(_marker_where(shape))
    variants: dict[str, Compiled] = {dialect: compile_query(query, dialect) for dialect in DIALECTS}
    return Statement("glance.images.marker", "The sort values of a page marker.", "dynamic SQL", variants)


# One image as rows on MySQL (image_rows_statement): the image, then its children, each row
# tagged by `part`; a child's fields in the columns after the image's.
_PART_IMAGE, _PART_PROPERTY, _PART_LOCATION = 0, 1, 2
_BOOLEAN_COLUMNS = tuple(name for name, (kind, _, _) in IMAGE_COLUMNS.items() if kind == "bool")
_CHILD_COLUMNS = ("child_id", "child_a", "child_b", "child_status", "child_t1", "child_t2", "child_t3", "child_del")


@functools.lru_cache(maxsize=8)
def image_rows_statement(live_only: bool, deleted_locations: bool) -> Statement:
    """One image with its properties and locations as rows (MySQL), whether ``:viewer`` is a member.

    MariaDB's JSON_ARRAYAGG costs a temporary table per aggregate holding TEXT: image_get
    with its children aggregated took 0.65 ms on the bare driver, as one UNION ALL of the
    image's row and its children's rows 0.35 ms (MariaDB 10.11).  ``image_from_rows`` puts
    the rows back together as image_statement's row.
    """
    nulls = ", ".join(["NULL"] * len(IMAGE_COLUMN_NAMES))
    columns = ", ".join(f'i."{name}"' for name in IMAGE_COLUMN_NAMES)
    child_nulls = ", ".join(f"NULL AS {name}" for name in _CHILD_COLUMNS)
    live = " AND NOT i.deleted" if live_only else ""
    live_locations = "" if deleted_locations else " AND NOT l.deleted"
    text = (
        f"SELECT {_PART_IMAGE} AS part, {columns}, {_IS_MEMBER.replace('page.id', 'i.id')}, {child_nulls} "
        f"FROM images i WHERE i.id = :image_id{live} "
        f"UNION ALL SELECT {_PART_PROPERTY}, {nulls}, NULL, p.id, p.name, p.value, NULL, p.created_at, p.updated_at, "
        "p.deleted_at, p.deleted FROM image_properties p WHERE p.image_id = :image_id "
        f"UNION ALL SELECT {_PART_LOCATION}, {nulls}, NULL, l.id, l.value, l.meta_data, l.status, NULL, NULL, NULL, "
        f"NULL FROM image_locations l WHERE l.image_id = :image_id{live_locations}"
    )
    return Statement(
        "glance.images.image_get",
        "One image with its children, as rows.",
        "dynamic SQL",
        {"mysql": convert(text, "mysql")},
    )


def image_from_rows(rows: list[Any]) -> dict[str, Any] | None:
    """image_rows_statement's rows as image_statement's row (children as id-ordered tuples)."""
    image: dict[str, Any] | None = None
    properties: list[tuple[Any, ...]] = []
    locations: list[tuple[Any, ...]] = []
    for row in rows:
        part = row["part"]
        if part == _PART_IMAGE:
            image = {name: row[name] for name in IMAGE_COLUMN_NAMES}
            for name in _BOOLEAN_COLUMNS:  # a UNION's column is no longer BOOLEAN (tinyint(1)) on MariaDB
                image[name] = bool(image[name])
            image["is_member"] = bool(row["is_member"])
        elif part == _PART_PROPERTY:
            properties.append(
                (
                    row["child_id"],
                    row["child_a"],
                    row["child_b"],
                    row["child_t1"],
                    row["child_t2"],
                    row["child_t3"],
                    bool(row["child_del"]),
                )
            )
        else:
            locations.append((row["child_id"], row["child_a"], row["child_b"], row["child_status"]))
    if image is None:
        return None
    image["properties"] = sorted(properties, key=_first)
    image["locations"] = sorted(locations, key=_first)
    return image


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


@functools.lru_cache(maxsize=8)
def image_statement(live_only: bool, deleted_locations: bool) -> Statement:
    """One image with its properties and locations, and whether ``:viewer`` is a member."""
    query = Query.from_(IMAGES).select(IMAGES.star).where(IMAGES.id == Param("image_id"))
    if live_only:
        query = query.where(Raw("NOT i.deleted"))
    variants: dict[str, Compiled] = {
        dialect: with_children(compile_query(query, dialect), dialect, False, deleted_locations, extra=_IS_MEMBER)
        for dialect in DIALECTS
    }
    return Statement("glance.images.image_get", "One image with its children.", "dynamic SQL", variants)


@functools.lru_cache(maxsize=256)
def update_statement(columns: tuple[str, ...], from_state: bool, live_only: bool, owner: bool) -> Statement:
    """UPDATE the given image columns, guarded by status, liveness and ownership.

    The guards make the check and the write one statement: a concurrent update cannot
    slip between them (glance's from_state compare-and-swap, and its mutability rule).
    Its row count (matched rows on every backend) says whether the guards let it through.
    """
    table = Table("images")
    query = Query.update(table)
    for column in columns:
        query = query.set(Field(column, table=table), Param(column))
    # The guards' parameters are named apart from the columns they share a name with.
    query = query.where(table.id == Param("image_id"))
    if from_state:
        query = query.where(table.status == Param("guard_status"))
    if live_only:
        query = query.where(Raw("NOT deleted"))
    if owner:
        query = query.where(table.owner == Param("guard_owner"))
    variants: dict[str, Compiled] = {dialect: compile_query(query, dialect) for dialect in DIALECTS}
    return Statement("glance.images.image_update", "Update an image's columns.", "dynamic SQL", variants)
