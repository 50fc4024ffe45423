"""The Kubernetes objects of a stack, as plain dicts: one source of truth for their shape.

The configuration holds what the user said; this module says how Kubernetes and Antrea spell
it (a range as an ExternalIPPool item, a selector, an Egress's appliedTo, the subnetInfo).
Components turn these into Pulumi resources; the offline render writes them to YAML; tests
validate them against the CRD schemas. Nothing here imports Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from antrea_egress import naming
from antrea_egress.config import (
    NAMESPACE_NAME_LABEL,
    AntreaSettings,
    AppliedTo,
    Bandwidth,
    ClusterConfig,
    IpRange,
    LabelSelector,
    LabelSelectorRequirement,
    ZoneConfig,
)

ANTREA_CONFIG_API = "cni.tanzu.vmware.com/v1alpha1"
TKC_API = "run.tanzu.vmware.com/v1alpha3"
ANTREA_API = "crd.antrea.io/v1beta1"

# The AntreaConfig's NSX block. The field procedure (run on TKG Service 3.2) writes
# `antreaNSX`; the last public CRD (tanzu-framework v0.29) spells it `antreaNsx`, and an API
# server refuses (server-side apply) or drops (plain create) a key its schema lacks
# (docs/antrea-and-tanzu.md §5.1). UNCONFIRMED which one the Supervisor's CRD has: check with
#   kubectl explain antreaconfig.spec --api-version=cni.tanzu.vmware.com/v1alpha1
# and change this one constant if it says antreaNsx.
ANTREA_NSX_BLOCK = "antreaNSX"

# An annotation on the TKC recording that the AntreaConfig kept what the program set.
ANTREA_CONFIG_CHECKED = "antrea-egress/antrea-config-checked"
# An annotation on the Egress recording that its pool kept `subnetInfo`.
POOL_CHECKED = "antrea-egress/pool-checked"
# An annotation on the pool naming its range history (the value matters only in previews).
RANGE_HISTORY = "antrea-egress/range-history"
# An annotation on the pool and Egress naming the cluster instance they live in.
CLUSTER_INSTANCE = "antrea-egress/cluster-instance"
# Antrea learnt ExternalIPPool.spec.subnetInfo (and the EgressSeparateSubnet gate) in 1.15; an
# older CRD refuses the field under server-side apply and drops it on a plain create
# (docs/antrea-and-tanzu.md §5.1), which check_pool_kept catches.
ANTREA_SUBNET_INFO_SINCE = "1.15"

# Egress needs Antrea's encap mode; antrea-nsx-routed (noEncap) does not support it.
TKC_CNI = "antrea"

WAIT_FOR = "pulumi.com/waitFor"
# The stack is the source of truth for the guest objects it declares: an out-of-band edit of a
# field it sets (a pool's nodeSelector, say) is taken back on the next `up` instead of failing
# with a server-side-apply conflict (pulumi-kubernetes provider/pkg/await/await.go patchForce).
PATCH_FORCE = "pulumi.com/patchForce"
OWNED_BY_THE_STACK = {PATCH_FORCE: "true"}
TKC_READY = "condition=Ready"
# The agent that holds the IP sets IPAssigned=True together with status.egressIP and egressNode.
# Not `jsonpath={.status.egressIP}`: antrea-controller writes `egressIP: ""` (the field has no
# omitempty) with IPAllocated before any Node holds the IP, and a JSONPath without a value is
# satisfied as soon as the path exists. The condition exists since Antrea 1.14.
EGRESS_ASSIGNED_CONDITION = "IPAssigned"
EGRESS_ASSIGNED = f"condition={EGRESS_ASSIGNED_CONDITION}"

DEMO_IMAGE = "nginx:1.27"
DEMO_APP_LABEL = {"app": "web"}
DEMO_REPLICAS = 2


MANAGED_LABELS = {
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/part-of": "antrea-egress",
}


def zone_labels(zone: ZoneConfig) -> dict[str, str]:
    return {**MANAGED_LABELS, naming.TAG_SCOPE_ZONE: zone.name}


# --- the config's values as Kubernetes and Antrea spell them ------------------------------


def ip_range(item: IpRange) -> dict[str, str]:
    """An ExternalIPPool `ipRanges` item: `{cidr}` or `{start, end}`."""
    if item.cidr is not None:
        return {"cidr": item.cidr}
    return {"start": str(item.start), "end": str(item.end)}


def ip_ranges(zone: ZoneConfig) -> list[dict[str, str]]:
    """The zone's ExternalIPPool `ipRanges`, in the order they were written."""
    return [ip_range(item) for item in zone.ip_ranges]


def ip_range_from_antrea(item: Mapping[str, Any]) -> IpRange:
    """An `ipRanges` item read back (from a manifest or a stack output), validated."""
    return IpRange.model_validate(item)


