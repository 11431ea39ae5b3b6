"""Quota errors, shared by the nova and cinder schemas (``nova/exception.py``, ``cinder/exception.py``)."""

from __future__ import annotations

from typing import Any

from rawdb.errors._base import Duplicate, Invalid, NotFound, RawdbError


class QuotaError(RawdbError):
    """A quota refused the request."""

    msg_fmt = "Quota exceeded: code=%(code)s."


class OverQuota(QuotaError):
    """The request would exceed a quota; ``overs`` names the resources, ``usages`` their state."""

    msg_fmt = "Quota exceeded for resources: %(overs)s."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("overs", [])
        kwargs.setdefault("quotas", {})
        kwargs.setdefault("usages", {})
        super().__init__(message, **kwargs)


class QuotaUsageOverflow(QuotaError):
    """A usage would exceed the largest value its column holds."""

    msg_fmt = "Quota usage for %(overs)s would exceed %(max_int)s."


class QuotaNotFound(NotFound):
    """The quota could not be found."""

    msg_fmt = "Quota could not be found."


class ProjectQuotaNotFound(QuotaNotFound):
    """The project has no quota for this resource."""

    msg_fmt = "Quota for project %(project_id)s could not be found."


class ProjectUserQuotaNotFound(QuotaNotFound):
    """The user of the project has no quota for this resource."""

    msg_fmt = "Quota for user %(user_id)s in project %(project_id)s could not be found."


class QuotaClassNotFound(QuotaNotFound):
    """No quota class of this name has this resource."""

    msg_fmt = "Quota class %(class_name)s could not be found."


class QuotaUsageNotFound(QuotaNotFound):
    """The project has no usage row for this resource."""

    msg_fmt = "Quota usage for project %(project_id)s could not be found."


class ReservationNotFound(QuotaNotFound):
    """No live reservation has this uuid."""

    msg_fmt = "Quota reservation %(uuid)s could not be found."


class QuotaExists(Duplicate):
    """The project (or user) already has a quota for this resource."""

    msg_fmt = "Quota exists for project %(project_id)s, resource %(resource)s."


class QuotaResourceUnknown(QuotaNotFound):
    """A resource is not registered with the quota engine (or cannot be reserved)."""

    msg_fmt = "Unknown quota resources %(unknown)s."


class InvalidReservationExpiration(Invalid):
    """A reservation expiry is neither seconds, a timedelta nor a datetime."""

    msg_fmt = "Invalid reservation expiration %(expire)s."


class InvalidQuotaValue(Invalid):
    """A value checked against a quota is negative."""

    msg_fmt = "Change would make usage less than 0 for the following resources: %(unders)s."
