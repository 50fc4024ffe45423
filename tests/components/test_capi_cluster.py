"""The program graph with `cluster.api: cluster`: a Cluster API Cluster in place of the TKC."""

from __future__ import annotations

import json
from typing import Any

import pytest

from antrea_egress import capi, manifests
from tests.components.test_tanzu_cluster import PruningSupervisor, field_procedure_cluster
from tests.pulumi_harness import CLUSTER_UID, run_program

TKC = "run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster"
CAPI_CLUSTER = "cluster.x-k8s.io/v1beta1:Cluster"
ANTREA_CONFIG = "cni.tanzu.vmware.com/v1alpha1:AntreaConfig"
INSTANCE = "antrea-egress/cluster-instance"


def cluster_api(**cluster: Any) -> dict[str, Any]:
    return field_procedure_cluster(api="cluster", **cluster)


def test_the_cluster_replaces_the_tkc_after_the_same_antrea_config() -> None:
    run = run_program("prod", values=cluster_api())
    assert run.by_type(TKC) == []
    declared = run.one(CAPI_CLUSTER)
    assert declared.name == "tkc-prod01-cluster"
    antrea_config = run.one(ANTREA_CONFIG)
    assert antrea_config.name == "tkc-prod01-antrea-config"
    assert antrea_config.inputs["metadata"]["name"] == "tkc-prod01-antrea-package"
    assert antrea_config.urn in declared.dependencies
    assert declared.inputs["metadata"]["annotations"]["antrea-egress/antrea-config-checked"] == (
        "kept"
    )


def test_the_kubeconfig_and_the_guest_objects_wait_for_the_cluster() -> None:
    run = run_program("prod", values=cluster_api())
    declared = run.one(CAPI_CLUSTER)
    secret = run.one("core/v1:Secret")
    assert secret.read_id == "prod/tkc-prod01-kubeconfig"
    assert declared.urn in secret.dependencies
    for kind in ("crd.antrea.io/v1beta1:ExternalIPPool", "crd.antrea.io/v1beta1:Egress"):
        assert all(declared.urn in r.dependencies for r in run.by_type(kind)), kind
    # Neither is created until the control plane is initialised and the workers are available.
    waits = json.loads(declared.inputs["metadata"]["annotations"]["pulumi.com/waitFor"])
    assert waits == [
        "condition=ControlPlaneInitialized",
        "jsonpath={.status.v1beta2.conditions[?(@.type=='Available')].status}=True",
    ]


def test_only_the_version_the_supervisor_rewrites_is_ignored() -> None:
    options = run_program("prod", values=cluster_api()).one(CAPI_CLUSTER).options
    assert list(options.ignoreChanges) == ["spec.topology.version"]
    assert options.protect is True
    assert options.deleteBeforeReplace is True
    timeouts = options.customTimeouts
    assert (timeouts.create, timeouts.update, timeouts.delete) == ("1h", "1h", "1h")


def test_the_guest_objects_live_in_the_clusters_instance() -> None:
    run = run_program("prod", values=cluster_api())
    pool = run.one("crd.antrea.io/v1beta1:ExternalIPPool")
    assert pool.inputs["metadata"]["annotations"][INSTANCE] == f"uid:{CLUSTER_UID}"


def test_a_cluster_retired_from_a_tkc_keeps_the_tkcs_instance() -> None:
    """So adopting the Cluster (README, "From a TKC to a Cluster") replaces no pool or Egress."""
    run = run_program("prod", values=cluster_api(retiredTkcUid="3a1f-tkc-uid"))
    pool = run.one("crd.antrea.io/v1beta1:ExternalIPPool")
    assert pool.inputs["metadata"]["annotations"][INSTANCE] == "uid:3a1f-tkc-uid"


def test_no_cluster_on_an_antrea_config_the_supervisor_pruned() -> None:
    with pytest.raises(
        manifests.AntreaConfigPrunedError,
        match=r"featureGates\.EgressSeparateSubnet.*The Cluster was not",
    ):
        run_program("prod", values=cluster_api(), engine=PruningSupervisor())


def test_the_tkc_stays_the_default() -> None:
    run = run_program("prod")
    assert [r.name for r in run.by_type(TKC)] == ["tkc-prod01-tkc"]
    assert run.by_type(CAPI_CLUSTER) == []
    assert capi.CLUSTER_API == "cluster.x-k8s.io/v1beta1"


class ShapingPruningSupervisor(PruningSupervisor):
    """A Supervisor whose AntreaConfig CRD keeps EgressSeparateSubnet and the NSX block, but
    not the EgressTrafficShaping gate a bandwidth zone needs."""

    def outputs(self, args: Any, state: dict[str, Any]) -> dict[str, Any]:
        if args.typ.endswith(ANTREA_CONFIG):
            gates = {"EgressSeparateSubnet": True}
            spec = {"antrea": {"config": {"featureGates": gates}}, manifests.ANTREA_NSX_BLOCK: {}}
            return {**state, "spec": spec}
        return super().outputs(args, state)


@pytest.mark.parametrize(("api", "kind"), [("tkc", "TKC"), ("cluster", "Cluster")])
def test_a_bandwidth_zone_needs_the_traffic_shaping_gate_kept_by_either_api(
    api: str, kind: str
) -> None:
    values = field_procedure_cluster(api=api)
    values["antrea-egress:zones"][0]["bandwidth"] = {"rate": "100M", "burst": "200M"}
    with pytest.raises(
        manifests.AntreaConfigPrunedError,
        match=rf"featureGates\.EgressTrafficShaping from .* The {kind} was not created",
    ):
        run_program("prod", values=values, engine=ShapingPruningSupervisor())
