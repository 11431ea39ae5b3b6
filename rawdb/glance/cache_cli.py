"""``rawdb cache``: glance-cache-manage for a cache directory, local or shared.

Without ``--url`` the metadata is the directory's ``cache.db``; with it, the glance
database's shared tables, as the node ``--node-url``.  Every command works on a cache that
exists: a directory that is not one, a shared cache's directory in local mode, or (for the
commands that only read) a node the shared tables do not know is refused before anything is
created.  ``delete --all`` and ``dequeue --all`` ask first on a terminal, unless ``--force``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rawdb import Database, connect, errors
from rawdb.console import Exit, NotThere, UsageError, confirm
from rawdb.glance import cache_db
from rawdb.glance.image_cache import CACHE_DB, Driver

# What the drivers make in a cache directory (glance's and rawdb's alike), and the lock file
# glance's centralized_db driver leaves there once it has moved cache.db into the glance database.
_FOLDERS = ("incomplete", "invalid", "queue")
_GLANCE_MIGRATED = "sqlite_centralized_migrate"

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from ``1048576``, ``500M``, ``10G``, ``1.5GiB``, ``2TB`` (binary units)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1048576, 500M, 10G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def human_size(size: int) -> str:
    """``1.5 GiB`` for 1610612736."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _when(epoch: float) -> str:
    if not epoch:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


async def _list(cache: Driver, args: argparse.Namespace) -> int:
    images = await cache.get_cached_images()
    total = sum(image["size"] for image in images)
    lines = [f"{'ID':36}  {'SIZE':>10}  {'HITS':>6}  {'LAST ACCESSED (UTC)':19}  {'LAST MODIFIED (UTC)':19}"]
    for image in images:
        lines.append(
            f"{image['image_id']:36}  {human_size(image['size']):>10}  {image['hits']:>6}  "
            f"{_when(image['last_accessed']):19}  {_when(image['last_modified']):19}"
        )
    lines.append(f"{len(images)} cached image(s), {human_size(total)}")
    _emit(args, {"images": images, "count": len(images), "size": total}, "\n".join(lines))
    return 0


async def _queued(cache: Driver, args: argparse.Namespace) -> int:
    queued = await cache.get_queued_images()
    _emit(args, {"queued": queued}, "\n".join([*queued, f"{len(queued)} queued image(s)"]))
    return 0


async def _queue(cache: Driver, args: argparse.Namespace) -> int:
    result = {image_id: await cache.queue_image(image_id) for image_id in args.image_ids}
    lines = [
        f"{image_id}: {'queued' if ok else 'not queued (cached, being cached or queued)'}"
        for image_id, ok in result.items()
    ]
    _emit(
        args,
        {"queued": [i for i, ok in result.items() if ok], "skipped": [i for i, ok in result.items() if not ok]},
        "\n".join(lines),
    )
    return 0


def _one_or_all(args: argparse.Namespace) -> None:
    if bool(args.all) == bool(args.image_id):
        raise UsageError(f"`rawdb cache {args.action}` takes one image id or --all")


def _confirmed(args: argparse.Namespace, what: str) -> bool:
    """Whether ``--all`` may go ahead: --force, or a yes on the terminal (glance-cache-manage asks too)."""
    if confirm(
        f"{what[:1].upper()}{what[1:]} in {args.dir}?",
        force=args.force,
        refusal=f"`rawdb cache {args.action} --all` would {what}: confirm it on a terminal, or give --force",
    ):
        return True
    print(f"rawdb: nothing done: {what} was not confirmed", file=sys.stderr)
    return False


async def _delete(cache: Driver, args: argparse.Namespace) -> int:
    _one_or_all(args)
    if args.all:
        count = len(await cache.get_cache_files(cache.base_dir))
        if not _confirmed(args, f"delete all {count} cached image file(s)"):
            return Exit.FAILED
        count = await cache.delete_all_cached_images()
        _emit(args, {"deleted": count}, f"deleted {count} cached file(s)")
        return 0
    if not await cache.is_cached(args.image_id):
        raise errors.ImageNotCached(image_id=args.image_id)
    await cache.delete_cached_image(args.image_id)
    _emit(args, {"deleted": 1}, f"deleted {args.image_id}")
    return 0


