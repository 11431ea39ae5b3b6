"""The ``rawdb`` command: ``rawdb schema`` on both backends, exit codes, and what every command shares."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rawdb
from rawdb import errors
from rawdb.cli import main
from rawdb.console import Exit
from rawdb.schema import migrations
from rawdb.sqlfiles import sql_root


@pytest.fixture
def cli_url(backend: str, request: pytest.FixtureRequest) -> str:
    """An empty database that exists (for SQLite: an empty file), on each backend."""
    url = str(request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "pg_url", "mysql": "mysql_url"}[backend]))

    async def create() -> None:
        async with rawdb.connect(url) as db:
            await db.ping()

    asyncio.run(create())
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rawdb_command(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m rawdb ARGV`` in a process of its own (its real stdout and stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "rawdb", *argv], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


# --- schema bootstrap, status and check -------------------------------------------------------


def test_bootstrap_status_and_check_on_a_fresh_database(
    cli_url: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "schema", "bootstrap", "--url", cli_url, "--service", "glance")
    assert code == Exit.OK
    assert "applied 0001_glance_tables, 0002_rawdb_indexes, 0003_image_cache_index" in out

    code, out, _ = run(capsys, "schema", "bootstrap", "--url", cli_url, "--service", "glance")
    assert (code, "up to date, nothing applied" in out) == (0, True)

    code, out, _ = run(capsys, "schema", "status", "--url", cli_url, "--service", "glance", "--json")
    assert code == Exit.OK
    data = json.loads(out)
    assert (data["service"], data["bootstrapped"]) == ("glance", True)
    assert [v["applied"] for v in data["versions"]] == [True] * len(migrations("glance", backend))

    code, out, _ = run(capsys, "schema", "check", "--url", cli_url, "--service", "glance")
    assert (code, out.splitlines()[0].endswith("OK")) == (0, True)


def test_check_exits_3_on_drift(cli_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "schema", "bootstrap", "--url", cli_url, "--service", "glance")[0] == 0

    async def drop_index() -> None:
        async with rawdb.connect(cli_url) as db, db.writer() as tx:
            on_table = " ON images" if db.dialect == "mysql" else ""  # MySQL's DROP INDEX names the table
            await tx.script(f"DROP INDEX created_at_image_idx{on_table}")

    asyncio.run(drop_index())
    code, out, _ = run(capsys, "schema", "check", "--url", cli_url, "--service", "glance", "--json")
    assert code == Exit.DRIFT == 3
    report = json.loads(out)
    assert report["ok"] is False
    assert [(p["kind"], p["name"]) for p in report["problems"]] == [("missing_index", "created_at_image_idx")]


def test_status_before_bootstrap_says_not_applied_and_exits_4(cli_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema", "status", "--url", cli_url, "--service", "glance")
    assert code == Exit.NOT_THERE == 4
    assert "NOT APPLIED" in out
    assert "current version: 0000" in out
    assert out.splitlines()[-1].strip().startswith("not bootstrapped: run rawdb schema bootstrap --service glance")


@pytest.mark.parametrize("backend", ["mysql"])  # the one dialect whose adoption converts glance's tables
def test_check_after_adopting_a_glance_manage_database_says_what_was_widened(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = Path(__file__).resolve().parent / "upstream" / "glance_33_mysql.sql"

    async def glance_manage_db_sync() -> None:  # what glance 33's glance-manage made on MariaDB
        async with rawdb.connect(cli_url) as db, db.writer() as tx:
            await tx.script(dump.read_text(encoding="utf-8"), dump.name)

    asyncio.run(glance_manage_db_sync())
    code, out, _ = run(capsys, "schema", "check", "--url", cli_url, "--service", "glance")
    assert code == Exit.NOT_THERE  # glance's tables, and no rawdb versions: bootstrap first

    code, out, _ = run(capsys, "schema", "bootstrap", "--url", cli_url, "--service", "glance")
    assert code == Exit.OK and "0005_mysql_adopt" in out
    code, out, _ = run(capsys, "schema", "check", "--url", cli_url, "--service", "glance")
    lines = out.splitlines()
    assert (code, lines[0].endswith(": OK")) == (Exit.OK, True), out
    [note] = lines[1:]  # no problem listed, one note
    assert note.startswith("  note: glance's own tools made this database (alembic_version table)")
    assert "DATETIME(6)" in note and "compatible" in note


def test_check_on_an_empty_database_says_in_one_line_to_bootstrap(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "schema", "check", "--url", cli_url, "--service", "nova")
    assert code == Exit.NOT_THERE
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("rawdb: the nova schema is not bootstrapped on ")
    assert "run rawdb schema bootstrap --service nova --url " in err


def test_the_service_is_required_and_bootstrap_touches_only_the_one_named(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["schema", "bootstrap", "--url", cli_url])
    assert caught.value.code == Exit.USAGE
    assert "the following arguments are required: --service" in capsys.readouterr().err

    assert run(capsys, "schema", "bootstrap", "--url", cli_url, "--service", "nova")[0] == Exit.OK
    code, out, _ = run(capsys, "schema", "status", "--url", cli_url, "--service", "glance", "--json")
    assert (code, json.loads(out)["bootstrapped"]) == (Exit.NOT_THERE, False)

    async def tables() -> set[str]:
        async with rawdb.connect(cli_url) as db, db.reader() as tx:
            return {row["table_name"] for row in await tx.fetch("rawdb.schema.live_columns")}

    assert "instances" in asyncio.run(tables())
    assert "images" not in asyncio.run(tables())


@pytest.mark.parametrize("action", ["status", "check"])
def test_reading_commands_on_a_missing_sqlite_file_create_nothing(
    action: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sqlite_file(sqlite_url)
    code, out, err = run(capsys, "schema", action, "--url", sqlite_url, "--service", "glance")
    assert code == Exit.NOT_THERE
    assert out == ""
    assert err == (
        f"rawdb: there is no database at {path} ({sqlite_url}); "
        f"rawdb schema bootstrap --service glance --url {sqlite_url} creates it\n"
    )
    assert not path.exists()
    assert list(path.parent.iterdir()) == []


@pytest.mark.parametrize("action", ["status", "check"])
def test_reading_commands_on_a_missing_postgresql_database_cannot_connect(
    action: str, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scheme, _, rest = pg_url.partition("://")
    authority, _, query = rest.partition("/")
    missing = f"{scheme}://{authority}/rawdb_no_such_database?{query.partition('?')[2]}"
    code, out, err = run(capsys, "schema", action, "--url", missing, "--service", "glance")
    assert code == Exit.CANNOT_CONNECT == 5
    assert out == ""
    assert err.startswith("rawdb: DBConnectionError: ") and "rawdb_no_such_database" in err


def test_the_url_defaults_to_rawdb_url(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAWDB_URL", sqlite_url)
    code, out, _ = run(capsys, "schema", "bootstrap", "--service", "glance")
    assert code == Exit.OK
    assert sqlite_url in out


def test_urls_copied_from_an_openstack_config_file_work(cli_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    scheme, _, rest = cli_url.partition("://")
    driver = {"sqlite": "pysqlite", "postgresql": "psycopg2", "mysql": "pymysql"}[scheme]
    with_driver = f"{scheme}+{driver}://{rest}"
    code, out, _ = run(capsys, "schema", "bootstrap", "--url", with_driver, "--service", "cinder")
    assert code == Exit.OK and "applied 0001_cinder_tables" in out
    assert run(capsys, "schema", "check", "--url", cli_url, "--service", "cinder")[0] == Exit.OK


def test_url_dialects_drop_a_sqlalchemy_driver_suffix() -> None:
    from rawdb.database import sqlite_path, url_dialect

    assert url_dialect("postgresql+psycopg2://glance@db/glance") == "postgresql"
    assert url_dialect("postgres://glance@db/glance") == "postgresql"
    assert url_dialect("SQLite+pysqlite:////var/lib/glance/glance.sqlite") == "sqlite"
    assert sqlite_path("sqlite+pysqlite:////var/lib/glance/glance.sqlite") == "/var/lib/glance/glance.sqlite"
    assert sqlite_path("sqlite:///relative.db") == "relative.db"
    assert sqlite_path("sqlite:///:memory:") is None
    assert url_dialect("mysql+pymysql://glance@db/glance?charset=utf8") == "mysql"
    assert url_dialect("mariadb+pymysql://glance@db/glance") == "mysql"
    with pytest.raises(errors.Invalid, match="unsupported database URL scheme 'mssql\\+pyodbc'"):
        url_dialect("mssql+pyodbc://glance@db/glance")


# --- errors and exit codes --------------------------------------------------------------------


def test_errors_are_one_line_with_the_error_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "schema", "status", "--url", "mssql://nowhere/db", "--service", "glance")
    assert code == Exit.FAILED == 1
    assert out == ""
    assert err.startswith("rawdb: Invalid: unsupported database URL scheme 'mssql'")
    assert "Traceback" not in err
    unreachable = "postgresql://root@127.0.0.1:1/none?connect_timeout=1"
    code, _, err = run(capsys, "schema", "status", "--url", unreachable, "--service", "glance")
    assert code == Exit.CANNOT_CONNECT
    assert err.startswith("rawdb: DBConnectionError:")
    assert len(err.splitlines()) == 1


def test_verbose_is_accepted_before_and_after_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["-v", "schema", "status"], ["schema", "status", "-v"]):
        code, _, err = run(capsys, *argv, "--url", "mssql://nowhere/db", "--service", "glance")
        assert code == Exit.FAILED
        assert "Traceback (most recent call last)" in err, argv
        assert err.splitlines()[-1].startswith("rawdb: Invalid: unsupported database URL scheme")
    code, _, err = run(capsys, "cache", "list", "-v", "--dir", "/nonexistent/rawdb-cache")
    assert code == Exit.NOT_THERE


def test_unknown_service_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["schema", "bootstrap", "--service", "nova-not-yet"])
    assert caught.value.code == Exit.USAGE
    assert "invalid choice" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"rawdb {rawdb.__version__}\n"


def test_help_documents_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for code in Exit:
        assert f"\n  {code.value:<4} " in out, code


def test_python_dash_m_rawdb_runs_the_cli() -> None:
    result = rawdb_command("schema", "--help")
    assert result.returncode == 0
    assert "bootstrap" in result.stdout and "check" in result.stdout


def test_a_closed_pipe_ends_quietly(sqlite_url: str) -> None:
    assert main(["schema", "bootstrap", "--url", sqlite_url, "--service", "nova"]) == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "rawdb", "schema", "status", "--url", sqlite_url, "--service", "nova"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the command writes anything (`| head -0`)
    err = process.stderr.read()
    assert process.wait(timeout=60) == Exit.BROKEN_PIPE == 141
    assert err == b""


def test_slow_statement_warnings_stay_out_of_the_output_unless_asked_for(sqlite_url: str) -> None:
    assert main(["schema", "bootstrap", "--url", sqlite_url, "--service", "glance"]) == 0
    every_statement_slow = f"{sqlite_url}?slow_statement_ms=0"
    quiet = rawdb_command("schema", "check", "--url", every_statement_slow, "--service", "glance")
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert quiet.stdout.splitlines()[0].endswith("OK")
    loud = rawdb_command("schema", "check", "-v", "--url", every_statement_slow, "--service", "glance")
    assert loud.returncode == 0
    assert "rawdb: WARNING rawdb.sql: slow statement rawdb.schema.versions_applied" in loud.stderr
    assert loud.stdout == quiet.stdout


# --- where a statement came from --------------------------------------------------------------


async def test_a_missing_table_error_names_the_sql_file_of_the_dialect_that_ran(db: rawdb.Database) -> None:
    """glance.tags.tags_insert has its own file per dialect; the note names the one that ran, and its line."""
    with pytest.raises(errors.DBNonExistentTable) as caught:
        async with db.writer() as tx:  # :tags is a JSON array, as rawdb.glance passes it
            await tx.execute("glance.tags.tags_insert", image_id="i", tags=json.dumps(["a"]), now=None)
    [note] = [n for n in caught.value.__notes__ if n.startswith("in statement glance.tags.tags_insert")]
    path = f"sql/glance/tags.{db.dialect}.sql"
    header = (sql_root().parent / path).read_text(encoding="utf-8").splitlines().index("-- name: tags_insert")
    assert f"{path}:{header + 1})" in note
    assert db.statement_source("glance.tags.tags_insert") == f"{path}:{header + 1}"


async def test_a_statement_names_the_portable_file_where_its_dialect_has_none(db: rawdb.Database) -> None:
    """versions_table_exists is in schema.sql; SQLite and MySQL (no current_schema()) have their own texts."""
    expected = {
        "postgresql": "sql/rawdb/schema.sql:13",
        "sqlite": "sql/rawdb/schema.sqlite.sql:18",
        "mysql": "sql/rawdb/schema.mysql.sql:24",
    }
    assert db.statement_source("rawdb.schema.versions_table_exists") == expected[db.dialect]
    assert db.statement_source("glance.images.image_insert") == "sql/glance/images.sql:1"


def test_a_failed_statement_is_one_line_naming_the_statement_and_its_file(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def foreign_versions_table() -> None:  # a table of that name that rawdb did not make
        async with rawdb.connect(cli_url) as db, db.writer() as tx:
            await tx.script("CREATE TABLE rawdb_schema_versions (something INTEGER)")

    asyncio.run(foreign_versions_table())
    code, out, err = run(capsys, "schema", "status", "--url", cli_url, "--service", "glance")
    assert code == Exit.FAILED
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("rawdb: DB")
    assert "(in statement rawdb.schema.versions_applied (sql/rawdb/schema.sql:1))" in err
