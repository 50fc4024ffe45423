"""A Cluster API stack's life under the real engine: preview, up, a second up, preview, destroy.

`cluster.api: cluster` declares a v1beta1 Cluster on the versioned ClusterClass in place of the
TKC. The lab's Supervisor plays it (lab/controllers/capi.py) and rewrites it on every write
through a real mutating webhook (lab/controllers/tkr_resolver.py). The tests of this module run
in file order on one lab and one stack.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, ZONES, cluster_api_values
from tests_real_engine.steps import operate

pytestmark = pytest.mark.timeout(900)

ANTREA = "/apis/crd.antrea.io/v1beta1"
ANTREA_CONFIGS = "/apis/cni.tanzu.vmware.com/v1alpha1/namespaces/{ns}/antreaconfigs"
CLUSTERS = "/apis/cluster.x-k8s.io/v1beta1/namespaces/{ns}/clusters"
CLUSTER_TYPE = "kubernetes:cluster.x-k8s.io/v1beta1:Cluster"
TKR = "v1.31.1---vmware.2-fips-vkr.2"

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
    (CLUSTER_TYPE, f"{CLUSTER}-cluster"),
    ("kubernetes:core/v1:Secret", f"{CLUSTER}-kubeconfig"),
    ("pulumi:providers:kubernetes", f"{CLUSTER}-guest"),
    ("pulumi-python:dynamic/nsx:NodeSegment", f"{CLUSTER}-node-segment"),
    ("pulumi:providers:pulumi-python", "default"),
} | {(kind, name.format(zone=zone)) for zone in ZONES for kind, name in PER_ZONE}


@pytest.fixture(scope="module")
def program(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> LabProgram:
    stack = LabProgram(lab.toolchain, tmp_path_factory.mktemp("program"))
    stack.configure(cluster_api_values(lab))
    return stack


def test_the_first_preview_lists_the_cluster_in_place_of_the_tkc(program: LabProgram) -> None:
    _, steps = operate(program.stack().preview)
    assert set(steps.ops) == EXPECTED
    planned = {key for key, op in steps.ops.items() if op == "create"}
    assert planned == EXPECTED - {("kubernetes:core/v1:Secret", f"{CLUSTER}-kubeconfig")}


def test_up_creates_the_cluster_after_its_antrea_config_and_waits_for_its_workers(
    program: LabProgram, lab: Lab
) -> None:
    result, steps = operate(program.stack().up)
    assert result.summary.result == "succeeded"
    cluster = f"{CLUSTER}-cluster"
    assert steps.index("outputs", f"{CLUSTER}-antrea-config") < steps.index("pre", cluster)
    assert steps.index("outputs", cluster) < steps.index("pre", f"{CLUSTER}-kubeconfig")
    # The Cluster was done only once Available: the state holds the status it ended on.
    (declared,) = [
        r
        for r in program.checkpoint()["checkpoint"]["latest"]["resources"]
        if r["type"] == CLUSTER_TYPE
    ]
    conditions = declared["outputs"]["status"]["v1beta2"]["conditions"]
    assert {"type": "Available", "status": "True"}.items() <= _of(conditions, "Available").items()
    available_at = lab.capi_double.available_at[f"{lab.namespace}/{CLUSTER}"]
    for zone in ZONES:
        assert steps.index("outputs", cluster) < steps.index("pre", f"{zone}-pool")
        # The double turns the workers Available seconds after the control plane: a pool made
        # on ControlPlaneInitialized alone would predate it.
        pool = lab.guest.get(f"{ANTREA}/externalippools/{naming.external_ip_pool_name(zone)}")
        assert pool is not None
        assert _created(pool) >= int(available_at), zone


def test_the_supervisor_holds_the_cluster_the_program_declared(lab: Lab) -> None:
    cluster = lab.supervisor.get(f"{CLUSTERS.format(ns=lab.namespace)}/{CLUSTER}")
    assert cluster is not None
    topology = cluster["spec"]["topology"]
    assert topology["class"] == "builtin-generic-v3.2.0"
    assert "classNamespace" not in topology
    assert topology["controlPlane"] == {"replicas": 1}
    assert [(md["class"], md["name"], md["replicas"]) for md in _deployments(topology)] == [
        ("node-pool", "np1", 2)
    ]
    assert cluster["spec"]["clusterNetwork"] == {
        "pods": {"cidrBlocks": ["192.168.0.0/16"]},
        "services": {"cidrBlocks": ["172.31.0.0/16"]},
        "serviceDomain": "cluster.local",
    }
    # What the TKR resolver wrote: the resolved version, its label, TKR_DATA after ours.
    assert topology["version"] == "v1.31.1+vmware.2-fips"
    assert cluster["metadata"]["labels"]["run.tanzu.vmware.com/tkr"] == TKR
    assert [v["name"] for v in topology["variables"]] == ["vmClass", "storageClass", "TKR_DATA"]
    assert [v["name"] for v in _deployments(topology)[0]["variables"]["overrides"]] == ["TKR_DATA"]
    # Discovery's chain, written by Cluster API and NCP.
    assert cluster["spec"]["infrastructureRef"]["kind"] == "VSphereCluster"


def test_the_antrea_config_was_adopted_by_the_cluster(lab: Lab) -> None:
    name = naming.antrea_config_name(CLUSTER)
    config = lab.supervisor.get(f"{ANTREA_CONFIGS.format(ns=lab.namespace)}/{name}")
    assert config is not None
    assert config["spec"]["antrea"]["config"]["featureGates"]["EgressSeparateSubnet"] is True
    assert (lab.capi_double.adopted, lab.capi_double.defaulted) == ([f"{lab.namespace}/{name}"], [])
    assert [o["kind"] for o in config["metadata"]["ownerReferences"]] == ["Cluster"]


def test_the_guest_holds_pools_and_egresses_with_the_exported_ip(
    program: LabProgram, lab: Lab
) -> None:
    zones = program.stack().outputs()["zones"].value
    assert program.stack().outputs()["nodeSegment"].value.endswith("_0")
    for zone in ZONES:
        egress = lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(zone)}")
        assert egress is not None
        assert egress["status"]["egressIP"] == zones[zone]["egressIP"] != ""


def test_a_second_up_changes_nothing(program: LabProgram) -> None:
    """The Supervisor's rewrites (version, label, TKR_DATA) cause no diff."""
    result, steps = operate(program.stack().up)
    assert set(dict(result.summary.resource_changes or {})) == {"same", "read"}, steps.changed()


