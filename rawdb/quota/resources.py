"""Quota resources, as nova.quota and cinder.quota define them.

A ``ReservableResource`` is reserved and committed (instances, volumes); its ``sync``
counts the real usage when a usage row is created or refreshed.  An ``AbsoluteResource``
is only checked (``limit_check``: metadata items).  A ``CountableResource`` is checked
against a count the caller supplies through its ``count`` function (key pairs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rawdb.context import Context

# (bound context, project_id, user_id or None) -> {resource: in_use}
Sync = Callable[[Context, str, str | None], Awaitable[Mapping[str, int]]]
Count = Callable[..., Awaitable[int]]


class BaseResource:
    """A resource with a limit; ``flag`` names its configured default."""

    reservable = False

    def __init__(self, name: str, flag: str | None = None) -> None:
        self.name = name
        self.flag = flag or name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def default(self, defaults: Mapping[str, int]) -> int:
        """The configured default limit (-1, unlimited, when none is configured)."""
        return int(defaults.get(self.flag, -1))


class ReservableResource(BaseResource):
    """A resource reserved before use and committed after; ``sync`` counts its real usage."""

    reservable = True

    def __init__(self, name: str, sync: Sync, flag: str | None = None) -> None:
        super().__init__(name, flag)
        self.sync = sync


class AbsoluteResource(BaseResource):
    """A resource only checked against its limit (``limit_check``), never reserved."""


class CountableResource(AbsoluteResource):
    """A resource checked against a count: ``await resource.count(context, *args)``."""

    def __init__(self, name: str, count: Count, flag: str | None = None) -> None:
        super().__init__(name, flag)
        self.count = count

    async def counted(self, context: Context, *args: Any) -> int:
        return int(await self.count(context, *args))
