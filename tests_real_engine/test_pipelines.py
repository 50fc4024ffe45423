"""egressctl as pipelines run it, against the real Pulumi CLI: exit codes, `--json` documents
that match the engine's own events, the user's stack selection restored, and the preview text
a pull request shows. The commands run with `--inline` (docs/real-engine.md §2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from typer.testing import CliRunner

from antrea_egress import naming
from egressctl.cli import app
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, values
from tests_real_engine.steps import operate

pytestmark = pytest.mark.timeout(1200)

ZONE = "payments"


def egressctl(
    program: LabProgram, tmp_path: Path, command: str, *extra: str
) -> tuple[int, dict[str, Any], str]:
    """Run `egressctl <command> --stack lab --inline --json ...`: exit code, document, output."""
    document = tmp_path / f"{command}.json"
    args = [command, "--stack", program.stack_name, "--inline", "--json", str(document)]
    args += ["--work-dir", str(program.project_dir), *extra]
    result = CliRunner().invoke(app, args, env=program.environment(), catch_exceptions=False)
    return result.exit_code, json.loads(document.read_text()), result.output


def changes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(change["urn"].rsplit("::", 1)[-1], change["op"]) for change in document["changes"]}


@pytest.fixture(scope="module")
def other_stack_selected(program: LabProgram) -> auto.Workspace:
    """A user who has another stack selected: egressctl must leave it selected."""
    stack = program.stack()  # creates the lab stack
    workspace = stack.workspace
    workspace.create_stack("other")
    workspace.select_stack("other")
    return workspace


def selected(workspace: auto.Workspace) -> str | None:
    summary = workspace.stack()
    return summary.name if summary else None


def test_preview_documents_what_the_engine_plans(
    program: LabProgram, other_stack_selected: auto.Workspace, tmp_path: Path
) -> None:
    code, document, _ = egressctl(program, tmp_path, "preview")
    assert code == 0
    assert selected(other_stack_selected) == "other"
    _, steps = operate(program.stack().preview)  # (this selects the lab stack)
    planned = {(name, op) for (_, name), op in steps.ops.items() if op not in ("same", "read")}
    assert changes(document) == planned
    other_stack_selected.select_stack("other")


def test_up_then_no_drift(
    program: LabProgram, other_stack_selected: auto.Workspace, tmp_path: Path
) -> None:
    code, document, _ = egressctl(program, tmp_path, "up")
    assert code == 0, document
    assert document["summary"]["create"] > 0
    code, document, _ = egressctl(program, tmp_path, "drift")
    assert code == 0, document
    assert document["changes"] == []
    assert selected(other_stack_selected) == "other"


def test_drift_exits_3_naming_the_changed_objects_and_refresh_records_them(
    program: LabProgram, lab: Lab, tmp_path: Path
) -> None:
    segment = f"/infra/segments/{naming.child_segment_id(lab.namespace, CLUSTER, ZONE)}"
    (binding_map,) = lab.nsx.objects(f"{segment}/segment-connection-binding-maps")
    lab.nsx.modify(binding_map, vlan_traffic_tag=999)

    code, document, _ = egressctl(program, tmp_path, "drift")
    assert code == 3
    assert (f"{ZONE}-segment", "replace") in changes(document)

    code, document, _ = egressctl(program, tmp_path, "refresh")
    assert code == 0
    assert (f"{ZONE}-segment", "update") in changes(document)

    code, _, _ = egressctl(program, tmp_path, "up")
    assert code == 0
    code, _, _ = egressctl(program, tmp_path, "drift")
    assert code == 0


def test_the_pull_request_preview_shows_which_objects_change(program: LabProgram, lab: Lab) -> None:
    """What pulumi/actions posts on a pull request is the CLI's `preview --diff --refresh`
    output: a reviewer must find the NSX and Kubernetes objects and the values that change."""
    config = values(lab)
    zones = config["antrea-egress:zones"][0]
    next(z for z in zones if z["name"] == ZONE)["vlan"] = 111
    program.configure(config)
    result = program.stack().preview(diff=True, refresh=True)
    text = result.stdout
    assert "+-pulumi-python:dynamic/nsx:ChildSegment: (replace)" in text
    assert f"ChildSegment::{ZONE}-segment]" in text
    assert "~ kubernetes:crd.antrea.io/v1beta1:ExternalIPPool: (update)" in text
    assert f"ExternalIPPool::{ZONE}-pool]" in text
    assert text.count("~ vlan       : 110 => 111") >= 1  # the segment's VLAN, before and after
    assert "~ vlan: 110 => 111" in text  # the pool's subnetInfo.vlan
    program.configure(values(lab))


def test_destroy_needs_yes_and_then_removes_everything(
    program: LabProgram, lab: Lab, other_stack_selected: auto.Workspace, tmp_path: Path
) -> None:
    other_stack_selected.select_stack("other")  # the tests above used the lab stack directly
    code, document, _ = egressctl(program, tmp_path, "destroy")
    assert code == 1 and "without --yes" in document["message"]
    code, document, _ = egressctl(program, tmp_path, "destroy", "--yes")
    assert code == 0, document
    assert document["summary"]["delete"] > 0
    segment = f"/infra/segments/{naming.child_segment_id(lab.namespace, CLUSTER, ZONE)}"
    assert lab.nsx.get(segment) is None
    assert selected(other_stack_selected) == "other"
