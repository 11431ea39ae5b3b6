"""A PgBouncer of the tests' own, in transaction pooling mode, in front of the test PostgreSQL.

Debian's ``pgbouncer`` binary, started on a free loopback port with its ini, auth file, log
in a temporary directory, and stopped afterwards.  Every database name is passed
through to the PostgreSQL server the tests use (``* = host=... port=...``), the users
connect as themselves without a password (``auth_type = trust``).  Tests that need it skip
with the reason where the binary is missing — except under ``CI=true``.

A URL through PgBouncer carries no ``search_path`` (a startup parameter PgBouncer refuses),
so a test's database there is a database, not a schema: made, emptied and dropped directly
on the server, used through the bouncer (``service_shared`` for a bootstrapped service).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import asyncpg
import pytest
import servicedb
from sqltools import pg_create_database, pg_database_url, pg_drop_database

# PgBouncer refuses to run as root: it switches to this user when started by root.
_RUN_AS = ("postgres", "nobody")


def unavailable() -> str | None:
    """Why a PgBouncer cannot be started here, or None."""
    if shutil.which("pgbouncer") is None and not Path("/usr/sbin/pgbouncer").exists():
        return "pgbouncer is not installed (Debian's pgbouncer package)"
    return None


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true requires PgBouncer)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Bouncer:
    """One PgBouncer process: ``start()``, ``stop()``; ``url(database)`` to connect through it."""

    def __init__(self, server_url: str, single: dict[str, str] | None = None) -> None:
        """``single``: database aliases (alias -> server database) served by one server connection."""
        parts = urlsplit(server_url)
        query = dict(parse_qsl(parts.query))
        # a URL may name a socket directory (?host=/var/run/postgresql) instead of a host
        self.server_host = parts.hostname or query.get("host") or "127.0.0.1"
        self.server_port = parts.port or int(query.get("port") or 5432)
        self.user = parts.username or query.get("user") or pwd.getpwuid(os.geteuid()).pw_name
        self.single = dict(single or {})
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rawdb_pgbouncer_"))
        self.ini = self.dir / "pgbouncer.ini"
        self.log = self.dir / "pgbouncer.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, server_url: str) -> str:
        """``server_url`` (a database of the server behind) through the bouncer."""
        parts = urlsplit(server_url)
        netloc = f"{self.user}@127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))  # (a socket's ?host= is the server's)

    def rawdb_url(self, server_url: str) -> str:
        """rawdb's URL of ``server_url``'s database through the bouncer: ``url()`` with ``pgbouncer=true``."""
        return f"{self.url(server_url)}?pgbouncer=true"

    def _write_config(self) -> None:
        (self.dir / "users.txt").write_text(f'"{self.user}" ""\n')
        self.ini.write_text(
            "\n".join(
                [
                    "[databases]",
                    *(
                        f"{alias} = host={self.server_host} port={self.server_port} dbname={name} pool_size=1"
                        for alias, name in self.single.items()
                    ),
                    f"* = host={self.server_host} port={self.server_port}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {self.dir / 'users.txt'}",
                    "pool_mode = transaction",
                    "max_client_conn = 400",
                    # few server connections per database, closed soon when idle: a worker's
                    # bouncer serves several databases, and the server's max_connections is shared
                    "default_pool_size = 12",
                    "server_idle_timeout = 2",
                    # server sessions in turn, not the last one used first: a client that leaned
                    # on a session's state from an earlier transaction meets another session
                    "server_round_robin = 1",
                    f"logfile = {self.log}",
                    "",
                ]
            )
        )

    def start(self) -> None:
        self._write_config()
        command = [shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"]
        if os.geteuid() == 0:
            user = next((name for name in _RUN_AS if _has_user(name)), None)
            if user is None:
                raise RuntimeError("pgbouncer refuses to run as root and there is no postgres or nobody user")
            entry = pwd.getpwnam(user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            for path in self.dir.iterdir():
                os.chown(path, entry.pw_uid, entry.pw_gid)
            command += ["-u", user]
        # in the foreground, a child of this process: stopped and reaped by stop()
        self.process = subprocess.Popen([*command, str(self.ini)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            if _answers(self.port):
                return
            time.sleep(0.05)
        self.stop(keep_files=True)
        log = self.log.read_text() if self.log.exists() else ""
        shutil.rmtree(self.dir, ignore_errors=True)
        raise RuntimeError(f"pgbouncer did not start: {log}")

    def stop(self, keep_files: bool = False) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None
        if not keep_files:
            shutil.rmtree(self.dir, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


async def empty_database(server_url: str) -> None:
    """Drop every schema of the database at ``server_url`` and make ``public`` anew, directly on the server.

    Emptying a database is cheaper than making one anew: DROP DATABASE waits for the
    bouncer's server sessions it ends.  A session that still holds a lock there (a test's
    connection left in a transaction) is ended after 5 s rather than waited for.
    """
    conn = await asyncpg.connect(server_url, timeout=5)
    try:
        await conn.execute("SET lock_timeout = '5s'")
        schemas = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%'"
        )
        drop = "".join(f'DROP SCHEMA "{row["nspname"]}" CASCADE; ' for row in schemas) + "CREATE SCHEMA public"
        try:
            await conn.execute(drop)
        except asyncpg.LockNotAvailableError:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            await conn.execute(drop)
    finally:
        await conn.close()


def service_shared(bouncer: Bouncer, server_url: str, service: str) -> Iterator[str]:
    """rawdb's URL through ``bouncer`` of a database with the service's schema (dropped after).

    The database is made directly on the server and bootstrapped through the bouncer.
    """
    name = f"rawdb_pgb_{service}_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_create_database(server_url, name))
    try:
        url = bouncer.rawdb_url(pg_database_url(server_url, name))
        asyncio.run(servicedb.bootstrap(url, service))
        yield url
    finally:
        asyncio.run(pg_drop_database(server_url, name))
