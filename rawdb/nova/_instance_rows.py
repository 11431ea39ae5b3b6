"""Instance rows with their children, as nova's DB API returns them, on every backend.

Every instance dict has the same keys, whichever call returned it: the ``instances``
columns in schema order, ``name`` (``settings.instance_name``), then the children::

    metadata, system_metadata   [{'key': k, 'value': v}, ...] in insertion order ([] when not joined)
    info_cache                  the instance_info_caches row, or None
    security_groups             [group row + {'rules': [rule rows]}] in association order (live groups
                                of a live instance, as nova's relationship joins them)
    tags                        [{'resource_id': uuid, 'tag': t}] by tag ([] when not joined; live instances)
    extra                       the instance_extra row when joined, else None
    pci_devices                 [pci_devices rows] when joined, else []

The children are aggregated in the statement that reads the instances (after its LIMIT,
so nothing multiplies rows): PostgreSQL sends records with native types (arrays of them; each
group with its rules as a last field; metadata as two text arrays, keys and values), SQLite and
MySQL JSON arrays, whose times arrive as text and are parsed here.  The info cache, unique by
instance, is one record on PostgreSQL, and elsewhere joined to the page as columns of its
own.  Which children a statement carries is its shape (``Joins``); what is not joined comes
back empty.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.conventions import table_columns
from rawdb.nova.settings import instance_name

Row = dict[str, Any]

INSTANCE_COLUMNS: tuple[str, ...] = tuple(table_columns("nova")["instances"])
INSTANCE_COLUMN_SET = frozenset(INSTANCE_COLUMNS)
CHILD_KEYS = ("metadata", "system_metadata", "info_cache", "security_groups", "tags", "extra", "pci_devices")
_TIMES = ("created_at", "updated_at", "deleted_at")


def _columns(table: str) -> tuple[str, ...]:
    return tuple(table_columns("nova")[table])


@dataclass(frozen=True)
class _Child:
    """One aggregated child: the fields it carries (id first, to order JSON), and where from."""

    keys: tuple[str, ...]  # in the order the dicts have them (the table's)
    source: str  # FROM ... WHERE ..., correlated to ``page``
    times: frozenset[str]
    addresses: frozenset[str] = frozenset()

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        """The order the fields travel in: ``id`` first, to order JSON by it."""
        if "id" not in self.keys:
            return self.keys
        return ("id", *(key for key in self.keys if key != "id"))

    @functools.cached_property
    def in_key_order(self) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
        """A travelling tuple's values in ``keys`` order."""
        getter = operator.itemgetter(*(self.fields.index(key) for key in self.keys))
        return getter if len(self.keys) > 1 else lambda item: (getter(item),)

    @functools.cached_property
    def travels_in_key_order(self) -> bool:
        """Whether ``fields`` is ``keys`` (``id`` first already): tuples need no reordering."""
        return self.fields == self.keys


def _table_child(table: str, alias: str, where: str, addresses: Iterable[str] = ()) -> _Child:
    columns = table_columns("nova")[table]
    times = frozenset(name for name, column in columns.items() if column.kind == "datetime")
    return _Child(tuple(columns), f"{table} {alias} WHERE {where}", times, frozenset(addresses))


_META = "{table} m WHERE m.instance_uuid = page.uuid AND {live}"
CHILDREN: dict[str, _Child] = {
    "metadata": _Child(("id", "key", "value"), "", frozenset()),
    "system_metadata": _Child(("id", "key", "value"), "", frozenset()),
    "info_cache": _table_child("instance_info_caches", "c", "c.instance_uuid = page.uuid"),
    "security_groups": _Child(
        _columns("security_groups"),
        "security_group_instance_association a JOIN security_groups g ON g.id = a.security_group_id "
        "WHERE a.instance_uuid = page.uuid AND a.deleted = 0 AND g.deleted = 0 AND page.deleted = 0",
        frozenset(_TIMES),
    ),
    "rules": _Child(
        _columns("security_group_rules"),
        "security_group_instance_association a JOIN security_groups g ON g.id = a.security_group_id "
        "JOIN security_group_rules r ON r.parent_group_id = g.id "
        "WHERE a.instance_uuid = page.uuid AND a.deleted = 0 AND g.deleted = 0 AND r.deleted = 0 "
        "AND page.deleted = 0",
        frozenset(_TIMES),
        frozenset({"cidr"}),
    ),
    "tags": _Child(("tag",), "tags t WHERE t.resource_id = page.uuid AND page.deleted = 0", frozenset()),
    "extra": _table_child("instance_extra", "e", "e.instance_uuid = page.uuid"),
    "pci_devices": _table_child("pci_devices", "d", "d.instance_uuid = page.uuid AND {live}"),
}
_RULES_OF_GROUP = "security_group_rules r WHERE r.parent_group_id = g.id AND r.deleted = 0"
_CACHE = "info_cache_row"  # the info cache's alias, joined to the page (unique by instance_uuid)
_CACHE_COLUMNS = tuple((column, f"info_cache_{column}") for column in CHILDREN["info_cache"].keys)
_ALIAS = {"security_groups": "g", "rules": "r", "tags": "t", "extra": "e", "pci_devices": "d"}
_META_TABLE = {"metadata": "instance_metadata", "system_metadata": "instance_system_metadata"}

