"""Loading the nova dataset (``rawdb.bench.nova_seed``) into a database, in bulk, once.

    await load_nova(db, plan)                        # rawdb's nova schema (bootstrapped here)
    await load_nova(peer_db, plan, name="nova34")    # a database nova's own db sync made

The rows go in with COPY on PostgreSQL and multi-row INSERTs on SQLite and MySQL/MariaDB, in
one transaction that also records the dataset's fingerprint in ``rawdb_bench_datasets`` (as the
glance seeder does, through ``rawdb.bench.seed.seeding``); a database that already holds the
dataset (same fingerprint, same row counts) is left as it is.  Only the columns the target
table has are loaded, so nova 34's schema (no ``scheduled_at``; ``hidden``, ``compute_id`` and
the like left to their defaults) takes the very rows rawdb's Newton schema takes.

Large loads (5,000 instances and more) drop the secondary indexes and the foreign keys of the
loaded tables first and rebuild them from the catalog's own definitions afterwards, inside the
load's transaction (PostgreSQL; SQLite its CREATE INDEX indexes); unique indexes and keys stay,
since other tables' foreign keys hang on them.  MySQL keeps everything (InnoDB needs the indexes
of its foreign keys).  Then ANALYZE.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from rawdb import errors, schema
from rawdb.backends.postgresql import PgConnection
from rawdb.bench.nova_rows import plan_rows
from rawdb.bench.nova_seed import COLUMNS, TABLES, Plan, counts, fingerprint
from rawdb.bench.seed import FORGET, RECORD, RECORDED, seeding
from rawdb.context import Context
from rawdb.database import Database
from rawdb.statement import Dialect, Statement, convert
from rawdb.timeutils import utcnow

__all__ = ["REBUILD_FROM", "Progress", "load_nova"]

Progress = Callable[[str, int, int], None]
Row = tuple[Any, ...]

REBUILD_FROM = 5_000  # instances; smaller loads keep the indexes (faster there)
_SQLITE_VALUES = 999  # bound values per INSERT on SQLite (as the glance seeder)
_MYSQL_BYTES = 2_000_000  # about this much SQL text per INSERT on MySQL (max_allowed_packet: 16 MiB)
_WIDE = {"instance_info_caches": 4000, "instance_extra": 1500, "instances": 700}  # bytes a row, roughly
_PROGRESS_EVERY = 20_000
# rawdb's connections read and write INET as text, which COPY's binary format cannot take: a few
# thousand rows, inserted instead (bound values per INSERT within PostgreSQL's 32,767).
_NO_COPY = frozenset({"security_group_rules"})
_PG_VALUES = 30_000
# Rows an n_create leaves behind if a run was cut short are cleared with the dataset.
_CLEARED = (*TABLES, "instance_id_mappings")


def _only(dialect: Dialect, name: str, sql: str, doc: str) -> Statement:
    return Statement(name, doc, "<python>", {dialect: convert(sql, dialect)})


_COLUMNS_OF = {
    "postgresql": _only(
        "postgresql",
        "bench.nova.columns",
        "SELECT column_name AS name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = :table",
        "The columns of a table of the current schema.",
    ),
    "mysql": _only(
        "mysql",
        "bench.nova.columns",
        "SELECT column_name AS name FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = :table",
        "The columns of a table of the current database.",
    ),
    "sqlite": _only(
        "sqlite", "bench.nova.columns", "SELECT name FROM pragma_table_info(:table)", "The columns of a table."
    ),
}
_COUNTS = Statement.portable(
    "bench.nova.counts",
    "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t}) AS {t}" for t in TABLES),
    "Rows per table of the nova dataset.",
)
_CLEAR = {
    # CASCADE: nova's other tables (faults, actions, block devices …) hang on instances; a bench database has none
    "postgresql": f"TRUNCATE {', '.join(_CLEARED)} CASCADE",
    "sqlite": "".join(f"DELETE FROM {t};\n" for t in reversed(_CLEARED)),
    "mysql": "SET SESSION foreign_key_checks = 0;\n"
    + "".join(f"TRUNCATE TABLE {t};\n" for t in reversed(_CLEARED))
    + "SET SESSION foreign_key_checks = 1",
}
_SEQUENCES = "\n".join(
    f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {t}), false);"
    for t in TABLES
    if "id" in COLUMNS[t]
)
_PG_DETACH = _only(
    "postgresql",
    "bench.nova.pg_detach",
    """SELECT format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, t.relname, c.conname) AS drop_sql,
              format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
                     n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid)) AS create_sql, 2 AS rank
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = current_schema() AND t.relname = ANY(:tables) AND c.contype = 'f'
       UNION ALL
       SELECT format('DROP INDEX %I.%I', n.nspname, ic.relname), pg_get_indexdef(i.indexrelid), 1
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = current_schema() AND t.relname = ANY(:tables)
         AND NOT i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
       ORDER BY rank, drop_sql""",
    "The foreign keys and the plain (not unique) indexes of the given tables: how to drop and re-create each.",
)
_SQLITE_DETACH = _only(
    "sqlite",
    "bench.nova.sqlite_detach",
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ANY(:tables) "
    "AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
    "The plain indexes of the given tables made by CREATE INDEX (other tables' foreign keys need the unique ones).",
)
_ANALYZE = {
    "postgresql": f"ANALYZE {', '.join(TABLES)}",
    "sqlite": "ANALYZE",
    "mysql": f"ANALYZE TABLE {', '.join(TABLES)}",
}


def _sqlite_stamp(value: datetime) -> str:
    # As rawdb's SQLite adapter (and SQLAlchemy) store DATETIME: always six fractional digits.
    return value.isoformat(" ", "microseconds")


def _same(value: datetime) -> datetime:
    return value


async def _columns(tx: Context) -> dict[str, tuple[int, ...]]:
    """Per table, the positions (in COLUMNS order) of the columns the database's table has.

    :raises Invalid: a table is missing, or lacks a column every nova schema has
    """
    kept: dict[str, tuple[int, ...]] = {}
    for table in TABLES:
        present = {str(row["name"]).lower() for row in await tx.fetch(_COLUMNS_OF[tx.dialect], table=table)}
        if not present:
            raise errors.Invalid(f"{tx.db.url_safe} has no {table} table: not a nova database")
        kept[table] = tuple(k for k, column in enumerate(COLUMNS[table]) if column in present)
        missing = {"id", "uuid", "instance_uuid", "deleted"} & (set(COLUMNS[table]) - present)
        if missing:
            raise errors.Invalid(f"{table} of {tx.db.url_safe} has no {', '.join(sorted(missing))} column")
    return kept


def _projected(rows: Iterable[Row], positions: tuple[int, ...], width: int) -> Iterable[Row]:
    if len(positions) == width:
        return rows
    pick = positions
    return (tuple(row[k] for k in pick) for row in rows)


@functools.cache
def _insert_statement(table: str, columns: tuple[str, ...], rows: int, dialect: Dialect) -> Statement:
    width = len(columns)
    values = ", ".join(
        "(" + ", ".join(f":v{row * width + column}" for column in range(width)) + ")" for row in range(rows)
    )
    quote = "`" if dialect == "mysql" else '"'  # `key` and `value` are reserved words on MySQL
    names = ", ".join(f"{quote}{column}{quote}" for column in columns)
    sql = f"INSERT INTO {table} ({names}) VALUES {values}"
    return Statement(
        f"bench.nova.insert_{table}", f"{rows} rows into {table}.", "<python>", {dialect: convert(sql, dialect)}
    )


def _reporting(rows: Iterable[Row], table: str, total: int, progress: Progress | None) -> Iterator[Row]:
    if progress is None:
        yield from rows
        return
    for done, row in enumerate(rows, 1):
        yield row
        if not done % _PROGRESS_EVERY:
            progress(table, done, total)


async def _load(tx: Context, plan: Plan, kept: dict[str, tuple[int, ...]], progress: Progress | None) -> None:
    dialect = tx.dialect
    stamp = _sqlite_stamp if dialect == "sqlite" else _same
    conn = tx.transaction.conn if tx.transaction is not None else None
    for table, total, rows in plan_rows(plan, stamp):
        columns = tuple(COLUMNS[table][k] for k in kept[table])
        source = _projected(rows, kept[table], len(COLUMNS[table]))
        if progress is not None:
            progress(table, 0, total)
        if dialect == "postgresql" and table not in _NO_COPY:
            if not isinstance(conn, PgConnection):
                raise errors.Invalid(f"cannot bulk-load through {conn!r}")
            await conn.raw.copy_records_to_table(
                table, records=_reporting(source, table, total, progress), columns=list(columns)
            )
        else:
            if dialect == "mysql":
                batch_size = max(50, min(1000, _MYSQL_BYTES // _WIDE.get(table, 150)))
            elif dialect == "postgresql":
                batch_size = _PG_VALUES // len(columns)
            else:
                batch_size = max(1, _SQLITE_VALUES // len(columns))
            done = 0
            it = iter(source)
            while batch := list(itertools.islice(it, batch_size)):
                values = itertools.chain.from_iterable(batch)
                statement = _insert_statement(table, columns, len(batch), dialect)
                await tx.execute(statement, **{f"v{i}": v for i, v in enumerate(values)})
                done += len(batch)
                if progress is not None and (done % _PROGRESS_EVERY < batch_size or done == total):
                    progress(table, done, total)
        if progress is not None:
            progress(table, total, total)


async def _detach(tx: Context) -> list[str]:
    """Drop the plain indexes and foreign keys of the dataset's tables; return how to rebuild them."""
    if tx.dialect == "postgresql":
        await tx.script("SET LOCAL maintenance_work_mem = '256MB'", "maintenance_work_mem")
        rows = await tx.fetch(_PG_DETACH, tables=list(TABLES))
        for row in rows:
            await tx.script(row["drop_sql"], "drop for the bulk load")
        return [row["create_sql"] for row in rows]
    rows = await tx.fetch(_SQLITE_DETACH, tables=list(TABLES))
    for row in rows:
        await tx.script(f'DROP INDEX "{row["name"]}"', "drop for the bulk load")
    return [row["sql"] for row in rows]