async def _dequeue(cache: Driver, args: argparse.Namespace) -> int:
    _one_or_all(args)
    if args.all:
        queued = len(await cache.get_queued_images())
        if not _confirmed(args, f"take all {queued} queued image(s) off the queue"):
            return Exit.FAILED
        count = await cache.delete_all_queued_images()
        _emit(args, {"dequeued": count}, f"dequeued {count} image(s)")
        return 0
    if not await cache.delete_queued_image(args.image_id):
        raise errors.NotFound(f"Image {args.image_id} is not queued.")
    _emit(args, {"dequeued": 1}, f"dequeued {args.image_id}")
    return 0


async def _prune(cache: Driver, args: argparse.Namespace) -> int:
    limit = cache.max_size if args.max_size is None else args.max_size
    result = await cache.prune(limit)
    text = (
        f"deleted {result['deleted']} image(s), freed {human_size(result['freed'])}; "
        f"{human_size(result['size'])} left (max {human_size(limit)})"
    )
    _emit(args, result, text)
    return 0


async def _clean(cache: Driver, args: argparse.Namespace) -> int:
    result = await cache.clean(args.stall_time)
    _emit(
        args,
        result,
        f"deleted {result['invalid']} invalid and {result['stalled']} stalled file(s); "
        f"adopted {result['adopted']} file(s) without a row, forgot {result['forgotten']} row(s) without a file",
    )
    return 0


async def _nodes(cache: Driver, args: argparse.Namespace) -> int:
    nodes = await cache.get_cached_nodes(args.image_id)
    _emit(args, {"image_id": args.image_id, "nodes": nodes}, "\n".join(nodes) or f"{args.image_id} is cached nowhere")
    return 0


async def _migrate(cache: Driver, args: argparse.Namespace) -> int:
    copied = await cache.migrate_legacy()
    _emit(args, {"copied": copied}, f"copied {copied} row(s) from {cache.db_path}")
    return 0


