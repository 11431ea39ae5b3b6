"""Schema bootstrap, status and drift check, as Python calls (the CLI wraps these).

applied = await schema.bootstrap(db, "glance")     # idempotent, serialised
for v in await schema.status(db, "glance"): ...
report = await schema.check(db, "glance")          # report.ok is False on drift
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.database import Database
from rawdb.schema.check import CheckReport, Drift, check
from rawdb.schema.files import Migration, migrations, services
from rawdb.timeutils import utcnow

__all__ = [
    "LOCK_TIMEOUT",
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


# How long a bootstrap waits for another one of the same service to finish (PostgreSQL: its
# advisory lock; MySQL/MariaDB: its named lock; SQLite: the writer's busy timeout applies).
LOCK_TIMEOUT = 600.0


async def bootstrap(db: Database, service: str, *, lock_timeout: float = LOCK_TIMEOUT) -> list[Migration]:
    """Apply the service's missing schema versions; return those applied.

    Idempotent: a second run applies nothing.  Two runs at once are serialised: one
    applies, the other then finds nothing to do, and both succeed.

    On PostgreSQL and SQLite it is one transaction (an advisory lock on PostgreSQL, the
    single writer on SQLite), and a failed script leaves nothing behind.  MySQL/MariaDB
    cannot roll DDL back (it commits implicitly): the runs are serialised by a named lock
    (``GET_LOCK``, per server: point every bootstrap of a Galera cluster at one node), each
    version is recorded right after its script ran, and every script is idempotent, so a run
    that failed or was killed midway leaves the versions before the failed one applied and
    recorded, and a run after it completes the rest.

    :param lock_timeout: seconds to wait for a bootstrap of the same service on the same
        database to finish before giving up with SchemaError (PostgreSQL and MySQL; SQLite
        waits as long as the connection's busy timeout)
    :raises SchemaError: an applied version's file has changed since, the database holds a
        version this rawdb does not know, or another bootstrap held the lock too long
    :raises DBError: a script failed; on PostgreSQL and SQLite nothing was applied, on MySQL
        the failed version (and those after it) were not recorded
    """
    plan = migrations(service, db.dialect)
    if db.dialect == "mysql":
        return await _bootstrap_serialised(db, service, plan, lock_timeout)
    async with db.writer() as tx:
        await _lock(tx, service, lock_timeout)
        return await _apply(tx, service, plan)


async def _lock(tx: Context, service: str, wait: float) -> None:
    """Take the service's bootstrap lock, or raise SchemaError after waiting ``wait`` seconds."""
    held = f"another bootstrap of the {service} schema on {tx.db.url_safe}{{holder}} held its lock for {wait:g} s"
    hint = "; let it finish (or end it) and run bootstrap again"
    try:
        lock = await tx.fetchrow("rawdb.schema.bootstrap_lock", service=service, timeout=wait)
    except errors.DBDeadlock as exc:
        if exc.sqlstate != "55P03":  # PostgreSQL's lock_timeout
            raise
        raise errors.SchemaError(held.format(holder="") + hint) from exc
    if lock is None or lock["locked"] != 1:
        holder = f" (connection {lock['holder']})" if lock and lock["holder"] is not None else ""
        raise errors.SchemaError(held.format(holder=holder) + hint)


async def _bootstrap_serialised(db: Database, service: str, plan: list[Migration], wait: float) -> list[Migration]:
    """MySQL/MariaDB: under a named lock, each statement committing by itself."""
    async with Context(db, is_admin=True).writer(autocommit=True) as tx:
        try:
            await _lock(tx, service, wait)
            done = await _apply(tx, service, plan)
            await tx.fetch("rawdb.schema.bootstrap_unlock", service=service)
        except BaseException:
            # The lock is the session's, and a script stopped midway may leave session state
            # behind (0005_mysql_adopt's foreign_key_checks): the connection is closed, not
            # reused, and closing it releases the lock.
            _discard_connection(tx)
            raise
    return done


def _discard_connection(tx: Context) -> None:
    transaction = tx.transaction
    if transaction is not None and transaction.conn is not None:
        transaction.conn.mark_broken()


async def _apply(tx: Context, service: str, plan: list[Migration]) -> list[Migration]:
    """Create the versions table, then run and record each version not applied yet."""
    db = tx.db
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
