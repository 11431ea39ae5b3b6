"""The README's code examples run as written (each Python block on its own, on SQLite)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_a_readme_example_runs_as_written(block: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RAWDB_URL"}
    result = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", block],
        cwd=tmp_path,  # the examples' sqlite:///x.db files land here
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
