"""The guest-cluster checks against the fake Kubernetes API: a passing and a failing case each.

Where the API server decides (the ExternalIPPool CRD's pruning, Antrea's webhook), the fake's
admission hook plays it: pruning with Antrea's public CRDs from schemas/crds.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from antrea_egress import manifests, naming
from egressctl.preflight.guest_checks import selects
from egressctl.preflight.model import Status
from tests.crd_schemas import openapi_schema, pruned
from tests.egressctl.preflight.world import CLUSTER, NAMESPACE, POOLS, World, seed_guest
from tests.fakes.kube_api import AdmissionRefusedError

# Antrea 1.14's ExternalIPPool had no subnetInfo; the 1.15 CRD minus that field plays it.
POOL_CRD = "antrea_crd.antrea.io_externalippools_v1.15.0.yaml"


def pool_crd_without_subnet_info(path: str, obj: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(openapi_schema(POOL_CRD, "v1beta1"))  # the CRD is cached: copy
    del schema["properties"]["spec"]["properties"]["subnetInfo"]
    return dict(pruned(obj, schema)) if path == POOLS else obj


def other_pool(
    name: str, ranges: list[dict[str, str]], subnet: dict[str, Any] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"ipRanges": ranges, "nodeSelector": {}}
    if subnet is not None:
        spec["subnetInfo"] = subnet
    return {"kind": "ExternalIPPool", "metadata": {"name": name}, "spec": spec}


def test_guest_checks_wait_for_the_cluster(site: World) -> None:
    assert "does not exist yet" in str(site.waits_for("guest-reachable"))


def test_guest_reachable(deployed: World) -> None:
    outcome = deployed.check("guest-reachable")
    assert outcome.status == Status.PASS
    assert "Kubernetes v1.31.1+vmware.2-fips" in outcome.evidence


def test_guest_refusing_the_kubeconfig_fails(deployed: World) -> None:
    secret = f"/api/v1/namespaces/{NAMESPACE}/secrets/{naming.kubeconfig_secret_name(CLUSTER)}"
    stale = deployed.guest.kubeconfig(token="rotated-away")
    deployed.supervisor.put(
        secret, {"kind": "Secret", "data": {"value": base64.b64encode(stale.encode()).decode()}}
    )
    outcome = deployed.check("guest-reachable")
    assert outcome.status == Status.FAIL
    assert "HTTP 401" in outcome.evidence
    assert "rotated-away" not in outcome.evidence


def test_antrea_version(deployed: World) -> None:
    assert deployed.check("guest-antrea-version").evidence == "Antrea 2.1 (at least 1.15)"
    seed_guest(deployed.guest, antrea="v1.14.2-3a2b1c")
    outcome = deployed.check("guest-antrea-version")
    assert outcome.status == Status.FAIL
    assert "Antrea 1.14" in outcome.evidence


def test_no_antrea_fails(deployed: World) -> None:
    info = "/apis/crd.antrea.io/v1beta1/antreacontrollerinfos/antrea-controller"
    deployed.guest.put(info, {"kind": "AntreaControllerInfo"})
    assert deployed.check("guest-antrea-version").status == Status.FAIL


@pytest.mark.parametrize(
    ("antrea", "conf", "status"),
    [
        ("v2.1.0", "featureGates:\n  EgressSeparateSubnet: true\n", Status.PASS),
        ("v2.1.0", "featureGates:\n  EgressSeparateSubnet: false\n", Status.FAIL),
        ("v2.1.0", "featureGates: {}\n", Status.FAIL),  # off by default before 2.3
        ("v2.3.0", "featureGates: {}\n", Status.PASS),  # on by default from 2.3
        ("v2.3.0", "featureGates:\n  Egress: false\n", Status.FAIL),
        ("v2.1.0", "- not a mapping\n", Status.FAIL),
    ],
)
def test_egress_gate(deployed: World, antrea: str, conf: str, status: Status) -> None:
    seed_guest(deployed.guest, antrea=antrea, agent_conf=conf)
    assert deployed.check("guest-egress-gate").status == status


def test_pools_pass_by_a_dry_run_that_stores_nothing(deployed: World) -> None:
    outcome = deployed.check("guest-pools")
    assert outcome.status == Status.PASS
    assert "a dry run of the pool payments-external-ip-pool keeps subnetInfo" in outcome.evidence
    assert deployed.guest.created == []
    assert len(deployed.guest.dry_runs) == 2


def test_pools_pruned_of_subnet_info_fail(deployed: World) -> None:
    deployed.guest.admission = pool_crd_without_subnet_info
    outcome = deployed.check("guest-pools")
    assert outcome.status == Status.FAIL
    assert "dropped spec.subnetInfo" in outcome.evidence


def test_pools_refused_by_antrea_s_webhook_fail(deployed: World) -> None:
    def refuse(path: str, obj: dict[str, Any]) -> dict[str, Any]:
        message = 'admission webhook "externalippoolvalidator.crd.antrea.io" denied the request'
        raise AdmissionRefusedError(403, message)

    deployed.guest.admission = refuse
    outcome = deployed.check("guest-pools")
    assert outcome.status == Status.FAIL
    assert "denied the request" in outcome.evidence


def test_a_stored_pool_is_read_not_dry_run(deployed: World) -> None:
    name = naming.external_ip_pool_name("payments")
    pool = other_pool(name, [{"cidr": "10.100.5.0/28"}])
    pool["metadata"]["labels"] = manifests.zone_labels(deployed.config().zones[0])
    deployed.guest.put(f"{POOLS}/{name}", pool)
    outcome = deployed.check("guest-pools")
    assert outcome.status == Status.FAIL  # stored without subnetInfo
    assert f"dropped spec.subnetInfo from the ExternalIPPool {name}" in outcome.evidence
    assert [d["metadata"]["name"] for d in deployed.guest.dry_runs] == [
        "reporting-external-ip-pool"
    ]


def test_a_pool_of_the_zone_s_name_made_by_someone_else_fails(deployed: World) -> None:
    name = naming.external_ip_pool_name("payments")
    deployed.guest.put(f"{POOLS}/{name}", other_pool(name, [{"cidr": "10.100.5.0/28"}]))
    outcome = deployed.check("guest-pools")
    assert outcome.status == Status.FAIL
    assert f"an ExternalIPPool {name} exists that this stack did not make" in outcome.evidence


def test_nodes_matching_each_zone(deployed: World) -> None:
    outcome = deployed.check("guest-nodes")
    assert outcome.status == Status.PASS
    assert "zone payments: 3 of 3 Nodes can hold its IP" in outcome.evidence
    deployed.values["antrea-egress:zones"][1]["nodeSelector"] = {"egress": "reporting"}
    outcome = deployed.check("guest-nodes")
    assert outcome.status == Status.FAIL
    assert "zone reporting: no Node matches" in outcome.evidence


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ({}, True),
        ({"matchLabels": {"kubernetes.io/os": "linux"}}, True),
        ({"matchLabels": {"kubernetes.io/os": "windows"}}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "gpu", "operator": "NotIn", "values": ["x"]}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, False),
    ],
)
def test_selects_as_kubernetes_does(selector: dict[str, Any], selected: bool) -> None:
    assert selects(selector, {"kubernetes.io/os": "linux", "zone": "a"}) is selected


def test_other_pools_holding_a_zone_s_range_fail(deployed: World) -> None:
    deployed.guest.put(f"{POOLS}/team-x", other_pool("team-x", [{"cidr": "10.200.0.0/24"}]))
    assert deployed.check("guest-pool-ranges").status == Status.PASS
    overlap = other_pool("team-y", [{"start": "10.100.5.15", "end": "10.100.5.30"}])
    deployed.guest.put(f"{POOLS}/team-y", overlap)
    outcome = deployed.check("guest-pool-ranges")
    assert outcome.status == Status.FAIL
    assert "zone payments: other pools hold its ranges: team-y (10.100.5.15-10.100.5.30)" in (
        outcome.evidence
    )


def test_egress_subnets_within_antrea_s_twenty(deployed: World) -> None:
    def pool(index: int) -> dict[str, Any]:
        subnet = {"gateway": f"10.50.{index}.1", "prefixLength": 24, "vlan": 500 + index}
        return other_pool(f"other-{index}", [{"cidr": f"10.50.{index}.0/25"}], subnet)

    for index in range(18):
        deployed.guest.put(f"{POOLS}/other-{index}", pool(index))
    outcome = deployed.check("guest-egress-subnets")
    assert (outcome.status, outcome.evidence) == (
        Status.PASS,
        "2 subnets of this stack, 18 of other pools: 20 of 20",
    )
    deployed.guest.put(f"{POOLS}/other-18", pool(18))
    outcome = deployed.check("guest-egress-subnets")
    assert outcome.status == Status.FAIL
    assert "21 in all, Antrea handles 20" in outcome.evidence


# --- a zone's bandwidth needs EgressTrafficShaping in the agents -----------------------------

LIMIT = {"rate": "100M", "burst": "200M"}
SEPARATE = "featureGates:\n  EgressSeparateSubnet: true\n"


def limit_payments(world: World) -> None:
    zones = [dict(z) for z in world.values["antrea-egress:zones"]]
    zones[0]["bandwidth"] = LIMIT
    world.set("zones", zones)


@pytest.mark.parametrize(
    ("conf", "status", "evidence"),
    [
        (SEPARATE + "  EgressTrafficShaping: true\n", Status.PASS,
         "EgressTrafficShaping: true in the agents' configuration (zones with a bandwidth: "
         "payments)"),
        (SEPARATE + "  EgressTrafficShaping: false\n", Status.FAIL,
         "EgressTrafficShaping: false in the agents' configuration; zones with a bandwidth: "
         "payments"),
        (SEPARATE, Status.FAIL,
         "EgressTrafficShaping: not set (off by default) in the agents' configuration; zones "
         "with a bandwidth: payments"),
        ("- not a mapping\n", Status.FAIL, "antrea-agent.conf is not a YAML mapping"),
    ],
)  # fmt: skip
def test_traffic_shaping_gate_with_a_bandwidth(
    deployed: World, conf: str, status: Status, evidence: str
) -> None:
    limit_payments(deployed)
    seed_guest(deployed.guest, agent_conf=conf)

    outcome = deployed.check("guest-traffic-shaping-gate")

    assert (outcome.status, outcome.evidence) == (status, evidence)


def test_traffic_shaping_gate_is_not_needed_without_a_bandwidth(deployed: World) -> None:
    outcome = deployed.check("guest-traffic-shaping-gate")

    assert outcome.status == Status.PASS
    assert outcome.evidence == "no zone has a bandwidth: the gate is not needed"


def test_traffic_shaping_gate_on_an_unmanaged_cluster_says_the_gate_is_the_user_s(
    deployed: World,
) -> None:
    limit_payments(deployed)
    deployed.set("cluster", {"name": CLUSTER, "vsphereNamespace": NAMESPACE, "manage": False})

    outcome = deployed.check("guest-traffic-shaping-gate")

    assert outcome.status == Status.FAIL
    assert "cluster.manage is false" in outcome.fix


def test_traffic_shaping_gate_waits_for_the_cluster(site: World) -> None:
    assert "does not exist yet" in str(site.waits_for("guest-traffic-shaping-gate"))
