"""Hostile input for every public API function, on both backends.

The rule: given bad input, a public function of rawdb raises a ``rawdb.errors`` class and
writes nothing; no Python or driver exception escapes, no value ever reaches the SQL text,
and both backends answer alike.  The property tests find the functions by introspection
(``images.__all__``, the public coroutines of cache_db and the quota modules, the
coroutine methods of ``QuotaEngine``) and read their parameters from their signatures,
so a new public function is covered as soon as it exists; it only needs a sensible valid
value for each new parameter name in GLANCE_VALID or quota_valid (the test says which).

Each example calls one function with valid arguments (against a real image, node,
project and reservation set up first) except for one parameter, or one value inside a
dict or list parameter, which gets a hostile value; both backends get the same call.
The tests below the property tests pin the cases that were found, one behaviour each.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqltools import select

import rawdb
from rawdb import errors, schema
from rawdb.cinder import quotas as cinder_quotas
from rawdb.cinder import sync as cinder_sync
from rawdb.glance import cache_db, images
from rawdb.glance._validate import IMAGE_COLUMN_NAMES
from rawdb.nova import quotas as nova_quotas
from rawdb.nova import sync as nova_sync
from rawdb.observe import StatementEvent
from rawdb.quota import CINDER, NOVA, AbsoluteResource, QuotaEngine, Service

# --- hostile values -------------------------------------------------------------------------

INJECTIONS = ("x'; DROP TABLE images; --", '" OR 1=1 --')
LONG = "x" * 10**5
NEVER_IN_SQL = (*INJECTIONS, LONG[:1000])  # values reach the database as parameters, never as SQL text
EAST = timezone(timedelta(hours=1))
WEST = timezone(timedelta(hours=-1))
HOSTILE: tuple[Any, ...] = (
    None,
    0,
    1,
    -1,
    True,
    False,
    2**31,
    2**63,
    -(2**63) - 1,
    10**30,
    math.inf,
    -math.inf,
    math.nan,
    0.5,
    "",
    "\ud800",
    "a\udfffb",
    "nul\x00",
    "\U0001f600",
    LONG,
    *INJECTIONS,
    "true",
    "false",
    "lt:99999-01-01T00:00:00",
    "lt:10000-01-01T00:00:00",
    "gte:9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "in:a,\ud800",
    b"bytes",
    bytearray(b"x"),
    [],
    ["x"],
    [["name"]],
    [None],
    {},
    {"k": "v"},
    {"k": object()},
    {1, 2},
    ("t",),
    object(),
    datetime(1, 1, 1),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime(1, 1, 1, tzinfo=EAST),
    datetime(9999, 12, 31, 23, tzinfo=WEST),
    datetime(2024, 1, 1, tzinfo=UTC),
    timedelta(days=10**8),
)
# Tried for every parameter of every function, before the random examples.
SWEEP: tuple[Any, ...] = (
    None,
    "\ud800",
    "nul\x00",
    LONG,
    2**63,
    math.nan,
    object(),
    datetime(9999, 12, 31, 23, tzinfo=WEST),
)
HOSTILE_KEYS: tuple[Any, ...] = (1, None, "", "\ud800", "nul\x00", "x" * 300, *INJECTIONS, ("t",))

# Half the draws from the list above, half generated (lone surrogates included in the text).
hostile_values = st.sampled_from(HOSTILE) | st.one_of(
    st.integers(),
    st.floats(),
    st.text(st.characters(exclude_categories=()), max_size=6),
    st.binary(max_size=4),
)


# --- valid arguments, by parameter name --------------------------------------------------------

IMAGE_ID = "11111111-2222-3333-4444-555555555555"
OTHER_IMAGE_ID = "66666666-7777-8888-9999-000000000000"
NODE = "http://node-1:9292"
PROJECT = "project-1"
USER = "user-1"
RESERVATION = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
LOCATION = {"url": "file:///seed", "metadata": {"store": "a"}, "status": "active"}
SEED_IMAGE = {"id": IMAGE_ID, "owner": "p1", "visibility": "shared"}

GLANCE_VALID: dict[str, Any] = {
    "image_id": IMAGE_ID,
    "image_ref": IMAGE_ID,
    "image": SEED_IMAGE,
    "values": {"name": "renamed", "properties": {"p": "v"}},
    "filters": {"deleted": False},
    "marker": None,
    "limit": 5,
    "sort_key": ["name"],
    "sort_dir": ["asc"],
    "member_status": "accepted",
    "is_public": None,
    "admin_as_user": False,
    "return_tag": True,
    "v1_mode": False,
    "force_show_deleted": False,
    "purge_props": False,
    "from_state": None,
    "atomic_props": ["p"],
    "prop_ref": "seed-prop",
    "name": "seed-prop",
    "value": "seed-value",
    "location": LOCATION,
    "location_id": 1,
    "status": None,
    "delete_time": None,
    "memb_id": 1,
    "member": "p2",
    "include_deleted": False,
    "tags": ["t1", "t2"],
    "owner_id": "p1",
    "age_in_days": 30,
    "max_rows": 10,
    "node_reference_url": NODE,
    "filesize": 10,
    "checksum": None,
    "last_accessed": None,
    "last_modified": None,
    "hits": None,
    "replace": True,
}
GLANCE_OVERRIDES: dict[tuple[str, str], Any] = {
    ("image_create", "values"): {"status": "queued", "owner": "p1", "locations": [LOCATION], "properties": {"p": "v"}},
    ("image_property_create", "values"): {"image_id": IMAGE_ID, "name": "made", "value": "v"},
    ("image_member_create", "values"): {"image_id": IMAGE_ID, "member": "p3", "can_share": False},
    ("image_member_update", "values"): {"status": "accepted", "can_share": True},
    ("image_location_update", "location"): {**LOCATION, "id": 1},
    ("image_location_delete", "status"): "pending_delete",
    ("image_tag_create", "value"): "t3",
    ("image_tag_delete", "value"): "t-none",
    ("image_member_find", "member"): None,
}


def quota_valid(service: Service, resource: str, resources: list[Any]) -> dict[str, Any]:
    return {
        "project_id": PROJECT,
        "user_id": USER,
        "resource": resource,
        "limit": 10,
        "class_name": "gold",
        "uuid": RESERVATION,
        "usage": 1,
        "delta": 1,
        "expire": None,
        "reservations": [RESERVATION],
        "resources": {r.name: r for r in resources},
        "project_quotas": {resource: 100},
        "user_quotas": {resource: 100},
        "quotas": {resource: 100},
        "deltas": {resource: 1},
        "until_refresh": None,
        "in_use": 0,
        "reserved": 0,
        "max_age": None,
        "keys": [resource],
        "only_quotas": True,
        "**values": {"in_use": 0},
        "**deltas": {resource: 1},
        "*args": (),
    }


QUOTA_OVERRIDES: dict[tuple[str, str], Any] = {
    ("limit_check", "**values"): {},
    ("count", "resource"): "key_pairs",
}

# The keys a hostile value goes under, inside a dict parameter (besides the valid dict's own keys).
KEYS: dict[str, tuple[Any, ...]] = {
    "values": (
        *IMAGE_COLUMN_NAMES,
        "properties",
        "locations",
        "is_public",
        "tags",
        "members",
        "image_id",
        "member",
        "can_share",
        "status",
        "name",
        "value",
        "unknown",
    ),
    "filters": (
        *IMAGE_COLUMN_NAMES,
        "size_min",
        "size_max",
        "virtual_size_min",
        "min_ram_max",
        "min_disk_min",
        "name_min",
        "changes-since",
        "deleted",
        "tags",
        "properties",
        "visibility",
        "is_public",
        "unknown",
    ),
    "location": ("url", "metadata", "status", "id"),
    "metadata": ("a", "b"),
    "properties": ("p", "q"),
    "image": ("id", "owner", "visibility"),
    "usage": ("id",),
    "**values": ("in_use", "reserved", "until_refresh", "metadata_items", "bogus"),
    **dict.fromkeys(
        ("deltas", "**deltas", "project_quotas", "user_quotas", "quotas", "resources"),
        ("instances", "cores", "fixed_ips", "volumes", "metadata_items", "bogus"),
    ),
}
# What a hostile value is put inside when its key is missing from the valid dict.
TEMPLATES: dict[str, Any] = {
    "locations": [LOCATION],
    "properties": {"p": "v"},
    "metadata": {"a": "b"},
    "tags": ["t"],
    "location": LOCATION,
}


def mutations(valid: Any, keys: tuple[Any, ...] = (), var_keyword: bool = False) -> st.SearchStrategy[Any]:
    """A hostile value for a parameter whose valid value is ``valid``: whole, or one value inside it."""
    options: list[st.SearchStrategy[Any]] = [] if var_keyword else [hostile_values]
    if isinstance(valid, Mapping):
        known = tuple(dict.fromkeys([*valid, *keys]))
        if known:
            options.append(
                st.sampled_from(known).flatmap(
                    lambda key: mutations(valid.get(key, TEMPLATES.get(key)), KEYS.get(key, ())).map(
                        lambda item: {**valid, key: item}
                    )
                )
            )
        if not var_keyword:
            options.append(st.sampled_from(HOSTILE_KEYS).map(lambda key: {**valid, key: "v"}))
    elif isinstance(valid, list) and valid:
        # one item made hostile (the only lists of dicts are lists of locations), or one more item
        options.append(
            st.integers(0, len(valid) - 1).flatmap(
                lambda i: mutations(valid[i], KEYS.get("location", ()) if isinstance(valid[i], Mapping) else ()).map(
                    lambda item: [*valid[:i], item, *valid[i + 1 :]]
                )
            )
        )
        options.append(hostile_values.map(lambda item: [*valid, item]))
    return st.one_of(options)


# --- the functions under test ------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One public function (or QuotaEngine method) and its parameters."""

    name: str
    resolve: Callable[[Env], Callable[..., Any]]
    params: tuple[inspect.Parameter, ...]


