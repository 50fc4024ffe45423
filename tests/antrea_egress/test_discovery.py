"""Node-segment discovery against a fake Supervisor API and the NSX simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from antrea_egress.discovery import (
    CAPI_CLUSTER,
    VIRTUAL_NETWORK_INTERFACES,
    VIRTUAL_NETWORKS,
    DiscoveryError,
    discover_node_segment,
    namespace_snat_ip,
)
from antrea_egress.kube import KubeAccess, KubeClient
from antrea_egress.nsx.client import NsxClient
from antrea_egress.nsx.settings import NsxSettings
from nsxsim import LAB, NsxSimulator
from tests.conftest import nsx_config
from tests.fakes.kube_api import FakeKubeApi

# Every test here waits on the simulator and a fake Supervisor: a hang fails within 20 s.
pytestmark = pytest.mark.timeout(20)

NAMESPACE, CLUSTER, INFRA = "test", "tkc-test01", "tkc-test01-x7k2p"
VNET = f"{INFRA}-vnet"


def seed_supervisor(api: FakeKubeApi, *, interfaces: bool = True, vnet_name: str = VNET) -> None:
    api.put(
        CAPI_CLUSTER.format(namespace=NAMESPACE, name=CLUSTER),
        {
            "kind": "Cluster",
            "spec": {"infrastructureRef": {"kind": "VSphereCluster", "name": INFRA}},
        },
    )
    api.put(
        f"{VIRTUAL_NETWORKS.format(namespace=NAMESPACE)}/{vnet_name}",
        {
            "kind": "VirtualNetwork",
            "metadata": {
                "uid": LAB.vnet_uid,
                "ownerReferences": [{"kind": "VSphereCluster", "name": INFRA}],
            },
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "defaultSNATIP": "10.114.19.164",
            },
        },
    )
    api.put(
        "/api/v1/namespaces/test",
        {"kind": "Namespace", "metadata": {"annotations": {"ncp/snat_ip": "10.114.19.164"}}},
    )
    if not interfaces:
        return
    collection = VIRTUAL_NETWORK_INTERFACES.format(namespace=NAMESPACE)
    for node in ("cp-0", "worker-0", "worker-1"):
        api.put(
            f"{collection}/{node}-{vnet_name}-eth0",
            {
                "spec": {"virtualNetwork": vnet_name},
                "status": {"providerStatus": {"nsxLogicalSwitchID": LAB.node_segment_unique_id}},
            },
        )
    api.put(
        f"{collection}/other-cluster-vm-eth0",
        {
            "spec": {"virtualNetwork": "someone-else-vnet"},
            "status": {
                "providerStatus": {"nsxLogicalSwitchID": "ffffffff-0000-4000-8000-000000000009"}
            },
        },
    )


@pytest.fixture
def supervisor() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as api:
        yield api


def clients(api: FakeKubeApi, sim: NsxSimulator) -> tuple[KubeClient, NsxClient]:
    settings = NsxSettings.resolve(nsx_config(sim).get, {})
    return KubeClient(KubeAccess.from_kubeconfig(api.kubeconfig())), NsxClient(settings)


def test_finds_the_segment_by_logical_switch_id(supervisor: FakeKubeApi, sim: NsxSimulator) -> None:
    seed_supervisor(supervisor)
    kube, nsx = clients(supervisor, sim)
    with kube, nsx:
        found = discover_node_segment(kube, nsx, NAMESPACE, CLUSTER)
    segment = found.segment
    assert (segment.path, segment.tier1_path, segment.found_by) == (
        LAB.node_segment_path,
        LAB.tier1_path,
        "unique_id",
    )
    assert found.logical_switch_ids == (LAB.node_segment_unique_id,)
    assert found.nat_mode_evidence == f"VirtualNetwork {VNET} has defaultSNATIP 10.114.19.164"


def test_reads_no_more_than_it_needs(supervisor: FakeKubeApi, sim: NsxSimulator) -> None:
    seed_supervisor(supervisor)
    kube, nsx = clients(supervisor, sim)
    sim.clear_requests()
    with kube, nsx:
        discover_node_segment(kube, nsx, NAMESPACE, CLUSTER)
    assert [r.method for r in supervisor.requests] == ["GET", "GET", "GET"]
    assert [(r.method, r.path) for r in sim.requests] == [("GET", "/policy/api/v1/search/query")]


def test_falls_back_to_the_vnet_tag_before_nodes_exist(
    supervisor: FakeKubeApi, sim: NsxSimulator
) -> None:
    seed_supervisor(supervisor, interfaces=False)
    kube, nsx = clients(supervisor, sim)
    with kube, nsx:
        found = discover_node_segment(kube, nsx, NAMESPACE, CLUSTER)
    assert (found.segment.path, found.segment.found_by) == (LAB.node_segment_path, "tag")


def test_finds_a_virtual_network_by_owner_when_its_name_differs(
    supervisor: FakeKubeApi, sim: NsxSimulator
) -> None:
    seed_supervisor(supervisor, vnet_name="renamed-network")
    kube, nsx = clients(supervisor, sim)
    with kube, nsx:
        assert (
            discover_node_segment(kube, nsx, NAMESPACE, CLUSTER).segment.path
            == LAB.node_segment_path
        )


def test_no_match_lists_what_was_looked_up_and_how_to_set_it(
    supervisor: FakeKubeApi, sim: NsxSimulator
) -> None:
    seed_supervisor(supervisor)
    sim.modify(LAB.node_segment_path, unique_id="changed", tags=[])
    kube, nsx = clients(supervisor, sim)
    with kube, nsx:
        found = discover_node_segment(kube, nsx, NAMESPACE, CLUSTER)
    with pytest.raises(DiscoveryError) as caught:
        _ = found.segment
    message = str(caught.value)
    assert "found no NSX segment" in message
    assert VNET in message
    assert LAB.node_segment_unique_id in message
    assert "antrea-egress:cluster.nodeSegment" in message


def test_several_matches_are_listed(supervisor: FakeKubeApi, sim: NsxSimulator) -> None:
    seed_supervisor(supervisor, interfaces=False)
    second = sim.seed_segment(
        f"vnet_{LAB.vnet_uid}_1",
        connectivity_path=LAB.tier1_path,
        tags=[{"scope": "ncp/vnet_uid", "tag": LAB.vnet_uid}],
    )
    kube, nsx = clients(supervisor, sim)
    with kube, nsx:
        found = discover_node_segment(kube, nsx, NAMESPACE, CLUSTER)
    with pytest.raises(DiscoveryError) as caught:
        _ = found.segment
    assert LAB.node_segment_path in str(caught.value)
    assert second in str(caught.value)


def test_missing_cluster_says_what_to_check(supervisor: FakeKubeApi, sim: NsxSimulator) -> None:
    kube, nsx = clients(supervisor, sim)
    with kube, nsx, pytest.raises(DiscoveryError, match="no Cluster API Cluster test/tkc-test01"):
        discover_node_segment(kube, nsx, NAMESPACE, CLUSTER)


def test_namespace_snat_annotation(supervisor: FakeKubeApi) -> None:
    seed_supervisor(supervisor)
    with KubeClient(KubeAccess.from_kubeconfig(supervisor.kubeconfig())) as kube:
        assert namespace_snat_ip(kube, NAMESPACE) == "10.114.19.164"
