"""`egressctl verify`: prove each zone's egress IP from inside the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pulumi import automation as auto

from antrea_egress.kube import KubeAccess, KubeClient, KubeError
from antrea_egress.outputs import OUTPUT_KUBECONFIG
from egressctl import automation, verify
from egressctl.automation import PulumiNotInstalledError
from egressctl.cli_common import (
    StackOption,
    WorkDir,
    error_text,
    fail,
    out,
    require_stack_file,
    say,
)
from egressctl.exit_codes import ExitCode
from egressctl.project import PROJECT_DIR


def checked_echo_url(url: str) -> str:
    """A usage error (exit 2) for an unusable --echo-url, before anything is decrypted or
    created."""
    try:
        verify.check_echo_url(url)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return url


def verify_command(
    stack: StackOption,
    *,
    echo_url: Annotated[
        str,
        typer.Option(
            "--echo-url",
            help=f"The echo server's http(s) URL, e.g. {verify.ECHO_URL_EXAMPLE}",
            callback=checked_echo_url,
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
    require_stack_file(stack, work_dir)
    kubeconfig_text = _read_kubeconfig(kubeconfig) if kubeconfig is not None else None
    outputs = _verify_outputs(stack, work_dir)
    try:
        probes = verify.probes_from_outputs(outputs)
    except ValueError as error:
        fail(f"cannot verify stack {stack}: {error}")
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
        fail(f"cannot verify stack {stack}: {error_text(error)}")
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
        fail(str(error))
    except auto.CommandError as error:
        fail(
            f"cannot read the outputs of stack {stack}: {automation.describe_error(error)}",
            automation.exit_code_for(error),
        )
    except ValueError as error:
        fail(f"cannot read the outputs of stack {stack}: {error}")
    if not outputs:
        fail(f"stack {stack} has no outputs: deploy it first (egressctl up)")
    return outputs


def _read_kubeconfig(path: Path) -> str:
    try:
        return path.expanduser().read_text()
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read --kubeconfig {path}: {error_text(error)}")


def _kubeconfig_output(stack: str, outputs: dict[str, Any]) -> str:
    value = outputs.get(OUTPUT_KUBECONFIG)
    if not isinstance(value, str) or not value:
        fail(
            f"stack {stack} has no kubeconfig output: deploy it first (egressctl up) or give "
            "--kubeconfig PATH"
        )
    return value


def _kube_access(kubeconfig: str, source: str, base_dir: Path | None) -> KubeAccess:
    try:
        return KubeAccess.from_kubeconfig(kubeconfig, base_dir=base_dir)
    except yaml.YAMLError:
        # Not the parser's message: it quotes the offending line, which may hold a token.
        fail(f"cannot use {source}: it is not valid YAML")
    except (ValueError, KubeError, KeyError, TypeError, AttributeError, OSError) as error:
        fail(f"cannot use {source}: {error_text(error)}")


def _cleanup_hint(results: list[verify.ProbeResult], kubeconfig: Path | None) -> None:
    commands = verify.cleanup_commands(
        results, str(kubeconfig.expanduser()) if kubeconfig is not None else None
    )
    if commands:
        say("Some probe pods could not be deleted; remove them with:", "yellow")
        for command in commands:
            say(f"  {command}")
