"""rawdb: OpenStack's Glance, Nova and Cinder database APIs, async, on hand-tuned SQL.

import rawdb

async with rawdb.connect("sqlite:///glance.db") as db:     # or postgresql://…; RAWDB_URL
    ctx = rawdb.Context(db, project_id="p1", user_id="u1")
    async with ctx.writer() as tx:                           # commit on exit
        ...
"""

from rawdb import errors
from rawdb.context import Context
from rawdb.database import Database, connect
from rawdb.decorators import reader, retry_on_deadlock, writer
from rawdb.observe import StatementCounter, StatementEvent
from rawdb.statement import Statement

__all__ = [
    "Context",
    "Database",
    "Statement",
    "StatementCounter",
    "StatementEvent",
    "connect",
    "errors",
    "reader",
    "retry_on_deadlock",
    "writer",
]

__version__ = "0.1.0"
