"""The rules of the cluster and of its parts: network, Antrea settings, topology.

Each rule is a small function of the model it checks, the model's location and the key
function for messages that name another key; `rules.RULES` lists them.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from antrea_egress.config.keys import KeyFunction, Loc, Problem
from antrea_egress.config.limits import (
    CLUSTER_CONTROL_PLANE_REPLICAS,
    FEATURE_GATE_EGRESS,
    FEATURE_GATE_EGRESS_SEPARATE_SUBNET,
)

if TYPE_CHECKING:
    from antrea_egress.config.cluster import AntreaSettings, ClusterConfig, ClusterNetwork

# The gates egress zones cannot do without, and why.
_REQUIRED_GATES = {
    FEATURE_GATE_EGRESS_SEPARATE_SUBNET: "egress zones need it, and the program always sets it "
    "true",
    FEATURE_GATE_EGRESS: "egress zones are Antrea Egresses",
}


def located_networks(
    network: ClusterNetwork, at: Loc
) -> list[tuple[Loc, str, ipaddress.IPv4Network]]:
    """Every pod and service network that parsed, with its location and text for messages."""
    return [
        (
            (*at, field, index),
            cidr if field in network.model_fields_set else f"{cidr} (the TKC's default)",
            ipaddress.IPv4Network(cidr, strict=False),
        )
        for field in ("pods", "services")
        if network._has(field)
        for index, cidr in enumerate(getattr(network, field))
    ]


def services_clear_of_pods(network: ClusterNetwork, at: Loc, key: KeyFunction) -> list[Problem]:
    """The service CIDRs do not overlap the pod CIDRs."""
    located = located_networks(network, at)
    pods = [item for item in located if item[0][len(at)] == "pods"]
    services = [item for item in located if item[0][len(at)] == "services"]
    return [
        (service_loc, f"{service} overlaps {key(pod_loc)} {pod}")
        for service_loc, service, service_network in services
        for pod_loc, pod, pod_network in pods
        if service_network.overlaps(pod_network)
    ]


def egress_gates_not_disabled(antrea: AntreaSettings, at: Loc, key: KeyFunction) -> list[Problem]:
    """The Egress and EgressSeparateSubnet feature gates are not set false."""
    del key
    if not antrea._has("feature_gates"):
        return []
    return [
        ((*at, "featureGates", gate), f"must not be false: {reason}")
        for gate, reason in _REQUIRED_GATES.items()
        if antrea.feature_gates.get(gate) is False
    ]


def managed_cluster_is_complete(cluster: ClusterConfig, at: Loc, key: KeyFunction) -> list[Problem]:
    """A cluster the program creates (manage: true) has a TKr, a control plane and a node pool."""
    del key
    if not (cluster._has("manage") and cluster.manage):
        return []
    problems: list[Problem] = []
    if cluster._has("tkr") and cluster.tkr is None:
        problems.append(((*at, "tkr"), "required when manage is true"))
    if cluster._has("control_plane") and cluster.control_plane is None:
        problems.append(((*at, "controlPlane"), "required when manage is true"))
    if cluster._has("node_pools") and not cluster.node_pools:
        problems.append(
            ((*at, "nodePools"), "at least one node pool is required when manage is true")
        )
    return problems


def node_pool_names_unique(cluster: ClusterConfig, at: Loc, key: KeyFunction) -> list[Problem]:
    """No two node pools share a name."""
    if not cluster._has("node_pools"):
        return []
    problems: list[Problem] = []
    first_use: dict[str, int] = {}
    for index, pool in enumerate(cluster.node_pools):
        if not pool._has("name"):
            continue
        if pool.name in first_use:
            earlier = key((*at, "nodePools", first_use[pool.name], "name"))
            problems.append(
                ((*at, "nodePools", index, "name"), f"{pool.name!r} duplicates {earlier}")
            )
        else:
            first_use[pool.name] = index
    return problems


def cluster_api_control_plane_fits(
    cluster: ClusterConfig, at: Loc, key: KeyFunction
) -> list[Problem]:
    """A Cluster API Cluster (api: cluster) has a control plane of one or three machines."""
    del key
    if not cluster._has("api", "control_plane") or not cluster.uses_cluster_api:
        return []
    control_plane = cluster.control_plane
    if control_plane is None or not control_plane._has("replicas"):
        return []
    if control_plane.replicas in CLUSTER_CONTROL_PLANE_REPLICAS:
        return []
    allowed = " or ".join(str(n) for n in CLUSTER_CONTROL_PLANE_REPLICAS)
    return [
        (
            (*at, "controlPlane", "replicas"),
            f"must be {allowed} with api: cluster (the ClusterClass's control plane), got "
            f"{control_plane.replicas}",
        )
    ]
