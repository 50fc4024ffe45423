"""`python -m egressctl`: the command line for pipelines, reviewers and firewall teams.

Every command works on this project's own stacks (`Pulumi.<stack>.yaml` beside this package)
and exits with a code from `egressctl.exit_codes`.
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pulumi import automation as auto
from rich.console import Console
from rich.table import Table

from antrea_egress.config import ConfigError, StackConfig, load_stack_file
from antrea_egress.kube import KubeAccess, KubeClient
from egressctl import automation, report, verify
from egressctl.automation import Operation, OperationResult, PulumiNotInstalledError
from egressctl.discover import discover_stack, discovery_table
from egressctl.exit_codes import ExitCode
from egressctl.project import PROJECT_DIR, known_stacks, stack_file
from egressctl.render import Rendering, render_stack, write_rendering

app = typer.Typer(
    name="egressctl",
    help="Run, render, report and verify the antrea-egress stacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="The stack, e.g. staging.")]
JsonOption = Annotated[
    Path | None,
    typer.Option("--json", help="Write a machine-readable summary of the changes here."),
]
WorkDir = Annotated[Path, typer.Option("--work-dir", hidden=True)]


class ReportFormat(StrEnum):
    MD = "md"
    CSV = "csv"
    JSON = "json"


# --- Automation API ------------------------------------------------------------------------


def _operate(operation: Operation, stack: str, json_path: Path | None, work_dir: Path) -> None:
    try:
        result = automation.run_operation(
            operation,
            stack,
            work_dir=work_dir,
            on_output=_stream_line,
        )
    except PulumiNotInstalledError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(ExitCode.FAILURE) from None
    _write_json(result, json_path)
    style = "green" if result.exit_code == ExitCode.OK else "red"
    err.print(f"[{style}]{result.message}[/{style}]")
    raise typer.Exit(int(result.exit_code))


def _stream_line(line: str) -> None:
    """The CLI's output, one line per call (the SDK strips the newline)."""
    out.print(line, markup=False, highlight=False, soft_wrap=True)


def _write_json(result: OperationResult, path: Path | None) -> None:
    if path is not None:
        path.write_text(json.dumps(result.to_json(), indent=2) + "\n")


@app.command()
def preview(
    stack: StackOption, json_path: JsonOption = None, work_dir: WorkDir = PROJECT_DIR
) -> None:
    """Show what `up` would change (with the diff)."""
    _operate(Operation.PREVIEW, stack, json_path, work_dir)


@app.command()
def up(stack: StackOption, json_path: JsonOption = None, work_dir: WorkDir = PROJECT_DIR) -> None:
    """Deploy the stack."""
    _operate(Operation.UP, stack, json_path, work_dir)


@app.command()
def refresh(
    stack: StackOption, json_path: JsonOption = None, work_dir: WorkDir = PROJECT_DIR
) -> None:
    """Read the real state of every resource into the stack's state."""
    _operate(Operation.REFRESH, stack, json_path, work_dir)


@app.command()
def destroy(
    stack: StackOption, json_path: JsonOption = None, work_dir: WorkDir = PROJECT_DIR
) -> None:
    """Delete every resource of the stack (the stack itself stays)."""
    _operate(Operation.DESTROY, stack, json_path, work_dir)


@app.command()
def drift(
    stack: StackOption, json_path: JsonOption = None, work_dir: WorkDir = PROJECT_DIR
) -> None:
    """Exit 3 when the infrastructure differs from the stack (a refresh preview)."""
    _operate(Operation.DRIFT, stack, json_path, work_dir)


# --- offline -------------------------------------------------------------------------------


def _require_stack_file(stack: str, work_dir: Path) -> Path:
    path = stack_file(stack, work_dir)
    if not path.is_file():
        err.print(
            f"[red]no stack {stack!r}: {path.name} does not exist "
            f"(known: {', '.join(known_stacks(work_dir)) or 'none'})[/red]"
        )
        raise typer.Exit(ExitCode.STACK_NOT_FOUND)
    return path


