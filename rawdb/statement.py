"""A named SQL statement, converted once per dialect, and the argument binding that runs it.

SQL is written with named parameters (``:image_id``).  ``convert`` turns that text into
the driver's placeholders once, at load time: ``$1`` for asyncpg, ``?1`` for sqlite3,
``%s`` for MySQL's drivers.  A name used twice reuses its number on the first two, so the
argument list holds each value once; ``%s`` is positional, so there a name used twice is
bound twice (and a literal ``%`` is doubled, as the drivers' interpolation needs).
``col = ANY(:ids)`` (and ``col <> ALL(:ids)``) stay as they are on PostgreSQL, where a
Python list binds as an array, and become ``col IN (SELECT value FROM json_each(?1))`` on
SQLite and ``col IN (SELECT value FROM JSON_TABLE(%s, ...))`` on MySQL, where the list is
sent as JSON text: one parameter and a stable statement text for any list length, and
never ``IN ()``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from rawdb.errors import StatementError

Dialect = Literal["postgresql", "sqlite", "mysql"]
DIALECTS: tuple[Dialect, ...] = ("postgresql", "sqlite", "mysql")

# Tokens that must be copied untouched, then the two kinds of parameter reference.
_TOKEN = re.compile(
    r"""
      '(?:[^']|'')*'                                   # string literal
    | "(?:[^"]|"")*"                                   # quoted identifier
    | --[^\n]*                                         # line comment
    | /\*.*?\*/                                        # block comment
    | \$\$.*?\$\$                                      # dollar-quoted body
    | ::                                               # PostgreSQL cast
    | (?P<op>=|<>|!=)\s*(?P<quant>ANY|ALL)\s*\(\s*:(?P<list>[A-Za-z_]\w*)\s*\)
    | :(?P<name>[A-Za-z_]\w*)
    | (?P<placed>%s)                                   # (MySQL) a placeholder of an embedded statement
    | (?P<percent>%%?)                                 # (MySQL) a literal percent sign
    """,
    re.S | re.X | re.I,
)

_PLACEHOLDER = {"postgresql": "${}", "sqlite": "?{}", "mysql": "%s"}

# On SQLite and MySQL a list membership test reads the JSON array sent as one parameter.
_JSON_LIST = {
    "sqlite": "(SELECT value FROM json_each({}))",
    "mysql": "(SELECT value FROM JSON_TABLE({}, '$[*]' COLUMNS (value VARCHAR(255) PATH '$')) AS list_items)",
}
_PERCENT = re.compile("%%?")  # one percent sign (or an embedded statement's doubled one)
_LIST_OPS = {("=", "ANY"): "IN", ("<>", "ALL"): "NOT IN", ("!=", "ALL"): "NOT IN"}


@dataclass(frozen=True, slots=True)
class Compiled:
    """One statement's text for one dialect, with the parameter names in argument order.

    ``names`` may repeat a name (MySQL's positional ``%s`` binds it at each place).
    """

    sql: str
    names: tuple[str, ...]
    json_names: frozenset[str] = frozenset()
    distinct: int = field(default=-1, compare=False)  # how many different names (computed)

    def __post_init__(self) -> None:
        if self.distinct < 0:
            object.__setattr__(self, "distinct", len(set(self.names)))

    def bind(self, statement: str, params: dict[str, Any]) -> list[Any]:
        """Return the argument list for ``params``; raise StatementError on a missing or extra name."""
        try:
            args = [params[name] for name in self.names]
        except KeyError as exc:
            raise StatementError(
                f"statement {statement} needs parameter :{exc.args[0]} (it takes {self._takes()})"
            ) from None
        if len(params) != self.distinct:
            extra = sorted(set(params) - set(self.names))
            raise StatementError(f"statement {statement} got unknown parameter(s) {extra} (it takes {self._takes()})")
        if self.json_names:
            for i, name in enumerate(self.names):
                if name in self.json_names:
                    args[i] = _json_list(statement, name, args[i])
        return args

    def _takes(self) -> str:
        return ", ".join(f":{n}" for n in dict.fromkeys(self.names)) or "no parameters"


def _json_list(statement: str, name: str, value: Any) -> str:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise StatementError(f"statement {statement}: parameter :{name} must be a list, not {type(value).__name__}")
    return json.dumps(list(value))


def convert(sql: str, dialect: Dialect, after: Compiled | None = None) -> Compiled:
    """Turn ``:name`` parameters into the dialect's numbered placeholders.

    :param sql: statement text with ``:name`` parameters
    :param dialect: ``postgresql`` or ``sqlite``
    :param after: a compiled statement whose text ``sql`` embeds: its parameters keep
        their numbers and new names are numbered after them
    :returns: the converted text and the parameter names in argument order
    :raises StatementError: on an unknown dialect
    :raises SQLLoadError: a convention macro (READ_DELETED, SOFT_DELETE, PROJECT_ONLY) is misspelled
    """
    if dialect not in _PLACEHOLDER:
        raise StatementError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
    # Imported here: the conventions know Context, which imports this module.
    from rawdb.conventions.macros import expand

    sql = expand(sql)
    names: list[str] = list(after.names) if after else []
    json_names: set[str] = set(after.json_names) if after else set()
    placeholder = _PLACEHOLDER[dialect]
    positional = dialect == "mysql"
    if positional:
        # The embedded statement's %s stand for its names in order; they are re-read below.
        embedded = iter(names)
        names = []

    numbers = {name: i for i, name in enumerate(names, start=1)}  # a dict: long INSERTs stay linear

    def number(name: str) -> str:
        if positional:
            names.append(name)
            return placeholder
        if name not in numbers:
            names.append(name)
            numbers[name] = len(names)
        return placeholder.format(numbers[name])

    def replace(match: re.Match[str]) -> str:
        if match.group("name"):
            return number(match.group("name"))
        if match.group("list"):
            ref = number(match.group("list"))
            op, quant = match.group("op"), match.group("quant").upper()
            if dialect == "postgresql":
                return f"{op} {quant}({ref})"
            keyword = _LIST_OPS.get((op, quant))
            if keyword is None:
                raise StatementError(f"{op} {quant}(:list) is not supported; use = ANY(...) or <> ALL(...)")
            json_names.add(match.group("list"))
            return f"{keyword} {_JSON_LIST[dialect].format(ref)}"
        if match.group("placed") is not None:
            if not positional:
                return match.group(0)
            names.append(next(embedded))  # a placeholder the embedded statement already placed
            return "%s"
        if match.group("percent") is not None:
            if not positional or (match.group("percent") == "%%" and after is not None):
                return match.group(0)  # (an embedded statement's %% is escaped already)
            return "%%"
        if positional and match.group(0).startswith("'"):
            return _PERCENT.sub("%%", match.group(0))  # in string literals too: the driver formats the whole text
        return match.group(0)

    text = _TOKEN.sub(replace, sql)
    return Compiled(text, tuple(names), frozenset(json_names))


@dataclass(frozen=True, slots=True)
class Statement:
    """A named statement: its text for each dialect, where it came from and what it is for.

    ``source`` is the ``file:line`` of the portable text (else of a dialect's); ``sources``
    has the ``file:line`` of a dialect whose text came from a file of its own.
    """

    name: str
    doc: str
    source: str
    variants: dict[str, Compiled] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def source_for(self, dialect: str) -> str:
        """Where the text that runs on ``dialect`` was defined (``file:line``)."""
        return self.sources.get(dialect, self.source)

    def compiled(self, dialect: str) -> Compiled:
        """Return this statement's text for ``dialect``."""
        try:
            return self.variants[dialect]
        except KeyError:
            raise StatementError(f"statement {self.name} ({self.source}) has no {dialect} variant") from None

    @classmethod
    def portable(cls, name: str, sql: str, doc: str = "", source: str = "<python>") -> Statement:
        """Build a statement from one text that is valid on every dialect."""
        return cls(name, doc, source, {d: convert(sql, d) for d in DIALECTS})
