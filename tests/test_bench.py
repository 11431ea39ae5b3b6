"""``rawdb bench``: plans, budgets and references, options checked up front, and --check runs on both backends."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import rawdb
from rawdb.bench import glance as glance_bench
from rawdb.bench import runner
from rawdb.bench.cases import GLANCE_CASES, shape
from rawdb.bench.driver import Driver, regexp, steps
from rawdb.bench.glance import lean, lean_shape, rawdb_call, run_glance
from rawdb.bench.measure import Figure, speedup
from rawdb.bench.options import CHECK_HISTORY, HISTORY
from rawdb.bench.peers import glance as glance_peer
from rawdb.bench.seed import seed_glance
from rawdb.cli import main as cli_main
from rawdb.console import Exit, UsageError
from rawdb.database import url_dialect


def report(backend: str = "postgresql", **results: object) -> runner.Report:
    return runner.Report({"backend": backend, "url": "x", "server": "y"}, results={"fp": dict(results)})


def budgets(tmp_path: Path, statements: dict[str, float], references: dict[str, dict[str, str]]) -> Path:
    path = tmp_path / "budgets.json"
    path.write_text(json.dumps({"statements": {"postgresql": statements}, "references": references}))
    return path


# --- budgets and references -------------------------------------------------------------------


def test_check_passes_within_budget_and_reference(tmp_path: Path) -> None:
    run = report(a_admin_p1=[{"id": "1"}])
    run.figures = [Figure("a_admin_p1", "rawdb", "ms", [1.0], statements=1)]
    path = budgets(tmp_path, {"a_admin_p1": 1}, {"fp": {"a_admin_p1": runner.digest([{"id": "1"}])}})
    assert runner.check(run, path) == []


def test_check_reports_statements_over_budget_and_scenarios_without_one(tmp_path: Path) -> None:
    run = runner.Report({"backend": "postgresql"})
    run.figures = [
        Figure("a_admin_p1", "rawdb", "ms", [1.0], statements=3),
        Figure("c_user_p1", "rawdb", "ms", [1.0], statements=1),
        Figure("c_user_p1", "driver", "ms", [1.0], statements=9),  # only rawdb's count is budgeted
    ]
    problems = runner.check(run, budgets(tmp_path, {"a_admin_p1": 2}, {}))
    assert problems == [
        "a_admin_p1: 3 statements per call on postgresql, budget 2",
        "c_user_p1: no statement budget for postgresql in budgets.json",
    ]


def test_check_reports_results_unlike_or_missing_their_reference(tmp_path: Path) -> None:
    run = report(a_admin_p1=[{"id": "1"}], c_user_p1=[])
    path = budgets(tmp_path, {}, {"fp": {"a_admin_p1": runner.digest([{"id": "2"}])}})
    assert runner.check(run, path) == [
        "a_admin_p1: result differs from the reference for dataset fp",
        "c_user_p1: no reference result for dataset fp",
    ]
    assert runner.check(run, budgets(tmp_path, {}, {})) == ["no reference results for dataset fp in budgets.json"]


def test_digest_ignores_key_order_but_not_values() -> None:
    assert runner.digest({"a": 1, "b": [1, 2]}) == runner.digest({"b": [1, 2], "a": 1})
    assert runner.digest({"a": 1, "b": [1, 2]}) != runner.digest({"a": 1, "b": [2, 1]})


def test_speedup_is_higher_when_rawdb_is_faster_for_latencies_and_throughputs() -> None:
    assert speedup(Figure("x", "rawdb", "ms", [2.0]), Figure("x", "openstack", "ms", [10.0])) == 5.0
    assert speedup(Figure("x", "rawdb", "pairs/s", [600.0]), Figure("x", "openstack", "pairs/s", [100.0])) == 6.0


# --- the command line -------------------------------------------------------------------------


def plan(*argv: str) -> runner.Plan:
    return runner.plan_of(runner.build_parser().parse_args(list(argv)))


def test_plan_defaults_and_check_defaults() -> None:
    full = plan()
    assert (full.sizes, full.rounds, full.calls, full.callers, full.quota) == ([10000], 3, 30, (1, 8, 32), True)
    assert [c.name for c in full.glance] == [c.name for c in GLANCE_CASES]
    checking = plan("--check")
    assert (checking.sizes, checking.rounds, checking.check) == ([runner.CHECK_IMAGES], 1, runner.BUDGETS)


def test_plan_selects_cases_and_sizes() -> None:
    chosen = plan("--cases", "c_user_p1,quota", "--images", "10_000,100000", "--targets", "rawdb,driver")
    assert [c.name for c in chosen.glance] == ["c_user_p1"]
    assert (chosen.quota, chosen.sizes, chosen.targets) == (True, [10000, 100000], ["rawdb", "driver"])
    assert plan("--cases", "glance").quota is False


def test_plan_through_pgbouncer_runs_rawdb_alone_and_keeps_the_datasets_in_databases_of_their_own() -> None:
    from rawdb.bench.nova import nova_urls

    bounced = "postgresql://root@127.0.0.1:6432/bench?pgbouncer=true"
    assert plan("--url", bounced).targets == ["rawdb"]
    assert nova_urls(bounced) == (
        "postgresql://root@127.0.0.1:6432/bench_nova?pgbouncer=true",
        "postgresql://root@127.0.0.1:6432/bench_nova34?pgbouncer=true",
    )
    assert nova_urls("postgresql://root@h/bench?search_path=s")[0] == "postgresql://root@h/bench?search_path=s_nova"


def test_plan_takes_the_scale_nodes_with_the_urls_node_first() -> None:
    chosen = plan(
        "--cases", "scale", "--url", "mysql://root@a/bench", "--nodes", "mysql://root@b/bench,mysql://root@c/bench"
    )
    assert chosen.nodes == ["mysql://root@a/bench", "mysql://root@b/bench", "mysql://root@c/bench"]
    assert plan("--cases", "quota").nodes == []


def test_plan_history_defaults_to_100000_and_20000_with_check_and_0_skips_it() -> None:
    assert (plan().history, plan("--check").history) == (HISTORY, CHECK_HISTORY) == (100_000, 20_000)
    assert plan("--history", "1_000_000").history == 1_000_000
    assert plan("--check", "--history", "0").history == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cases", "z_nope"], "unknown case 'z_nope'"),
        (["--images", "many"], "--images takes numbers"),
        (["--images", "100"], "a glance dataset has at least 200 images"),
        (["--targets", "driver"], "includes rawdb"),
        (["--targets", "rawdb,orm"], "includes rawdb"),
        (["--rounds", "0"], "must be positive"),
        (["--history", "-1"], "--history is a number of past reservations"),
        (["--check", "/nonexistent/budgets.json"], "no such budgets file"),
        (["--json", "/nonexistent/dir/figures.json"], "the directory /nonexistent/dir does not exist"),
        (["--plot", "/nonexistent/dir/figures.svg"], "the directory /nonexistent/dir does not exist"),
        (["--plot", "figures.txt"], "must end in .png, .svg, .pdf"),
        (["--json", "/"], "that is a directory"),
        (["--cases", "scale"], "the scale case needs --nodes"),
        (["--url", "postgresql://a/b?pgbouncer=true", "--targets", "rawdb,driver"], "the only target is rawdb"),
        (["--cases", "scale", "--url", "sqlite:///x.sqlite", "--nodes", "sqlite:///y.sqlite"], "needs a server"),
        (
            ["--cases", "scale", "--url", "mysql://root@a:3306/bench", "--nodes", "mysql://root@b:3306/other"],
            "is not mysql database bench on another node",
        ),
        (
            ["--cases", "scale", "--url", "mysql://root@a:3306/bench", "--nodes", "postgresql://root@b/bench"],
            "is not mysql database bench",
        ),
    ],
)
def test_bad_arguments_are_refused_with_a_message(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan(*argv)


def test_rawdb_bench_is_the_runner(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--cases", "nope"]) == Exit.USAGE
    assert "rawdb bench: error: unknown case 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli_main(["bench", "--help"])
    assert info.value.code == 0
    assert "--check" in capsys.readouterr().out
    assert runner.main(["--rounds", "0"]) == Exit.USAGE  # python -m rawdb.bench: the same command


def test_outputs_and_matplotlib_are_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "never.sqlite"
    url = f"sqlite:///{database}"
    code = cli_main(["bench", "--url", url, "--check", "--json", str(tmp_path / "missing" / "f.json")])
    assert code == Exit.USAGE
    assert f"--json {tmp_path / 'missing' / 'f.json'}: the directory" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed
    assert cli_main(["bench", "--url", url, "--check", "--plot", str(tmp_path / "f.png")]) == Exit.USAGE
    assert "--plot needs matplotlib: pip install 'rawdb[bench]'" in capsys.readouterr().err
    assert not database.exists()  # no database was opened, nothing was seeded
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_database_cannot_connect(capsys: pytest.CaptureFixture[str]) -> None:
    unreachable = "postgresql://root@127.0.0.1:1/bench?connect_timeout=1"
    assert cli_main(["bench", "--url", unreachable, "--check", "-q"]) == Exit.CANNOT_CONNECT
    assert capsys.readouterr().err.startswith("rawdb: DBConnectionError: ")


# --- the openstack peers --------------------------------------------------------------------------


def test_the_glance_peer_takes_urls_copied_from_config_files() -> None:
    url = "postgresql+asyncpg://glance:pw@db:5432/glance?pool_size=3&sslmode=require&replica=db2"
    assert glance_peer.sqlalchemy_url(url) == "postgresql+psycopg2://glance:pw@db:5432/glance?sslmode=require"
    assert glance_peer.sqlalchemy_url("sqlite+pysqlite:////var/lib/glance.sqlite") == "sqlite:////var/lib/glance.sqlite"
    with pytest.raises(ValueError, match="needs a SQLite file"):
        glance_peer.sqlalchemy_url("sqlite:///:memory:")
    # MySQL: PyMySQL with rawdb's utf8mb4 unless the URL names a character set; rawdb's own
    # options dropped, except unix_socket, which PyMySQL takes as rawdb does
    mysql = "mysql://glance:pw@db:3306/glance?pool_size=3&lock_wait_timeout=5&unix_socket=/run/m.sock"
    assert (
        glance_peer.sqlalchemy_url(mysql)
        == "mysql+pymysql://glance:pw@db:3306/glance?unix_socket=%2Frun%2Fm.sock&charset=utf8mb4"
    )
    assert glance_peer.sqlalchemy_url("mariadb+asyncmy://g@db/glance?charset=utf8") == (
        "mysql+pymysql://g@db/glance?charset=utf8"
    )


def test_a_missing_postgresql_driver_is_a_note_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # not installed
    reason = glance_peer.driver_missing("postgresql+psycopg2://glance@db/glance")
    assert reason is not None and reason.endswith("pip install psycopg2-binary")
    assert glance_peer.driver_missing("sqlite:///glance.sqlite") is None
    monkeypatch.setitem(sys.modules, "pymysql", None)
    reason = glance_peer.driver_missing("mysql://glance@db/glance")
    assert reason is not None and reason.endswith("pip install PyMySQL")


async def test_the_replay_matches_regexp_as_rawdb_does(sqlite_db: rawdb.Database) -> None:
    """The SQLite replay defines REGEXP itself; it must answer as rawdb's connections do."""
    cases: list[tuple[str | None, object]] = [
        ("^a.c$", "abc"),
        ("b", "xbx"),
        ("^b", "abc"),
        ("1", 10),
        (None, "abc"),
        ("a", None),
        ("x", ""),
    ]
    statement = rawdb.Statement.portable("test.bench.regexp", "SELECT :value REGEXP :pattern AS hit")
    async with sqlite_db.reader() as tx:
        for pattern, value in cases:
            rawdb_says = await tx.fetchval(statement, pattern=pattern, value=value)
            assert bool(rawdb_says) == regexp(pattern, value), (pattern, value)
    assert [regexp(p, v) for p, v in cases] == [True, True, False, True, False, False, False]


