"""What instance writes need besides their fixed SQL: constraints, sort parameters, the
compare-and-swap UPDATE and its conflict errors, values checked before anything is written.

The UPDATE statements depend on which columns a call sets and which fields it expects
(their *shape*); they are built once per shape from column names checked against the
schema, with every value bound.
"""

from __future__ import annotations

import asyncio
import functools
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pypika import Table
from pypika.terms import Criterion

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import coerce_values, table_columns
from rawdb.nova._instance_filters import UNSTORABLE, column_value, instance_values
from rawdb.nova._instance_list import Fixed, check_uuid
from rawdb.nova._instance_rows import Joins, children_returned, children_sql, instance_dict
from rawdb.queries import AnyOf, Param, Query, Raw
from rawdb.queries.compiler import compile_query
from rawdb.statement import DIALECTS, Statement, convert
from rawdb.timeutils import utcnow

_COLUMNS = table_columns("nova")["instances"]
_INSTANCES = Table("instances")
# nova 14.0.0's destroy cascade (spec D.4), in this order; the statements are instances.sql's cascade_*:
# soft deletes, then the hard deletes of the tables without one.
CASCADE_SOFT = tuple(
    f"cascade_{table}"
    for table in (
        "groups",
        "info_cache",
        "metadata",
        "faults",
        "extra",
        "system_metadata",
        "group_members",
        "block_devices",
        "migrations",
    )
)
CASCADE_HARD = ("cascade_tags", "cascade_console_tokens")
DELETING = "deleting"  # task_states.DELETING
JOINS = Joins()  # what an updated instance comes back with: nova's getter defaults
Row = dict[str, Any]


# --- constraint(), equal_any(), not_equal() (spec B.5) ---------------------------------


@dataclass(frozen=True, slots=True)
class EqualityCondition:
    """``column = v1 OR column = v2 ...`` (an OR: nova bug 1292285 made it an AND)."""

    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class InequalityCondition:
    """``column <> v1 AND column <> v2 ...`` (NULL matches neither, as in SQL)."""

    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Constraint:
    """Conditions ``instance_destroy`` checks in its UPDATE: each key's condition, all ANDed."""

    conditions: Mapping[str, EqualityCondition | InequalityCondition]


def constraint(**conditions: EqualityCondition | InequalityCondition) -> Constraint:
    """A constraint for ``instance_destroy``: ``constraint(task_state=equal_any('deleting'))``."""
    return Constraint(dict(conditions))


def equal_any(*values: Any) -> EqualityCondition:
    """The column equals one of ``values``."""
    return EqualityCondition(values)


def not_equal(*values: Any) -> InequalityCondition:
    """The column equals none of ``values``."""
    return InequalityCondition(values)


def _column(name: Any, what: str) -> str:
    if not isinstance(name, str) or name not in _COLUMNS or name == "id":
        raise errors.Invalid(f"{what}: {name!r:.80} is not an instances column")
    return name


def _constraint_shape(value: Constraint | None) -> tuple[tuple[Any, ...], list[Any]]:
    """The constraint's shape (column, kind, count) and its values in the same order."""
    if value is None:
        return (), []
    if not isinstance(value, Constraint):
        raise errors.Invalid(f"constraint must come from constraint(), not {type(value).__name__}")
    shape: list[tuple[str, str, int]] = []
    values: list[Any] = []
    for name, condition in value.conditions.items():
        column = _column(name, "constraint")
        if not isinstance(condition, (EqualityCondition, InequalityCondition)):
            raise errors.Invalid(f"constraint {name}: use equal_any() or not_equal(), not {type(condition).__name__}")
        kind = "any" if isinstance(condition, EqualityCondition) else "none"
        shape.append((column, kind, len(condition.values)))
        values.extend(column_value(column, name, item) for item in condition.values)
    return tuple(shape), values


@functools.lru_cache(maxsize=64)
def _soft_delete_statement(shape: tuple[tuple[Any, ...], ...]) -> Statement:
    where: Criterion = (_INSTANCES.uuid == Param("uuid")) & Fixed("deleted = 0")
    n = 0
    for column, kind, count in shape:
        terms = []
        for _ in range(count):
            param = Param(f"c{n}")
            terms.append(_INSTANCES.field(column) == param if kind == "any" else _INSTANCES.field(column) != param)
            n += 1
        if kind == "any":
            where &= Criterion.any(terms) if terms else Fixed("1 = 0")
        else:
            where &= Criterion.all(terms) if terms else Fixed("1 = 1")
    query = (
        Query.update(_INSTANCES)
        .set(_INSTANCES.deleted, Raw("id"))
        .set(_INSTANCES.deleted_at, Param("now"))
        .where(where)
    )
    return Statement(
        "nova.instances.soft_delete",
        "Soft-delete an instance if the constraint holds.",
        "dynamic SQL",
        {dialect: compile_query(query, dialect) for dialect in DIALECTS},
    )