def module_targets(module: ModuleType) -> list[Target]:
    """The public functions a module exports (``__all__``), or else defines."""
    names = getattr(module, "__all__", None) or [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == module.__name__
    ]
    targets = []
    for name in names:
        fn = getattr(module, name)
        params = tuple(inspect.signature(fn).parameters.values())
        targets.append(Target(f"{module.__name__}.{name}", lambda env, fn=fn: fn, params))
    return targets


def engine_targets() -> list[Target]:
    """QuotaEngine's coroutine methods (register_resource and friends touch no database)."""
    targets = []
    for name, method in inspect.getmembers(QuotaEngine, inspect.iscoroutinefunction):
        if name.startswith("_"):
            continue
        params = tuple(p for p in inspect.signature(method).parameters.values() if p.name != "self")
        targets.append(Target(f"QuotaEngine.{name}", lambda env, name=name: getattr(env.engine, name), params))
    return targets


def key_of(param: inspect.Parameter) -> str:
    prefix = {inspect.Parameter.VAR_KEYWORD: "**", inspect.Parameter.VAR_POSITIONAL: "*"}.get(param.kind, "")
    return prefix + param.name


def valid_value(target: Target, param: inspect.Parameter, valid: dict[str, Any], overrides: dict[Any, Any]) -> Any:
    short = target.name.rsplit(".", 1)[1]
    key = key_of(param)
    if (short, key) in overrides:
        return overrides[(short, key)]
    if key in valid:
        return valid[key]
    if param.default is not inspect.Parameter.empty:
        return param.default
    raise AssertionError(f"add a valid value for parameter {key!r} of {target.name} to this test's VALID table")


