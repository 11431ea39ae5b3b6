"""``check``: compare a live database with what the schema files produce.

The expected state is not written down twice: the service's scripts are applied to a
scratch copy — a temporary SQLite file, or a temporary PostgreSQL schema inside a
transaction that is rolled back — and both are read back with the same catalog queries.
Tables, columns (type and NOT NULL) and indexes of the service are compared; tables
outside the service (glance's tasks, say) are ignored, and extra columns or indexes on
the service's tables are reported without counting as drift.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from rawdb.context import Context
from rawdb.database import Database, connect
from rawdb.schema.files import migrations

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

    @property
    def ok(self) -> bool:
        return not any(p.fatal for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "dialect": self.dialect,
            "ok": self.ok,
            "problems": [{**asdict(p), "fatal": p.fatal} for p in self.problems],
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
        tables.setdefault(row["table_name"], {})[row["column_name"]] = (
            str(row["type"]).lower(),
            bool(row["not_null"]),
        )
    indexes: dict[str, dict[str, str]] = {}
    for row in await tx.fetch("rawdb.schema.live_indexes"):
        indexes.setdefault(row["table_name"], {})[row["index_name"]] = _normalize_index(row["definition"])
    return tables, indexes


class _Discard(Exception):
    """Rolls back the scratch schema."""


async def _expected(db: Database, service: str) -> Catalog:
    plan = migrations(service, db.dialect)
    if db.dialect == "sqlite":
        async with connect("sqlite:///:memory:") as scratch, scratch.writer() as tx:
            for migration in plan:
                await tx.script(migration.sql, migration.path.name)
            return await _catalog(tx)
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
    return report


def _col(spec: tuple[str, bool]) -> str:
    return f"{spec[0]}{' NOT NULL' if spec[1] else ''}"