Command = Callable[[Driver, argparse.Namespace], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class _Command:
    run: Command
    reads_only: bool  # creates nothing: not the node's row, not a legacy cache.db's move
    help: str


_COMMANDS: dict[str, _Command] = {
    "list": _Command(_list, True, "list the cached images (id, size, hits, last access)"),
    "queued": _Command(_queued, True, "list the images queued for the prefetcher"),
    "queue": _Command(_queue, False, "queue images for the prefetcher"),
    "delete": _Command(_delete, False, "delete one cached image, or --all (asks first unless --force)"),
    "dequeue": _Command(_dequeue, False, "take one image off the queue, or --all (asks first unless --force)"),
    "prune": _Command(_prune, False, "delete least-recently-read images down to a size"),
    "clean": _Command(
        _clean, False, "delete failed and abandoned writes, repair files without rows and rows without files"
    ),
    "nodes": _Command(_nodes, True, "list the nodes that cache an image"),
    "migrate": _Command(_migrate, False, "move a legacy cache.db into the shared tables (needs --url)"),
}


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``rawdb cache …`` to the ``rawdb`` command's subparsers (``parents``: options every
    command takes); each command's namespace carries its ``parser``."""
    parser = commands.add_parser("cache", help="manage a glance image cache directory (rawdb cache -h)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, command in _COMMANDS.items():
        action = actions.add_parser(name, parents=parents, help=command.help, description=command.help)
        action.set_defaults(parser=action)
        action.add_argument(
            "--dir", default=os.environ.get("RAWDB_CACHE_DIR"), help="cache directory (default: $RAWDB_CACHE_DIR)"
        )
        action.add_argument("--url", help="glance database URL: use its shared cache tables instead of <dir>/cache.db")
        action.add_argument(
            "--node-url",
            default=os.environ.get("RAWDB_CACHE_NODE_URL"),
            help="this node's url in the shared tables (default: $RAWDB_CACHE_NODE_URL)",
        )
        action.add_argument("--json", action="store_true", help="print JSON")
        if name == "queue":
            action.add_argument("image_ids", nargs="+", metavar="IMAGE_ID")
        elif name in ("delete", "dequeue"):
            action.add_argument("image_id", nargs="?", metavar="IMAGE_ID")
            action.add_argument("--all", action="store_true", help="every image")
            action.add_argument(
                "--force", action="store_true", help="with --all: do not ask (needed without a terminal)"
            )
        elif name == "nodes":
            action.add_argument("image_id", metavar="IMAGE_ID")
        elif name == "prune":
            action.add_argument("--max-size", type=parse_size, help="e.g. 10G, 500M (default: 10G)")
        elif name == "clean":
            action.add_argument(
                "--stall-time", type=float, help="seconds before a live writer's write is deleted (default: 86400)"
            )


def _cache_dir(args: argparse.Namespace) -> Path:
    """The ``--dir`` given, when it is an image cache.

    :raises UsageError: no --dir; --url without --node-url; migrate without --url
    :raises NotThere: the directory does not exist, or is not an image cache
    """
    if not args.dir:
        raise UsageError("give the cache directory: --dir DIR, or set RAWDB_CACHE_DIR")
    if args.url and not args.node_url:
        raise UsageError("--url needs this node's --node-url (or RAWDB_CACHE_NODE_URL)")
    if args.action == "migrate" and not args.url:
        raise UsageError("migrate moves cache.db into the shared tables: give --url and --node-url")
    directory = Path(args.dir)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise NotThere(f"no image cache at {directory}: it {what} (check --dir)")
    if not (directory / CACHE_DB).is_file() and not any((directory / f).is_dir() for f in _FOLDERS):
        raise NotThere(
            f"{directory} is not an image cache: it has no {CACHE_DB} and none of the folders "
            f"{', '.join(f + '/' for f in _FOLDERS)} (check --dir; glance-api or rawdb's Driver sets a cache up)"
        )
    return directory


def _refuse_shared_in_local_mode(directory: Path) -> None:
    """A directory whose rows live in the glance database must not grow a cache.db of its own.

    :raises UsageError: glance's centralized_db driver migrated it, or it has the folders a
        driver makes and no cache.db (a local cache has had one from its start)
    """
    give = "give --url (the glance database) and --node-url (this node's url)"
    if (directory / _GLANCE_MIGRATED).exists():
        raise UsageError(
            f"{directory} keeps its metadata in the glance database (glance's centralized_db driver "
            f"moved {CACHE_DB} there: {_GLANCE_MIGRATED} is in it): {give}"
        )
    if not (directory / CACHE_DB).is_file():
        raise UsageError(f"{directory} keeps its metadata in the glance database (it has no {CACHE_DB}): {give}")


async def _require_node(db: Database, node_url: str, reads_only: bool) -> None:
    """The shared tables must be there, and for a command that only reads, the node too.

    :raises NotThere: the glance tables are missing, or a reading command names a node the
        shared tables do not know (it would be registered otherwise)
    """
    try:
        await cache_db.node_reference_get_by_url(db.context(is_admin=True), node_url)
    except errors.DBNonExistentTable:
        raise NotThere(
            f"{db.url_safe} has no glance tables: run rawdb schema bootstrap --service glance --url {db.url_safe}"
        ) from None
    except errors.NodeReferenceNotFound:
        if reads_only:
            raise NotThere(
                f"node {node_url} has never used the shared cache tables of {db.url_safe}: nothing is cached "
                "for it (check --node-url)"
            ) from None


def run(args: argparse.Namespace) -> int:
    """Run one ``rawdb cache`` command; returns its exit code.

    :raises UsageError: options that cannot work together, or an unconfirmed ``--all`` without a terminal
    :raises NotThere: no cache at ``--dir``, no glance tables, or (reading) an unknown node
    """
    directory = _cache_dir(args)
    if not args.url:
        _refuse_shared_in_local_mode(directory)
    return asyncio.run(_run(directory, args))


async def _run(directory: Path, args: argparse.Namespace) -> int:
    command = _COMMANDS[args.action]
    if not args.url:
        async with Driver(directory) as cache:
            return await command.run(cache, args)
    async with connect(args.url) as db:
        await _require_node(db, args.node_url, command.reads_only)
        # Reading commands do not move a legacy cache.db (glance does at start; `migrate` does).
        take_legacy_db = not command.reads_only and args.action != "migrate"
        async with Driver(directory, database=db, node_url=args.node_url, take_legacy_db=take_legacy_db) as cache:
            return await command.run(cache, args)
