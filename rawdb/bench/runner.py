"""``rawdb bench`` / ``python -m rawdb.bench``: the hot paths, side by side, in one run.

Seeds (or reuses) the deterministic glance dataset and the cinder quota dataset in one
database, and the nova dataset in a database of its own next to it (``rawdb.bench.nova``:
nova's tables share names with cinder's) and the cinder volume dataset in one of its own
(``rawdb.bench.cinder``: the quota scenarios keep cinder's schema in ``--url``'s), then times
glance cases a to i, the nova cases, the cinder cases and the quota scenarios on each target:

- ``rawdb``: rawdb's public API;
- ``driver``: the very statements rawdb sent, replayed on a bare asyncpg/sqlite3/asyncmy
  connection (what rawdb's own layer costs);
- ``limit`` (glance cases): that replay plus the least decoding a caller of the result
  needs (``rawdb.bench.glance.lean``), checked against rawdb's result first;
- ``openstack``: glance 33's, nova 34's and cinder 29's own SQLAlchemy code on the same
  database (nova: on a database its own db sync made, holding the same rows), when installed
  (``pip install 'rawdb[openstack]'``); every glance and nova result is first compared with
  rawdb's.

It prints a table (median, p90, statements per call, ratios), and can write every figure
as JSON (``--json``) and a plot (``--plot``, PNG or SVG).  ``--check`` compares statements
per call and results with ``budgets.json`` (beside this module) and exits 1 on any excess,
difference or quota violation, or when a reserve+commit pair costs more than 1.5x as much
with finished reservations piled up (``--history``) as without; other timings are reported,
never asserted.  Options are checked
before anything runs: output files that cannot be written, a plot without matplotlib or a
budgets file that is not there are usage errors (exit 2), not a failure after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import rawdb
from rawdb.bench.cases import CASES_BY_NAME, GLANCE_CASES, GlanceCase
from rawdb.bench.cinder_seed import CINDER_CASES, MIN_VOLUMES
from rawdb.bench.measure import TARGETS, Figure, speedup
from rawdb.bench.nova_cases import CASES_BY_NAME as NOVA_CASES_BY_NAME
from rawdb.bench.nova_cases import NOVA_CASES, NovaCase
from rawdb.bench.nova_seed import MIN_INSTANCES
from rawdb.bench.options import (
    ARCHIVE_INSTANCES,
    BUDGETS,
    CHECK_ARCHIVE_INSTANCES,
    CHECK_HISTORY,
    CHECK_IMAGES,
    CHECK_INSTANCES,
    CHECK_VOLUMES,
    HISTORY,
    INSTANCES,
    VOLUMES,
    build_parser,
)
from rawdb.bench.places import through_pgbouncer
from rawdb.bench.seed import MIN_IMAGES, seed_glance
from rawdb.console import UsageError
from rawdb.database import resolve_url

__all__ = ["BUDGETS", "CHECK_IMAGES", "Plan", "Report", "build_parser", "check", "main", "plan_of", "run"]

QUOTA = "quota"
NOVA = "nova"
CINDER = "cinder"
GROUPS = ("all", "glance", NOVA, CINDER, QUOTA)
ARCHIVE = "nova_archive"  # run only when named: it loads and consumes a dataset of its own
SCALE = "scale"  # run only when named, on the nodes --nodes gives
PLOT_FORMATS = (".png", ".svg", ".pdf")
# c_iscsi_alloc's numbers of callers, under --check too: its x32 budget and the pool check (no
# target handed out twice) at 32 callers are checked for 1.5-3 s more per backend (measured).
CINDER_CALLERS = (1, 8, 32)


@dataclass(slots=True)
class Report:
    """Everything one run measured and found."""

    context: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # fingerprint -> case -> shaped
    problems: list[str] = field(default_factory=list)  # mismatches, violations, budget excesses

    def as_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "figures": [f.as_json() for f in self.figures],
            "result_digests": {fp: {c: digest(r) for c, r in cases.items()} for fp, cases in self.results.items()},
            "problems": self.problems,
        }


def digest(result: Any) -> str:
    """A stable digest of a shaped result (JSON with sorted keys)."""
    return hashlib.sha256(json.dumps(result, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --- command line -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    url: str
    sizes: list[int]
    glance: list[GlanceCase]
    quota: bool
    targets: list[str]
    rounds: int
    calls: int
    seconds: float
    callers: tuple[int, ...]
    check: Path | None
    json: Path | None = None
    plot: Path | None = None
    history: int = 0  # past reservations of quota_history; 0: not run
    command: str = "rawdb bench"
    nova: list[NovaCase] = field(default_factory=list)
    instances: list[int] = field(default_factory=list)  # nova dataset sizes
    cinder: list[str] = field(default_factory=list)  # cinder case names
    volumes: list[int] = field(default_factory=list)  # cinder dataset sizes
    archive: list[int] = field(default_factory=list)  # nova_archive's sizes (soft-deleted instances); [] not run
    archive_peer_max: int = 0  # nova 34 archives the sizes up to this one
    nodes: list[str] = field(default_factory=list)  # the scale scenario's nodes, --url's first; [] not run
    cinder_callers: tuple[int, ...] = CINDER_CALLERS  # c_iscsi_alloc_xN's N, --check's too


def _writable(option: str, value: str | None) -> Path | None:
    """The output file of ``option``, when one is given and can be written.

    :raises UsageError: its folder does not exist or cannot be written, or it is a folder
    """
    if not value:
        return None
    path = Path(value)
    folder = path.parent
    if path.is_dir():
        raise UsageError(f"{option} {value}: that is a directory; give a file name")
    if not folder.is_dir():
        raise UsageError(f"{option} {value}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {value}: cannot write there")
    return path


def _plot_path(value: str | None) -> Path | None:
    """``--plot``'s file, checked before the run: a known format, writable, matplotlib there."""
    path = _writable("--plot", value)
    if path is None:
        return None
    if path.suffix.lower() not in PLOT_FORMATS:
        raise UsageError(f"--plot {value}: the file name must end in {', '.join(PLOT_FORMATS)}")
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"--plot needs matplotlib: pip install 'rawdb[bench]' ({exc})") from None
    return path