async def _reattach(tx: Context, rebuild: Sequence[str], progress: Progress | None) -> None:
    for done, sql in enumerate(rebuild, 1):
        await tx.script(sql, "rebuild after the bulk load")
        if progress is not None:
            progress("indexes", done, len(rebuild))


async def _counts(tx: Context) -> dict[str, int]:
    row = await tx.fetchrow(_COUNTS)
    assert row is not None
    return {table: int(row[table]) for table in TABLES}


async def load_nova(
    db: Database, plan: Plan, progress: Progress | None = None, *, name: str = "nova", bootstrap: bool = True
) -> bool:
    """Load the plan's rows into ``db`` unless it holds them already; True when it did.

    :param bootstrap: bootstrap rawdb's nova schema first (False: the tables exist, e.g. made
        by nova's own db sync)
    :param name: the dataset's name in ``rawdb_bench_datasets``
    :param progress: called as ``progress(stage, done, total)``: each table in TABLES order,
        then ``"indexes"`` (large loads) and ``"analyze"``
    :raises Invalid: the database holds instances no seeding recorded (nothing is deleted), or
        is not a nova database
    """
    applied = await schema.bootstrap(db, "nova") if bootstrap else []
    expected = counts(plan)
    recorded_as = fingerprint(plan.size, plan.seed)
    async with seeding(db, name) as tx:
        recorded = await tx.fetchval(RECORDED, name=name)
        present = await _counts(tx)
        reused = recorded == recorded_as and present == expected
        if not reused:
            if recorded is None and present["instances"]:
                raise errors.Invalid(
                    f"{db.url_safe} holds {present['instances']} instances that no benchmark seeding recorded; "
                    "refusing to delete them (seed an empty database)"
                )
            await _replace(tx, plan, any(present.values()), name, progress)
    if reused and not applied:
        return False
    if progress is not None:
        progress("analyze", 0, 1)
    await _analyze(db)  # (reused: new indexes on the rows already there need their statistics)
    if progress is not None:
        progress("analyze", 1, 1)
    return not reused


