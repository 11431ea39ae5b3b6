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

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from rawdb import errors


@dataclasses.dataclass(slots=True)
class NovaSettings:
    """The values in force (module-level ``SETTINGS``)."""

    osapi_compute_unique_server_name_scope: str = ""
    instance_name_template: str = "instance-%08x"
    enable_new_services: bool = True


SETTINGS = NovaSettings()
_DEFAULTS = NovaSettings()
_NAMES = frozenset(field.name for field in dataclasses.fields(NovaSettings))


def configure(**options: Any) -> None:
    """Set options by name.

    :raises Invalid: an unknown option, or a value not of the option's type (str or bool)
    """
    for name, value in options.items():
        if name not in _NAMES:
            raise errors.Invalid(f"unknown nova option {name!r}; known: {', '.join(sorted(_NAMES))}")
        wanted = type(getattr(_DEFAULTS, name))
        if type(value) is not wanted:
            raise errors.Invalid(f"nova option {name} must be a {wanted.__name__}, not {type(value).__name__}")
    for name, value in options.items():
        setattr(SETTINGS, name, value)


@contextlib.contextmanager
def overridden(**options: Any) -> Iterator[NovaSettings]:
    """Set options for the duration of a ``with`` block, then restore them."""
    saved = dataclasses.replace(SETTINGS)
    configure(**options)
    try:
        yield SETTINGS
    finally:
        for name in _NAMES:
            setattr(SETTINGS, name, getattr(saved, name))


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