def _load_config(stack: str, work_dir: Path) -> StackConfig:
    try:
        config, _ = load_stack_file(_require_stack_file(stack, work_dir))
    except ConfigError as error:
        err.print(f"[red]invalid configuration of stack {stack}:[/red]\n{error}")
        raise typer.Exit(ExitCode.FAILURE) from None
    return config


@app.command()
def render(
    stack: StackOption,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write the files here.")] = None,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Render the stack offline: manifests in apply order, NSX requests, and the plan.

    No Pulumi CLI, credentials or network: the program runs under the SDK's mock engine.
    """
    _load_config(stack, work_dir)  # report configuration problems in the config's own terms
    rendering = render_stack(stack, work_dir=work_dir)
    for warning in rendering.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    out.print(_plan_table(rendering))
    target = out_dir or work_dir / "rendered" / stack
    written = write_rendering(rendering, target)
    out.print(
        f"{len(rendering.objects)} Kubernetes objects and {len(rendering.nsx_requests)} NSX "
        f"requests written to {target} ({len(written)} files)."
    )


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
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """The firewall change request: per zone, who leaves with which source IPs."""
    config = _load_config(stack, work_dir)
    outputs = _deployed_outputs(stack, work_dir)
    rows = report.rows_from_outputs(outputs) if outputs else report.rows_from_config(config)
    out.print(report.render_report(rows, fmt.value), markup=False, highlight=False, soft_wrap=True)


def _deployed_outputs(stack: str, work_dir: Path) -> dict[str, Any] | None:
    """A deployed stack's outputs, or None (no CLI, not deployed, backend unreachable)."""
    try:
        return automation.stack_outputs(stack, work_dir=work_dir)
    except PulumiNotInstalledError:
        reason = "no Pulumi CLI"
    except auto.CommandError as error:
        reason = f"no outputs ({automation.exit_code_for(error).name.lower().replace('_', ' ')})"
    err.print(f"{reason}: reporting from the stack's configuration")
    return None


# --- live ----------------------------------------------------------------------------------


@app.command(name="verify")
def verify_command(
    stack: StackOption,
    echo_url: Annotated[
        str, typer.Option("--echo-url", help="The echo server, e.g. http://192.168.178.222:88")
    ],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each probe pod.")] = 120.0,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Prove each zone's egress IP: a probe pod asks the echo server which IP it saw."""
    _require_stack_file(stack, work_dir)
    try:
        outputs = automation.stack_outputs(stack, work_dir=work_dir)
    except PulumiNotInstalledError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(ExitCode.FAILURE) from None
    except auto.CommandError as error:
        code = automation.exit_code_for(error)
        err.print(f"[red]cannot read the outputs of stack {stack}: {code.name.lower()}[/red]")
        raise typer.Exit(int(code)) from None
    if not outputs or not outputs.get("kubeconfig"):
        err.print(f"[red]stack {stack} has no outputs: deploy it first (egressctl up)[/red]")
        raise typer.Exit(ExitCode.FAILURE)
    results = _run_probes(outputs, echo_url, timeout)
    out.print(verify.render_results(results))
    raise typer.Exit(
        ExitCode.OK if results and all(r.passed for r in results) else ExitCode.FAILURE
    )


def _run_probes(outputs: dict[str, Any], echo_url: str, timeout: float) -> list[verify.ProbeResult]:
    probes = verify.probes_from_outputs(outputs)
    with KubeClient(KubeAccess.from_kubeconfig(str(outputs["kubeconfig"]))) as kube:
        return verify.verify_zones(kube, probes, echo_url, timeout=timeout)


@app.command(name="discover")
def discover_command(stack: StackOption, work_dir: WorkDir = PROJECT_DIR) -> None:
    """Show the cluster's node segment candidates, its Tier-1 and the NAT-mode evidence."""
    config = _load_config(stack, work_dir)
    result = discover_stack(stack, config, work_dir=work_dir, environ=os.environ)
    out.print(discovery_table(result))
    raise typer.Exit(int(result.exit_code))


def main() -> None:  # pragma: no cover - the console entry point
    app(prog_name="egressctl")
    sys.exit(0)
