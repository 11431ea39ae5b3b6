"""``python -m rawdb`` runs the ``rawdb`` command."""

import sys

from rawdb.cli import main

sys.exit(main())
