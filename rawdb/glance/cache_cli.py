"""``rawdb cache``: glance-cache-manage for a cache directory, local or shared.

Without ``--url`` the metadata is the directory's ``cache.db``; with it, the glance
database's shared tables, as the node ``--node-url``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from rawdb import errors
from rawdb.glance.image_cache import Driver

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
        raise errors.Invalid(f"`rawdb cache {args.action}` takes one image id or --all")


async def _delete(cache: Driver, args: argparse.Namespace) -> int:
    _one_or_all(args)
    if args.all:
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
_COMMANDS: dict[str, tuple[Command, str]] = {
    "list": (_list, "list the cached images (id, size, hits, last access)"),
    "queued": (_queued, "list the images queued for the prefetcher"),
    "queue": (_queue, "queue images for the prefetcher"),
    "delete": (_delete, "delete one cached image, or --all"),
    "dequeue": (_dequeue, "take one image off the queue, or --all"),
    "prune": (_prune, "delete least-recently-read images down to a size"),
    "clean": (_clean, "delete failed and abandoned writes, repair files without rows and rows without files"),
    "nodes": (_nodes, "list the nodes that cache an image"),
    "migrate": (_migrate, "move a legacy cache.db into the shared tables (needs --url)"),
}


def add_parser(commands: Any) -> None:
    """Add ``rawdb cache …`` to the ``rawdb`` command's subparsers."""
    parser = commands.add_parser("cache", help="manage a glance image cache directory (rawdb cache -h)")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, (_, help_text) in _COMMANDS.items():
        action = actions.add_parser(name, help=help_text, description=help_text)
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
        elif name == "nodes":
            action.add_argument("image_id", metavar="IMAGE_ID")
        elif name == "prune":
            action.add_argument("--max-size", type=parse_size, help="e.g. 10G, 500M (default: 10G)")
        elif name == "clean":
            action.add_argument(
                "--stall-time", type=float, help="seconds before a live writer's write is deleted (default: 86400)"
            )


async def run(args: argparse.Namespace) -> int:
    """Run one ``rawdb cache`` command."""
    if not args.dir:
        raise errors.BadDriverConfiguration(driver_name="image cache", reason="give --dir or set RAWDB_CACHE_DIR")
    if args.action == "migrate" and not args.url:
        raise errors.BadDriverConfiguration(driver_name="image cache", reason="migrate needs --url and --node-url")
    migrating = args.action == "migrate"
    async with Driver(args.dir, database=args.url, node_url=args.node_url, take_legacy_db=not migrating) as cache:
        return await _COMMANDS[args.action][0](cache, args)
