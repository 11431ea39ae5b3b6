"""A scratch PostgreSQL primary with a hot standby of its own, each on a free port.

The primary is a ``pgcluster.ScratchCluster`` made with ``wal_level=replica``; the standby is
a cluster of the same version whose data directory is replaced by ``pg_basebackup -R`` of the
primary, so it starts streaming from it as a hot standby.  Both are removed with
``pg_dropcluster``.  Tests that need them skip with the reason where the tools are missing —
except under ``CI=true``, where that fails.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pgcluster

# Neither cluster must survive a crash of the machine: spare them the fsyncs.
_FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
_PRIMARY = ("wal_level=replica", "max_wal_senders=4", *_FAST)
_STANDBY = ("hot_standby=on", "wal_receiver_status_interval=1s", *_FAST)


def unavailable() -> str | None:
    """Why a primary and standby cannot be made here, or None."""
    reason = pgcluster.unavailable()
    if reason is not None:
        return reason
    if shutil.which("pg_basebackup") is None and not _basebackup(pgcluster._version() or "").exists():
        return "pg_basebackup is missing (PostgreSQL's client tools)"
    return None


def _basebackup(version: str) -> Path:
    return Path(f"/usr/lib/postgresql/{version}/bin/pg_basebackup")


class Cluster(pgcluster.ScratchCluster):
    """A scratch cluster created with extra ``postgresql.conf`` settings."""

    def __init__(self, settings: tuple[str, ...]) -> None:
        super().__init__()
        self.settings = settings

    @property
    def data_directory(self) -> Path:
        return Path(f"/var/lib/postgresql/{self.version}/{self.name}")


class Pair:
    """``primary`` and ``standby`` (started, streaming); ``drop()`` removes both."""

    def __init__(self) -> None:
        self.primary = Cluster(_PRIMARY)
        self.standby = Cluster(_STANDBY)

    def create(self) -> None:
        self.primary.create()
        self.primary.start()
        self.standby.create()  # its configuration (port, settings); the data comes from the primary
        data = self.standby.data_directory
        for entry in data.iterdir():  # emptied, not removed: its parent is not postgres's to write
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        tool = _basebackup(self.primary.version)
        basebackup = str(tool) if tool.exists() else "pg_basebackup"
        self.standby._run(
            "runuser",
            "-u",
            "postgres",
            "--",
            basebackup,
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-D",
            str(data),
            "-R",  # standby.signal and primary_conninfo
            "-X",
            "stream",
            "-c",
            "fast",
        )
        self.standby.start()

    def drop(self) -> None:
        self.standby.drop()
        self.primary.drop()
