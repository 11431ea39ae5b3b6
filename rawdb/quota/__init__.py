"""The quota and reservation engine shared by the nova and cinder schemas.

``rawdb.nova.quotas`` and ``rawdb.cinder.quotas`` hold each service's DB API functions;
``QuotaEngine`` is what services call (like ``nova.quota.QUOTAS``).
"""

from rawdb.quota.core import CINDER, NOVA, Service
from rawdb.quota.engine import QuotaEngine
from rawdb.quota.resources import AbsoluteResource, BaseResource, CountableResource, ReservableResource

__all__ = [
    "CINDER",
    "NOVA",
    "AbsoluteResource",
    "BaseResource",
    "CountableResource",
    "QuotaEngine",
    "ReservableResource",
    "Service",
]
