"""The ``rawdb`` command: ``rawdb schema bootstrap|status|check``, ``rawdb db archive|purge``,
``rawdb quota check|sync``, ``rawdb cache …`` and ``rawdb bench``.

Errors are printed as one line saying what to do.  ``-v`` (before or after the subcommand)
adds the traceback and rawdb's log warnings, slow statements included; ``-vv`` logs every
statement.  The exit codes are :class:`rawdb.console.Exit` (and ``rawdb --help``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from importlib import metadata
from typing import Any

import rawdb
from rawdb import errors, manage_cli, schema
from rawdb.bench import options as bench_options
from rawdb.console import Exit, NotThere, UsageError
from rawdb.database import DEFAULT_URL, Database, connect, resolve_url, sqlite_path
from rawdb.glance import cache_cli

EXIT_CODES = """exit codes:
  0    success
  1    a database error, an input the command refused, a declined confirmation,
       or a problem `rawdb bench --check` found; db archive: rows were archived
       and more remain (run it again); quota check: usages are out of sync
  2    bad usage: wrong or missing options (rawdb bench: also output files that
       cannot be written, checked before the run)
  3    schema check: the live schema differs from the schema files (drift);
       db archive: an error (nova-manage's code), the database unreachable included
  4    nothing there: no SQLite file at the URL, the service's schema is not bootstrapped,
       no cache directory at --dir, or --node-url never used the shared cache tables
  5    the database cannot be reached or opened
  130  interrupted (Ctrl-C)
  141  the output's reader went away (| head)
"""


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _bootstrap_hint(service: str, url: str) -> str:
    return f"rawdb schema bootstrap --service {service} --url {url}"


async def _bootstrap(db: Database, args: argparse.Namespace) -> int:
    applied = await schema.bootstrap(db, args.service)
    names = [f"{m.version:04d}_{m.name}" for m in applied]
    text = (
        f"{args.service} schema on {db.url_safe}: applied {', '.join(names)}"
        if names
        else f"{args.service} schema on {db.url_safe}: up to date, nothing applied"
    )
    _print(args, {"service": args.service, "url": db.url_safe, "applied": names}, text)
    return Exit.OK


async def _status(db: Database, args: argparse.Namespace) -> int:
    versions = await schema.status(db, args.service)
    bootstrapped = any(v.applied for v in versions)
    lines = [f"{args.service} schema on {db.url_safe}:"]
    for v in versions:
        state = "applied " + v.applied_at.isoformat(" ", "seconds") if v.applied_at else "NOT APPLIED"
        if v.applied and not v.checksum_ok:
            state += "  (file changed since: checksum mismatch)"
        lines.append(f"  {v.version:04d}_{v.name:<28} {state}")
    current = max((v.version for v in versions if v.applied), default=0)
    lines.append(f"  current version: {current:04d} of {versions[-1].version:04d}")
    if not bootstrapped:
        lines.append(f"  not bootstrapped: run {_bootstrap_hint(args.service, db.url_safe)}")
    _print(
        args,
        {
            "service": args.service,
            "url": db.url_safe,
            "bootstrapped": bootstrapped,
            "versions": [v.as_dict() for v in versions],
        },
        "\n".join(lines),
    )
    return Exit.OK if bootstrapped else Exit.NOT_THERE


async def _check(db: Database, args: argparse.Namespace) -> int:
    if not any(v.applied for v in await schema.status(db, args.service)):
        raise NotThere(
            f"the {args.service} schema is not bootstrapped on {db.url_safe}: "
            f"run {_bootstrap_hint(args.service, db.url_safe)}"
        )
    report = await schema.check(db, args.service)
    lines = [f"{args.service} schema on {db.url_safe}: {'OK' if report.ok else 'DRIFT'}"]
    lines += [f"  {'!' if p.fatal else '-'} {p}" for p in report.problems]
    lines += [f"  note: {note}" for note in report.notes]
    _print(args, report.as_dict(), "\n".join(lines))
    return Exit.OK if report.ok else Exit.DRIFT


SchemaCommand = Callable[[Database, argparse.Namespace], Awaitable[int]]

# name -> (what it does, whether it only reads, help)
_SCHEMA_COMMANDS: dict[str, tuple[SchemaCommand, bool, str]] = {
    "bootstrap": (_bootstrap, False, "create or upgrade the service's tables (one transaction, idempotent)"),
    "status": (_status, True, "list the schema versions and which are applied (exit 4: not bootstrapped)"),
    "check": (_check, True, "compare the live tables, columns and indexes with the schema files (exit 3: drift)"),
}


def _version() -> str:
    try:
        return metadata.version("rawdb")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return rawdb.__version__


def build_parser() -> argparse.ArgumentParser:
    """The ``rawdb`` argument parser; every leaf command's namespace carries its ``parser``."""
    parser = argparse.ArgumentParser(
        prog="rawdb",
        description="rawdb: OpenStack database APIs on raw SQL",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rawdb {_version()}")
    verbose_help = "show tracebacks and rawdb's warnings (slow statements); -vv: every statement"
    parser.add_argument("-v", "--verbose", action="count", default=0, help=verbose_help)
    common = argparse.ArgumentParser(add_help=False)  # -v is accepted after the subcommand too
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=verbose_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    bench_help = "time the hot paths against the raw driver and OpenStack (rawdb bench -h)"
    bench = commands.add_parser("bench", parents=[common], help=bench_help, description=bench_options.DESCRIPTION)
    bench_options.add_arguments(bench)
    bench.set_defaults(parser=bench)

    cache_cli.add_parser(commands, [common])
    manage_cli.add_parsers(commands, [common])

    schema_parser = commands.add_parser("schema", help="bootstrap and inspect a service's schema")
    actions = schema_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, (_, _, help_text) in _SCHEMA_COMMANDS.items():
        action = actions.add_parser(name, parents=[common], help=help_text, description=help_text)
        action.add_argument("--url", help=f"database URL (default: $RAWDB_URL, else {DEFAULT_URL})")
        action.add_argument("--service", required=True, choices=schema.services(), help="the service's schema")
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(parser=action)
    return parser


def _schema(args: argparse.Namespace) -> int:
    run, reads_only, _ = _SCHEMA_COMMANDS[args.action]
    url = resolve_url(args.url)
    path = sqlite_path(url)
    if reads_only and path is not None and not os.path.exists(path):
        # Connecting would create the file: a command that only reads says there is nothing instead.
        raise NotThere(
            f"there is no database at {os.path.abspath(path)} ({url}); {_bootstrap_hint(args.service, url)} creates it"
        )

    async def connected() -> int:
        async with connect(url) as db:
            return await run(db, args)

    return asyncio.run(connected())


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "bench":
        from rawdb.bench.runner import run_command  # the runner's imports are only for `rawdb bench`

        return run_command(args)
    if args.command == "cache":
        return cache_cli.run(args)
    if args.command in ("db", "quota"):
        return manage_cli.run(args)
    return _schema(args)


def _one_line(exc: BaseException) -> str:
    notes = "; ".join(getattr(exc, "__notes__", ()))
    return f"{exc} ({notes})" if notes else str(exc)


def _run(args: argparse.Namespace) -> int:
    """Run the command; print what went wrong as one line and return its exit code."""
    try:
        return int(_dispatch(args))
    except UsageError as exc:
        parser: argparse.ArgumentParser = args.parser
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return Exit.USAGE
    except NotThere as exc:
        print(f"rawdb: {exc}", file=sys.stderr)
        return Exit.NOT_THERE
    except errors.RawdbError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"rawdb: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        error_exit: int | None = getattr(args, "error_exit", None)  # a command's own (db archive: 3)
        if error_exit is not None:
            return error_exit
        return Exit.CANNOT_CONNECT if isinstance(exc, errors.DBConnectionError) else Exit.FAILED


@contextlib.contextmanager
def _logging(verbosity: int) -> Iterator[None]:
    """Slow-statement warnings stay out of the output unless asked for (-v); -vv logs every statement."""
    package, statements = logging.getLogger("rawdb"), logging.getLogger("rawdb.sql")
    saved = package.level, statements.level
    handler: logging.Handler | None = None
    if verbosity:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("rawdb: %(levelname)s %(name)s: %(message)s"))
        package.addHandler(handler)
        package.setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
    else:
        statements.setLevel(logging.ERROR)
    try:
        yield
    finally:
        if handler is not None:
            package.removeHandler(handler)
        package.setLevel(saved[0])
        statements.setLevel(saved[1])


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null, so the interpreter's last flush is silent."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by something without a descriptor (tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rawdb`` console script; returns the exit code (usage errors of
    argparse exit 2 through SystemExit, as argparse does)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv  # as typed, for the records a command keeps (rawdb bench --json)
        with _logging(args.verbose):
            return _run(args)
    except BrokenPipeError:
        _quiet_stdout()
        return Exit.BROKEN_PIPE
    except KeyboardInterrupt:
        return Exit.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
