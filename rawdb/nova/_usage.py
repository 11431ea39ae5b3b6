"""Checks and arithmetic private to ``rawdb.nova.usage``: how its arguments are read, and Newton's
volume usage accounting (``vol_usage_update``), computed from the row the writer has locked.

No statements run here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, check_datetime, lookup_text

UUID_LENGTH, MAC_LENGTH, NAME_LENGTH = 36, 255, 255
COUNTERS = ("reads", "read_bytes", "writes", "write_bytes")


def time_arg(value: Any, what: str) -> datetime:
    """A time argument as naive UTC: a datetime (aware ones converted) or an ISO-8601 string (spec B.4).

    :raises Invalid: anything else, or a string that is no ISO-8601 time
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise errors.Invalid(f"{what} is not an ISO-8601 time: {value!r:.80}") from None
    return check_datetime(value, what)


def optional_text(value: Any, what: str, max_length: int) -> tuple[bool, str | None]:
    """An optional string filter: ``(matchable, value)``; None filters nothing.

    :returns: ``(False, None)`` when no row can hold the string
    :raises Invalid: neither a string nor None
    """
    if value is None:
        return True, None
    text = lookup_text(value, what, max_length)
    return text is not None, text


def uuid_list(uuids: Any) -> list[str]:
    """The uuids a row can hold, in the order given, each once.

    :raises Invalid: not a list (tuple, set) of strings
    """
    if isinstance(uuids, (str, bytes)) or not isinstance(uuids, (Sequence, AbstractSet)):
        raise errors.Invalid(f"uuids must be a list of uuids, not {type(uuids).__name__}")
    wanted: list[str] = []
    for uuid in uuids:
        text = lookup_text(uuid, "uuids", UUID_LENGTH)
        if text is not None and text not in wanted:
            wanted.append(text)
    return wanted


def lock_key(*parts: object) -> str:
    """The text an advisory lock hashes: the parts of a key, separated by a character none can hold."""
    return "\x1f".join(str(part) for part in parts)


def volume_counters(stored: Mapping[str, Any] | None, given: Mapping[str, int], update_totals: bool) -> dict[str, int]:
    """The ``tot_*`` and ``curr_*`` counters ``vol_usage_update`` stores (Newton 14.0.0's accounting).

    ``given`` holds the hypervisor's counters (``reads``, ``read_bytes``, ``writes``,
    ``write_bytes``); ``stored`` the volume's row (None: there is none yet).

    - A new row holds the given counters as current ones, or (``update_totals``) as totals.
    - Otherwise, without ``update_totals`` the current counters become the given ones; with it,
      each given counter is added to its total and the current ones reset to 0.
    - When any given counter is below the stored current one, the instance was rebooted (its
      counters restarted): the stored current counters are first added to the totals.

    A NULL counter counts as 0.

    :raises Invalid: a total would exceed what BIGINT holds
    """
    zero = dict.fromkeys(COUNTERS, 0)
    current = zero if stored is None else {c: stored[f"curr_{c}"] or 0 for c in COUNTERS}
    totals = zero if stored is None else {c: stored[f"tot_{c}"] or 0 for c in COUNTERS}
    rebooted = stored is not None and any(given[c] < current[c] for c in COUNTERS)
    result: dict[str, int] = {}
    for counter in COUNTERS:
        total = totals[counter] + (current[counter] if rebooted else 0)
        if update_totals:
            total += given[counter]
        if not -BIGINT_MAX - 1 <= total <= BIGINT_MAX:
            raise errors.Invalid(f"the volume's total {counter} would exceed {BIGINT_MAX}")
        result[f"tot_{counter}"] = total
        result[f"curr_{counter}"] = 0 if update_totals else given[counter]
    return result
