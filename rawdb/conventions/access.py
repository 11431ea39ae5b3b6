"""Who may call, and which rows a caller sees: upstream's authorization helpers and ``project_only``.

nova's and cinder's DB layers check the caller with decorators and helpers (spec B.2):
``require_context`` lets admins and user contexts in, ``require_admin_context`` only
admins; ``authorize_*_context`` stop a user context from reaching another project's
(user's, quota class's) rows.  ``project_only`` restricts what a *user* context reads to
its project; admins see everything.  Hand-written statements spell it with the macro
``PROJECT_ONLY(column)`` (parameters ``:project_only_all``, ``:project_only`` and
``:project_only_allow_none``, from ``project_only()``); dynamic ones take ``project_only_criterion``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from pypika.terms import Criterion, Term

from rawdb import errors
from rawdb.context import Context
from rawdb.queries import Param

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _context(call: str, context: Any) -> Context:
    if not isinstance(context, Context):
        raise errors.ScopeError(f"{call}() takes a rawdb.Context as its first argument, got {type(context).__name__}")
    return context


def is_user_context(context: Context) -> bool:
    """A non-admin acting as a user in a project (both ids set)."""
    return not context.is_admin and bool(context.user_id) and bool(context.project_id)


def is_admin_context(context: Context) -> bool:
    """Whether the context is an admin's."""
    return bool(_context("is_admin_context", context).is_admin)


def require_context(fn: F) -> F:
    """Let admins and user contexts call ``fn``; anyone else gets NotAuthorized."""

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        check_require_context(_context(fn.__name__, args[0] if args else None))
        return await fn(*args, **kwargs)

    return cast(F, run)


def require_admin_context(fn: F) -> F:
    """Let only admins call ``fn``; anyone else gets AdminRequired (a NotAuthorized)."""

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        check_require_admin_context(_context(fn.__name__, args[0] if args else None))
        return await fn(*args, **kwargs)

    return cast(F, run)


def check_require_context(context: Context) -> None:
    """What ``@require_context`` checks, for code that decides at run time.

    :raises NotAuthorized: neither an admin nor a user context
    """
    if not context.is_admin and not is_user_context(context):
        raise errors.NotAuthorized()


def check_require_admin_context(context: Context) -> None:
    """What ``@require_admin_context`` checks.

    :raises AdminRequired: not an admin
    """
    if not context.is_admin:
        raise errors.AdminRequired()


def authorize_project_context(context: Context, project_id: Any) -> None:
    """A user context may only reach its own project.

    :raises NotAuthorized: a user context asking for another project
    """
    if is_user_context(context) and project_id != context.project_id:
        raise errors.NotAuthorized()


def authorize_user_context(context: Context, user_id: Any) -> None:
    """A user context may only reach its own user's rows.

    :raises NotAuthorized: a user context asking for another user
    """
    if is_user_context(context) and user_id != context.user_id:
        raise errors.NotAuthorized()


def authorize_quota_class_context(context: Context, class_name: Any) -> None:
    """A user context may only reach its own quota class.

    :raises NotAuthorized: a user context asking for another class (or having none)
    """
    if is_user_context(context) and (not context.quota_class or class_name != context.quota_class):
        raise errors.NotAuthorized()


PROJECT_ONLY_MODES = (False, True, "allow_none")


def project_only(context: Context, mode: Any = True) -> dict[str, Any]:
    """The parameters of ``PROJECT_ONLY(column)`` for this caller.

    :param mode: ``True`` (the caller's project only), ``'allow_none'`` (also rows without
        a project) or ``False`` (no restriction); it applies to user contexts only
    :raises Invalid: another mode
    """
    if mode not in PROJECT_ONLY_MODES or (mode is not False and not isinstance(mode, (bool, str))):
        raise errors.Invalid(f"project_only must be True, False or 'allow_none', not {mode!r:.80}")
    applies = mode is not False and is_user_context(context)
    return {
        "project_only_all": not applies,
        "project_only": context.project_id if applies else None,
        "project_only_allow_none": applies and mode == "allow_none",
    }


def project_only_sql(column: str) -> str:
    """``PROJECT_ONLY(column)``: the rows ``project_only()``'s parameters let through.

    (Every parameter is typed by where it stands: PostgreSQL cannot type ``$1 IS NULL``.)
    """
    return f"(:project_only_all OR {column} = :project_only OR (:project_only_allow_none AND {column} IS NULL))"


def project_only_criterion(column: Term, context: Context, mode: Any = True) -> Criterion | None:
    """``project_only`` for a dynamic query (its shape depends on the context and mode).

    The project id itself is the bound parameter ``project_only``.

    :returns: the criterion, or None when nothing is restricted
    """
    params = project_only(context, mode)
    if params["project_only_all"]:
        return None
    restricted: Criterion = column == Param("project_only")
    if params["project_only_allow_none"]:
        restricted = restricted | column.isnull()
    return restricted
