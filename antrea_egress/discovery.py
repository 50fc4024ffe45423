"""Find a TKC's node segment (the child segments' parent), its Tier-1 and NAT-mode evidence.

The chain (docs/tkc-network-discovery.md §0):

    CAPI Cluster <tkc>  .spec.infrastructureRef.name = <infra>
      -> VirtualNetwork <infra>-vnet (or the one owned by <infra>)  .metadata.uid
        -> VirtualNetworkInterfaces of that network  .status.providerStatus.nsxLogicalSwitchID
          -> the NSX segment whose unique_id equals it          (primary)
      -> NSX segments tagged with the VirtualNetwork's UID       (fallback, UNCONFIRMED scope)

Exactly one segment must come out; anything else fails with what was found and how to set
`cluster.nodeSegment` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from antrea_egress.kube import KubeClient, KubeNotFoundError
from antrea_egress.nsx import paths
from antrea_egress.nsx.client import NsxClient

CAPI_CLUSTER = "/apis/cluster.x-k8s.io/v1beta1/namespaces/{namespace}/clusters/{name}"
VIRTUAL_NETWORKS = "/apis/vmware.com/v1alpha1/namespaces/{namespace}/virtualnetworks"
VIRTUAL_NETWORK_INTERFACES = (
    "/apis/vmware.com/v1alpha1/namespaces/{namespace}/virtualnetworkinterfaces"
)
NAMESPACE = "/api/v1/namespaces/{namespace}"
# UNCONFIRMED (docs/tkc-network-discovery.md §2.2): the NCP tag scope that carries the
# VirtualNetwork's UID on its segments. Only the fallback uses it; check one segment with
# `curl .../policy/api/v1/infra/segments/vnet_<uuid>_0 | jq .tags` and change it here.
VNET_UID_TAG_SCOPE = "ncp/vnet_uid"
NCP_SNAT_IP_ANNOTATION = "ncp/snat_ip"
HOW_TO_SET = (
    "Set antrea-egress:cluster.nodeSegment to the node segment's policy path "
    "(NSX: Networking > Segments, the segment named after the cluster's VirtualNetwork, or "
    "GET /policy/api/v1/infra/segments) and run again"
)


class DiscoveryError(Exception):
    """The node segment could not be determined unambiguously."""


@dataclass(frozen=True)
class SegmentCandidate:
    path: str
    tier1_path: str | None
    found_by: str


@dataclass(frozen=True)
class NodeSegmentDiscovery:
    """Everything discovery learnt; `segment` insists on exactly one candidate."""

    namespace: str
    cluster: str
    infrastructure: str
    virtual_network: str
    virtual_network_uid: str
    logical_switch_ids: tuple[str, ...]
    snat_ip: str | None
    candidates: tuple[SegmentCandidate, ...] = field(default=())

    @property
    def segment(self) -> SegmentCandidate:
        if len(self.candidates) == 1:
            return self.candidates[0]
        found = (
            ", ".join(f"{c.path} (by {c.found_by})" for c in self.candidates) or "no NSX segment"
        )
        raise DiscoveryError(
            f"cannot tell the node segment of {self.namespace}/{self.cluster}: found {found}. "
            f"Looked up: infrastructure cluster {self.infrastructure!r}, VirtualNetwork "
            f"{self.virtual_network!r} (uid {self.virtual_network_uid}), logical switch ids "
            f"{list(self.logical_switch_ids)}, NSX tag {VNET_UID_TAG_SCOPE}. {HOW_TO_SET}"
        )

    @property
    def nat_mode_evidence(self) -> str | None:
        if self.snat_ip:
            return f"VirtualNetwork {self.virtual_network} has defaultSNATIP {self.snat_ip}"
        return None


def discover_node_segment(
    supervisor: KubeClient, nsx: NsxClient, namespace: str, cluster: str
) -> NodeSegmentDiscovery:
    infrastructure = _infrastructure_name(supervisor, namespace, cluster)
    vnet = _virtual_network(supervisor, namespace, infrastructure)
    vnet_name = str(vnet["metadata"]["name"])
    vnet_uid = str(vnet["metadata"].get("uid", ""))
    switch_ids = _logical_switch_ids(supervisor, namespace, vnet_name)
    candidates = _segments_by_unique_id(nsx, switch_ids) or _segments_by_vnet_tag(nsx, vnet_uid)
    return NodeSegmentDiscovery(
        namespace=namespace,
        cluster=cluster,
        infrastructure=infrastructure,
        virtual_network=vnet_name,
        virtual_network_uid=vnet_uid,
        logical_switch_ids=switch_ids,
        snat_ip=(vnet.get("status") or {}).get("defaultSNATIP") or None,
        candidates=candidates,
    )


def namespace_snat_ip(supervisor: KubeClient, namespace: str) -> str | None:
    """The vSphere Namespace's `ncp/snat_ip` annotation: present in NAT mode."""
    annotations = supervisor.get(NAMESPACE.format(namespace=namespace))["metadata"].get(
        "annotations"
    )
    return (annotations or {}).get(NCP_SNAT_IP_ANNOTATION)


