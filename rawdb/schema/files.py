"""The versioned DDL scripts under ``sql/schema/<service>/``.

``sql/schema/<service>/<dialect>/NNNN_<what>.sql`` is for one dialect;
``sql/schema/<service>/NNNN_<what>.sql`` is the same on every dialect, except on a dialect
whose folder has a file of the same name, which replaces it there (MariaDB has no partial
indexes, so it says ``0002_rawdb_indexes.sql`` its own way).  Versions are numbered per
service and applied in order; each is recorded with the SHA-256 of its text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from rawdb.errors import SchemaError
from rawdb.sqlfiles import sql_root
from rawdb.statement import DIALECTS

_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version of one service, for one dialect."""

    service: str
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.replace("\r\n", "\n").encode()).hexdigest()


def schema_root() -> Path:
    return sql_root() / "schema"


def services() -> list[str]:
    """The services rawdb has a schema for (``glance``, ...)."""
    root = schema_root()
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def migrations(service: str, dialect: str) -> list[Migration]:
    """The service's schema versions for ``dialect``, in order.

    A file in the dialect's folder replaces the portable file of the same name (the same
    version and what): that dialect needs other text for the same change.

    :raises SchemaError: unknown service or dialect, a badly named file, two files claiming
        one version in one folder, or a dialect's file taking a portable file's version under
        another name
    """
    if dialect not in DIALECTS:
        raise SchemaError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
    base = schema_root() / service
    if service not in services():
        raise SchemaError(f"no schema for service {service!r}; rawdb has: {', '.join(services()) or 'none'}")
    found = _folder(service, base)
    for version, migration in _folder(service, base / dialect).items():
        portable = found.get(version)
        if portable is not None and portable.path.name != migration.path.name:
            raise SchemaError(
                f"{migration.path}: version {version} of {service} is also {portable.path}; a {dialect} file "
                f"replaces a portable one only under the same name ({portable.path.name})"
            )
        found[version] = migration
    if not found:
        raise SchemaError(f"no schema files for {service} on {dialect} under {base}")
    return [found[v] for v in sorted(found)]


def _folder(service: str, folder: Path) -> dict[int, Migration]:
    """The schema files directly in ``folder``, by version (none if it does not exist)."""
    found: dict[int, Migration] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise SchemaError(f"{path}: schema files are named NNNN_what.sql (four digits, lower case)")
        version = int(match.group("version"))
        if version in found:
            raise SchemaError(f"{path}: version {version} of {service} is also {found[version].path}")
        found[version] = Migration(service, version, match.group("name"), path, path.read_text(encoding="utf-8"))
    return found