def test_preview_expects_no_changes(program: LabProgram) -> None:
    result, _ = operate(program.stack().preview, expect_no_changes=True)
    assert set(result.change_summary) == {"same", "read"}


def test_a_refresh_then_a_preview_still_expects_no_changes(program: LabProgram) -> None:
    """A refresh reads the rewritten Cluster back into the state; the next run still leaves it."""
    operate(program.stack().refresh)
    result, _ = operate(program.stack().preview, expect_no_changes=True)
    assert set(result.change_summary) == {"same", "read"}


def test_destroy_leaves_nothing_of_ours(program: LabProgram, lab: Lab) -> None:
    result, _ = operate(program.stack().destroy)
    assert result.summary.result == "succeeded"
    for zone in ZONES:
        assert lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(zone)}") is None
        segment_id = naming.child_segment_id(lab.namespace, CLUSTER, zone)
        assert lab.nsx.get(f"/infra/segments/{segment_id}") is None
    assert lab.supervisor.get(f"{CLUSTERS.format(ns=lab.namespace)}/{CLUSTER}") is None
    name = naming.antrea_config_name(CLUSTER)
    assert lab.supervisor.get(f"{ANTREA_CONFIGS.format(ns=lab.namespace)}/{name}") is None


def _of(conditions: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(c for c in conditions if c["type"] == kind)


def _deployments(topology: dict[str, Any]) -> list[dict[str, Any]]:
    return list(topology["workers"]["machineDeployments"])


def _created(obj: dict[str, Any]) -> int:
    stamp = obj["metadata"]["creationTimestamp"]
    return int(dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp())
