"""A scratch PostgreSQL cluster of a test's own, on a free port, that it may stop and restart.

Made with Debian's ``pg_createcluster`` / ``pg_ctlcluster`` (postgresql-common), trust
authentication on loopback; removed with ``pg_dropcluster``.  Tests that need one skip
with the reason where those tools are missing — except under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _version() -> str | None:
    installed = Path("/etc/postgresql").glob("*")
    versions = sorted(installed, key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()])
    return versions[-1].name if versions else None


def unavailable() -> str | None:
    """Why a scratch cluster cannot be made here, or None."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"PostgreSQL cluster tools are missing: {', '.join(missing)} (Debian's postgresql-common)"
    if _version() is None:
        return "no PostgreSQL version is installed under /etc/postgresql"
    if os.geteuid() != 0:
        return "pg_createcluster must run as root to create a cluster owned by postgres"
    return None


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true requires a scratch PostgreSQL cluster)", pytrace=False)
    pytest.skip(reason)


class ScratchCluster:
    """One cluster: ``start()``, ``stop()``, ``restart()``, ``drop()``; ``url`` to connect."""

    def __init__(self) -> None:
        version = _version()
        assert version is not None
        self.version = version
        self.name = f"rawdb_{uuid.uuid4().hex[:8]}"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stdout}{result.stderr}")

    settings: tuple[str, ...] = ()  # extra postgresql.conf settings, name=value

    def create(self) -> None:
        gucs = [arg for setting in self.settings for arg in ("-o", setting)]
        self._run(
            "pg_createcluster",
            self.version,
            self.name,
            "-p",
            str(self.port),
            "--start-conf=manual",
            *gucs,
            "--",
            "--auth-host=trust",
            "--auth-local=trust",
        )

    def _ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *extra)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def drop(self) -> None:
        subprocess.run(
            ["pg_dropcluster", "--stop", self.version, self.name], capture_output=True, text=True, timeout=120
        )
