"""QuotaEngine: what services call (nova.quota.QUOTAS / cinder.quota.QUOTAS), on rawdb.

It knows the registered resources and the configured defaults, resolves effective
limits (the user's row, then the project's, then the project's quota class, then the
'default' class, then the configured default; -1 is unlimited) and reserves, commits,
rolls back and expires.  On PostgreSQL a reservation in the steady state is one
statement, limit resolution included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import check_require_admin_context, check_require_context
from rawdb.decorators import retry_on_deadlock
from rawdb.quota import api, core
from rawdb.quota._checks import (
    NAME_LENGTH,
    check_context,
    check_deltas,
    expiry,
    max_age_seconds,
    names,
    optional_text,
    text,
)
from rawdb.quota.core import Request, Service
from rawdb.quota.resources import BaseResource, ReservableResource


class QuotaEngine:
    """The quota engine of one service's database.

    :param service: ``core.NOVA`` or ``core.CINDER``
    :param defaults: configured default limits by resource flag (nova's ``quota_instances`` ...)
    :param until_refresh: reservations between forced usage refreshes (0: never)
    :param max_age: seconds (or a timedelta) after which a usage row is refreshed (0: never)
    :param reservation_expire: seconds a reservation lives when ``reserve`` gets no expire
    :raises Invalid: ``max_age`` is neither seconds nor a timedelta, or is below 0
    """

    def __init__(
        self,
        service: Service,
        resources: Iterable[BaseResource] = (),
        defaults: Mapping[str, int] | None = None,
        until_refresh: int = 0,
        max_age: int | timedelta = 0,
        reservation_expire: int = 86400,
    ) -> None:
        self.service = service
        self.defaults = dict(defaults or {})
        self.until_refresh = until_refresh
        self.max_age = max_age_seconds(max_age)
        self.reservation_expire = reservation_expire
        self._resources: dict[str, BaseResource] = {}
        self.register_resources(resources)

    def register_resource(self, resource: BaseResource) -> None:
        """Add (or replace) a resource."""
        self._resources[resource.name] = resource

    def register_resources(self, resources: Iterable[BaseResource]) -> None:
        for resource in resources:
            self.register_resource(resource)

    @property
    def resources(self) -> dict[str, BaseResource]:
        return dict(self._resources)

    def _known(self, names: Iterable[str], reservable: bool = False) -> None:
        unknown = sorted(
            n for n in names if n not in self._resources or (reservable and not self._resources[n].reservable)
        )
        if unknown:
            raise errors.QuotaResourceUnknown(unknown=unknown)

    def _fallbacks(self, names: Iterable[str]) -> dict[str, int]:
        return {n: self._resources[n].default(self.defaults) for n in names}

    def _request(
        self,
        context: Context,
        deltas: Mapping[str, int],
        project_id: str | None,
        user_id: str | None,
        expire: Any = None,
    ) -> Request:
        check_context(context, "QuotaEngine")
        project = optional_text(project_id, "project_id", NAME_LENGTH) or context.project_id
        if not project:
            raise errors.Invalid("a project_id is needed (or a context with one)")
        resources = {n: self._resources[n] for n in deltas}
        return Request(
            service=self.service,
            project_id=project,
            user_id=(optional_text(user_id, "user_id", NAME_LENGTH) or context.user_id)
            if self.service.per_user
            else None,
            deltas=dict(deltas),
            project_limits={},
            user_limits={},
            fallbacks=self._fallbacks(deltas),
            quota_class=context.quota_class if project == context.project_id else None,
            expire=expiry(expire, self.reservation_expire),
            until_refresh=self.until_refresh or None,
            max_age=self.max_age,
            syncs={n: r.sync for n, r in resources.items() if isinstance(r, ReservableResource)},
        )

    # --- limits ---------------------------------------------------------------------------

    async def get_defaults(self, context: Context) -> dict[str, int]:
        """Every resource's default limit: the 'default' class, else the configured default."""
        classes = await api.quota_class_get_all_by_name(context, self.service, "default")
        return {n: classes.get(n, r.default(self.defaults)) for n, r in self._resources.items()}

    async def get_limits(
        self, context: Context, project_id: str | None = None, user_id: str | None = None
    ) -> dict[str, int]:
        """The effective limit of every resource for the project (and user, on nova)."""
        names = list(self._resources)
        request = self._request(context, dict.fromkeys(names, 0), project_id, user_id)
        async with context.reader() as tx:
            project, user = await core.resolve_limits(tx, request)
        return user if self.service.per_user else project

    async def limit_check(
        self, context: Context, project_id: str | None = None, user_id: str | None = None, **values: int
    ) -> None:
        """Check values of absolute resources (metadata items ...) against their limits.

        :raises QuotaResourceUnknown: a resource is not registered or is reservable
        :raises InvalidQuotaValue: a value is negative
        :raises OverQuota: a value is over its limit
        :raises Invalid: a value is not an integer
        """
        unknown = sorted(n for n in values if n not in self._resources or self._resources[n].reservable)
        if unknown:
            raise errors.QuotaResourceUnknown(unknown=unknown)
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise errors.Invalid(f"{name} must be an integer, not {type(value).__name__}")
        unders = sorted(n for n, v in values.items() if v < 0)
        if unders:
            raise errors.InvalidQuotaValue(unders=unders)
        request = self._request(context, dict.fromkeys(values, 0), project_id, user_id)
        async with context.reader() as tx:
            project, user = await core.resolve_limits(tx, request)
        limits = user if self.service.per_user else project
        overs = sorted(n for n, v in values.items() if 0 <= limits[n] < v or 0 <= project[n] < v)
        if overs:
            raise errors.OverQuota(overs=overs, quotas=limits, usages={})

    # --- reservations ------------------------------------------------------------------------

    async def reserve(
        self,
        context: Context,
        expire: Any = None,
        project_id: str | None = None,
        user_id: str | None = None,
        **deltas: int,
    ) -> list[str]:
        """Reserve ``deltas`` (``instances=1, cores=2``) all together, or none of them.

        :param expire: seconds, a timedelta or a datetime; default ``reservation_expire``
        :returns: reservation uuids, to pass to commit or rollback
        :raises QuotaResourceUnknown: a resource is not registered or not reservable
        :raises OverQuota: a limit would be exceeded; nothing changed
        """
        check_require_context(check_context(context, "QuotaEngine.reserve"))
        self._known(deltas, reservable=True)
        request = self._request(context, check_deltas(deltas), project_id, user_id, expire)
        return await _reserve(context, request)

    async def commit(
        self, context: Context, reservations: Sequence[str], project_id: str | None = None, user_id: str | None = None
    ) -> None:
        """Apply reservations to the usages (each exactly once)."""
        optional_text(user_id, "user_id")
        await api.reservation_finish(context, self.service, reservations, project_id, commit=True)

    async def rollback(
        self, context: Context, reservations: Sequence[str], project_id: str | None = None, user_id: str | None = None
    ) -> None:
        """Drop reservations, giving back what they reserved."""
        optional_text(user_id, "user_id")
        await api.reservation_finish(context, self.service, reservations, project_id, commit=False)

    async def expire(self, context: Context) -> int:
        """Roll back every reservation past its expiry (admins only); return how many."""
        return await api.reservation_expire(context, self.service)

    async def usage_reset(self, context: Context, resources: Sequence[str]) -> None:
        """Mark usages of the caller's project (and user) for a refresh on the next reservation."""
        check_context(context, "QuotaEngine.usage_reset")
        for resource in names(resources, "resources"):
            try:
                await api.quota_usage_update(
                    context.elevated(),
                    self.service,
                    context.project_id or "",
                    context.user_id if self.service.per_user else None,
                    resource,
                    in_use=-1,
                )
            except errors.QuotaUsageNotFound:
                pass

    async def destroy_all_by_project(self, context: Context, project_id: str) -> None:
        """Soft-delete a project's limits, usages and reservations."""
        check_require_admin_context(check_context(context, "QuotaEngine.destroy_all_by_project"))
        await api.quota_destroy_all_by_project(context, self.service, project_id)

    async def count(self, context: Context, resource: str, *args: Any) -> int:
        """The count of a countable resource (key pairs ...)."""
        check_context(context, "QuotaEngine.count")
        self._known([text(resource, "resource")])
        counted = getattr(self._resources[resource], "counted", None)
        if counted is None:
            raise errors.QuotaResourceUnknown(unknown=[resource])
        return int(await counted(context, *args))


# Retried as a whole on deadlock or busy database, unless the caller owns the transaction.
_reserve = retry_on_deadlock(core.reserve)
