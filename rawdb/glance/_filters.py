"""Parsing of glance's filter values: operators, ``in:`` lists and ISO 8601 times (spec glance.md C.2).

glance 33 gives operators to seven filter keys only, in its DB layer (the v2 API passes
every query parameter through as it is):

* ``created_at``, ``updated_at``: ``gt gte lt lte neq eq``, or a bare time for ``eq``;
* ``name``, ``id``, ``status``, ``container_format``, ``disk_format``: ``in`` and ``eq``,
  or a bare value for ``eq``.

Every other key compares its value as it is: ``owner="eq:x"`` looks for the owner ``eq:x``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from rawdb import errors
from rawdb.timeutils import normalize

TIME_OPERATORS = ("gt", "gte", "lt", "lte", "neq", "eq")
LIST_OPERATORS = ("in", "eq")

# The ISO 8601 that oslo's parse_isotime reads (the iso8601 package): a 4-digit year, then
# optionally a month (-M, -MM, or MM when more follows), a day (-D, -DD or DD), and after
# "T" or a space an hour, [:]minutes, [:]seconds with a "." or "," fraction, and a zone
# "Z" or +-hh[:][mm].  "$" also matches before a final newline, as there.
_ISO_TIME = re.compile(
    r"""
    (?P<year>\d{4})
    (?:
        (?: -(?P<month_dash>\d{1,2}) | (?P<month>\d{2})(?!$) )
        (?:
            (?: -(?P<day_dash>\d{1,2}) | (?P<day>\d{2}) )
            (?:
                [T ](?P<hour>\d{2})
                (?: :?(?P<minute>\d{2}) )?
                (?: :?(?P<second>\d{1,2}) (?: [.,](?P<fraction>\d+) )? )?
                (?P<zone> Z | (?P<sign>[-+])(?P<zone_hours>\d{2}) :? (?P<zone_minutes>\d{2})? )?
            )?
        )?
    )?
    $
    """,
    re.VERBOSE | re.ASCII,
)

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


def _zone(sign: str | None, hours: str | None, minutes: str | None) -> timezone:
    """A match's zone; none means UTC.  ValueError if it is a day or more from UTC."""
    if sign is None:
        return UTC
    offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    return timezone(-offset if sign == "-" else offset)


def _iso(value: str) -> datetime:
    """An ISO 8601 time as oslo's parse_isotime reads it (aware; UTC when it names no zone).

    :raises ValueError: it is not one (a date that does not exist, such as Feb 30, included)
    """
    match = _ISO_TIME.match(value)
    if match is None:
        raise ValueError(value)
    part = match.groupdict()
    # iso8601 scales the fraction as a Decimal and truncates: kept, so the same text is the same time.
    microsecond = int(Decimal(f"0.{part['fraction'] or 0}") * 1_000_000)
    return datetime(
        int(part["year"]),
        int(part["month"] or part["month_dash"] or 1),
        int(part["day"] or part["day_dash"] or 1),
        int(part["hour"] or 0),
        int(part["minute"] or 0),
        int(part["second"] or 0),
        microsecond,
        tzinfo=_zone(part["sign"], part["zone_hours"], part["zone_minutes"]),
    )


def _is_iso(value: str) -> bool:
    try:
        _iso(value)
    except ValueError:
        return False
    return True


def parse_time(value: str, param: str) -> datetime:
    """An ISO 8601 time (as oslo's parse_isotime reads it) as naive UTC.

    :raises InvalidParameterValue: it is not one, or leaves years 1-9999 once converted to UTC
    """
    try:
        when = _iso(value)
    except ValueError:
        raise errors.InvalidParameterValue(value=value, param=param, extra_msg="not an ISO 8601 time") from None
    try:
        return normalize(when)
    except OverflowError:  # glance lets this escape as a 500
        raise errors.InvalidParameterValue(
            value=value, param=param, extra_msg="the time is out of range once converted to UTC"
        ) from None


def split_operator(expression: str) -> tuple[str, str]:
    """glance's split_filter_op: ``"gte:x"`` -> ``("gte", "x")``; no colon -> ``("eq", expression)``.

    An expression that is an ISO 8601 time as a whole (it has colons) is ``("eq", expression)``;
    anything else splits at its first colon, so ``"eq:a:b"`` is ``("eq", "a:b")`` and a
    bare ``"a:b"`` is operator ``a``.  Which operators a key takes is up to the caller.
    """
    operator, sep, rest = expression.partition(":")
    if not sep or _is_iso(expression):
        return "eq", expression
    return operator, rest


def split_time_filter(expression: str, param: str) -> tuple[str, datetime]:
    """``"gte:2024-01-01T00:00:00Z"`` -> ``("gte", datetime)``; a bare time means ``eq``.

    As glance, the time is read before the operator is looked at.

    :raises InvalidParameterValue: the value is not text, or the time is not ISO 8601
    :raises InvalidFilterOperatorValue: the operator is not one of TIME_OPERATORS
    """
    if not isinstance(expression, str):
        raise errors.InvalidParameterValue(value=expression, param=param, extra_msg="expected 'op:ISO8601' text")
    operator, threshold = split_operator(expression)
    when = parse_time(threshold, param)
    if operator not in TIME_OPERATORS:
        raise errors.InvalidFilterOperatorValue(
            f"Unable to filter {param} with the unknown operator {operator!r:.80}: "
            f"use one of {', '.join(TIME_OPERATORS)}."
        )
    return operator, when


def validate_quotes(value: str, param: str) -> None:
    """glance's validate_quotes: quotes open after a comma and close before one."""
    open_quotes = True
    for i, char in enumerate(value):
        if char != '"' or (i and value[i - 1] == "\\"):
            continue
        if open_quotes and i and value[i - 1] != ",":
            raise errors.InvalidParameterValue(
                value=value, param=param, extra_msg="there is no comma before the opening quotation mark"
            )
        if not open_quotes and i + 1 != len(value) and value[i + 1] != ",":
            raise errors.InvalidParameterValue(
                value=value, param=param, extra_msg="there is no comma after the closing quotation mark"
            )
        open_quotes = not open_quotes
    if not open_quotes:
        raise errors.InvalidParameterValue(value=value, param=param, extra_msg="the quote is not closed")


def split_list(value: str, param: str) -> list[str]:
    """``a,b,"c,d"`` -> ``["a", "b", "c,d"]``; ``""`` -> ``[]`` (matches nothing)."""
    validate_quotes(value, param)
    return [quoted or plain for quoted, plain in _ITEM.findall(value)]


def split_list_filter(expression: str, param: str) -> tuple[str, str | list[str]]:
    """``"in:a,b"`` -> ``("in", ["a", "b"])``; ``"eq:x"``, ``"x"`` or a bare ISO time -> ``("eq", it)``.

    :raises InvalidParameterValue: the value is not text, or an ``in:`` list is badly quoted
    :raises InvalidFilterOperatorValue: any other operator, which includes a bare value with
        a colon (``"a:b"`` is operator ``a``: ``"eq:a:b"`` matches ``a:b``)
    """
    if not isinstance(expression, str):
        raise errors.InvalidParameterValue(value=expression, param=param, extra_msg="expected text")
    operator, rest = split_operator(expression)
    if operator == "in":
        return "in", split_list(rest, param)
    if operator == "eq":
        return "eq", rest
    raise errors.InvalidFilterOperatorValue(
        f"Unable to filter {param} by the unknown operator {operator!r:.80}: use 'in:a,b' or 'eq:value' "
        "(a value holding a colon needs 'eq:', as in 'eq:a:b')."
    )
