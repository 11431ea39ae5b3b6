"""Where the benchmark keeps a dataset of its own: next to the database ``--url`` names.

``beside(url, "nova")`` is, on PostgreSQL, the schema ``<search_path>_nova`` of the same
database (``rawdb_bench_nova`` without a search_path), or through PgBouncer
(``pgbouncer=true``, where a URL can carry no search_path) the database ``<db>_nova`` on the
same server; on MySQL/MariaDB the database ``<db>_nova``; on SQLite the file
``<name>.nova<suffix>`` beside it.  ``ensure(db, url)`` creates that schema or database.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rawdb.database import _TRUE, Database, sqlite_path, url_dialect
from rawdb.statement import Statement, convert

__all__ = ["beside", "ensure", "identifier", "through_pgbouncer"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,50}$")
# PostgreSQL only: the datasets' databases are made this way only through PgBouncer.
_DATABASE_EXISTS = Statement(
    "bench.places.database_exists",
    "Whether a PostgreSQL database exists.",
    "<python>",
    {"postgresql": convert("SELECT count(*) > 0 AS found FROM pg_database WHERE datname = :name", "postgresql")},
)


def identifier(name: str) -> str:
    """``name`` if it can name a schema or database as it is.

    :raises ValueError: it cannot
    """
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} cannot name a benchmark database or schema; use plain names")
    return name


def through_pgbouncer(url: str) -> bool:
    """Whether ``url`` is a PostgreSQL URL with ``pgbouncer=true``."""
    query = dict(parse_qsl(urlsplit(url).query))
    return url_dialect(url) == "postgresql" and query.get("pgbouncer", "").lower() in _TRUE


def beside(url: str, tail: str) -> str:
    """The URL of the benchmark's ``tail`` dataset next to the database at ``url``.

    :raises ValueError: a name that would not make an identifier, or an in-memory SQLite database
    """
    dialect = url_dialect(url)
    parts = urlsplit(url)
    if dialect == "sqlite":
        path = sqlite_path(url)
        if path is None:
            raise ValueError(f"the {tail} scenarios need a SQLite file, not an in-memory database")
        file = Path(path)
        name = file.with_name(f"{file.stem}.{tail}{file.suffix or '.sqlite'}")
        prefix = "sqlite:////" if file.is_absolute() else "sqlite:///"
        return prefix + str(name).lstrip("/")
    if dialect == "postgresql" and not through_pgbouncer(url):
        query = parse_qsl(parts.query, keep_blank_values=True)
        current = next((v for k, v in query if k == "search_path"), "").split(",")[0].strip()
        schema = identifier(f"{current}_{tail}" if current else f"rawdb_bench_{tail}")
        kept = [(k, v) for k, v in query if k != "search_path"]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode([*kept, ("search_path", schema)]), ""))
    database = parts.path.lstrip("/") or "rawdb_bench"
    return urlunsplit((parts.scheme, parts.netloc, "/" + identifier(f"{database}_{tail}"), parts.query, ""))


async def ensure(db: Database, url: str) -> None:
    """Create the schema or database ``url`` names (``beside``'s), through ``db`` on the same server."""
    dialect = url_dialect(url)
    if dialect == "sqlite":
        return
    query = dict(parse_qsl(urlsplit(url).query))
    name = identifier(query["search_path"] if "search_path" in query else urlsplit(url).path.lstrip("/"))
    if dialect == "mysql":
        sql = f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
    elif "search_path" in query:
        sql = f"CREATE SCHEMA IF NOT EXISTS {name}"
    else:  # a database of its own (PostgreSQL has no CREATE DATABASE IF NOT EXISTS)
        async with db.context(is_admin=True).reader() as rx:
            if await rx.fetchval(_DATABASE_EXISTS, name=name):
                return
        sql = f'CREATE DATABASE "{name}"'
    async with db.context(is_admin=True).writer(autocommit=True) as tx:
        await tx.script(sql, "a benchmark dataset's database")
