"""The rules across zones, and between the zones, the cluster and the stack's flags.

They look at a `StackFacts`: what of the stack parsed, so the loader can run them on a
partly valid configuration and a `StackConfig` on itself. `rules.RULES` lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from antrea_egress import naming
from antrea_egress.config.cluster_rules import located_networks
from antrea_egress.config.keys import (
    KEY_ALLOW_UNVERIFIED_NSX_TLS,
    KEY_CLUSTER,
    KEY_DEMO_WORKLOADS,
    KEY_RENDER_YAML_TO,
    KEY_ZONES,
    KeyFunction,
    Loc,
    Problem,
    zone_loc,
)
from antrea_egress.config.limits import AUTO_SEGMENT, LAB_STACK, MAX_ZONES_PER_CLUSTER
from antrea_egress.config.zone_rules import valid_ranges
from antrea_egress.nsx import settings as nsx_settings

# The NSX-T provider's key this project's rules look at (a location in another namespace).
NSX_ALLOW_UNVERIFIED_SSL = nsx_settings.ALLOW_UNVERIFIED_SSL.config_key

if TYPE_CHECKING:
    from antrea_egress.config.cluster import ClusterConfig
    from antrea_egress.config.zones import ZoneConfig


@dataclass(frozen=True)
class StackAccess:
    """What a stack's rules see beyond its own namespace: the stack's name (None: unknown)
    and whether `nsxt:allowUnverifiedSsl` is true. The loader knows both; a model built
    directly is told them in its validation context (`STACK_ACCESS`)."""

    stack: str | None = None
    nsx_tls_unverified: bool = False


@dataclass(frozen=True)
class StackFacts:
    """What the rules across zones look at: the cluster and the zones that parsed (a zone
    with its index), how many zones were given, the flags that bear on them, and the stack's
    access (`StackAccess`)."""

    cluster: ClusterConfig | None
    zones: Sequence[tuple[int, ZoneConfig]]
    zone_count: int
    demo_workloads: bool
    render_yaml_to: str | None
    allow_unverified_nsx_tls: bool = False
    access: StackAccess = StackAccess()


def is_lab_stack(stack: str | None) -> bool:
    """`lab` or `lab-...` (of a fully qualified name, the last part)."""
    name = (stack or "").rsplit("/", 1)[-1]
    return name == LAB_STACK or name.startswith(f"{LAB_STACK}-")


def unverified_nsx_tls_only_in_a_lab(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """nsxt:allowUnverifiedSsl is true only in a lab stack, or where allowUnverifiedNsxTls says so.

    Without verification anyone on the path to the NSX Manager can read the NSX credentials
    and change what the program writes; a production stack must trust the manager's CA
    (nsxt:caFile) instead, or accept the risk in a key of its own that a review sees.
    """
    del at
    if not facts.access.nsx_tls_unverified or facts.allow_unverified_nsx_tls:
        return []
    if is_lab_stack(facts.access.stack):
        return []
    stack = f"stack {facts.access.stack}" if facts.access.stack else "this stack"
    return [
        (
            (NSX_ALLOW_UNVERIFIED_SSL,),
            f"true turns off TLS verification of the NSX Manager, and {stack} is not a lab "
            f"({LAB_STACK} or {LAB_STACK}-*). Set nsxt:caFile to the CA bundle that signed the "
            f"manager's certificate; to accept an unverified manager anyway, set "
            f"{key((KEY_ALLOW_UNVERIFIED_NSX_TLS,))}: true",
        )
    ]


def zone_count_within_antrea_limit(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """At most as many zones as Antrea has policy-routing tables for Egress subnets."""
    del at, key
    if facts.zone_count <= MAX_ZONES_PER_CLUSTER:
        return []
    return [
        (
            (KEY_ZONES,),
            f"{facts.zone_count} zones; at most {MAX_ZONES_PER_CLUSTER} per cluster (Antrea has "
            f"{MAX_ZONES_PER_CLUSTER} policy-routing tables for Egress subnets, 101-120)",
        )
    ]


def zone_names_unique(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """No two zones share a name."""
    del at
    problems: list[Problem] = []
    first_use: dict[str, int] = {}
    for index, zone in facts.zones:
        if not zone._has("name"):
            continue
        if zone.name in first_use:
            earlier = key(zone_loc(first_use[zone.name], "name"))
            problems.append((zone_loc(index, "name"), f"{zone.name!r} duplicates {earlier}"))
        else:
            first_use[zone.name] = index
    return problems


def zones_select_different_pods(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """No two zones select the same pods.

    Antrea applies one Egress to a pod, picking at random among several ("If more than one
    Egress applies to a Pod ... the effective egress IP will be selected randomly", Antrea
    docs/egress.md), while the firewall report would list both zones' ranges for them.
    """
    del at
    parsed = [
        (index, zone.applied_to)
        for index, zone in facts.zones
        if zone._has("applied_to") and zone.applied_to._has("namespace", "pod_selector")
    ]
    problems: list[Problem] = []
    for position, (index, applied_to) in enumerate(parsed):
        earlier = next(
            (i for i, other in parsed[:position] if applied_to.selects_the_same_pods_as(other)),
            None,
        )
        if earlier is not None:
            problems.append(
                (
                    zone_loc(index, "appliedTo"),
                    f"selects the same pods as {key(zone_loc(earlier, 'appliedTo'))} "
                    f"(namespace {applied_to.namespace!r}, an equal podSelector): Antrea applies "
                    "only one Egress to a pod, at random, while the firewall report would list "
                    "both zones' ranges",
                )
            )
    return problems


# A discovered node segment's id, at its longest: vnet_<uuid>_<n>
# (docs/tkc-network-discovery.md §2.1).
_LONGEST_DISCOVERED_PARENT = "/infra/segments/vnet_00000000-0000-0000-0000-000000000000_99"


def nsx_paths_fit(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """Every NSX path of a zone fits NSX's limit of 255 characters.

    NSX refuses longer policy paths (error 500157); say so before the TKC is built, not
    halfway through the first `up`.
    """
    del at, key
    cluster = facts.cluster
    if cluster is None or not cluster._has("name") or not cluster._has("vsphere_namespace"):
        return []
    problems: list[Problem] = []
    for index, zone in facts.zones:
        if not zone._has("name"):
            continue
        parent = (
            zone.parent_segment if zone._has("parent_segment") and zone.parent_segment else None
        )
        if parent is None and cluster._has("node_segment") and cluster.node_segment != AUTO_SEGMENT:
            parent = cluster.node_segment
        segment_id = naming.child_segment_id(cluster.vsphere_namespace, cluster.name, zone.name)
        longest = naming.binding_map_path(segment_id, parent or _LONGEST_DISCOVERED_PARENT)
        if len(longest) > naming.NSX_PATH_MAX_LENGTH:
            problems.append(
                (
                    zone_loc(index, "name"),
                    f"its NSX binding-map path would be {len(longest)} characters long; NSX "
                    f"allows {naming.NSX_PATH_MAX_LENGTH}: shorten the zone, cluster or namespace "
                    "name",
                )
            )
    return problems


def zone_cidrs_disjoint(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """Zone CIDRs overlap neither each other nor the cluster's pod and service CIDRs."""
    del at
    cluster = facts.cluster
    cluster_networks = (
        located_networks(cluster.network, (KEY_CLUSTER, "network"))
        if cluster is not None and cluster.network_is_known
        else []
    )
    with_cidr = [(index, zone) for index, zone in facts.zones if zone._has("cidr")]
    problems: list[Problem] = []
    for position, (index, zone) in enumerate(with_cidr):
        others = [
            (zone_loc(earlier_index, "cidr"), earlier.cidr, earlier.network)
            for earlier_index, earlier in with_cidr[:position]
        ]
        problems += [
            (zone_loc(index, "cidr"), f"{zone.cidr} overlaps {key(loc)} {cidr}")
            for loc, cidr, network in [*others, *cluster_networks]
            if zone.network.overlaps(network)
        ]
    return problems


