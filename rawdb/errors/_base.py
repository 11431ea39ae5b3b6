"""The root of the family and the roots OpenStack's services share (nova's, cinder's and glance's ``exception.py``).

``RawdbError`` plays ``NovaException``/``CinderException``; every other error derives from it, most of them through
one of the roots here: ``NotFound``, ``Invalid``, ``Duplicate``, ``Conflict``, ``NotAuthorized``, ``Forbidden``,
``ConstraintNotMet``.  The few API errors every service raises alike (markers, sort keys, uuids) live here too.
"""

from __future__ import annotations

from typing import Any


class RawdbError(Exception):
    """Base of every error rawdb raises."""

    msg_fmt = "An unknown error occurred."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        for key, value in kwargs.items():
            setattr(self, key, value)
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError, ValueError):
                message = self.msg_fmt
        self.msg = message
        super().__init__(message)


# --- the roots ---------------------------------------------------------------------------


class NotFound(RawdbError):
    """The requested object does not exist (or is not visible to the caller)."""

    msg_fmt = "Resource could not be found."


class Invalid(RawdbError):
    """The input is not acceptable; nothing was changed."""

    msg_fmt = "Data supplied was not valid."


class InvalidReadDeleted(Invalid, ValueError):
    """read_deleted is none of 'no', 'yes' and 'only' (a ValueError too, as Newton raises)."""

    msg_fmt = "read_deleted can only be one of 'no', 'yes' or 'only', not %(value)r."


class Duplicate(RawdbError):
    """The object already exists."""

    msg_fmt = "An object with the same identifier already exists."


class Conflict(RawdbError):
    """The object changed under the caller: its state is not the one the call expected."""

    msg_fmt = "There was a conflict when trying to complete your request."


class NotAuthorized(RawdbError):
    """The caller is not authorized for this action."""

    msg_fmt = "Not authorized."


class AdminRequired(NotAuthorized):
    """The action needs an admin context."""

    msg_fmt = "User does not have admin privileges."


class Forbidden(RawdbError):
    """The caller may not perform this action on this object."""

    msg_fmt = "You are not authorized to complete this action."


class ConstraintNotMet(RawdbError):
    """The row no longer meets the ``constraint()`` the call was given; nothing was changed (HTTP 412)."""

    msg_fmt = "Constraint not met."


# --- API errors every service raises alike -----------------------------------------------


class MarkerNotFound(NotFound):
    """The pagination marker does not exist or is not visible to the caller."""

    msg_fmt = "Marker %(marker)s could not be found."


class InvalidSortKey(Invalid):
    """A sort key is not a sortable attribute."""

    msg_fmt = "Sort key supplied is invalid: %(key)s."


class InvalidSortDir(Invalid):
    """A sort direction is not one of the accepted ones."""

    msg_fmt = "Sort direction supplied is invalid: %(direction)s."


class InvalidInput(Invalid):
    """An argument is malformed or inconsistent (sort directions, filters); ``reason`` says how."""

    msg_fmt = "Invalid input received: %(reason)s"


class InvalidUUID(Invalid):
    """A value that must be a uuid is not one."""

    msg_fmt = "Expected a uuid but received %(uuid)s."
