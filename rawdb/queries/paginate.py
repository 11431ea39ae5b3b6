"""Keyset (marker) pagination: ORDER BY and the "rows after the marker" predicate.

The ORDER BY places NULLs explicitly, and the predicate places them the same way, so a
walk through every page yields exactly the unpaged ordering on both backends (PostgreSQL
puts NULLs last in ascending order, SQLite first: ecosystem spec B.4).  By default NULL
sorts as the smallest value — first ascending, last descending — as glance's tests and
SQLite expect.  The last sort key must be unique (``id``) for the walk to be exact.

The marker is the previous page's last row.  Whether each of its sort values is NULL is
part of the query's shape, so every comparison stays sargable (``k = $1`` or
``k IS NULL``, never ``IS NOT DISTINCT FROM``).  When every key is NOT NULL and sorted
the same way, the predicate is one row comparison ``(k1, k2) < ($1, $2)``, which both
databases answer with an index range scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pypika.terms import Criterion, Term

from rawdb.queries.compiler import Ordered, Param, _collector


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort key: a column, its direction, where its NULLs go, and whether it can be NULL."""

    column: str
    desc: bool = False
    nulls_first: bool | None = None  # None: NULL is the smallest value
    nullable: bool = True

    @property
    def nulls_go_first(self) -> bool:
        return self.nulls_first if self.nulls_first is not None else not self.desc


def order_by(keys: Sequence[SortKey], field: Any) -> list[Ordered]:
    """The ORDER BY items for ``keys``; ``field(name)`` returns the column term."""
    return [Ordered(field(k.column), k.desc, k.nulls_go_first if k.nullable else None) for k in keys]


def marker_shape(keys: Sequence[SortKey], marker: Mapping[str, Any]) -> tuple[bool, ...]:
    """Which of the marker's sort values are NULL: part of the statement's shape."""
    return tuple(marker[k.column] is None for k in keys)


def marker_params(keys: Sequence[SortKey], marker: Mapping[str, Any], prefix: str = "marker") -> dict[str, Any]:
    """The bind values for the predicate built with the same ``prefix``."""
    return {f"{prefix}_{i}": marker[k.column] for i, k in enumerate(keys) if marker[k.column] is not None}


def after_marker(
    keys: Sequence[SortKey],
    nulls: Sequence[bool],
    field: Any,
    prefix: str = "marker",
) -> Criterion:
    """The predicate "this row sorts after the marker".

    :param keys: the sort keys, the last one unique
    :param nulls: ``marker_shape()`` of the marker
    :param field: ``field(name)`` returns the column term
    :param prefix: parameter names are ``{prefix}_{i}``
    """
    if len(keys) != len(nulls) or not keys:
        raise ValueError("after_marker() needs one NULL flag per sort key, and at least one key")
    cols = [field(k.column) for k in keys]
    vals = [Param(f"{prefix}_{i}") for i in range(len(keys))]

    if not any(nulls) and all(not k.nullable for k in keys) and len({k.desc for k in keys}) == 1:
        return RowAfter(cols, vals, keys[0].desc)

    branches: list[Criterion] = []
    for i, key in enumerate(keys):
        step = _after(key, cols[i], vals[i], nulls[i])
        if step is None:
            continue
        ties = [cols[j].isnull() if nulls[j] else cols[j] == vals[j] for j in range(i)]
        branches.append(Criterion.all([*ties, step]))
    if not branches:
        return Never()
    predicate = cast(Criterion, Criterion.any(branches))
    bound = _leading_bound(keys[0], cols[0], vals[0], nulls[0])
    return predicate if bound is None else cast(Criterion, Criterion.all([bound, predicate]))


class RowAfter(Criterion):
    """``(k1, k2) > ($1, $2)`` (``<`` descending): one row comparison an index range serves.

    MySQL compares row values right but cannot range-scan an index with them (it reads the
    index from its start), so there the same predicate is spelled out:
    ``k1 >= $1 AND (k1 > $1 OR (k1 = $1 AND k2 > $2))``.
    """

    def __init__(self, cols: Sequence[Term], vals: Sequence[Term], desc: bool) -> None:
        super().__init__()
        self.cols, self.vals, self.desc = list(cols), list(vals), desc

    def get_sql(self, **kwargs: Any) -> str:
        op = "<" if self.desc else ">"
        cols = [c.get_sql(**kwargs) for c in self.cols]
        if _collector(kwargs, "RowAfter").dialect != "mysql":
            vals = [v.get_sql(**kwargs) for v in self.vals]
            return f"({','.join(cols)}){op}({','.join(vals)})"
        # MySQL's placeholders are positional: each value is rendered where the text uses it,
        # in the text's order.
        bound = f"{cols[0]} {op}= {self.vals[0].get_sql(**kwargs)}"
        branches = []
        for i in range(len(cols)):
            ties = [f"{cols[j]} = {self.vals[j].get_sql(**kwargs)}" for j in range(i)]
            branches.append(" AND ".join([*ties, f"{cols[i]} {op} {self.vals[i].get_sql(**kwargs)}"]))
        return f"({bound} AND (({') OR ('.join(branches)})))"


class Never(Criterion):
    """A predicate no row satisfies (``Criterion.any([])`` would silently drop the WHERE)."""

    def __init__(self) -> None:
        super().__init__()

    def get_sql(self, **kwargs: Any) -> str:
        return "1 = 0"


def _after(key: SortKey, col: Term, val: Term, marker_is_null: bool) -> Criterion | None:
    """Rows whose value of ``key`` sorts strictly after the marker's, or None for none."""
    if marker_is_null:
        # NULLs first: every non-NULL value comes after; NULLs last: nothing does.
        return col.notnull() if key.nulls_go_first else None
    beyond = col < val if key.desc else col > val
    if key.nullable and not key.nulls_go_first:
        return beyond | col.isnull()
    return beyond


def _leading_bound(key: SortKey, col: Term, val: Term, marker_is_null: bool) -> Criterion | None:
    """A redundant range on the first key that lets the planner start an index scan there."""
    if marker_is_null:
        return None if key.nulls_go_first else col.isnull()
    if key.nullable and not key.nulls_go_first:
        return None
    return col <= val if key.desc else col >= val
