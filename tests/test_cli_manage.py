"""``rawdb db archive|purge`` and ``rawdb quota check|sync`` on every backend: exit codes, dry runs,
JSON, the summary table and the progress line."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import servicedb
from sqltools import execute, select

import rawdb
from rawdb import schema
from rawdb.cli import main
from rawdb.console import Exit
from rawdb.manage_cli import ProgressLine, parse_before, progress_line, summary_table
from rawdb.timeutils import utcnow

LONG_AGO = datetime(2020, 1, 1)


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nova_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return servicedb.sqlite_template(tmp_path_factory, "nova")


@pytest.fixture(scope="session")
def nova_pg_shared(pg_scratch: str | None) -> Iterator[str | None]:
    yield from servicedb.pg_shared(pg_scratch, "nova")


@pytest.fixture(scope="session")
def nova_mysql_shared(mysql_server: str | None) -> Iterator[str | None]:
    yield from servicedb.mysql_shared(mysql_server, "nova")


@pytest.fixture(scope="session")
def cinder_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return servicedb.sqlite_template(tmp_path_factory, "cinder")


@pytest.fixture(scope="session")
def cinder_pg_shared(pg_scratch: str | None) -> Iterator[str | None]:
    yield from servicedb.pg_shared(pg_scratch, "cinder")


@pytest.fixture(scope="session")
def cinder_mysql_shared(mysql_server: str | None) -> Iterator[str | None]:
    yield from servicedb.mysql_shared(mysql_server, "cinder")


def _service_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, service: str) -> str:
    url = servicedb.service_url(backend, request, tmp_path, service)
    if backend != "sqlite":  # the worker's shared database: empty it
        run_sql(url, lambda db: servicedb.empty(db, service))
    return url


@pytest.fixture
def nova_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A bootstrapped nova database without rows, on each backend."""
    return _service_url(backend, request, tmp_path, "nova")