async def _replace(tx: Context, plan: Plan, clear: bool, name: str, progress: Progress | None) -> None:
    """Load the plan's rows in the seeding scope ``tx``, the old dataset cleared first, and record them."""
    db = tx.db
    kept = await _columns(tx)
    await tx.execute(FORGET, name=name)  # (MySQL: commits now) a half-done load is never taken for done
    if clear:
        await tx.script(_CLEAR[db.dialect], "clear the nova dataset")
    await tx.begin()  # MySQL: the load's transaction starts after the DDL
    rebuild = await _detach(tx) if plan.size >= REBUILD_FROM and db.dialect != "mysql" else []
    try:
        await _load(tx, plan, kept, progress)
    except errors.RawdbError:
        raise
    except Exception as exc:
        translated = db.backend.translate(exc)
        if translated is None:
            raise
        raise translated from exc
    if db.dialect == "postgresql":
        await tx.script(_SEQUENCES, "move the id sequences")
    await _reattach(tx, rebuild, progress)
    await tx.execute(RECORD, name=name, fingerprint=fingerprint(plan.size, plan.seed), loaded_at=utcnow())


async def _analyze(db: Database) -> None:
    async with db.writer() as tx:
        await tx.script(_ANALYZE[db.dialect], "analyze the nova tables")
