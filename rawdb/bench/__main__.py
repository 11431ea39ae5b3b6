"""``python -m rawdb.bench``: the same as ``rawdb bench``."""

import sys

from rawdb.cli import main

sys.exit(main(["bench", *sys.argv[1:]]))
