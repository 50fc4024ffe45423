"""Run the project's own stacks through the Pulumi Automation API.

One program, one project: every operation runs the `Pulumi.yaml` project in `work_dir` (a
LocalWorkspace on a local program), exactly as `pulumi` on the command line would. A stack is
only ever *selected*; a missing stack is reported (exit 2), never created, so a typo cannot
bring up an empty `prod`. The stack is passed on as given, so a fully qualified name
(`org/prod` on Pulumi Cloud) reaches the CLI whole.

Selecting a stack is global state (`~/.pulumi/workspaces`): after it, a bare `pulumi up` in
the project would target that stack. So the stack selected before is read first (`pulumi
stack ls --json`) and selected again afterwards, whatever happened (or, if none was selected,
the selection is reset with `pulumi stack unselect`). `stack_outputs` selects nothing.

The Automation API shells out to the `pulumi` CLI (found, run and its stack selected by
`egressctl.pulumi_cli`; its engine events read by `egressctl.engine_events`). What we rely
on from it:

* Errors are classified by the SDK from the CLI's stderr (`pulumi.automation.errors`):
  `StackNotFoundError` ("no stack named ... found"), `ConcurrentUpdateError` (Pulumi Cloud's
  "[409] Conflict" or a DIY backend's "the stack is currently locked by"), else `CommandError`.
* Structured progress arrives through `on_event` (engine events over gRPC on CLI > 3.205, an
  `--event-log` file before). A resource's step is its `resource_pre_event`; for refresh steps
  the engine reports the outcome (same/update/delete) in the matching `res_outputs_event`.
  A replacement is several steps for one URN (`create-replacement`, `replace`,
  `delete-replaced`, ordered by delete-before-replace): reported as one `replace`.
* `drift` trusts `--expect-no-changes`: exit 0 from the CLI is no drift, its "no changes were
  expected" error is drift (exit 3), listed from the preview's steps (what `up` would change),
  not from the refresh's outcomes (a Kubernetes `status` that moved is not drift).

The CLI calls per operation (SDK 3.272, as tests/egressctl/test_automation.py records them);
each but the first starts with `--non-interactive` and runs in `work_dir`:

    every operation  pulumi version; pulumi stack ls --json; pulumi stack select --stack S;
                     the operation's calls below; then `pulumi stack select --stack P` (P the
                     stack selected before, unless it is S) or `pulumi stack unselect`
    preview          pulumi preview --diff --color never --exec-kind auto.local --event-log E
                     --stack S (the flags below elided as `...` are these same four)
    up               pulumi up --yes --skip-preview --diff ... ; then `stack output --json`, the
                     same with `--show-secrets` (the SDK always fetches UpResult.outputs, which we
                     discard) and `stack history --json --page-size 1 --page 1`
    refresh          pulumi refresh --skip-preview --yes --diff ... ; then `stack history ...`
    destroy          pulumi destroy --skip-preview --yes --diff ... ; then `stack history ...`
    drift            pulumi preview --expect-no-changes --diff --refresh ...
    stack_outputs    pulumi version; pulumi stack output --json --stack S (and, only to reveal
                     secrets, the same with --show-secrets)

Secrets: nothing this module prints or puts into an `OperationResult` carries a secret value.
The human message on failure is the tail of the CLI's stderr, where the CLI never prints
secret values; `up`, `refresh` and `destroy` read their summary with `show_secrets=False`.
`stack_outputs(..., reveal_secrets=True)` is the one exception, by design (see its docstring).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeAlias

from pulumi import automation as auto

from egressctl.engine_events import EventCollector, ResourceChange, Summary, counts
from egressctl.exit_codes import ExitCode
from egressctl.project import PROJECT_DIR
from egressctl.pulumi_cli import (
    Cli,
    PulumiNotInstalledError,
    describe_error,
    find_cli,
    inline_program,
    json_object,
    one_line,
    selected_stack,
    stderr_of,
    stderr_tail,
)

__all__ = [
    "Operation",
    "OperationResult",
    "PulumiNotInstalledError",
    "ResourceChange",
    "describe_error",
    "exit_code_for",
    "run_operation",
    "stack_outputs",
]

# The CLI's error for `--expect-no-changes`, in all its wordings: "no changes were expected
# but changes were proposed" (preview), "... but changes occurred" (up, refresh), "no changes
# were expected for <op> but ..." (newer CLIs, which also exit with 7 rather than 255).
_EXPECT_NO_CHANGES = re.compile(r"no changes were expected")
_DRIFT_LISTED = 10


class Operation(StrEnum):
    PREVIEW = "preview"
    UP = "up"
    REFRESH = "refresh"
    DESTROY = "destroy"
    DRIFT = "drift"


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


def run_operation(
    operation: Operation,
    stack: str,
    *,
    work_dir: Path = PROJECT_DIR,
    on_output: Callable[[str], None] = print,
    env: Mapping[str, str] | None = None,
    pulumi_command: str | None = None,
    inline: bool = False,
) -> OperationResult:
    """Run `operation` on the existing stack `stack` of the project in `work_dir`.

    The CLI's output (stdout and stderr, with `--diff` and without colour) streams through
    `on_output` line by line, and so does a warning if the stack selected before could not be
    selected again. The result maps the outcome to an exit code: OK, STACK_NOT_FOUND,
    LOCKED (another update runs or a DIY lock is held), CHANGES_FOUND (drift) or FAILURE.

    `env` adds environment for the CLI (backend URL, passphrase, credentials); `pulumi_command`
    names the `pulumi` executable (default: the one on PATH); `inline` runs the program in
    this process instead of through the language host (`pulumi_cli.inline_program`). Raises
    PulumiNotInstalledError when there is no usable CLI.
    """
    operation = Operation(operation)
    program = inline_program(work_dir) if inline else None
    cli = Cli(find_cli(pulumi_command, env), work_dir, env, program)
    run = _Run(operation, stack, EventCollector(refresh_outcomes=operation is Operation.REFRESH))
    try:
        with selected_stack(cli, stack, on_warning=on_output) as selected:
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
    reveal_secrets: bool = False,
) -> dict[str, Any] | None:
    """The deployed stack's outputs by name (`pulumi stack output --json --stack S`).

    By default secret values stay masked as the CLI prints them (`"[secret]"`), and nothing is
    decrypted: enough for `report`. With `reveal_secrets` they are revealed (`--show-secrets`,
    which decrypts), for `verify`, which needs the kubeconfig: the caller owns them from
    there, and must never print or log the result wholesale.

    The stack is named on the command line, not selected: the user's selection stays as it
    is. None when the stack has never been deployed (it has no outputs). Raises the SDK's
    `StackNotFoundError`, `ConcurrentUpdateError` or `CommandError` (see `exit_code_for`),
    PulumiNotInstalledError, and ValueError if the CLI's answer is not a JSON object.
    """
    cli = Cli(find_cli(pulumi_command, env), work_dir, env)
    if reveal_secrets:
        outputs = cli.workspace().stack_outputs(stack)  # masked, then --show-secrets
        values = {name: output.value for name, output in outputs.items()}
    else:
        values = json_object(cli.run(["stack", "output", "--json", "--stack", stack]).stdout)
    return values or None


def exit_code_for(error: auto.CommandError) -> ExitCode:
    """The exit code for an error the SDK raised (e.g. from `stack_outputs`)."""
    if isinstance(error, auto.StackNotFoundError):
        return ExitCode.STACK_NOT_FOUND
    if isinstance(error, auto.ConcurrentUpdateError):
        return ExitCode.LOCKED
    return ExitCode.FAILURE


# --- the operations -----------------------------------------------------------------------

Runner: TypeAlias = Callable[[auto.Stack, EventCollector, Callable[[str], None]], Summary]


def _common(collector: EventCollector, on_output: Callable[[str], None]) -> dict[str, Any]:
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
    stack: auto.Stack, collector: EventCollector, on_output: Callable[[str], None]
) -> Summary:
    return counts(stack.preview(**_common(collector, on_output)).change_summary)


def _up(stack: auto.Stack, collector: EventCollector, on_output: Callable[[str], None]) -> Summary:
    # show_secrets=False: the summary (`stack history`) then carries no secret config values.
    result = stack.up(show_secrets=False, **_common(collector, on_output))
    return counts(result.summary.resource_changes) or collector.summary


def _refresh(
    stack: auto.Stack, collector: EventCollector, on_output: Callable[[str], None]
) -> Summary:
    result = stack.refresh(show_secrets=False, **_common(collector, on_output))
    return counts(result.summary.resource_changes) or collector.summary


def _destroy(
    stack: auto.Stack, collector: EventCollector, on_output: Callable[[str], None]
) -> Summary:
    # Resources only: the stack, its config and history stay (remove=False).
    result = stack.destroy(show_secrets=False, remove=False, **_common(collector, on_output))
    return counts(result.summary.resource_changes) or collector.summary


def _drift(
    stack: auto.Stack, collector: EventCollector, on_output: Callable[[str], None]
) -> Summary:
    # A refresh in memory followed by a preview: state and infrastructure stay untouched, and
    # the CLI fails when anything would change.
    result = stack.preview(refresh=True, expect_no_changes=True, **_common(collector, on_output))
    return counts(result.change_summary)


_RUNNERS: dict[Operation, Runner] = {
    Operation.PREVIEW: _preview,
    Operation.UP: _up,
    Operation.REFRESH: _refresh,
    Operation.DESTROY: _destroy,
    Operation.DRIFT: _drift,
}


# --- results and messages -----------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """One operation on one stack, and what its events told us: the makings of a result."""

    operation: Operation
    stack: str
    collector: EventCollector

    def result(
        self, exit_code: ExitCode, message: str, summary: Summary | None = None
    ) -> OperationResult:
        return OperationResult(
            operation=self.operation,
            stack=self.stack,
            exit_code=exit_code,
            changes=self.collector.changes,
            summary=summary or self.collector.summary,
            message=one_line(message),
        )

    def finished(self, summary: Summary) -> OperationResult:
        summary = summary or self.collector.summary
        if self.operation is Operation.DRIFT:
            # The CLI ran with --expect-no-changes and succeeded: nothing would change.
            return self.result(ExitCode.OK, f"no drift in stack '{self.stack}'", summary)
        verb = f"{self.operation.value} of stack '{self.stack}'"
        return self.result(ExitCode.OK, f"{verb} succeeded: {_describe(summary)}", summary)

    def failed(self, error: auto.CommandError) -> OperationResult:
        stderr = stderr_of(error)
        if self.operation is Operation.DRIFT and _EXPECT_NO_CHANGES.search(stderr):
            return self.result(ExitCode.CHANGES_FOUND, self.drift_message(self.collector.summary))
        tail = stderr_tail(stderr) or "the CLI printed no error"
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
        f"{stderr_tail(stderr_of(error))}"
    )


def _describe(summary: Summary) -> str:
    counted = [f"{op} {count}" for op, count in sorted(summary.items()) if count]
    return ", ".join(counted) if counted else "no resources reported"
