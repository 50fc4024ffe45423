"""A new stack's life under the real engine: preview, up, a second up, preview, destroy.

The tests of this module run in file order on one lab and one stack; each phase checks what
the engine reported and what NSX and both API servers hold.
"""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, ZONES
from tests_real_engine.steps import operate

pytestmark = pytest.mark.timeout(900)

ANTREA = "/apis/crd.antrea.io/v1beta1"
ANTREA_CONFIGS = "/apis/cni.tanzu.vmware.com/v1alpha1/namespaces/{ns}/antreaconfigs"
TKCS = "/apis/run.tanzu.vmware.com/v1alpha3/namespaces/{ns}/tanzukubernetesclusters"

PER_ZONE = (
    ("antrea-egress:index:EgressZone", "{zone}"),
    ("pulumi-python:dynamic/nsx:ChildSegment", "{zone}-segment"),
    ("pulumi-python:dynamic/antrea:IpRangeHistory", "{zone}-ranges"),
    ("kubernetes:crd.antrea.io/v1beta1:ExternalIPPool", "{zone}-pool"),
    ("kubernetes:crd.antrea.io/v1beta1:Egress", "{zone}-egress"),
)
EXPECTED = {
    ("pulumi:pulumi:Stack", "antrea-egress-lab"),
    ("pulumi:providers:kubernetes", "supervisor"),
    ("antrea-egress:index:TanzuCluster", CLUSTER),
    ("kubernetes:cni.tanzu.vmware.com/v1alpha1:AntreaConfig", f"{CLUSTER}-antrea-config"),
    ("kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster", f"{CLUSTER}-tkc"),
    ("kubernetes:core/v1:Secret", f"{CLUSTER}-kubeconfig"),
    ("pulumi:providers:kubernetes", f"{CLUSTER}-guest"),
    ("pulumi-python:dynamic/nsx:NodeSegment", f"{CLUSTER}-node-segment"),
    ("pulumi:providers:pulumi-python", "default"),
} | {(kind, name.format(zone=zone)) for zone in ZONES for kind, name in PER_ZONE}


def test_the_first_preview_of_a_new_stack_lists_every_resource(program: LabProgram) -> None:
    result, steps = operate(program.stack().preview)
    assert set(steps.ops) == EXPECTED
    planned = {key for key, op in steps.ops.items() if op == "create"}
    assert planned == EXPECTED - {("kubernetes:core/v1:Secret", f"{CLUSTER}-kubeconfig")}
    # The engine does not count default providers in its summary.
    counted = {(kind, name) for kind, name in planned if not name.startswith("default")}
    assert result.change_summary == {"create": len(counted)}


def test_up_creates_everything_in_the_field_procedures_order(program: LabProgram, lab: Lab) -> None:
    result, steps = operate(program.stack().up)
    assert result.summary.result == "succeeded"
    # The AntreaConfig exists before the TKC is created; the guest objects after the Ready TKC.
    assert steps.index("outputs", f"{CLUSTER}-antrea-config") < steps.index("pre", f"{CLUSTER}-tkc")
    for zone in ZONES:
        assert steps.index("outputs", f"{CLUSTER}-tkc") < steps.index("pre", f"{zone}-pool")
        assert steps.index("outputs", f"{zone}-segment") < steps.index("pre", f"{zone}-pool")
        assert steps.index("outputs", f"{zone}-pool") < steps.index("pre", f"{zone}-egress")


def test_nsx_holds_a_child_segment_per_zone(lab: Lab) -> None:
    for zone, (vlan, cidr, gateway, _) in ZONES.items():
        segment_id = naming.child_segment_id(lab.namespace, CLUSTER, zone)
        segment = lab.nsx.get(f"/infra/segments/{segment_id}")
        assert segment is not None, zone
        prefix = cidr.split("/")[1]
        assert segment["subnets"][0]["gateway_address"] == f"{gateway}/{prefix}"
        maps = lab.nsx.objects(f"/infra/segments/{segment_id}/segment-connection-binding-maps")
        assert [m["vlan_traffic_tag"] for m in maps.values()] == [vlan], zone


def test_the_supervisor_holds_the_antrea_config_the_program_wrote(lab: Lab) -> None:
    config = lab.supervisor.get(
        f"{ANTREA_CONFIGS.format(ns=lab.namespace)}/{naming.antrea_config_name(CLUSTER)}"
    )
    assert config is not None
    assert config["spec"]["antrea"]["config"]["featureGates"]["EgressSeparateSubnet"] is True
    assert config["spec"]["antreaNSX"] == {"enable": True}
    # Ours, found in place and adopted when the cluster came up, not the Supervisor's default.
    name = f"{lab.namespace}/{naming.antrea_config_name(CLUSTER)}"
    assert (lab.supervisor_double.adopted, lab.supervisor_double.defaulted) == ([name], [])
    assert [o["kind"] for o in config["metadata"]["ownerReferences"]] == ["Cluster"]
    tkc = lab.supervisor.get(f"{TKCS.format(ns=lab.namespace)}/{CLUSTER}")
    assert tkc is not None
    assert tkc["metadata"]["annotations"]["antrea-egress/antrea-config-checked"] == "kept"


def test_the_guest_holds_pools_and_egresses_with_the_exported_ip(
    program: LabProgram, lab: Lab
) -> None:
    outputs = program.stack().outputs()
    zones = outputs["zones"].value
    for zone, (vlan, cidr, gateway, _) in ZONES.items():
        pool = lab.guest.get(f"{ANTREA}/externalippools/{naming.external_ip_pool_name(zone)}")
        assert pool is not None
        assert pool["spec"]["subnetInfo"] == {
            "gateway": gateway,
            "prefixLength": int(cidr.split("/")[1]),
            "vlan": vlan,
        }
        egress = lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(zone)}")
        assert egress is not None
        status = egress["status"]
        assert {"type": "IPAssigned", "status": "True"}.items() <= _condition(status).items()
        assert status["egressIP"] == zones[zone]["egressIP"] != ""
        assert status["egressNode"] == zones[zone]["egressNode"]


def test_a_second_up_changes_nothing(program: LabProgram) -> None:
    result, _ = operate(program.stack().up)
    changes = dict(result.summary.resource_changes or {})
    # The kubeconfig Secret is read on every run (a `get`), which changes nothing.
    assert set(changes) == {"same", "read"}, changes


def test_preview_expects_no_changes(program: LabProgram) -> None:
    result, _ = operate(program.stack().preview, expect_no_changes=True)
    assert set(result.change_summary) == {"same", "read"}


def test_destroy_leaves_nothing_of_ours(program: LabProgram, lab: Lab) -> None:
    result, _ = operate(program.stack().destroy)
    assert result.summary.result == "succeeded"
    for zone in ZONES:
        segment_id = naming.child_segment_id(lab.namespace, CLUSTER, zone)
        assert lab.nsx.get(f"/infra/segments/{segment_id}") is None
        assert lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(zone)}") is None
        pool = naming.external_ip_pool_name(zone)
        assert lab.guest.get(f"{ANTREA}/externalippools/{pool}") is None
    assert lab.supervisor.get(f"{TKCS.format(ns=lab.namespace)}/{CLUSTER}") is None
    antrea_config = naming.antrea_config_name(CLUSTER)
    assert lab.supervisor.get(f"{ANTREA_CONFIGS.format(ns=lab.namespace)}/{antrea_config}") is None


def _condition(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "IPAssigned")
