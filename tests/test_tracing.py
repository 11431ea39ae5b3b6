"""OpenTelemetry spans: ``connect(url, tracing=True)`` gives a span per scope and per statement."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

import rawdb
from rawdb import errors, schema, tracing
from rawdb.glance import images
from rawdb.statement import Statement

OpenDb = Callable[..., Awaitable[rawdb.Database]]

SECRET = "secret-value-4711"
SYSTEMS = {"sqlite": "sqlite", "postgresql": "postgresql", "mysql": "mysql"}
LOOKUP = Statement.portable("test.lookup", "SELECT CAST(:token AS VARCHAR(40)) AS token")
CREATE = "CREATE TABLE tokens (id INTEGER PRIMARY KEY, token VARCHAR(40) NOT NULL UNIQUE)"
ADD = Statement.portable("test.tokens.add", "INSERT INTO tokens (id, token) VALUES (:id, :token)")
BUMP = Statement.portable("test.counters.bump", "UPDATE counters SET n = n + 1 WHERE id = :id")
SERVERS = pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    yield exported
    exported.clear()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    traced = TracerProvider()
    traced.add_span_processor(SimpleSpanProcessor(exporter))
    return traced


@pytest.fixture
async def traced_db(url: str, open_db: OpenDb, provider: TracerProvider) -> rawdb.Database:
    return await open_db(url, tracing=True, tracer_provider=provider)


def named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def everything_said(spans: tuple[ReadableSpan, ...]) -> str:
    """Every name, attribute, event and status description of the spans, as one text."""
    parts: list[Any] = []
    for span in spans:
        parts += [span.name, span.status.description, *dict(span.attributes or {}).items()]
        for event in span.events:
            parts += [event.name, *dict(event.attributes or {}).items()]
    return repr(parts)


# --- scopes and statements ---------------------------------------------------------------------


async def test_a_scope_is_one_span_and_each_statement_a_child_named_by_rawdb(
    traced_db: rawdb.Database, exporter: InMemorySpanExporter, backend: str
) -> None:
    async with traced_db.writer() as tx:
        assert await tx.fetch(LOOKUP, token="abc") == [{"token": "abc"}]
    spans = exporter.get_finished_spans()
    [scope] = named(spans, "rawdb.writer")
    assert scope.kind is SpanKind.INTERNAL
    assert scope.parent is None
    assert scope.attributes is not None
    assert scope.attributes["db.system.name"] == SYSTEMS[backend]
    assert scope.attributes["rawdb.scope_outcome"] == "committed"
    assert scope.status.status_code is StatusCode.UNSET
    names = [span.name for span in children(spans, scope)]
    # SQLite's BEGIN goes with the first statement, in the same round trip
    assert names == (["test.lookup", "COMMIT"] if backend == "sqlite" else ["BEGIN", "test.lookup", "COMMIT"])
    assert len(spans) == len(names) + 1
    [lookup] = named(spans, "test.lookup")
    assert lookup.kind is SpanKind.CLIENT
    attributes = dict(lookup.attributes or {})
    assert attributes["db.system.name"] == SYSTEMS[backend]
    assert attributes["db.namespace"]
    assert attributes["db.operation.name"] == "SELECT"
    assert attributes["db.query.text"] == LOOKUP.compiled(traced_db.dialect).sql
    assert attributes["db.response.returned_rows"] == 1
    assert "error.type" not in attributes
    if backend != "sqlite":
        assert attributes["server.address"] == "127.0.0.1"
        assert isinstance(attributes["server.port"], int)
    assert lookup.start_time is not None and scope.start_time is not None
    assert scope.start_time <= lookup.start_time <= (lookup.end_time or 0) <= (scope.end_time or 0)


async def test_a_reader_scope_span_names_its_mode_and_holds_its_statement(
    traced_db: rawdb.Database, exporter: InMemorySpanExporter
) -> None:
    async with traced_db.reader() as rx:
        await rx.fetch(LOOKUP, token="abc")
    spans = exporter.get_finished_spans()
    [scope] = named(spans, "rawdb.reader")
    assert dict(scope.attributes or {})["rawdb.scope_mode"] == "reader"
    assert [s.name for s in children(spans, scope)] == ["test.lookup"]


async def test_parameter_values_never_reach_a_span(traced_db: rawdb.Database, exporter: InMemorySpanExporter) -> None:
    async with traced_db.writer() as tx:
        await tx.script(CREATE)
        await tx.execute(ADD, id=1, token=SECRET)
        assert await tx.fetchval(LOOKUP, token=SECRET) == SECRET
    with pytest.raises(errors.DBDuplicateEntry) as raised:
        async with traced_db.writer() as tx:
            await tx.execute(ADD, id=2, token=SECRET)  # the duplicate's message quotes the value
    spans = exporter.get_finished_spans()
    assert len(spans) >= 6
    assert named(spans, "test.tokens.add")
    assert SECRET not in everything_said(spans)
    assert raised.value is not None


async def test_a_failing_statement_span_carries_error_type_and_the_database_code(
    traced_db: rawdb.Database, exporter: InMemorySpanExporter, backend: str
) -> None:
    async with traced_db.writer() as tx:
        await tx.script(CREATE)
        await tx.execute(ADD, id=1, token="a")
    exporter.clear()
    with pytest.raises(errors.DBDuplicateEntry):
        async with traced_db.writer() as tx:
            await tx.execute(ADD, id=2, token="a")
    spans = exporter.get_finished_spans()
    [failed] = named(spans, "test.tokens.add")
    assert failed.status.status_code is StatusCode.ERROR
    attributes = dict(failed.attributes or {})
    assert attributes["error.type"] == "DBDuplicateEntry"
    assert attributes["db.operation.name"] == "INSERT"
    code = {"postgresql": "23505", "mysql": "1062", "sqlite": "SQLITE_CONSTRAINT_UNIQUE"}[backend]
    assert attributes["db.response.status_code"] == code
    [scope] = named(spans, "rawdb.writer")
    assert failed.parent is not None and failed.parent.span_id == scope.context.span_id
    assert scope.status.status_code is StatusCode.ERROR
    assert dict(scope.attributes or {})["error.type"] == "DBDuplicateEntry"
    assert dict(scope.attributes or {})["rawdb.scope_outcome"] == "rolledback"
    assert "ROLLBACK" in [s.name for s in children(spans, scope)] or backend == "sqlite"


async def test_an_exception_leaving_a_scope_marks_its_span(
    traced_db: rawdb.Database, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(errors.ImageNotFound):
        async with traced_db.reader() as rx:
            await rx.fetch(LOOKUP, token="abc")
            raise errors.ImageNotFound(image_id="x")
    [scope] = named(exporter.get_finished_spans(), "rawdb.reader")
    assert scope.status.status_code is StatusCode.ERROR
    assert dict(scope.attributes or {})["error.type"] == "ImageNotFound"


@rawdb.reader
async def find_token(context: rawdb.Context, token: str) -> Any:
    return await context.fetchval(LOOKUP, token=token)


async def test_a_scope_opened_by_a_decorated_function_is_named_after_it(
    traced_db: rawdb.Database, exporter: InMemorySpanExporter
) -> None:
    assert await find_token(rawdb.Context(traced_db), "abc") == "abc"
    [scope] = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.INTERNAL]
    assert scope.name.endswith(".find_token")
    assert dict(scope.attributes or {})["code.function.name"] == f"{find_token.__module__}.find_token"


async def test_glance_calls_are_scope_spans_holding_glance_statements(
    traced_db: rawdb.Database, exporter: InMemorySpanExporter, backend: str
) -> None:
    await schema.bootstrap(traced_db, "glance")
    ctx = rawdb.Context(traced_db, project_id="p1", user_id="u1")
    image = await images.image_create(ctx, {"name": SECRET, "status": "active", "owner": "p1"})
    exporter.clear()
    listed = await images.image_get_all(ctx, {"deleted": False}, limit=25)
    assert [found["name"] for found in listed] == [SECRET]
    assert (await images.image_get(ctx, image["id"]))["name"] == SECRET
    spans = exporter.get_finished_spans()
    [listing] = named(spans, "glance.images.image_get_all")  # the statement; its scope is a plain reader
    assert listing.kind is SpanKind.CLIENT
    assert listing.parent is not None
    [scope] = [s for s in spans if s.context.span_id == listing.parent.span_id]
    assert scope.name == "rawdb.reader"
    assert dict(listing.attributes or {})["db.response.returned_rows"] == 1
    # @reader names the scope it opens after the function (its statement may share the name)
    [get] = [s for s in named(spans, "glance.images.image_get") if s.kind is SpanKind.INTERNAL]
    assert dict(get.attributes or {})["db.system.name"] == SYSTEMS[backend]
    statements = children(spans, get)
    assert statements and all(s.name.startswith("glance.images.") for s in statements)
    assert all(dict(s.attributes or {})["db.operation.name"] == "SELECT" for s in statements)
    assert SECRET not in everything_said(spans)


# --- retries -----------------------------------------------------------------------------------


async def test_a_retried_scope_shows_the_failed_attempt_and_a_retry_span(
    traced_db: rawdb.Database, exporter: InMemorySpanExporter
) -> None:
    calls = 0

    @rawdb.retry_on_deadlock(max_retries=3, interval=0.001)
    @rawdb.writer
    async def flaky(context: rawdb.Context) -> int:
        nonlocal calls
        calls += 1
        await context.fetch(LOOKUP, token="abc")
        if calls == 1:
            raise errors.DBDeadlock()
        return calls

    assert await flaky(rawdb.Context(traced_db)) == 2
    spans = exporter.get_finished_spans()
    scopes = [s for s in spans if s.name.endswith(".flaky")]
    assert len(scopes) == 2
    first, second = sorted(scopes, key=lambda s: s.start_time or 0)
    assert first.status.status_code is StatusCode.ERROR
    assert dict(first.attributes or {})["error.type"] == "DBDeadlock"
    assert second.status.status_code is StatusCode.UNSET
    [retry] = named(spans, "rawdb.retry")
    attributes = dict(retry.attributes or {})
    assert attributes["rawdb.retry_attempt"] == 1
    assert attributes["error.type"] == "DBDeadlock"
    assert str(attributes["code.function.name"]).endswith(".flaky")
    assert (first.end_time or 0) <= (retry.start_time or 0) <= (retry.end_time or 0) <= (second.start_time or 0)
    assert traced_db.stats()["retries"] == 1


@SERVERS
async def test_a_real_deadlock_shows_the_victims_code_and_the_retry(
    backend: str, url: str, open_db: OpenDb, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    extra = {"server_settings": {"deadlock_timeout": "100ms"}} if backend == "postgresql" else {}
    db = await open_db(url, tracing=True, tracer_provider=provider, **extra)
    async with db.writer() as tx:
        await tx.script("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        await tx.script("INSERT INTO counters (id, n) VALUES (1, 0), (2, 0)")
    locked = {1: asyncio.Event(), 2: asyncio.Event()}

    @rawdb.retry_on_deadlock(max_retries=5, interval=0.01)
    @rawdb.writer
    async def bump_both(context: rawdb.Context, first: int, second: int) -> None:
        await context.execute(BUMP, id=first)
        locked[first].set()
        await asyncio.wait_for(locked[second].wait(), 2)
        await context.execute(BUMP, id=second)

    ctx = rawdb.Context(db)
    await asyncio.gather(bump_both(ctx, 1, 2), bump_both(ctx, 2, 1))
    spans = exporter.get_finished_spans()
    victims = [s for s in named(spans, "test.counters.bump") if s.status.status_code is StatusCode.ERROR]
    assert len(victims) == 1
    attributes = dict(victims[0].attributes or {})
    assert attributes["error.type"] == "DBDeadlock"
    assert attributes["db.response.status_code"] in ("40P01", "1213")
    assert len(named(spans, "rawdb.retry")) == 1
    assert len([s for s in spans if s.name.endswith(".bump_both")]) == 3  # two scopes, one run again
    assert db.stats()["retries"] == 1


# --- switching it on, and off ------------------------------------------------------------------


async def test_tracing_off_makes_no_spans(url: str, open_db: OpenDb) -> None:
    db = await open_db(url)
    assert db.tracing is None
    async with db.writer() as tx:
        await tx.fetch(LOOKUP, token="abc")


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


PROBE = """
    import asyncio, sys, tempfile
    import rawdb
    from rawdb import schema
    from rawdb.glance import images

    async def main():
        path = tempfile.mkdtemp() + "/probe.sqlite"
        async with rawdb.connect("sqlite:///" + path{options}) as db:
            await schema.bootstrap(db, "glance")
            await images.image_get_all(rawdb.Context(db, is_admin=True), {{}}, limit=5)
            async with db.writer() as tx:
                await tx.fetch(rawdb.Statement.portable("t.one", "SELECT 1 AS one"))
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))

    asyncio.run(main())
