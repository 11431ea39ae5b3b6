"""nova 14.0.0's listing filters (spec D.1) as a plan: hashable descriptors and the values to bind.

``filter_plan`` reads the caller's dict without changing or keeping it; the statement is
built from the plan alone (``_instance_list``), so no text ever comes from the caller:
column names are checked against the schema's, values are bound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.conventions import coerce, coerce_values, table_columns
from rawdb.nova._instance_rows import INSTANCE_COLUMN_SET
from rawdb.nova._network_values import address_text

Plan = tuple[tuple[Any, ...], ...]
_COLUMNS = table_columns("nova")["instances"]
# nova 14.0.0's exact-match filters; every other key naming a column is a regex filter.
EXACT = (
    "project_id",
    "user_id",
    "image_ref",
    "vm_state",
    "instance_type_id",
    "uuid",
    "metadata",
    "host",
    "task_state",
    "system_metadata",
)
_META_TABLES = ("metadata", "system_metadata")
LOCKED_BY = ("owner", "admin")  # nova's instances0locked_by enum
# nova's IPAddress columns: INET on PostgreSQL, text elsewhere; every backend gets the text INET prints.
ADDRESSES = frozenset(("access_ip_v4", "access_ip_v6"))
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: text no database stores


def column_value(column: str, key: str, value: Any, *, parse_times: bool = False) -> Any:
    """``value`` as the instances column ``column`` stores it on every backend (writes, expectations, filters).

    Beyond ``coerce``: ``locked_by`` is one of its enum's values and the access addresses
    are addresses, as PostgreSQL's INET prints them (elsewhere a VARCHAR would take anything,
    and ``2001:DB8::1`` would come back unlike PostgreSQL's ``2001:db8::1``).

    :raises Invalid: a value the column cannot hold (naming ``key``)
    """
    value = coerce(_COLUMNS[column], key, value, parse_times=parse_times)
    if value is None:
        return None
    if column == "locked_by" and value not in LOCKED_BY:
        raise errors.Invalid(f"{key} is one of {', '.join(LOCKED_BY)}, not {value!r:.80}")
    if column in ADDRESSES:
        return address_text(value, key)
    return value


def instance_values(values: Any, *, parse_times: bool = False) -> dict[str, Any]:
    """``coerce_values`` of an instances ``values`` dict, with ``column_value``'s checks.

    :raises Invalid: see ``coerce_values`` and ``column_value``
    """
    checked = coerce_values("nova", "instances", values, parse_times=parse_times)
    for key in checked.keys() & (ADDRESSES | {"locked_by"}):
        checked[key] = column_value(key, key, checked[key])
    return checked


class PlanBuilder:
    """Collects plan descriptors and their bound values."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"f{len(self.params)}"
        self.params[name] = value
        return name

    def add(self, *item: Any) -> None:
        self.items.append(item)

    def read_deleted(self, value: str) -> None:
        """The context's read_deleted on the instance itself (nothing for 'yes')."""
        if value != "yes":
            self.add("read_deleted", value)

    def exact(self, column: str, value: Any) -> None:
        """``column = value`` (IS NULL for None), or ``IN`` for a list, tuple or set."""
        if isinstance(value, (list, tuple, set, frozenset)):
            values = [column_value(column, column, item) for item in value if item is not None]
            self.add("in", column, self.bind(values))
        elif value is None:
            self.add("null", column)
        else:
            self.add("eq", column, self.bind(column_value(column, column, value)))

    def plan(self) -> Plan:
        return tuple(self.items)


def check_meta_filter(name: str, value: Any) -> list[tuple[Any, Any]]:
    """The (key, value) pairs of a metadata filter given as a dict or a list of dicts."""
    blocks = value if isinstance(value, list) else [value]
    pairs = []
    for block in blocks:
        if not isinstance(block, Mapping):
            raise errors.Invalid(f"the {name} filter is a dict or a list of dicts, not {type(block).__name__}")
        for key, item in block.items():
            pairs.append((_meta_text(name, key), _meta_text(name, item)))
    return pairs


