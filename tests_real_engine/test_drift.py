"""Out-of-band changes, as an operator or another tool makes them: `pulumi refresh` shows each
one, and the next `up` repairs it. One lab and one stack, in file order."""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, values
from tests_real_engine.steps import Steps, operate

pytestmark = pytest.mark.timeout(900)

ANTREA = "/apis/crd.antrea.io/v1beta1"
ZONE = "payments"


@pytest.fixture(scope="module")
def deployed(program: LabProgram) -> LabProgram:
    assert program.stack().up().summary.result == "succeeded"
    return program


def segment_path(lab: Lab) -> str:
    return f"/infra/segments/{naming.child_segment_id(lab.namespace, CLUSTER, ZONE)}"


def binding_map(lab: Lab) -> tuple[str, dict[str, Any]]:
    maps = lab.nsx.objects(f"{segment_path(lab)}/segment-connection-binding-maps")
    assert len(maps) == 1, maps
    return next(iter(maps.items()))


def refresh_then_up(program: LabProgram) -> tuple[Steps, Steps]:
    stack = program.stack()
    _, refreshed = operate(stack.refresh)
    result, up = operate(stack.up)
    assert result.summary.result == "succeeded"
    return refreshed, up


def drifted(steps: Steps, name: str) -> list[str]:
    """What refresh found for one resource: [] when nothing drifted."""
    return [op for op in steps.outcome_of(name) if op not in ("same", "refresh")]


def test_a_changed_binding_map_vlan_is_seen_and_repaired(deployed: LabProgram, lab: Lab) -> None:
    path, _ = binding_map(lab)
    lab.nsx.modify(path, vlan_traffic_tag=999)
    refreshed, up = refresh_then_up(deployed)
    assert drifted(refreshed, f"{ZONE}-segment") == ["update"]
    assert set(up.ops_of(f"{ZONE}-segment")) == {"create-replacement", "delete-replaced", "replace"}
    assert binding_map(lab)[1]["vlan_traffic_tag"] == 110


def test_a_deleted_binding_map_is_seen_and_repaired(deployed: LabProgram, lab: Lab) -> None:
    path, _ = binding_map(lab)
    lab.nsx.remove(path)
    refreshed, _ = refresh_then_up(deployed)
    assert drifted(refreshed, f"{ZONE}-segment") != []
    assert binding_map(lab)[1]["vlan_traffic_tag"] == 110


def test_a_deleted_segment_is_seen_and_created_again(deployed: LabProgram, lab: Lab) -> None:
    path, _ = binding_map(lab)
    lab.nsx.remove(path)
    lab.nsx.remove(segment_path(lab))
    refreshed, up = refresh_then_up(deployed)
    assert drifted(refreshed, f"{ZONE}-segment") == ["delete"]
    assert up.ops_of(f"{ZONE}-segment") == ["create"]
    assert lab.nsx.get(segment_path(lab)) is not None
    assert binding_map(lab)[1]["vlan_traffic_tag"] == 110


def test_a_deleted_egress_is_seen_and_created_again(deployed: LabProgram, lab: Lab) -> None:
    egress = f"{ANTREA}/egresses/{naming.egress_name(ZONE)}"
    assert lab.guest.delete(egress)
    refreshed, up = refresh_then_up(deployed)
    assert drifted(refreshed, f"{ZONE}-egress") == ["delete"]
    assert up.ops_of(f"{ZONE}-egress") == ["create"]
    live = lab.guest.get(egress)
    assert live is not None
    zones = deployed.stack().outputs()["zones"].value
    assert live["status"]["egressIP"] == zones[ZONE]["egressIP"]


def test_an_edited_pool_node_selector_is_seen_and_put_back(deployed: LabProgram, lab: Lab) -> None:
    """A selector value the stack sets, changed out of band, is reported and set back."""
    config = values(lab)
    zones = config["antrea-egress:zones"][0]
    next(z for z in zones if z["name"] == ZONE)["nodeSelector"] = {"kubernetes.io/os": "linux"}
    deployed.configure(config)
    assert deployed.stack().up().summary.result == "succeeded"
    pool = f"{ANTREA}/externalippools/{naming.external_ip_pool_name(ZONE)}"
    edited = {"matchLabels": {"kubernetes.io/os": "windows"}}
    lab.guest.merge_patch(pool, {"spec": {"nodeSelector": edited}})

    refreshed, up = refresh_then_up(deployed)

    assert drifted(refreshed, f"{ZONE}-pool") == ["update"]
    assert up.ops_of(f"{ZONE}-pool") == ["update"]
    live = lab.guest.get(pool)
    assert live is not None
    assert live["spec"]["nodeSelector"] == {"matchLabels": {"kubernetes.io/os": "linux"}}
