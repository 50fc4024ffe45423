"""What the engine's events say an operation did: each resource's step, and the summary.

The steps of a replacement (one URN, several steps) are reported as one `replace`; a
refresh's outcome (same/update/delete) replaces its `refresh` step when asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, TypeAlias

from pulumi import automation as auto

# Ops that change nothing. "refresh" is the engine announcing a refresh step, whose outcome
# arrives later as same/update/delete; "read" only reads an existing resource (Resource.get).
_NO_CHANGE_OPS = frozenset({"same", "refresh", "read"})
# The steps of one replacement (one URN): reported together as "replace", whatever their order
# (create-before-delete: create-replacement, replace, ... delete-replaced at the very end;
# delete-before-replace: delete-replaced, replace, create-replacement).
_REPLACE = "replace"
_REPLACEMENT_OPS = frozenset(
    {_REPLACE, "create-replacement", "delete-replaced", "discard-replaced", "import-replacement"}
)


@dataclass(frozen=True)
class ResourceChange:
    """One resource's step as the engine reported it (op as the engine names it: create,
    update, ...; the steps of a replacement together as `replace`)."""

    op: str
    urn: str
    type: str
    name: str
    diffs: list[str] = field(default_factory=list)

    def describe(self) -> str:
        detail = f" ({', '.join(self.diffs)})" if self.diffs else ""
        return f"{self.op} {self.type} {self.name}{detail}"


Summary: TypeAlias = dict[str, int]  # op -> count


class EventCollector:
    """`on_event` callback: the resource steps and the summary, from the engine's events.

    Must never raise: the SDK's event-log reader thread dies on an exception.

    `refresh_outcomes`: report what a refresh found (for `refresh`). Otherwise, as for
    `preview --refresh` (drift), the refresh steps are background and only the steps that
    follow them count: what the program would change.
    """

    def __init__(self, *, refresh_outcomes: bool = False) -> None:
        self._lock = threading.Lock()
        self._steps: dict[str, ResourceChange] = {}
        self._refresh_outcomes = refresh_outcomes
        self.summary: Summary = {}

    def __call__(self, event: auto.EngineEvent) -> None:
        with self._lock:
            if event.resource_pre_event is not None:
                self._record(event.resource_pre_event.metadata)
            elif event.res_outputs_event is not None:
                self._record_outcome(event.res_outputs_event.metadata)
            elif event.summary_event is not None:
                self.summary = counts(event.summary_event.resource_changes)

    def _record(self, metadata: auto.StepEventMetadata) -> None:
        step = _step(metadata)
        known = self._steps.get(step.urn)
        if known is not None and _REPLACE in {_replacement(known.op), _replacement(step.op)}:
            # One replacement, in whatever order its steps came: one `replace`.
            diffs = [*known.diffs, *(name for name in step.diffs if name not in known.diffs)]
            self._steps[step.urn] = replace(known, op=_REPLACE, diffs=diffs)
        elif known is None or not is_change(known.op) or is_change(step.op):
            # A resource can have several steps (refresh, then preview): keep the one that
            # changes something.
            self._steps[step.urn] = replace(step, op=_replacement(step.op))

    def _record_outcome(self, metadata: auto.StepEventMetadata) -> None:
        if not self._refresh_outcomes:
            return
        known = self._steps.get(metadata.urn)
        # Only a refresh step's outcome is news: same, update (drifted) or delete (gone).
        if known is not None and known.op == "refresh":
            self._steps[metadata.urn] = _step(metadata)

    @property
    def changes(self) -> list[ResourceChange]:
        with self._lock:
            return [step for step in self._steps.values() if is_change(step.op)]


def _step(metadata: auto.StepEventMetadata) -> ResourceChange:
    return ResourceChange(
        op=op_name(metadata.op),
        urn=metadata.urn,
        type=metadata.type,
        name=metadata.urn.rsplit("::", 1)[-1],
        diffs=list(metadata.diffs or []),
    )


def op_name(op: Any) -> str:
    # OpType is a (str, Enum): str() of it is "OpType.SAME", its value is "same".
    return str(op.value) if isinstance(op, Enum) else str(op)


def is_change(op: str) -> bool:
    return op not in _NO_CHANGE_OPS


def _replacement(op: str) -> str:
    """`replace` for every step of a replacement, else the op itself."""
    return _REPLACE if op in _REPLACEMENT_OPS else op


def counts(op_map: Mapping[Any, int] | None) -> Summary:
    return {op_name(op): int(count) for op, count in (op_map or {}).items()}
