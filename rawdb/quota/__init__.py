"""The quota and reservation engine shared by the nova and cinder schemas.

``rawdb.nova.quotas`` and ``rawdb.cinder.quotas`` hold each service's DB API functions;
``QuotaEngine`` is what services call (like ``nova.quota.QUOTAS``).  Public modules
(``MODULES``): ``api`` (the functions both services share), ``core`` (the reserve and
finish machinery, ``Service``), ``engine``, ``resources`` and ``audit`` (quota check and
sync); private helpers start with ``_``.  The engine runs the statements of
``sql/<service>/quota*.sql`` for each service.
"""

from rawdb.quota.core import CINDER, NOVA, Service
from rawdb.quota.engine import QuotaEngine
from rawdb.quota.resources import AbsoluteResource, BaseResource, CountableResource, ReservableResource

MODULES = ("api", "audit", "core", "engine", "resources")

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