"""


def test_with_tracing_off_opentelemetry_is_never_imported() -> None:
    assert run_python(PROBE.format(options="")) == "[]"


def test_with_tracing_on_opentelemetry_is_imported() -> None:  # the probe above can see an import
    assert "opentelemetry.trace" in run_python(PROBE.format(options=", tracing=True"))


def test_tracing_without_the_opentelemetry_api_is_a_clear_error() -> None:
    out = run_python(
        """
        import asyncio, sys, tempfile
        sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
        import rawdb

        async def main():
            try:
                await rawdb.connect("sqlite:///" + tempfile.mkdtemp() + "/x.sqlite?tracing=true")
            except rawdb.errors.Invalid as exc:
                print("Invalid:", exc)

        asyncio.run(main())
        """
    )
    assert out.startswith("Invalid:") and "rawdb[otel]" in out


async def test_tracing_from_the_url_query(sqlite_url: str, open_db: OpenDb) -> None:
    db = await open_db(f"{sqlite_url}?tracing=true")
    assert db.tracing is not None
    assert (await open_db(f"{sqlite_url}?tracing=off")).tracing is None


async def test_a_tracer_provider_alone_turns_tracing_on(
    sqlite_url: str, open_db: OpenDb, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    db = await open_db(sqlite_url, tracer_provider=provider)
    async with db.reader() as rx:
        await rx.fetch(LOOKUP, token="abc")
    assert [s.name for s in exporter.get_finished_spans()] == ["test.lookup", "rawdb.reader"]


async def test_a_scope_the_sampler_drops_makes_no_statement_spans(sqlite_url: str, open_db: OpenDb) -> None:
    exported = InMemorySpanExporter()
    dropping = TracerProvider(sampler=ALWAYS_OFF)
    dropping.add_span_processor(SimpleSpanProcessor(exported))
    db = await open_db(sqlite_url, tracer_provider=dropping)
    async with db.writer() as tx:
        await tx.fetch(LOOKUP, token="abc")
        assert tx.transaction is not None and tx.transaction.span is None
    assert exported.get_finished_spans() == ()
    assert db.stats()["statements"] == 3  # the counters go on


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("?tracing=maybe", {}),
        ("", {"tracing": "sometimes"}),
        ("?tracer_provider=global", {}),
        ("", {"tracing": False, "tracer_provider": TracerProvider()}),
    ],
)
async def test_bad_tracing_options_are_invalid(sqlite_url: str, query: str, options: dict[str, Any]) -> None:
    with pytest.raises(errors.Invalid):
        await rawdb.connect(sqlite_url + query, **options)


# --- names -------------------------------------------------------------------------------------


def test_attribute_names_are_the_installed_semantic_conventions() -> None:
    from opentelemetry.semconv._incubating.attributes import db_attributes as incubating
    from opentelemetry.semconv.attributes import code_attributes, db_attributes, error_attributes, server_attributes

    assert tracing.DB_SYSTEM_NAME == db_attributes.DB_SYSTEM_NAME
    assert tracing.DB_NAMESPACE == db_attributes.DB_NAMESPACE
    assert tracing.DB_OPERATION_NAME == db_attributes.DB_OPERATION_NAME
    assert tracing.DB_QUERY_TEXT == db_attributes.DB_QUERY_TEXT
    assert tracing.DB_RESPONSE_STATUS_CODE == db_attributes.DB_RESPONSE_STATUS_CODE
    assert tracing.DB_RESPONSE_RETURNED_ROWS == incubating.DB_RESPONSE_RETURNED_ROWS
    assert tracing.SERVER_ADDRESS == server_attributes.SERVER_ADDRESS
    assert tracing.SERVER_PORT == server_attributes.SERVER_PORT
    assert tracing.ERROR_TYPE == error_attributes.ERROR_TYPE
    assert tracing.CODE_FUNCTION_NAME == code_attributes.CODE_FUNCTION_NAME
    assert {"postgresql", "mysql", "mariadb"} <= {v.value for v in db_attributes.DbSystemNameValues}
    assert incubating.DbSystemNameValues.SQLITE.value == "sqlite"


@pytest.mark.parametrize(
    ("sql", "verb"),
    [
        ("SELECT 1", "SELECT"),
        ("  -- a comment\n  insert INTO t VALUES (1)", "INSERT"),
        ("/* x */ UPDATE t SET a = 1", "UPDATE"),
        ("WITH a AS (SELECT 1 FROM t), b AS (DELETE FROM u RETURNING 1) SELECT * FROM a", "SELECT"),
        ("WITH gone AS (SELECT id FROM t) DELETE FROM u WHERE id IN (SELECT id FROM gone)", "DELETE"),
        ("(SELECT 1) UNION (SELECT 2)", "SELECT"),
        ("BEGIN IMMEDIATE", "BEGIN"),
        ("", ""),
    ],
)
def test_operation_name_is_the_statements_verb(sql: str, verb: str) -> None:
    assert tracing.operation_name(sql) == verb


def test_connection_attributes_name_system_database_and_server() -> None:
    attrs = tracing.connection_attributes("postgresql", "postgresql://u:pw@db.example:6432/glance?sslmode=require")
    assert attrs == {
        "db.system.name": "postgresql",
        "db.namespace": "glance",
        "server.address": "db.example",
        "server.port": 6432,
    }
    assert tracing.connection_attributes("mysql", "mariadb://root@h/nova")["db.system.name"] == "mariadb"
    assert tracing.connection_attributes("mysql", "mysql+pymysql://root@h/nova")["server.port"] == 3306
    assert tracing.connection_attributes("sqlite", "sqlite:////var/lib/glance.db") == {
        "db.system.name": "sqlite",
        "db.namespace": "/var/lib/glance.db",
    }
