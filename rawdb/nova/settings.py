"""nova's options that its DB layer reads, in one place, with upstream's defaults.

nova read them from its global ``CONF``; rawdb keeps them on one module-level object::

    from rawdb.nova import settings

    settings.configure(osapi_compute_unique_server_name_scope="project")

    with settings.overridden(instance_name_template="vm-%(uuid)s"):   # tests
        ...

===========================================  ====================  ===========================================
option                                       default               read by
===========================================  ====================  ===========================================
``osapi_compute_unique_server_name_scope``   ``''`` (no check)     ``instance_create``, ``instance_update``:
                                                                   ``'project'`` or ``'global'`` makes a live
                                                                   instance's hostname unique (any case)
``instance_name_template``                   ``'instance-%08x'``   every instance dict's ``name``: ``% id``,
                                                                   or ``% {columns}`` for ``%(uuid)s``-style
                                                                   templates (the uuid when a key is missing)
``enable_new_services``                      ``True``              ``service_create``: ``False`` creates
                                                                   services disabled
===========================================  ====================  ===========================================

Any other scope value turns the check off (upstream logged a warning and did the same).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rawdb.conventions.options import Options


@dataclasses.dataclass(slots=True)
class NovaSettings:
    """The values in force (module-level ``SETTINGS``)."""

    osapi_compute_unique_server_name_scope: str = ""
    instance_name_template: str = "instance-%08x"
    enable_new_services: bool = True


OPTIONS = Options("nova", NovaSettings())
SETTINGS = OPTIONS.values
configure = OPTIONS.configure
overridden = OPTIONS.overridden


def instance_name(row: dict[str, Any]) -> str:
    """An instance's ``name`` as nova's model computes it from ``instance_name_template``."""
    template = SETTINGS.instance_name_template
    try:
        return str(template % row["id"])
    except TypeError:  # a %(column)s template
        try:
            return str(template % {key: value for key, value in row.items() if key != "name"})
        except (KeyError, TypeError, ValueError):
            return str(row["uuid"])
    except ValueError:
        return str(row["uuid"])
