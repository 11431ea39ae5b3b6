"""asyncmy or aiomysql for rawdb's MySQL/MariaDB backend: the same statements through both.

    .venv/bin/python benchmarks/mysql_drivers.py --url mysql://root@127.0.0.1:3306/bench_drivers

Seeds the benchmark's glance dataset (``--images``, default 2,000) and its quota dataset
into the database at ``--url`` (created by you, empty or seeded by ``rawdb bench`` before),
then captures the statements rawdb itself sends (a keeping ``StatementCounter``) for

- the glance listings ``a_admin_p1`` (admin, first page of 25), ``c_user_p1`` (a user's first
  page of 25) and ``b_admin_1000`` (admin, limit 1000): one SELECT each;
- one quota reserve and its commit on the hot project: BEGIN, usages_lock_limits,
  reserve_apply, reservations_insert, COMMIT, then BEGIN, finish_lock, finish_apply, COMMIT
  (replayed as ``rawdb bench``'s driver target does: fresh reservation uuids, timestamps
  moved to now, the limit check on the rows read, finish_apply given the ids finish_lock found),

and replays them on one bare connection of each driver, with the same session (asyncmy's
is opened by rawdb's backend; aiomysql's copies its settings), in alternating turns per
round.  Each statement is one cursor execute with the arguments rawdb bound, its rows
fetched and turned into dicts.  It prints the median and p90 milliseconds per call of
each, wall-clock and this process's CPU time (on a busy shared machine the wall clock
mostly measures the neighbours; the drivers differ in the client's work, which the CPU
time isolates), and aiomysql's median over asyncmy's (above 1: asyncmy is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from importlib import metadata
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql  # type: ignore[import-untyped]
from asyncmy.constants import CLIENT

import rawdb
from rawdb.bench import quota
from rawdb.bench.cases import CASES_BY_NAME
from rawdb.bench.driver import Driver, MysqlDriver, Step, steps
from rawdb.bench.glance import rawdb_call
from rawdb.bench.seed import seed_glance
from rawdb.database import url_dialect

CASES = ("a_admin_p1", "c_user_p1", "b_admin_1000")
# The session settings rawdb's backend sets; aiomysql's connection gets the asyncmy one's values.
SESSION = ("sql_mode", "time_zone", "tx_isolation", "innodb_lock_wait_timeout", "group_concat_max_len", "sql_notes")


class AiomysqlDriver(Driver):
    """``MysqlDriver``'s replay on an aiomysql (PyMySQL) connection."""

    dialect = "mysql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def like(cls, url: str, model: MysqlDriver) -> AiomysqlDriver:
        """A connection to ``url`` whose session settings are ``model``'s."""
        parts = urlsplit(url)
        conn = await aiomysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            db=parts.path.lstrip("/"),
            charset="utf8mb4",
            autocommit=True,
            client_flag=CLIENT.FOUND_ROWS,
        )
        (values,) = (await model.replay([Step("SELECT " + ", ".join(f"@@session.{n} AS {n}" for n in SESSION), ())]))[0]
        assignments = ", ".join(f"{name} = %s" for name in SESSION)
        async with conn.cursor() as cursor:
            await cursor.execute("SET NAMES utf8mb4 COLLATE utf8mb4_nopad_bin")
            await cursor.execute(f"SET SESSION {assignments}", [values[name] for name in SESSION])
        return cls(conn)

    async def replay(self, plan: Sequence[Step]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = []
        conn = self.conn
        for step in plan:
            cursor = await conn.cursor()
            await cursor.execute(step.sql, step.args)
            rows = await cursor.fetchall()
            names = [d[0] for d in cursor.description or ()]
            await cursor.close()
            out.append([dict(zip(names, row, strict=True)) for row in rows or ()])
        return out

    async def close(self) -> None:
        self.conn.close()


Sample = tuple[float, float]  # wall-clock ms, this process's CPU ms


def clocks() -> Sample:
    return time.perf_counter() * 1000, time.process_time() * 1000


def since(start: Sample) -> Sample:
    now = clocks()
    return now[0] - start[0], now[1] - start[1]


async def timed(call: Callable[[], Awaitable[Any]], calls: int, warmup: int = 5) -> list[Sample]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(calls):
        started = clocks()
        await call()
        samples.append(since(started))
    return samples


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


async def main(url: str, images: int, calls: int, rounds: int) -> None:
    if url_dialect(url) != "mysql":
        raise SystemExit(f"--url must be a mysql:// URL, not {url!r}")
    async with rawdb.connect(url) as db:
        dataset = await seed_glance(db, images)
        await quota.seed_quota(db)
        await quota.reset_quota(db)
        plans: dict[str, list[Step]] = {}
        rows: dict[str, int] = {}
        for name in CASES:
            case = CASES_BY_NAME[name]
            counter = rawdb.StatementCounter(keep=True)
            with db.hooked(counter):
                rows[name] = len(await rawdb_call(db, case, dataset)())
            plans[name] = steps(counter.events)
        captured = await quota.capture(db, [quota.HOT])
        picked_at = db.statement("cinder.quota.finish_apply").compiled("mysql").names.index("picked")
        asyncmy_driver = await Driver.open(db, read_only=False)
        assert isinstance(asyncmy_driver, MysqlDriver)
        drivers: dict[str, Driver] = {
            "asyncmy": asyncmy_driver,
            "aiomysql": await AiomysqlDriver.like(url, asyncmy_driver),
        }
        samples: dict[tuple[str, str], list[Sample]] = {}
        try:
            for round_ in range(rounds):
                order = list(drivers) if round_ % 2 == 0 else list(reversed(drivers))
                for name in CASES:
                    n = max(5, calls // 10) if name == "b_admin_1000" else calls
                    for driver_name in order:
                        plan = plans[name]
                        driver = drivers[driver_name]
                        samples.setdefault((name, driver_name), []).extend(
                            await timed(functools.partial(driver.replay, plan), n)
                        )
                for driver_name in order:
                    await quota.reset_quota(db)
                    caller = quota._DriverCaller(drivers[driver_name], captured, [0], picked_at)
                    reserves: list[Sample] = []
                    commits: list[Sample] = []
                    for i in range(calls + 5):
                        started = clocks()
                        uuids = await caller.reserve(quota.HOT)
                        reserved = since(started)
                        assert uuids is not None, "the hot project refused a reservation"
                        middle = clocks()
                        await caller.finish(quota.HOT, uuids, True)
                        if i >= 5:  # warmup
                            reserves.append(reserved)
                            commits.append(since(middle))
                    samples.setdefault(("quota_reserve", driver_name), []).extend(reserves)
                    samples.setdefault(("quota_commit", driver_name), []).extend(commits)
                    samples.setdefault(("quota_pair", driver_name), []).extend(
                        (r[0] + c[0], r[1] + c[1]) for r, c in zip(reserves, commits, strict=True)
                    )
        finally:
            for driver in drivers.values():
                await driver.close()
        async with db.reader() as tx:
            server = await tx.fetchval(rawdb.Statement.portable("bench.version", "SELECT version() AS v"))
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("asyncmy", "aiomysql", "PyMySQL"))
    print(f"{server}; {versions}; {images} images, {rounds} rounds of {calls} calls (b_admin_1000: a tenth)")
    header = (
        f"{'':<22}{'wall-clock ms':^34}{'client CPU ms':^34}\n"
        f"{'scenario':<16}{'rows':>6}" + f"{'asyncmy':>9}{'p90':>8}{'aiomysql':>9}{'ratio':>8}" * 2
    )
    print(header)
    print("-" * len(header.splitlines()[-1]))
    for name in [*CASES, "quota_reserve", "quota_commit", "quota_pair"]:
        line = f"{name:<16}{rows.get(name, '-'):>6}"
        for k in (0, 1):
            fast = [sample[k] for sample in samples[name, "asyncmy"]]
            slow = [sample[k] for sample in samples[name, "aiomysql"]]
            ratio = statistics.median(slow) / statistics.median(fast)
            line += f"{statistics.median(fast):>9.3f}{p90(fast):>8.3f}{statistics.median(slow):>9.3f}{ratio:>7.2f}x"
        print(line)
    print(
        "Medians per call (lower is better); ratio: aiomysql's median over asyncmy's (above 1: asyncmy is\n"
        "faster).  Client CPU is this process's CPU time, which other programs on the machine barely move.\n"
        "quota_pair = reserve + commit, 9 statements."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="mysql://user@host:port/database (an empty or bench database)")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=100, help="timed calls per case, driver and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.images, args.calls, args.rounds))