# --- the databases -----------------------------------------------------------------------------


@dataclass
class Env:
    """One backend's database, the context calls run with, and what the checks need."""

    backend: str
    db: rawdb.Database
    ctx: rawdb.Context
    fingerprint_statement: rawdb.Statement
    engine: QuotaEngine | None = None
    sql: list[str] = field(default_factory=list)
    armed: bool = False
    snapshot: Any = None  # the fingerprint, while nothing may have changed since it was taken

    def hook(self, event: StatementEvent) -> None:
        if self.armed:
            self.sql.append(event.sql)


async def table_names(db: rawdb.Database) -> list[str]:
    if db.dialect == "sqlite":
        rows = await select(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return sorted(row["name"] for row in rows)
    rows = await select(db, "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()")
    return sorted(row["name"] for row in rows)


async def fingerprint_statement(db: rawdb.Database) -> rawdb.Statement:
    """One SELECT of every row of every table, as one text per table."""
    parts = []
    for n, table in enumerate(await table_names(db)):
        if db.dialect == "sqlite":
            columns = [row["name"] for row in await select(db, f"SELECT name FROM pragma_table_info('{table}')")]
            row_text = " || '|' || ".join(f'quote("{c}")' for c in columns)
            rows = f'(SELECT * FROM "{table}" ORDER BY rowid)'
            parts.append(f"(SELECT group_concat({row_text}, ';') FROM {rows}) AS t{n}")
        else:
            row_text = "CAST(t AS TEXT)"
            parts.append(f"(SELECT string_agg({row_text}, ';' ORDER BY {row_text}) FROM \"{table}\" t) AS t{n}")
    return rawdb.Statement.portable(f"test.hostile.fingerprint_{db.dialect}_{len(parts)}", "SELECT " + ", ".join(parts))


async def fingerprint(env: Env) -> Any:
    async with env.db.reader() as rx:
        row = await rx.fetchrow(env.fingerprint_statement)
    assert row is not None
    return tuple(row.values())


async def open_env(url: str, service: str, ctx: Callable[[rawdb.Database], rawdb.Context]) -> Env:
    db = await rawdb.connect(url)
    await schema.bootstrap(db, service)
    env = Env(db.dialect, db, ctx(db), await fingerprint_statement(db))
    db.add_hook(env.hook)
    return env


@pytest.fixture
def both(sqlite_url: str, pg_url: str) -> tuple[str, str]:
    return sqlite_url, pg_url


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    """One event loop for a whole property test: its databases stay open across examples."""
    with asyncio.Runner() as loop:
        yield loop


# --- one call, checked -------------------------------------------------------------------------


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:100]}...({len(text)} characters)"


def describe_call(target: Target, values: dict[str, Any]) -> str:
    arguments = ", ".join(f"{key}={describe(value)}" for key, value in values.items())
    return f"{target.name}({arguments})"


async def attempt(env: Env, target: Target, values: dict[str, Any]) -> str:
    """Call the target with these arguments; return ``ok`` or the rawdb error's class name."""
    fn = target.resolve(env)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in target.params:
        if param.name == "context":
            value = values.get("context", env.ctx)
        else:
            value = copy.deepcopy(values[key_of(param)])
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            args.extend(value)
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            kwargs.update(value)
        elif param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    before = env.snapshot if env.snapshot is not None else await fingerprint(env)
    env.sql.clear()
    env.armed = True
    call = describe_call(target, values)
    try:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            await result
    except errors.RawdbError as exc:
        outcome = type(exc).__name__
        env.armed = False
        after = await fingerprint(env)
        assert after == before, f"{env.backend}: {call} raised {exc!r} but changed rows"
        env.snapshot = after
    except Exception as exc:
        raise AssertionError(f"{env.backend}: {call} leaked {type(exc).__name__}: {exc}") from exc
    else:
        outcome = "ok"
        env.snapshot = None
    finally:
        env.armed = False
    for sql in env.sql:
        for value in NEVER_IN_SQL:
            assert value not in sql, f"{env.backend}: {call} put a value into the SQL text: {sql[:300]}"
    return outcome


def check_examples(
    runner: asyncio.Runner,
    envs: list[Env],
    targets: list[Target],
    valid: dict[str, Any],
    overrides: dict[Any, Any],
    examples_per_parameter: int,
) -> None:
    """Run the property for each target, ``examples_per_parameter`` examples per parameter, on every env.

    Every target is tried; the failures of all of them are reported together.
    """
    failures = []
    for target in targets:
        try:
            check_target(runner, envs, target, valid, overrides, examples_per_parameter * len(target.params))
        except Exception as exc:  # AssertionError, or hypothesis's group of distinct ones
            found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
            failures += [str(error).splitlines()[0] for error in found]
    assert not failures, "\n".join(failures)


