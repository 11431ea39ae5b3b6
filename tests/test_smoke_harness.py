import rawdb


async def test_harness_gives_each_backend_an_empty_database(db: rawdb.Database, backend: str) -> None:
    assert db.dialect == backend
    assert await db.ping() > 0