def plan_of(args: argparse.Namespace) -> Plan:
    """What to run, from ``rawdb bench``'s options.

    :raises UsageError: an option that cannot work, before anything has run
    """
    check = Path(args.check) if args.check else None
    if check is not None and not check.is_file():
        raise UsageError(f"--check {args.check}: no such budgets file")
    sizes_text = args.images or (str(CHECK_IMAGES) if check else "10000")
    try:
        sizes = [int(s.replace("_", "")) for s in sizes_text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--images takes numbers, e.g. 10000 or 10000,100000 (got {sizes_text!r})") from None
    if not sizes or min(sizes) < MIN_IMAGES:
        raise UsageError(f"--images: a glance dataset has at least {MIN_IMAGES} images (got {sizes_text!r})")
    instances = _sizes(args.instances or str(CHECK_INSTANCES if check else INSTANCES))
    volumes = _sizes(args.volumes or str(CHECK_VOLUMES if check else VOLUMES), "--volumes", MIN_VOLUMES)
    cinder: list[str] = []
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    glance: list[GlanceCase] = []
    nova: list[NovaCase] = []
    archive: list[int] = []
    nodes: list[str] = []
    quota = False
    for name in names:
        if name in ("all", "glance"):
            glance += [c for c in GLANCE_CASES if c not in glance]
        if name in ("all", NOVA):
            nova += [c for c in NOVA_CASES if c not in nova]
        if name in ("all", CINDER):
            cinder += [c for c in CINDER_CASES if c not in cinder]
        if name in ("all", QUOTA):
            quota = True
        if name in GROUPS:
            continue
        if name == SCALE:
            if not args.nodes:
                raise UsageError("the scale case needs --nodes: the URLs of the database on the cluster's other nodes")
            nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
            continue
        if name == ARCHIVE:
            archive = _sizes(
                args.archive_instances or str(CHECK_ARCHIVE_INSTANCES if check else ARCHIVE_INSTANCES),
                "--archive-instances",
                1,
            )
            continue
        if name in CINDER_CASES:
            if name not in cinder:
                cinder.append(name)
        elif name in CASES_BY_NAME:
            if CASES_BY_NAME[name] not in glance:
                glance.append(CASES_BY_NAME[name])
        elif name in NOVA_CASES_BY_NAME:
            if NOVA_CASES_BY_NAME[name] not in nova:
                nova.append(NOVA_CASES_BY_NAME[name])
        else:
            known = ", ".join([*CASES_BY_NAME, *NOVA_CASES_BY_NAME, *CINDER_CASES, ARCHIVE, SCALE, *GROUPS[1:], "all"])
            raise UsageError(f"unknown case {name!r}; known: {known}")
    url = resolve_url(args.url)
    # Through PgBouncer only rawdb runs: the other targets open connections of their own kinds
    # (the bare driver's with its startup settings, OpenStack's through SQLAlchemy) to the server.
    bounced = through_pgbouncer(url)
    targets = [t.strip() for t in (args.targets or ("rawdb" if bounced else ",".join(TARGETS))).split(",") if t.strip()]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or "rawdb" not in targets:
        raise UsageError(f"--targets is a subset of {','.join(TARGETS)} that includes rawdb")
    if bounced and targets != ["rawdb"]:
        raise UsageError("through PgBouncer (pgbouncer=true) the only target is rawdb: point the others at the server")
    rounds = args.rounds if args.rounds is not None else (1 if check else 3)
    calls = args.calls if args.calls is not None else (5 if check else 30)
    seconds = args.seconds if args.seconds is not None else (0.5 if check else 5.0)
    if rounds < 1 or calls < 1 or seconds <= 0:
        raise UsageError("--rounds, --calls and --seconds must be positive")
    history = args.history if args.history is not None else (CHECK_HISTORY if check else HISTORY)
    if history < 0:
        raise UsageError(f"--history is a number of past reservations, 0 to skip quota_history (got {history})")
    if nodes:
        from rawdb.bench.scale import check_nodes

        try:
            nodes = check_nodes(url, nodes)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return Plan(
        url=url,
        sizes=sizes,
        glance=glance,
        quota=quota,
        targets=targets,
        rounds=rounds,
        calls=calls,
        seconds=seconds,
        callers=(1, 8) if check else (1, 8, 32),
        check=check,
        json=_writable("--json", args.json),
        plot=_plot_path(args.plot),
        history=history,
        command=shlex.join(["rawdb", *getattr(args, "argv", ["bench"])]),
        nova=nova,
        instances=instances,
        cinder=cinder,
        volumes=volumes,
        archive=archive,
        archive_peer_max=args.archive_peer_max,
        nodes=nodes,
    )


def _sizes(text: str, option: str = "--instances", least: int = MIN_INSTANCES) -> list[int]:
    """The dataset sizes of ``--instances`` (nova) or ``--volumes`` (cinder).

    :raises UsageError: not numbers, or a size under ``least``
    """
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"{option} takes numbers, e.g. 100000 or 10000,100000 (got {text!r})") from None
    if not sizes or min(sizes) < least:
        what = {
            "--instances": "a nova dataset has at least {} instances",
            "--archive-instances": "the archive dataset has at least {} instance",
        }.get(option, "a cinder dataset has at least {} volumes")
        raise UsageError(f"{option}: {what.format(least)} (got {text!r})")
    return sizes


