"""cinder's options that its DB layer reads, in one place, with upstream's defaults.

cinder read them from its global ``FLAGS``; rawdb keeps them on one module-level object::

    from rawdb.cinder import settings

    settings.configure(volume_topic="cinder-volume-ssd")

    with settings.overridden(enable_new_services=False):   # tests
        ...

=========================  ===================  ================================================
option                     default              read by
=========================  ===================  ================================================
``volume_topic``           ``'cinder-volume'``  ``service_get_all_volume_sorted``: the services
                                                whose volume gigabytes it sums
``enable_new_services``    ``True``             ``service_create``: ``False`` creates services
                                                disabled
=========================  ===================  ================================================
"""

from __future__ import annotations

import dataclasses

from rawdb.conventions.options import Options


@dataclasses.dataclass(slots=True)
class CinderSettings:
    """The values in force (module-level ``SETTINGS``)."""

    volume_topic: str = "cinder-volume"
    enable_new_services: bool = True


OPTIONS = Options("cinder", CinderSettings())
SETTINGS = OPTIONS.values
configure = OPTIONS.configure
overridden = OPTIONS.overridden
