"""The ``openstack`` target of the nova cases: nova 34's own DB API, in a process of its own.

    peer = await NovaPeer.start("postgresql://root@db/bench?search_path=rawdb_bench_nova34")
    await peer.sync()                          # nova's own schema: nova-manage db sync's db_sync()
    shaped, statements = await peer.call(spec)  # nova.db.main.api, result shaped as rawdb's
    samples = await peer.time(spec, 30)        # ms per call, timed in the peer's process
    await peer.close()

nova 34 and cinder 29 register options of the same name with different definitions on
oslo.config's one global ``CONF`` (``enable_new_services``), so they cannot be imported in one
process, and the quota scenarios import cinder.  The peer therefore runs nova in a child
process (``python -m rawdb.bench.peers.nova``), which reads one JSON request a line on stdin
and writes one JSON reply a line on stdout, times its own calls (``time_sync``, as the glance
peer is timed) and shapes its results with ``rawdb.bench.nova_cases.shape``.

nova is configured as a cell database connection is (``nova.db.main.api.
create_context_manager``: oslo.db's enginefacade from ``[database]`` with the connection URL;
QueuePool with pre-ping on PostgreSQL and MySQL, psycopg2 and PyMySQL) and every context
carries it as ``db_connection``, as ``nova.context.target_cell`` does.  The schema is nova's:
``sync()`` runs ``nova.db.migration.db_sync`` (what ``nova-manage db sync`` runs: the alembic
migrations of the main database, from ``8f2f1571d55b_initial_version`` on).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rawdb.bench.nova_cases import cas_values, decode_spec, encode_spec, fresh, shape, warmup
from rawdb.bench.peers.glance import driver_missing, sqlalchemy_url
from rawdb.database import url_dialect

__all__ = ["NOVA_VERSION", "NovaPeer", "available", "peer_sqlalchemy_url"]

NOVA_VERSION = "34.0.0"
_INSTALL = "pip install 'rawdb[openstack]'"
_START_TIMEOUT = 120.0  # seconds for the child to import nova and connect
_CALL_TIMEOUT = 3600.0
_MODULES = ("nova.conf", "nova.context", "nova.db.migration", "nova.db.main.api")


def python() -> str:
    """The interpreter the child runs: ``$RAWDB_NOVA_PYTHON`` (a virtual environment with nova 34
    and rawdb installed, kept apart from the caller's) or the caller's own."""
    return os.environ.get("RAWDB_NOVA_PYTHON") or sys.executable


_PROBE = "import importlib.metadata as m, sys; print(m.version('nova')); import rawdb.bench.peers.nova"


def available(url: str) -> str | None:
    """None when nova 34 is installed and SQLAlchemy's driver for ``url`` imports; else a reason.

    nova itself is imported by the child only (see the module's doc); an import failure there
    is reported by ``NovaPeer.start``.
    """
    if python() != sys.executable:
        try:
            probe = subprocess.run([python(), "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"RAWDB_NOVA_PYTHON={python()} cannot run: {exc}"
        if probe.returncode != 0:
            return f"RAWDB_NOVA_PYTHON={python()} has no nova 34 and rawdb: {probe.stderr.strip()[-300:]}"
        installed = probe.stdout.split()[0]
    else:
        try:
            installed = importlib.metadata.version("nova")
        except importlib.metadata.PackageNotFoundError:
            return f"nova is not installed: {_INSTALL} (or set RAWDB_NOVA_PYTHON)"
    if installed.split(".")[0] != NOVA_VERSION.split(".")[0]:
        return f"nova {installed} is installed, not {NOVA_VERSION}: {_INSTALL}"
    return None if python() != sys.executable else driver_missing(url)


def peer_sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL of a rawdb URL, a PostgreSQL ``search_path`` passed as libpq's ``options``."""
    converted = sqlalchemy_url(url)
    if url_dialect(url) != "postgresql":
        return converted
    parts = urlsplit(converted)
    query = parse_qsl(parts.query, keep_blank_values=True)
    path = [v for k, v in query if k == "search_path"]
    kept = [(k, v) for k, v in query if k != "search_path"]
    if path:
        kept.append(("options", f"-csearch_path={path[-1]}"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))


class NovaPeer:
    """The parent's handle on the child running nova 34 (one request at a time)."""

    def __init__(self, url: str, process: asyncio.subprocess.Process) -> None:
        self.url = url
        self.process = process
        self.statements = 0

    @classmethod
    async def start(cls, url: str) -> NovaPeer:
        """Start the child and connect it to ``url`` (a rawdb URL).

        :raises RuntimeError: nova does not import, or the child could not start; the reason
        """
        reason = available(url)
        if reason is not None:
            raise RuntimeError(reason)
        process = await asyncio.create_subprocess_exec(
            python(),
            "-m",
            "rawdb.bench.peers.nova",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 28,  # a shaped page of 1,000 instances is a few MB on one line
        )
        peer = cls(url, process)
        try:
            await peer._ask({"op": "open", "url": peer_sqlalchemy_url(url)}, _START_TIMEOUT)
        except BaseException:
            await peer.close()
            raise
        return peer

    async def _ask(self, request: Mapping[str, Any], wait: float = _CALL_TIMEOUT) -> dict[str, Any]:
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write((encode_spec(request) + "\n").encode())
        await process.stdin.drain()
        line = await asyncio.wait_for(process.stdout.readline(), wait)
        if not line:
            raise RuntimeError(f"nova's process ended (exit code {await process.wait()}); see its output above")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"nova {NOVA_VERSION}: {reply['error']}")
        return reply

    async def sync(self) -> float:
        """Create or upgrade nova's schema on the peer's database (``db_sync``); the seconds it took."""
        return float((await self._ask({"op": "sync"}))["seconds"])

    async def sync_api(self, url: str) -> float:
        """Point nova's API database (flavors, aggregates) at ``url`` (a rawdb URL) and create or
        upgrade its schema there (``db_sync(database='api')``); the seconds it took."""
        return float((await self._ask({"op": "sync_api", "url": peer_sqlalchemy_url(url)}))["seconds"])

    async def call(self, spec: Mapping[str, Any]) -> tuple[Any, int]:
        """One call of the case ``spec`` (``nova_cases.call_spec``): its shaped result and statements sent."""
        reply = await self._ask({"op": "call", "spec": spec})
        self.statements = int(reply["statements"])
        return reply["result"], self.statements

    async def restart(self) -> None:
        """The next n_update_cas call starts from CAS_STATES[0] again (the caller has reset the instance)."""
        await self._ask({"op": "restart"})

    async def time(self, spec: Mapping[str, Any], calls: int) -> list[float]:
        """Milliseconds of each of ``calls`` calls (after ``warmup(calls)`` untimed ones), timed in the child."""
        return [float(s) for s in (await self._ask({"op": "time", "spec": spec, "calls": calls}))["samples"]]

    async def archive(self, max_rows: int) -> dict[str, Any]:
        """nova-manage db archive_deleted_rows --max_rows N --until-complete's loop, timed in the child
        (``rawdb.bench.nova_archive.archive_until_complete``)."""
        return await self._ask({"op": "archive", "max_rows": max_rows})

    async def close(self) -> None:
        process = self.process
        if process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- the child ---------------------------------------------------------------------------------------


_ADMIN = {"admin": True, "project_id": "admin-proj", "user_id": "admin-user"}


class _Nova:
    """nova 34's DB API on one database, as the child runs it."""

    def __init__(self, connection: str) -> None:
        from rawdb.bench.peers import count_round_trips

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # eventlet's deprecation, SQLAlchemy's notes
            modules = {name: importlib.import_module(name) for name in _MODULES}
        api: Any = modules["nova.db.main.api"]
        conf: Any = modules["nova.conf"].CONF
        conf([], project="nova", default_config_files=[])
        conf.set_override("connection", connection, group="database")  # the regex filters read it
        self.api = api
        self.migration: Any = modules["nova.db.migration"]
        self.context_class: Any = modules["nova.context"].RequestContext
        self.manager: Any = api.create_context_manager(connection)
        self.statements = 0
        self.engine: Any = self.manager.writer.get_engine()

        count_round_trips(self.engine, self._count)
        self.contexts: dict[tuple[bool, str, str], Any] = {}
        self.steps = 0  # n_update_cas: calls so far

    def _count(self, statements: int, round_trips: int) -> None:
        self.statements += statements

    def context(self, spec: Mapping[str, Any]) -> Any:
        key = (bool(spec["admin"]), str(spec["project_id"]), str(spec["user_id"]))
        ctx = self.contexts.get(key)
        if ctx is None:
            ctx = self.context_class(
                user_id=key[2],
                project_id=key[1],
                is_admin=key[0],
                roles=["admin", "member", "reader"] if key[0] else ["member", "reader"],
                overwrite=False,
            )
            ctx.db_connection = self.manager  # as nova.context.target_cell does
            self.contexts[key] = ctx
        return ctx

    def run(self, spec: Mapping[str, Any]) -> Any:
        """One call; the raw result."""
        api, ctx, kind = self.api, self.context(spec), spec["kind"]
        if kind == "list":
            return api.instance_get_all_by_filters_sort(
                ctx,
                fresh(spec["filters"]),
                limit=spec["limit"],
                marker=spec["marker"],
                sort_keys=list(spec["sort_keys"]),
                sort_dirs=list(spec["sort_dirs"]),
            )
        if kind == "get":
            return api.instance_get_by_uuid(ctx, spec["uuid"])
        if kind == "inventory":
            return _inventory(api, ctx, spec["function"], fresh(spec["arguments"]))
        if kind == "update":
            self.steps += 1
            # update_on_match hands back a row whose columns expire with the session: read the
            # outcome in the very transaction instance_update joins (its writer nests in this one)
            with api.get_context_manager(ctx).writer.using(ctx):
                ref = api.instance_update(ctx, spec["uuid"], cas_values(self.steps - 1))
                return {key: ref[key] for key in ("uuid", "task_state", "vm_state")}
        return api.instance_create(ctx, fresh(spec["values"]))

    def handle(self, request: Mapping[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "sync":
            started = time.perf_counter()
            ctx = self.context(_ADMIN)
            self.migration.db_sync(context=ctx)
            return {"seconds": time.perf_counter() - started}
        if op == "sync_api":
            started = time.perf_counter()
            conf: Any = importlib.import_module("nova.conf").CONF
            conf.set_override("connection", request["url"], group="api_database")
            api_db: Any = importlib.import_module("nova.db.api.api")
            # configure() without its profiler hook (oslo's profiler options are not registered here)
            api_db.context_manager.configure(**api_db._get_db_conf(conf.api_database))
            from rawdb.bench.peers import count_round_trips

            count_round_trips(api_db.get_engine(), self._count)
            self.migration.db_sync(database="api")
            return {"seconds": time.perf_counter() - started}
        if op == "restart":
            self.steps = 0
            return {"ok": True}
        if op == "archive":
            from rawdb.bench.nova_archive import archive_until_complete

            return archive_until_complete(self.api, self.context(_ADMIN), int(request["max_rows"]))
        spec = request["spec"]
        if op == "call":
            if spec["kind"] == "update":
                self.steps = 0  # the case starts from CAS_STATES[0] (the runner resets the instance)
            self.statements = 0
            result = self.run(spec)
            shaped = shape(spec["kind"], plain(spec["kind"], result), spec.get("function", ""))
            return {"result": shaped, "statements": self.statements}
        if op == "time":
            from rawdb.bench.measure import time_sync

            calls = int(request["calls"])
            return {"samples": time_sync(lambda: self.run(spec), calls, warmup=warmup(calls))}
        raise ValueError(f"unknown request {op!r}")


def _inventory(api: Any, ctx: Any, function: str, arguments: dict[str, Any]) -> Any:
    """nova 34's code for an inventory case.  Flavors and aggregates live in its API database and
    are read by ``nova.objects``' own query functions; ``aggregate_metadata_get_by_host`` is
    what nova's scheduler computes from a host's aggregates (``nova.scheduler.filters.utils``)."""
    if function == "flavor_get_all":
        flavor: Any = importlib.import_module("nova.objects.flavor")
        filters = arguments.get("filters")
        return flavor._flavor_get_all_from_db(ctx, False, filters, "flavorid", "asc", None, None)
    if function in ("aggregate_get_by_host", "aggregate_metadata_get_by_host"):
        aggregate: Any = importlib.import_module("nova.objects.aggregate")
        found = aggregate._get_by_host_from_db(ctx, arguments["host"], key=arguments.get("key"))
        if function == "aggregate_get_by_host":
            return [
                {
                    "id": a.id,
                    "name": a.name,
                    "hosts": [h.host for h in a._hosts],
                    "metadetails": {m.key: m.value for m in a._metadata},
                }
                for a in found
            ]
        metadata: dict[str, set[str]] = {}
        for a in found:
            for m in a._metadata:
                if arguments.get("key") is None or m.key == arguments["key"]:
                    metadata.setdefault(m.key, set()).add(m.value)
        return metadata
    if function == "service_get_all_by_topic":
        return [dict(s) for s in api.service_get_all_by_topic(ctx, arguments["topic"])]
    return getattr(api, function)(ctx, **arguments)


def _rows(items: Any) -> list[dict[str, Any]]:
    return [{"key": item["key"], "value": item["value"]} for item in items or ()]


def plain(kind: str, result: Any) -> Any:
    """nova's result (models, or dicts of models for listings) as rawdb-like dicts for ``shape``."""
    if kind == "list":
        return [_plain(instance, rules=False) for instance in result]
    if kind in ("update", "inventory"):  # read in run() / _inventory()
        return result
    return _plain(result, rules=kind == "get")


def _field(instance: Any, key: str) -> Any:
    return instance.get(key) if isinstance(instance, dict) else getattr(instance, key)


def _plain(instance: Any, rules: bool) -> dict[str, Any]:
    keys = ("uuid", "project_id", "host", "vm_state", "task_state", "deleted", "display_name")
    out: dict[str, Any] = {key: _field(instance, key) for key in keys}
    if isinstance(instance, dict) or "metadata" in instance.__dict__:
        out["metadata"] = _rows(_field(instance, "metadata"))
        out["system_metadata"] = _rows(_field(instance, "system_metadata"))
    else:  # instance_update's result: the row, nothing loaded
        out["metadata"] = out["system_metadata"] = []
    cache = _field(instance, "info_cache") if isinstance(instance, dict) or "info_cache" in instance.__dict__ else None
    out["info_cache"] = None if cache is None else {"network_info": cache["network_info"]}
    groups = (
        _field(instance, "security_groups")
        if isinstance(instance, dict)
        else instance.__dict__.get("security_groups", [])
    )
    out["security_groups"] = [
        {
            "name": group["name"],
            "rules": [
                {key: rule[key] for key in ("protocol", "from_port", "to_port", "cidr", "group_id")}
                for rule in group["rules"]
            ]
            if rules
            else [],
        }
        for group in groups or ()
    ]
    if out["info_cache"] is not None and out["info_cache"]["network_info"] is not None:
        out["info_cache"]["network_info"] = str(out["info_cache"]["network_info"])
    return out


def _serve() -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever nova and its libraries print goes to stderr, never into the replies
    sys.stdout = sys.stderr
    nova: _Nova | None = None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "open":
                nova = _Nova(request["url"])
                reply: dict[str, Any] = {"ok": True}
            elif nova is None:
                raise RuntimeError("open first")
            else:
                reply = nova.handle({**request, "spec": decode_spec(request.get("spec") or {})})
        except Exception as exc:  # any failure of nova's code: the parent raises it with this text
            where = traceback.extract_tb(exc.__traceback__)[-1]
            reply = {"error": f"{type(exc).__name__}: {exc} ({where.filename}:{where.lineno})"[:2000]}
        protocol.write(json.dumps(reply, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
