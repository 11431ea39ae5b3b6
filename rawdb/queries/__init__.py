"""Dynamic SQL: pypika queries compiled to Statements, and keyset pagination."""

from rawdb.queries.compiler import (
    AnyOf,
    Ordered,
    Param,
    PerDialect,
    Query,
    Raw,
    Regex,
    compile_query,
    compile_statement,
)
from rawdb.queries.paginate import Never, SortKey, after_marker, marker_params, marker_shape, order_by

__all__ = [
    "AnyOf",
    "Never",
    "Ordered",
    "Param",
    "PerDialect",
    "Query",
    "Raw",
    "Regex",
    "SortKey",
    "after_marker",
    "compile_query",
    "compile_statement",
    "marker_params",
    "marker_shape",
    "order_by",
]
