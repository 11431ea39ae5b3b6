"""``check``: compare a live database with what the schema files produce.

The expected state is not written down twice: the service's scripts are applied to a
scratch copy — a temporary SQLite file, a temporary PostgreSQL schema inside a transaction
that is rolled back, or on MySQL/MariaDB (where DDL cannot be rolled back) a scratch
database ``rawdb_check_<hex>`` next to the live one, dropped at the end, which needs the
right to create and drop it — and both are read back with the same catalog queries.
Tables, columns (type and NOT NULL) and indexes of the service are compared; tables
outside the service (glance's tasks, say) are ignored, and extra columns or indexes on
the service's tables are reported without counting as drift.

On MySQL a column's type includes its collation and, for a generated column, its
expression: a column OpenStack made (``utf8mb3_general_ci``, ``DATETIME``) differs from
rawdb's (``utf8mb4_nopad_bin``, ``DATETIME(6)``), and the report's notes say so.  For
glance, bootstrap's ``0005_mysql_adopt.sql`` converts such tables (every string column to
utf8mb4 with utf8mb4_nopad_bin, every DATETIME to DATETIME(6), values kept, each table
copied once: adopt with glance stopped); on a database glance-manage made (it has
``alembic_version``), the notes of every later check say what was widened, so that nobody
takes DATETIME(6) for drift from upstream: a compatible change, glance's values and queries
are unchanged.  Indexes InnoDB made by itself for a foreign key are left out (their names
are InnoDB's), and foreign keys and CHECK constraints are not compared, by name or
otherwise, on any dialect.

The MySQL catalog reads (here and in the scripts) are limited by constants to the current
database (``TABLE_SCHEMA = DATABASE()``, plus ``TABLE_NAME = '...'`` where one table is
meant): MariaDB then opens only its tables, where a scan of the whole server would skip a
table another database's DDL holds at that moment (warning 1684, an error in statements
that write under strict sql_mode).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.database import Database, connect
from rawdb.schema.files import Migration, migrations

VERSIONS_TABLE = "rawdb_schema_versions"


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference between the live database and the schema files."""

    kind: str  # missing_table, missing_column, column_differs, missing_index, index_differs,
    #            extra_column, extra_index, version_missing, version_unknown, checksum_mismatch
    table: str
    name: str
    expected: str | None = None
    live: str | None = None

    @property
    def fatal(self) -> bool:
        return not self.kind.startswith("extra_")

    def __str__(self) -> str:
        what = f"{self.kind.replace('_', ' ')}: {self.table}{'.' + self.name if self.name else ''}"
        if self.expected is not None or self.live is not None:
            what += f" (expected {self.expected!r}, found {self.live!r})"
        return what


