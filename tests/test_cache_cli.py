"""``rawdb cache``: every command on a real cache directory, local and shared (both backends)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from pathlib import Path

import pytest

import rawdb
from rawdb import schema
from rawdb.cli import main
from rawdb.glance.cache_cli import human_size, parse_size
from rawdb.glance.image_cache import Driver

NODE = "http://node-a:9292"


@pytest.fixture(params=["local", "sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """The options naming the cache: a directory, and for a shared cache a bootstrapped database."""
    options = ["--dir", str(tmp_path / "cache")]
    if request.param == "local":
        return options
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))

    async def bootstrap() -> None:
        async with rawdb.connect(url) as db:
            await schema.bootstrap(db, "glance")

    asyncio.run(bootstrap())
    return [*options, "--url", url, "--node-url", NODE]


def driver(where: list[str]) -> Driver:
    options = dict(zip(where[::2], where[1::2], strict=True))
    return Driver(options["--dir"], database=options.get("--url"), node_url=options.get("--node-url"))


def cache_images(where: list[str], images: dict[str, int], reads: dict[str, int]) -> None:
    async def fill() -> None:
        async with driver(where) as cache:
            for image_id, size in images.items():
                async with cache.open_for_write(image_id) as f:
                    await f.write(b"x" * size)
                await asyncio.sleep(0.01)
            for image_id, count in reads.items():
                for _ in range(count):
                    async with cache.open_for_read(image_id) as f:
                        await f.read()

    asyncio.run(fill())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["cache", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_the_cached_images(where: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", *where)
    assert (code, out.splitlines()[-1]) == (0, "0 cached image(s), 0 B")
    cache_images(where, {"img-b": 3 * 1024 * 1024, "img-a": 10}, {"img-a": 2})
    code, out, _ = run(capsys, "list", *where)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == [
        "ID",
        "SIZE",
        "HITS",
        "LAST",
        "ACCESSED",
        "(UTC)",
        "LAST",
        "MODIFIED",
        "(UTC)",
    ]
    assert lines[1].split()[:4] == ["img-a", "10", "B", "2"]
    assert lines[2].split()[:4] == ["img-b", "3.0", "MiB", "0"]
    assert lines[-1] == "2 cached image(s), 3.0 MiB"
    code, out, _ = run(capsys, "list", *where, "--json")
    data = json.loads(out)
    assert (data["count"], data["size"]) == (2, 3 * 1024 * 1024 + 10)
    assert [(i["image_id"], i["size"], i["hits"]) for i in data["images"]] == [("img-a", 10, 2), ("img-b", 3145728, 0)]
    assert abs(data["images"][0]["last_accessed"] - time.time()) < 60


def test_queue_queued_and_dequeue(where: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cache_images(where, {"cached": 1}, {})
    code, out, _ = run(capsys, "queue", *where, "q1", "q2", "cached", "--json")
    assert code == 0 and json.loads(out) == {"queued": ["q1", "q2"], "skipped": ["cached"]}
    code, out, _ = run(capsys, "queue", *where, "q1")
    assert out.strip() == "q1: not queued (cached, being cached or queued)"
    queue = Path(where[1]) / "queue"
    os.utime(queue / "q2", (time.time() - 60, time.time() - 60))
    code, out, _ = run(capsys, "queued", *where)
    assert out.splitlines() == ["q2", "q1", "2 queued image(s)"]
    assert run(capsys, "dequeue", *where, "q1")[1].strip() == "dequeued q1"
    code, _, err = run(capsys, "dequeue", *where, "q1")
    assert code == 1 and "not queued" in err
    run(capsys, "queue", *where, "q3")
    code, out, _ = run(capsys, "dequeue", *where, "--all", "--json")
    assert json.loads(out) == {"dequeued": 2}
    assert sorted(os.listdir(queue)) == []


def test_delete_one_and_all(where: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cache_images(where, {"a": 5, "b": 5, "c": 5}, {})
    assert run(capsys, "delete", *where, "b") == (0, "deleted b\n", "")
    code, _, err = run(capsys, "delete", *where, "b")
    assert code == 1 and "ImageNotCached" in err
    code, _, err = run(capsys, "delete", *where)
    assert code == 1 and "one image id or --all" in err
    code, _, err = run(capsys, "delete", *where, "a", "--all")
    assert code == 1 and "one image id or --all" in err
    code, out, _ = run(capsys, "delete", *where, "--all", "--json")
    assert (code, json.loads(out)) == (0, {"deleted": 2})
    assert json.loads(run(capsys, "list", *where, "--json")[1])["count"] == 0


def test_prune_and_clean(where: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cache_images(where, {"a": 1024, "b": 1024, "c": 1024, "d": 1024}, {"a": 1})
    code, out, _ = run(capsys, "prune", *where, "--max-size", "2k")
    assert (code, out.strip()) == (0, "deleted 2 image(s), freed 2.0 KiB; 2.0 KiB left (max 2.0 KiB)")
    assert [i["image_id"] for i in json.loads(run(capsys, "list", *where, "--json")[1])["images"]] == ["a", "d"]
    with pytest.raises(SystemExit) as exited:
        main(["cache", "prune", *where, "--max-size", "lots"])
    assert exited.value.code == 2 and "not a size: 'lots'" in capsys.readouterr().err

    directory = Path(where[1])
    (directory / "invalid" / "broken").write_bytes(b"x")
    (directory / "incomplete" / "abandoned").write_bytes(b"x")  # no writer holds its lock
    (directory / "stray").write_bytes(b"x" * 10)  # a cached file whose row a crash lost
    writers = []
    for name in ("stalled", "busy"):  # writers alive: this process holds their locks
        writers.append(open(directory / "incomplete" / name, "wb"))
        fcntl.flock(writers[-1], fcntl.LOCK_EX)
    os.utime(directory / "incomplete" / "stalled", (time.time() - 7200, time.time() - 7200))
    try:
        code, out, _ = run(capsys, "clean", *where, "--stall-time", "3600", "--json")
        assert (code, json.loads(out)) == (0, {"invalid": 1, "stalled": 2, "adopted": 1, "forgotten": 0})
        assert os.listdir(directory / "incomplete") == ["busy"]
        code, out, _ = run(capsys, "clean", *where)
        assert out.strip() == (
            "deleted 0 invalid and 0 stalled file(s); adopted 0 file(s) without a row, forgot 0 row(s) without a file"
        )
    finally:
        for file in writers:
            file.close()
    assert [i["image_id"] for i in json.loads(run(capsys, "list", *where, "--json")[1])["images"]] == [
        "a",
        "d",
        "stray",
    ]


def test_nodes(where: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cache_images(where, {"img": 1}, {})
    code, out, _ = run(capsys, "nodes", *where, "img", "--json")
    expected = NODE if "--url" in where else Path(where[1]).absolute().as_uri()
    assert (code, json.loads(out)) == (0, {"image_id": "img", "nodes": [expected]})
    assert run(capsys, "nodes", *where, "other")[1].strip() == "other is cached nowhere"


def test_migrate_moves_a_legacy_cache_db(sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "legacy"
    cache_images(["--dir", str(directory)], {"old": 7}, {"old": 3})  # a local cache.db with one row

    async def bootstrap() -> None:
        async with rawdb.connect(sqlite_url) as db:
            await schema.bootstrap(db, "glance")

    asyncio.run(bootstrap())
    shared = ["--dir", str(directory), "--url", sqlite_url, "--node-url", NODE]
    assert run(capsys, "migrate", *shared, "--json")[1] == '{\n  "copied": 1\n}\n'
    assert run(capsys, "migrate", *shared)[1].strip() == f"copied 0 row(s) from {directory / 'cache.db'}"
    [image] = json.loads(run(capsys, "list", *shared, "--json")[1])["images"]
    assert (image["image_id"], image["size"], image["hits"]) == ("old", 7, 3)
    assert json.loads(run(capsys, "list", "--dir", str(directory), "--json")[1])["count"] == 0


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAWDB_CACHE_DIR", raising=False)
    code, _, err = run(capsys, "list")
    assert code == 1 and "--dir" in err
    code, _, err = run(capsys, "migrate", "--dir", str(tmp_path))
    assert code == 1 and "--url" in err
    code, _, err = run(capsys, "list", "--dir", str(tmp_path), "--url", "sqlite:///x.sqlite")
    assert code == 1 and "node_url" in err
    code, _, err = run(capsys, "queue", "--dir", str(tmp_path), "../escape")
    assert code == 1 and "cannot be cached" in err
    monkeypatch.setenv("RAWDB_CACHE_DIR", str(tmp_path / "from-env"))
    assert run(capsys, "list")[0] == 0 and (tmp_path / "from-env" / "queue").is_dir()


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1048576),
        ("500M", 500 * 1024**2),
        ("10G", 10 * 1024**3),
        ("1.5GiB", 1610612736),
        ("2tb", 2 * 1024**4),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_human_sizes() -> None:
    assert [human_size(n) for n in (0, 1023, 1024, 1610612736, 5 * 1024**5)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 GiB",
        "5120.0 TiB",
    ]