def check_target(
    runner: asyncio.Runner,
    envs: list[Env],
    target: Target,
    valid: dict[str, Any],
    overrides: dict[Any, Any],
    max_examples: int,
) -> None:
    values = {key_of(p): valid_value(target, p, valid, overrides) for p in target.params if p.name != "context"}

    def check(call: dict[str, Any]) -> None:
        """One call on every backend: each passes ``attempt``'s checks, and all answer alike."""
        outcomes = {env.backend: runner.run(attempt(env, target, call)) for env in envs}
        assert len(set(outcomes.values())) == 1, f"the backends disagree on {describe_call(target, call)}: {outcomes}"

    for param in target.params:  # first every parameter with each SWEEP value, then random examples
        if param.name != "context":
            for value in SWEEP:
                check({**values, key_of(param): swept(param, values[key_of(param)], value)})

    @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def examples(data: st.DataObject) -> None:
        call = dict(values)
        param = data.draw(st.sampled_from(target.params), label="hostile parameter")
        key = key_of(param)
        if param.name == "context":
            call["context"] = data.draw(st.sampled_from((None, object(), "ctx", {"is_admin": True}, 1)))
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            call[key] = data.draw(st.lists(hostile_values, max_size=2).map(tuple), label=key)
        else:
            var_keyword = param.kind is inspect.Parameter.VAR_KEYWORD
            mutated = data.draw(mutations(call[key], KEYS.get(key, ()), var_keyword), label=key)
            if var_keyword:  # keyword names must be strings that are not other parameters' names
                names = {p.name for p in target.params}
                mutated = {k: v for k, v in mutated.items() if isinstance(k, str) and k not in names}
            call[key] = mutated
        check(call)

    examples()


def swept(param: inspect.Parameter, valid: Any, value: Any) -> Any:
    """A SWEEP value in the place of a parameter (inside ``**kwargs``: as its first keyword's value)."""
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        return (value,)
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        return {next(iter(valid), "bogus"): value}
    return value


def close_all(runner: asyncio.Runner, envs: list[Env]) -> None:
    for env in envs:
        runner.run(env.db.close())


# --- the property tests ------------------------------------------------------------------------


async def seed_glance(env: Env) -> None:
    admin = rawdb.Context(env.db, is_admin=True)
    await images.image_create(
        admin,
        {
            "id": IMAGE_ID,
            "status": "active",
            "owner": "p1",
            "name": "seed",
            "size": 100,
            "properties": {"seed-prop": "seed-value"},
            "locations": [LOCATION],
        },
    )
    await images.image_create(admin, {"id": OTHER_IMAGE_ID, "status": "active", "owner": "p2", "visibility": "public"})
    await images.image_tag_set_all(admin, IMAGE_ID, ["t1", "t2"])
    member = await images.image_member_create(admin, {"image_id": IMAGE_ID, "member": "p2"})
    assert member["id"] == GLANCE_VALID["memb_id"]
    assert (await images.image_get(admin, IMAGE_ID))["locations"][0]["id"] == GLANCE_VALID["location_id"]
    await cache_db.node_reference_create(admin, NODE)
    await cache_db.insert_cache_details(admin, NODE, IMAGE_ID, 100)


def test_glance_functions_given_hostile_input_succeed_or_raise_rawdb_errors_and_write_nothing(
    both: tuple[str, str], runner: asyncio.Runner
) -> None:
    envs: list[Env] = []
    try:
        for url in both:
            envs.append(runner.run(open_env(url, "glance", lambda db: rawdb.Context(db, is_admin=True))))
            runner.run(seed_glance(envs[-1]))
        targets = module_targets(images) + module_targets(cache_db)
        check_examples(runner, envs, targets, GLANCE_VALID, GLANCE_OVERRIDES, examples_per_parameter=6)
    finally:
        close_all(runner, envs)


async def seed_quotas(env: Env, service: Service, resource: str) -> None:
    admin = env.ctx
    module = nova_quotas if service is NOVA else cinder_quotas
    await module.quota_create(admin, PROJECT, resource, 100)
    await module.quota_class_create(admin, "gold", resource, 50)
    assert env.engine is not None
    await env.engine.reserve(admin, project_id=PROJECT, **{resource: 1})
    usage = await module.quota_usage_get(admin, PROJECT, resource)
    assert usage["id"] == 1
    if service is NOVA:
        await nova_quotas.reservation_create(admin, RESERVATION, 1, PROJECT, USER, resource, 1, None)
    else:
        await cinder_quotas.reservation_create(admin, RESERVATION, 1, PROJECT, resource, 1, None)


@pytest.mark.parametrize("service", ["nova", "cinder"])
def test_quota_functions_given_hostile_input_succeed_or_raise_rawdb_errors_and_write_nothing(
    both: tuple[str, str], runner: asyncio.Runner, service: str
) -> None:
    svc, module, sync_module, resource = {
        "nova": (NOVA, nova_quotas, nova_sync, "instances"),
        "cinder": (CINDER, cinder_quotas, cinder_sync, "volumes"),
    }[service]
    resources = sync_module.resources()
    envs: list[Env] = []
    try:
        for url in both:
            env = runner.run(
                open_env(url, service, lambda db: rawdb.Context(db, project_id=PROJECT, user_id=USER, is_admin=True))
            )
            env.engine = QuotaEngine(svc, resources, sync_module.DEFAULTS)
            envs.append(env)
            runner.run(seed_quotas(env, svc, resource))
        targets = module_targets(module) + engine_targets()
        check_examples(
            runner, envs, targets, quota_valid(svc, resource, resources), QUOTA_OVERRIDES, examples_per_parameter=6
        )
    finally:
        close_all(runner, envs)


# --- the cases found, one behaviour each -------------------------------------------------------


def admin_of(db: rawdb.Database) -> rawdb.Context:
    return rawdb.Context(db, is_admin=True)


async def seeded(db: rawdb.Database) -> tuple[rawdb.Context, str]:
    admin = admin_of(db)
    image = await images.image_create(admin, {"status": "active", "owner": "p1", "size": 10})
    return admin, image["id"]