async def soft_delete(context: Context, uuid: str, value: Constraint | None) -> bool:
    """The instance's soft delete (updated_at kept, as nova's bulk soft delete); whether it happened."""
    shape, values = _constraint_shape(value)
    params = {f"c{i}": item for i, item in enumerate(values)}
    return await context.execute(_soft_delete_statement(shape), uuid=uuid, now=utcnow(), **params) == 1


# --- process_sort_params (spec B.7) -----------------------------------------------------------


def process_sort_params(
    sort_keys: Sequence[str] | None,
    sort_dirs: Sequence[str] | None,
    default_keys: Sequence[str] = ("created_at", "id"),
    default_dir: str = "asc",
) -> tuple[list[str], list[str]]:
    """Sort keys and directions with the default keys appended (nova 14.0.0's rules, B.7).

    :raises InvalidInput: a direction other than 'asc' or 'desc', or more directions than keys
    """
    for name, value in (("sort_keys", sort_keys), ("sort_dirs", sort_dirs)):
        if value is not None and (isinstance(value, (str, bytes)) or not isinstance(value, Sequence)):
            raise errors.InvalidInput(reason=f"{name} must be a list, not {type(value).__name__}")
    default_value = sort_dirs[0] if sort_dirs else default_dir
    keys = list(sort_keys) if sort_keys else []
    if sort_dirs:
        dirs = []
        for sort_dir in sort_dirs:
            if sort_dir not in ("asc", "desc"):
                raise errors.InvalidInput(reason="Unknown sort direction, must be 'desc' or 'asc'")
            dirs.append(sort_dir)
    else:
        dirs = [default_value for _ in keys]
    while len(dirs) < len(keys):
        dirs.append(default_value)
    if len(dirs) > len(keys):
        raise errors.InvalidInput(reason="Sort direction size exceeds sort key size")
    for key in default_keys:
        if key not in keys:
            keys.append(key)
            dirs.append(default_value)
    return keys, dirs


# --- create --------------------------------------------------------------------------------


@dataclass(slots=True)
class Prepared:
    """An instance_create's values, split and checked."""

    values: dict[str, Any]
    metadata: list[dict[str, Any]]
    system_metadata: list[dict[str, Any]]
    info_cache: dict[str, Any]
    extra: dict[str, Any]
    security_groups: list[str] = field(default_factory=list)


def metadata_items(name: str, value: Any) -> list[dict[str, Any]] | None:
    """``{key: value}`` as ``[{key, value}]`` for the JSON the statements read (None stays None).

    :raises Invalid: not a dict; a key or value that is not text (numbers become text, as nova
        stored them), over 255 characters, or holding NUL
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise errors.Invalid(f"{name} must be a dict, not {type(value).__name__}")
    items = []
    for key, item in value.items():
        items.append({"key": _meta_value(name, key, nullable=False), "value": _meta_value(name, item)})
    return items


def _meta_value(name: str, value: Any, nullable: bool = True) -> str | None:
    if value is None and nullable:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise errors.Invalid(f"{name} keys and values are strings, not {type(value).__name__}")
    if len(value) > 255 or "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise errors.Invalid(f"{name} keys and values are at most 255 characters, without NUL: {value!r:.80}")
    return value


def prepare_create(values: Any) -> Prepared:
    """Split instance_create's ``values`` and check every part before anything is written.

    :raises Invalid: see ``coerce_values`` and ``metadata_items``
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    values = dict(values)
    metadata = metadata_items("metadata", values.pop("metadata", None)) or []
    system_metadata = metadata_items("system_metadata", values.pop("system_metadata", None)) or []
    info_cache = values.pop("info_cache", None) or {}
    given_extra = values.pop("extra", None) or {}
    if not isinstance(given_extra, Mapping):
        raise errors.Invalid(f"extra must be a dict, not {type(given_extra).__name__}")
    extra = {"numa_topology": None, "pci_requests": None, "vcpu_model": None, **given_extra}
    groups = values.pop("security_groups", None) or []
    if isinstance(groups, (str, Mapping)) or not isinstance(groups, (list, tuple, set, frozenset)):
        raise errors.Invalid("security_groups is a list of group names")
    for name in groups:
        # a name no group can have: refused before the default group is ensured (which writes)
        if not isinstance(name, str) or len(name) > 255 or UNSTORABLE.search(name):
            raise errors.Invalid(f"security_groups holds names of up to 255 characters, not {name!r:.80}")
    if not values.get("uuid"):
        values["uuid"] = str(uuidlib.uuid4())
    for key in ("deleted", "deleted_at", "id"):
        if values.get(key) is not None:
            raise errors.Invalid(f"instance_create cannot set {key}")
        values.pop(key, None)
    values.update(instance_values(values, parse_times=True))
    check_uuid(values["uuid"])  # update and destroy could never name it
    coerce_values("nova", "instance_info_caches", info_cache, frozenset({"network_info"}))
    coerce_values("nova", "instance_extra", extra, frozenset(table_columns("nova")["instance_extra"]) - {"id"})
    return Prepared(values, metadata, system_metadata, dict(info_cache), extra, list(groups))