def _meta_text(name: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > 255 or UNSTORABLE.search(text):
        raise errors.Invalid(f"a {name} filter value is over 255 characters or holds NUL or a lone surrogate")
    return text


def column_or_none(key: Any) -> str | None:
    """``key`` if it names an instances column, else None (nova ignores such filter keys)."""
    return key if isinstance(key, str) and key in INSTANCE_COLUMN_SET else None


def _tag_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise errors.Invalid(f"the {name} filter is a list of tags, not {type(value).__name__}")
    tags = list(value)
    for tag in tags:
        if not isinstance(tag, str):
            raise errors.Invalid(f"the {name} filter holds tags (strings), not {type(tag).__name__}")
        if UNSTORABLE.search(tag):
            raise errors.Invalid(f"the {name} filter holds a tag with NUL or a lone surrogate: {tag!r:.80}")
    return tags


def _ec2_filter(builder: PlanBuilder, blocks: Any) -> None:
    """The EC2 metadata ``filter`` list (D.1 step 8): tag-key/tag-value ORed, each tag:<k> ANDed."""
    if not isinstance(blocks, (list, tuple)):
        raise errors.Invalid(f"the 'filter' filter is a list of {{name, value}} dicts, not {type(blocks).__name__}")
    keys: list[str] = []
    values: list[str] = []
    either = False
    for block in blocks:
        if not isinstance(block, Mapping) or not isinstance(block.get("name"), str):
            continue
        name, value = block["name"], block.get("value")
        if isinstance(value, Mapping):
            value = list(value.values())
        items = [_meta_text("filter", item) for item in (value if isinstance(value, (list, tuple, set)) else [value])]
        if name.startswith("tag-"):
            if name[4:] not in ("key", "value"):
                raise errors.InvalidParameterValue(err=f"Invalid field name: {name[4:]}")
            (keys if name == "tag-key" else values).extend(items)
            either = True
        elif name.startswith("tag:"):
            builder.add("ec2", None, builder.bind(items), builder.bind(_meta_text("filter", name[4:])), False)
    if either:
        builder.add("ec2", builder.bind(keys) if keys else None, builder.bind(values) if values else None, None, True)


def _pattern(key: str, value: Any) -> str:
    """A regex filter's pattern (a value that is not text is matched as its text, as nova did).

    :raises Invalid: not a regular expression, or text no column can hold
    """
    text = value if isinstance(value, str) else str(value)
    if UNSTORABLE.search(text) or len(text) > 4096:
        raise errors.Invalid(f"the {key} filter is not a pattern rawdb can send: {text!r:.80}")
    try:
        re.compile(text)
    except re.error as exc:
        raise errors.Invalid(f"the {key} filter is not a regular expression: {exc}") from None
    return text


def filter_plan(context: Any, filters: Mapping[str, Any]) -> tuple[Plan, dict[str, Any]] | None:
    """The plan and bound values of nova 14.0.0's listing filters (spec D.1), or None for "no rows".

    The caller's dict is neither changed nor kept.  Keys that name no instances column
    (``ip``, ``all_tenants``, ``name``, ...) are ignored, as nova ignored them.

    :raises Invalid: a filter value of the wrong type, a value its column cannot hold
    :raises InvalidParameterValue: an EC2 ``tag-*`` filter other than tag-key and tag-value
    """
    if not isinstance(filters, Mapping):
        raise errors.Invalid(f"filters must be a dict, not {type(filters).__name__}")
    filters = dict(filters)
    builder = PlanBuilder()
    if "changes-since" in filters:
        builder.params["changes_since"] = coerce(
            _COLUMNS["updated_at"], "changes-since", filters["changes-since"], parse_times=True
        )
        if builder.params["changes_since"] is None:
            raise errors.Invalid("changes-since must be a time, not None")
        builder.add("since")
    if "deleted" in filters:
        deleted = bool(filters.pop("deleted"))
        builder.add("deleted", deleted, bool(filters.pop("soft_deleted", deleted)))
    if "cleaned" in filters:
        builder.params["cleaned"] = 1 if filters.pop("cleaned") else 0
        builder.add("cleaned")
    for name, kind in (("tags", "tags"), ("not-tags", "not_tags")):
        if name in filters:
            tags = _tag_list(name, filters.pop(name))
            if tags:
                builder.add(kind, tuple(builder.bind(tag) for tag in tags))
    for name, kind in (("tags-any", "tags_any"), ("not-tags-any", "not_tags_any")):
        if name in filters:
            tags = _tag_list(name, filters.pop(name))
            builder.add(kind, builder.bind(tags))
    if not context.is_admin:
        if context.project_id:
            filters["project_id"] = context.project_id
        else:
            filters["user_id"] = context.user_id
    for key in EXACT:
        if key not in filters:
            continue
        value = filters.pop(key)
        if key in _META_TABLES:
            for meta_key, meta_value in check_meta_filter(key, value):
                builder.add("meta", key, builder.bind(meta_key), builder.bind(meta_value))
        elif isinstance(value, (list, tuple, set, frozenset)) and not value:
            return None  # an empty IN: nothing can match
        else:
            builder.exact(key, value)
    ec2 = filters.pop("filter", None)
    for key, value in filters.items():
        column = column_or_none(key)
        if column is not None:
            builder.add("regex", column, builder.bind(_pattern(key, value)))
    if ec2 is not None:
        builder.params["read_deleted"] = context.read_deleted
        _ec2_filter(builder, ec2)
    return builder.plan(), builder.params