@dataclass(slots=True)
class CheckReport:
    """The outcome of ``check``: ``ok`` unless a fatal difference was found."""

    service: str
    dialect: str
    problems: list[Drift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the problems mean and what to do

    @property
    def ok(self) -> bool:
        return not any(p.fatal for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "dialect": self.dialect,
            "ok": self.ok,
            "problems": [{**asdict(p), "fatal": p.fatal} for p in self.problems],
            "notes": list(self.notes),
        }


_WS = re.compile(r"\s+")
_SCHEMA_QUALIFIER = re.compile(r" ON [\w\"]+\.")


def _normalize_index(definition: str) -> str:
    text = _SCHEMA_QUALIFIER.sub(" ON ", definition)
    text = text.replace('"', "").replace(" IF NOT EXISTS", "").replace(" if not exists", "")
    return _WS.sub(" ", text).strip().lower()


Catalog = tuple[dict[str, dict[str, tuple[str, bool]]], dict[str, dict[str, str]]]


async def _catalog(tx: Context) -> Catalog:
    tables: dict[str, dict[str, tuple[str, bool]]] = {}
    for row in await tx.fetch("rawdb.schema.live_columns"):
        tables.setdefault(row["table_name"], {})[row["column_name"]] = (_column_type(row), bool(row["not_null"]))
    indexes: dict[str, dict[str, str]] = {}
    for row in await tx.fetch("rawdb.schema.live_indexes"):
        if row.get("foreign_key_index"):
            continue  # (MySQL) InnoDB's own index for a foreign key: named by InnoDB, not by a script
        indexes.setdefault(row["table_name"], {})[row["index_name"]] = _normalize_index(row["definition"])
    return tables, indexes


def _column_type(row: dict[str, Any]) -> str:
    """The type as compared: on MySQL with a string column's collation and a generated column's expression."""
    text = str(row["type"])
    if row.get("collation"):
        text += f" collate {row['collation']}"
    if row.get("expression"):
        text += f" as ({row['expression']})"
    return text.lower()


class _Discard(Exception):
    """Rolls back the scratch schema."""


async def _expected(db: Database, service: str) -> Catalog:
    plan = migrations(service, db.dialect)
    if db.dialect == "sqlite":
        async with connect("sqlite:///:memory:") as scratch, scratch.writer() as tx:
            for migration in plan:
                await tx.script(migration.sql, migration.path.name)
            return await _catalog(tx)
    if db.dialect == "mysql":
        return await _expected_mysql(db, plan)
    result: Catalog | None = None
    try:
        async with db.writer() as tx:
            schema = f"rawdb_check_{secrets.token_hex(6)}"
            await tx.script(f"CREATE SCHEMA {schema}; SET LOCAL search_path TO {schema}", "scratch schema")
            for migration in plan:
                await tx.script(migration.sql, migration.path.name)
            result = await _catalog(tx)
            raise _Discard
    except _Discard:
        pass
    assert result is not None
    return result


# MySQL errors saying the user may not create or drop the scratch database.
_DENIED = frozenset({"1044", "1142", "1227"})


async def _expected_mysql(db: Database, plan: list[Migration]) -> Catalog:
    """MySQL/MariaDB: DDL cannot be rolled back, so the scripts run in a scratch database.

    It is created next to the live one, used by one connection of the pool (which is closed
    afterwards instead of going back, its session having switched databases) and dropped
    at the end, whatever happens.
    """
    scratch = f"rawdb_check_{secrets.token_hex(6)}"
    created = False
    try:
        async with Context(db, is_admin=True).writer(autocommit=True) as tx:
            try:
                live = await tx.fetchval("rawdb.schema.current_database")
                try:
                    await tx.script(
                        f"CREATE DATABASE {scratch} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
                        "check: scratch database",
                    )
                except errors.DBError as exc:
                    if exc.errorname in _DENIED:
                        raise _denied(db, scratch, exc) from exc
                    raise
                created = True
                await tx.script(f"USE {scratch}", "check: scratch database")
                for migration in plan:
                    await tx.script(migration.sql, migration.path.name)
                result = await _catalog(tx)
                await tx.script(f"USE {_quote_name(live)}", "check: back to the live database")
                return result
            except BaseException:
                # Its session may still be in the scratch database: closed, not reused.
                transaction = tx.transaction
                if transaction is not None and transaction.conn is not None:
                    transaction.conn.mark_broken()
                raise
    finally:
        if created:
            async with Context(db, is_admin=True).writer(autocommit=True) as tx:
                try:
                    await tx.script(f"DROP DATABASE IF EXISTS {scratch}", "check: scratch database")
                except errors.DBError as exc:
                    if exc.errorname in _DENIED:
                        raise _denied(db, scratch, exc) from exc
                    raise


def _quote_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _denied(db: Database, scratch: str, exc: errors.DBError) -> errors.SchemaError:
    return errors.SchemaError(
        f"schema check on {db.url_safe} compares the live tables with the schema files applied to a scratch "
        f"database ({scratch}, dropped at the end), and this user may not create or drop it: grant it "
        "ALL on `rawdb\\_check\\_%`.* (CREATE and DROP DATABASE rights on that name pattern only); "
        f"the server said: {exc}"
    )


async def check(db: Database, service: str) -> CheckReport:
    """Compare the live database with the service's schema files.

    :returns: a CheckReport; ``report.ok`` is False when a table, column or index is
        missing or different, or the recorded versions do not match the files
    """
    from rawdb.schema import status

    report = CheckReport(service, db.dialect)
    for version in await status(db, service):
        if not version.applied:
            report.problems.append(Drift("version_missing", VERSIONS_TABLE, f"{version.version:04d}_{version.name}"))
        elif not version.checksum_ok:
            report.problems.append(Drift("checksum_mismatch", VERSIONS_TABLE, f"{version.version:04d}_{version.name}"))

    want_tables, want_indexes = await _expected(db, service)
    async with db.reader() as tx:
        live_tables, live_indexes = await _catalog(tx)
    for table, columns in sorted(want_tables.items()):
        if table == VERSIONS_TABLE:
            continue
        live = live_tables.get(table)
        if live is None:
            report.problems.append(Drift("missing_table", table, ""))
            continue
        for column, spec in columns.items():
            if column not in live:
                report.problems.append(Drift("missing_column", table, column, _col(spec)))
            elif live[column] != spec:
                report.problems.append(Drift("column_differs", table, column, _col(spec), _col(live[column])))
        for column in sorted(set(live) - set(columns)):
            report.problems.append(Drift("extra_column", table, column, None, _col(live[column])))
        want_idx, live_idx = want_indexes.get(table, {}), live_indexes.get(table, {})
        for name, definition in sorted(want_idx.items()):
            if name not in live_idx:
                report.problems.append(Drift("missing_index", table, name, definition))
            elif live_idx[name] != definition:
                report.problems.append(Drift("index_differs", table, name, definition, live_idx[name]))
        for name in sorted(set(live_idx) - set(want_idx)):
            report.problems.append(Drift("extra_index", table, name, None, live_idx[name]))
    if db.dialect == "mysql":
        report.notes = _mysql_notes(report, migrations(service, db.dialect), set(live_tables))
    return report


# The table a service's own schema tool leaves in every database it made (glance-manage's
# alembic): with it, the service's tables were made upstream and an applied adoption step
# converted them.
_UPSTREAM_MARKER = {"glance": "alembic_version"}


_COLLATION = re.compile(r" collate \w+")


def _legacy(drift: Drift) -> bool:
    """A column that differs only in collation or timestamp precision, as OpenStack's MySQL columns do."""
    if drift.kind != "column_differs" or drift.expected is None or drift.live is None:
        return False

    def plain(text: str) -> str:
        return _COLLATION.sub("", text).replace("datetime(6)", "datetime")

    return plain(drift.expected) == plain(drift.live)


def _mysql_notes(report: CheckReport, plan: list[Migration], live_tables: set[str]) -> list[str]:
    service = report.service
    missing = {p.name for p in report.problems if p.kind == "version_missing"}
    adopt = next((m for m in plan if m.name.endswith("_adopt")), None)
    adopt_pending = adopt is not None and f"{adopt.version:04d}_{adopt.name}" in missing
    convert = (
        "every string column to utf8mb4 with utf8mb4_nopad_bin (exact, by code point, as on PostgreSQL; "
        "4-byte characters accepted) and every DATETIME to DATETIME(6) (microseconds kept), values unchanged, "
        f"each table copied once: run it with {service} stopped"
    )
    notes = []
    legacy = [p for p in report.problems if _legacy(p)]
    if legacy:
        what = (
            f"{len(legacy)} column(s) differ only in collation or timestamp precision, as columns {service} made "
            "on MySQL do (utf8mb3_general_ci: case-insensitive, no 4-byte characters; DATETIME: no microseconds)"
        )
        if adopt is None:
            what += (
                f"; rawdb has no conversion step for {service}: convert them with {service} stopped (ALTER TABLE … "
                "CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, MODIFY … DATETIME(6))"
            )
        elif not adopt_pending:
            what += f"; {adopt.path.name} converted them once and they were changed since: convert them again"
        notes.append(what)
    if adopt is not None and adopt_pending:
        notes.append(
            f"{adopt.path.name} is not applied: rawdb schema bootstrap applies it, and on tables {service} made it "
            f"converts {convert}; on tables rawdb made it changes nothing"
        )
    elif adopt is not None and _UPSTREAM_MARKER.get(service) in live_tables and not legacy:
        notes.append(
            f"{service}'s own tools made this database ({_UPSTREAM_MARKER[service]} table) and {adopt.path.name} "
            f"adopted it: it widened every DATETIME of {service}'s tables that rawdb uses to DATETIME(6) "
            "(microseconds kept; the whole seconds stored before are unchanged) and converted their strings to "
            f"utf8mb4 with utf8mb4_nopad_bin (exact, as on PostgreSQL); both are compatible changes: {service} reads "
            "and writes these columns as before.  Its other tables are as it made them"
        )
    return notes


def _col(spec: tuple[str, bool]) -> str:
    return f"{spec[0]}{' NOT NULL' if spec[1] else ''}"
