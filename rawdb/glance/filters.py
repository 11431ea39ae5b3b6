"""Parsing of glance's filter values: ``in:`` lists, comparison operators, time thresholds."""

from __future__ import annotations

import re
from datetime import datetime

from rawdb import errors
from rawdb.timeutils import normalize

TIME_OPERATORS = ("gt", "gte", "lt", "lte", "neq", "eq")
LIST_OPERATORS = ("in", "eq")

# api-wg quoting, as glance's split_filter_value_for_quotes: a quoted item may hold
# commas and escaped quotes (the backslash is kept, as glance keeps it).
_ITEM = re.compile(
    r"""
    "([^"\\]*(?:\\.[^"\\]*)*)",?   # a quoted item
    | ([^,]+),?                    # an unquoted item
    | ,                            # an empty item
    """,
    re.VERBOSE,
)


def _iso(value: str, param: str) -> datetime:
    """An ISO 8601 time as naive UTC.

    :raises ValueError: it is not an ISO 8601 time
    :raises InvalidParameterValue: it is one, but leaves years 1-9999 once converted to UTC
    """
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    try:
        return normalize(when)
    except OverflowError:
        raise errors.InvalidParameterValue(
            value=value, param=param, extra_msg="the time is out of range once converted to UTC"
        ) from None


def parse_time(value: str, param: str) -> datetime:
    """An ISO 8601 time as naive UTC; InvalidParameterValue if it is not one."""
    try:
        return _iso(value, param)
    except ValueError:
        raise errors.InvalidParameterValue(value=value, param=param, extra_msg="not an ISO 8601 time") from None


def split_time_filter(expression: str, param: str) -> tuple[str, datetime]:
    """``"gte:2024-01-01T00:00:00Z"`` -> ``("gte", datetime)``; a bare time means ``eq``."""
    if not isinstance(expression, str):
        raise errors.InvalidParameterValue(value=expression, param=param, extra_msg="expected 'op:ISO8601' text")
    operator, sep, threshold = expression.partition(":")
    if sep:
        try:  # a bare ISO time contains colons too
            return "eq", _iso(expression, param)
        except ValueError:
            pass
        if operator not in TIME_OPERATORS:
            raise errors.InvalidFilterOperatorValue(f"Unable to filter on the unknown operator '{operator}'.")
        return operator, parse_time(threshold, param)
    return "eq", parse_time(expression, param)


def validate_quotes(value: str) -> None:
    """glance's validate_quotes: quotes open after a comma and close before one."""
    open_quotes = True
    for i, char in enumerate(value):
        if char != '"' or (i and value[i - 1] == "\\"):
            continue
        if open_quotes and i and value[i - 1] != ",":
            raise errors.InvalidParameterValue(
                value=value, param="in", extra_msg="there is no comma before the opening quotation mark"
            )
        if not open_quotes and i + 1 != len(value) and value[i + 1] != ",":
            raise errors.InvalidParameterValue(
                value=value, param="in", extra_msg="there is no comma after the closing quotation mark"
            )
        open_quotes = not open_quotes
    if not open_quotes:
        raise errors.InvalidParameterValue(value=value, param="in", extra_msg="the quote is not closed")


def split_list(value: str) -> list[str]:
    """``a,b,"c,d"`` -> ``["a", "b", "c,d"]``."""
    validate_quotes(value)
    return [quoted or plain for quoted, plain in _ITEM.findall(value)]


def split_list_filter(expression: str, param: str) -> tuple[str, str | list[str]]:
    """``"in:a,b"`` -> ``("in", ["a", "b"])``; ``"eq:x"`` or ``"x"`` -> ``("eq", "x")``.

    Unlike glance, a value whose prefix is not an operator (a name ``a:b``) is taken
    as it is, instead of failing as operator ``a``.
    """
    if not isinstance(expression, str):
        raise errors.InvalidParameterValue(value=expression, param=param, extra_msg="expected text")
    operator, sep, rest = expression.partition(":")
    if not sep:
        return "eq", expression
    if operator == "in":
        return "in", split_list(rest)
    if operator == "eq":
        return "eq", rest
    if operator in TIME_OPERATORS:
        raise errors.InvalidFilterOperatorValue(f"Unable to filter {param} with operator '{operator}'.")
    return "eq", expression
