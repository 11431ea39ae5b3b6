"""MariaDB/MySQL URLs as OpenStack's config files write them, and the session rawdb sets up."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqltools import OpenDb

import rawdb
from rawdb import errors

SESSION = rawdb.Statement.portable(
    "test.mysql.session",
    "SELECT @@SESSION.sql_mode AS sql_mode, @@SESSION.tx_isolation AS isolation, "
    "@@SESSION.collation_connection AS collation, @@SESSION.time_zone AS tz, DATABASE() AS db",
)


def _with_scheme(url: str, scheme: str, query: str = "") -> str:
    parts = urlsplit(url)
    return urlunsplit((scheme, parts.netloc, parts.path, query, ""))


@pytest.mark.parametrize(
    ("scheme", "query"),
    [
        ("mysql+pymysql", "charset=utf8"),  # nova.conf's [database] connection, as deployment tools write it
        ("mysql+pymysql", "charset=utf8mb4&plugin=dbcounter"),
        ("mariadb", ""),
        ("mysql", "charset=UTF8MB4"),
    ],
)
async def test_openstack_style_urls_open_the_same_strict_utf8mb4_session(
    mysql_url: str, open_db: OpenDb, scheme: str, query: str
) -> None:
    db = await open_db(_with_scheme(mysql_url, scheme, query))
    assert db.dialect == "mysql"
    async with rawdb.Context(db).reader() as rx:
        row = await rx.fetchrow(SESSION)
    assert row is not None
    assert {"STRICT_TRANS_TABLES", "ANSI_QUOTES", "PIPES_AS_CONCAT"} <= set(row["sql_mode"].split(","))
    assert row["isolation"] == "READ-COMMITTED"
    assert row["collation"] == "utf8mb4_nopad_bin"
    assert row["tz"] == "+00:00"
    assert row["db"] == urlsplit(mysql_url).path.lstrip("/")


async def test_a_charset_other_than_utf8_is_invalid(mysql_url: str) -> None:
    with pytest.raises(errors.Invalid, match="charset='latin1'"):
        await rawdb.connect(_with_scheme(mysql_url, "mysql+pymysql", "charset=latin1"))


async def test_an_unknown_mysql_option_is_invalid_naming_the_known_ones(mysql_url: str) -> None:
    with pytest.raises(errors.Invalid, match=r"unknown option\(s\) \['busy_timeout'\].*lock_wait_timeout"):
        await rawdb.connect(mysql_url, busy_timeout=5)


async def test_unix_socket_connects_through_the_servers_socket(mysql_url: str, open_db: OpenDb) -> None:
    sockets = ["/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock"]

    socket = next((s for s in sockets if os.path.exists(s)), None)  # noqa: ASYNC240 (a stat, once)
    if socket is None:
        pytest.skip("no MariaDB socket on this machine")
    db = await open_db(_with_scheme(mysql_url, "mysql", f"unix_socket={socket}"))
    async with rawdb.Context(db).reader() as rx:
        row = await rx.fetchrow(SESSION)
    assert row is not None and row["db"] == urlsplit(mysql_url).path.lstrip("/")


async def test_an_unreachable_server_is_a_connection_error_without_the_password() -> None:
    with pytest.raises(errors.DBConnectionError) as caught:
        await rawdb.connect("mysql+pymysql://nova:s3cret@127.0.0.1:1/nova?charset=utf8", connect_timeout=2)
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)


async def test_an_unknown_database_is_a_connection_error_naming_it(mysql_url: str) -> None:
    parts = urlsplit(mysql_url)
    missing = urlunsplit((parts.scheme, parts.netloc, "/rawdb_no_such_database", "", ""))
    with pytest.raises(errors.DBConnectionError, match="rawdb_no_such_database"):
        await rawdb.connect(missing)


def test_an_unsupported_scheme_with_an_underscore_is_named_as_written() -> None:
    from rawdb.database import url_dialect

    assert url_dialect("mysql+pymysql://nova@db/nova") == "mysql"
    assert url_dialect("mariadb+mariadbconnector://nova@db/nova") == "mysql"
    with pytest.raises(errors.Invalid, match="unsupported database URL scheme 'oracle\\+cx_oracle'"):
        url_dialect("oracle+cx_oracle://nova@db/nova")
