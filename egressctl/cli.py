"""`egressctl` (or `python -m egressctl`): the command line for pipelines, reviewers and
firewall teams.

Every command works on this project's own stacks (`Pulumi.<stack>.yaml` in the checkout that
holds this package; see `egressctl.project.project_dir`) and exits with a code from
`egressctl.exit_codes`. A fully qualified stack name (`org/prod`, as Pulumi Cloud has it) goes
to the Automation API whole; files are looked up by its last segment (`Pulumi.prod.yaml`).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pulumi import automation as auto
from rich.table import Table

from antrea_egress.config import ConfigError, StackConfig, load_stack_file
from egressctl import automation, cli_preflight, cli_verify, report
from egressctl.automation import Operation, OperationResult, PulumiNotInstalledError
from egressctl.cli_common import (
    StackOption,
    WorkDir,
    fail,
    missing_stack_file,
    out,
    print_text,
    require_stack_file,
    say,
    stream_line,
)
from egressctl.discover import discover_stack, discovery_table
from egressctl.exit_codes import ExitCode
from egressctl.project import (
    PROJECT_DIR,
    checkout_commit,
    package_version,
    stack_short_name,
)
from egressctl.render import Rendering, plan_markdown, render_stack, write_rendering

app = typer.Typer(
    name="egressctl",
    help="Run, render, report and verify the antrea-egress stacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: Typer's rich panels label every flag `<bool>`, as if it took a value.
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"egressctl {package_version()}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version of antrea-egress and exit.",
        ),
    ] = False,
) -> None:
    # Options for every command; the app's help above describes them all.
    return None


JsonOption = Annotated[
    Path | None,
    typer.Option("--json", help="Write a machine-readable summary of the changes here."),
]
InlineOption = Annotated[
    bool,
    typer.Option(
        "--inline",
        help="Run the program in egressctl's own Python instead of through the Pulumi CLI's "
        "language host (for pipelines whose Python has the program's requirements).",
    ),
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Really delete every resource of the stack.")
]


class ReportFormat(StrEnum):
    MD = "md"
    CSV = "csv"
    JSON = "json"


# --- Automation API ------------------------------------------------------------------------


def _operate(
    operation: Operation, stack: str, json_path: Path | None, work_dir: Path, inline: bool
) -> None:
    """Run the operation; `--json` is written whatever the outcome (a pipeline reads it)."""
    _require_operable_stack(operation, stack, json_path, work_dir)
    try:
        result = automation.run_operation(
            operation,
            stack,
            work_dir=work_dir,
            on_output=stream_line,
            inline=inline,
        )
    except PulumiNotInstalledError as error:
        result = _failure(operation, stack, str(error))
    except BaseException as error:
        # Unexpected, or interrupted: the traceback follows, but the pipeline still finds its
        # document.
        message = f"{operation.value} of stack '{stack}' did not finish: {error!r}"
        _write_json(_failure(operation, stack, message), json_path)
        raise
    _finish(result, json_path)


def _require_operable_stack(
    operation: Operation, stack: str, json_path: Path | None, work_dir: Path
) -> None:
    """Exit 2 (with the `--json` document) before the Pulumi CLI is even looked for when the
    stack has no stack file: a typo must not reach a backend."""
    problem = missing_stack_file(stack, work_dir)
    if problem is not None:
        result = _failure(operation, stack, problem)
        _finish(replace(result, exit_code=ExitCode.STACK_NOT_FOUND), json_path)


def _failure(operation: Operation, stack: str, message: str) -> OperationResult:
    return OperationResult(operation, stack, ExitCode.FAILURE, [], {}, message)


def _finish(result: OperationResult, json_path: Path | None) -> NoReturn:
    _write_json(result, json_path)
    say(result.message, "green" if result.exit_code == ExitCode.OK else "red")
    raise typer.Exit(int(result.exit_code))


def _write_json(result: OperationResult, path: Path | None) -> None:
    if path is not None:
        path.write_text(json.dumps(result.to_json(), indent=2) + "\n")


@app.command()
def preview(
    stack: StackOption,
    json_path: JsonOption = None,
    inline: InlineOption = False,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Show what `up` would change (with the diff)."""
    _operate(Operation.PREVIEW, stack, json_path, work_dir, inline)


