"""EgressZone variants: several zones on one parent, routed mode, demo workloads, overrides."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from antrea_egress.manifests import PoolPrunedError
from egressctl.offline import Registration
from nsxsim import LAB
from tests.pulumi_harness import FakeEngine, run_program, stack_values

POOL = "crd.antrea.io/v1beta1:ExternalIPPool"
NAT_RULE = "nsxt:index/policyNatRule:PolicyNatRule"
OTHER_PARENT = "/infra/segments/vnet_72650c98-1f37-4474-85fd-bd96009c040f_0"


def two_zones() -> dict[str, Any]:
    """prod's zone plus a second one on the same parent (the field procedure's two zones)."""
    values = stack_values("prod")
    values["antrea-egress:zones"] = [
        *values["antrea-egress:zones"],
        {
            "name": "staging",
            "vlan": 120,
            "cidr": "10.100.5.128/30",
            "gateway": "10.100.5.129",
            "ipRanges": [{"start": "10.100.5.130", "end": "10.100.5.130"}],
            "appliedTo": {"namespace": "staging", "podSelector": {"app": "web"}},
        },
    ]
    return values


def test_several_zones_on_one_parent() -> None:
    run = run_program("prod", values=two_zones())
    segments = {r.inputs["nsx_id"]: r for r in run.by_type("ChildSegment")}
    assert sorted(segments) == ["egress-prod-tkc-prod01-prod", "egress-prod-tkc-prod01-staging"]
    node_segment = run.one("NodeSegment")
    for segment in segments.values():
        assert node_segment.urn in segment.dependencies  # both hang off the discovered parent
    assert sorted(s.inputs["vlan"] for s in segments.values()) == [110, 120]
    assert len(run.by_type(NAT_RULE)) == 2
    assert sorted(run.exports["zones"]) == ["prod", "staging"]
    pools = {r.inputs["metadata"]["name"]: r for r in run.by_type(POOL)}
    assert sorted(pools) == ["prod-external-ip-pool", "staging-external-ip-pool"]


def test_routed_mode_has_no_nosnat_rule() -> None:
    values = stack_values("prod")
    values["antrea-egress:natMode"] = False
    run = run_program("prod", values=values)
    assert run.by_type(NAT_RULE) == []
    assert run.by_type("pulumi:providers:nsxt") == []  # nor the NSX-T provider it needs
    assert set(run.one(POOL).dependencies) == {
        run.one("ChildSegment").urn,
        run.one("IpRangeHistory").urn,  # the annotation that names it
        run.one("TanzuKubernetesCluster").urn,  # the cluster instance it lives in
    }
    assert run.exports["zones"]["prod"]["natMode"] is False


def test_demo_workloads() -> None:
    values = stack_values("prod")
    values["antrea-egress:demoWorkloads"] = True
    run = run_program("prod", values=values)
    guest = run.named("tkc-prod01-guest").urn
    namespace = run.one("core/v1:Namespace")
    deployment = run.one("apps/v1:Deployment")
    assert namespace.inputs["metadata"]["name"] == "prod"
    assert deployment.inputs["metadata"]["namespace"] == "prod"
    assert namespace.urn in deployment.dependencies
    assert deployment.inputs["spec"]["replicas"] == 2
    assert deployment.inputs["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    assert {namespace.provider_urn, deployment.provider_urn} == {guest}


def test_zone_parent_segment_overrides_the_cluster_node_segment() -> None:
    values = two_zones()
    values["antrea-egress:zones"][1]["parentSegment"] = OTHER_PARENT
    run = run_program("prod", values=values)
    parents = {r.inputs["nsx_id"]: r.inputs["parent_path"] for r in run.by_type("ChildSegment")}
    assert parents["egress-prod-tkc-prod01-staging"] == OTHER_PARENT
    assert parents["egress-prod-tkc-prod01-prod"].startswith("/infra/segments/vnet_60f55536")


def test_appending_a_range_is_recorded_in_the_range_history() -> None:
    values = stack_values("prod")
    zone = values["antrea-egress:zones"][0]
    zone["ipRanges"] = [*zone["ipRanges"], {"cidr": "10.100.5.32/28"}]
    run = run_program("prod", values=values)
    history = run.one("IpRangeHistory")
    assert history.inputs["ip_ranges"] == [
        {"start": "10.100.5.10", "end": "10.100.5.20"},
        {"cidr": "10.100.5.32/28"},
    ]
    assert history.inputs["pool"] == "prod-external-ip-pool"


def test_demo_workloads_need_a_namespace_per_zone() -> None:
    values = two_zones()
    values["antrea-egress:demoWorkloads"] = True
    values["antrea-egress:zones"][1]["appliedTo"]["namespace"] = "prod"
    with pytest.raises(pulumi.RunError, match=r"zones\[1\]\.appliedTo\.namespace: demoWorkloads"):
        run_program("prod", values=values)


# --- the NoSNAT rule follows the parent's Tier-1, not the child segment -------------------


def property_dependencies(record: Registration, prop: str) -> list[str]:
    return list(record.options.propertyDependencies[prop].urns)


def test_the_nosnat_rule_hangs_off_the_discovered_tier1_not_the_child_segment() -> None:
    """A dynamic provider cannot preview, so any change of the child segment would make its
    outputs unknown and show the rule as replaced: the rule must not take them."""
    run = run_program("prod")
    rule = run.one(NAT_RULE)
    assert rule.inputs["gatewayPath"] == LAB.tier1_path
    assert property_dependencies(rule, "gatewayPath") == [run.one("NodeSegment").urn]
    assert run.one("ChildSegment").urn in rule.dependencies  # still created after it


def test_a_zone_with_its_own_parent_reads_that_parents_tier1() -> None:
    values = two_zones()
    values["antrea-egress:zones"][1]["parentSegment"] = OTHER_PARENT
    run = run_program("prod", values=values)
    (lookup,) = run.by_type("ParentSegment")
    assert lookup.inputs["path"] == OTHER_PARENT
    rules = {r.inputs["sourceNetworks"][0]: r for r in run.by_type(NAT_RULE)}
    assert property_dependencies(rules["10.100.5.128/30"], "gatewayPath") == [lookup.urn]
    assert property_dependencies(rules["10.100.5.0/25"], "gatewayPath") == [
        run.one("NodeSegment").urn
    ]


# --- the Egress's IP: only once an agent holds it -------------------------------------


class AllocatedNotAssigned(FakeEngine):
    """antrea-controller has allocated (IPAllocated, `egressIP: ""`), no Node holds the IP."""

    def outputs(self, args: Any, state: dict[str, Any]) -> dict[str, Any]:
        state = super().outputs(args, state)
        if args.typ.endswith(":Egress"):
            conditions = [{"type": "IPAllocated", "status": "True", "reason": "Allocated"}]
            state["status"] = {"egressIP": "", "egressNode": "", "conditions": conditions}
        return state


def test_an_unassigned_egress_exports_no_ip() -> None:
    summary = run_program("prod", engine=AllocatedNotAssigned()).exports["zones"]["prod"]
    assert (summary["egressIP"], summary["egressNode"]) == (None, None)


class PrunedSubnetInfo(FakeEngine):
    """An Antrea older than 1.15: its ExternalIPPool CRD drops spec.subnetInfo."""

    def outputs(self, args: Any, state: dict[str, Any]) -> dict[str, Any]:
        state = super().outputs(args, state)
        if args.typ.endswith(":ExternalIPPool"):
            state["spec"] = {k: v for k, v in state["spec"].items() if k != "subnetInfo"}
        return state


def test_no_egress_on_a_pool_that_lost_its_subnet_info() -> None:
    with pytest.raises(PoolPrunedError, match=r"older than 1\.15") as caught:
        run_program("prod", engine=PrunedSubnetInfo())
    assert "ExternalIPPool prod-external-ip-pool" in str(caught.value)


def test_the_egress_waits_for_the_pool_check() -> None:
    run = run_program("prod")
    egress = run.one("crd.antrea.io/v1beta1:Egress")
    assert egress.inputs["metadata"]["annotations"]["antrea-egress/pool-checked"] == "kept"
    assert run.one(POOL).urn in property_dependencies(egress, "metadata")


def test_the_pool_names_its_range_history_so_a_replacement_is_previewed_from_inputs() -> None:
    """In a preview that replaces the history, its id is unknown, so pulumi-kubernetes skips
    the server-side dry run of the new pool (which Antrea's webhook would refuse as an edit
    of the pool still in place): shown under the real engine in tests_real_engine."""
    run = run_program("prod")
    pool = run.one(POOL)
    history = run.one("IpRangeHistory")
    annotations = pool.inputs["metadata"]["annotations"]
    assert annotations["antrea-egress/range-history"] == "prod-external-ip-pool"
    assert history.urn in property_dependencies(pool, "metadata")
