"""What the ``rawdb`` commands share: exit codes, the errors that pick them, and confirmation.

A command raises :class:`UsageError` for options that cannot work together (exit 2, with the
command's usage line) and :class:`NotThere` when what it was pointed at does not exist or is
not set up (exit 4); ``rawdb.cli.main`` turns every other error into its exit code.
"""

from __future__ import annotations

import enum
import sys
from typing import TextIO


class Exit(enum.IntEnum):
    """The ``rawdb`` command's exit codes (README, "Exit codes")."""

    OK = 0
    FAILED = 1  # a database error, an input refused, a declined confirmation, a bench --check problem
    USAGE = 2  # bad or missing options (argparse's own code for them)
    DRIFT = 3  # `schema check`: the live schema differs from the schema files
    NOT_THERE = 4  # no database file, schema not bootstrapped, no cache directory or node
    CANNOT_CONNECT = 5  # the database cannot be reached or opened
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  # the reader of the output went away (`| head`), as 128 + SIGPIPE


class UsageError(Exception):
    """The options given cannot work; the message says which ones to give instead."""


class NotThere(Exception):
    """What the command was pointed at does not exist or is not set up; nothing was created."""


def confirm(question: str, *, force: bool, refusal: str, stdin: TextIO | None = None) -> bool:
    """Ask ``question [y/N]`` on the terminal unless ``force``; True to go ahead.

    :param refusal: the UsageError message when there is no terminal to ask on
    :raises UsageError: standard input is not a terminal and ``force`` is not given
    """
    if force:
        return True
    stream = sys.stdin if stdin is None else stdin
    if stream is None or not stream.isatty():
        raise UsageError(refusal)
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = stream.readline()
    return answer.strip().lower() in ("y", "yes")
