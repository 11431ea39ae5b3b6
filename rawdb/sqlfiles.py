"""Loads the named statements in ``sql/**/*.sql`` once, converted for every dialect.

A file holds statements like this one::

    -- name: image_get
    -- One image row by id, deleted or not.
    SELECT * FROM images WHERE id = :image_id

``sql/glance/images.sql`` gives the statement the name ``glance.images.image_get``.
Where a dialect needs different text, ``sql/glance/images.postgresql.sql`` (or
``.sqlite.sql``) holds a statement of the same name that replaces the portable one for
that dialect.  ``sql/schema/`` holds DDL scripts, not named statements.  Every error
names ``file:line``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from rawdb.errors import SQLLoadError, StatementError
from rawdb.statement import DIALECTS, Compiled, Statement, convert

_HEADER = re.compile(r"^--\s*name\s*:\s*(?P<name>\S*)\s*(?:\((?P<only>\w+(?:\s*,\s*\w+)*) only\))?\s*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def sql_root() -> Path:
    """The ``sql/`` directory: inside the installed package, or beside it in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "sql", here.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise SQLLoadError(f"cannot find the sql/ directory next to {here}; is the package installed completely?")


def _split_name(root: Path, path: Path) -> tuple[str, str | None]:
    """``glance/images.postgresql.sql`` -> (``glance.images``, ``postgresql``)."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    dialect = None
    stem, _, suffix = parts[-1].partition(".")
    if suffix:
        if suffix not in DIALECTS:
            raise SQLLoadError(f"{path}:1: unknown dialect suffix {suffix!r}; expected one of {DIALECTS}")
        dialect = suffix
    parts[-1] = stem
    return ".".join(parts), dialect


def parse_file(path: Path, namespace: str) -> list[tuple[str, str, int, str, tuple[str, ...] | None]]:
    """Split one file into ``(name, doc, line, sql, only)`` entries.

    ``-- name: x (postgresql only)`` marks a statement that exists for one dialect only
    (a data-modifying CTE SQLite cannot express), ``(postgresql, sqlite only)`` for those
    two (the other one does the job another way); the caller must not run it elsewhere.

    :raises SQLLoadError: on text before the first header, a bad or duplicate name,
        a statement without a doc comment, or an empty statement
    """
    entries: list[tuple[str, str, int, str, tuple[str, ...] | None]] = []
    seen: set[str] = set()
    current: tuple[str, int, tuple[str, ...] | None] | None = None
    doc: list[str] = []
    body: list[str] = []
    in_doc = False

    def close() -> None:
        if current is None:
            return
        name, line, only = current
        if not doc:
            raise SQLLoadError(
                f"{path}:{line}: statement {namespace}.{name} has no doc comment (a `-- ...` line under the header)"
            )
        sql = "\n".join(body).strip().rstrip(";").strip()
        if not sql:
            raise SQLLoadError(f"{path}:{line}: statement {namespace}.{name} is empty")
        entries.append((name, " ".join(doc), line, sql, only))

    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        header = _HEADER.match(text.strip())
        if header:
            close()
            name = header.group("name")
            if not _NAME.match(name):
                raise SQLLoadError(f"{path}:{number}: bad statement name {name!r} (letters, digits, underscores)")
            if name in seen:
                raise SQLLoadError(f"{path}:{number}: statement {namespace}.{name} is defined twice in this file")
            seen.add(name)
            only = _only(header.group("only"), f"{path}:{number}")
            current, doc, body, in_doc = (name, number, only), [], [], True
            continue
        stripped = text.strip()
        if current is None:
            if stripped and not stripped.startswith("--"):
                raise SQLLoadError(f"{path}:{number}: SQL before the first `-- name:` header")
            continue
        if in_doc and stripped.startswith("--"):
            doc.append(stripped.lstrip("-").strip())
            continue
        in_doc = False
        body.append(text)
    close()
    return entries


def _only(marker: str | None, where: str) -> tuple[str, ...] | None:
    """The dialects of a ``(a, b only)`` marker, in DIALECTS order."""
    if marker is None:
        return None
    named = [d.strip() for d in marker.split(",")]
    for dialect in named:
        if dialect not in DIALECTS:
            raise SQLLoadError(f"{where}: unknown dialect {dialect!r} in ({marker} only)")
    return tuple(d for d in DIALECTS if d in named)


def load(root: Path) -> dict[str, Statement]:
    """Load every named statement under ``root`` (except ``schema/``), for every dialect.

    :raises SQLLoadError: with ``file:line`` on any problem, including a statement that
        lacks a variant for some dialect
    """
    portable: dict[str, tuple[str, str, str]] = {}
    variants: dict[str, dict[str, tuple[str, str, str]]] = {}
    only: dict[str, tuple[str, ...]] = {}
    for path in sorted(root.rglob("*.sql")):
        if path.relative_to(root).parts[0] == "schema":
            continue
        namespace, dialect = _split_name(root, path)
        for name, doc, line, sql, only_dialects in parse_file(path, namespace):
            full = f"{namespace}.{name}"
            where = f"{path.relative_to(root.parent)}:{line}"
            if only_dialects is not None:
                marker = f"({', '.join(only_dialects)} only)"
                if dialect is not None and dialect not in only_dialects:
                    raise SQLLoadError(f"{where}: statement {full} is {marker} in a {dialect} file")
                if only.setdefault(full, only_dialects) != only_dialects:
                    raise SQLLoadError(f"{where}: statement {full} is {marker} here and not elsewhere")
            if dialect is None:
                portable[full] = (doc, where, sql)
            else:
                variants.setdefault(full, {})[dialect] = (doc, where, sql)
    for full, dialects in only.items():
        for dialect, (_, where, _) in variants.get(full, {}).items():
            if dialect not in dialects:
                raise SQLLoadError(f"{where}: statement {full} is ({', '.join(dialects)} only) in a {dialect} file")
    statements: dict[str, Statement] = {}
    for full in sorted(set(portable) | set(variants)):
        compiled: dict[str, Compiled] = {}
        sources: dict[str, str] = {}
        base = portable.get(full)
        for dialect in only.get(full, DIALECTS):
            entry = variants.get(full, {}).get(dialect) or base
            if entry is None:
                where = next(iter(variants[full].values()))[1]
                raise SQLLoadError(f"{where}: statement {full} has no {dialect} variant and no portable text")
            try:
                compiled[dialect] = convert(entry[2], dialect)  # type: ignore[arg-type]
            except StatementError as exc:
                raise SQLLoadError(f"{entry[1]}: statement {full}: {exc}") from exc
            sources[dialect] = entry[1]
        _same_parameters(full, compiled, sources)
        doc, where, _ = base or next(iter(variants[full].values()))
        statements[full] = Statement(full, doc, where, compiled, sources)
    return statements


def _same_parameters(full: str, compiled: dict[str, Compiled], sources: dict[str, str]) -> None:
    """Every dialect's text of a statement takes the same parameters: callers name them once, for any backend."""
    takes = {dialect: sorted(set(c.names)) for dialect, c in compiled.items()}
    first, *others = takes
    for dialect in others:
        if takes[dialect] != takes[first]:
            raise SQLLoadError(
                f"{sources[dialect]}: statement {full} takes {takes[dialect]} on {dialect} but {takes[first]} on "
                f"{first} ({sources[first]}); every dialect's text of a statement takes the same parameters"
            )


@functools.cache
def registry() -> dict[str, Statement]:
    """Every statement shipped with rawdb, loaded on first use."""
    return load(sql_root())
