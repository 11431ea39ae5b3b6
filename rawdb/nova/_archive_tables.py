"""The tables nova archives, their foreign keys, and the per-table statements of an archive run.

Every table here has a ``deleted`` column and a ``shadow_<table>`` with the same columns in
the same order (``tests/nova/test_archive.py`` checks both against the live schema, and that
``REFERENCES`` lists every foreign key the schema has).  The statements are built from these
names only, never from a caller's text: a caller's table name is looked up in ``TABLES``.

A row *may move* when it is soft-deleted (and deleted before ``before``) and no row of a
child table refers to it any more: the foreign keys would refuse its DELETE, and leaving it
lets the other rows of the table move (upstream let the FK error skip the whole table).
"""

from __future__ import annotations

import functools
import graphlib
from typing import Literal

from rawdb.statement import DIALECTS, Compiled, Dialect, Statement, convert

Kind = Literal["ids", "copy", "delete", "move", "count", "purge", "purge_count"]

# Soft-deleted, per table: nova writes deleted = id (0 when live); dns_domains keeps a
# BOOLEAN (no id column) and snapshots a VARCHAR id ('' when live).
DELETED = {"dns_domains": "deleted", "snapshots": "deleted <> ''"}
KEYS = {"dns_domains": "domain"}  # the primary key, where it is not ``id``
STRING_KEYS = frozenset(("dns_domains", "snapshots"))
# The columns copied, where the table has more than its shadow: on MariaDB, quota_usages has
# rawdb's virtual live_user_id (0002_rawdb_quota), which the shadow table has no place for.
COLUMNS = {
    "quota_usages": (
        "created_at, updated_at, deleted_at, id, project_id, resource, in_use, reserved, until_refresh, "
        "deleted, user_id"
    )
}

# Every foreign key of nova's schema: parent -> (child table, child column, parent column).
REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "aggregates": (("aggregate_hosts", "aggregate_id", "id"), ("aggregate_metadata", "aggregate_id", "id")),
    "compute_nodes": (("pci_devices", "compute_node_id", "id"),),
    "console_pools": (("consoles", "pool_id", "id"),),
    "instance_actions": (("instance_actions_events", "action_id", "id"),),
    "instance_groups": (("instance_group_member", "group_id", "id"), ("instance_group_policy", "group_id", "id")),
    "instance_types": (
        ("instance_type_extra_specs", "instance_type_id", "id"),
        ("instance_type_projects", "instance_type_id", "id"),
    ),
    "instances": tuple(
        (child, "instance_uuid", "uuid")
        for child in (
            "block_device_mapping",
            "consoles",
            "fixed_ips",
            "instance_actions",
            "instance_extra",
            "instance_faults",
            "instance_info_caches",
            "instance_metadata",
            "instance_system_metadata",
            "migrations",
            "security_group_instance_association",
            "virtual_interfaces",
        )
    ),
    "quota_usages": (("reservations", "usage_id", "id"),),
    "security_groups": (
        ("security_group_instance_association", "security_group_id", "id"),
        ("security_group_rules", "parent_group_id", "id"),
        ("security_group_rules", "group_id", "id"),
    ),
}

ARCHIVED = frozenset(
    (
        "agent_builds", "aggregate_hosts", "aggregate_metadata", "aggregates", "block_device_mapping",
        "bw_usage_cache", "cells", "certificates", "compute_nodes", "console_pools", "consoles", "dns_domains",
        "fixed_ips", "floating_ips", "instance_actions", "instance_actions_events", "instance_extra",
        "instance_faults", "instance_group_member", "instance_group_policy", "instance_groups",
        "instance_id_mappings", "instance_info_caches", "instance_metadata", "instance_system_metadata",
        "instance_type_extra_specs", "instance_type_projects", "instance_types", "instances", "key_pairs",
        "migrations", "networks", "pci_devices", "project_user_quotas", "provider_fw_rules", "quota_classes",
        "quota_usages", "quotas", "reservations", "s3_images", "security_group_default_rules",
        "security_group_instance_association", "security_group_rules", "security_groups", "services",
        "snapshot_id_mappings", "snapshots", "task_log", "virtual_interfaces", "volume_id_mappings",
        "volume_usage_cache",
    )
)  # fmt: skip
# nova's tables without a shadow table (nothing to archive: archiving them moves 0 rows).
UNSHADOWED = frozenset(
    ("allocations", "console_auth_tokens", "inventories", "resource_provider_aggregates", "resource_providers", "tags")
)


def _children_first() -> tuple[str, ...]:
    """ARCHIVED in an order that puts every child table before the tables it refers to."""
    graph: dict[str, set[str]] = {name: set() for name in sorted(ARCHIVED)}
    for parent, refs in REFERENCES.items():
        graph[parent].update(child for child, _, _ in refs)
    return tuple(graphlib.TopologicalSorter(graph).static_order())


ORDER = _children_first()

# Newton soft-deletes these before archiving them: the rows of instances already deleted
# (instance_actions_events through their action).  What soft-deletes them: PRESTEP in archive.py.
PRESTEP_TABLES = frozenset(("instance_actions", "instance_actions_events", "migrations"))