_AGGREGATE = {
    "postgresql": "(SELECT array_agg(ROW({fields}) ORDER BY {order}) FROM {source})",
    "sqlite": "(SELECT json_group_array(json_array({fields})) FROM {source})",
    "mysql": "(SELECT JSON_ARRAYAGG(JSON_ARRAY({fields})) FROM {source})",
}


@dataclass(frozen=True, slots=True)
class Joins:
    """Which children a statement carries (part of its shape)."""

    metadata: bool = True
    system_metadata: bool = True
    info_cache: bool = True
    security_groups: bool = True
    tags: bool = False
    extra: bool = False
    pci_devices: bool = False
    # metadata, system metadata and PCI devices: live only, or as listings fill them (nova's
    # manual joins): metadata and PCI devices as the caller's read_deleted says, system
    # metadata every row (nova 14.0.0 reads it with read_deleted='yes')
    by_read_deleted: bool = False

    def names(self) -> list[str]:
        names = [name for name in CHILD_KEYS if getattr(self, name)]
        if self.security_groups:
            names.append("rules")
        return names


# Newton's defaults: getters join metadata and system metadata besides the info cache and
# security groups they always join; so do listings when columns_to_join is None.
DEFAULT_JOINS = Joins()
_JOINABLE = frozenset({"metadata", "system_metadata", "info_cache", "security_groups", "tags", "extra", "pci_devices"})


def joins_for(columns_to_join: Any, *, always: Iterable[str] = (), by_read_deleted: bool = False) -> Joins:
    """The children a call joins, from upstream's ``columns_to_join`` (None: the defaults).

    ``extra.<column>`` joins the whole ``extra`` row; names nova does not know are ignored,
    as its ``joinedload`` of them would have failed only for real relationships.

    :raises Invalid: ``columns_to_join`` is not a list of strings
    """
    if columns_to_join is None:
        return Joins(by_read_deleted=by_read_deleted)
    if isinstance(columns_to_join, str) or not isinstance(columns_to_join, Iterable):
        raise errors.Invalid(f"columns_to_join must be a list of names, not {type(columns_to_join).__name__}")
    asked = set(always)
    for column in columns_to_join:
        if not isinstance(column, str):
            raise errors.Invalid(f"columns_to_join holds names, not {type(column).__name__}")
        asked.add("extra" if column.startswith("extra.") else column)
    return Joins(**{name: name in asked for name in _JOINABLE}, by_read_deleted=by_read_deleted)


def _field_sql(dialect: str, alias: str, child: _Child, field: str) -> str:
    column = f"{alias}.{field}"
    if dialect == "postgresql" and field in child.addresses:
        return f"abbrev({column})"  # INET as the text PostgreSQL prints
    return column