async def all_rows(db: rawdb.Database) -> dict[str, list[dict[str, Any]]]:
    tables = ("images", "image_properties", "image_locations", "image_members", "image_tags")
    return {table: await select(db, f"SELECT * FROM {table} ORDER BY id") for table in tables}


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"size_min": math.inf}, "size_min"),
        ({"size_max": -math.inf}, "size_max"),
        ({"size_max": math.nan}, "size_max"),
        ({"virtual_size_min": math.inf}, "virtual_size_min"),
        ({"size": math.inf}, "size"),
        ({"min_ram": math.nan}, "min_ram"),
        ({"min_disk": math.inf}, "min_disk"),
    ],
)
async def test_image_get_all_refuses_infinite_and_nan_numeric_filters_naming_the_filter(
    glance_db: rawdb.Database, filters: dict[str, Any], named: str
) -> None:
    admin, _ = await seeded(glance_db)

    with pytest.raises(errors.Invalid, match=named):
        await images.image_get_all(admin, filters)


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"created_at": "lt:10000-01-01T00:00:00"}, "created_at"),
        ({"created_at": "lt:99999-01-01T00:00:00"}, "created_at"),
        ({"updated_at": "gte:9999-12-31T23:59:59-01:00"}, "updated_at"),
        ({"created_at": "9999-12-31T23:59:59-01:00"}, "created_at"),
        ({"updated_at": "0001-01-01T00:00:00+01:00"}, "updated_at"),
        ({"changes-since": datetime(9999, 12, 31, 23, tzinfo=WEST)}, "changes-since"),
        ({"deleted_at": datetime(1, 1, 1, tzinfo=EAST)}, "deleted_at"),
    ],
)
async def test_image_get_all_refuses_times_beyond_years_1_to_9999_naming_the_filter(
    glance_db: rawdb.Database, filters: dict[str, Any], named: str
) -> None:
    admin, _ = await seeded(glance_db)

    with pytest.raises(errors.Invalid, match=named):
        await images.image_get_all(admin, filters)


async def test_image_get_all_takes_aware_times_in_filters_as_utc(glance_db: rawdb.Database) -> None:
    admin, image_id = await seeded(glance_db)
    created = (await images.image_get(admin, image_id))["created_at"]
    just_after = (created + timedelta(seconds=1)).replace(tzinfo=UTC).astimezone(EAST)

    listed = await images.image_get_all(admin, {"created_at": f"lt:{just_after.isoformat()}"})

    assert [image["id"] for image in listed] == [image_id]


@pytest.mark.parametrize("sort_key", [[["name"]], [{"name": 1}], [None], [1]])
async def test_image_get_all_refuses_a_sort_key_that_is_not_a_column_name(
    glance_db: rawdb.Database, sort_key: list[Any]
) -> None:
    admin, _ = await seeded(glance_db)

    with pytest.raises(errors.InvalidSortKey):
        await images.image_get_all(admin, sort_key=sort_key)


@pytest.mark.parametrize("metadata", [{"a": object()}, {"a": {1, 2}}, {"a": math.nan}, {"a": -math.inf}, {("k",): 1}])
async def test_locations_refuse_metadata_json_cannot_hold_and_write_nothing(
    glance_db: rawdb.Database, metadata: dict[Any, Any]
) -> None:
    admin, image_id = await seeded(glance_db)
    before = await all_rows(glance_db)
    location = {"url": "file:///a", "metadata": metadata, "status": "active"}

    with pytest.raises(errors.Invalid, match="metadata"):
        await images.image_location_add(admin, image_id, location)
    with pytest.raises(errors.Invalid, match="metadata"):
        await images.image_update(admin, image_id, {"name": "renamed", "locations": [location]})
    with pytest.raises(errors.Invalid, match="metadata"):
        await images.image_create(admin, {"status": "active", "locations": [location]})

    assert await all_rows(glance_db) == before


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        *[("false", False), ("False", False), ("off", False), ("0", False), ("n", False), (0, False), (None, False)],
        *[("true", True), ("YES", True), (" on ", True), ("1", True), ("t", True), (1, True), (True, True)],
    ],
)
async def test_image_create_parses_protected_as_glance_parses_boolean_strings(
    glance_db: rawdb.Database, given: Any, stored: bool
) -> None:
    image = await images.image_create(admin_of(glance_db), {"status": "active", "protected": given})

    assert image["protected"] is stored
    assert (await images.image_get(admin_of(glance_db), image["id"]))["protected"] is stored


@pytest.mark.parametrize("given", ["maybe", "", 2, -1, 1.0, [], [True], {}, b"true", object()])
async def test_image_create_refuses_a_protected_or_is_public_that_is_not_a_boolean_and_writes_nothing(
    glance_db: rawdb.Database, given: Any
) -> None:
    admin, _ = await seeded(glance_db)
    before = await all_rows(glance_db)

    with pytest.raises(errors.Invalid, match="protected"):
        await images.image_create(admin, {"status": "active", "protected": given})
    with pytest.raises(errors.Invalid, match="is_public"):
        await images.image_create(admin, {"status": "active", "is_public": given})
    with pytest.raises(errors.Invalid, match="deleted"):
        await images.image_create(admin, {"status": "active", "deleted": given})

    assert await all_rows(glance_db) == before