def ranges_disjoint_across_zones(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """Ranges of different zones do not overlap (each zone checks its own ranges)."""
    del at
    ranges = [
        (zone_loc(index, "ipRanges", range_index), index, ip_range)
        for index, zone in facts.zones
        for range_index, ip_range in valid_ranges(zone)
    ]
    problems: list[Problem] = []
    for position, (loc, index, ip_range) in enumerate(ranges):
        problems += [
            (loc, f"{ip_range.text} overlaps {key(earlier_loc)} {earlier.text}")
            for earlier_loc, earlier_index, earlier in ranges[:position]
            if earlier_index != index and ip_range.overlaps(earlier)
        ]
    return problems


def vlan_unique_per_parent(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """Children of one parent segment need distinct VLANs; "auto" is one parent."""
    del at
    cluster = facts.cluster
    cluster_parent = (
        cluster.node_segment
        if cluster is not None and cluster._has("node_segment")
        else "the cluster's node segment"
    )
    problems: list[Problem] = []
    first_use: dict[tuple[str, int], int] = {}
    for index, zone in facts.zones:
        if not zone._has("vlan", "parent_segment"):
            continue
        parent = zone.parent_segment or cluster_parent
        if (parent, zone.vlan) in first_use:
            earlier = key(zone_loc(first_use[parent, zone.vlan], "vlan"))
            problems.append(
                (
                    zone_loc(index, "vlan"),
                    f"VLAN {zone.vlan} is already used by {earlier} on the same parent "
                    f"segment ({parent})",
                )
            )
        else:
            first_use[parent, zone.vlan] = index
    return problems


def rendering_names_the_node_segment(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """With renderYamlTo the node segment is a path, not "auto".

    Rendering YAML needs no cluster, so nothing may depend on reading one.
    """
    del at, key
    cluster = facts.cluster
    if facts.render_yaml_to and cluster is not None and cluster.node_segment == AUTO_SEGMENT:
        return [
            (
                (KEY_CLUSTER, "nodeSegment"),
                f"must be a segment path when {KEY_RENDER_YAML_TO} is set: discovery reads a "
                "live Supervisor",
            )
        ]
    return []


def demo_namespaces_distinct(facts: StackFacts, at: Loc, key: KeyFunction) -> list[Problem]:
    """With demoWorkloads no two zones share a namespace.

    Demo workloads own their namespace: two zones cannot both create the same one.
    """
    del at
    if not facts.demo_workloads:
        return []
    problems: list[Problem] = []
    first_use: dict[str, int] = {}
    for index, zone in facts.zones:
        if not zone._has("applied_to") or not zone.applied_to._has("namespace"):
            continue
        namespace = zone.applied_to.namespace
        if namespace in first_use:
            earlier = key(zone_loc(first_use[namespace], "appliedTo", "namespace"))
            problems.append(
                (
                    zone_loc(index, "appliedTo", "namespace"),
                    f"{KEY_DEMO_WORKLOADS} creates each zone's namespace; {namespace!r} is "
                    f"also {earlier}",
                )
            )
        else:
            first_use[namespace] = index
    return problems
