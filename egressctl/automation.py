"""Run the project's own stacks through the Pulumi Automation API.

One program, one project: every operation runs the `Pulumi.yaml` project in `work_dir` (a
LocalWorkspace on a local program), exactly as `pulumi` on the command line would. A stack is
only ever *selected*; a missing stack is reported (exit 2), never created, so a typo cannot
bring up an empty `prod`.

The Automation API shells out to the `pulumi` CLI. What we rely on from it:

* Errors are classified by the SDK from the CLI's stderr (`pulumi.automation.errors`):
  `StackNotFoundError` ("no stack named ... found"), `ConcurrentUpdateError` (Pulumi Cloud's
  "[409] Conflict" or a DIY backend's "the stack is currently locked by"), else `CommandError`.
* Structured progress arrives through `on_event` (engine events over gRPC on CLI > 3.205, an
  `--event-log` file before). A resource's step is its `resource_pre_event`; for refresh steps
  the engine reports the outcome (same/update/delete) in the matching `res_outputs_event`.

The CLI calls per operation (SDK 3.272, as tests/egressctl/test_automation.py records them);
each but the first starts with `--non-interactive` and runs in `work_dir`:

    every operation  pulumi version; pulumi stack select --stack S
    preview          pulumi preview --diff --color never --exec-kind auto.local --event-log E
                     --stack S (the flags below elided as `...` are these same four)
    up               pulumi up --yes --skip-preview --diff ... ; then `stack output --json`, the
                     same with `--show-secrets` (the SDK always fetches UpResult.outputs, which we
                     discard) and `stack history --json --page-size 1 --page 1`
    refresh          pulumi refresh --skip-preview --yes --diff ... ; then `stack history ...`
    destroy          pulumi destroy --skip-preview --yes --diff ... ; then `stack history ...`
    drift            pulumi preview --expect-no-changes --diff --refresh ...

Secrets: nothing this module prints or puts into an `OperationResult` carries a secret value.
The human message on failure is the tail of the CLI's stderr, where the CLI never prints
secret values; `up`, `refresh` and `destroy` read their summary with `show_secrets=False`.
`stack_outputs` is the one exception, by design (see its docstring).
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, TypeAlias

from pulumi import automation as auto

from egressctl.exit_codes import ExitCode
from egressctl.project import PROJECT_DIR

_INSTALL_HINT = (
    "Install the Pulumi CLI (https://www.pulumi.com/docs/install/, e.g. "
    "`curl -fsSL https://get.pulumi.com | sh`), then run `pulumi install` in the project "
    "directory to set up its virtualenv and the NSX-T SDK."
)
_SKIP_VERSION_CHECK = "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK"
# Defaults for the CLI's environment; `env` overrides them. A pipeline should not stop to
# check for a newer CLI (a network call and a nag on every run).
_DEFAULT_ENV = {"PULUMI_SKIP_UPDATE_CHECK": "true"}

# Ops that change nothing. "refresh" is the engine announcing a refresh step, whose outcome
# arrives later as same/update/delete; "read" only reads an existing resource (Resource.get).
_NO_CHANGE_OPS = frozenset({"same", "refresh", "read"})
# The CLI's error for `--expect-no-changes`, in all its wordings: "no changes were expected
# but changes were proposed" (preview), "... but changes occurred" (up, refresh), "no changes
# were expected for <op> but ..." (newer CLIs, which also exit with 7 rather than 255).
_EXPECT_NO_CHANGES = re.compile(r"no changes were expected")
_STDERR_TAIL_LINES = 3
_MESSAGE_LIMIT = 600
_DRIFT_LISTED = 10


class Operation(StrEnum):
    PREVIEW = "preview"
    UP = "up"
    REFRESH = "refresh"
    DESTROY = "destroy"
    DRIFT = "drift"


@dataclass(frozen=True)
class ResourceChange:
    """One resource step the engine reported (op as the engine names it: create, update, ...)."""

    op: str
    urn: str
    type: str
    name: str
    diffs: list[str] = field(default_factory=list)

    def describe(self) -> str:
        detail = f" ({', '.join(self.diffs)})" if self.diffs else ""
        return f"{self.op} {self.type} {self.name}{detail}"


@dataclass(frozen=True)
class OperationResult:
    operation: Operation
    stack: str
    exit_code: ExitCode
    changes: list[ResourceChange]
    summary: dict[str, int]
    message: str

    @property
    def ok(self) -> bool:
        return self.exit_code is ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary (`--json`): plain JSON types, no secret values."""
        return {
            "operation": self.operation.value,
            "stack": self.stack,
            "exit_code": int(self.exit_code),
            "status": self.exit_code.name.lower(),
            "message": self.message,
            "summary": dict(self.summary),
            "changes": [asdict(change) for change in self.changes],
        }