# The same, as a predicate on a live row (for the dry run, which changes nothing).
_INSTANCE_DELETED = "i.deleted <> 0{before}"
_PENDING = {
    "instance_actions": "EXISTS (SELECT 1 FROM instances i WHERE i.uuid = {a}.instance_uuid AND "
    + _INSTANCE_DELETED
    + ")",
    "migrations": "EXISTS (SELECT 1 FROM instances i WHERE i.uuid = {a}.instance_uuid AND " + _INSTANCE_DELETED + ")",
    "instance_actions_events": (
        "EXISTS (SELECT 1 FROM instance_actions pa JOIN instances i ON i.uuid = pa.instance_uuid "
        "WHERE pa.id = {a}.action_id AND " + _INSTANCE_DELETED + ")"
    ),
}


def key(table: str) -> str:
    return KEYS.get(table, "id")


def _deleted(table: str, alias: str, before: bool) -> str:
    """``alias`` (a row of ``table``) is soft-deleted (before ``:before``)."""
    cut = f" AND {alias}.deleted_at < :before" if before else ""
    return f"{alias}.{DELETED.get(table, 'deleted <> 0')}{cut}"


def _unarchived(table: str, alias: str, dialect: str) -> list[str]:
    """On SQLite, no row of ``shadow_<table>`` has the key of ``alias`` (a row of ``table``).

    Without AUTOINCREMENT (nova's schema has none) SQLite numbers a new row after the highest
    id left in its table, so once an archive has moved the newest rows their ids come back: such
    a row stays in its table (a later run takes it once the shadow row is purged) instead of
    failing its run on the shadow table's primary key.  PostgreSQL's sequences and InnoDB's
    counters never hand an id out twice.
    """
    if dialect != "sqlite":
        return []
    k = key(table)
    return [f"NOT EXISTS (SELECT 1 FROM shadow_{table} s WHERE s.{k} = {alias}.{k})"]


def _free(table: str, alias: str, dialect: str) -> str:
    """``alias`` (a row of ``table``) may move: no row of a child table refers to it any more
    (and its key is not in the shadow table already, see ``_unarchived``)."""
    tests = [
        f"NOT EXISTS (SELECT 1 FROM {child} c{n} WHERE c{n}.{column} = {alias}.{parent_column})"
        for n, (child, column, parent_column) in enumerate(REFERENCES.get(table, ()))
    ]
    return " AND ".join(tests + _unarchived(table, alias, dialect)) or "1 = 1"


def _referenced_columns(table: str) -> str:
    """The key and the columns of ``table`` that child rows refer to."""
    columns = dict.fromkeys([key(table), *(parent_column for _, _, parent_column in REFERENCES.get(table, ()))])
    return ", ".join(f"t.{column}" for column in columns)


def _will_move(table: str, alias: str, before: bool, dialect: str, depth: int = 0) -> str:
    """``alias`` moves in a run without a cap: soft-deleted now (or by Newton's pre-step), and
    every child row that refers to it moves first (the dry run's predicate)."""
    deleted = _deleted(table, alias, before)
    if table in PRESTEP_TABLES:
        cut = " AND COALESCE(i.deleted_at, :now) < :before" if before else ""
        deleted = f"({deleted} OR ({alias}.deleted = 0 AND {_PENDING[table].format(a=alias, before=cut)}))"
    deleted = " AND ".join([deleted, *_unarchived(table, alias, dialect)])
    blocked = []
    for n, (child, column, parent_column) in enumerate(REFERENCES.get(table, ())):
        c = f"c{depth}_{n}"
        inner = _will_move(child, c, before, dialect, depth + 1)
        blocked.append(
            f" AND NOT EXISTS (SELECT 1 FROM {child} {c} WHERE {c}.{column} = {alias}.{parent_column}"
            f" AND NOT COALESCE(({inner}), FALSE))"
        )
    return deleted + "".join(blocked)


def _chosen(table: str, dialect: str) -> str:
    """The rows of a batch, by the keys in ``:keys``; on MariaDB a JSON array read with the key's
    own type (read as text, the keys made it compare every row of the range as a number)."""
    k = key(table)
    if dialect != "mysql":
        return f"{k} BETWEEN :lo AND :hi AND {k} = ANY(:keys)"
    kind = "VARCHAR(255)" if table in STRING_KEYS else "INT"
    return (
        f"{k} BETWEEN :lo AND :hi AND {k} IN (SELECT j.k FROM JSON_TABLE(:keys, '$[*]' COLUMNS (k {kind} PATH '$')) j)"
    )