@pytest.fixture
def cinder_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A bootstrapped cinder database without rows, on each backend."""
    return _service_url(backend, request, tmp_path, "cinder")


@pytest.fixture
def glance_url(url: str) -> str:
    """A bootstrapped glance database, on each backend."""
    run_sql(url, lambda db: schema.bootstrap(db, "glance"))
    return url


@pytest.fixture
def empty_url(url: str) -> str:
    """A database that exists and has no tables, on each backend."""
    run_sql(url, lambda db: db.ping())
    return url


def run_sql(url: str, job: Any) -> Any:
    async def go() -> Any:
        async with rawdb.connect(url) as db:
            return await job(db)

    return asyncio.run(go())


def sql(url: str, text: str, **params: Any) -> int:
    return int(run_sql(url, lambda db: execute(db, text, **params)))


def rows(url: str, text: str, **params: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = run_sql(url, lambda db: select(db, text, **params))
    return result


def count(url: str, table: str) -> int:
    return int(rows(url, f"SELECT count(*) AS n FROM {table}")[0]["n"])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, *argv, "--json")
    assert err == ""
    return code, json.loads(out)


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The message of a usage error (exit 2, from argparse or the command)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == Exit.USAGE == 2
    err = capsys.readouterr().err
    assert "usage: rawdb" in err
    return err


# --- nova's rows -----------------------------------------------------------------------------


def deleted_key_pairs(url: str, ids: range, deleted_at: datetime, table: str = "key_pairs") -> None:
    """Soft-deleted key pairs (nova's soft delete: deleted = id) in ``table``."""
    for i in ids:
        sql(
            url,
            f"INSERT INTO {table} (id, name, user_id, fingerprint, public_key, deleted, type, created_at, deleted_at)"
            " VALUES (:id, :name, 'u1', 'fp', 'key', :id, 'ssh', :at, :at)",
            id=i,
            name=f"k{i}",
            at=deleted_at,
        )


def deleted_certificates(url: str, ids: range, deleted_at: datetime) -> None:
    for i in ids:
        sql(
            url,
            "INSERT INTO certificates (id, user_id, project_id, file_name, deleted, created_at, deleted_at)"
            " VALUES (:id, 'u1', 'p1', 'f', :id, :at, :at)",
            id=i,
            at=deleted_at,
        )


def archive(capsys: pytest.CaptureFixture[str], url: str, *options: str) -> tuple[int, dict[str, Any]]:
    return run_json(capsys, "db", "archive", "--service", "nova", "--url", url, *options)


# --- db archive --------------------------------------------------------------------------------


def test_archive_exits_1_while_rows_remain_and_0_once_nothing_is_left(
    nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deleted_key_pairs(nova_url, range(1, 6), LONG_AGO)

    code, data = archive(capsys, nova_url, "--max-rows", "2")
    assert code == 1
    assert (data["archived"], data["total"], data["remaining"], data["complete"]) == ({"key_pairs": 2}, 2, 3, False)
    assert (count(nova_url, "key_pairs"), count(nova_url, "shadow_key_pairs")) == (3, 2)

    code, out, _ = run(capsys, "db", "archive", "--service", "nova", "--url", nova_url, "--max-rows", "2")
    assert code == 1
    assert "1 row(s) remain to archive" in out
    code, data = archive(capsys, nova_url, "--max-rows", "2")
    assert (code, data["archived"], data["remaining"], data["complete"]) == (0, {"key_pairs": 1}, 0, True)

    code, out, _ = run(capsys, "db", "archive", "--service", "nova", "--url", nova_url)
    assert code == 0
    assert "Nothing was archived." in out
    assert (count(nova_url, "key_pairs"), count(nova_url, "shadow_key_pairs")) == (0, 5)


def test_archive_until_complete_runs_batches_until_one_moves_nothing(
    nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deleted_key_pairs(nova_url, range(1, 6), LONG_AGO)
    deleted_certificates(nova_url, range(1, 3), LONG_AGO)

    code, out, err = run(
        capsys, "db", "archive", "--service", "nova", "--url", nova_url, "--max-rows", "2", "--until-complete"
    )

    assert code == 0
    assert err == ""  # no terminal: no progress line
    lines = out.splitlines()
    assert lines[0].startswith("nova on ") and "archived 7 row(s)" in lines[0]
    table = {line.split()[0]: line.split()[1] for line in lines[3:] if len(line.split()) == 2}
    assert table == {"certificates": "2", "key_pairs": "5", "Total": "7"}
    assert (count(nova_url, "key_pairs"), count(nova_url, "certificates")) == (0, 0)
    assert (count(nova_url, "shadow_key_pairs"), count(nova_url, "shadow_certificates")) == (5, 2)


def test_archive_json_says_what_moved_in_how_many_batches(nova_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    deleted_key_pairs(nova_url, range(1, 6), LONG_AGO)

    code, data = archive(capsys, nova_url, "--max-rows", "2", "--until-complete", "--before", "2021-01-01")

    assert code == 0
    assert data == {
        "service": "nova",
        "url": data["url"],
        "dry_run": False,
        "before": "2021-01-01T00:00:00",
        "max_rows": 2,
        "until_complete": True,
        "archived": {"key_pairs": 5},
        "total": 5,
        "batches": 3,  # transactions of at most --max-rows rows that moved some: 2, 2, 1
        "remaining": None,
        "complete": True,
        "purged": None,
    }
    assert "password" not in data["url"]


def test_archive_before_moves_only_rows_deleted_before_the_date(
    nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deleted_key_pairs(nova_url, range(1, 3), LONG_AGO)
    deleted_key_pairs(nova_url, range(3, 4), utcnow())

    code, data = archive(capsys, nova_url, "--before", "2021-01-01 00:00", "--until-complete")

    assert (code, data["archived"]) == (0, {"key_pairs": 2})
    assert [r["id"] for r in rows(nova_url, "SELECT id FROM key_pairs")] == [3]
    code, data = archive(capsys, nova_url, "--before", "2019-06-30T12:00:00+02:00")
    assert (code, data["archived"], data["before"]) == (0, {}, "2019-06-30T10:00:00")


def test_archive_purge_empties_the_shadow_tables_once_the_archive_is_complete(
    nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deleted_key_pairs(nova_url, range(1, 4), LONG_AGO)
    deleted_key_pairs(nova_url, range(100, 102), LONG_AGO, table="shadow_key_pairs")  # archived before

    code, data = archive(capsys, nova_url, "--max-rows", "2", "--purge")
    assert (code, data["complete"], data["purged"]) == (1, False, None)  # more to archive: no purge yet
    assert count(nova_url, "shadow_key_pairs") == 4

    code, out, _ = run(
        capsys,
        "db",
        "archive",
        "--service",
        "nova",
        "--url",
        nova_url,
        "--until-complete",
        "--purge",
        "--max-rows",
        "2",
    )
    assert code == 0
    assert "Rows purged" in out
    assert (count(nova_url, "key_pairs"), count(nova_url, "shadow_key_pairs")) == (0, 0)


def test_archive_dry_run_counts_and_changes_nothing(nova_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    deleted_key_pairs(nova_url, range(1, 4), LONG_AGO)
    deleted_key_pairs(nova_url, range(4, 5), utcnow())
    deleted_key_pairs(nova_url, range(100, 102), LONG_AGO, table="shadow_key_pairs")
    dry_run = ["--dry-run", "--purge", "--before", "2021-01-01"]

    code, data = archive(capsys, nova_url, *dry_run, "--max-rows", "1", "--until-complete")
    assert code == 0
    assert (data["dry_run"], data["archived"], data["total"], data["complete"]) == (True, {"key_pairs": 3}, 3, True)
    assert data["purged"] == {"shadow_key_pairs": 5}  # the two there and the three the archive would add

    code, data = archive(capsys, nova_url, *dry_run, "--max-rows", "1")  # one run: one row, no purge
    assert code == 0
    assert (data["archived"], data["total"], data["remaining"], data["complete"]) == ({"key_pairs": 1}, 1, 2, False)
    assert data["purged"] is None
    assert (count(nova_url, "key_pairs"), count(nova_url, "shadow_key_pairs")) == (4, 2)

    code, out, _ = run(capsys, "db", "archive", "--service", "nova", "--url", nova_url, "--dry-run", "--max-rows", "3")
    assert code == 0 and "dry run, nothing changed; would archive 3 row(s)" in out and "Rows to archive" in out
    assert "1 row(s) would remain to archive" in out
    assert (count(nova_url, "key_pairs"), count(nova_url, "shadow_key_pairs")) == (4, 2)


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--max-rows", "2"],
        ["--max-rows", "4", "--purge"],
        ["--max-rows", "9", "--purge", "--before", "2021-01-01"],
        ["--max-rows", "2", "--until-complete", "--purge"],
    ],
    ids=["default", "capped", "capped-across-tables", "all-before", "until-complete"],
)
def test_archive_dry_run_reports_what_the_same_command_then_does(
    options: list[str], nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deleted_key_pairs(nova_url, range(1, 4), LONG_AGO)
    deleted_key_pairs(nova_url, range(4, 5), utcnow())
    deleted_certificates(nova_url, range(1, 3), LONG_AGO)
    deleted_key_pairs(nova_url, range(100, 102), LONG_AGO, table="shadow_key_pairs")

    dry_code, dry = archive(capsys, nova_url, "--dry-run", *options)
    assert (count(nova_url, "key_pairs"), count(nova_url, "certificates"), count(nova_url, "shadow_key_pairs")) == (
        4,
        2,
        2,
    )
    code, done = archive(capsys, nova_url, *options)

    assert dry_code == 0 and dry["dry_run"] and not done["dry_run"]
    assert list(dry["archived"].items()) == list(done["archived"].items())  # the same tables, rows and order
    for key in ("total", "remaining", "complete", "purged"):
        assert dry[key] == done[key], key
    assert code == (1 if done["remaining"] else 0)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_archive_dry_run_takes_the_cap_table_by_table_as_a_run_does(
    nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deleted_key_pairs(nova_url, range(1, 4), LONG_AGO)
    deleted_certificates(nova_url, range(1, 3), LONG_AGO)
    _, everything = archive(capsys, nova_url, "--dry-run", "--until-complete")
    first, second = everything["archived"]  # the tables in the order a run takes them
    rows = everything["archived"]

    _, dry = archive(capsys, nova_url, "--dry-run", "--max-rows", str(rows[first] + 1))
    assert dry["archived"] == {first: rows[first], second: 1}
    assert (dry["total"], dry["remaining"], dry["complete"]) == (rows[first] + 1, rows[second] - 1, False)
    _, dry = archive(capsys, nova_url, "--dry-run", "--max-rows", "1")
    assert (dry["archived"], dry["remaining"]) == ({first: 1}, 4)


@pytest.mark.parametrize("before", ["yesterday", "2024-13-01", "01/02/2024", ""])
def test_archive_refuses_a_date_it_cannot_read(before: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = usage_error(capsys, "db", "archive", "--service", "nova", "--before", before)
    assert "argument --before: not a date" in err


@pytest.mark.parametrize("max_rows", ["0", "-1", "x", str(2**31)])
def test_archive_refuses_max_rows_out_of_range(max_rows: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "argument --max-rows" in usage_error(capsys, "db", "archive", "--service", "nova", "--max-rows", max_rows)


def test_archive_is_for_nova_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert "invalid choice: 'cinder'" in usage_error(capsys, "db", "archive", "--service", "cinder")


_FAIL_SHADOW_INSERT = {
    "sqlite": [
        "CREATE TRIGGER refuse_shadow BEFORE INSERT ON shadow_key_pairs BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_shadow() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RAISE EXCEPTION ''refused''; END'",
        "CREATE TRIGGER refuse_shadow BEFORE INSERT ON shadow_key_pairs FOR EACH ROW EXECUTE FUNCTION refuse_shadow()",
    ],
    "mysql": [
        "CREATE TRIGGER refuse_shadow BEFORE INSERT ON shadow_key_pairs FOR EACH ROW "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'"
    ],
}
_DROP_TRIGGER = {
    "sqlite": ["DROP TRIGGER IF EXISTS refuse_shadow"],
    "postgresql": ["DROP TRIGGER IF EXISTS refuse_shadow ON shadow_key_pairs", "DROP FUNCTION IF EXISTS refuse_shadow"],
    "mysql": ["DROP TRIGGER IF EXISTS refuse_shadow"],
}


def script(url: str, statements: list[str]) -> None:
    async def go(db: rawdb.Database) -> None:
        async with db.writer() as tx:
            for statement in statements:
                await tx.script(statement)

    run_sql(url, go)


def test_archive_exits_3_with_one_line_when_the_database_fails_and_keeps_the_rows(
    nova_url: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deleted_key_pairs(nova_url, range(1, 3), LONG_AGO)
    script(nova_url, _FAIL_SHADOW_INSERT[backend])
    try:
        code, out, err = run(capsys, "db", "archive", "--service", "nova", "--url", nova_url, "--until-complete")
    finally:
        script(nova_url, _DROP_TRIGGER[backend])
    assert code == 3
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("rawdb: ")
    assert (count(nova_url, "key_pairs"), count(nova_url, "shadow_key_pairs")) == (2, 0)


def test_archive_exits_3_when_rawdb_fails_in_a_way_it_did_not_expect(
    nova_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rawdb.nova import archive as nova_archive

    async def broken(*args: Any, **kwargs: Any) -> dict[str, int]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(nova_archive, "archive_deleted_rows", broken)
    code, out, err = run(capsys, "db", "archive", "--service", "nova", "--url", nova_url)
    assert code == 3  # not 1, which says "rows were archived and more remain"
    assert out == ""
    assert "Traceback" in err and err.rstrip().endswith("RuntimeError: a bug")


def test_archive_exits_3_when_the_database_cannot_be_reached(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    scheme, _, rest = pg_url.partition("://")
    authority, _, query = rest.partition("/")
    missing = f"{scheme}://{authority}/rawdb_no_such_database?{query.partition('?')[2]}"
    code, _, err = run(capsys, "db", "archive", "--service", "nova", "--url", missing)
    assert code == 3
    assert err.startswith("rawdb: DBConnectionError: ")


# --- not bootstrapped ------------------------------------------------------------------------

COMMANDS = [
    ["db", "archive", "--service", "nova"],
    ["db", "archive", "--service", "nova", "--dry-run"],
    ["db", "purge", "--service", "glance"],
    ["db", "purge", "--service", "nova", "--all"],
    ["db", "purge", "--service", "cinder", "--age-in-days", "1"],
    ["quota", "check", "--service", "nova"],
    ["quota", "sync", "--service", "cinder"],
]


def not_there_exit(argv: list[str]) -> int:
    """4 (nothing there), but 3 for db archive: nova-manage's code for every error of an archive."""
    return 3 if argv[:2] == ["db", "archive"] else Exit.NOT_THERE


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: "-".join(a.strip("-") for a in argv))
def test_every_command_on_a_database_without_the_schema_says_so_and_exits_4_archive_3(
    argv: list[str], empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *argv, "--url", empty_url)
    assert code == not_there_exit(argv)
    assert out == ""
    service = argv[argv.index("--service") + 1]
    assert err.startswith(f"rawdb: the {service} schema is not bootstrapped on ")
    assert f"run rawdb schema bootstrap --service {service} --url " in err


@pytest.mark.parametrize("argv", COMMANDS[:3], ids=["archive", "archive-dry-run", "purge"])
def test_a_missing_sqlite_file_exits_4_archive_3_and_is_not_created(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere.sqlite'}"
    code, _, err = run(capsys, *argv, "--url", url)
    assert code == not_there_exit(argv)
    assert err.startswith(f"rawdb: there is no database at {tmp_path / 'nowhere.sqlite'}")
    assert list(tmp_path.iterdir()) == []


def test_the_url_defaults_to_rawdb_url(
    nova_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAWDB_URL", nova_url)
    deleted_key_pairs(nova_url, range(1, 2), LONG_AGO)
    code, data = run_json(capsys, "db", "archive", "--service", "nova")
    assert (code, data["archived"]) == (0, {"key_pairs": 1})


# --- db purge: nova --------------------------------------------------------------------------


def test_nova_purge_needs_before_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert "one of --before DATE" in usage_error(capsys, "db", "purge", "--service", "nova")
    assert "one of --before DATE" in usage_error(
        capsys, "db", "purge", "--service", "nova", "--all", "--before", "2020-01-01"
    )
    assert "--age-in-days is for --service glance or cinder" in usage_error(
        capsys, "db", "purge", "--service", "nova", "--all", "--age-in-days", "3"
    )


def test_nova_purge_before_a_date_and_all(nova_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    deleted_key_pairs(nova_url, range(1, 3), LONG_AGO, table="shadow_key_pairs")
    deleted_key_pairs(nova_url, range(3, 4), utcnow(), table="shadow_key_pairs")
    deleted_key_pairs(nova_url, range(4, 5), LONG_AGO)  # not archived: purge leaves it

    purge = ["db", "purge", "--service", "nova", "--url", nova_url]
    code, data = run_json(capsys, *purge, "--before", "2021-01-01", "--dry-run")
    assert (code, data["dry_run"], data["purged"], data["total"]) == (0, True, {"shadow_key_pairs": 2}, 2)
    assert count(nova_url, "shadow_key_pairs") == 3

    code, data = run_json(capsys, *purge, "--before", "2021-01-01")
    assert (code, data["purged"], data["before"]) == (0, {"shadow_key_pairs": 2}, "2021-01-01T00:00:00")
    assert [r["id"] for r in rows(nova_url, "SELECT id FROM shadow_key_pairs")] == [3]

    code, out, _ = run(capsys, *purge, "--all")
    assert code == 0 and "purged 1 shadow table row(s) (all of them)" in out
    assert (count(nova_url, "shadow_key_pairs"), count(nova_url, "key_pairs")) == (0, 1)
    code, out, _ = run(capsys, *purge, "--all")
    assert (code, out.splitlines()[-1]) == (0, "Nothing was purged.")


# --- db purge: glance ------------------------------------------------------------------------

IMAGE = "1a5e3e3c-0000-4000-8000-00000000000{}"


def glance_image(url: str, n: int, *, deleted_at: datetime | None = None, tags: int = 0, tags_at: Any = None) -> None:
    """An image (deleted at ``deleted_at``) with ``tags`` tags deleted at ``tags_at``."""
    sql(
        url,
        "INSERT INTO images (id, status, visibility, min_disk, min_ram, protected, os_hidden, created_at,"
        " deleted_at, deleted) VALUES (:id, :status, 'private', 0, 0, false, false, :created, :deleted_at, :deleted)",
        id=IMAGE.format(n),
        status="deleted" if deleted_at else "active",
        created=LONG_AGO,
        deleted_at=deleted_at,
        deleted=deleted_at is not None,
    )
    for t in range(tags):
        sql(
            url,
            "INSERT INTO image_tags (image_id, value, created_at, deleted_at, deleted)"
            " VALUES (:id, :value, :at, :at, true)",
            id=IMAGE.format(n),
            value=f"t{t}",
            at=tags_at,
        )


def test_glance_purge_deletes_old_deleted_children_with_glance_manages_defaults(
    glance_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = utcnow()
    glance_image(glance_url, 1, tags=3, tags_at=now - timedelta(days=31))
    glance_image(glance_url, 2, tags=1, tags_at=now - timedelta(days=29))  # younger than the default 30 days
    glance_image(glance_url, 3, deleted_at=now - timedelta(days=200))
    purge = ["db", "purge", "--service", "glance", "--url", glance_url]

    code, data = run_json(capsys, *purge, "--dry-run", "--max-rows", "2")
    assert (code, data["purged"], data["max_rows"], data["age_in_days"]) == (0, {"image_tags": 2}, 2, 30)
    assert count(glance_url, "image_tags") == 4

    code, data = run_json(capsys, *purge)
    assert (code, data["purged"], data["total"], data["images"]) == (0, {"image_tags": 3}, 3, False)
    assert (count(glance_url, "image_tags"), count(glance_url, "images")) == (1, 3)

    code, out, _ = run(capsys, *purge, "--age-in-days", "0")
    assert code == 0 and "Rows purged" in out
    assert count(glance_url, "image_tags") == 0


def test_glance_purge_images_purges_the_images_table_after_180_days_by_default(
    glance_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = utcnow()
    glance_image(glance_url, 1, deleted_at=now - timedelta(days=200))
    glance_image(glance_url, 2, deleted_at=now - timedelta(days=100))
    glance_image(glance_url, 3)
    purge = ["db", "purge", "--service", "glance", "--url", glance_url, "--images"]

    code, data = run_json(capsys, *purge, "--dry-run")
    assert (code, data["purged"], data["age_in_days"], data["images"]) == (0, {"images": 1}, 180, True)
    assert count(glance_url, "images") == 3
    code, data = run_json(capsys, *purge)
    assert (code, data["purged"]) == (0, {"images": 1})
    code, data = run_json(capsys, *purge, "--age-in-days", "30", "--max-rows", "-1")
    assert (code, data["purged"], data["max_rows"]) == (0, {"images": 1}, -1)
    assert [r["id"] for r in rows(glance_url, "SELECT id FROM images")] == [IMAGE.format(3)]


def test_glance_purge_refuses_nova_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--all is for --service nova, not glance" in usage_error(
        capsys, "db", "purge", "--service", "glance", "--all"
    )
    assert "argument --max-rows" in usage_error(capsys, "db", "purge", "--service", "glance", "--max-rows", "-2")
    assert "argument --age-in-days" in usage_error(capsys, "db", "purge", "--service", "glance", "--age-in-days", "-1")


# --- db purge: cinder ------------------------------------------------------------------------


def test_cinder_purge_needs_an_age(capsys: pytest.CaptureFixture[str]) -> None:
    assert "cinder's purge needs --age-in-days N" in usage_error(capsys, "db", "purge", "--service", "cinder")
    assert "--images is for --service glance" in usage_error(
        capsys, "db", "purge", "--service", "cinder", "--age-in-days", "1", "--images"
    )


def test_cinder_purge_deletes_rows_deleted_more_than_n_days_ago(
    cinder_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = utcnow()
    for i, (deleted, days) in enumerate([(True, 10), (True, 10), (True, 2), (False, 0)], start=1):
        sql(
            cinder_url,
            "INSERT INTO volume_types (id, name, created_at, deleted_at, deleted) VALUES (:id, :name, :at, :gone, :d)",
            id=i,
            name=f"vt{i}",
            at=LONG_AGO,
            gone=now - timedelta(days=days) if deleted else None,
            d=deleted,
        )
    purge = ["db", "purge", "--service", "cinder", "--url", cinder_url, "--age-in-days", "5"]

    code, data = run_json(capsys, *purge, "--dry-run")
    assert (code, data["purged"], data["age_in_days"]) == (0, {"volume_types": 2}, 5)
    assert count(cinder_url, "volume_types") == 4
    code, out, _ = run(capsys, *purge)
    assert code == 0
    assert out.splitlines()[0].endswith("purged 2 row(s) deleted more than 5 day(s) ago")
    assert [r["id"] for r in rows(cinder_url, "SELECT id FROM volume_types ORDER BY id")] == [3, 4]


# --- quota check and sync --------------------------------------------------------------------


def nova_usage(url: str, project: str, user: str, resource: str, in_use: int) -> None:
    sql(
        url,
        "INSERT INTO quota_usages (project_id, user_id, resource, in_use, reserved, deleted, created_at)"
        " VALUES (:project, :user, :resource, :in_use, 0, 0, :at)",
        project=project,
        user=user,
        resource=resource,
        in_use=in_use,
        at=LONG_AGO,
    )


def cinder_usage(url: str, project: str, resource: str, in_use: int) -> None:
    sql(
        url,
        "INSERT INTO quota_usages (project_id, resource, in_use, reserved, deleted, created_at)"
        " VALUES (:project, :resource, :in_use, 0, false, :at)",
        project=project,
        resource=resource,
        in_use=in_use,
        at=LONG_AGO,
    )


def test_nova_quota_check_exits_1_when_out_of_sync_and_sync_repairs(
    nova_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    nova_usage(nova_url, "p1", "u1", "instances", 0)  # nothing runs: in sync
    quota = ["quota", "--service", "nova", "--url", nova_url]

    code, out, _ = run(capsys, "quota", "check", *quota[1:])
    assert code == 0
    assert out.splitlines()[1].split() == ["project", "user", "resource", "recorded", "actual", "reserved", "status"]
    assert out.splitlines()[3].split() == ["p1", "u1", "instances", "0", "0", "0", "ok"]

    nova_usage(nova_url, "p2", "u2", "instances", 3)  # drifted: nothing runs in p2 either
    code, data = run_json(capsys, "quota", "check", *quota[1:])
    assert code == 1
    assert (data["checked"], data["out_of_sync"]) == (2, 1)
    assert data["usages"][1] == {
        "project_id": "p2",
        "user_id": "u2",
        "resource": "instances",
        "in_use": 3,
        "reserved": 0,
        "actual": 0,
        "in_sync": False,
    }
    code, data = run_json(capsys, "quota", "check", *quota[1:], "--project", "p1")
    assert (code, data["project_id"], data["checked"]) == (0, "p1", 1)

    code, out, _ = run(capsys, "quota", "sync", *quota[1:])
    assert code == 0
    assert out.splitlines()[0].endswith(": 1 repaired")
    assert out.splitlines()[3].split() == ["p2", "u2", "instances", "3", "0", "0"]
    assert run(capsys, "quota", "check", *quota[1:])[0] == 0
    assert rows(nova_url, "SELECT in_use FROM quota_usages WHERE project_id = 'p2'") == [{"in_use": 0}]


def test_cinder_quota_check_and_sync(cinder_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    cinder_usage(cinder_url, "p1", "volumes", 2)
    cinder_usage(cinder_url, "p1", "gigabytes", 0)
    quota = ["--service", "cinder", "--url", cinder_url]

    code, data = run_json(capsys, "quota", "check", *quota)
    assert code == 1
    assert [(u["resource"], u["user_id"], u["in_sync"]) for u in data["usages"]] == [
        ("gigabytes", None, True),
        ("volumes", None, False),
    ]
    code, out, _ = run(capsys, "quota", "check", *quota)
    assert code == 1 and "OUT OF SYNC" in out and "rawdb quota sync --service cinder" in out
    code, data = run_json(capsys, "quota", "sync", *quota)
    assert (code, [(u["resource"], u["in_use"], u["actual"]) for u in data["repaired"]]) == (0, [("volumes", 2, 0)])
    code, data = run_json(capsys, "quota", "sync", *quota)
    assert (code, data["repaired"]) == (0, [])
    assert run(capsys, "quota", "check", *quota)[0] == 0


# --- the progress line and the summary table -------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_counts_rows_per_table_and_in_all_and_erases_itself() -> None:
    stream = Terminal()
    line = ProgressLine(stream, "archiving", interval=0)
    line("instances", 1000)
    line("instance_extra", 10)
    line("instances", 500)
    drawn = stream.getvalue().split("\r")
    assert drawn[1:] == [
        "archiving: instances 1000 row(s), 1000 in all",
        "archiving: instance_extra 10 row(s), 1010 in all",
        "archiving: instances 1500 row(s), 1510 in all   ",  # blanks what the longer line left
    ]
    line.close()
    assert stream.getvalue().endswith("\r" + " " * len(drawn[-1].rstrip()) + "\r")
    assert (line.rows, line.total) == ({"instances": 1500, "instance_extra": 10}, 1510)


def test_a_progress_line_is_drawn_only_on_a_terminal_and_never_with_json() -> None:
    import argparse

    assert isinstance(progress_line(argparse.Namespace(json=False), "x", Terminal()), ProgressLine)
    assert progress_line(argparse.Namespace(json=True), "x", Terminal()) is None
    assert progress_line(argparse.Namespace(json=False), "x", io.StringIO()) is None


def test_the_summary_table_lists_tables_in_order_and_a_total() -> None:
    assert summary_table({"instances": 12, "block_device_mapping": 3}, "Rows archived").splitlines() == [
        "Table                 Rows archived",
        "--------------------  -------------",
        "instances                        12",
        "block_device_mapping              3",
        "Total                            15",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1)),
        ("2024-05-01 12:30", datetime(2024, 5, 1, 12, 30)),
        ("2024-05-01T12:30:15.5", datetime(2024, 5, 1, 12, 30, 15, 500000)),
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30)),
        ("2024-05-01 00:30:00-01:00", datetime(2024, 5, 1, 1, 30)),
    ],
)
def test_before_dates_are_read_as_naive_utc(text: str, expected: datetime) -> None:
    assert parse_before(text) == expected


def on_a_terminal(*argv: str) -> tuple[int, str, str]:
    """``python -m rawdb *argv`` with stderr on a terminal: its exit code, stdout, and what it drew."""
    master, slave = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "rawdb", *argv],
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    return process.returncode, process.stdout, drawn.decode()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_archive_on_a_terminal_draws_progress_on_stderr_and_keeps_stdout_clean(nova_url: str) -> None:
    deleted_key_pairs(nova_url, range(1, 4), LONG_AGO)
    argv = ["db", "archive", "--service", "nova", "--url", nova_url, "--until-complete", "--max-rows", "1"]

    code, out, drawn = on_a_terminal(*argv)
    assert code == 0
    assert "\rarchiving: key_pairs 1 row(s), 1 in all" in drawn
    assert drawn.endswith("\r")  # erased before the summary
    assert "\r" not in out and "Rows archived" in out

    deleted_key_pairs(nova_url, range(4, 5), LONG_AGO)
    code, out, drawn = on_a_terminal(*argv, "--json")
    assert (code, drawn, json.loads(out)["archived"]) == (0, "", {"key_pairs": 1})


def test_the_progress_line_counts_the_items_of_a_known_number_and_names_the_last() -> None:
    stream = Terminal()
    line = ProgressLine(stream, "checking quota usages", interval=0)
    line.step("project-one", 2, "project(s)")
    line.step("p2", 2, "project(s)")
    assert stream.getvalue().split("\r")[1:] == [
        "checking quota usages: 1 of 2 project(s) (project-one)",
        "checking quota usages: 2 of 2 project(s) (p2)         ",
    ]
    line.close()
    assert stream.getvalue().endswith("\r")


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(("action", "verb", "exit_code"), [("check", "checking", 1), ("sync", "syncing", 0)])
def test_quota_check_and_sync_on_a_terminal_count_the_projects_on_stderr(
    action: str, verb: str, exit_code: int, nova_url: str
) -> None:
    for project in ("p1", "p2", "p3"):
        nova_usage(nova_url, project, "u1", "instances", 1 if project == "p2" else 0)  # p2 drifted
    argv = ["quota", action, "--service", "nova", "--url", nova_url]

    code, out, drawn = on_a_terminal(*argv)
    assert code == exit_code
    assert f"\r{verb} quota usages: 1 of 3 project(s) (p1)" in drawn
    assert drawn.endswith("\r")  # erased before the summary
    assert "\r" not in out and "instances" in out

    code, out, drawn = on_a_terminal(*argv, "--json")
    assert drawn == ""
    data = json.loads(out)
    if action == "check":  # check repairs nothing: p2 is still out of sync
        assert (code, data["checked"], data["out_of_sync"]) == (1, 3, 1)
    else:  # the first sync repaired it
        assert (code, data["repaired"]) == (0, [])