class PulumiNotInstalledError(Exception):
    """No usable `pulumi` CLI: not found, not executable or older than the SDK supports."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}. {_INSTALL_HINT}")


def run_operation(
    operation: Operation,
    stack: str,
    *,
    work_dir: Path = PROJECT_DIR,
    on_output: Callable[[str], None] = print,
    env: Mapping[str, str] | None = None,
    pulumi_command: str | None = None,
) -> OperationResult:
    """Run `operation` on the existing stack `stack` of the project in `work_dir`.

    The CLI's output (stdout and stderr, with `--diff` and without colour) streams through
    `on_output` line by line. The result maps the outcome to an exit code: OK, STACK_NOT_FOUND,
    LOCKED (another update runs or a DIY lock is held), CHANGES_FOUND (drift) or FAILURE.

    `env` adds environment for the CLI (backend URL, passphrase, credentials); `pulumi_command`
    names the `pulumi` executable (default: the one on PATH). Raises PulumiNotInstalledError
    when there is no usable CLI.
    """
    operation = Operation(operation)
    command = _pulumi_command(pulumi_command, env)
    run = _Run(operation, stack, _EventCollector())
    try:
        selected = _select(stack, work_dir, env, command)
        summary = _RUNNERS[operation](selected, run.collector, on_output)
    except auto.StackNotFoundError:
        return run.result(ExitCode.STACK_NOT_FOUND, _no_stack(stack))
    except auto.ConcurrentUpdateError as error:
        return run.result(ExitCode.LOCKED, _locked(stack, error))
    except auto.CommandError as error:
        return run.failed(error)
    except RuntimeError as error:
        # The SDK's own complaint (not the CLI's), e.g. "summary event never found" when the
        # CLI exits 0 without a preview summary: the run cannot be trusted.
        return run.result(ExitCode.FAILURE, f"{operation.value} of stack '{stack}' failed: {error}")
    return run.finished(summary)


def stack_outputs(
    stack: str,
    *,
    work_dir: Path = PROJECT_DIR,
    env: Mapping[str, str] | None = None,
    pulumi_command: str | None = None,
) -> dict[str, Any] | None:
    """The deployed stack's outputs by name, **with secret values revealed**.

    For `verify` and `report`, which need the real values (a kubeconfig, an NSX password). The
    caller owns them from here: never print or log the result wholesale. None when the stack
    has never been deployed (it has no outputs). Raises the SDK's `StackNotFoundError`,
    `ConcurrentUpdateError` or `CommandError` (see `exit_code_for`) and PulumiNotInstalledError.
    """
    command = _pulumi_command(pulumi_command, env)
    outputs = _select(stack, work_dir, env, command).outputs()
    if not outputs:
        return None
    return {name: output.value for name, output in outputs.items()}


def exit_code_for(error: auto.CommandError) -> ExitCode:
    """The exit code for an error the SDK raised (e.g. from `stack_outputs`)."""
    if isinstance(error, auto.StackNotFoundError):
        return ExitCode.STACK_NOT_FOUND
    if isinstance(error, auto.ConcurrentUpdateError):
        return ExitCode.LOCKED
    return ExitCode.FAILURE


# --- the CLI and the stack ----------------------------------------------------------------


def _pulumi_command(
    pulumi_command: str | None, env: Mapping[str, str] | None
) -> auto.PulumiCommand:
    """The CLI, found and version-checked once, so its absence is one clear error.

    Built here rather than by LocalWorkspace because FileNotFoundError also means a missing
    work_dir later on; only this call's means "no CLI".
    """
    root = _install_root(Path(pulumi_command)) if pulumi_command is not None else None
    # The same opt-out LocalWorkspace honours; PulumiCommand itself also reads os.environ.
    skip = env is not None and _SKIP_VERSION_CHECK in env
    where = f"the Pulumi CLI at {pulumi_command}" if pulumi_command else "the `pulumi` CLI"
    try:
        return auto.PulumiCommand(root=root, skip_version_check=skip)
    except FileNotFoundError as error:
        raise PulumiNotInstalledError(f"{where} was not found ({error.strerror})") from error
    except (OSError, subprocess.CalledProcessError) as error:
        raise PulumiNotInstalledError(f"{where} cannot be run ({error})") from error
    except auto.InvalidVersionError as error:
        raise PulumiNotInstalledError(f"{where} is not usable: {error}") from error


def _install_root(executable: Path) -> str:
    """The installation root PulumiCommand wants: it always runs `<root>/bin/pulumi`.

    Accepts the executable itself (`~/.pulumi/bin/pulumi`, the installer's layout) or the
    root directory. Absolute, because the CLI runs with the project as its cwd.
    """
    executable = executable.expanduser().absolute()
    if executable.is_dir():
        return str(executable)
    if executable.name != "pulumi" or executable.parent.name != "bin":
        raise ValueError(
            f"pulumi_command must be a `pulumi` executable in a `bin` directory "
            f"(e.g. ~/.pulumi/bin/pulumi) or an installation root, got {executable}"
        )
    return str(executable.parent.parent)


def _select(
    stack: str, work_dir: Path, env: Mapping[str, str] | None, command: auto.PulumiCommand
) -> auto.Stack:
    """Select (`pulumi stack select --stack NAME`) an existing stack; never create one."""
    options = auto.LocalWorkspaceOptions(
        env_vars={**_DEFAULT_ENV, **(env or {})}, pulumi_command=command
    )
    return auto.select_stack(stack_name=stack, work_dir=str(work_dir), opts=options)


# --- the operations -----------------------------------------------------------------------

Summary: TypeAlias = dict[str, int]  # op -> count


class _EventCollector:
    """`on_event` callback: the resource steps and the summary, from the engine's events.

    Must never raise: the SDK's event-log reader thread dies on an exception.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: dict[str, ResourceChange] = {}
        self.summary: Summary = {}

    def __call__(self, event: auto.EngineEvent) -> None:
        with self._lock:
            if event.resource_pre_event is not None:
                self._record(event.resource_pre_event.metadata)
            elif event.res_outputs_event is not None:
                self._record_outcome(event.res_outputs_event.metadata)
            elif event.summary_event is not None:
                self.summary = _counts(event.summary_event.resource_changes)

    def _record(self, metadata: auto.StepEventMetadata) -> None:
        step = _step(metadata)
        known = self._steps.get(step.urn)
        # A resource can have several steps (refresh, then preview): keep the one that changes
        # something, so `preview --refresh` cannot hide a drift the refresh found.
        if known is None or not _is_change(known.op) or _is_change(step.op):
            self._steps[step.urn] = step

    def _record_outcome(self, metadata: auto.StepEventMetadata) -> None:
        known = self._steps.get(metadata.urn)
        # Only a refresh step's outcome is news: same, update (drifted) or delete (gone).
        if known is not None and known.op == "refresh":
            self._steps[metadata.urn] = _step(metadata)

    @property
    def changes(self) -> list[ResourceChange]:
        with self._lock:
            return [step for step in self._steps.values() if _is_change(step.op)]


Runner: TypeAlias = Callable[[auto.Stack, _EventCollector, Callable[[str], None]], Summary]


def _common(collector: _EventCollector, on_output: Callable[[str], None]) -> dict[str, Any]:
    # stderr streams too, so a pipeline log shows the CLI's errors where they happen. The SDK
    # reads the two pipes on two threads: one lock keeps the callback's lines whole.
    lock = threading.Lock()

    def line(text: str) -> None:
        with lock:
            on_output(text)

    return {
        "diff": True,
        "color": "never",
        "on_output": line,
        "on_error": line,
        "on_event": collector,
    }


def _preview(
    stack: auto.Stack, collector: _EventCollector, on_output: Callable[[str], None]
) -> Summary:
    return _counts(stack.preview(**_common(collector, on_output)).change_summary)


def _up(stack: auto.Stack, collector: _EventCollector, on_output: Callable[[str], None]) -> Summary:
    # show_secrets=False: the summary (`stack history`) then carries no secret config values.
    result = stack.up(show_secrets=False, **_common(collector, on_output))
    return _counts(result.summary.resource_changes) or collector.summary


def _refresh(
    stack: auto.Stack, collector: _EventCollector, on_output: Callable[[str], None]
) -> Summary:
    result = stack.refresh(show_secrets=False, **_common(collector, on_output))
    return _counts(result.summary.resource_changes) or collector.summary


def _destroy(
    stack: auto.Stack, collector: _EventCollector, on_output: Callable[[str], None]
) -> Summary:
    # Resources only: the stack, its config and history stay (remove=False).
    result = stack.destroy(show_secrets=False, remove=False, **_common(collector, on_output))
    return _counts(result.summary.resource_changes) or collector.summary


def _drift(
    stack: auto.Stack, collector: _EventCollector, on_output: Callable[[str], None]
) -> Summary:
    # A refresh in memory followed by a preview: state and infrastructure stay untouched, and
    # the CLI fails when anything would change.
    result = stack.preview(refresh=True, expect_no_changes=True, **_common(collector, on_output))
    return _counts(result.change_summary)


_RUNNERS: dict[Operation, Runner] = {
    Operation.PREVIEW: _preview,
    Operation.UP: _up,
    Operation.REFRESH: _refresh,
    Operation.DESTROY: _destroy,
    Operation.DRIFT: _drift,
}


def _step(metadata: auto.StepEventMetadata) -> ResourceChange:
    return ResourceChange(
        op=_op_name(metadata.op),
        urn=metadata.urn,
        type=metadata.type,
        name=metadata.urn.rsplit("::", 1)[-1],
        diffs=list(metadata.diffs or []),
    )


def _op_name(op: Any) -> str:
    # OpType is a (str, Enum): str() of it is "OpType.SAME", its value is "same".
    return str(op.value) if isinstance(op, Enum) else str(op)


def _is_change(op: str) -> bool:
    return op not in _NO_CHANGE_OPS


def _counts(op_map: Mapping[Any, int] | None) -> Summary:
    return {_op_name(op): int(count) for op, count in (op_map or {}).items()}


# --- results and messages -----------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """One operation on one stack, and what its events told us: the makings of a result."""

    operation: Operation
    stack: str
    collector: _EventCollector

    def result(
        self, exit_code: ExitCode, message: str, summary: Summary | None = None
    ) -> OperationResult:
        return OperationResult(
            operation=self.operation,
            stack=self.stack,
            exit_code=exit_code,
            changes=self.collector.changes,
            summary=summary or self.collector.summary,
            message=_one_line(message),
        )

    def finished(self, summary: Summary) -> OperationResult:
        summary = summary or self.collector.summary
        if self.operation is not Operation.DRIFT:
            verb = f"{self.operation.value} of stack '{self.stack}'"
            return self.result(ExitCode.OK, f"{verb} succeeded: {_describe(summary)}", summary)
        changes = self.collector.changes
        if changes or _summary_has_changes(summary):
            # The CLI should have failed with --expect-no-changes; believe the events anyway.
            return self.result(ExitCode.CHANGES_FOUND, self.drift_message(summary), summary)
        return self.result(ExitCode.OK, f"no drift in stack '{self.stack}'", summary)

    def failed(self, error: auto.CommandError) -> OperationResult:
        stderr = _stderr_of(error)
        if self.operation is Operation.DRIFT and _EXPECT_NO_CHANGES.search(stderr):
            return self.result(ExitCode.CHANGES_FOUND, self.drift_message(self.collector.summary))
        tail = _tail(stderr) or "the CLI printed no error"
        return self.result(
            ExitCode.FAILURE, f"{self.operation.value} of stack '{self.stack}' failed: {tail}"
        )

    def drift_message(self, summary: Summary) -> str:
        changes = self.collector.changes
        if not changes:
            return f"drift in stack '{self.stack}': {_describe(summary)}"
        listed = "; ".join(change.describe() for change in changes[:_DRIFT_LISTED])
        hidden = len(changes) - _DRIFT_LISTED
        more = f"; and {hidden} more" if hidden > 0 else ""
        return f"drift in stack '{self.stack}', {len(changes)} resource(s): {listed}{more}"


def _no_stack(stack: str) -> str:
    return (
        f"stack '{stack}' does not exist in the current backend; egressctl never creates stacks "
        f"(create it deliberately: `pulumi stack init {stack}`)"
    )


def _locked(stack: str, error: auto.CommandError) -> str:
    return (
        f"stack '{stack}' is locked or another update is in progress; retry later "
        f"(a stale DIY lock is cleared with `pulumi cancel --stack {stack}`): "
        f"{_tail(_stderr_of(error))}"
    )


def _describe(summary: Summary) -> str:
    counted = [f"{op} {count}" for op, count in sorted(summary.items()) if count]
    return ", ".join(counted) if counted else "no resources reported"


def _summary_has_changes(summary: Summary) -> bool:
    return any(count for op, count in summary.items() if _is_change(op))


# CommandError keeps nothing but its message, which is CommandResult's str():
# "\n code: C\n stdout: ...\n stderr: ...".
_STDERR_MARK = "\n stderr: "


def _stderr_of(error: auto.CommandError) -> str:
    # The last marker: whatever follows it is stderr (or its end), never stdout, which is
    # where a program's own prints would be.
    text = str(error)
    return text.rpartition(_STDERR_MARK)[2] if _STDERR_MARK in text else ""


def _tail(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return " | ".join(lines[-_STDERR_TAIL_LINES:])


def _one_line(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= _MESSAGE_LIMIT else line[: _MESSAGE_LIMIT - 3] + "..."
