"""``python -m benchmarks``: the same as ``rawdb bench``."""

import sys

from benchmarks.runner import main

sys.exit(main())