async def test_is_public_false_as_a_string_does_not_make_an_image_public(glance_db: rawdb.Database) -> None:
    image = await images.image_create(admin_of(glance_db), {"status": "active", "is_public": "false"})

    assert image["visibility"] == "shared"


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda ctx, i: images.image_update(ctx, i, {"name": "x"}, purge_props="maybe"), "purge_props"),
        (lambda ctx, i: images.image_update(ctx, i, {"name": "x"}, v1_mode=[]), "v1_mode"),
        (lambda ctx, i: images.image_get(ctx, i, force_show_deleted=object()), "force_show_deleted"),
        (lambda ctx, i: images.image_get_all(ctx, return_tag="sometimes"), "return_tag"),
        (lambda ctx, i: images.image_get_all(ctx, admin_as_user=2), "admin_as_user"),
        (lambda ctx, i: images.image_get_all(ctx, is_public="public"), "is_public"),
        (lambda ctx, i: images.image_member_find(ctx, include_deleted=[]), "include_deleted"),
        (lambda ctx, i: cache_db.insert_cache_details(ctx, NODE, i, 1, replace="no way"), "replace"),
    ],
)
async def test_boolean_arguments_that_are_not_booleans_are_refused_naming_the_argument(
    glance_db: rawdb.Database, call: Callable[[rawdb.Context, str], Any], named: str
) -> None:
    admin, image_id = await seeded(glance_db)
    before = await all_rows(glance_db)

    with pytest.raises(errors.Invalid, match=named):
        await call(admin, image_id)

    assert await all_rows(glance_db) == before


async def test_boolean_arguments_given_as_strings_are_parsed_not_truthy_cast(glance_db: rawdb.Database) -> None:
    admin, image_id = await seeded(glance_db)
    await images.image_update(admin, image_id, {"properties": {"keep": "1", "drop": "2"}})

    listed = await images.image_get_all(admin, return_tag="false")
    await images.image_update(admin, image_id, {"properties": {"keep": "1"}}, purge_props="false")

    assert "tags" not in listed[0]
    live = {p["name"] for p in (await images.image_get(admin, image_id))["properties"] if not p["deleted"]}
    assert live == {"keep", "drop"}


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "\udbff\udc00"])
async def test_strings_with_lone_surrogates_are_refused_and_every_read_keeps_working(
    glance_db: rawdb.Database, bad: str
) -> None:
    admin, image_id = await seeded(glance_db)
    await images.image_tag_create(admin, image_id, "good")
    before = await all_rows(glance_db)

    writes = [
        images.image_tag_create(admin, image_id, bad),
        images.image_tag_set_all(admin, image_id, ["ok", bad]),
        images.image_update(admin, image_id, {"properties": {"p": bad}}),
        images.image_update(admin, image_id, {"name": bad}),
        images.image_create(admin, {"status": "active", "name": bad}),
        images.image_member_create(admin, {"image_id": image_id, "member": bad}),
        images.image_location_add(admin, image_id, {"url": bad, "metadata": {}, "status": "active"}),
        images.image_set_property_atomic(admin, image_id, "p", bad),
        cache_db.node_reference_create(admin, bad),
    ]
    for write in writes:
        with pytest.raises(errors.Invalid, match="surrogate"):
            await write
    for read in (
        images.image_tag_delete(admin, image_id, bad),
        images.image_get_all(admin, {"tags": [bad]}),
        images.image_get_all(admin, {"name": bad}),
        images.image_member_find(admin, member=bad),
        images.user_get_image_count(admin, bad),
        images.image_get(admin, bad),
        cache_db.get_cached_images(admin, bad),
    ):
        with pytest.raises(errors.Invalid, match="surrogate"):
            await read

    assert await all_rows(glance_db) == before
    assert await images.image_tag_get_all(admin, image_id) == ["good"]
    assert [image["tags"] for image in await images.image_get_all(admin, return_tag=True)] == [["good"]]


async def test_lookups_of_strings_no_row_can_hold_find_nothing_on_both_backends(glance_db: rawdb.Database) -> None:
    admin, image_id = await seeded(glance_db)
    await images.image_member_create(admin, {"image_id": image_id, "member": "p2"})
    nul = "p1\x00"

    with pytest.raises(errors.ImageNotFound):
        await images.image_get(admin, "a\x00b")
    with pytest.raises(errors.MarkerNotFound):
        await images.image_get_all(admin, marker="a\x00b")
    with pytest.raises(errors.ImagePropertyNotFound):
        await images.image_property_delete(admin, "x" * 256, image_id)
    with pytest.raises(errors.ImageTagNotFound):
        await images.image_tag_delete(admin, image_id, nul)
    assert await images.image_member_find(admin, member=nul) == []
    assert await images.image_member_count(admin, "a\x00b") == 0
    assert await images.user_get_image_count(admin, nul) == 0
    assert await images.user_get_storage_usage(admin, nul) == 0
    assert await images.user_get_uploading_count(admin, nul) == 0
    assert await images.user_get_staging_usage(admin, nul) == 0


@pytest.mark.parametrize("image_id", ["i" * 37, "", "a\x00b", 7, None])
async def test_child_writes_refuse_an_image_id_no_image_can_have(glance_db: rawdb.Database, image_id: Any) -> None:
    admin, _ = await seeded(glance_db)
    before = await all_rows(glance_db)

    for write in (
        images.image_tag_create(admin, image_id, "t"),
        images.image_tag_set_all(admin, image_id, ["t"]),
        images.image_set_property_atomic(admin, image_id, "p", "v"),
        images.image_location_add(admin, image_id, {"url": "file:///a", "metadata": {}, "status": "active"}),
        images.image_property_create(admin, {"image_id": image_id, "name": "p", "value": "v"}),
        images.image_member_create(admin, {"image_id": image_id, "member": "p2"}),
    ):
        with pytest.raises(errors.Invalid, match="image_id"):
            await write

    assert await all_rows(glance_db) == before


