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

The Automation API shells out to the `pulumi` CLI. What we rely on from it:

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

import json
import re
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
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
# The steps of one replacement (one URN): reported together as "replace", whatever their order
# (create-before-delete: create-replacement, replace, ... delete-replaced at the very end;
# delete-before-replace: delete-replaced, replace, create-replacement).
_REPLACE = "replace"
_REPLACEMENT_OPS = frozenset(
    {_REPLACE, "create-replacement", "delete-replaced", "discard-replaced", "import-replacement"}
)
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
    `on_output` line by line, and so does a warning if the stack selected before could not be
    selected again. The result maps the outcome to an exit code: OK, STACK_NOT_FOUND,
    LOCKED (another update runs or a DIY lock is held), CHANGES_FOUND (drift) or FAILURE.

    `env` adds environment for the CLI (backend URL, passphrase, credentials); `pulumi_command`
    names the `pulumi` executable (default: the one on PATH). Raises PulumiNotInstalledError
    when there is no usable CLI.
    """
    operation = Operation(operation)
    cli = _Cli(_pulumi_command(pulumi_command, env), work_dir, env)
    run = _Run(operation, stack, _EventCollector(refresh_outcomes=operation is Operation.REFRESH))
    try:
        with _selected(cli, stack, on_warning=on_output) as selected:
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
    cli = _Cli(_pulumi_command(pulumi_command, env), work_dir, env)
    if reveal_secrets:
        outputs = cli.workspace().stack_outputs(stack)  # masked, then --show-secrets
        values = {name: output.value for name, output in outputs.items()}
    else:
        values = _json_object(cli.run(["stack", "output", "--json", "--stack", stack]).stdout)
    return values or None


def describe_error(error: auto.CommandError) -> str:
    """The CLI's own words for a failed command: the last lines of its stderr, on one line.

    The CLI never prints secret values to stderr; a program's prints go to stdout.
    """
    return _one_line(_tail(_stderr_of(error)) or "the CLI printed no error")


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


@dataclass(frozen=True)
class _Cli:
    """The CLI, the project directory it runs in and the environment it gets."""

    command: auto.PulumiCommand
    work_dir: Path
    env: Mapping[str, str] | None

    @property
    def env_vars(self) -> dict[str, str]:
        return {**_DEFAULT_ENV, **(self.env or {})}

    def workspace(self) -> auto.LocalWorkspace:
        return auto.LocalWorkspace(
            work_dir=str(self.work_dir), env_vars=self.env_vars, pulumi_command=self.command
        )

    def run(self, args: list[str]) -> auto.CommandResult:
        """One CLI command, as the workspace would run it (`--non-interactive` is added)."""
        return self.command.run(list(args), str(self.work_dir), self.env_vars)


@contextmanager
def _selected(cli: _Cli, stack: str, *, on_warning: Callable[[str], None]) -> Iterator[auto.Stack]:
    """Select (`pulumi stack select --stack NAME`) an existing stack, never creating one; on
    leaving, select again whatever was selected before (`pulumi stack ls --json`)."""
    workspace = cli.workspace()
    previous = workspace.stack()
    selected = auto.Stack.select(stack, workspace)  # the CLI's selection changes from here
    try:
        yield selected
    finally:
        _restore_selection(cli, workspace, stack, previous, on_warning)


def _restore_selection(
    cli: _Cli,
    workspace: auto.LocalWorkspace,
    stack: str,
    previous: auto.StackSummary | None,
    on_warning: Callable[[str], None],
) -> None:
    """Select `previous` again, or reset the selection if there was none; a failure here only
    warns: the operation's own outcome stands."""
    if previous is not None and previous.name == stack:
        return
    try:
        if previous is None:
            cli.run(["stack", "unselect"])
        else:
            workspace.select_stack(previous.name)
    except auto.CommandError as error:
        what = (
            "reset the stack selection (run `pulumi stack unselect`)"
            if previous is None
            else f"select stack '{previous.name}' again (run `pulumi stack select {previous.name}`)"
        )
        on_warning(
            f"warning: stack '{stack}' is still selected; could not {what}: {describe_error(error)}"
        )


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text or "{}")
    if not isinstance(value, dict):
        raise ValueError(f"`pulumi stack output --json` did not print a JSON object: {text[:80]!r}")
    return value


# --- the operations -----------------------------------------------------------------------

Summary: TypeAlias = dict[str, int]  # op -> count


class _EventCollector:
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
                self.summary = _counts(event.summary_event.resource_changes)

    def _record(self, metadata: auto.StepEventMetadata) -> None:
        step = _step(metadata)
        known = self._steps.get(step.urn)
        if known is not None and _REPLACE in {_replacement(known.op), _replacement(step.op)}:
            # One replacement, in whatever order its steps came: one `replace`.
            diffs = [*known.diffs, *(name for name in step.diffs if name not in known.diffs)]
            self._steps[step.urn] = replace(known, op=_REPLACE, diffs=diffs)
        elif known is None or not _is_change(known.op) or _is_change(step.op):
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


def _replacement(op: str) -> str:
    """`replace` for every step of a replacement, else the op itself."""
    return _REPLACE if op in _REPLACEMENT_OPS else op


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
        if self.operation is Operation.DRIFT:
            # The CLI ran with --expect-no-changes and succeeded: nothing would change.
            return self.result(ExitCode.OK, f"no drift in stack '{self.stack}'", summary)
        verb = f"{self.operation.value} of stack '{self.stack}'"
        return self.result(ExitCode.OK, f"{verb} succeeded: {_describe(summary)}", summary)

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
