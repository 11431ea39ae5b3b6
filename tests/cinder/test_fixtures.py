"""The cinder fixtures give every test an empty bootstrapped database on each backend."""

from __future__ import annotations

from sqltools import count_rows, execute

import rawdb


async def test_each_test_starts_with_no_rows_whatever_the_last_one_left(cinder_db: rawdb.Database) -> None:
    assert await count_rows(cinder_db, "volumes") == 0
    assert await count_rows(cinder_db, "services") == 0
    await execute(cinder_db, "INSERT INTO services (host, topic, report_count, deleted) VALUES ('h', 't', 0, FALSE)")
    assert await count_rows(cinder_db, "services") == 1


async def test_and_the_next_one_too(cinder_db: rawdb.Database) -> None:
    assert await count_rows(cinder_db, "services") == 0
