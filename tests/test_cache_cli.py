"""``rawdb cache``: every command on a real cache directory, local and shared (both backends)."""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import time
from pathlib import Path

import pytest

import rawdb
from rawdb import schema
from rawdb.cli import main
from rawdb.console import Exit
from rawdb.glance import cache_db
from rawdb.glance.cache_cli import human_size, parse_size
from rawdb.glance.image_cache import Driver

NODE = "http://node-a:9292"


def bootstrap(url: str) -> None:
    async def run() -> None:
        async with rawdb.connect(url) as db:
            await schema.bootstrap(db, "glance")

    asyncio.run(run())


@pytest.fixture(params=["local", "sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """The options naming a cache that exists: a directory set up by the driver, and for a
    shared cache a bootstrapped database where this node is registered."""
    options = ["--dir", str(tmp_path / "cache")]
    if request.param != "local":
        url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
        bootstrap(url)
        options += ["--url", url, "--node-url", NODE]
    asyncio.run(open_and_close(driver(options)))
    return options


async def open_and_close(cache: Driver) -> None:
    async with cache:
        pass


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest) -> str:
    """An empty glance database on each backend."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def driver(where: list[str]) -> Driver:
    options = dict(zip(where[::2], where[1::2], strict=True))
    return Driver(options["--dir"], database=options.get("--url"), node_url=options.get("--node-url"))


def tree(directory: Path) -> list[str]:
    """Every path under ``directory``, relative, sorted (what a command may have created)."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


class Terminal(io.StringIO):
    """Standard input as a terminal where the operator types ``answer``."""

    def isatty(self) -> bool:
        return True


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
    code, out, _ = run(capsys, "dequeue", *where, "--all", "--force", "--json")
    assert json.loads(out) == {"dequeued": 2}
    assert sorted(os.listdir(queue)) == []


def test_delete_one_and_all(where: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cache_images(where, {"a": 5, "b": 5, "c": 5}, {})
    assert run(capsys, "delete", *where, "b") == (0, "deleted b\n", "")
    code, _, err = run(capsys, "delete", *where, "b")
    assert code == 1 and "ImageNotCached" in err
    code, _, err = run(capsys, "delete", *where)
    assert code == Exit.USAGE and "one image id or --all" in err
    code, _, err = run(capsys, "delete", *where, "a", "--all")
    assert code == Exit.USAGE and "one image id or --all" in err
    code, out, _ = run(capsys, "delete", *where, "--all", "--force", "--json")
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
    monkeypatch.delenv("RAWDB_CACHE_NODE_URL", raising=False)
    code, _, err = run(capsys, "list")
    assert code == Exit.USAGE and "give the cache directory: --dir DIR, or set RAWDB_CACHE_DIR" in err
    code, _, err = run(capsys, "migrate", "--dir", str(tmp_path))
    assert code == Exit.USAGE and "give --url and --node-url" in err
    code, _, err = run(capsys, "list", "--dir", str(tmp_path), "--url", "sqlite:///x.sqlite")
    assert code == Exit.USAGE and "--url needs this node's --node-url" in err
    assert not Path("x.sqlite").exists()
    asyncio.run(open_and_close(Driver(tmp_path)))
    code, _, err = run(capsys, "queue", "--dir", str(tmp_path), "../escape")
    assert code == Exit.FAILED and "cannot be cached" in err
    monkeypatch.setenv("RAWDB_CACHE_DIR", str(tmp_path))
    code, out, _ = run(capsys, "list")  # the directory comes from RAWDB_CACHE_DIR
    assert (code, out.splitlines()[-1]) == (Exit.OK, "0 cached image(s), 0 B")


# --- commands that only read create nothing -------------------------------------------------


@pytest.mark.parametrize("argv", [["list"], ["queued"], ["nodes", "img"], ["queue", "img"], ["clean"], ["prune"]])
def test_a_directory_that_does_not_exist_is_nothing_there(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "mistyped"
    code, out, err = run(capsys, argv[0], "--dir", str(missing), *argv[1:])
    assert (code, out) == (Exit.NOT_THERE, "")
    assert err == f"rawdb: no image cache at {missing}: it does not exist (check --dir)\n"
    assert not missing.exists()


def test_a_directory_that_is_not_a_cache_is_nothing_there_and_stays_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    for argv in (["list"], ["queued"], ["queue", "img"], ["delete", "--all", "--force"]):
        code, _, err = run(capsys, argv[0], "--dir", str(tmp_path), *argv[1:])
        assert code == Exit.NOT_THERE, argv
        assert err.startswith(f"rawdb: {tmp_path} is not an image cache: it has no cache.db")
    assert tree(tmp_path) == ["notes.txt"]
    code, _, err = run(capsys, "list", "--dir", str(tmp_path / "notes.txt"))
    assert (code, err) == (
        Exit.NOT_THERE,
        f"rawdb: no image cache at {tmp_path / 'notes.txt'}: it is not a directory (check --dir)\n",
    )


def test_reading_a_shared_cache_as_an_unknown_node_registers_nothing(
    shared_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap(shared_url)
    shared = ["--dir", str(tmp_path / "cache"), "--url", shared_url, "--node-url", NODE]
    asyncio.run(open_and_close(driver(shared)))
    for argv in (["list"], ["queued"], ["nodes", "img"]):
        code, _, err = run(capsys, argv[0], *shared[:4], "--node-url", "http://typo:9292", *argv[1:])
        assert code == Exit.NOT_THERE, argv
        assert "node http://typo:9292 has never used the shared cache tables" in err

    async def registered(url: str) -> bool:
        async with rawdb.connect(shared_url) as db:
            try:
                await cache_db.node_reference_get_by_url(db.context(is_admin=True), url)
            except rawdb.errors.NodeReferenceNotFound:
                return False
            return True

    assert asyncio.run(registered(NODE)) is True
    assert asyncio.run(registered("http://typo:9292")) is False
    assert run(capsys, "queue", *shared[:4], "--node-url", "http://new:9292", "img")[0] == Exit.OK
    assert asyncio.run(registered("http://new:9292")) is True  # a command that writes registers its node


def test_a_database_without_the_glance_tables_says_to_bootstrap(
    shared_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    asyncio.run(open_and_close(Driver(cache)))
    before = tree(cache)
    for argv in (["list"], ["queue", "img"]):
        code, out, err = run(capsys, *argv, "--dir", str(cache), "--url", shared_url, "--node-url", NODE)
        assert (code, out) == (Exit.NOT_THERE, ""), argv
        assert "has no glance tables: run rawdb schema bootstrap --service glance --url " in err
        assert len(err.splitlines()) == 1
    assert tree(cache) == before


def test_an_unreachable_database_cannot_connect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(open_and_close(Driver(tmp_path)))
    unreachable = "postgresql://root@127.0.0.1:1/glance?connect_timeout=1"
    code, _, err = run(capsys, "list", "--dir", str(tmp_path), "--url", unreachable, "--node-url", NODE)
    assert code == Exit.CANNOT_CONNECT
    assert err.startswith("rawdb: DBConnectionError: ")


# --- a shared cache's directory is not opened in local mode ---------------------------------


def test_local_mode_refuses_a_directory_whose_rows_are_in_the_shared_tables(
    shared_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap(shared_url)
    shared = ["--dir", str(tmp_path / "cache"), "--url", shared_url, "--node-url", NODE]
    cache_images(shared, {"img": 4}, {})
    before = tree(tmp_path / "cache")
    for argv in (["list"], ["clean"], ["queue", "other"], ["delete", "img"]):
        code, out, err = run(capsys, argv[0], "--dir", str(tmp_path / "cache"), *argv[1:])
        assert (code, out) == (Exit.USAGE, ""), argv
        assert "keeps its metadata in the glance database (it has no cache.db): give --url" in err
    assert tree(tmp_path / "cache") == before  # no cache.db appeared; the image was not adopted
    code, out, _ = run(capsys, "list", *shared, "--json")
    assert [i["image_id"] for i in json.loads(out)["images"]] == ["img"]


def test_local_mode_refuses_a_directory_glance_migrated_to_the_shared_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache_images(["--dir", str(tmp_path)], {"img": 4}, {})
    (tmp_path / "sqlite_centralized_migrate").touch()  # the lock file glance's migration leaves
    code, _, err = run(capsys, "list", "--dir", str(tmp_path))
    assert code == Exit.USAGE
    assert "glance's centralized_db driver moved cache.db there" in err


# --- --all asks first ---------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "count"), [("delete", "cached"), ("dequeue", "queued")])
def test_all_needs_force_without_a_terminal(
    action: str, count: str, where: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_images(where, {"a": 1}, {})
    run(capsys, "queue", *where, "q")
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped input is not a terminal: never read
    code, out, err = run(capsys, action, *where, "--all")
    assert (code, out) == (Exit.USAGE, "")
    assert f"`rawdb cache {action} --all` would " in err and "confirm it on a terminal, or give --force" in err
    listing = json.loads(run(capsys, "list" if action == "delete" else "queued", *where, "--json")[1])
    assert len(listing["images" if action == "delete" else "queued"]) == 1


@pytest.mark.parametrize("action", ["delete", "dequeue"])
def test_all_asks_on_a_terminal(
    action: str, where: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_images(where, {"a": 1, "b": 1}, {})
    run(capsys, "queue", *where, "q1", "q2")
    listed = "list" if action == "delete" else "queued"
    key = "images" if action == "delete" else "queued"

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    code, out, err = run(capsys, action, *where, "--all")
    assert (code, out) == (Exit.FAILED, "")
    assert err.startswith(f"{'Delete all 2 cached image file(s)' if action == 'delete' else 'Take all 2 queued'}")
    assert err.rstrip().endswith("was not confirmed")
    assert len(json.loads(run(capsys, listed, *where, "--json")[1])[key]) == 2

    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    code, out, err = run(capsys, action, *where, "--all")
    assert code == Exit.OK
    assert "[y/N]" in err
    assert out.strip() in ("deleted 2 cached file(s)", "dequeued 2 image(s)")
    assert json.loads(run(capsys, listed, *where, "--json")[1])[key] == []


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
