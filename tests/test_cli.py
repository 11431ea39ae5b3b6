"""The ``rawdb schema`` commands, on both backends."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

import rawdb
from rawdb.cli import main
from rawdb.schema import migrations


@pytest.fixture
def cli_url(backend: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bootstrap_status_and_check_on_a_fresh_database(cli_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema", "bootstrap", "--url", cli_url, "--service", "glance")
    assert code == 0
    assert "applied 0001_glance_tables, 0002_rawdb_indexes, 0003_image_cache_index" in out

    code, out, _ = run(capsys, "schema", "bootstrap", "--url", cli_url, "--service", "glance")
    assert (code, "up to date, nothing applied" in out) == (0, True)

    code, out, _ = run(capsys, "schema", "status", "--url", cli_url, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["service"] == "glance"
    assert [v["applied"] for v in data["versions"]] == [True] * len(migrations("glance", "sqlite"))

    code, out, _ = run(capsys, "schema", "check", "--url", cli_url)
    assert (code, out.splitlines()[0].endswith("OK")) == (0, True)


def test_check_exits_non_zero_on_drift(cli_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "schema", "bootstrap", "--url", cli_url)[0] == 0

    async def drop_index() -> None:
        async with rawdb.connect(cli_url) as db, db.writer() as tx:
            await tx.script("DROP INDEX created_at_image_idx")

    asyncio.run(drop_index())
    code, out, _ = run(capsys, "schema", "check", "--url", cli_url, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert [(p["kind"], p["name"]) for p in report["problems"]] == [("missing_index", "created_at_image_idx")]


def test_status_before_bootstrap_says_not_applied(cli_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema", "status", "--url", cli_url)
    assert code == 0
    assert "NOT APPLIED" in out
    assert "current version: 0000" in out


def test_the_url_defaults_to_rawdb_url(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAWDB_URL", sqlite_url)
    code, out, _ = run(capsys, "schema", "bootstrap")
    assert code == 0
    assert sqlite_url in out


def test_errors_are_one_line_with_the_error_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "schema", "status", "--url", "mysql://nowhere/db")
    assert code == 1
    assert out == ""
    assert err.startswith("rawdb: Invalid: unsupported database URL scheme 'mysql'")
    assert "Traceback" not in err
    code, _, err = run(capsys, "schema", "status", "--url", "postgresql://root@127.0.0.1:1/none?connect_timeout=1")
    assert code == 1
    assert err.startswith("rawdb: DBConnectionError:")


def test_unknown_service_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["schema", "bootstrap", "--service", "nova-not-yet"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m_rawdb_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rawdb", "schema", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "bootstrap" in result.stdout and "check" in result.stdout
