"""``rawdb bench``'s options, apart from the runner so that ``rawdb --help`` does not import it."""

from __future__ import annotations

import argparse
from pathlib import Path

from rawdb.database import DEFAULT_URL

DESCRIPTION = (
    "Time rawdb's hot paths (glance's image_get_all/image_get, nova's instance listings, get, update "
    "and create, cinder's volume listings and iSCSI target allocation, the quota engine's reserve+commit) "
    "next to the raw driver and OpenStack's own code."
)
BUDGETS = Path(__file__).with_name("budgets.json")
CHECK_IMAGES = 2000  # the dataset --check uses unless --images says otherwise
INSTANCES = 100_000  # the nova dataset unless --instances says otherwise
CHECK_INSTANCES = 2000  # the same with --check
VOLUMES = 100_000  # the cinder volume dataset unless --volumes says otherwise
CHECK_VOLUMES = 10_000  # the same with --check
HISTORY = 100_000  # past reservations of the quota_history scenario unless --history says otherwise
CHECK_HISTORY = 20_000  # the same with --check
ARCHIVE_INSTANCES = 20_000  # soft-deleted instances of nova_archive unless --archive-instances says otherwise
CHECK_ARCHIVE_INSTANCES = 2000  # the same with --check
ARCHIVE_PEER_MAX = 5000  # nova 34's archive moves a few hundred rows a second: larger sizes are rawdb's alone


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``rawdb bench``'s options to ``parser``."""
    parser.add_argument("--url", help=f"database URL (default: $RAWDB_URL, else {DEFAULT_URL})")
    parser.add_argument(
        "--images",
        default=None,
        help=f"glance dataset size(s), comma-separated for growth (default 10000; {CHECK_IMAGES} with --check)",
    )
    parser.add_argument(
        "--instances",
        default=None,
        help=(
            f"nova dataset size(s), comma-separated (default {INSTANCES}; {CHECK_INSTANCES} with --check); "
            "seeded in a database of its own next to --url"
        ),
    )
    parser.add_argument(
        "--volumes",
        default=None,
        help=(
            f"cinder volume dataset size(s), comma-separated (default {VOLUMES}; {CHECK_VOLUMES} with --check); "
            "seeded in a database of its own next to --url"
        ),
    )
    parser.add_argument(
        "--archive-instances",
        default=None,
        metavar="SIZES",
        help=(
            f"soft-deleted instances the nova_archive case archives, comma-separated (default {ARCHIVE_INSTANCES}; "
            f"{CHECK_ARCHIVE_INSTANCES} with --check; e.g. 20000,200000,1000000)"
        ),
    )
    parser.add_argument(
        "--archive-peer-max",
        type=int,
        default=ARCHIVE_PEER_MAX,
        metavar="N",
        help=f"nova 34 archives the --archive-instances sizes up to N (default {ARCHIVE_PEER_MAX}: it is slow)",
    )
    parser.add_argument(
        "--nodes",
        default=None,
        metavar="URLS",
        help=(
            "comma-separated URLs of --url's database on the other nodes of a Galera cluster (or PostgreSQL "
            "standbys): the scale case serves the instance listing and quota pairs from 1, 2, ... of them"
        ),
    )
    parser.add_argument(
        "--cases",
        default="all",
        help=(
            "comma-separated case names, 'glance', 'nova', 'cinder', 'quota' or 'all' (default); "
            "nova_archive (nova-manage's archive of soft-deleted rows) and scale (with --nodes) run only when named"
        ),
    )
    parser.add_argument(
        "--targets",
        default=None,
        help="comma-separated subset of rawdb,driver,openstack (default: all available)",
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; 1 with --check)")
    parser.add_argument("--calls", type=int, default=None, help="timed calls per case and round (default 30)")
    parser.add_argument("--seconds", type=float, default=None, help="per quota throughput run (default 5)")
    parser.add_argument(
        "--history",
        type=int,
        default=None,
        metavar="N",
        help=(
            f"finished reservations the quota_history scenario piles up on the hot project (default {HISTORY}; "
            f"{CHECK_HISTORY} with --check; 0: skip it)"
        ),
    )
    parser.add_argument("--json", metavar="FILE", help="write every figure and the run's context as JSON")
    parser.add_argument(
        "--plot", metavar="FILE", help="draw the figures (.png or .svg; needs matplotlib: pip install 'rawdb[bench]')"
    )
    parser.add_argument(
        "--check",
        nargs="?",
        const=str(BUDGETS),
        metavar="BUDGETS",
        help="fail on statements over budget or results unlike the reference (default: the budgets.json shipped)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def build_parser() -> argparse.ArgumentParser:
    """``rawdb bench``'s parser on its own (``rawdb.cli`` adds the same options to its subcommand)."""
    parser = argparse.ArgumentParser(prog="rawdb bench", description=DESCRIPTION)
    add_arguments(parser)
    return parser
