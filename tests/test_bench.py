"""The benchmark runner: plans, budgets and references, and a --check run on both backends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import rawdb
from benchmarks import runner
from benchmarks.cases import GLANCE_CASES, shape
from benchmarks.driver import Driver, steps
from benchmarks.glance import rawdb_call
from benchmarks.measure import Figure, speedup
from benchmarks.seed import seed_glance
from rawdb.cli import main as cli_main


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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cases", "z_nope"], "unknown case 'z_nope'"),
        (["--images", "many"], "--images takes numbers"),
        (["--targets", "driver"], "includes rawdb"),
        (["--targets", "rawdb,orm"], "includes rawdb"),
        (["--rounds", "0"], "must be positive"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        plan(*argv)


def test_rawdb_bench_is_the_runner(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="unknown case"):
        cli_main(["bench", "--cases", "nope"])
    with pytest.raises(SystemExit) as info:
        cli_main(["bench", "--help"])
    assert info.value.code == 0
    assert "--check" in capsys.readouterr().out


# --- runs on both backends --------------------------------------------------------------------


async def test_driver_replay_returns_the_rows_rawdb_read(db: rawdb.Database) -> None:
    dataset = await seed_glance(db, 300)
    driver = await Driver.open(db, read_only=True)
    try:
        for case in GLANCE_CASES:
            counter = rawdb.StatementCounter(keep=True)
            with db.hooked(counter):
                result = await rawdb_call(db, case, dataset)()
            replayed = await driver.replay(steps(counter.events))
            rows = [row for rows in replayed for row in rows]
            expected = [shape(case, result)] if case.kind == "get" else shape(case, result)
            assert [row["id"] for row in rows] == [image["id"] for image in expected], case.name
    finally:
        await driver.close()


async def test_check_run_passes_and_writes_figures_and_a_plot(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    picture = tmp_path / "figures.svg"
    argv = ["--url", url, "--check", "--cases", "glance", "--targets", "rawdb,driver", "--calls", "2"]
    argv += ["--json", str(out), "--plot", str(picture), "-q"]
    assert await asyncio.to_thread(runner.main, argv) == 0
    printed = capsys.readouterr().out
    assert "check: OK" in printed
    assert all(f"{case.name} @2k" in printed for case in GLANCE_CASES)
    data = json.loads(out.read_text())
    assert data["problems"] == []
    assert {(f["scenario"], f["target"]) for f in data["figures"]} == {
        (case.name, target) for case in GLANCE_CASES for target in ("rawdb", "driver")
    }
    assert all(len(f["samples"]) == 2 or f["scenario"] == "b_admin_1000" for f in data["figures"])
    assert picture.read_text().lstrip().startswith("<?xml")


async def test_check_run_fails_when_a_budget_is_exceeded(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = json.loads(runner.BUDGETS.read_text())
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    strict["statements"][backend]["h_get_own"] = 0
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(strict))
    argv = ["--url", url, "--check", str(path), "--cases", "h_get_own", "--targets", "rawdb", "--calls", "1", "-q"]
    assert await asyncio.to_thread(runner.main, argv) == 1
    captured = capsys.readouterr()
    assert "check: FAILED" in captured.out
    assert f"PROBLEM: h_get_own: 1 statements per call on {backend}, budget 0" in captured.err


def test_quota_check_reports_violations_imbalance_leftovers_and_errors() -> None:
    from benchmarks.quota import quota_check

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
    from benchmarks import quota

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
    argv += ["--json", str(out), "-q"]
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
    assert single["statements"] == (2 if url.startswith("postgresql") else 10)
    for figure in (f for f in figures if f["scenario"] == "quota_single"):  # rawdb and the replay agree
        assert figure["info"]["outcome"] == "bench-quota-tight-00: 25 committed, 8 rolled back, 7 refused"
        assert "outcome_differs" not in figure["info"]
