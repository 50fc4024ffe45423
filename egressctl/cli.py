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
import yaml
from pulumi import automation as auto
from rich.console import Console
from rich.table import Table

from antrea_egress.config import ConfigError, StackConfig, load_stack_file
from antrea_egress.kube import KubeAccess, KubeClient, KubeError
from antrea_egress.outputs import OUTPUT_KUBECONFIG
from egressctl import automation, report, verify
from egressctl.automation import Operation, OperationResult, PulumiNotInstalledError
from egressctl.discover import discover_stack, discovery_table
from egressctl.exit_codes import ExitCode
from egressctl.project import (
    PROJECT_DIR,
    checkout_commit,
    known_stacks,
    package_version,
    stack_file,
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
out = Console()
err = Console(stderr=True)


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


StackOption = Annotated[str, typer.Option("--stack", "-s", help="The stack, e.g. staging.")]
JsonOption = Annotated[
    Path | None,
    typer.Option("--json", help="Write a machine-readable summary of the changes here."),
]
WorkDir = Annotated[Path, typer.Option("--work-dir", hidden=True)]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Really delete every resource of the stack.")
]


class ReportFormat(StrEnum):
    MD = "md"
    CSV = "csv"
    JSON = "json"


# --- Automation API ------------------------------------------------------------------------


def _operate(operation: Operation, stack: str, json_path: Path | None, work_dir: Path) -> None:
    """Run the operation; `--json` is written whatever the outcome (a pipeline reads it)."""
    _require_operable_stack(operation, stack, json_path, work_dir)
    try:
        result = automation.run_operation(
            operation,
            stack,
            work_dir=work_dir,
            on_output=_stream_line,
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
    problem = _missing_stack_file(stack, work_dir)
    if problem is not None:
        result = _failure(operation, stack, problem)
        _finish(replace(result, exit_code=ExitCode.STACK_NOT_FOUND), json_path)


def _failure(operation: Operation, stack: str, message: str) -> OperationResult:
    return OperationResult(operation, stack, ExitCode.FAILURE, [], {}, message)


def _finish(result: OperationResult, json_path: Path | None) -> NoReturn:
    _write_json(result, json_path)
    _say(result.message, "green" if result.exit_code == ExitCode.OK else "red")
    raise typer.Exit(int(result.exit_code))


def _stream_line(line: str) -> None:
    """The CLI's output, one line per call (the SDK strips the newline)."""
    out.print(line, markup=False, highlight=False, soft_wrap=True)


def _say(message: str, style: str | None = None) -> None:
    """A message on stderr, verbatim: brackets in it ("[409] Conflict") are not markup."""
    err.print(message, style=style, markup=False, highlight=False, soft_wrap=True)


def _fail(message: str, code: ExitCode = ExitCode.FAILURE) -> NoReturn:
    _say(message, "red")
    raise typer.Exit(int(code))


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
    stack: StackOption,
    yes: YesOption = False,
    json_path: JsonOption = None,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Delete every resource of the stack (the stack itself stays). Needs --yes."""
    _require_operable_stack(Operation.DESTROY, stack, json_path, work_dir)
    if not yes:
        message = f"refusing to destroy stack {stack} without --yes"
        _finish(_failure(Operation.DESTROY, stack, message), json_path)
    _operate(Operation.DESTROY, stack, json_path, work_dir)


@app.command()
def drift(
    stack: StackOption, json_path: JsonOption = None, work_dir: WorkDir = PROJECT_DIR
) -> None:
    """Exit 3 when the infrastructure differs from the stack (a refresh preview)."""
    _operate(Operation.DRIFT, stack, json_path, work_dir)


# --- offline -------------------------------------------------------------------------------


def _missing_stack_file(stack: str, work_dir: Path) -> str | None:
    """Why `stack` cannot be used (its Pulumi.<stack>.yaml is missing), or None."""
    path = stack_file(stack, work_dir)
    if path.is_file():
        return None
    return (
        f"no stack {stack!r}: {path.name} does not exist "
        f"(known: {', '.join(known_stacks(work_dir)) or 'none'})"
    )


def _require_stack_file(stack: str, work_dir: Path) -> Path:
    problem = _missing_stack_file(stack, work_dir)
    if problem is not None:
        _fail(problem, ExitCode.STACK_NOT_FOUND)
    return stack_file(stack, work_dir)


def _load_config(stack: str, work_dir: Path) -> StackConfig:
    try:
        config, _ = load_stack_file(_require_stack_file(stack, work_dir))
    except ConfigError as error:
        _fail(f"invalid configuration of stack {stack}:\n{error}")
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
        _say(f"warning: {warning}", "yellow")
    _print_plan(rendering)
    # Not rendered/<stack>: that is where the lab stack's renderYamlTo writes on `up`.
    target = out_dir or work_dir / "rendered" / "offline" / stack_short_name(stack)
    written = write_rendering(rendering, target)
    _print(
        f"{len(rendering.objects)} Kubernetes objects and {len(rendering.nsx_requests)} NSX "
        f"requests written to {target} ({len(written)} files).\n"
    )


def _print(text: str) -> None:
    """Text on stdout exactly as given: no markup, no wrapping at the console's width."""
    typer.echo(text, nl=False)


def _print_plan(rendering: Rendering) -> None:
    """A table fitted to the terminal; elsewhere (a pipe, a CI log) plan.md's Markdown, whose
    lines are never broken, so names stay whole and the output is the same on every run."""
    if _stdout_is_a_terminal():
        out.print(_plan_table(rendering))
    else:
        _print(plan_markdown(rendering))


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
        _fail(f"cannot report stack {stack}: {error}")
    audit = report.AuditTrail(generation_time(), checkout_commit(work_dir))
    _print(report.render_report(rows, fmt.value, audit=audit))


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
        _fail(
            f"cannot read the outputs of stack {stack}: {automation.describe_error(error)}",
            automation.exit_code_for(error),
        )
    except ValueError as error:
        _fail(f"cannot read the outputs of stack {stack}: {error}")
    else:
        if outputs:
            return outputs
        reason = "no outputs (never deployed)"
    _say(f"{reason}: reporting from the stack's configuration")
    return None


# --- live ----------------------------------------------------------------------------------


def _checked_echo_url(url: str) -> str:
    """A usage error (exit 2) for an unusable --echo-url, before anything is decrypted or
    created."""
    try:
        verify.check_echo_url(url)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return url


@app.command(name="verify")
def verify_command(
    stack: StackOption,
    *,
    echo_url: Annotated[
        str,
        typer.Option(
            "--echo-url",
            help=f"The echo server's http(s) URL, e.g. {verify.ECHO_URL_EXAMPLE}",
            callback=_checked_echo_url,
        ),
    ],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each probe pod.")] = 120.0,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            help="The guest cluster's kubeconfig file (default: the stack's kubeconfig output).",
        ),
    ] = None,
    probe_image: Annotated[
        str, typer.Option("--probe-image", help="The probe pod's image; it must contain curl.")
    ] = verify.DEFAULT_IMAGE,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Prove each zone's egress IP: a probe pod asks the echo server which IP it saw."""
    _require_stack_file(stack, work_dir)
    kubeconfig_text = _read_kubeconfig(kubeconfig) if kubeconfig is not None else None
    outputs = _verify_outputs(stack, work_dir)
    try:
        probes = verify.probes_from_outputs(outputs)
    except ValueError as error:
        _fail(f"cannot verify stack {stack}: {error}")
    if kubeconfig_text is None:
        kubeconfig_text = _kubeconfig_output(stack, outputs)
    if kubeconfig is not None:
        # Relative certificate and token paths in it start at its directory, as for kubectl.
        access = _kube_access(kubeconfig_text, str(kubeconfig), kubeconfig.expanduser().parent)
    else:
        access = _kube_access(kubeconfig_text, f"the kubeconfig output of stack {stack}", None)
    try:
        with KubeClient(access) as kube:
            results = verify.verify_zones(
                kube, probes, echo_url, timeout=timeout, image=probe_image
            )
    except (ValueError, KubeError, OSError) as error:
        _fail(f"cannot verify stack {stack}: {_error_text(error)}")
    out.print(verify.render_results(results))
    _cleanup_hint(results, kubeconfig)
    raise typer.Exit(
        ExitCode.OK if results and all(r.passed for r in results) else ExitCode.FAILURE
    )


