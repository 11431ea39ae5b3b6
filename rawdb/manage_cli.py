"""``rawdb db archive|purge`` and ``rawdb quota check|sync``: the database jobs of nova-manage,
cinder-manage and glance-manage.

Each command works on a service schema that is bootstrapped (exit 4 otherwise, creating
nothing; ``db archive``: 3), prints a summary table on stdout (``--json``: one JSON document
instead), and draws a progress line on stderr while it runs when stderr is a terminal (rows
moved for ``db``, projects done for ``quota``).  ``--dry-run`` counts what the same command
without it would do and changes nothing.  Exit codes beyond :class:`rawdb.console.Exit`'s, as
nova-manage and cinder-manage: ``db archive`` exits 1 when it archived rows and more remain and
3 on any error (no database file or schema, an error rawdb did not expect included: 1 would
tell a cron job to run it again); ``quota check`` exits 1 when a usage row is out of sync.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from rawdb import errors, schema
from rawdb.console import Exit, NotThere, UsageError
from rawdb.context import Context
from rawdb.database import DEFAULT_URL, Database, connect, resolve_url, sqlite_path

ARCHIVE_MORE = 1  # `db archive`: rows were archived and more remain (run it again)
ARCHIVE_FAILED = 3  # `db archive`: an error, as nova-manage's 3
OUT_OF_SYNC = 1  # `quota check`: a usage row differs from what is in use

MAX_ROWS = 2**31 - 1  # nova-manage's cap on --max_rows (oslo.db's MAX_INT)
ARCHIVE_MAX_ROWS = 1000  # nova-manage's default batch
GLANCE_AGE, GLANCE_IMAGES_AGE, GLANCE_MAX_ROWS = 30, 180, 100  # glance-manage's defaults

Progress = Callable[[str, int], None]


def parse_before(text: str) -> datetime:
    """A naive UTC datetime from ``2024-05-01``, ``2024-05-01 12:00[:00]``, ``2024-05-01T12:00:00Z``
    or with an offset (converted to UTC).

    :raises argparse.ArgumentTypeError: not an ISO date or datetime
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (give YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS], UTC unless an offset is given)"
        ) from None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _int_between(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: {what}")
        return value

    parse.__name__ = "number"  # argparse names the type in its messages
    return parse


_archive_rows = _int_between(1, MAX_ROWS, f"give 1 to {MAX_ROWS}")
_glance_rows = _int_between(-1, MAX_ROWS, f"give -1 (no limit) to {MAX_ROWS}")
_age = _int_between(0, MAX_ROWS, "give 0 or more days")


class ProgressLine:
    """A progress line redrawn with ``\\r`` on a terminal: the rows moved so far in the table at
    work and in all.  Call it as ``progress(table, rows)`` after each batch, or ``step(item, of,
    unit)`` after each item of a known number (quota: a project); ``close()`` erases it.
    """

    def __init__(self, stream: TextIO, verb: str, *, interval: float = 0.1) -> None:
        self.stream, self.verb, self.interval = stream, verb, interval
        self.rows: dict[str, int] = {}
        self.total = 0
        self._width = 0  # of the line drawn last, to blank what a shorter line leaves
        self._drawn_at = -float("inf")

    def __call__(self, table: str, rows: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.total += rows
        if self._due():
            self._draw(f"{self.verb}: {table} {self.rows[table]} row(s), {self.total} in all")

    def step(self, item: str, of: int, unit: str) -> None:
        """One more of ``of`` items done, ``item`` the last: ``verb: 3 of 12 project(s) (p3)``."""
        self.total += 1
        if self._due():
            self._draw(f"{self.verb}: {self.total} of {of} {unit} ({item})")

    def _due(self) -> bool:
        """Whether to redraw now (at most once per ``interval`` seconds)."""
        now = time.monotonic()
        if now - self._drawn_at < self.interval:
            return False
        self._drawn_at = now
        return True

    def _draw(self, line: str) -> None:
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def close(self) -> None:
        """Blank the line, so the summary that follows stands alone."""
        if self._width:
            self._draw("")
            self.stream.write("\r")
            self.stream.flush()
            self._width = 0


def progress_line(args: argparse.Namespace, verb: str, stream: TextIO | None = None) -> ProgressLine | None:
    """A ProgressLine on ``stream`` (stderr) when it is a terminal and ``--json`` is not given, else None."""
    stream = sys.stderr if stream is None else stream
    if args.json or stream is None or not stream.isatty():
        return None
    return ProgressLine(stream, verb)


def summary_table(counts: Mapping[str, int], heading: str) -> str:
    """``Table | heading`` rows in the order given and a Total row, aligned."""
    width = max([len("Table"), len("Total"), *map(len, counts)])
    number = max(len(heading), len(str(sum(counts.values()))))
    lines = [f"{'Table':<{width}}  {heading:>{number}}", f"{'-' * width}  {'-' * number}"]
    lines += [f"{name:<{width}}  {rows:>{number}}" for name, rows in counts.items()]
    lines.append(f"{'Total':<{width}}  {sum(counts.values()):>{number}}")
    return "\n".join(lines)


def _emit(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else "\n".join(lines))


def _when(before: datetime | None) -> str:
    return f" deleted before {before.isoformat(' ')}" if before else ""


def _nonzero(counts: Mapping[str, int]) -> dict[str, int]:
    """The tables with rows, in the order given (glance's purges list every table they visited)."""
    return {table: rows for table, rows in counts.items() if rows}


async def _counted(
    job: Callable[[Progress | None], Awaitable[dict[str, int]]], progress: ProgressLine | None
) -> dict[str, int]:
    """``job(progress)``'s tables with rows, the progress line erased after it, whatever happens."""
    try:
        return _nonzero(await job(progress))
    finally:
        if progress is not None:
            progress.close()


# --- db archive ------------------------------------------------------------------------------


async def _archive(ctx: Context, args: argparse.Namespace) -> int:
    from rawdb.nova import archive

    before: datetime | None = args.before
    data: dict[str, Any] = {
        "service": "nova",
        "url": ctx.db.url_safe,
        "dry_run": args.dry_run,
        "before": before.isoformat() if before else None,
        "max_rows": args.max_rows,
        "until_complete": args.until_complete,
    }
    if args.dry_run:
        return await _archive_dry_run(ctx, args, data)
    archived: dict[str, int] = {}
    batches = 0
    line = progress_line(args, "archiving")

    def progress(table: str, rows: int) -> None:
        nonlocal batches
        batches += 1
        if line is not None:
            line(table, rows)

    # --until-complete is an uncapped run in transactions of at most --max-rows rows, then runs
    # until one moves nothing: capped runs, one per call, would walk the emptied tables and the
    # pre-step's deleted instances again each time.
    cap = None if args.until_complete else args.max_rows
    try:
        while True:
            moved = await archive.archive_deleted_rows(ctx, cap, before, progress=progress, batch=args.max_rows)
            for table, rows in _nonzero(moved).items():
                archived[table] = archived.get(table, 0) + rows
            if not args.until_complete or not any(moved.values()):
                break
    finally:
        if line is not None:
            line.close()
    remaining = None
    if args.until_complete:
        complete = True  # the last run found nothing to move
    else:
        remaining = sum((await archive.archive_deleted_rows_count(ctx, before)).values()) if archived else 0
        complete = remaining == 0
    total = sum(archived.values())
    lines = [f"nova on {ctx.db.url_safe}: archived {total} row(s){_when(before)} in {batches} batch(es)"]
    lines.append(summary_table(archived, "Rows archived") if archived else "Nothing was archived.")
    purged = None
    if args.purge and complete:
        purged = await _counted(
            lambda p: archive.purge_shadow_tables(ctx, before, progress=p), progress_line(args, "purging")
        )
        lines += ["", summary_table(purged, "Rows purged") if purged else "Nothing to purge in the shadow tables."]
    elif args.purge:
        lines.append("The shadow tables were not purged: the archive is not complete.")
    if archived and not complete:
        lines.append(f"{remaining} row(s) remain to archive: run it again, or give --until-complete (exit 1).")
    data.update(archived=archived, total=total, batches=batches, remaining=remaining, complete=complete, purged=purged)
    _emit(args, data, lines)
    return ARCHIVE_MORE if archived and not complete else Exit.OK


async def _archive_dry_run(ctx: Context, args: argparse.Namespace, data: dict[str, Any]) -> int:
    """What the same command without ``--dry-run`` would archive (and ``--purge`` purge then),
    changing nothing: with ``--until-complete`` every row that can move, else what one run of at
    most ``--max-rows`` rows takes."""
    from rawdb.nova import archive

    before: datetime | None = args.before
    counts = _nonzero(await archive.archive_deleted_rows_count(ctx, before))
    remaining: int | None = None
    if args.until_complete:
        would = counts
    else:
        would = _one_run(counts, args.max_rows)
        remaining = sum(counts.values()) - sum(would.values())
    complete = not remaining
    purge = None
    if args.purge and complete:  # what the shadow tables hold already, and what the archive would add
        purge = _nonzero(await archive.purge_shadow_tables_count(ctx, before))
        for table, rows in would.items():
            purge[f"shadow_{table}"] = purge.get(f"shadow_{table}", 0) + rows
    total = sum(would.values())
    data.update(archived=would, total=total, batches=0, remaining=remaining, complete=complete, purged=purge)
    lines = [f"nova on {ctx.db.url_safe}: dry run, nothing changed; would archive {total} row(s){_when(before)}"]
    lines.append(summary_table(would, "Rows to archive") if would else "Nothing to archive.")
    if purge is not None:
        lines += ["", summary_table(purge, "Rows to purge") if purge else "Nothing to purge."]
    elif args.purge:
        lines.append("The shadow tables would not be purged: the archive would not be complete.")
    if remaining:
        lines.append(f"{remaining} row(s) would remain to archive (--max-rows {args.max_rows}; see --until-complete).")
    _emit(args, data, lines)
    return Exit.OK


def _one_run(counts: Mapping[str, int], cap: int) -> dict[str, int]:
    """What one archive run of at most ``cap`` rows takes of ``counts`` (each table's rows that
    can move, in the order a run takes the tables): a run moves all it can of a table before the
    next one, until the cap is reached."""
    taken: dict[str, int] = {}
    left = cap
    for table, rows in counts.items():
        if left == 0:
            break
        taken[table] = min(rows, left)
        left -= taken[table]
    return taken


# --- db purge --------------------------------------------------------------------------------

# option -> the services it applies to (the rest refuse it)
_PURGE_OPTIONS = {
    "before": ("nova",),
    "all": ("nova",),
    "age_in_days": ("glance", "cinder"),
    "max_rows": ("glance",),
    "images": ("glance",),
}


def _check_purge_options(args: argparse.Namespace) -> None:
    """:raises UsageError: an option of another service, or a service's required option missing"""
    for option, services in _PURGE_OPTIONS.items():
        if args.service not in services and getattr(args, option) not in (None, False):
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"{flag} is for --service {' or '.join(services)}, not {args.service}")
    if args.service == "nova" and (args.before is None) == (not args.all):
        raise UsageError("nova's purge needs one of --before DATE (rows deleted before it) or --all")
    if args.service == "cinder" and args.age_in_days is None:
        raise UsageError("cinder's purge needs --age-in-days N")


@dataclass(frozen=True, slots=True)
class _PurgeJob:
    what: str  # the rows it purges, for the summary's first line
    count: Callable[[], Awaitable[dict[str, int]]]  # its dry run
    run: Callable[[Progress | None], Awaitable[dict[str, int]]]
    per_table_cap: int | None = None  # glance-manage's --max_rows: the dry run's counts are capped too


def _nova_purge(ctx: Context, args: argparse.Namespace, data: dict[str, Any]) -> _PurgeJob:
    """nova-manage's ``db purge --before DATE | --all``: rows of the shadow tables."""
    from rawdb.nova import archive

    before: datetime | None = args.before
    data["before"] = before.isoformat() if before else None
    return _PurgeJob(
        f"shadow table row(s){_when(before)}" if before else "shadow table row(s) (all of them)",
        lambda: archive.purge_shadow_tables_count(ctx, before),
        lambda p: archive.purge_shadow_tables(ctx, before, progress=p),
    )


def _cinder_purge(ctx: Context, args: argparse.Namespace, data: dict[str, Any]) -> _PurgeJob:
    """cinder-manage's ``db purge AGE``: rows soft-deleted more than AGE days ago, every table."""
    from rawdb.cinder import maintenance

    age: int = args.age_in_days
    data["age_in_days"] = age
    return _PurgeJob(
        f"row(s) deleted more than {age} day(s) ago",
        lambda: maintenance.purge_deleted_rows_count(ctx, age),
        lambda p: maintenance.purge_deleted_rows(ctx, age, progress=p),
    )


def _glance_purge(ctx: Context, args: argparse.Namespace, data: dict[str, Any]) -> _PurgeJob:
    """glance-manage's ``db purge`` (the image children tables) or, with --images, its
    ``db purge_images_table``; each with glance-manage's default age and per-table row cap."""
    from rawdb.glance import maintenance

    images: bool = args.images
    age: int = args.age_in_days if args.age_in_days is not None else GLANCE_IMAGES_AGE if images else GLANCE_AGE
    max_rows: int = GLANCE_MAX_ROWS if args.max_rows is None else args.max_rows
    data.update(age_in_days=age, max_rows=max_rows, images=images)
    cap = "" if max_rows == -1 else f", at most {max_rows} per table"
    if images:
        return _PurgeJob(
            f"image(s) deleted more than {age} day(s) ago{cap}",
            lambda: maintenance.purge_deleted_rows_from_images_count(ctx, age),
            lambda p: maintenance.purge_deleted_rows_from_images(ctx, age, max_rows, progress=p),
            None if max_rows == -1 else max_rows,
        )
    return _PurgeJob(
        f"image property, location, member and tag row(s) deleted more than {age} day(s) ago{cap}",
        lambda: maintenance.purge_deleted_rows_count(ctx, age),
        lambda p: maintenance.purge_deleted_rows(ctx, age, max_rows, progress=p),
        None if max_rows == -1 else max_rows,
    )


_PURGES: dict[str, Callable[[Context, argparse.Namespace, dict[str, Any]], _PurgeJob]] = {
    "nova": _nova_purge,
    "cinder": _cinder_purge,
    "glance": _glance_purge,
}


async def _purge(ctx: Context, args: argparse.Namespace) -> int:
    data: dict[str, Any] = {"service": args.service, "url": ctx.db.url_safe, "dry_run": args.dry_run}
    job = _PURGES[args.service](ctx, args, data)
    head = f"{args.service} on {ctx.db.url_safe}"
    if args.dry_run:
        counts = _nonzero(await job.count())
        if job.per_table_cap is not None:
            cap = job.per_table_cap
            counts = {table: min(rows, cap) for table, rows in counts.items() if min(rows, cap)}
        data.update(purged=counts, total=sum(counts.values()))
        lines = [f"{head}: dry run, nothing changed; would purge {sum(counts.values())} {job.what}"]
        lines.append(summary_table(counts, "Rows to purge") if counts else "Nothing to purge.")
    else:
        purged = await _counted(job.run, progress_line(args, "purging"))
        data.update(purged=purged, total=sum(purged.values()))
        lines = [f"{head}: purged {sum(purged.values())} {job.what}"]
        lines.append(summary_table(purged, "Rows purged") if purged else "Nothing was purged.")
    _emit(args, data, lines)
    return Exit.OK


# --- quota check and sync --------------------------------------------------------------------


# The projects that quota check and sync walk (rawdb.quota.audit's walk, by the same statement).
_USAGE_PROJECTS = {"nova": "nova.quota.usage_projects", "cinder": "cinder.quota.usage_projects"}


async def _quota(ctx: Context, args: argparse.Namespace) -> int:
    if args.service == "nova":
        from rawdb.nova import quotas as nova_quotas

        check, sync = nova_quotas.quota_usage_check, nova_quotas.quota_usage_sync
    else:
        from rawdb.cinder import quotas as cinder_quotas

        check, sync = cinder_quotas.quota_usage_check, cinder_quotas.quota_usage_sync
    job = check if args.action == "check" else sync
    # One project at a time, as check and sync take them, for the progress line: each call
    # reports its project's rows in the order a call for every project gives them.
    projects = [args.project] if args.project else await _usage_projects(ctx, args.service)
    line = progress_line(args, "checking quota usages" if args.action == "check" else "syncing quota usages")
    rows: list[dict[str, Any]] = []
    try:
        for project in projects:
            rows += await job(ctx, project)
            if line is not None:
                line.step(project, len(projects), "project(s)")
    finally:
        if line is not None:
            line.close()
    head = f"{args.service} quota usages on {ctx.db.url_safe}" + (f", project {args.project}" if args.project else "")
    out = [row for row in rows if not row["in_sync"]]
    data: dict[str, Any] = {"service": args.service, "url": ctx.db.url_safe, "project_id": args.project}
    if args.action == "check":
        data.update(usages=rows, checked=len(rows), out_of_sync=len(out))
        lines = [f"{head}: {len(rows)} checked, {len(out)} out of sync"]
        if rows:
            lines.append(_usage_table(rows, ("recorded", "actual", "reserved", "status")))
        if out:
            lines.append(f"Run rawdb quota sync --service {args.service} to repair them (exit 1).")
    else:
        data.update(repaired=rows)
        lines = [f"{head}: {len(rows)} repaired"]
        if rows:
            lines.append(_usage_table(rows, ("was", "now", "reserved")))
    _emit(args, data, lines)
    return OUT_OF_SYNC if args.action == "check" and out else Exit.OK


async def _usage_projects(ctx: Context, service: str) -> list[str]:
    """The projects that have live usage rows, sorted."""
    async with ctx.reader() as rx:
        return sorted({row["project_id"] for row in await rx.fetch(_USAGE_PROJECTS[service])})


def _usage_table(rows: list[dict[str, Any]], numbers: tuple[str, ...]) -> str:
    """Project, user, resource and the numbers named (recorded/was: in_use; actual/now: actual)."""
    keys = {"recorded": "in_use", "was": "in_use", "actual": "actual", "now": "actual", "reserved": "reserved"}
    status = {True: "ok", False: "OUT OF SYNC"}
    header = ["project", "user", "resource", *numbers]
    cells = [
        [row["project_id"], row["user_id"] or "-", row["resource"]]
        + [status[row["in_sync"]] if name == "status" else str(row[keys[name]]) for name in numbers]
        for row in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *cells]
    return "\n".join(
        "  ".join(
            str(c).rjust(w) if h in keys else str(c).ljust(w) for c, w, h in zip(cols, widths, header, strict=True)
        ).rstrip()
        for cols in lines
    )


# --- the commands ----------------------------------------------------------------------------

Command = Callable[[Context, argparse.Namespace], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class _Command:
    run: Command
    services: tuple[str, ...]
    help: str
    error_exit: int | None = None  # the exit code of an error, where not rawdb's own


_COMMANDS: dict[tuple[str, str], _Command] = {
    ("db", "archive"): _Command(
        _archive,
        ("nova",),
        "move soft-deleted rows into the shadow tables, as nova-manage db archive_deleted_rows "
        "(exit 1: rows were archived and more remain; 3: an error)",
        ARCHIVE_FAILED,
    ),
    ("db", "purge"): _Command(
        _purge,
        ("glance", "nova", "cinder"),
        "delete old soft-deleted rows (glance, cinder) or shadow table rows (nova), as the services' -manage db purge",
    ),
    ("quota", "check"): _Command(
        _quota, ("nova", "cinder"), "compare quota usages with what is in use (exit 1: some are out of sync)"
    ),
    ("quota", "sync"): _Command(_quota, ("nova", "cinder"), "repair the quota usages that are out of sync"),
}

_GROUPS = {
    "db": "archive and purge soft-deleted rows (rawdb db -h)",
    "quota": "check and repair quota usages (rawdb quota -h)",
}
_BEFORE_HELP = "YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] (UTC unless an offset is given)"


def _add_options(action: argparse.ArgumentParser, group: str, name: str) -> None:
    if name == "archive":
        action.add_argument(
            "--max-rows",
            type=_archive_rows,
            default=ARCHIVE_MAX_ROWS,
            metavar="N",
            help=f"rows to archive per run, or per batch with --until-complete (default: {ARCHIVE_MAX_ROWS})",
        )
        action.add_argument(
            "--before", type=parse_before, metavar="DATE", help=f"only rows deleted before this: {_BEFORE_HELP}"
        )
        action.add_argument(
            "--until-complete", action="store_true", help="archive batch after batch until nothing is left (exit 0)"
        )
        action.add_argument(
            "--purge",
            action="store_true",
            help="once nothing is left to archive, purge the shadow tables (--before too)",
        )
    elif name == "purge":
        action.add_argument(
            "--before", type=parse_before, metavar="DATE", help=f"nova: shadow rows deleted before this: {_BEFORE_HELP}"
        )
        action.add_argument("--all", action="store_true", help="nova: every row of the shadow tables")
        action.add_argument(
            "--age-in-days",
            type=_age,
            help=f"glance, cinder: rows deleted more than N days ago (glance's default: {GLANCE_AGE}, "
            f"{GLANCE_IMAGES_AGE} with --images; cinder: required)",
            metavar="N",
        )
        action.add_argument(
            "--max-rows",
            type=_glance_rows,
            help=f"glance: rows per table, -1 for no limit (default: {GLANCE_MAX_ROWS})",
            metavar="N",
        )
        action.add_argument(
            "--images",
            action="store_true",
            help="glance: purge the images table (glance-manage db purge_images_table) instead of its children",
        )
    else:
        action.add_argument("--project", metavar="ID", help="only this project's usages (default: every project)")
    if group == "db":
        action.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")


def add_parsers(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``rawdb db …`` and ``rawdb quota …`` to the ``rawdb`` command's subparsers (``parents``:
    options every command takes); each command's namespace carries its ``parser``."""
    groups = {
        group: commands.add_parser(group, help=text).add_subparsers(dest="action", required=True, metavar="ACTION")
        for group, text in _GROUPS.items()
    }
    for (group, name), command in _COMMANDS.items():
        action = groups[group].add_parser(name, parents=parents, help=command.help, description=command.help)
        action.set_defaults(parser=action, error_exit=command.error_exit)
        action.add_argument("--url", help=f"database URL (default: $RAWDB_URL, else {DEFAULT_URL})")
        action.add_argument("--service", required=True, choices=command.services, help="the service's database")
        action.add_argument("--json", action="store_true", help="print JSON (and draw no progress line)")
        _add_options(action, group, name)


def run(args: argparse.Namespace) -> int:
    """Run one ``rawdb db`` or ``rawdb quota`` command; returns its exit code.

    A command with its own error exit (``db archive``: 3) prints what went wrong and returns it
    for every error but a usage error, rawdb's own errors (``rawdb.cli`` gives those the
    command's code) and a broken pipe.

    :raises UsageError: options that do not go together
    :raises NotThere: no SQLite file at the URL, or the service's schema is not bootstrapped
    """
    command = _COMMANDS[args.command, args.action]
    try:
        return _run(command, args)
    except (UsageError, errors.RawdbError, BrokenPipeError):
        raise  # rawdb.cli reports them (a RawdbError with the command's error_exit)
    except NotThere as exc:
        if command.error_exit is None:
            raise
        print(f"rawdb: {exc}", file=sys.stderr)  # as rawdb.cli says it, with the command's own exit code
        return command.error_exit
    except Exception:
        if command.error_exit is None:
            raise
        traceback.print_exc()  # an error rawdb did not expect: its traceback, and the command's exit code
        return command.error_exit


def _run(command: _Command, args: argparse.Namespace) -> int:
    if args.action == "purge":
        _check_purge_options(args)
    url = resolve_url(args.url)
    path = sqlite_path(url)
    if path is not None and not os.path.exists(path):  # connecting would create it
        raise NotThere(
            f"there is no database at {os.path.abspath(path)} ({url}); "
            f"rawdb schema bootstrap --service {args.service} --url {url} creates it"
        )

    async def connected() -> int:
        async with connect(url) as db:
            await _require_schema(db, args.service)
            return await command.run(db.context(is_admin=True), args)

    return asyncio.run(connected())


async def _require_schema(db: Database, service: str) -> None:
    """:raises NotThere: the service's schema was never bootstrapped on ``db``"""
    if not any(v.applied for v in await schema.status(db, service)):
        raise NotThere(
            f"the {service} schema is not bootstrapped on {db.url_safe}: "
            f"run rawdb schema bootstrap --service {service} --url {db.url_safe}"
        )