def _text(table: str, kind: Kind, before: bool, resume: bool, dialect: str) -> str:
    k, shadow = key(table), f"shadow_{table}"
    # The next :n soft-deleted rows after the key :after (from the first when not resuming), in key
    # order: a batch walks the table once per run and never reads again the rows it skipped.
    window = _deleted(table, "t", before) + (f" AND t.{k} > :after" if resume else "")
    cut = " WHERE deleted_at < :before" if before else ""
    columns = COLUMNS.get(table, "*")
    into = f" ({columns})" if table in COLUMNS else ""
    if kind == "ids":  # each key of the window, and whether no child row refers to it
        lock = " FOR UPDATE" if dialect == "mysql" else ""
        free = _free(table, "t", dialect)
        return (
            f"SELECT t.{k} AS k, CASE WHEN {free} THEN 1 ELSE 0 END AS free FROM {table} t "
            f"WHERE {window} ORDER BY t.{k} LIMIT :n{lock}"
        )
    # The range keeps MariaDB on the primary key (it reads the JSON list of keys as a table it
    # would otherwise join the whole table with).
    if kind == "copy":
        chosen = _chosen(table, dialect)
        return f"INSERT INTO {shadow}{into} SELECT {columns} FROM {table} WHERE {chosen}"
    if kind == "delete":
        if dialect == "mysql":  # a join: MariaDB evaluates a single-table DELETE's IN (subquery) row by row
            kind_of_key = "VARCHAR(255)" if table in STRING_KEYS else "INT"
            return (
                f"DELETE t FROM {table} t JOIN JSON_TABLE(:keys, '$[*]' COLUMNS (k {kind_of_key} PATH '$')) j "
                f"ON t.{k} = j.k WHERE t.{k} BETWEEN :lo AND :hi"
            )
        return f"DELETE FROM {table} WHERE {_chosen(table, dialect)}"
    if kind == "move":  # PostgreSQL: one statement, rows never leave the server
        return (
            f"WITH win AS (SELECT {_referenced_columns(table)} FROM {table} t "
            f"WHERE {window} ORDER BY t.{k} LIMIT :n FOR UPDATE), "
            f"batch AS (SELECT t.{k} FROM win t WHERE {_free(table, 't', dialect)}), "
            f"moved AS (DELETE FROM {table} WHERE {k} = ANY(ARRAY(SELECT {k} FROM batch)) RETURNING {table}.*), "
            f"copied AS (INSERT INTO {shadow}{into} SELECT {columns} FROM moved RETURNING 1) "
            f"SELECT (SELECT count(*) FROM win) AS seen, (SELECT max({k}) FROM win) AS last, "
            f"(SELECT count(*) FROM copied) AS moved"
        )
    if kind == "count":
        return f"SELECT count(*) AS n FROM {table} t WHERE {_will_move(table, 't', before, dialect)}"
    if kind == "purge":
        if dialect == "mysql":
            return f"DELETE FROM {shadow}{cut} ORDER BY {k} LIMIT :n"
        if dialect == "postgresql":  # an array: index lookups whatever the statistics say of a fresh shadow table
            return f"DELETE FROM {shadow} WHERE {k} = ANY(ARRAY(SELECT {k} FROM {shadow}{cut} ORDER BY {k} LIMIT :n))"
        return f"DELETE FROM {shadow} WHERE {k} IN (SELECT {k} FROM {shadow}{cut} ORDER BY {k} LIMIT :n)"
    return f"SELECT count(*) AS n FROM {shadow}{cut}"


_DOCS = {
    "ids": "The keys of the next soft-deleted rows of {t}, and which may move (locked on MariaDB).",
    "copy": "Copy rows of {t} to shadow_{t} by key.",
    "delete": "Delete rows of {t} by key (after copying them).",
    "move": "Move those of the next soft-deleted rows of {t} that may move to shadow_{t}.",
    "count": "How many rows of {t} an archive without a cap would move.",
    "purge": "Delete the next rows of shadow_{t}, oldest first.",
    "purge_count": "How many rows of shadow_{t} a purge would delete.",
}


# Where a kind runs: PostgreSQL moves a batch in one statement, the others in three.
_DIALECTS: dict[str, tuple[Dialect, ...]] = {
    "move": ("postgresql",),
    "ids": ("sqlite", "mysql"),
    "copy": ("sqlite", "mysql"),
    "delete": ("sqlite", "mysql"),
}


@functools.cache
def statement(table: str, kind: Kind, before: bool, resume: bool = False) -> Statement:
    """One table's statement of ``kind``, with ``:before`` in it or not, and for a batch after
    the first (``:after``) or not (built once).

    ``table`` must be in ARCHIVED (a KeyError otherwise: never text from a caller).
    """
    if table not in ARCHIVED:
        raise KeyError(table)
    dialects = _DIALECTS.get(kind, DIALECTS)
    variants: dict[str, Compiled] = {
        dialect: convert(_text(table, kind, before, resume, dialect), dialect) for dialect in dialects
    }
    return Statement(
        f"nova.archive.{kind}_{table}{'_before' if before else ''}{'_resume' if resume else ''}",
        _DOCS[kind].format(t=table),
        "dynamic SQL",
        variants,
    )


def params(stmt: Statement, dialect: str, **values: object) -> dict[str, object]:
    """The values among ``values`` that ``stmt`` takes on ``dialect`` (``:now`` and ``:before`` are
    only in some)."""
    names = set(stmt.compiled(dialect).names)
    return {name: value for name, value in values.items() if name in names}