def _verify_outputs(stack: str, work_dir: Path) -> dict[str, Any]:
    """The deployed stack's outputs, secrets revealed (the kubeconfig), or exit."""
    try:
        outputs = automation.stack_outputs(stack, work_dir=work_dir, reveal_secrets=True)
    except PulumiNotInstalledError as error:
        _fail(str(error))
    except auto.CommandError as error:
        _fail(
            f"cannot read the outputs of stack {stack}: {automation.describe_error(error)}",
            automation.exit_code_for(error),
        )
    except ValueError as error:
        _fail(f"cannot read the outputs of stack {stack}: {error}")
    if not outputs:
        _fail(f"stack {stack} has no outputs: deploy it first (egressctl up)")
    return outputs


def _read_kubeconfig(path: Path) -> str:
    try:
        return path.expanduser().read_text()
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"cannot read --kubeconfig {path}: {_error_text(error)}")


def _kubeconfig_output(stack: str, outputs: dict[str, Any]) -> str:
    value = outputs.get(OUTPUT_KUBECONFIG)
    if not isinstance(value, str) or not value:
        _fail(
            f"stack {stack} has no kubeconfig output: deploy it first (egressctl up) or give "
            "--kubeconfig PATH"
        )
    return value


def _kube_access(kubeconfig: str, source: str, base_dir: Path | None) -> KubeAccess:
    try:
        return KubeAccess.from_kubeconfig(kubeconfig, base_dir=base_dir)
    except yaml.YAMLError:
        # Not the parser's message: it quotes the offending line, which may hold a token.
        _fail(f"cannot use {source}: it is not valid YAML")
    except (ValueError, KubeError, KeyError, TypeError, AttributeError, OSError) as error:
        _fail(f"cannot use {source}: {_error_text(error)}")


def _error_text(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        name = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{name}"
    if isinstance(error, KeyError):
        return f"missing {error}"
    return str(error)


def _cleanup_hint(results: list[verify.ProbeResult], kubeconfig: Path | None) -> None:
    commands = verify.cleanup_commands(
        results, str(kubeconfig.expanduser()) if kubeconfig is not None else None
    )
    if commands:
        _say("Some probe pods could not be deleted; remove them with:", "yellow")
        for command in commands:
            _say(f"  {command}")


@app.command(name="discover")
def discover_command(stack: StackOption, work_dir: WorkDir = PROJECT_DIR) -> None:
    """Show the cluster's node segment candidates, its Tier-1 and the NAT-mode evidence."""
    config = _load_config(stack, work_dir)
    name = stack_short_name(stack)  # the stack file's name, Pulumi.<name>.yaml
    result = discover_stack(name, config, work_dir=work_dir, environ=os.environ)
    out.print(discovery_table(result))
    raise typer.Exit(int(result.exit_code))
