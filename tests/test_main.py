"""The whole program under Pulumi mocks, for both real stack files, in update and preview mode."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime import rpc

from antrea_egress.providers.base import UNKNOWN
from nsxsim import LAB
from tests.pulumi_harness import (
    GUEST_KUBECONFIG,
    FakeEngine,
    OfflineRun,
    run_program,
)

STACKS = {
    # stack: (cluster, vSphere Namespace, zone, VLAN, CIDR, gateway, range)
    "prod": (
        "tkc-prod01", "prod", "prod", 110, "10.100.5.0/25", "10.100.5.1",
        ("10.100.5.10", "10.100.5.20"),
    ),
    "staging": (
        "tkc-staging01", "staging", "staging", 120, "10.100.5.128/30", "10.100.5.129",
        ("10.100.5.130", "10.100.5.130"),
    ),
}  # fmt: skip

ANTREA_CONFIG = "cni.tanzu.vmware.com/v1alpha1:AntreaConfig"
TKC = "run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster"
POOL = "crd.antrea.io/v1beta1:ExternalIPPool"
EGRESS = "crd.antrea.io/v1beta1:Egress"
NAT_RULE = "nsxt:index/policyNatRule:PolicyNatRule"


@pytest.fixture(params=[False, True], ids=["update", "preview"])
def preview(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture(params=sorted(STACKS))
def run(request: pytest.FixtureRequest, preview: bool) -> OfflineRun:
    return run_program(request.param, preview=preview)


def values(run: OfflineRun) -> tuple[Any, ...]:
    return STACKS[run.stack]


def test_registers_exactly_the_expected_graph(run: OfflineRun) -> None:
    cluster, _, zone, *_ = values(run)
    assert sorted((r.type, r.name) for r in run.registrations) == sorted(
        [
            ("pulumi:providers:kubernetes", "supervisor"),
            ("pulumi:providers:nsxt", "nsx"),
            ("antrea-egress:index:TanzuCluster", cluster),
            (f"kubernetes:{ANTREA_CONFIG}", f"{cluster}-antrea-config"),
            (f"kubernetes:{TKC}", f"{cluster}-tkc"),
            ("kubernetes:core/v1:Secret", f"{cluster}-kubeconfig"),
            ("pulumi:providers:kubernetes", f"{cluster}-guest"),
            ("pulumi-python:dynamic/nsx:NodeSegment", f"{cluster}-node-segment"),
            ("antrea-egress:index:EgressZone", zone),
            ("pulumi-python:dynamic/nsx:ChildSegment", f"{zone}-segment"),
            (NAT_RULE, f"{zone}-nosnat"),
            ("pulumi-python:dynamic/antrea:IpRangeHistory", f"{zone}-ranges"),
            (f"kubernetes:{POOL}", f"{zone}-pool"),
            (f"kubernetes:{EGRESS}", f"{zone}-egress"),
        ]
    )


def test_antrea_config_comes_first_with_the_gate(run: OfflineRun) -> None:
    cluster, namespace, *_ = values(run)
    config = run.one(ANTREA_CONFIG)
    assert config.inputs["metadata"] == {
        "name": f"{cluster}-antrea-package",
        "namespace": namespace,
    }
    assert config.inputs["spec"]["antrea"]["config"]["featureGates"] == {
        "NodePortLocal": True,
        "EgressSeparateSubnet": True,
    }
    tkc = run.one(TKC)
    assert config.urn in tkc.dependencies
    assert tkc.inputs["metadata"]["annotations"] == {
        "pulumi.com/waitFor": "condition=Ready",
        # the AntreaConfig, as created, still has the gate and the NSX block
        "antrea-egress/antrea-config-checked": "kept",
    }
    timeouts = tkc.options.customTimeouts
    assert (timeouts.create, timeouts.update, timeouts.delete) == ("1h", "1h", "1h")
    assert tkc.options.protect is True


def test_supervisor_objects_use_the_supervisor_provider(run: OfflineRun) -> None:
    supervisor = run.named("supervisor")
    for kind in (ANTREA_CONFIG, TKC, "core/v1:Secret"):
        assert run.one(kind).provider_urn == supervisor.urn, kind
    assert supervisor.inputs["clusterIdentifier"] == f"supervisor/{run.stack}"
    assert supervisor.inputs["context"] == run.stack


def test_guest_kubeconfig_is_read_after_the_cluster_and_kept_secret(
    run: OfflineRun, preview: bool
) -> None:
    cluster, namespace, *_ = values(run)
    secret = run.one("core/v1:Secret")
    assert run.one(TKC).urn in secret.dependencies
    guest = run.named(f"{cluster}-guest")
    assert rpc.is_rpc_secret(guest.inputs["kubeconfig"])
    assert rpc.unwrap_rpc_secret(guest.inputs["kubeconfig"]) == GUEST_KUBECONFIG
    # Stable: a rotated certificate or a rebuilt cluster is the same provider (the guest
    # objects follow the cluster instance themselves).
    assert guest.inputs["clusterIdentifier"] == f"{namespace}/{cluster}"
    assert secret.read_id == f"{namespace}/{cluster}-kubeconfig"
    exported = run.exports["kubeconfig"]
    assert rpc.is_rpc_secret(exported)


def test_guest_objects_use_the_guest_provider_and_nsx_objects_the_nsx_provider(
    run: OfflineRun,
) -> None:
    cluster, *_ = values(run)
    guest = run.named(f"{cluster}-guest").urn
    assert run.one(POOL).provider_urn == guest
    assert run.one(EGRESS).provider_urn == guest
    assert run.one(NAT_RULE).provider_urn == run.named("nsx").urn
    for dynamic in ("ChildSegment", "NodeSegment", "IpRangeHistory"):
        assert run.one(dynamic).provider == "", dynamic  # dynamic resources bring their own


def test_every_resource_has_its_component_as_parent(run: OfflineRun) -> None:
    cluster, _, zone, *_ = values(run)
    components = {r.name: r.urn for r in run.registrations if not r.custom}
    top_level = {"supervisor", "nsx", cluster, zone}
    for record in run.registrations:
        if record.name in top_level:
            continue
        owner = cluster if record.name.startswith(cluster) else zone
        assert record.parent == components[owner], record.name


def test_zone_network_objects_from_the_field_procedure(run: OfflineRun) -> None:
    cluster, namespace, zone, vlan, cidr, gateway, _ = values(run)
    node_segment = run.one("NodeSegment")
    assert node_segment.inputs["vsphere_namespace"] == namespace
    assert node_segment.inputs["cluster"] == cluster
    assert run.one("core/v1:Secret").urn in node_segment.dependencies
    segment = run.one("ChildSegment")
    assert node_segment.urn in segment.dependencies
    assert segment.inputs["nsx_id"] == f"egress-{namespace}-{cluster}-{zone}"
    assert segment.inputs["parent_path"] == LAB.node_segment_path
    assert (segment.inputs["vlan"], segment.inputs["cidr"], segment.inputs["gateway"]) == (
        vlan,
        cidr,
        gateway,
    )
    assert {"scope": "antrea-egress/zone", "tag": zone} in segment.inputs["tags"]
    rule = run.one(NAT_RULE)
    assert segment.urn in rule.dependencies
    assert rule.inputs["action"] == "NO_SNAT"
    assert rule.inputs["gatewayPath"] == LAB.tier1_path
    assert rule.inputs["sourceNetworks"] == [cidr]
    assert rule.inputs["firewallMatch"] == "BYPASS"
    assert (
        rule.inputs["nsxId"]
        == rule.inputs["displayName"]
        == f"nosnat-egress-{namespace}-{cluster}-{zone}"
    )
    assert {"scope": "antrea-egress/cluster", "tag": f"{namespace}/{cluster}"} in rule.inputs[
        "tags"
    ]


def test_pool_after_segment_and_rule_egress_after_pool(run: OfflineRun) -> None:
    _, _, zone, vlan, cidr, gateway, (start, end) = values(run)
    pool, egress = run.one(POOL), run.one(EGRESS)
    assert {run.one("ChildSegment").urn, run.one(NAT_RULE).urn} <= set(pool.dependencies)
    assert pool.urn in egress.dependencies
    assert "namespace" not in pool.inputs["metadata"]
    assert pool.inputs["metadata"]["name"] == f"{zone}-external-ip-pool"
    assert pool.inputs["spec"] == {
        "ipRanges": [{"start": start, "end": end}],
        "subnetInfo": {"gateway": gateway, "prefixLength": int(cidr.split("/")[1]), "vlan": vlan},
        "nodeSelector": {},
    }
    assert list(pool.options.replace_with) == [run.one("IpRangeHistory").urn]
    assert pool.options.deleteBeforeReplace is True
    assert "egressIP" not in egress.inputs["spec"]
    assert egress.inputs["spec"]["externalIPPool"] == f"{zone}-external-ip-pool"
    assert list(egress.options.ignoreChanges) == ["spec.egressIP"]
    # a replaced pool means a new IP: the Egress is recreated and awaited with it
    assert list(egress.options.replace_with) == [run.one("IpRangeHistory").urn]
    assert egress.options.deleteBeforeReplace is True


def test_exports_per_zone(run: OfflineRun) -> None:
    cluster, namespace, zone, vlan, cidr, gateway, (start, end) = values(run)
    exports = run.exports
    assert exports["cluster"] == cluster
    assert exports["vsphereNamespace"] == namespace
    assert exports["nodeSegment"] == LAB.node_segment_path
    summary = exports["zones"][zone]
    assert summary["egressIP"] == start
    assert summary["egressNode"] == f"{zone}-node-1"
    assert (summary["cidr"], summary["gateway"], summary["vlan"]) == (cidr, gateway, vlan)
    assert summary["ipRanges"] == [{"start": start, "end": end}]
    assert summary["segmentPath"] == f"/infra/segments/egress-{namespace}-{cluster}-{zone}"
    assert summary["tier1Path"] == LAB.tier1_path
    assert summary["namespace"] == namespace
    assert summary["podSelector"] == {"matchLabels": {"app": "web"}}
    assert summary["natMode"] is True


def test_preview_before_the_cluster_exists_defers_the_kubeconfig_read() -> None:
    run = run_program("prod", preview=True, engine=FakeEngine(stack_deployed=False))
    secret = run.one("core/v1:Secret")
    assert secret.read_id == UNKNOWN  # the engine skips reads whose id is unknown
    assert len(run.by_type(EGRESS)) == 1  # the rest of the graph is still previewed