# --- update: compare and swap (spec B.6) --------------------------------------------------------


@dataclass(slots=True)
class Update:
    """An instance_update's values and expectations, checked."""

    values: dict[str, Any]
    expected: dict[str, list[Any]]
    metadata: list[dict[str, Any]] | None
    system_metadata: list[dict[str, Any]] | None


def _expected_list(value: Any) -> list[Any]:
    if value is None:
        return [None]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def prepare_update(values: Any, expected: Any) -> Update:
    """Split instance_update's values: expectations, metadata sets and columns, each checked."""
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    if expected is not None and not isinstance(expected, Mapping):
        raise errors.Invalid(f"expected must be a dict, not {type(expected).__name__}")
    values = dict(values)
    wanted = {_column(key, "expected"): _expected_list(value) for key, value in (expected or {}).items()}
    for name in ("task_state", "vm_state"):
        key = f"expected_{name}"
        if key in values:
            wanted[name] = _expected_list(values.pop(key))
    for name, items in wanted.items():
        wanted[name] = [None if item is None else column_value(name, name, item) for item in items]
    metadata = metadata_items("metadata", values.pop("metadata", None))
    system_metadata = metadata_items("system_metadata", values.pop("system_metadata", None))
    for key in ("id", "uuid"):
        if key in values and values[key] is not None:
            raise errors.Invalid(f"instance_update cannot change {key}")
        values.pop(key, None)
    checked = instance_values(values, parse_times=True)
    if "updated_at" not in checked:
        checked["updated_at"] = utcnow()
    return Update(checked, wanted, metadata, system_metadata)


@functools.lru_cache(maxsize=512)
def _update_query(columns: tuple[str, ...], expected: tuple[tuple[str, int, bool], ...], user: bool) -> Any:
    query = Query.update(_INSTANCES)
    for column in columns:
        query = query.set(_INSTANCES.field(column), Param(f"v_{column}"))
    where: Criterion = _INSTANCES.uuid == Param("uuid")
    if user:
        where &= _INSTANCES.project_id == Param("project_id")
    for column, count, with_null in expected:
        options: list[Criterion] = []
        if count:
            options.append(AnyOf(_INSTANCES.field(column), f"x_{column}"))
        if with_null:
            options.append(_INSTANCES.field(column).isnull())
        where &= Criterion.any(options) if options else Fixed("1 = 0")
    return query.where(where)


@functools.lru_cache(maxsize=512)
def _update_statement(columns: tuple[str, ...], expected: tuple[tuple[str, int, bool], ...], user: bool) -> Statement:
    query = _update_query(columns, expected, user)
    return Statement(
        "nova.instances.instance_update",
        "Compare-and-swap an instance's columns.",
        "dynamic SQL",
        {dialect: compile_query(query, dialect) for dialect in DIALECTS},
    )


RETURNING = frozenset({"postgresql", "sqlite"})  # the dialects whose UPDATE returns the instance


@functools.lru_cache(maxsize=512)
def _update_returning_statement(
    columns: tuple[str, ...], expected: tuple[tuple[str, int, bool], ...], user: bool
) -> Statement:
    """PostgreSQL and SQLite: the compare-and-swap and the updated instance with its children, in
    one statement (MariaDB 10.11 has no UPDATE ... RETURNING)."""
    query = _update_query(columns, expected, user)
    update = compile_query(query, "postgresql")
    children = children_sql("postgresql", JOINS)
    text = f"WITH page AS ({update.sql} RETURNING instances.*) SELECT page.*, {children} FROM page"
    lite = compile_query(query, "sqlite")
    lite_text = f"{lite.sql} RETURNING *, {children_returned(JOINS)}"
    return Statement(
        "nova.instances.instance_update",
        "Compare-and-swap an instance's columns and read it back.",
        "dynamic SQL",
        {
            "postgresql": convert(text, "postgresql", after=update),
            "sqlite": convert(lite_text, "sqlite", after=lite),
        },
    )


