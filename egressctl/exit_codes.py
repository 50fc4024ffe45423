"""The command line's exit codes, in one place (pipelines branch on them)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    STACK_NOT_FOUND = 2
    CHANGES_FOUND = 3  # drift, or changes where none were expected
    LOCKED = 75  # EX_TEMPFAIL: the stack is locked or another update runs; retry later