def _infrastructure_name(supervisor: KubeClient, namespace: str, cluster: str) -> str:
    try:
        capi = supervisor.get(CAPI_CLUSTER.format(namespace=namespace, name=cluster))
    except KubeNotFoundError as error:
        raise DiscoveryError(
            f"no Cluster API Cluster {namespace}/{cluster} on the Supervisor: is the TKC "
            f"created and is kubernetes:context the Supervisor? {HOW_TO_SET}"
        ) from error
    name = ((capi.get("spec") or {}).get("infrastructureRef") or {}).get("name")
    if not name:
        raise DiscoveryError(
            f"Cluster {namespace}/{cluster} has no spec.infrastructureRef yet. {HOW_TO_SET}"
        )
    return str(name)


def _virtual_network(supervisor: KubeClient, namespace: str, infrastructure: str) -> dict[str, Any]:
    collection = VIRTUAL_NETWORKS.format(namespace=namespace)
    by_name = supervisor.get_optional(f"{collection}/{infrastructure}-vnet")
    if by_name is not None:
        return by_name
    networks = supervisor.list(collection)
    owned = [
        n
        for n in networks
        if any(o.get("name") == infrastructure for o in n["metadata"].get("ownerReferences") or [])
    ]
    if len(owned) != 1:
        names = [n["metadata"]["name"] for n in networks]
        raise DiscoveryError(
            f"no single VirtualNetwork for {infrastructure} in {namespace} (found {names}). "
            f"{HOW_TO_SET}"
        )
    return owned[0]


def _logical_switch_ids(supervisor: KubeClient, namespace: str, vnet: str) -> tuple[str, ...]:
    interfaces = supervisor.list(VIRTUAL_NETWORK_INTERFACES.format(namespace=namespace))
    ids = {
        str(((i.get("status") or {}).get("providerStatus") or {}).get("nsxLogicalSwitchID"))
        for i in interfaces
        if (i.get("spec") or {}).get("virtualNetwork") == vnet
    }
    return tuple(sorted(ids - {"None", ""}))


def _segments_by_unique_id(
    nsx: NsxClient, switch_ids: tuple[str, ...]
) -> tuple[SegmentCandidate, ...]:
    found: dict[str, SegmentCandidate] = {}
    for switch_id in switch_ids:
        query = f"resource_type:Segment AND unique_id:{paths.lucene_escape(switch_id)}"
        for segment in nsx.search(query):
            if segment.get("unique_id") == switch_id:
                found[segment["path"]] = _candidate(segment, "unique_id")
    return tuple(found.values())


def _segments_by_vnet_tag(nsx: NsxClient, vnet_uid: str) -> tuple[SegmentCandidate, ...]:
    if not vnet_uid:
        return ()
    query = (
        f"resource_type:Segment AND tags.scope:{paths.lucene_escape(VNET_UID_TAG_SCOPE)} "
        f"AND tags.tag:{paths.lucene_escape(vnet_uid)}"
    )
    return tuple(_candidate(segment, "tag") for segment in nsx.search(query))


def _candidate(segment: dict[str, Any], found_by: str) -> SegmentCandidate:
    return SegmentCandidate(
        path=str(segment["path"]),
        tier1_path=segment.get("connectivity_path"),
        found_by=f"{found_by}",
    )