async def compare_and_swap(context: Context, uuid: str, update: Update, user: bool) -> tuple[bool, Row | None]:
    """The one UPDATE that sets the columns if every expected field holds.

    :returns: whether it matched, and on PostgreSQL and SQLite, when no metadata set follows,
        the updated instance (``JOINS``) read in the same statement
    """
    shape = tuple(
        (name, sum(item is not None for item in items), None in items) for name, items in update.expected.items()
    )
    params: dict[str, Any] = {f"v_{column}": value for column, value in update.values.items()}
    params["uuid"] = uuid
    if user:
        params["project_id"] = context.project_id
    for name, items in update.expected.items():
        present = [item for item in items if item is not None]
        if present:
            params[f"x_{name}"] = present
    if context.dialect in RETURNING and update.metadata is None and update.system_metadata is None:
        rows = await context.fetch(_update_returning_statement(tuple(update.values), shape, user), **params)
        return bool(rows), (instance_dict(rows[0], JOINS) if rows else None)
    return await context.execute(_update_statement(tuple(update.values), shape, user), **params) == 1, None


def conflict(uuid: str, expected: Mapping[str, list[Any]], actual: Mapping[str, Any]) -> errors.InstanceUpdateConflict:
    """The error nova 14.0.0 raises when the compare-and-swap matched nothing (B.6)."""
    wanted = {name: items for name, items in expected.items() if actual[name] not in items}
    found = {name: actual[name] for name in wanted}
    props: dict[str, Any] = {"instance_uuid": uuid, "expected": wanted, "actual": found}
    if not found:
        return errors.UnknownInstanceUpdateConflict(**props)
    if "task_state" in found:
        if found["task_state"] == DELETING:
            return errors.UnexpectedDeletingTaskStateError(**props)
        return errors.UnexpectedTaskStateError(**props)
    return errors.InstanceUpdateConflict(**props)


R = TypeVar("R")


async def retry_update(fn: Callable[..., Awaitable[R]], context: Context, *args: Any) -> R:
    """Run an update; a conflict with no visible cause runs it again, 5 times at most (nova's retry).

    Inside a caller's transaction the error goes to the caller (its snapshot will not change).
    """
    for attempt in range(6):
        try:
            return await fn(context, *args)
        except errors.UnknownInstanceUpdateConflict:
            if attempt == 5 or context.transaction is not None:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


# --- test and set ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _test_and_set_statement(attr: str, count: int, with_null: bool, user: bool) -> Statement:
    where: Criterion = _INSTANCES.uuid == Param("uuid")
    if user:
        where &= _INSTANCES.project_id == Param("project_id")
    options: list[Criterion] = []
    if count:
        options.append(AnyOf(_INSTANCES.field(attr), "ok_states"))
    if with_null:
        options.append(_INSTANCES.field(attr).isnull())
    where &= Criterion.any(options) if options else Fixed("1 = 0")
    query = Query.update(_INSTANCES).set(_INSTANCES.field(attr), Param("new_state"))
    query = query.set(_INSTANCES.updated_at, Param("now")).where(where & Fixed("deleted = 0"))
    return Statement(
        "nova.instances.instance_test_and_set",
        "Set a column if it holds one of the states.",
        "dynamic SQL",
        {dialect: compile_query(query, dialect) for dialect in DIALECTS},
    )


async def test_and_set(context: Context, uuid: str, attr: Any, ok_states: Any, new_state: Any, user: bool) -> bool:
    """The one UPDATE of instance_test_and_set; whether it matched."""
    column = _column(attr, "attr")
    if isinstance(ok_states, (str, bytes)) or not isinstance(ok_states, (list, tuple, set, frozenset)):
        raise errors.Invalid(f"ok_states must be a list, not {type(ok_states).__name__}")
    states = [column_value(column, "ok_states", state) for state in ok_states if state is not None]
    statement = _test_and_set_statement(column, len(states), None in ok_states, user)
    params: dict[str, Any] = {"uuid": uuid, "new_state": column_value(column, attr, new_state), "now": utcnow()}
    if states:
        params["ok_states"] = states
    if user:
        params["project_id"] = context.project_id
    return await context.execute(statement, **params) == 1
