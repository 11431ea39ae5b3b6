"""The wheel carries sql/ and works from a fresh virtual environment."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_in_a_fresh_venv_and_bootstraps_a_schema(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = dist.glob("rawdb-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".sql")}
    expected = {f"rawdb/sql/{p.relative_to(ROOT / 'sql')}" for p in (ROOT / "sql").rglob("*.sql")}
    assert expected and expected == shipped
    assert "rawdb/py.typed" in zipfile.ZipFile(wheel).namelist()

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [str(bin_dir / "pip"), "install", "--quiet", str(wheel)], check=True, capture_output=True, timeout=300
    )
    outside = tmp_path / "elsewhere"  # away from the checkout, so only the installed sql/ can be found
    outside.mkdir()
    url = f"sqlite:///{outside / 'glance.sqlite'}"
    bootstrap = subprocess.run(
        [str(bin_dir / "rawdb"), "schema", "bootstrap", "--url", url],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bootstrap.returncode == 0, bootstrap.stderr
    assert "applied 0001_glance_tables" in bootstrap.stdout
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import rawdb.sqlfiles as s; print(s.sql_root())"],
        cwd=outside,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(env_dir) in where.stdout
    check = subprocess.run(
        [str(bin_dir / "rawdb"), "schema", "check", "--url", url], cwd=outside, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
