"""What a user installs: the wheel (with sql/ and ``rawdb bench``), an editable install, and the sdist's tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import rawdb

ROOT = Path(__file__).resolve().parent.parent
SQL_FILES = {f"rawdb/sql/{p.relative_to(ROOT / 'sql')}" for p in (ROOT / "sql").rglob("*.sql")}


def sh(*argv: str | Path, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def fresh_venv(where: Path, *install: str | Path) -> Path:
    """A new virtual environment with ``pip install INSTALL``; returns its bin/ directory."""
    venv.create(where, with_pip=True)
    bin_dir = where / "bin"
    result = sh(bin_dir / "pip", "install", "--quiet", *install)
    assert result.returncode == 0, result.stdout + result.stderr
    return bin_dir


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, and the wheel built from that sdist (as `python -m build` does by default)."""
    out = tmp_path_factory.mktemp("dist")
    result = sh(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_wheel_ships_the_package_its_sql_and_the_bench_runner_and_nothing_else(dist: Path) -> None:
    (wheel,) = dist.glob("rawdb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {n for n in names if n.endswith(".sql")} == SQL_FILES and SQL_FILES
    assert {
        "rawdb/py.typed",
        "rawdb/bench/runner.py",
        "rawdb/bench/budgets.json",
        "rawdb/bench/peers/glance.py",
    } <= names
    assert {n.split("/")[0] for n in names} == {"rawdb", f"rawdb-{rawdb.__version__}.dist-info"}


def test_the_wheel_installs_in_a_fresh_venv_and_every_command_works(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("rawdb-*.whl")
    bin_dir = fresh_venv(tmp_path / "venv", wheel)
    outside = tmp_path / "elsewhere"  # away from the checkout, so only the installed package can be found
    outside.mkdir()
    url = f"sqlite:///{outside / 'glance.sqlite'}"

    bootstrap = sh(bin_dir / "rawdb", "schema", "bootstrap", "--url", url, "--service", "glance", cwd=outside)
    assert bootstrap.returncode == 0, bootstrap.stderr
    assert "applied 0001_glance_tables" in bootstrap.stdout
    where = sh(bin_dir / "python", "-c", "import rawdb.sqlfiles as s; print(s.sql_root())", cwd=outside)
    assert str(tmp_path / "venv") in where.stdout
    check = sh(bin_dir / "rawdb", "schema", "check", "--url", url, "--service", "glance", cwd=outside)
    assert check.returncode == 0, check.stdout + check.stderr
    version = sh(bin_dir / "rawdb", "--version", cwd=outside)
    assert (version.returncode, version.stdout) == (0, f"rawdb {rawdb.__version__}\n")

    bench_url = f"sqlite:///{outside / 'bench.sqlite'}"
    argv = [
        "--url",
        bench_url,
        "--check",
        "--cases",
        "h_get_own,c_user_p1",
        "--targets",
        "rawdb,driver",
        "--calls",
        "1",
    ]
    bench = sh(bin_dir / "rawdb", "bench", *argv, "--json", outside / "figures.json", "-q", cwd=outside)
    assert bench.returncode == 0, bench.stdout + bench.stderr
    assert f"check: OK (budgets: {tmp_path / 'venv'}" in bench.stdout  # the budgets.json the wheel ships
    assert (outside / "figures.json").is_file()
    module = sh(bin_dir / "python", "-m", "rawdb.bench", "--help", cwd=outside)
    assert module.returncode == 0 and "usage: rawdb bench" in module.stdout


def test_an_editable_install_exposes_rawdb_and_nothing_else_of_the_checkout(tmp_path: Path) -> None:
    build = sh(
        sys.executable, "-c", f"import hatchling.build as b; print(b.build_editable({str(tmp_path)!r}))", cwd=ROOT
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("rawdb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith("rawdb/")]  # no copy of sql/ that would shadow the checkout
    for name in (n for n in names if n.endswith(".pth")):
        assert str(ROOT) not in zipfile.ZipFile(wheel).read(name).decode()  # the checkout is not a path entry

    bin_dir = fresh_venv(tmp_path / "venv", wheel)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = (
        "import importlib.util as u, rawdb, rawdb.sqlfiles as s\n"
        "print(u.find_spec('tests'), u.find_spec('benchmarks'), rawdb.__file__, s.sql_root(), sep='\\n')"
    )
    found = sh(bin_dir / "python", "-c", probe, cwd=outside)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == ["None", "None", str(ROOT / "rawdb" / "__init__.py"), str(ROOT / "sql")]
    bench = sh(bin_dir / "rawdb", "bench", "--help", cwd=outside)
    assert bench.returncode == 0 and "--check" in bench.stdout


def test_the_sdists_tests_collect_on_its_own_code(dist: Path, tmp_path: Path) -> None:
    (sdist,) = dist.glob("rawdb-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    shipped = {p.relative_to(tree / "tests").as_posix() for p in (tree / "tests").rglob("*.py")}
    assert shipped == {p.relative_to(ROOT / "tests").as_posix() for p in (ROOT / "tests").rglob("*.py")}
    assert (tree / "rawdb" / "bench" / "budgets.json").is_file() and (tree / "benchmarks" / "README.md").is_file()

    own = sh(sys.executable, "-c", "import rawdb; print(rawdb.__file__)", cwd=tree)
    assert own.stdout.strip() == str(tree / "rawdb" / "__init__.py")  # python -m pytest there imports the sdist's
    collected = sh(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", cwd=tree)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    summary = collected.stdout.strip().splitlines()[-1]
    assert summary.endswith(" collected") or " tests collected" in summary, summary
    assert "error" not in summary
    assert {line.split("::")[0] for line in collected.stdout.splitlines() if "::" in line} == {
        f"tests/{name}" for name in shipped if name.rpartition("/")[2].startswith("test_")
    }