def subnet_info(zone: ZoneConfig) -> dict[str, Any]:
    """The ExternalIPPool `subnetInfo`: the zone's gateway, prefix length and VLAN."""
    return {"gateway": zone.gateway, "prefixLength": zone.prefix_length, "vlan": zone.vlan}


def label_selector(selector: LabelSelector) -> dict[str, Any]:
    """A Kubernetes LabelSelector; `{}` when empty."""
    out: dict[str, Any] = {}
    if selector.match_labels:
        out["matchLabels"] = dict(selector.match_labels)
    if selector.match_expressions:
        out["matchExpressions"] = [_requirement(item) for item in selector.match_expressions]
    return out


def _requirement(requirement: LabelSelectorRequirement) -> dict[str, Any]:
    out: dict[str, Any] = {"key": requirement.key, "operator": requirement.operator}
    if requirement.values:
        out["values"] = list(requirement.values)
    return out


def label_selector_from_kubernetes(selector: Mapping[str, Any]) -> LabelSelector:
    """A LabelSelector read back (from a stack output), validated."""
    return LabelSelector.model_validate(dict(selector))


def applied_to(target: AppliedTo) -> dict[str, Any]:
    """The Egress `appliedTo`: the namespace by its name label, or the zone's namespace
    selector; without a pod selector, all Pods of those namespaces."""
    namespaces = (
        label_selector(target.namespace_selector)
        if target.namespace_selector is not None
        else {"matchLabels": {NAMESPACE_NAME_LABEL: target.namespace}}
    )
    out: dict[str, Any] = {"namespaceSelector": namespaces}
    if not target.pod_selector.is_empty:
        out["podSelector"] = label_selector(target.pod_selector)
    return out


# --- Supervisor objects ------------------------------------------------------------------


def antrea_config(cluster: ClusterConfig, *, traffic_shaping: bool = False) -> dict[str, Any]:
    """Must exist before the cluster: the Supervisor adopts it only under this name, and
    `enable` of the NSX block is immutable once created. With `traffic_shaping` (a zone
    limits its bandwidth) the EgressTrafficShaping gate is on too."""
    gates = cluster.antrea.feature_gates_for(traffic_shaping=traffic_shaping)
    return {
        "apiVersion": ANTREA_CONFIG_API,
        "kind": "AntreaConfig",
        "metadata": {
            "name": naming.antrea_config_name(cluster.name),
            "namespace": cluster.vsphere_namespace,
        },
        "spec": {
            "antrea": {"config": {"featureGates": gates}},
            ANTREA_NSX_BLOCK: {"enable": cluster.antrea.nsx},
        },
    }


class AntreaConfigPrunedError(Exception):
    """The Supervisor's AntreaConfig CRD dropped a field the program set."""


def check_antrea_config_kept(
    cluster: ClusterConfig, live_spec: dict[str, Any] | None, *, traffic_shaping: bool = False
) -> str:
    """Fail when the created AntreaConfig lacks a gate the program set or the NSX block
    (pruned by its CRD)."""
    spec = live_spec or {}
    gates = ((spec.get("antrea") or {}).get("config") or {}).get("featureGates") or {}
    required = AntreaSettings.required_gates(traffic_shaping=traffic_shaping)
    missing = [
        *(
            f"spec.antrea.config.featureGates.{gate}"
            for gate in required
            if gates.get(gate) is not True
        ),
        *([f"spec.{ANTREA_NSX_BLOCK}"] if ANTREA_NSX_BLOCK not in spec else []),
    ]
    if missing:
        kind = "Cluster" if cluster.uses_cluster_api else "TKC"
        raise AntreaConfigPrunedError(
            f"the Supervisor dropped {', '.join(missing)} from the AntreaConfig "
            f"{naming.antrea_config_name(cluster.name)}: its CRD does not declare them. The "
            f"{kind} was not created. Check the field names with `kubectl explain "
            "antreaconfig.spec --api-version=cni.tanzu.vmware.com/v1alpha1`, fix "
            "manifests.ANTREA_NSX_BLOCK (or the gate), delete that AntreaConfig and run "
            "`pulumi up` again"
        )
    return "kept"


def tanzu_kubernetes_cluster(cluster: ClusterConfig) -> dict[str, Any]:
    control_plane = cluster.control_plane
    if cluster.tkr is None or control_plane is None:
        raise ValueError(f"cluster {cluster.name} is not managed here (manage: false)")
    return {
        "apiVersion": TKC_API,
        "kind": "TanzuKubernetesCluster",
        "metadata": {
            "name": cluster.name,
            "namespace": cluster.vsphere_namespace,
            "annotations": {WAIT_FOR: TKC_READY},
        },
        "spec": {
            "topology": {
                "controlPlane": {
                    "replicas": control_plane.replicas,
                    "vmClass": control_plane.vm_class,
                    "storageClass": control_plane.storage_class,
                    "tkr": {"reference": {"name": cluster.tkr}},
                },
                "nodePools": [
                    {
                        "name": pool.name,
                        "replicas": pool.replicas,
                        "vmClass": pool.vm_class,
                        "storageClass": pool.storage_class,
                    }
                    for pool in cluster.node_pools
                ],
            },
            "settings": {
                "network": {
                    "cni": {"name": TKC_CNI},
                    "pods": {"cidrBlocks": list(cluster.network.pods)},
                    "services": {"cidrBlocks": list(cluster.network.services)},
                }
            },
        },
    }


