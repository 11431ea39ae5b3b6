"""Compile pypika queries into Statements, with values bound by name and never inlined.

pypika's own parameter classes stringify every value that is not a number (a datetime
becomes ISO text, bytes their repr: ecosystem spec C.1), so rawdb never lets pypika see a
value.  A query refers to values with ``Param("name")``; ``compile_statement`` renders it
once per dialect into the same ``Statement`` the SQL files produce, and the values are
bound at execution time.  A literal that reaches the compiler without ``Param`` is an
error, not a silently stringified value.

Because the text depends only on the query's *shape*, builders cache their Statements
(``functools.lru_cache`` keyed on the shape): a cached lookup costs well under a
microsecond, and asyncpg's statement cache sees stable SQL text.
"""

from __future__ import annotations

from typing import Any

from pypika.dialects import PostgreSQLQuery
from pypika.terms import Criterion, ListParameter, Term

from rawdb.statement import _JSON_LIST, DIALECTS, Compiled, Dialect, Statement

# Renders RETURNING and ON CONFLICT; its quoting suits SQLite, and MySQL, whose sessions
# rawdb opens with ANSI_QUOTES.
Query = PostgreSQLQuery

_PLACEHOLDER = {"postgresql": "${}", "sqlite": "?{}", "mysql": "%s"}


class _Collector(ListParameter):
    """Numbers named parameters as they are rendered; refuses unbound literals."""

    def __init__(self, dialect: Dialect) -> None:
        super().__init__()
        self.dialect = dialect
        self.names: list[str] = []
        self.numbers: dict[str, int] = {}
        self.json_names: set[str] = set()

    def ref(self, name: str) -> str:
        if self.dialect == "mysql":  # positional: a value at each place it is used
            self.names.append(name)
            return "%s"
        number = self.numbers.get(name)
        if number is None:
            self.names.append(name)
            number = self.numbers[name] = len(self.names)
        return _PLACEHOLDER[self.dialect].format(number)

    def get_sql(self, **kwargs: Any) -> str:
        return "?"

    def update_parameters(self, value: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        raise TypeError(
            f"literal {value!r} reached the query compiler unbound; use Param('name') for values "
            "and Raw('...') for fixed SQL"
        )


def _collector(kwargs: dict[str, Any], what: str) -> _Collector:
    collector = kwargs.get("parameter")
    if not isinstance(collector, _Collector):
        raise TypeError(f"{what} can only be rendered by compile_statement()")
    return collector


class Param(Term):
    """A value bound at execution time under ``name``."""

    is_aggregate: bool | None = None  # type: ignore[assignment]  # pypika's "neither"

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def get_sql(self, **kwargs: Any) -> str:
        return _collector(kwargs, f"Param({self.name!r})").ref(self.name)


class Raw(Term):
    """Fixed SQL text chosen by code (``FALSE``, ``count(*)``); never user input."""

    is_aggregate: bool | None = None  # type: ignore[assignment]  # pypika's "neither"

    def __init__(self, sql: str, alias: str | None = None) -> None:
        super().__init__(alias)
        self.sql = sql

    def get_sql(self, with_alias: bool = False, quote_char: str | None = '"', **kwargs: Any) -> str:
        if with_alias and self.alias:
            return f'{self.sql} AS "{self.alias}"'
        return self.sql


class AnyOf(Criterion):
    """``term = ANY($n)`` on PostgreSQL, ``term IN (SELECT value FROM json_each(?n))`` on SQLite.

    One parameter holding a list, whatever its length (an empty list matches nothing),
    so the statement text never changes and never becomes ``IN ()``.
    """

    def __init__(self, term: Term, param: str, negate: bool = False) -> None:
        super().__init__()
        self.term = term
        self.param = param
        self.exclude = negate

    def get_sql(self, **kwargs: Any) -> str:
        collector = _collector(kwargs, "AnyOf")
        left = self.term.get_sql(**kwargs)
        ref = collector.ref(self.param)
        if collector.dialect == "postgresql":
            return f"{left} <> ALL({ref})" if self.exclude else f"{left} = ANY({ref})"
        collector.json_names.add(self.param)
        return f"{left} {'NOT IN' if self.exclude else 'IN'} {_JSON_LIST[collector.dialect].format(ref)}"


class Regex(Criterion):
    """``term ~ $n`` on PostgreSQL, ``term REGEXP ?n`` on SQLite (rawdb registers regexp()),
    ``term REGEXP %s`` on MySQL (case-sensitive under rawdb's binary collation)."""

    def __init__(self, term: Term, param: str) -> None:
        super().__init__()
        self.term = term
        self.param = param

    def get_sql(self, **kwargs: Any) -> str:
        collector = _collector(kwargs, "Regex")
        op = "~" if collector.dialect == "postgresql" else "REGEXP"
        return f"{self.term.get_sql(**kwargs)} {op} {collector.ref(self.param)}"


class PerDialect(Term):
    """A term wrapped in dialect-specific SQL: ``PerDialect(t, postgresql="CAST({} AS TEXT)")``."""

    is_aggregate: bool | None = None  # type: ignore[assignment]  # pypika's "neither"

    def __init__(self, term: Term, **templates: str) -> None:
        super().__init__()
        self.term = term
        self.templates = templates

    def get_sql(self, **kwargs: Any) -> str:
        collector = _collector(kwargs, "PerDialect")
        kwargs.pop("with_alias", None)
        return self.templates.get(collector.dialect, "{}").format(self.term.get_sql(**kwargs))


class Ordered(Term):
    """An ORDER BY item with an explicit NULLS FIRST/LAST (pypika has none).

    ``nulls_first=None`` leaves the placement to the database: use it only for columns
    that cannot be NULL, where it keeps PostgreSQL able to walk an index.
    """

    is_aggregate: bool | None = None  # type: ignore[assignment]  # pypika's "neither"

    def __init__(self, term: Term, desc: bool, nulls_first: bool | None) -> None:
        super().__init__()
        self.term = term
        self.desc = desc
        self.nulls_first = nulls_first

    def get_sql(self, **kwargs: Any) -> str:
        kwargs.pop("with_alias", None)
        term = self.term.get_sql(**kwargs)
        sql = f"{term} {'DESC' if self.desc else 'ASC'}"
        if self.nulls_first is None:
            return sql
        dialect = _collector(kwargs, "Ordered").dialect
        if dialect != "postgresql" and self.nulls_first is not self.desc:
            # SQLite and MySQL sort NULL as the smallest value already: saying so again would
            # keep MySQL from reading an index in order (it sorts on the IS NULL test)
            return sql
        if dialect == "mysql":
            # MySQL has no NULLS FIRST/LAST: sort on the NULL test first (false before true)
            return f"{term} IS {'NOT ' if self.nulls_first else ''}NULL, {sql}"
        return sql + (" NULLS FIRST" if self.nulls_first else " NULLS LAST")


def compile_query(query: Any, dialect: Dialect) -> Compiled:
    """Render a pypika query for one dialect."""
    collector = _Collector(dialect)
    sql = query.get_sql(parameter=collector)
    return Compiled(sql, tuple(collector.names), frozenset(collector.json_names))


def compile_statement(name: str, query: Any, doc: str = "") -> Statement:
    """Render a pypika query for every dialect into a Statement.

    :param name: the statement's name in logs and errors (``glance.images.image_get_all``)
    :raises TypeError: if a value reached the query without ``Param``
    """
    return Statement(name, doc, "dynamic SQL", {d: compile_query(query, d) for d in DIALECTS})
