"""``@reader``, ``@writer`` and ``@retry_on_deadlock`` for API functions taking a Context first.

Retries: ``@writer(retry=True)`` re-runs the whole scope on deadlocks; it cannot be placed
wrong.  ``@retry_on_deadlock`` above ``@writer`` does the same; under it, it could never
retry (the scope is open before it runs), so ``@writer`` refuses to wrap it.

An API function declares its mode; called with an unbound context it opens its own
scope, called with a bound one it joins the caller's transaction (a writer refuses to
join a reader).  Retries wrap the scope, never a statement::

    @writer(retry=True)
    async def quota_reserve(context: Context, ...) -> ...:
        ...   # `context` is bound here

Called inside a caller's scope, ``retry_on_deadlock`` does not retry: re-running a
fragment of someone else's transaction would be wrong, so the error goes to the owner
of the scope, whose own retry re-runs everything.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from rawdb import errors
from rawdb.context import Context

P = ParamSpec("P")
R = TypeVar("R")
ApiFunc = Callable[Concatenate[Context, P], Awaitable[R]]

log = logging.getLogger("rawdb")


def _names(fn: Callable[..., Any]) -> tuple[str, str]:
    """A traced scope's span name (``glance.images.image_get``) and the function's full name."""
    module = fn.__module__ or ""
    short = module.removeprefix("rawdb.")
    return f"{short}.{fn.__qualname__}" if short else fn.__qualname__, f"{module}.{fn.__qualname__}"


def _context_of(fn_name: str, args: tuple[Any, ...]) -> Context:
    if not args or not isinstance(args[0], Context):
        got = type(args[0]).__name__ if args else "nothing"
        raise errors.ScopeError(f"{fn_name}() takes a rawdb.Context as its first argument, got {got}")
    return args[0]


@overload
def reader(fn: ApiFunc[P, R], /) -> ApiFunc[P, R]: ...
@overload
def reader(*, replica: bool = False) -> Callable[[ApiFunc[P, R]], ApiFunc[P, R]]: ...


def reader(fn: Any = None, /, *, replica: bool = False) -> Any:
    """Run the function in a reader scope: the caller's, or one of its own.

    :param replica: when it opens its own scope, read from a replica if there is one
    """

    def decorate(fn: ApiFunc[P, R]) -> ApiFunc[P, R]:
        span_name, function = _names(fn)

        @functools.wraps(fn)
        async def run(*args: Any, **kwargs: Any) -> R:
            context = _context_of(fn.__name__, args)
            if context._tx is not None:
                return await fn(*args, **kwargs)
            async with context.reader(replica=replica) as tx:
                if tx._tx is not None and tx._tx.span is not None:
                    tx._tx.span.rename(span_name, function)
                return await fn(tx, *args[1:], **kwargs)

        return run

    return decorate(fn) if fn is not None else decorate


@overload
def writer(fn: ApiFunc[P, R], /) -> ApiFunc[P, R]: ...
@overload
def writer(
    *,
    retry: bool = False,
    max_retries: int | None = None,
    interval: float = 0.02,
    max_interval: float = 1.0,
    retry_on_disconnect: bool = False,
) -> Callable[[ApiFunc[P, R]], ApiFunc[P, R]]: ...


def writer(
    fn: Any = None,
    /,
    *,
    retry: bool = False,
    max_retries: int | None = None,
    interval: float = 0.02,
    max_interval: float = 1.0,
    retry_on_disconnect: bool = False,
) -> Any:
    """Run the function in a writer scope: the caller's, or one of its own that commits.

    :param retry: re-run the whole scope on deadlocks (as ``retry_on_deadlock`` with the
        other parameters) when the function opened it; joining a caller's scope, the
        caller's own retry re-runs everything
    :raises ScopeError: (when decorating) ``@retry_on_deadlock`` is under ``@writer``,
        where it could never retry; (when called) the context is bound to a reader scope
    """

    def decorate(fn: ApiFunc[P, R]) -> ApiFunc[P, R]:
        if getattr(fn, "__rawdb_retry__", False):
            raise errors.ScopeError(
                f"{fn.__name__}(): @retry_on_deadlock under @writer never retries (the writer's scope is "
                "already open when it runs); use @writer(retry=True), or put @retry_on_deadlock above @writer"
            )
        span_name, function = _names(fn)

        @functools.wraps(fn)
        async def run(*args: Any, **kwargs: Any) -> R:
            context = _context_of(fn.__name__, args)
            tx = context._tx
            if tx is not None:
                if tx.mode != "writer":
                    raise errors.ScopeError(
                        f"{fn.__name__}() writes, but was called inside a reader scope; a read-only "
                        "transaction cannot be upgraded: call it inside ctx.writer()"
                    )
                return await fn(*args, **kwargs)
            async with context.writer() as bound:
                if bound._tx is not None and bound._tx.span is not None:
                    bound._tx.span.rename(span_name, function)
                return await fn(bound, *args[1:], **kwargs)

        if not retry:
            return run
        return retry_on_deadlock(
            max_retries=max_retries,
            interval=interval,
            max_interval=max_interval,
            retry_on_disconnect=retry_on_disconnect,
        )(run)

    return decorate(fn) if fn is not None else decorate


RETRYABLE: tuple[type[errors.RawdbError], ...] = (errors.DBDeadlock,)


@overload
def retry_on_deadlock(fn: ApiFunc[P, R], /) -> ApiFunc[P, R]: ...
@overload
def retry_on_deadlock(
    *,
    max_retries: int | None = None,
    interval: float = 0.02,
    max_interval: float = 1.0,
    retry_on_disconnect: bool = False,
) -> Callable[[ApiFunc[P, R]], ApiFunc[P, R]]: ...


def retry_on_deadlock(
    fn: Any = None,
    /,
    *,
    max_retries: int | None = None,
    interval: float = 0.02,
    max_interval: float = 1.0,
    retry_on_disconnect: bool = False,
) -> Any:
    """Re-run the whole scope the function opens when it ends in a deadlock.

    Deadlocks, serialization failures, lock timeouts and SQLite busy errors all arrive as
    ``DBDeadlock``.  Each retry waits a random time up to ``interval * 2**attempt``
    (capped at ``max_interval``): full jitter, so colliding callers spread apart.

    :param max_retries: retries after the first attempt, then the error is raised; by
        default the database's ``deadlock_retries`` option (5; on a busy Galera cluster,
        where a conflict aborts instead of waiting, raise it)
    :param retry_on_disconnect: also retry on DBConnectionError (the pool reconnects)
    """
    retryable: tuple[type[errors.RawdbError], ...] = (
        (*RETRYABLE, errors.DBConnectionError) if retry_on_disconnect else RETRYABLE
    )

    def decorate(fn: ApiFunc[P, R]) -> ApiFunc[P, R]:
        function = _names(fn)[1]

        @functools.wraps(fn)
        async def run(*args: Any, **kwargs: Any) -> R:
            context = _context_of(fn.__name__, args)
            if context._tx is not None:
                return await fn(*args, **kwargs)  # a fragment: the scope's owner retries
            attempt = 0
            while True:
                try:
                    return await fn(*args, **kwargs)
                except retryable as exc:
                    limit = context.db.options["deadlock_retries"] if max_retries is None else max_retries
                    if attempt >= limit:
                        exc.add_note(f"{fn.__name__}() gave up after {attempt + 1} attempts")
                        raise
                    delay = random.uniform(0, min(max_interval, interval * 2**attempt))
                    log.info(
                        "%s: %s, retrying in %.3f s (attempt %d of %d)",
                        fn.__name__,
                        type(exc).__name__,
                        delay,
                        attempt + 2,
                        limit + 1,
                    )
                    attempt += 1
                    db = context.db
                    db.observer.retries += 1
                    if db.tracing is None:
                        await asyncio.sleep(delay)
                        continue
                    span = db.tracing.start_retry(function, attempt, exc)
                    try:
                        await asyncio.sleep(delay)
                    finally:
                        span.end()

        run.__rawdb_retry__ = True  # type: ignore[attr-defined]  # @writer refuses to wrap it
        return run

    return decorate(fn) if fn is not None else decorate
