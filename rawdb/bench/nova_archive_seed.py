"""The archive dataset: soft-deleted instances with their children, as nova's instance_destroy leaves them.

    rows = archive_rows(20_000)                 # 20,000 soft-deleted instances and 2,000 live ones
    await load_archive(db, 20_000)              # cleared and loaded, shadow tables emptied

What a ``size`` of N holds, the same on every backend and every run (every value follows
from the row's id):

- N soft-deleted instances (``deleted = id``, ``deleted_at`` a day after ``created_at``) and
  ``live(N)`` live ones (a tenth, at least 10) spread evenly among them in id order;
- per instance 2 metadata rows, 10 system metadata rows (the image and owner keys nova
  copies into every instance), an info cache (nova's JSON for one VIF), a fault, 2 block
  device mappings (the root disk from the image, a volume), a ``create`` action with 2
  events and, for the deleted ones, a ``delete`` action with 1 event;
- the deleted instances' metadata, system metadata, info cache, fault and block device
  mappings soft-deleted with them, their actions and events left live (nova keeps those
  for operators; archiving moves them with their instance);
- per live instance one more metadata row, soft-deleted (a key removed since), which an
  archive moves while its instance stays.

Only the columns the target table has are loaded, so rawdb's schema and nova 34's (made by
its own db sync) take the very same rows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.backends.postgresql import PgConnection
from rawdb.bench.nova_load import _COLUMNS_OF, _insert_statement, _sqlite_stamp
from rawdb.context import Context
from rawdb.database import Database

__all__ = ["COLUMNS", "TABLES", "archive_rows", "expected_shadow", "live", "load_archive"]

Row = tuple[Any, ...]
Progress = Callable[[str, int, int], None]

EPOCH = datetime(2023, 1, 1)
_TIMES = ("created_at", "updated_at", "deleted_at")
COLUMNS: dict[str, tuple[str, ...]] = {
    "instances": (
        "id",
        "uuid",
        *_TIMES,
        "deleted",
        "user_id",
        "project_id",
        "image_ref",
        "power_state",
        "vm_state",
        "task_state",
        "memory_mb",
        "vcpus",
        "root_gb",
        "ephemeral_gb",
        "hostname",
        "host",
        "node",
        "launched_at",
        "terminated_at",
        "display_name",
        "availability_zone",
        "instance_type_id",
        "reservation_id",
        "launched_on",
        "locked",
        "cleaned",
    ),
    "instance_metadata": ("id", "instance_uuid", "key", "value", *_TIMES, "deleted"),
    "instance_system_metadata": ("id", "instance_uuid", "key", "value", *_TIMES, "deleted"),
    "instance_info_caches": ("id", "instance_uuid", "network_info", *_TIMES, "deleted"),
    "instance_faults": ("id", "instance_uuid", "code", "message", "details", "host", *_TIMES, "deleted"),
    "block_device_mapping": (
        "id",
        "instance_uuid",
        "device_name",
        "delete_on_termination",
        "volume_id",
        "volume_size",
        "source_type",
        "destination_type",
        "device_type",
        "disk_bus",
        "boot_index",
        "image_id",
        *_TIMES,
        "deleted",
    ),
    "instance_actions": (
        "id",
        "action",
        "instance_uuid",
        "request_id",
        "user_id",
        "project_id",
        "start_time",
        "finish_time",
        *_TIMES,
        "deleted",
    ),
    "instance_actions_events": (
        "id",
        "event",
        "action_id",
        "start_time",
        "finish_time",
        "result",
        "host",
        *_TIMES,
        "deleted",
    ),
}
TABLES = tuple(COLUMNS)  # parents first: the load order

_META = (("role", "web"), ("owner", "team-{p}"))
_SYSMETA = (
    ("image_base_image_ref", "{image}"),
    ("image_container_format", "bare"),
    ("image_disk_format", "qcow2"),
    ("image_min_disk", "10"),
    ("image_min_ram", "0"),
    ("image_os_distro", "ubuntu"),
    ("image_hw_disk_bus", "virtio"),
    ("owner_project_name", "project-{p}"),
    ("owner_user_name", "user-{p}"),
    ("boot_roles", "member,reader"),
)
_EVENTS = {"create": ("conductor_schedule_and_build_instances", "compute__do_build_and_run_instance")}
_DELETE_EVENTS = ("compute_terminate_instance",)
_PROJECTS = 97


def live(size: int) -> int:
    """Live instances next to ``size`` soft-deleted ones: a tenth, at least 10."""
    return max(10, size // 10)


def _uuid(kind: int, n: int) -> str:
    text = f"{kind:08x}{n:024x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-8{text[17:20]}-{text[20:]}"


def _instances(size: int) -> Iterator[tuple[int, bool]]:
    """(id, deleted) of every instance in id order: live ones spread evenly."""
    total = size + live(size)
    spare = live(size)
    for n in range(1, total + 1):
        yield n, (n * spare) // total == ((n - 1) * spare) // total


def expected_shadow(size: int) -> dict[str, int]:
    """Rows each shadow table holds once the dataset of ``size`` is archived."""
    spare = live(size)
    return {
        "instances": size,
        "instance_metadata": size * len(_META) + spare,
        "instance_system_metadata": size * len(_SYSMETA),
        "instance_info_caches": size,
        "instance_faults": size,
        "block_device_mapping": 2 * size,
        "instance_actions": 2 * size,
        "instance_actions_events": size * (len(_EVENTS["create"]) + len(_DELETE_EVENTS)),
    }


def archive_rows(
    size: int, stamp: Callable[[datetime], Any] = lambda value: value
) -> Iterator[tuple[str, Iterator[Row]]]:
    """``(table, rows)`` in TABLES order, each row in COLUMNS order; ``stamp`` turns datetimes into what
    the backend takes.  Rows are made as they are read: memory does not grow with ``size``."""
    for table in TABLES:
        yield table, _rows(table, size, stamp)


def _rows(table: str, size: int, stamp: Callable[[datetime], Any]) -> Iterator[Row]:
    counter = itertools.count(1)
    for n, deleted in _instances(size):
        created = EPOCH + timedelta(seconds=60 * n)
        gone = created + timedelta(days=1)
        uuid = _uuid(1, n)
        project = f"project-{n % _PROJECTS:03d}"
        when = stamp(created)
        dead = stamp(gone) if deleted else None

        def soft(row_id: int, when: Any = when, dead: Any = dead, deleted: bool = deleted) -> tuple[Any, ...]:
            # created_at, updated_at, deleted_at, deleted: soft-deleted with a deleted instance
            return (when, dead, dead, row_id if deleted else 0)

        if table == "instances":
            yield (
                n,
                uuid,
                when,
                dead,
                dead,
                n if deleted else 0,
                f"user-{n % 7}",
                project,
                _uuid(2, n % 50),
                0 if deleted else 1,
                "deleted" if deleted else "active",
                None,
                2048,
                2,
                20,
                0,
                f"vm-{n}",
                f"compute-{n % 40:02d}",
                f"compute-{n % 40:02d}.example.org",
                when,
                dead,
                f"vm-{n}",
                "nova",
                1,
                f"r-{n:08x}",
                f"compute-{n % 40:02d}",
                False,
                1 if deleted else 0,
            )
        elif table == "instance_metadata":
            for key, value in _META:
                row_id = next(counter)
                yield (row_id, uuid, key, value.format(p=n % _PROJECTS), *soft(row_id))
            if not deleted:  # a key removed since: soft-deleted on its own
                row_id = next(counter)
                yield (row_id, uuid, "old_role", "db", when, when, when, row_id)
        elif table == "instance_system_metadata":
            for key, value in _SYSMETA:
                row_id = next(counter)
                yield (row_id, uuid, key, value.format(p=n % _PROJECTS, image=_uuid(2, n % 50)), *soft(row_id))
        elif table == "instance_info_caches":
            row_id = next(counter)
            yield (row_id, uuid, _network_info(n), *soft(row_id))
        elif table == "instance_faults":
            row_id = next(counter)
            message = "NoValidHost" if n % 3 else "BuildAbortException"
            details = f'Traceback (most recent call last):\n  File "nova/conductor/manager.py"\n{message}: {n}'
            yield (row_id, uuid, 500, message, details, f"compute-{n % 40:02d}", *soft(row_id))
        elif table == "block_device_mapping":
            image = _uuid(2, n % 50)
            row_id = next(counter)
            yield (
                row_id,
                uuid,
                "/dev/vda",
                True,
                None,
                20,
                "image",
                "local",
                "disk",
                "virtio",
                0,
                image,
                *soft(row_id),
            )
            row_id = next(counter)
            volume = _uuid(6, n)
            yield (
                row_id,
                uuid,
                "/dev/vdb",
                False,
                volume,
                50,
                "volume",
                "volume",
                "disk",
                "virtio",
                None,
                None,
                *soft(row_id),
            )
        else:
            yield from _actions(table, n, deleted, uuid, project, created, stamp, counter)


def _network_info(n: int) -> str:
    octet = n % 250 + 1
    vif = {
        "id": _uuid(3, n),
        "address": f"fa:16:3e:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}",
        "type": "ovs",
        "devname": f"tap{_uuid(3, n)[:11]}",
        "network": {
            "id": _uuid(4, n % _PROJECTS),
            "label": "private",
            "bridge": "br-int",
            "subnets": [
                {
                    "cidr": f"10.{n % 200}.{octet}.0/24",
                    "gateway": {"address": f"10.{n % 200}.{octet}.1", "type": "gateway"},
                    "ips": [{"address": f"10.{n % 200}.{octet}.{n % 200 + 10}", "type": "fixed", "floating_ips": []}],
                    "dns": [{"address": "8.8.8.8", "type": "dns"}],
                }
            ],
        },
        "active": True,
    }
    return json.dumps([vif])


def _actions(
    table: str,
    n: int,
    deleted: bool,
    uuid: str,
    project: str,
    created: datetime,
    stamp: Callable[[datetime], Any],
    counter: Iterator[int],
) -> Iterator[Row]:
    """instance_actions or instance_actions_events rows of instance ``n``: never soft-deleted."""
    steps: list[tuple[str, tuple[str, ...], datetime]] = [("create", _EVENTS["create"], created)]
    if deleted:
        steps.append(("delete", _DELETE_EVENTS, created + timedelta(days=1)))
    for k, (action, events, start) in enumerate(steps):
        action_id = 2 * n - 1 + k  # two ids kept per instance: the same on every backend
        finish = start + timedelta(seconds=30)
        if table == "instance_actions":
            next(counter)
            request = f"req-{_uuid(5, action_id)}"
            yield (
                action_id,
                action,
                uuid,
                request,
                f"user-{n % 7}",
                project,
                stamp(start),
                stamp(finish),
                stamp(start),
                stamp(finish),
                None,
                0,
            )
            continue
        for event in events:
            row_id = next(counter)
            yield (
                row_id,
                event,
                action_id,
                stamp(start),
                stamp(finish),
                "Success",
                f"compute-{n % 40:02d}",
                stamp(start),
                stamp(finish),
                None,
                0,
            )


def counts(size: int) -> dict[str, int]:
    """Rows each table holds once the dataset of ``size`` is loaded (live instances included)."""
    spare = live(size)
    shadow = expected_shadow(size)
    return {
        "instances": size + spare,
        "instance_metadata": shadow["instance_metadata"] + spare * len(_META),
        "instance_system_metadata": (size + spare) * len(_SYSMETA),
        "instance_info_caches": size + spare,
        "instance_faults": size + spare,
        "block_device_mapping": 2 * (size + spare),
        "instance_actions": 2 * size + spare,
        "instance_actions_events": shadow["instance_actions_events"] + spare * len(_EVENTS["create"]),
    }


# --- loading ------------------------------------------------------------------------------------------

_SHADOWS = tuple(f"shadow_{table}" for table in TABLES)
_CLEAR = {
    # CASCADE: nova's other tables hang on instances (instance_extra …); a bench database has nothing there
    "postgresql": f"TRUNCATE {', '.join((*TABLES, *_SHADOWS))} CASCADE",
    "sqlite": "".join(f"DELETE FROM {t};\n" for t in (*reversed(TABLES), *_SHADOWS)),
    "mysql": "SET SESSION foreign_key_checks = 0;\n"
    + "".join(f"TRUNCATE TABLE {t};\n" for t in (*reversed(TABLES), *_SHADOWS))
    + "SET SESSION foreign_key_checks = 1",
}
_ANALYZE = {
    "postgresql": f"ANALYZE {', '.join((*TABLES, *_SHADOWS))}",
    "sqlite": "ANALYZE",
    "mysql": f"ANALYZE TABLE {', '.join(TABLES)}",
}
_SQLITE_VALUES = 999  # bound values per INSERT on SQLite (as rawdb.bench.nova_load)
_MYSQL_ROWS = 1000  # rows per INSERT on MySQL (an info cache is under 1 KB: well within max_allowed_packet)
_PROGRESS_EVERY = 50_000


async def _positions(tx: Context) -> dict[str, tuple[int, ...]]:
    """Per table, the positions (in COLUMNS order) of the columns the database's table has.

    :raises Invalid: a table or its shadow is missing (not a nova database)
    """
    kept: dict[str, tuple[int, ...]] = {}
    for table in (*TABLES, *_SHADOWS):
        present = {str(row["name"]).lower() for row in await tx.fetch(_COLUMNS_OF[tx.dialect], table=table)}
        if not present:
            raise errors.Invalid(f"{tx.db.url_safe} has no {table} table: not a nova database")
        if table in COLUMNS:
            kept[table] = tuple(k for k, column in enumerate(COLUMNS[table]) if column in present)
    return kept


def _counted(rows: Iterable[Row], table: str, total: int, progress: Progress | None) -> Iterator[Row]:
    for done, row in enumerate(rows, 1):
        yield row
        if progress is not None and not done % _PROGRESS_EVERY:
            progress(table, done, total)


async def load_archive(db: Database, size: int, progress: Progress | None = None) -> None:
    """Empty the dataset's tables and their shadow tables in ``db`` (a nova database: rawdb's
    schema bootstrapped, or nova's own db sync) and load the dataset of ``size``; then ANALYZE.

    :param progress: called as ``progress(table, done, total)`` while the rows go in
    :raises Invalid: ``db`` is not a nova database
    """
    total = counts(size)
    # No rawdb_bench_datasets here (nothing to record: an archive consumes the dataset), and no
    # table nova's models lack: nova 34's archive walks every table of the database.
    async with db.context(is_admin=True).writer(autocommit=True) as tx:
        kept = await _positions(tx)
        await tx.script(_CLEAR[db.dialect], "clear the archive dataset")
        await tx.begin()  # the load's one transaction starts after the DDL (MySQL's TRUNCATE commits)
        stamp = _sqlite_stamp if db.dialect == "sqlite" else (lambda value: value)
        for table, rows in archive_rows(size, stamp):
            positions = kept[table]
            columns = tuple(COLUMNS[table][k] for k in positions)
            width = len(COLUMNS[table])
            source = rows if len(positions) == width else (tuple(row[k] for k in positions) for row in rows)
            await _insert(tx, table, columns, _counted(source, table, total[table], progress))
            if progress is not None:
                progress(table, total[table], total[table])
    async with db.writer() as tx:
        await tx.script(_ANALYZE[db.dialect], "analyze the archive dataset")


async def _insert(tx: Context, table: str, columns: tuple[str, ...], rows: Iterator[Row]) -> None:
    dialect = tx.dialect
    if dialect == "postgresql":
        conn = tx.transaction.conn if tx.transaction is not None else None
        if not isinstance(conn, PgConnection):
            raise errors.Invalid(f"cannot bulk-load through {conn!r}")
        await conn.raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    size = _MYSQL_ROWS if dialect == "mysql" else max(1, _SQLITE_VALUES // len(columns))
    while batch := list(itertools.islice(rows, size)):
        statement = _insert_statement(table, columns, len(batch), dialect)
        values = itertools.chain.from_iterable(batch)
        await tx.execute(statement, **{f"v{i}": v for i, v in enumerate(values)})