@app.command()
def up(
    stack: StackOption,
    json_path: JsonOption = None,
    inline: InlineOption = False,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Deploy the stack."""
    _operate(Operation.UP, stack, json_path, work_dir, inline)


@app.command()
def refresh(
    stack: StackOption,
    json_path: JsonOption = None,
    inline: InlineOption = False,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Read the real state of every resource into the stack's state."""
    _operate(Operation.REFRESH, stack, json_path, work_dir, inline)


@app.command()
def destroy(
    stack: StackOption,
    yes: YesOption = False,
    json_path: JsonOption = None,
    inline: InlineOption = False,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Delete every resource of the stack (the stack itself stays). Needs --yes."""
    _require_operable_stack(Operation.DESTROY, stack, json_path, work_dir)
    if not yes:
        message = f"refusing to destroy stack {stack} without --yes"
        _finish(_failure(Operation.DESTROY, stack, message), json_path)
    _operate(Operation.DESTROY, stack, json_path, work_dir, inline)


@app.command()
def drift(
    stack: StackOption,
    json_path: JsonOption = None,
    inline: InlineOption = False,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Exit 3 when the infrastructure differs from the stack (a refresh preview)."""
    _operate(Operation.DRIFT, stack, json_path, work_dir, inline)


# --- offline -------------------------------------------------------------------------------


def _load_config(stack: str, work_dir: Path) -> StackConfig:
    try:
        config, _ = load_stack_file(require_stack_file(stack, work_dir))
    except ConfigError as error:
        fail(f"invalid configuration of stack {stack}:\n{error}")
    return config


@app.command()
def render(
    stack: StackOption,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write the files here (default: rendered/offline/<stack>)."),
    ] = None,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Render the stack offline: manifests in apply order, NSX requests, and the plan.

    No Pulumi CLI, credentials or network: the program runs under the SDK's mock engine. An
    earlier rendering in the output directory is replaced (its other files stay).
    """
    _load_config(stack, work_dir)  # report configuration problems in the config's own terms
    rendering = render_stack(stack, work_dir=work_dir)
    for warning in rendering.warnings:
        say(f"warning: {warning}", "yellow")
    _print_plan(rendering)
    # Not rendered/<stack>: that is where the lab stack's renderYamlTo writes on `up`.
    target = out_dir or work_dir / "rendered" / "offline" / stack_short_name(stack)
    written = write_rendering(rendering, target)
    print_text(
        f"{len(rendering.objects)} Kubernetes objects and {len(rendering.nsx_requests)} NSX "
        f"requests written to {target} ({len(written)} files).\n"
    )


def _print_plan(rendering: Rendering) -> None:
    """A table fitted to the terminal; elsewhere (a pipe, a CI log) plan.md's Markdown, whose
    lines are never broken, so names stay whole and the output is the same on every run."""
    if _stdout_is_a_terminal():
        out.print(_plan_table(rendering))
    else:
        print_text(plan_markdown(rendering))


def _stdout_is_a_terminal() -> bool:
    """Whether stdout really is a terminal. Not rich's `is_terminal`, which FORCE_COLOR (set in
    many CI systems) turns on for a pipe, whose width rich then takes to be 80 columns."""
    try:
        return out.file.isatty()
    except ValueError:  # closed
        return False


def _plan_table(rendering: Rendering) -> Table:
    table = Table(title=f"Plan for stack {rendering.stack} (offline)", show_lines=False)
    for column in ("#", "resource", "kind", "goes to", "detail"):
        table.add_column(column, overflow="fold")
    for index, step in enumerate(rendering.plan, start=1):
        table.add_row(str(index), step.resource, step.kind, step.target, step.detail)
    return table


@app.command(name="report")
def report_command(
    stack: StackOption,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.MD,
    offline: Annotated[
        bool, typer.Option("--offline", help="Report from the configuration; ask no backend.")
    ] = False,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """The firewall change request: per zone, who leaves with which source IPs.

    From the deployed stack's outputs (secrets stay masked: nothing is decrypted); from the
    configuration with --offline, or when there is no Pulumi CLI, the backend has no such
    stack or it was never deployed. Any other backend error fails (a wrong passphrase must
    not pass unnoticed).
    """
    config = _load_config(stack, work_dir)
    outputs = None if offline else _deployed_outputs(stack, work_dir)
    try:
        rows = report.rows_from_outputs(outputs) if outputs else report.rows_from_config(config)
    except ValueError as error:
        fail(f"cannot report stack {stack}: {error}")
    audit = report.AuditTrail(generation_time(), checkout_commit(work_dir))
    print_text(report.render_report(rows, fmt.value, audit=audit))


def generation_time() -> datetime:
    """Now, in UTC: when a report is generated (tests replace it to pin the time)."""
    return datetime.now(UTC)


def _deployed_outputs(stack: str, work_dir: Path) -> dict[str, Any] | None:
    """A deployed stack's outputs, secrets masked; None when the configuration has to do."""
    try:
        outputs = automation.stack_outputs(stack, work_dir=work_dir, reveal_secrets=False)
    except PulumiNotInstalledError:
        reason = "no Pulumi CLI"
    except auto.StackNotFoundError:
        reason = "no outputs (stack not found in the backend)"
    except auto.CommandError as error:
        fail(
            f"cannot read the outputs of stack {stack}: {automation.describe_error(error)}",
            automation.exit_code_for(error),
        )
    except ValueError as error:
        fail(f"cannot read the outputs of stack {stack}: {error}")
    else:
        if outputs:
            return outputs
        reason = "no outputs (never deployed)"
    say(f"{reason}: reporting from the stack's configuration")
    return None


# --- live ----------------------------------------------------------------------------------

app.command(name="verify")(cli_verify.verify_command)
app.command(name="preflight")(cli_preflight.preflight_command)


@app.command(name="discover")
def discover_command(stack: StackOption, work_dir: WorkDir = PROJECT_DIR) -> None:
    """Show the cluster's node segment candidates, its Tier-1 and the NAT-mode evidence."""
    config = _load_config(stack, work_dir)
    name = stack_short_name(stack)  # the stack file's name, Pulumi.<name>.yaml
    result = discover_stack(name, config, work_dir=work_dir, environ=os.environ)
    out.print(discovery_table(result))
    raise typer.Exit(int(result.exit_code))
