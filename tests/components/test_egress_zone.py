"""EgressZone variants: several zones on one parent, routed mode, demo workloads, overrides."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pulumi_harness import run_program, stack_values

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
    assert run.one(POOL).dependencies == [run.one("ChildSegment").urn]
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
    with pytest.raises(Exception, match=r"zones\[1\]\.appliedTo\.namespace: demoWorkloads"):
        run_program("prod", values=values)