# --- the run --------------------------------------------------------------------------------------


def _say(quiet: bool) -> Any:
    quiet = quiet or not sys.stderr.isatty()  # progress lines are for people watching a terminal

    def say(text: str) -> None:
        if not quiet:
            print(f"  {text}".ljust(78), end="\r", file=sys.stderr, flush=True)

    return say


def _seed_progress(say: Any) -> Any:
    def progress(stage: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        say(f"seeding {stage:<16} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")

    return progress


async def _context(db: rawdb.Database, plan: Plan) -> dict[str, Any]:
    server = "sqlite " + __import__("sqlite3").sqlite_version
    if db.dialect in ("postgresql", "mysql"):  # e.g. "PostgreSQL 15.20 on …", "10.11.19-MariaDB-0+deb12u1"
        async with db.reader() as tx:
            server = str(await tx.fetchval(rawdb.Statement.portable("bench.version", "SELECT version() AS v")))
    versions = {}
    for package in (
        "rawdb",
        "asyncpg",
        "asyncmy",
        "glance",
        "nova",
        "cinder",
        "sqlalchemy",
        "oslo.db",
        "psycopg2-binary",
        "PyMySQL",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "url": db.url_safe,
        "backend": db.dialect,
        "server": server,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "versions": versions,
        "sizes": plan.sizes,
        "instances": plan.instances if plan.nova else None,
        "volumes": plan.volumes if plan.cinder else None,
        "archive_instances": plan.archive or None,
        "targets": plan.targets,
        "rounds": plan.rounds,
        "calls": plan.calls,
        "seconds": plan.seconds,
        "history": plan.history if plan.quota else None,
        "command": plan.command,
    }


def _peers(plan: Plan, say: Any) -> tuple[Any, Any, list[str]]:
    """The glance and cinder peers when asked for and installed; notes on what is missing."""
    glance_peer = cinder_peer = None
    notes: list[str] = []
    if "openstack" not in plan.targets:
        return None, None, notes
    from rawdb.bench.peers import cinder as cinder_peers
    from rawdb.bench.peers import glance as glance_peers

    if plan.glance:
        reason = glance_peers.available(plan.url)
        if reason is None:
            glance_peer = glance_peers.GlancePeer(plan.url)
        else:
            notes.append(f"openstack glance target skipped: {reason}")
    if plan.quota:
        reason = cinder_peers.available(plan.url)
        if reason is not None:
            notes.append(f"openstack cinder target skipped: {reason}")
        else:
            cinder_peer = True  # the quota scenarios open their own peer
    return glance_peer, cinder_peer, notes


def _absorb(report: Report, notes: list[str], run: Any) -> None:
    """A scenario group's run (nova, cinder, nova_archive, scale) into the report."""
    notes += run.notes
    report.figures += run.figures
    report.results |= getattr(run, "results", {})
    report.problems += run.problems
    report.context.setdefault("datasets", {}).update(run.datasets)


async def run(plan: Plan, quiet: bool = False) -> Report:
    from rawdb.bench.glance import run_glance

    say = _say(quiet)
    async with rawdb.connect(plan.url) as db:
        report = Report(await _context(db, plan))
        glance_peer, cinder_peer, notes = _peers(plan, say)
        report.context["notes"] = notes
        try:
            for size in plan.sizes if plan.glance else []:
                started = time.perf_counter()
                dataset = await seed_glance(db, size, progress=_seed_progress(say))
                report.context.setdefault("datasets", {})[dataset.fingerprint] = {
                    "images": size,
                    "reused": dataset.reused,
                    "seconds": round(time.perf_counter() - started, 1),
                    "probe_visible": dataset.probe_visible,
                }
                targets = [t for t in plan.targets if t != "openstack" or glance_peer is not None]
                figures, found = await run_glance(
                    db,
                    dataset,
                    plan.glance,
                    targets=targets,
                    rounds=plan.rounds,
                    calls=plan.calls,
                    peer=glance_peer,
                    progress=say,
                )
                for figure in figures:
                    figure.info["images"] = size
                report.figures += figures
                report.results[dataset.fingerprint] = found["results"]
                report.problems += [
                    f"{case} ({size} images): rawdb and glance disagree: {why}"
                    for case, why in found["mismatches"].items()
                ]
                report.problems += [f"{case} ({size} images): {why}" for case, why in found["replay"].items()]
        finally:
            if glance_peer is not None:
                glance_peer.close()
        if plan.nova:
            from rawdb.bench.nova import nova_scenarios

            nova = await nova_scenarios(
                db,
                plan.instances,
                plan.nova,
                targets=plan.targets,
                rounds=plan.rounds,
                calls=plan.calls,
                callers=plan.callers,
                seconds=plan.seconds,
                say=say,
                seed_progress=_seed_progress(say),
            )
            _absorb(report, notes, nova)
        if plan.cinder:
            from rawdb.bench.cinder import cinder_scenarios

            cinder = await cinder_scenarios(
                db,
                plan.volumes,
                plan.cinder,
                targets=plan.targets,
                rounds=plan.rounds,
                calls=plan.calls,
                callers=plan.cinder_callers,
                seconds=plan.seconds,
                say=say,
            )
            _absorb(report, notes, cinder)
        if plan.archive:
            from rawdb.bench.nova_archive import archive_scenarios

            archived = await archive_scenarios(
                db,
                plan.archive,
                targets=plan.targets,
                say=say,
                seed_progress=_seed_progress(say),
                peer_max=plan.archive_peer_max,
            )
            _absorb(report, notes, archived)
        if plan.nodes:
            from rawdb.bench.scale import scale_scenarios

            scaled = await scale_scenarios(
                db,
                plan.nodes,
                instances=min(plan.instances),
                callers=max(plan.callers),
                seconds=plan.seconds,
                rounds=plan.rounds,
                say=say,
                seed_progress=_seed_progress(say),
            )
            _absorb(report, notes, scaled)
        if plan.quota:
            from rawdb.bench.quota import quota_check, run_quota

            # the quota replay already decodes all a caller needs (uuids and a refusal): no "limit"
            targets = [t for t in plan.targets if t != "limit" and (t != "openstack" or cinder_peer is not None)]
            figures = await run_quota(
                db,
                targets=targets,
                rounds=plan.rounds,
                seconds=plan.seconds,
                callers=plan.callers,
                single_ops=50 if plan.check else 200,
                history=plan.history,
                progress=say,
            )
            report.figures += figures
            report.problems += quota_check(figures)
    say("")
    return report


# --- budgets and references ----------------------------------------------------------------------


def check(report: Report, budgets_file: Path) -> list[str]:
    """Statements over budget, results unlike their reference, scenarios with no budget."""
    budgets = json.loads(budgets_file.read_text())
    backend = report.context["backend"]
    limits: dict[str, float] = budgets["statements"][backend]
    problems = []
    for figure in report.figures:
        if figure.target != "rawdb" or figure.statements is None:
            continue
        budget = limits.get(figure.scenario)
        if budget is None:
            problems.append(f"{figure.scenario}: no statement budget for {backend} in {budgets_file.name}")
        elif figure.statements > budget:
            problems.append(
                f"{figure.scenario}: {figure.statements:g} statements per call on {backend}, budget {budget:g}"
            )
    references: dict[str, dict[str, str]] = budgets.get("references", {})
    for fp, results in report.results.items():
        expected = references.get(fp)
        if expected is None:
            problems.append(f"no reference results for dataset {fp} in {budgets_file.name}")
            continue
        for case, result in results.items():
            if case not in expected:
                problems.append(f"{case}: no reference result for dataset {fp}")
            elif digest(result) != expected[case]:
                problems.append(f"{case}: result differs from the reference for dataset {fp}")
    return problems


# --- output ---------------------------------------------------------------------------------------


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "-"
    if unit in ("pairs/s", "allocs/s", "rows/s", "calls/s"):
        return f"{value:,.0f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _stmts(value: float | None) -> str:
    """Statements per call in 6 columns: 9.09375 (retries on a busy hot row) as 9.09."""
    return f"{'-':>6}" if value is None else f" {value:>5.3g}"


def table(report: Report) -> str:
    """The figures as a text table: one line per scenario (and dataset size)."""
    by_key: dict[tuple[str, Any], dict[str, Figure]] = {}
    for figure in report.figures:
        size = figure.info.get("images") or figure.info.get("instances") or figure.info.get("volumes")
        by_key.setdefault((figure.scenario, size), {})[figure.target] = figure
    header = (
        f"{'scenario':<26}{'unit':>8}{'rawdb':>10}{'p90':>9}{'stmts':>6}"
        f"{'limit':>10}{'rawdb/lim':>10}{'driver':>10}{'rawdb/drv':>10}{'openstack':>11}{'stmts':>6}{'speedup':>9}"
    )
    lines = [header, "-" * len(header)]
    for (scenario, size), targets in by_key.items():
        ours = targets["rawdb"]
        name = scenario if not size else f"{scenario} @{size // 1000}k" if size >= 1000 else f"{scenario} @{size}"
        row = f"{name:<26}{ours.unit:>8}{_fmt(ours.median, ours.unit):>10}{_fmt(ours.p90, ours.unit):>9}"
        row += _stmts(ours.statements)
        for replay in (targets.get("limit"), targets.get("driver")):
            if replay is not None and replay.samples:
                cost = ours.median / replay.median if ours.unit == "ms" else replay.median / ours.median
                row += f"{_fmt(replay.median, replay.unit):>10}{cost:>9.2f}x"
            else:
                row += f"{'-':>10}{'-':>10}"
        peer = targets.get("openstack")
        if peer is not None and peer.samples:
            row += f"{_fmt(peer.median, peer.unit):>11}"
            row += _stmts(peer.statements)
            row += f"{speedup(ours, peer):>8.1f}x"
        else:
            row += f"{'-':>11}{'-':>6}{'-':>9}"
        lines.append(row)
    lines.append(
        "ms: median per call (lower is better); pairs/s: reserve+commit pairs per second, allocs/s: addresses"
        " handed out per second, calls/s: calls per second (higher is better)."
    )
    lines.append(
        "rawdb/drv: rawdb's cost over replaying its own statements on the bare driver; rawdb/lim: over the "
        "same replay with the least decoding a caller needs (glance: children parsed, no dicts built); "
        "speedup: how many times faster rawdb is than OpenStack's code."
    )
    return "\n".join(lines)


def plot(report: Report, path: Path) -> None:
    """Bars per scenario for each target (log scale), and growth across dataset sizes."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # plan_of checked it; it went away during the run
        raise UsageError(f"--plot needs matplotlib: pip install 'rawdb[bench]' ({exc})") from exc
    latency = [f for f in report.figures if f.unit == "ms" and f.samples]
    sizes: list[int] = sorted({int(f.info["images"]) for f in latency if f.info.get("images")})
    largest = sizes[-1] if sizes else None
    shown = [f for f in latency if f.info.get("images") in (largest, None)]
    scenarios = list(dict.fromkeys(f.scenario for f in shown))
    panels = 2 if len(sizes) > 1 else 1
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels + 4, 5), squeeze=False)
    ax = axes[0][0]
    width = 0.8 / len(TARGETS)
    for i, target in enumerate(TARGETS):
        values = {f.scenario: f.median for f in shown if f.target == target}
        if not values:
            continue
        xs = [k + i * width for k, s in enumerate(scenarios) if s in values]
        ax.bar(xs, [values[s] for s in scenarios if s in values], width, label=target)
    ax.set_xticks([k + width for k in range(len(scenarios))], scenarios, rotation=60, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("median ms per call (log)")
    title = f"{report.context['backend']}"
    ax.set_title(f"{title}, {largest:,} images" if largest else title)
    ax.legend()
    if panels == 2:
        ax = axes[0][1]
        for scenario in dict.fromkeys(f.scenario for f in latency if f.target == "rawdb" and f.info.get("images")):
            points = sorted(
                (f.info["images"], f.median) for f in latency if f.scenario == scenario and f.target == "rawdb"
            )
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=scenario)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("images")
        ax.set_ylabel("rawdb median ms per call (log)")
        ax.set_title("growth with the dataset")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_command(args: argparse.Namespace) -> int:
    """Run ``rawdb bench`` with parsed options; 0 when it ran (and, with --check, nothing failed), else 1.

    :raises UsageError: an option that cannot work (nothing has run)
    :raises RawdbError: the database failed (``rawdb.cli`` prints it)
    """
    plan = plan_of(args)
    report = asyncio.run(run(plan, quiet=args.quiet))
    if plan.check is not None:
        report.problems += check(report, plan.check)
    print(f"rawdb bench on {report.context['url']} ({report.context['backend']}; {report.context['server']})")
    for note in report.context.get("notes", []):
        print(f"note: {note}")
    print(table(report))
    if plan.archive:
        from rawdb.bench.nova_archive import archive_table

        print(archive_table(report.figures))
    if plan.json is not None:
        plan.json.write_text(json.dumps(report.as_json(), indent=2, default=str))
        print(f"figures written to {plan.json}")
    if plan.plot is not None:
        plot(report, plan.plot)
        print(f"plot written to {plan.plot}")
    for problem in report.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if plan.check is not None:
        print("check: " + ("FAILED" if report.problems else f"OK (budgets: {plan.check})"))
        return 1 if report.problems else 0
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``rawdb bench ARGV``, through the ``rawdb`` command (its exit codes and error lines)."""
    from rawdb.cli import main as rawdb_main

    return rawdb_main(["bench", *(sys.argv[1:] if argv is None else argv)])
