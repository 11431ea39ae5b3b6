"""A scratch three-node MariaDB Galera cluster on loopback, each node on free ports.

Node 1 is initialised with ``mariadb-install-db`` and bootstraps the cluster
(``--wsrep-new-cluster``); nodes 2 and 3 join it and receive its data by rsync SST.  The
nodes run as the ``mysql`` user (SST fails as root), each with a data directory of its own
under a temporary directory that ``stop()`` removes.  Tests that need a cluster skip with the
reason where ``mariadbd``, ``galera-4`` or rsync is missing — except under ``CI=true``, where
that fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PROVIDERS = (Path("/usr/lib/galera/libgalera_smm.so"), Path("/usr/lib/libgalera_smm.so"))
SERVER = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")


def _provider() -> Path | None:
    return next((path for path in PROVIDERS if path.exists()), None)


def _server() -> str | None:
    return next((path for path in SERVER if Path(path).exists()), shutil.which("mariadbd"))


def unavailable() -> str | None:
    """Why a Galera cluster cannot be made here, or None."""
    if _server() is None:
        return "mariadbd is missing (Debian's mariadb-server)"
    if _provider() is None:
        return "libgalera_smm.so is missing (Debian's galera-4)"
    missing = [tool for tool in ("mariadb-install-db", "rsync") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} missing (Debian's mariadb-server and rsync)"
    try:
        pwd.getpwnam("mysql")
    except KeyError:
        return "no mysql user to run the nodes as"
    if os.geteuid() != 0:
        return "the nodes must be started as root (they run as the mysql user)"
    return None


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true requires a scratch Galera cluster)", pytrace=False)
    pytest.skip(reason)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:  # all bound at once, so no two are the same
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


_running: list[Cluster] = []  # this process's started clusters


def spread(url: str) -> list[str]:
    """``url`` (a database on a node of a running cluster) on every node of it, its own node first."""
    parts = urlsplit(url)
    for cluster in _running:
        ports = [node.port for node in cluster.nodes]
        if parts.port in ports:
            ordered = sorted(ports, key=lambda port: port != parts.port)
            return [urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}")) for port in ordered]
    raise LookupError(f"{url} is not on a running Galera cluster")


class Node:
    """One ``mariadbd`` of the cluster: ``url`` to connect (root, no password)."""

    def __init__(self, number: int, home: Path, ports: list[int]) -> None:
        self.number = number
        self.home = home / f"n{number}"
        self.port, self.gcomm, self.ist, self.sst = ports
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/test"

    def command(self, cluster: str, peers: str, *, bootstrap: bool) -> list[str]:
        data = self.home / "data"
        return [
            str(_server()),
            "--no-defaults",
            "--user=mysql",
            f"--datadir={data}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.home / 'mysqld.sock'}",
            # Its own: a starting server deletes every #sql* file in its tmpdir, and those in
            # /tmp belong to the machine's MariaDB (its temporary tables, in use).
            f"--tmpdir={self.home / 'tmp'}",
            f"--pid-file={self.home / 'mysqld.pid'}",
            f"--log-error={self.home / 'error.log'}",
            "--binlog-format=ROW",
            "--default-storage-engine=InnoDB",
            "--innodb-autoinc-lock-mode=2",
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=32M",
            "--innodb-flush-log-at-trx-commit=0",  # a scratch cluster: no fsync per commit
            "--innodb-doublewrite=0",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--max-connections=400",
            "--skip-name-resolve",
            "--wsrep-on=ON",
            f"--wsrep-provider={_provider()}",
            f"--wsrep-cluster-name={cluster}",
            f"--wsrep-cluster-address=gcomm://{peers}",
            f"--wsrep-node-name=n{self.number}",
            f"--wsrep-node-address=127.0.0.1:{self.gcomm}",
            f"--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:{self.gcomm};"
            f"ist.recv_addr=127.0.0.1:{self.ist};gcache.size=32M",
            "--wsrep-sst-method=rsync",
            f"--wsrep-sst-receive-address=127.0.0.1:{self.sst}",
            *(["--wsrep-new-cluster"] if bootstrap else []),
        ]

    def query(self, sql: str) -> str:
        """Run ``sql`` over the node's socket as root; its output (tab-separated, no headers)."""
        result = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.home / 'mysqld.sock'}", "-uroot", "-N", "-B", "-e", sql],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"node {self.number}: {sql!r} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def log(self) -> str:
        path = self.home / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"


class Cluster:
    """Three nodes: ``start()`` brings them up Synced, ``stop()`` ends them and removes their files."""

    SIZE = 3

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="rawdb_galera_"))
        ports = _free_ports(4 * self.SIZE)
        self.nodes = [Node(n + 1, self.home, ports[4 * n : 4 * n + 4]) for n in range(self.SIZE)]
        self.name = self.home.name
        self.peers = ",".join(f"127.0.0.1:{node.gcomm}" for node in self.nodes)
        self._turn = -1

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def next_url(self) -> str:
        """The nodes' URLs in turn, one per call."""
        self._turn = (self._turn + 1) % self.SIZE
        return self.urls[self._turn]

    def start(self) -> None:
        mysql = pwd.getpwnam("mysql")
        os.chmod(self.home, 0o755)
        for node in self.nodes:
            for path in (node.home, node.home / "data", node.home / "tmp"):
                path.mkdir()
                os.chown(path, mysql.pw_uid, mysql.pw_gid)
        first = self.nodes[0]
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                "--user=mysql",
                f"--datadir={first.home / 'data'}",
                f"--tmpdir={first.home / 'tmp'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
        self._launch(first, bootstrap=True)
        first.query(
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; "
            "CREATE DATABASE test"
        )
        for node in self.nodes[1:]:
            self._launch(node, bootstrap=False)
        size = first.query("SHOW STATUS LIKE 'wsrep_cluster_size'").split()[-1]
        if size != str(self.SIZE):
            raise RuntimeError(f"the cluster has {size} nodes, not {self.SIZE}")
        _running.append(self)

    def _launch(self, node: Node, *, bootstrap: bool) -> None:
        node.process = subprocess.Popen(
            node.command(self.name, self.peers, bootstrap=bootstrap),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                raise RuntimeError(f"node {node.number} exited: {node.log()}")
            try:
                state = node.query("SHOW STATUS LIKE 'wsrep_local_state_comment'").split()[-1]
            except (RuntimeError, IndexError):
                state = None
            if state == "Synced":
                return
            time.sleep(0.25)
        raise RuntimeError(f"node {node.number} did not reach Synced: {node.log()}")

    def wait_replicated(self, url: str, within: float = 30.0) -> None:
        """Wait until every node holds ``url``'s database with as many tables as ``url``'s node.

        A node applies a DDL statement another node ran (``CREATE DATABASE``, a bootstrap's
        tables) a moment after that node returned.
        """
        parts = urlsplit(url)
        database = parts.path.lstrip("/")
        count = f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{database}'"
        exists = f"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{database}'"
        origin = next(node for node in self.nodes if node.port == parts.port)
        wanted = origin.query(count)
        deadline = time.monotonic() + within
        for node in self.nodes:
            while (node.query(exists), node.query(count)) != ("1", wanted):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{database} did not reach node {node.number} in {within:.0f} s")
                time.sleep(0.05)

    def stop(self) -> None:
        if self in _running:
            _running.remove(self)
        for node in reversed(self.nodes):
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)