# --- runs on both backends --------------------------------------------------------------------


async def test_driver_replay_returns_the_rows_rawdb_read_and_the_limit_decodes_them_to_its_result(
    db: rawdb.Database,
) -> None:
    dataset = await seed_glance(db, 300)
    driver = await Driver.open(db, read_only=True)
    try:
        for case in GLANCE_CASES:
            counter = rawdb.StatementCounter(keep=True)
            with db.hooked(counter):
                result = await rawdb_call(db, case, dataset)()
            replayed = await driver.replay(steps(counter.events))
            # (MySQL sends an image as rows of parts: the image's is part 0)
            rows = [row for rows in replayed for row in rows if row.get("part", 0) == 0]
            expected = [shape(case, result)] if case.kind == "get" else shape(case, result)
            assert [row["id"] for row in rows] == [image["id"] for image in expected], case.name
            assert lean_shape(case, lean(case, replayed[-1])) == shape(case, result), case.name
    finally:
        await driver.close()


async def test_a_limit_decode_unlike_rawdbs_result_is_reported(
    db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = await seed_glance(db, 300)
    monkeypatch.setattr(glance_bench, "lean", lambda case, rows: lean(case, rows[:-1] if case.kind == "list" else rows))
    figures, found = await run_glance(db, dataset, GLANCE_CASES, targets=["rawdb", "limit"], rounds=1, calls=1)
    listings = {case.name for case in GLANCE_CASES if case.kind == "list" and found["results"][case.name]}
    assert len(listings) >= 8
    assert set(found["replay"]) == listings
    assert {f.target for f in figures} == {"rawdb", "limit"}


async def test_check_run_passes_and_writes_figures_and_a_plot(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    picture = tmp_path / "figures.svg"
    argv = ["--url", url, "--check", "--cases", "glance", "--targets", "rawdb,limit,driver", "--calls", "2"]
    argv += ["--json", str(out), "--plot", str(picture), "-q"]
    assert await asyncio.to_thread(runner.main, argv) == 0
    printed = capsys.readouterr().out
    assert "check: OK" in printed
    assert all(f"{case.name} @2k" in printed for case in GLANCE_CASES)
    data = json.loads(out.read_text())
    assert data["problems"] == []
    assert {(f["scenario"], f["target"]) for f in data["figures"]} == {
        (case.name, target) for case in GLANCE_CASES for target in ("rawdb", "limit", "driver")
    }
    assert all(len(f["samples"]) == 2 or f["scenario"] == "b_admin_1000" for f in data["figures"])
    assert picture.read_text().lstrip().startswith("<?xml")


async def test_check_run_fails_when_a_budget_is_exceeded(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = json.loads(runner.BUDGETS.read_text())
    backend = url_dialect(url)
    strict["statements"][backend]["h_get_own"] = 0
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(strict))
    argv = ["--url", url, "--check", str(path), "--cases", "h_get_own", "--targets", "rawdb", "--calls", "1", "-q"]
    assert await asyncio.to_thread(runner.main, argv) == 1
    captured = capsys.readouterr()
    assert "check: FAILED" in captured.out
    assert f"PROBLEM: h_get_own: 1 statements per call on {backend}, budget 0" in captured.err


def test_quota_check_reports_violations_imbalance_leftovers_and_errors() -> None:
    from rawdb.bench.quota import quota_check

    clean = Figure("quota_overlimit_tight1", "rawdb", "pairs/s", [10.0])
    clean.info = {"violations": 0, "conserved": True, "final_ok": True, "errors": 0}
    broken = Figure("quota_overlimit_tight1", "driver", "pairs/s", [10.0])
    broken.info = {"violations": 2, "conserved": False, "final_ok": False, "errors": 1, "first_error": "boom"}
    assert quota_check([clean]) == []
    assert quota_check([clean, broken]) == [
        "quota_overlimit_tight1 [driver]: the monitor saw 2 usages over their limit",
        "quota_overlimit_tight1 [driver]: in_use is not the committed pairs times the deltas",
        "quota_overlimit_tight1 [driver]: reservations or reserved amounts are left over, or a usage is over its limit",
        "quota_overlimit_tight1 [driver]: 1 errors (first: boom)",
    ]
    differing = Figure("quota_single", "openstack", "ms", [1.0])
    differing.info = {"outcome_differs": "reservation 3 was refused, rawdb's committed"}
    assert quota_check([differing]) == [
        "quota_single [openstack]: the same reservations end differently than in rawdb: "
        "reservation 3 was refused, rawdb's committed"
    ]


async def test_a_target_whose_reservations_end_differently_is_told_apart(db: rawdb.Database) -> None:
    from rawdb.bench import quota

    class Stingy:  # refuses from its third reservation on
        def __init__(self, engine_caller: object) -> None:
            self.inner, self.calls = engine_caller, 0

        async def reserve(self, project: str) -> list[str] | None:
            self.calls += 1
            return None if self.calls >= 3 else await self.inner.reserve(project)  # type: ignore[attr-defined]

        async def finish(self, project: str, uuids: list[str], commit: bool) -> None:
            await self.inner.finish(project, uuids, commit)  # type: ignore[attr-defined]

    class StingyTarget(quota._RawdbTarget):
        name = "stingy"

        async def open(self, n: int) -> list[object]:
            return [Stingy(caller) for caller in await super().open(n)]

    await quota.seed_quota(db)
    said: list[str] = []
    summary, differs = await quota.agree(db, [quota._RawdbTarget(db), StingyTarget(db)], said.append)
    assert summary == "bench-quota-tight-00: 25 committed, 8 rolled back, 7 refused"  # 250 GB / 10 GB a pair
    assert differs == {"stingy": "reservation 3 was refused, rawdb's committed"}
    assert "differs" in said[0]


async def test_quota_check_run_fills_every_tight_limit_exactly_and_never_exceeds_one(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "quota.json"
    argv = ["--url", url, "--check", "--cases", "quota", "--targets", "rawdb,driver", "--seconds", "0.2"]
    argv += ["--history", "0", "--json", str(out), "-q"]  # 0: no quota_history (tested below)
    assert await asyncio.to_thread(runner.main, argv) == 0
    assert "check: OK" in capsys.readouterr().out
    figures = json.loads(out.read_text())["figures"]
    scenarios = {f["scenario"] for f in figures}
    assert scenarios == {
        "quota_single",
        "quota_1_spread",
        "quota_1_hot",
        "quota_8_spread",
        "quota_8_hot",
        "quota_overlimit_tight10",
        "quota_overlimit_tight1",
    }
    pushes = [f for f in figures if f["scenario"].startswith("quota_overlimit")]
    assert len(pushes) == 4  # two layouts, two targets
    for push in pushes:
        info = push["info"]
        assert info["committed"] == info["capacity"] > 0, push["scenario"]
        assert (info["violations"], info["errors"], info["conserved"], info["final_ok"]) == (0, 0, True, True)
    single = next(f for f in figures if f["scenario"] == "quota_single" and f["target"] == "rawdb")
    # rawdb's round trips per pair differ by dialect (not part of the API): PostgreSQL one
    # statement each; MySQL BEGIN, lock+limits, apply, insert, COMMIT and BEGIN, lock, apply, COMMIT
    assert single["statements"] == {"postgresql": 2, "sqlite": 10, "mysql": 9}[url_dialect(url)]
    for figure in (f for f in figures if f["scenario"] == "quota_single"):  # rawdb and the replay agree
        assert figure["info"]["outcome"] == "bench-quota-tight-00: 25 committed, 8 rolled back, 7 refused"
        assert "outcome_differs" not in figure["info"]


# --- quota_history: a pair's cost with finished reservations piled up ----------------------------


def _history_figures(stale: float, fresh: float, target: str = "rawdb") -> list[Figure]:
    """quota_history figures whose fastest batches are 1 ms without history, ``stale``/``fresh`` with."""
    base = Figure("quota_history_0", target, "ms", [1.0, 1.4, 2.0], info={"batch_ms": [1.0, 1.4], "history": 0})
    return [
        base,
        Figure("quota_history_stale", target, "ms", [stale] * 3, info={"batch_ms": [stale * 1.5, stale]}),
        Figure("quota_history_fresh", target, "ms", [fresh] * 3, info={"batch_ms": [fresh, fresh * 2]}),
    ]


def test_quota_check_reports_a_pair_that_costs_more_with_history() -> None:
    from rawdb.bench.quota import quota_check

    assert quota_check(_history_figures(1.2, 1.2)) == []
    assert quota_check(_history_figures(0.8, 1.5)) == []  # at most 1.5x
    slow = _history_figures(3.0, 1.0, target="driver")
    slow[1].info |= {"history": 20000, "statistics": "stale"}
    assert quota_check(slow) == [
        "quota_history_stale [driver]: 3.000 ms per pair with 20,000 past reservations (stale statistics), "
        "3.00x the 1.000 ms of quota_history_0 (at most 1.5x)"
    ]
    # compared with the same target's state without history, fastest batch against fastest batch
    assert quota_check(_history_figures(1.2, 1.2) + _history_figures(1.2, 1.6, target="driver")) == [
        "quota_history_fresh [driver]: 1.600 ms per pair with 0 past reservations (? statistics), "
        "1.60x the 1.000 ms of quota_history_0 (at most 1.5x)"
    ]
    empty = _history_figures(1.0, 1.0)
    empty[1] = Figure("quota_history_stale", "rawdb", "ms")  # nothing measured is no pass
    assert len(quota_check(empty)) == 1
    assert quota_check(_history_figures(3.0, 3.0)[1:]) == []  # nothing to compare with


async def _hot_reservations(db: rawdb.Database) -> int:
    from rawdb.bench import quota

    statement = rawdb.Statement.portable(
        "test.bench.hot_reservations", "SELECT count(*) AS n FROM reservations WHERE project_id = :project_id"
    )
    async with db.reader() as tx:
        return int(await tx.fetchval(statement, project_id=quota.HOT))


async def _reservations_options(db: rawdb.Database) -> Any:
    """PostgreSQL: reservations' reloptions; MySQL: its CREATE_OPTIONS; SQLite: its sqlite_stat1 rows."""
    sql = {
        "postgresql": "SELECT reloptions AS v FROM pg_class WHERE oid = CAST('reservations' AS regclass)",
        "mysql": "SELECT CREATE_OPTIONS AS v FROM information_schema.TABLES"
        " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'reservations'",
        "sqlite": "SELECT count(*) AS v FROM sqlite_stat1 WHERE tbl = 'reservations'",
    }[db.dialect]
    async with db.reader() as tx:
        return await tx.fetchval(rawdb.Statement.portable("test.bench.table_options", sql))


async def test_the_history_is_finished_reservations_on_the_hot_projects_usage_rows(db: rawdb.Database) -> None:
    from rawdb.bench import quota

    await quota.seed_quota(db)
    await quota._table_options(db, quota._FREEZE_STATISTICS)
    frozen = await _reservations_options(db)
    await quota._table_options(db, quota._THAW_STATISTICS)
    thawed = await _reservations_options(db)
    if db.dialect == "postgresql":
        assert (frozen, thawed) == (["autovacuum_enabled=false"], None)
    elif db.dialect == "mysql":
        assert "stats_auto_recalc=0" in frozen and "stats_auto_recalc" not in thawed
    assert await quota.insert_history(db, 7) == 7
    assert await quota.insert_history(db, 3) == 3  # another call: other uuids
    rows = rawdb.Statement.portable(
        "test.bench.history",
        """SELECT r.uuid, r.usage_id, r.resource, r.deleted, r.deleted_at, r.created_at, u.resource AS of_usage,
                  u.project_id
           FROM reservations r JOIN quota_usages u ON u.id = r.usage_id WHERE r.project_id = :project_id""",
    )
    async with db.reader() as tx:
        history = await tx.fetch(rows, project_id=quota.HOT)
    assert len(history) == 10 and len({row["uuid"] for row in history}) == 10
    assert all(len(row["uuid"]) == 36 and row["uuid"].count("-") == 4 for row in history)
    assert all(row["deleted"] and row["deleted_at"] is not None for row in history)
    assert {(row["project_id"], row["resource"], row["of_usage"]) for row in history} == {
        (quota.HOT, resource, resource) for resource in quota.DELTAS
    }  # the usage rows a pair locks, both of them
    created = sorted(str(row["created_at"]) for row in history)
    assert created[0] < created[-1] < str(datetime.now(UTC).replace(tzinfo=None))  # spread over the past
    await quota.reset_quota(db)
    assert await _hot_reservations(db) == 0


async def test_quota_history_measures_three_states_and_leaves_the_dataset_as_it_was(db: rawdb.Database) -> None:
    from rawdb.bench import quota

    await quota.seed_quota(db)
    said: list[str] = []
    targets = await quota._open_targets(db, ["rawdb", "driver"], said.append)
    try:
        figures = await quota._history(db, targets, 3000, batches=2, pairs=5, say=said.append)
    finally:
        for target in targets:
            await target.close()
    assert [(f.scenario, f.target) for f in figures] == [
        (scenario, target) for scenario in quota.HISTORY_STATES for target in ("rawdb", "driver")
    ]
    budgets = json.loads(runner.BUDGETS.read_text())["statements"][db.dialect]
    for figure in figures:
        info = figure.info
        assert len(figure.samples) >= 10 and len(figure.samples) % 5 == 0 and min(figure.samples) > 0
        assert len(info["batch_ms"]) == len(figure.samples) // 5 and info["best_batch_ms"] == min(info["batch_ms"])
        assert info["reserve_ms"] > 0 and info["commit_ms"] > 0
        assert (info["conserved"], info["errors"]) == (True, 0)
        with_history = figure.scenario != "quota_history_0"
        assert info["history"] == (3000 if with_history else 0)
        assert info["statistics"] == ("stale" if figure.scenario == "quota_history_stale" else "fresh")
        assert (info.get("insert_seconds", 0) > 0) == with_history
        if figure.target == "rawdb":  # as quota_single's
            assert figure.statements == budgets[figure.scenario] == budgets["quota_single"]
    assert any("3,000 past reservations" in line for line in said)
    # afterwards: no reservation of the hot project, the table's options and statistics as before
    assert await _hot_reservations(db) == 0
    options = await _reservations_options(db)
    if db.dialect == "postgresql":
        assert options is None
    elif db.dialect == "mysql":
        assert "stats_auto_recalc" not in options
    else:
        assert options == 0  # the statistics of an empty table: none