def child_sql(dialect: str, name: str, joins: Joins) -> str:
    """The aggregate subquery carrying child ``name`` of each ``page`` row, AS ``name``.

    The info cache (one row per instance at most) is one record on PostgreSQL, and columns of
    its own elsewhere, joined by ``children_join``: its ``network_info`` is kilobytes of JSON
    text, which a JSON aggregate would escape and the client parse back.
    """
    child = CHILDREN[name]
    if name == "info_cache":
        if dialect == "postgresql":
            fields = ", ".join(f"c.{column}" for column in child.keys)
            return f"(SELECT ROW({fields}) FROM {child.source}) AS {name}"
        return ", ".join(f"{_CACHE}.{column} AS {label}" for column, label in _CACHE_COLUMNS)
    if name in _META_TABLE:
        live = "(CASE :read_deleted WHEN 'no' THEN m.deleted = 0 WHEN 'only' THEN m.deleted <> 0 ELSE TRUE END)"
        if not joins.by_read_deleted:
            live = "m.deleted = 0"  # the model's relationships join live rows
        elif name == "system_metadata":
            live = "TRUE"  # nova's listings read every system metadata row, deleted too (a deleted instance's)
        source = _META.format(table=_META_TABLE[name], live=live)
        alias = "m"
        if dialect == "postgresql":
            # keys and values as two text arrays: asyncpg decodes them at a third of the client
            # CPU of as many (id, key, value) records (a page of 1,000 instances carries 25,000),
            # and with two lists an instance where [key, value] pairs would make 25 for the
            # collector to track; the rows are sorted once (an ordered aggregate sorts per call),
            # and the aggregates over the sorted subquery see its order (no join at their level)
            ordered = f"SELECT m.key, m.value FROM {source} ORDER BY m.id"
            return f"(SELECT ARRAY[array_agg(s.key), array_agg(s.value)] FROM ({ordered}) s) AS {name}"
        if dialect == "mysql":
            # a JSON object of three column arrays (one aggregate feeds its rows to all three in
            # the same order): MariaDB's JSON_ARRAY costs more per row than the aggregates
            ids, keys, values = (f"JSON_ARRAYAGG(m.{column})" for column in ("id", "key", "value"))
            columns = f"""CONCAT('{{"id":', {ids}, ',"key":', {keys}, ',"value":', {values}, '}}')"""
            return f"(SELECT {columns} FROM {source}) AS {name}"
    else:
        alias = _ALIAS[name]
        live = "(CASE :read_deleted WHEN 'no' THEN d.deleted = 0 WHEN 'only' THEN d.deleted <> 0 ELSE TRUE END)"
        source = child.source.replace("{live}", live if joins.by_read_deleted else "d.deleted = 0")
    fields = ", ".join(_field_sql(dialect, alias, child, field) for field in child.fields)
    if dialect == "postgresql":
        if name == "security_groups":
            # each group carries its rules as a last field: one probe of the instance's groups
            rules = CHILDREN["rules"]
            rule_fields = ", ".join(_field_sql(dialect, "r", rules, field) for field in rules.fields)
            fields += ", " + _AGGREGATE[dialect].format(fields=rule_fields, source=_RULES_OF_GROUP, order="r.id")
    order = f"{alias}.{child.fields[0]}"
    return _AGGREGATE[dialect].format(fields=fields, source=source, order=order) + f" AS {name}"


def children_sql(dialect: str, joins: Joins) -> str:
    """The select-list items of every joined child, comma-separated (may be empty)."""
    names = joins.names()
    if dialect == "postgresql" and "rules" in names:
        names.remove("rules")  # nested in the groups
    return ", ".join(child_sql(dialect, name, joins) for name in names)


def children_returned(joins: Joins) -> str:
    """SQLite: the children as items of an ``UPDATE instances ... RETURNING`` (spec D.2).

    RETURNING can neither join nor name an alias of the updated table, and SQLite scans a child
    table whose subquery correlates to the returned row's ``uuid``: the subqueries look children
    up by the UPDATE's own ``:uuid`` (other correlations name ``instances``), and the info cache
    travels as a JSON array of its one row.
    """
    items = []
    for name in joins.names():
        if name == "info_cache":
            child = CHILDREN[name]
            fields = ", ".join(f"c.{field}" for field in child.fields)
            items.append(f"(SELECT json_array({fields}) FROM {child.source}) AS {name}")
        else:
            items.append(child_sql("sqlite", name, joins))
    correlated = ", ".join(items)  # every correlation is written page.<column>
    return correlated.replace("page.uuid", ":uuid").replace("page.", "instances.")


def children_join(dialect: str, joins: Joins) -> str:
    """What follows ``FROM ... AS page`` for the children: the info cache's join, or nothing."""
    if not joins.info_cache or dialect == "postgresql":
        return ""
    return f" LEFT JOIN instance_info_caches {_CACHE} ON {_CACHE}.instance_uuid = page.uuid"


# --- decoding ------------------------------------------------------------------------------

_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _items(value: Any) -> list[Any]:
    """An aggregate's tuples: a record array as it came, JSON parsed and put in first-field order."""
    if value is None:
        return []
    if isinstance(value, str):
        items = _json(value)
        items.sort(key=_FIRST)  # ids (or tags): never NULL
        return list(items)
    return list(value)


