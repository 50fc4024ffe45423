"""`egressctl preflight`: read-only checks of every assumption the program makes about the
user's NSX, Supervisor and guest cluster, before the first `up`.

- `model`: a check's outcome (PASS, WARN, FAIL, with evidence and fix) and the run's report;
- `context`: the settings, the read-only clients and the facts the checks share;
- `nsx_checks`, `supervisor_checks`, `guest_checks`: the checks, one module per system;
- `checks`: the one table of checks (`CHECKS`), running it, and the table people see.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from antrea_egress.config import StackConfig
from egressctl.discover import plain_values
from egressctl.offline import stack_values
from egressctl.preflight.checks import CHECKS, report_table, run_checks, summary_lines
from egressctl.preflight.context import PreflightContext
from egressctl.preflight.model import PreflightReport, Status
from egressctl.project import PROJECT_DIR

__all__ = [
    "CHECKS",
    "PreflightReport",
    "Status",
    "preflight_stack",
    "report_table",
    "summary_lines",
]


def preflight_stack(
    stack: str,
    config: StackConfig,
    *,
    work_dir: Path = PROJECT_DIR,
    environ: Mapping[str, str],
) -> PreflightReport:
    """Every check against the systems the stack file points at; nothing is changed."""
    values: dict[str, Any] = plain_values(stack_values(stack, work_dir))
    with PreflightContext(stack, config, values.get, environ) as ctx:
        return run_checks(ctx)