# --- guest-cluster objects ---------------------------------------------------------------


def external_ip_pool(zone: ZoneConfig) -> dict[str, Any]:
    """Cluster-scoped; `subnetInfo` puts the egress IPs on the zone's VLAN and gateway."""
    return {
        "apiVersion": ANTREA_API,
        "kind": "ExternalIPPool",
        "metadata": {
            "name": naming.external_ip_pool_name(zone.name),
            "labels": zone_labels(zone),
            "annotations": dict(OWNED_BY_THE_STACK),
        },
        "spec": {
            "ipRanges": ip_ranges(zone),
            "subnetInfo": subnet_info(zone),
            "nodeSelector": label_selector(zone.node_selector),
        },
    }


class PoolPrunedError(Exception):
    """The guest cluster's ExternalIPPool CRD dropped `subnetInfo` (Antrea older than 1.15)."""


def check_pool_kept(zone: ZoneConfig, live_spec: dict[str, Any] | None) -> str:
    """Fail when the stored pool lacks `subnetInfo`: its egress IPs would land on the node
    subnet, and every later run would try to add the field again."""
    if (live_spec or {}).get("subnetInfo"):
        return "kept"
    raise PoolPrunedError(
        f"the guest cluster dropped spec.subnetInfo from the ExternalIPPool "
        f"{naming.external_ip_pool_name(zone.name)}: its Antrea is older than "
        f"{ANTREA_SUBNET_INFO_SINCE}, which added separate egress subnets. The Egress was not "
        f"created. Upgrade the cluster to a TKr whose Antrea is {ANTREA_SUBNET_INFO_SINCE} or "
        "newer, then run `pulumi up` again"
    )


@dataclass(frozen=True)
class AssignedEgressIP:
    ip: str
    node: str


def assigned_egress_ip(status: dict[str, Any] | None) -> AssignedEgressIP | None:
    """The Egress's IP and Node once an agent holds it (IPAssigned=True); None before, and
    whenever assignment failed (the agent then writes an empty egressIP)."""
    status = status or {}
    assigned = any(
        condition.get("type") == EGRESS_ASSIGNED_CONDITION
        and str(condition.get("status")).lower() == "true"
        for condition in status.get("conditions") or []
    )
    if not assigned or not status.get("egressIP"):
        return None
    return AssignedEgressIP(ip=str(status["egressIP"]), node=str(status.get("egressNode") or ""))


def bandwidth(limit: Bandwidth) -> dict[str, str]:
    """The Egress `bandwidth`: rate and burst as the quantities the user wrote."""
    return {"rate": limit.rate, "burst": limit.burst}


def egress(zone: ZoneConfig) -> dict[str, Any]:
    """Cluster-scoped; never sets spec.egressIP, which antrea-controller writes itself."""
    spec: dict[str, Any] = {
        "appliedTo": applied_to(zone.applied_to),
        "externalIPPool": naming.external_ip_pool_name(zone.name),
    }
    if zone.bandwidth is not None:
        spec["bandwidth"] = bandwidth(zone.bandwidth)
    return {
        "apiVersion": ANTREA_API,
        "kind": "Egress",
        "metadata": {
            "name": naming.egress_name(zone.name),
            "labels": zone_labels(zone),
            "annotations": {WAIT_FOR: EGRESS_ASSIGNED, **OWNED_BY_THE_STACK},
        },
        "spec": spec,
    }


def demo_namespace(zone: ZoneConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": _demo_namespace_name(zone), "labels": zone_labels(zone)},
    }


def _demo_namespace_name(zone: ZoneConfig) -> str:
    """Demo workloads live in the zone's one namespace (the rule table refuses a selector)."""
    if zone.applied_to.namespace is None:
        raise ValueError(f"zone {zone.name}: demo workloads need appliedTo.namespace")
    return zone.applied_to.namespace


def demo_deployment(zone: ZoneConfig) -> dict[str, Any]:
    """The field procedure's test workload; its pods carry the zone's pod labels too, so the
    zone's Egress selects them."""
    labels = {**DEMO_APP_LABEL, **zone.applied_to.pod_selector.match_labels}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": naming.demo_deployment_name(),
            "namespace": _demo_namespace_name(zone),
            "labels": zone_labels(zone),
        },
        "spec": {
            "replicas": DEMO_REPLICAS,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "web", "image": DEMO_IMAGE, "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }
