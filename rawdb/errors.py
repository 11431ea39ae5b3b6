"""One flat family of exceptions, with oslo.db's and OpenStack's names and meanings.

Every class formats its message from ``msg_fmt`` and the keyword arguments it was
given, which stay readable as attributes (``err.columns``, ``err.image_id``).
Errors translated from a driver keep the driver's exception as ``__cause__`` and
expose ``sqlstate`` (PostgreSQL) or ``errorname`` (SQLite) and the name of the
statement that failed.  Domain modules add their classes here, next to their kin.
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


# --- database errors (oslo.db) -------------------------------------------------------


class DBError(RawdbError):
    """The database rejected a statement; the driver error is ``__cause__``."""

    msg_fmt = "Database error."
    sqlstate: str | None = None
    errorname: str | None = None
    statement: str | None = None


class Duplicate(RawdbError):
    """The object already exists."""

    msg_fmt = "An object with the same identifier already exists."


class DBDuplicateEntry(DBError, Duplicate):
    """A unique constraint was violated; ``columns`` and ``value`` say which."""

    msg_fmt = "Duplicate entry for %(columns)s: %(value)s."

    def __init__(
        self,
        columns: list[str] | None = None,
        value: Any = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, columns=list(columns or []), value=value, **kwargs)


class DBReferenceError(DBError):
    """A foreign key was violated: the row refers to one that does not exist (or is still referred to)."""

    msg_fmt = "Foreign key violation on %(table)s (%(key)s refers to %(key_table)s)."

    def __init__(
        self,
        table: str | None = None,
        constraint: str | None = None,
        key: str | None = None,
        key_table: str | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, table=table, constraint=constraint, key=key, key_table=key_table, **kwargs)


class DBConstraintError(DBError):
    """A CHECK constraint was violated."""

    msg_fmt = "Check constraint %(check_name)s failed on %(table)s."

    def __init__(
        self,
        table: str | None = None,
        check_name: str | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, table=table, check_name=check_name, **kwargs)


class DBNotNullError(DBError):
    """A NOT NULL column was given no value."""

    msg_fmt = "Column %(column)s may not be NULL."

    def __init__(self, column: str | None = None, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, column=column, **kwargs)


class DBDeadlock(DBError):
    """A deadlock, serialization failure, lock timeout or busy database: re-run the whole transaction."""

    msg_fmt = "Deadlock or lock conflict; the transaction can be retried."


class DBConnectionError(DBError):
    """The connection to the database was lost or could not be made."""

    msg_fmt = "Connection to the database failed."


class PoolTimeout(DBConnectionError):
    """The pool couldn't provide a connection in acceptable time; raise pool_size or acquire_timeout."""

    msg_fmt = "The pool couldn't provide a connection within %(timeout)s s."


class DBDataError(DBError):
    """A value does not fit its column: too long, out of range or of the wrong type."""

    msg_fmt = "Invalid data for the database: %(detail)s."


class DBNonExistentTable(DBError):
    """The statement refers to a table that does not exist; bootstrap the schema."""

    msg_fmt = "Table %(table)s does not exist."

    def __init__(self, table: str | None = None, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, table=table, **kwargs)


class DBQueryTimeout(DBError):
    """The statement was cancelled by a timeout."""

    msg_fmt = "The statement timed out."


class DBReadOnlyTransaction(DBError):
    """A statement tried to write inside a reader scope; open ctx.writer() instead."""

    msg_fmt = "Cannot write in a read-only transaction; use a writer scope."


class DBInvalidTransaction(DBError):
    """A statement ran in a transaction that an earlier failure has aborted; end the scope."""

    msg_fmt = "The transaction was aborted by an earlier error; no statement can run until the scope ends."


class ScopeError(RawdbError, TypeError):
    """A transaction scope was used in a way its state or mode forbids."""

    msg_fmt = "Invalid use of a transaction scope."


class StatementError(RawdbError, LookupError):
    """A named SQL statement is unknown, or was called with the wrong parameters."""

    msg_fmt = "Invalid statement call."


class SQLLoadError(RawdbError):
    """A .sql file could not be loaded; the message names file:line."""

    msg_fmt = "Cannot load SQL statements."


class SchemaError(RawdbError):
    """The schema cannot be bootstrapped or does not match what rawdb expects."""

    msg_fmt = "Schema error."


# --- API errors (OpenStack) ------------------------------------------------------------


class NotFound(RawdbError):
    """The requested object does not exist (or is not visible to the caller)."""

    msg_fmt = "Resource could not be found."


class MarkerNotFound(NotFound):
    """The pagination marker does not exist or is not visible to the caller."""

    msg_fmt = "Marker %(marker)s could not be found."


class Invalid(RawdbError):
    """The input is not acceptable; nothing was changed."""

    msg_fmt = "Data supplied was not valid."


class InvalidSortKey(Invalid):
    """A sort key is not a sortable attribute."""

    msg_fmt = "Sort key supplied is invalid: %(key)s."


class InvalidSortDir(Invalid):
    """A sort direction is not one of the accepted ones."""

    msg_fmt = "Sort direction supplied is invalid: %(direction)s."


class NotAuthorized(RawdbError):
    """The caller is not authorized for this action."""

    msg_fmt = "Not authorized."


class AdminRequired(NotAuthorized):
    """The action needs an admin context."""

    msg_fmt = "User does not have admin privileges."


class Forbidden(RawdbError):
    """The caller may not perform this action on this object."""

    msg_fmt = "You are not authorized to complete this action."


class Conflict(RawdbError):
    """The object changed under the caller: its state is not the one the call expected."""

    msg_fmt = "There was a conflict when trying to complete your request."


# --- glance ----------------------------------------------------------------------------


class ImageNotFound(NotFound):
    """No image with this id (or it is deleted, and the caller cannot see deleted images)."""

    msg_fmt = "No image found with ID %(image_id)s."


class ImageMemberNotFound(NotFound):
    """No image membership with this id."""

    msg_fmt = "No image member found with ID %(member_id)s."


class ImagePropertyNotFound(NotFound):
    """The image has no property by this name."""

    msg_fmt = "No property %(name)s found for image %(image_id)s."


class ImageLocationNotFound(NotFound):
    """The image has no location with this id."""

    msg_fmt = "No location found with ID %(location_id)s from image %(image_id)s."


class ImageTagNotFound(NotFound):
    """The image has no live tag with this value."""

    msg_fmt = "Tag %(value)s not found for image %(image_id)s."


class ForbiddenPublicImage(Forbidden):
    """Only an admin or the owner may change a public or community image."""

    msg_fmt = "You are not authorized to complete this action."


# --- glance image cache ----------------------------------------------------------------


class BadDriverConfiguration(Invalid):
    """The image cache cannot work with its configuration (no directory, no node url, no tables)."""

    msg_fmt = "Driver %(driver_name)s could not be configured correctly. Reason: %(reason)s"


class NodeReferenceNotFound(NotFound):
    """No image cache node is registered with this url."""

    msg_fmt = "No node reference found with url %(node_reference_url)s."


class ImageNotCached(NotFound):
    """The image has no complete file in the cache."""

    msg_fmt = "Image %(image_id)s is not cached."


class ImageBeingCached(Conflict):
    """A live writer is caching this image now (a killed writer's file is taken over at once)."""

    msg_fmt = "Image %(image_id)s is already being cached."


class InvalidParameterValue(Invalid):
    """A filter or parameter value cannot be parsed."""

    msg_fmt = "Invalid value '%(value)s' for parameter '%(param)s': %(extra_msg)s."


class InvalidFilterOperatorValue(Invalid):
    """A filter names an operator that does not exist or does not apply to it."""

    msg_fmt = "Unable to filter using the specified operator."


class InvalidFilterRangeValue(Invalid):
    """A ``_min``/``_max`` filter value is not an integer."""

    msg_fmt = "Unable to filter using the specified range."


# --- quotas (nova and cinder) ------------------------------------------------------------


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
