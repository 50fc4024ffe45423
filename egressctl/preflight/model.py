"""What a preflight check reports: its status, the evidence it saw and the fix, and the report
of a whole run (a table for people, a JSON document for pipelines)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from egressctl.exit_codes import ExitCode


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a status, not a password
    WARN = "WARN"  # it works, but something deserves a look before the change window
    FAIL = "FAIL"  # `pulumi up` would fail or build something that does not work


class System(StrEnum):
    NSX = "nsx"
    SUPERVISOR = "supervisor"
    GUEST = "guest"


@dataclass(frozen=True)
class Outcome:
    """What one check found: `evidence` is what it saw, `fix` what to do when it is not PASS."""

    status: Status
    evidence: str
    fix: str = ""


def passed(evidence: str) -> Outcome:
    return Outcome(Status.PASS, evidence)


def warned(evidence: str, fix: str) -> Outcome:
    return Outcome(Status.WARN, evidence, fix)


def failed(evidence: str, fix: str) -> Outcome:
    return Outcome(Status.FAIL, evidence, fix)


def worst(outcomes: list[Outcome], evidence_joiner: str = "\n") -> Outcome:
    """Several findings of one check as one outcome: the worst status, every finding said."""
    order = (Status.PASS, Status.WARN, Status.FAIL)
    status = max((o.status for o in outcomes), key=order.index, default=Status.PASS)
    return Outcome(
        status,
        evidence_joiner.join(o.evidence for o in outcomes),
        " ".join(dict.fromkeys(o.fix for o in outcomes if o.fix)),
    )


class NotCheckedError(Exception):
    """A check could not run because something it needs is missing; the message says what."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.fix = fix


@dataclass(frozen=True)
class Check:
    """One row of the check table. `run` takes the run's context (`PreflightContext`);
    `waits_for`, when given, says why the check cannot apply yet (the cluster does not exist,
    say), or None when it applies."""

    id: str
    system: System
    title: str
    run: Callable[[Any], Outcome]
    waits_for: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class Waiting:
    """A check that does not apply yet, and why."""

    id: str
    title: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "reason": self.reason}


@dataclass(frozen=True)
class CheckResult:
    id: str
    system: System
    title: str
    outcome: Outcome

    @property
    def status(self) -> Status:
        return self.outcome.status

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "system": self.system.value,
            "title": self.title,
            "status": self.status.value,
            "evidence": self.outcome.evidence,
            "fix": self.outcome.fix,
        }


@dataclass(frozen=True)
class PreflightReport:
    stack: str
    results: list[CheckResult] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        failed_any = any(r.status == Status.FAIL for r in self.results)
        return ExitCode.FAILURE if failed_any else ExitCode.OK

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "passed": self.exit_code == ExitCode.OK,
            "summary": {status.value: self.count(status) for status in Status},
            "checks": [result.to_json() for result in self.results],
            "not_yet_applicable": [check.to_json() for check in self.waiting],
        }
