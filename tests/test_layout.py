"""The layout rules a newcomer can follow, checked on the source (no database needed).

- A domain module ``rawdb/<service>/x.py`` runs only statements of ``sql/<service>/x*.sql``
  (the quota engine, ``rawdb/quota``, runs ``sql/<service>/quota*.sql``), and every SQL file
  has the stem of the module that runs it.
- Every statement name used in Python exists, so a typo fails here, not in production.
- Domain modules never import the backends, the Database or the transaction machinery:
  they see a database only through the Context they are given (and ``rawdb``'s public names).
- Helpers private to a domain live in modules whose names start with ``_``: a package's
  other modules are the ones its ``MODULES`` names.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rawdb.sqlfiles import registry, sql_root

RAWDB = Path(__file__).resolve().parents[1] / "rawdb"
SERVICES = ("glance", "nova", "cinder")
DOMAINS = (*SERVICES, "quota")
STATEMENT_NAME = re.compile(r"^(glance|nova|cinder|rawdb)\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
FORBIDDEN_IMPORTS = ("rawdb.backends", "rawdb.database", "rawdb.transaction")
# The first argument of these calls names a statement built in Python, not one from sql/.
DYNAMIC = {"Statement", "portable", "compile_statement", "compile_query"}


def modules(package: str) -> list[Path]:
    return sorted(p for p in (RAWDB / package).glob("*.py") if p.name != "__init__.py")


def statement_literals(path: Path) -> Iterator[tuple[int, str]]:
    """(line, name) of every string in ``path`` that names a statement from sql/."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    dynamic: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in DYNAMIC:
                dynamic.add(id(node.args[0]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in dynamic:
            if STATEMENT_NAME.match(node.value):
                yield node.lineno, node.value
        if isinstance(node, ast.JoinedStr) and id(node) not in dynamic:  # f"glance.cache_db.{name}"
            head = node.values[0]
            if isinstance(head, ast.Constant) and isinstance(head.value, str) and head.value.count(".") == 2:
                if STATEMENT_NAME.match(head.value + "x"):
                    yield node.lineno, head.value + "*"


def quota_statements(path: Path) -> Iterator[tuple[int, str]]:
    """(line, name) of the quota engine's ``service.sql("name")`` calls."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sql":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def test_every_statement_name_used_in_python_exists() -> None:
    known = registry()
    missing = []
    for path in sorted(RAWDB.rglob("*.py")):
        if "bench" in path.relative_to(RAWDB).parts:
            continue  # the harness names OpenStack's own modules (cinder.db.api), not statements
        for line, name in statement_literals(path):
            if name.endswith("*"):
                if not any(n.startswith(name[:-1]) for n in known):
                    missing.append(f"{path.relative_to(RAWDB.parent)}:{line}: {name}")
            elif name not in known:
                missing.append(f"{path.relative_to(RAWDB.parent)}:{line}: {name}")
    for path in modules("quota"):
        for line, name in quota_statements(path):
            if not any(f"{service}.quota.{name}" in known for service in ("nova", "cinder")):
                missing.append(f"{path.relative_to(RAWDB.parent)}:{line}: <service>.quota.{name}")
    assert missing == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_domain_module_runs_only_the_statements_of_its_own_sql_file(service: str) -> None:
    strays = []
    for path in modules(service):
        for line, name in statement_literals(path):
            if name.startswith(f"{service}.") and not name.startswith(f"{service}.{path.stem}."):
                strays.append(f"{path.relative_to(RAWDB.parent)}:{line}: {name}")
    assert strays == []


def test_every_sql_file_has_the_stem_of_the_module_that_runs_it() -> None:
    orphans = []
    root = sql_root()
    for path in sorted(root.rglob("*.sql")):
        rel = path.relative_to(root)
        if rel.parts[0] == "schema":
            continue
        namespace, stem = rel.parts[0], path.name.split(".")[0]
        candidates = [RAWDB / namespace / f"{stem}.py", RAWDB / stem / "__init__.py"]
        if namespace == "rawdb":
            candidates.append(RAWDB / stem / "__init__.py")
        if not any(c.exists() for c in candidates):
            orphans.append(str(rel))
    assert orphans == []


@pytest.mark.parametrize("package", [*DOMAINS, "conventions"])
def test_domain_modules_never_import_the_backends_the_database_or_the_transaction(package: str) -> None:
    offenders = []
    for path in [*modules(package), RAWDB / package / "__init__.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith(FORBIDDEN_IMPORTS):
                    offenders.append(f"{path.relative_to(RAWDB.parent)}:{node.lineno}: {name}")
    assert offenders == []


@pytest.mark.parametrize("package", DOMAINS)
def test_a_domains_public_modules_are_the_ones_it_names_and_the_rest_start_with_an_underscore(package: str) -> None:
    declared = importlib.import_module(f"rawdb.{package}").MODULES
    public = {p.stem for p in modules(package) if not p.stem.startswith("_")}
    assert public == set(declared)
