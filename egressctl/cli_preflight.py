"""The preflight command: read-only checks against NSX, the Supervisor and the guest cluster."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from antrea_egress.config import ConfigError, StackConfig, load_stack_file
from egressctl.cli_common import StackOption, WorkDir, fail, out, print_text, require_stack_file
from egressctl.preflight import preflight_stack, report_table, summary_lines
from egressctl.project import PROJECT_DIR, stack_short_name


def preflight_command(
    stack: StackOption,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the checks as one JSON document instead of a table."),
    ] = False,
    work_dir: WorkDir = PROJECT_DIR,
) -> None:
    """Check every assumption about NSX, the Supervisor and the guest cluster; change nothing.

    Each check is PASS, WARN or FAIL with what it saw and the fix; exit 1 when one failed.
    Values the stack file keeps encrypted come from NSXT_PASSWORD and KUBECONFIG.
    """
    config = _load(stack, work_dir)
    report = preflight_stack(stack_short_name(stack), config, work_dir=work_dir, environ=os.environ)
    if as_json:
        print_text(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        out.print(report_table(report))
        for line in summary_lines(report):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(int(report.exit_code))


def _load(stack: str, work_dir: Path) -> StackConfig:
    try:
        config, _ = load_stack_file(require_stack_file(stack, work_dir))
    except ConfigError as error:
        fail(f"invalid configuration of stack {stack}:\n{error}")
    return config