def _json(value: str) -> Any:
    try:
        return _scan_json(value, 0)[0]
    except (StopIteration, ValueError) as exc:
        raise errors.DBDataError(detail=f"malformed JSON from the database: {value[:80]!r}") from exc


_FIRST = operator.itemgetter(0)
_from_text = datetime.fromisoformat


def _info_cache(row: Mapping[str, Any]) -> Row | None:
    """The info cache from its joined columns, its record (PostgreSQL) or its JSON (``children_returned``)."""
    if "info_cache" in row:
        value, child = row["info_cache"], CHILDREN["info_cache"]
        if value is None:
            return None
        if isinstance(value, str):
            return _json_rows([_json(value)], child)[0]
        return dict(zip(child.keys, value, strict=True))
    if row["info_cache_id"] is None:
        return None
    return {column: row[label] for column, label in _CACHE_COLUMNS}


def _rows(value: Any, child: _Child) -> list[Row]:
    if not value:
        return []
    keys, in_key_order = child.keys, child.in_key_order
    if not isinstance(value, str):  # records typed by the driver (PostgreSQL)
        if child.travels_in_key_order:
            return [dict(zip(keys, item, strict=True)) for item in value]
        return [dict(zip(keys, in_key_order(item), strict=True)) for item in value]
    return _json_rows(_items(value), child)


def _json_rows(items: Iterable[Sequence[Any]], child: _Child) -> list[Row]:
    """Rows from parsed JSON arrays, their times parsed from text."""
    keys, in_key_order, times = child.keys, child.in_key_order, child.times
    rows = []
    for item in items:
        row = dict(zip(keys, in_key_order(item), strict=True))
        for field in times:
            text = row[field]
            if text is not None:
                row[field] = _from_text(text)
        rows.append(row)
    return rows


def _pairs(value: Any) -> list[Row]:
    """Metadata rows as ``{key, value}``: ``[keys, values]`` arrays (PostgreSQL) or JSON ``[id, key, value]``."""
    if value is None:
        return []
    if isinstance(value, str):
        parsed = _json(value)
        if isinstance(parsed, dict):  # MySQL: {"id": [...], "key": [...], "value": [...]}
            ids, keys, values = parsed["id"], parsed["key"], parsed["value"]
            order = sorted(range(len(ids)), key=ids.__getitem__)
            return [{"key": keys[index], "value": values[index]} for index in order]
        parsed.sort(key=_FIRST)
        return [{"key": key, "value": item} for _, key, item in parsed]
    if not value:
        return []
    keys, values = value
    return [{"key": key, "value": item} for key, item in zip(keys, values, strict=True)]


def _groups(value: Any) -> list[Row]:
    """Security groups with their rules nested as a last field (PostgreSQL's records)."""
    groups, rules = CHILDREN["security_groups"], CHILDREN["rules"]
    keys, in_key_order = groups.keys, groups.in_key_order
    rows = []
    for item in value or ():
        group = dict(zip(keys, in_key_order(item), strict=True))  # the rules (last) left out
        group["rules"] = _rows(item[-1], rules)
        rows.append(group)
    return rows


def instance_dict(row: Mapping[str, Any], joins: Joins) -> Row:
    """An instance dict from a row carrying the instance's columns and the joined aggregates."""
    instance = {column: row[column] for column in INSTANCE_COLUMNS}
    instance["name"] = instance_name(instance)
    for name in ("metadata", "system_metadata"):
        instance[name] = _pairs(row[name]) if getattr(joins, name) else []
    instance["info_cache"] = _info_cache(row) if joins.info_cache else None
    if joins.security_groups and "rules" not in row:
        instance["security_groups"] = _groups(row["security_groups"])
    elif joins.security_groups:
        groups = _rows(row["security_groups"], CHILDREN["security_groups"])
        rules = _rows(row["rules"], CHILDREN["rules"])
        for group in groups:
            group["rules"] = [rule for rule in rules if rule["parent_group_id"] == group["id"]]
        instance["security_groups"] = groups
    else:
        instance["security_groups"] = []
    if joins.tags:
        tags = sorted(item[0] for item in _items(row["tags"]))
        instance["tags"] = [{"resource_id": instance["uuid"], "tag": tag} for tag in tags]
    else:
        instance["tags"] = []
    if joins.extra:
        extras = _rows(row["extra"], CHILDREN["extra"])
        instance["extra"] = extras[0] if extras else None
    else:
        instance["extra"] = None
    instance["pci_devices"] = _rows(row["pci_devices"], CHILDREN["pci_devices"]) if joins.pci_devices else []
    return instance
