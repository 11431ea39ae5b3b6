"""Schema bootstrap, status and drift check, as Python calls (the CLI wraps these).

applied = await schema.bootstrap(db, "glance")     # one transaction, idempotent
for v in await schema.status(db, "glance"): ...
report = await schema.check(db, "glance")          # report.ok is False on drift
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.database import Database
from rawdb.schema.check import CheckReport, Drift, check
from rawdb.schema.files import Migration, migrations, services
from rawdb.timeutils import utcnow

__all__ = [
    "CheckReport",
    "Drift",
    "Migration",
    "VersionStatus",
    "bootstrap",
    "check",
    "migrations",
    "services",
    "status",
]


@dataclass(frozen=True, slots=True)
class VersionStatus:
    """One schema version: whether it is applied, when, and whether its file still matches."""

    version: int
    name: str
    applied: bool
    applied_at: datetime | None
    checksum_ok: bool | None  # None when not applied

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "applied": self.applied,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "checksum_ok": self.checksum_ok,
        }


def _lock_key(service: str) -> int:
    return zlib.crc32(f"rawdb-schema:{service}".encode())


async def bootstrap(db: Database, service: str) -> list[Migration]:
    """Apply the service's missing schema versions in one transaction; return those applied.

    Idempotent: a second run applies nothing.  Two runs at once are serialised (an
    advisory lock on PostgreSQL, the single writer on SQLite): one applies, the other
    then finds nothing to do, and both succeed.

    :raises SchemaError: an applied version's file has changed since, or the database
        holds a version this rawdb does not know
    :raises DBError: a script failed; nothing was applied
    """
    plan = migrations(service, db.dialect)
    async with db.writer() as tx:
        await tx.fetch("rawdb.schema.bootstrap_lock", key=_lock_key(service))
        await tx.script(db.statement("rawdb.schema.versions_table").compiled(db.dialect).sql, "versions table")
        applied = {r["version"]: r for r in await tx.fetch("rawdb.schema.versions_applied", service=service)}
        _verify(service, plan, applied)
        done: list[Migration] = []
        for migration in plan:
            if migration.version in applied:
                continue
            await tx.script(migration.sql, f"{migration.path.name}")
            await tx.execute(
                "rawdb.schema.versions_record",
                service=service,
                version=migration.version,
                name=migration.name,
                checksum=migration.checksum,
                applied_at=utcnow(),
            )
            done.append(migration)
    return done


def _verify(service: str, plan: list[Migration], applied: dict[int, dict[str, Any]]) -> None:
    known = {m.version: m for m in plan}
    for version, row in applied.items():
        migration = known.get(version)
        if migration is None:
            raise errors.SchemaError(
                f"{service} schema version {version} ({row['name']}) is applied but unknown to this rawdb; "
                "upgrade rawdb"
            )
        if row["checksum"] != migration.checksum:
            raise errors.SchemaError(
                f"{service} schema version {version} was applied from a different {migration.path.name} "
                "(checksum mismatch); the file must not change once released"
            )


async def status(db: Database, service: str) -> list[VersionStatus]:
    """Every schema version of the service, applied or not."""
    plan = migrations(service, db.dialect)
    async with db.reader() as tx:
        applied: dict[int, dict[str, Any]] = {}
        if await tx.fetchval("rawdb.schema.versions_table_exists"):
            applied = {r["version"]: r for r in await tx.fetch("rawdb.schema.versions_applied", service=service)}
    result = []
    for migration in plan:
        row = applied.get(migration.version)
        result.append(
            VersionStatus(
                migration.version,
                migration.name,
                row is not None,
                row["applied_at"] if row else None,
                (row["checksum"] == migration.checksum) if row else None,
            )
        )
    return result
