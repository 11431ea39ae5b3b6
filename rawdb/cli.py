"""The ``rawdb`` command: ``rawdb schema bootstrap|status|check``, ``rawdb cache …`` and ``rawdb bench``.

Errors are printed as one line saying what to do (``-v`` shows the traceback).
Exit codes: 0 success, 1 drift found (``check``) or a database error, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rawdb import errors, schema
from rawdb.database import DEFAULT_URL, Database, connect, resolve_url
from rawdb.glance import cache_cli


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


async def _bootstrap(db: Database, args: argparse.Namespace) -> int:
    applied = await schema.bootstrap(db, args.service)
    names = [f"{m.version:04d}_{m.name}" for m in applied]
    text = (
        f"{args.service} schema on {db.url_safe}: applied {', '.join(names)}"
        if names
        else f"{args.service} schema on {db.url_safe}: up to date, nothing applied"
    )
    _print(args, {"service": args.service, "url": db.url_safe, "applied": names}, text)
    return 0


async def _status(db: Database, args: argparse.Namespace) -> int:
    versions = await schema.status(db, args.service)
    lines = [f"{args.service} schema on {db.url_safe}:"]
    for v in versions:
        state = "applied " + v.applied_at.isoformat(" ", "seconds") if v.applied_at else "NOT APPLIED"
        if v.applied and not v.checksum_ok:
            state += "  (file changed since: checksum mismatch)"
        lines.append(f"  {v.version:04d}_{v.name:<28} {state}")
    current = max((v.version for v in versions if v.applied), default=0)
    lines.append(f"  current version: {current:04d} of {versions[-1].version:04d}")
    _print(
        args,
        {"service": args.service, "url": db.url_safe, "versions": [v.as_dict() for v in versions]},
        "\n".join(lines),
    )
    return 0


async def _check(db: Database, args: argparse.Namespace) -> int:
    report = await schema.check(db, args.service)
    lines = [f"{args.service} schema on {db.url_safe}: {'OK' if report.ok else 'DRIFT'}"]
    lines += [f"  {'!' if p.fatal else '-'} {p}" for p in report.problems]
    _print(args, report.as_dict(), "\n".join(lines))
    return 0 if report.ok else 1


_SCHEMA_COMMANDS: dict[str, tuple[Callable[[Database, argparse.Namespace], Awaitable[int]], str]] = {
    "bootstrap": (_bootstrap, "create or upgrade the service's tables (one transaction, idempotent)"),
    "status": (_status, "list the schema versions and which are applied"),
    "check": (_check, "compare the live tables, columns and indexes with the schema files"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rawdb", description="rawdb: OpenStack database APIs on raw SQL")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("bench", help="time the hot paths against the raw driver and OpenStack (rawdb bench -h)")
    cache_cli.add_parser(commands)
    schema_parser = commands.add_parser("schema", help="bootstrap and inspect a service's schema")
    actions = schema_parser.add_subparsers(dest="action", required=True)
    for name, (_, help_text) in _SCHEMA_COMMANDS.items():
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument("--url", help=f"database URL (default: $RAWDB_URL, else {DEFAULT_URL})")
        action.add_argument("--service", default="glance", choices=schema.services(), help="default: glance")
        action.add_argument("--json", action="store_true", help="print JSON")
    return parser


async def _run(args: argparse.Namespace) -> int:
    if args.command == "cache":
        return await cache_cli.run(args)
    run = _SCHEMA_COMMANDS[args.action][0]
    async with connect(resolve_url(args.url)) as db:
        return await run(db, args)


def _bench(argv: Sequence[str]) -> int:
    try:
        from benchmarks.runner import main as bench
    except ImportError:
        print(
            "rawdb: the benchmark runner lives in the source tree: run `rawdb bench` from a checkout "
            "installed with pip install -e '.[bench]' (or python -m benchmarks there)",
            file=sys.stderr,
        )
        return 2
    return bench(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rawdb`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except errors.RawdbError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"rawdb: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