@pytest.mark.parametrize("row_id", [2**31, 2**63, -(2**63) - 1, 10**30])
async def test_member_and_location_ids_beyond_integer_range_are_not_found(
    glance_db: rawdb.Database, row_id: int
) -> None:
    admin, image_id = await seeded(glance_db)

    with pytest.raises(errors.ImageMemberNotFound):
        await images.image_member_delete(admin, row_id)
    with pytest.raises(errors.ImageMemberNotFound):
        await images.image_member_update(admin, row_id, {"status": "accepted"})
    with pytest.raises(errors.ImageLocationNotFound):
        await images.image_location_delete(admin, image_id, row_id, "deleted")
    with pytest.raises(errors.Invalid, match="ID"):
        await images.image_location_update(admin, image_id, {"id": row_id, "url": "u", "metadata": {}, "status": "x"})


@pytest.mark.parametrize("member_id", ["1", 1.0, None, True, [1]])
async def test_member_ids_that_are_not_integers_are_refused_naming_memb_id(
    glance_db: rawdb.Database, member_id: Any
) -> None:
    admin, _ = await seeded(glance_db)

    with pytest.raises(errors.Invalid, match="memb_id"):
        await images.image_member_delete(admin, member_id)


@pytest.mark.parametrize("atomic_props", [1, "name", [1], [None], ["\ud800"]])
async def test_image_update_refuses_atomic_props_that_are_not_a_list_of_names(
    glance_db: rawdb.Database, atomic_props: Any
) -> None:
    admin, image_id = await seeded(glance_db)
    before = await all_rows(glance_db)

    with pytest.raises(errors.Invalid, match="atomic_props"):
        await images.image_update(admin, image_id, {"name": "x"}, atomic_props=atomic_props)

    assert await all_rows(glance_db) == before


async def test_purge_with_an_age_beyond_year_1_purges_nothing(glance_db: rawdb.Database) -> None:
    admin, image_id = await seeded(glance_db)
    await images.image_destroy(admin, image_id)
    before = await all_rows(glance_db)

    assert await images.purge_deleted_rows(admin, 10**30, -1) == {
        "image_properties": 0,
        "image_locations": 0,
        "image_members": 0,
        "image_tags": 0,
    }
    assert await images.purge_deleted_rows_from_images(admin, 10**6, -1) == {"images": 0}
    assert await all_rows(glance_db) == before


async def test_values_nested_without_end_are_refused_not_recursed_forever(glance_db: rawdb.Database) -> None:
    admin, image_id = await seeded(glance_db)
    cycle: dict[str, Any] = {"status": "active"}
    cycle["self"] = cycle
    before = await all_rows(glance_db)

    with pytest.raises(errors.Invalid, match="nested"):
        await images.image_create(admin, cycle)
    with pytest.raises(errors.Invalid, match="nested"):
        await images.image_location_add(admin, image_id, {"url": "file:///a", "metadata": cycle, "status": "active"})

    assert await all_rows(glance_db) == before


@pytest.mark.parametrize("image", [None, {}, {"id": IMAGE_ID}, {"id": 7, "owner": "p1", "visibility": "shared"}])
async def test_visibility_checks_refuse_what_is_not_an_image_dict(glance_db: rawdb.Database, image: Any) -> None:
    ctx = rawdb.Context(glance_db, project_id="p2")

    with pytest.raises(errors.Invalid, match="image"):
        await images.is_image_visible(ctx, image)
    if image is None or "owner" not in image:
        with pytest.raises(errors.Invalid, match="image"):
            images.is_image_mutable(ctx, image)


async def test_functions_given_no_context_raise_scope_error(glance_db: rawdb.Database) -> None:
    with pytest.raises(errors.ScopeError):
        await images.image_get_all(None)  # type: ignore[arg-type]
    with pytest.raises(errors.ScopeError):
        images.is_image_mutable(None, SEED_IMAGE)  # type: ignore[arg-type]
    with pytest.raises(errors.ScopeError):
        await cinder_quotas.quota_create(None, PROJECT, "volumes", 1)  # type: ignore[arg-type]


# --- quotas (cinder's schema; nova's shares the code and the property test covers it) ----------


@pytest.fixture
async def cinder_admin(db: rawdb.Database) -> rawdb.Context:
    await schema.bootstrap(db, "cinder")
    return rawdb.Context(db, project_id=PROJECT, user_id=USER, is_admin=True)


async def quota_rows(db: rawdb.Database) -> dict[str, list[dict[str, Any]]]:
    tables = ("quotas", "quota_classes", "quota_usages", "reservations")
    return {table: await select(db, f"SELECT * FROM {table} ORDER BY id") for table in tables}


def cinder_engine() -> QuotaEngine:
    return QuotaEngine(CINDER, [*cinder_sync.resources(), AbsoluteResource("backups")], cinder_sync.DEFAULTS)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"project_id": "p\x00"}, "project_id"),
        ({"project_id": "\ud800"}, "project_id"),
        ({"project_id": "p" * 256}, "project_id"),
        ({"project_id": 7}, "project_id"),
        ({"resource": "r" * 301}, "resource"),
        ({"resource": ["volumes"]}, "resource"),
        ({"limit": 2**63}, "limit"),
        ({"limit": "5.0"}, "limit"),
    ],
)
async def test_quota_writes_refuse_values_no_column_can_hold_naming_the_parameter(
    cinder_admin: rawdb.Context, kwargs: dict[str, Any], named: str
) -> None:
    before = await quota_rows(cinder_admin.db)
    args = {"project_id": PROJECT, "resource": "volumes", "limit": 5, **kwargs}

    with pytest.raises(errors.Invalid, match=named):
        await cinder_quotas.quota_create(cinder_admin, **args)
    with pytest.raises(errors.Invalid, match=named):
        await cinder_quotas.quota_update(cinder_admin, **args)
    if named != "project_id":
        with pytest.raises(errors.Invalid, match=named):
            await cinder_quotas.quota_class_create(cinder_admin, "gold", args["resource"], args["limit"])

    assert await quota_rows(cinder_admin.db) == before


