"""The ``openstack`` targets: the OpenStack services' own DB APIs, run on rawdb's databases."""

from __future__ import annotations

import importlib
import importlib.metadata
import warnings
from collections.abc import Callable, Sequence
from typing import Any


def count_round_trips(engine: Any, add: Callable[[int, int], None]) -> None:
    """Count what a SQLAlchemy engine sends: ``add(statements, round_trips)`` as it goes.

    A statement is one cursor execute (oslo.db's explicit ``BEGIN`` on SQLite included).
    Round trips add psycopg2's implicit ``BEGIN`` before a transaction's first statement,
    the ``COMMIT`` / ``ROLLBACK`` that ends it (or the pool's reset rolling it back) and
    the pool's pre-ping at checkout.
    """
    event = importlib.import_module("sqlalchemy.event")
    pending = "rawdb_bench_begin_pending"  # a transaction began; its BEGIN has not gone out yet
    sent = "rawdb_bench_in_transaction"  # the database knows about the transaction

    def on_begin(conn: Any) -> None:
        if not conn.info.get(sent):  # on SQLite, oslo.db's listener may have sent BEGIN already
            conn.info[pending] = True

    def before_cursor_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        trips = 1
        if statement.strip().upper() == "BEGIN":  # oslo.db's explicit BEGIN on SQLite
            conn.info.pop(pending, None)
            conn.info[sent] = True
        elif conn.info.pop(pending, False):  # psycopg2 sends BEGIN on its own first
            conn.info[sent] = True
            trips += 1
        add(1, trips)

    def on_end(conn: Any) -> None:
        conn.info.pop(pending, None)
        if conn.info.pop(sent, False):
            add(0, 1)

    def on_reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        if not state.transaction_was_reset and record.info.pop(sent, False):
            add(0, 1)

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    event.listen(engine, "commit", on_end)
    event.listen(engine, "rollback", on_end)
    event.listen(engine.pool, "reset", on_reset)
    dialect = engine.dialect
    ping = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> Any:
        add(0, 1)
        return ping(dbapi_connection)

    dialect.do_ping = do_ping  # the pool's pre-ping at checkout calls the dialect's do_ping


def missing(package: str, version: str, modules: Sequence[str], install: str) -> str | None:
    """None when ``package`` at ``version``'s major release imports ``modules``; else a one-line reason."""
    try:
        installed = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return f"{package} is not installed: {install}"
    if installed.split(".")[0] != version.split(".")[0]:
        return f"{package} {installed} is installed, not {version}: {install}"
    for module in modules:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # OpenStack's imports pull in eventlet, which warns it is deprecated
                importlib.import_module(module)
        except Exception as exc:  # a missing dependency, or any failure of the import-time setup
            return f"{module} does not import ({type(exc).__name__}: {exc}): {install}"
    return None
