"""A service's options that its DB layer reads (nova's and cinder's ``CONF``), in one object.

A service's ``settings`` module declares a dataclass of options with upstream's defaults and
wraps it in ``Options``; callers set them by name, tests override them for a block::

    OPTIONS = Options("cinder", CinderSettings())
    SETTINGS = OPTIONS.values            # read by the domain modules at call time
    configure, overridden = OPTIONS.configure, OPTIONS.overridden
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from rawdb import errors

T = TypeVar("T")


class Options(Generic[T]):
    """The options in force (``values``), set by name and checked against the defaults' types."""

    def __init__(self, service: str, values: T) -> None:
        self.service = service
        self.values = values
        self._defaults = dataclasses.replace(values)  # type: ignore[type-var]
        self._names = frozenset(field.name for field in dataclasses.fields(values))  # type: ignore[arg-type]

    def configure(self, **options: Any) -> None:
        """Set options by name; nothing is set unless every one is valid.

        :raises Invalid: an unknown option, or a value not of the option's type (str, bool, …)
        """
        for name, value in options.items():
            if name not in self._names:
                known = ", ".join(sorted(self._names))
                raise errors.Invalid(f"unknown {self.service} option {name!r}; known: {known}")
            wanted = type(getattr(self._defaults, name))
            if type(value) is not wanted:
                raise errors.Invalid(
                    f"{self.service} option {name} must be a {wanted.__name__}, not {type(value).__name__}"
                )
        for name, value in options.items():
            setattr(self.values, name, value)

    @contextlib.contextmanager
    def overridden(self, **options: Any) -> Iterator[T]:
        """Set options for the duration of a ``with`` block, then restore them."""
        saved = dataclasses.replace(self.values)  # type: ignore[type-var]
        self.configure(**options)
        try:
            yield self.values
        finally:
            for name in self._names:
                setattr(self.values, name, getattr(saved, name))