async def test_cinder_resource_names_may_be_300_characters(cinder_admin: rawdb.Context) -> None:
    created = await cinder_quotas.quota_create(cinder_admin, PROJECT, "r" * 300, 5)

    assert created["resource"] == "r" * 300


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({"quotas": {"volumes": "ten"}}, errors.Invalid, "limit"),
        ({"quotas": 10}, errors.Invalid, "quotas"),
        ({"quotas": {}}, errors.Invalid, "quotas"),
        ({"deltas": {"volumes": 2**63}}, errors.Invalid, "volumes"),
        ({"deltas": {"\ud800": 1}}, errors.Invalid, "deltas"),
        ({"expire": 10**30}, errors.InvalidReservationExpiration, "expiration"),
        ({"expire": datetime(9999, 12, 31, 23, tzinfo=WEST)}, errors.InvalidReservationExpiration, "expiration"),
        ({"expire": timedelta(days=3_000_000)}, errors.InvalidReservationExpiration, "expiration"),
        ({"until_refresh": "x"}, errors.Invalid, "until_refresh"),
        ({"until_refresh": 2**31}, errors.Invalid, "until_refresh"),
        ({"max_age": "abc"}, errors.Invalid, "max_age"),
        ({"max_age": math.inf}, errors.Invalid, "max_age"),
        ({"project_id": ["p"]}, errors.Invalid, "project_id"),
        ({"resources": {"volumes": "a resource"}}, errors.Invalid, "resources"),
    ],
)
async def test_quota_reserve_refuses_bad_arguments_naming_them_and_writes_nothing(
    cinder_admin: rawdb.Context, kwargs: dict[str, Any], error: type[errors.Invalid], named: str
) -> None:
    before = await quota_rows(cinder_admin.db)
    args: dict[str, Any] = {
        "resources": {r.name: r for r in cinder_sync.resources()},
        "quotas": {"volumes": 10},
        "deltas": {"volumes": 1},
        "expire": None,
        "until_refresh": None,
        "max_age": None,
        **kwargs,
    }

    with pytest.raises(error, match=named):
        await cinder_quotas.quota_reserve(cinder_admin, **args)

    assert await quota_rows(cinder_admin.db) == before


async def test_nova_quota_reserve_refuses_user_quotas_without_the_resource(db: rawdb.Database) -> None:
    ctx = rawdb.Context(db, project_id=PROJECT, user_id=USER, is_admin=True)
    resources = {r.name: r for r in nova_sync.resources()}

    with pytest.raises(errors.Invalid, match="user_quotas"):  # before: KeyError, before any statement
        await nova_quotas.quota_reserve(ctx, resources, {"instances": 5}, {"cores": 5}, {"instances": 1}, None, 0, 0)


@pytest.mark.parametrize("reservations", [5, None, [5], ["\ud800"], ["u\x00"], b"uuid"])
async def test_commit_and_rollback_refuse_reservations_that_are_not_a_list_of_uuids(
    cinder_admin: rawdb.Context, reservations: Any
) -> None:
    with pytest.raises(errors.Invalid, match="reservations"):
        await cinder_quotas.reservation_commit(cinder_admin, reservations)
    with pytest.raises(errors.Invalid, match="reservations"):
        await cinder_engine().rollback(cinder_admin, reservations)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"uuid": "u" * 37}, "uuid"),
        ({"usage": {"no": "id"}}, "usage"),
        ({"usage": 2**31}, "usage"),
        ({"delta": 2**63}, "delta"),
        ({"expire": "tomorrow"}, "expire"),
        ({"expire": datetime(1, 1, 1, tzinfo=EAST)}, "expire"),
    ],
)
async def test_reservation_create_refuses_bad_arguments_naming_them(
    cinder_admin: rawdb.Context, kwargs: dict[str, Any], named: str
) -> None:
    args = {"uuid": RESERVATION, "usage": 1, "project_id": PROJECT, "resource": "volumes", "delta": 1, "expire": None}

    with pytest.raises(errors.Invalid, match=named):
        await cinder_quotas.reservation_create(cinder_admin, **{**args, **kwargs})


async def test_quota_destroy_refuses_an_only_quotas_that_is_not_a_boolean(cinder_admin: rawdb.Context) -> None:
    await cinder_engine().reserve(cinder_admin, volumes=1)
    before = await quota_rows(cinder_admin.db)

    with pytest.raises(errors.Invalid, match="only_quotas"):
        await cinder_quotas.quota_destroy_all_by_project(cinder_admin, PROJECT, only_quotas="false")

    assert await quota_rows(cinder_admin.db) == before


async def test_quota_engine_refuses_arguments_of_the_wrong_type_naming_them(cinder_admin: rawdb.Context) -> None:
    engine = cinder_engine()

    with pytest.raises(errors.Invalid, match="backups"):
        await engine.limit_check(cinder_admin, backups="5")  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid, match="resources"):
        await engine.usage_reset(cinder_admin, 5)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid, match="resource"):
        await engine.count(cinder_admin, ["volumes"])  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid, match="project_id"):
        await engine.get_limits(cinder_admin, project_id=7)  # type: ignore[arg-type]
