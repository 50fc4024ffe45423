"""EgressZone: a child segment, its NoSNAT rule, an ExternalIPPool and the Egress that uses it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from antrea_egress import manifests, naming, nat_rule
from antrea_egress.config import ClusterConfig, ZoneConfig
from antrea_egress.kubernetes_object import KubernetesObject
from antrea_egress.outputs import ZoneSummary, zone_summary
from antrea_egress.providers.child_segment import ChildSegment, ChildSegmentArgs
from antrea_egress.providers.parent_segment import ParentSegment
from antrea_egress.providers.range_history import IpRangeHistory

EGRESS_ASSIGN_TIMEOUT = "10m"
# The property path of the cluster-instance annotation, for replace_on_changes.
CLUSTER_INSTANCE_PATH = f'metadata.annotations["{manifests.CLUSTER_INSTANCE}"]'


@dataclass(frozen=True)
class EgressZoneArgs:
    zone: ZoneConfig
    cluster: ClusterConfig
    # The cluster's node segment and its Tier-1; a zone with its own parentSegment reads that
    # segment's Tier-1 itself.
    parent_segment_path: pulumi.Input[str]
    parent_tier1_path: pulumi.Input[str]
    nat_mode: bool
    demo_workloads: bool
    # The cluster: an explicit parent segment exists only once the cluster does.
    cluster_ready: Sequence[pulumi.Resource] = ()
    # Which cluster instance the guest objects live in (TanzuCluster.instance): when it
    # changes (a rebuilt cluster), the pool and Egress are created again in the new one.
    cluster_instance: pulumi.Input[str] = ""


class EgressZone(pulumi.ComponentResource):
    """Pods selected by `appliedTo` leave the cluster with an IP from the zone's own subnet."""

    egress_ip: pulumi.Output[str | None]
    egress_node: pulumi.Output[str | None]
    segment_path: pulumi.Output[str]
    tier1_path: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: EgressZoneArgs,
        *,
        guest: k8s.Provider,
        nsx: pulumi.ProviderResource | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("antrea-egress:index:EgressZone", resource_name, None, opts)
        zone, cluster = args.zone, args.cluster

        self.segment = ChildSegment(
            f"{resource_name}-segment",
            ChildSegmentArgs.of_zone(cluster, zone, parent_path=args.parent_segment_path),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.cluster_ready)),
        )
        network_ready: list[pulumi.Resource] = [self.segment]
        self.no_snat_rule = None
        if args.nat_mode:
            if nsx is None:
                raise ValueError("natMode needs the NSX-T provider for the NoSNAT rules")
            self.no_snat_rule = nat_rule.no_snat_rule(
                f"{resource_name}-nosnat",
                cluster,
                zone,
                tier1_path=self._parent_tier1(resource_name, args),
                # After the segment: the rule's source is the segment's subnet.
                opts=pulumi.ResourceOptions(parent=self, provider=nsx, depends_on=[self.segment]),
            )
            network_ready.append(self.no_snat_rule)

        on_guest = pulumi.ResourceOptions(parent=self, provider=guest)
        self.range_history = IpRangeHistory(
            f"{resource_name}-ranges",
            pool=naming.external_ip_pool_name(zone.name),
            ip_ranges=manifests.ip_ranges(zone),
            opts=pulumi.ResourceOptions(parent=self),
        )
        pool = manifests.external_ip_pool(zone)
        # Keyed on the range history's id, which is unknown while a preview plans its
        # replacement: pulumi-kubernetes then previews the new pool from its inputs instead of
        # a server-side dry run, which would reach Antrea's webhook as an edit of the pool still
        # in place and fail the preview ("existing IPRanges ... cannot be deleted"). `up`
        # deletes the old pool first.
        pool["metadata"].setdefault("annotations", {})[manifests.RANGE_HISTORY] = (
            self.range_history.id
        )
        pool["metadata"]["annotations"][manifests.CLUSTER_INSTANCE] = args.cluster_instance
        self.pool = KubernetesObject(
            f"{resource_name}-pool",
            pool,
            opts=pulumi.ResourceOptions.merge(
                on_guest,
                pulumi.ResourceOptions(
                    depends_on=network_ready,
                    # Antrea refuses edits to existing ranges: replace the pool (deleting it
                    # first, its name is fixed) when they change; appending updates in place.
                    replace_with=[self.range_history],
                    replace_on_changes=[CLUSTER_INSTANCE_PATH],
                    delete_before_replace=True,
                ),
            ),
        )
        egress = manifests.egress(zone)
        egress["metadata"]["annotations"][manifests.CLUSTER_INSTANCE] = args.cluster_instance
        # The Egress waits for this check: an Antrea that pruned subnetInfo would put the
        # zone's IP on the node subnet, where the firewall rules do not expect it.
        egress["metadata"]["annotations"][manifests.POOL_CHECKED] = self.pool.spec.apply(
            lambda spec: manifests.check_pool_kept(zone, spec)
        )
        self.egress = KubernetesObject(
            f"{resource_name}-egress",
            egress,
            opts=pulumi.ResourceOptions.merge(
                on_guest,
                pulumi.ResourceOptions(
                    depends_on=[self.pool],
                    # A replaced pool takes the Egress's IP away and Antrea assigns a new one:
                    # recreate the Egress with it, so that it waits for the new IP and the
                    # stack's egressIP output (the firewall report) never shows the old one.
                    replace_with=[self.range_history],
                    replace_on_changes=[CLUSTER_INSTANCE_PATH],
                    delete_before_replace=True,
                    # antrea-controller writes the allocated IP into spec.egressIP.
                    ignore_changes=["spec.egressIP"],
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=EGRESS_ASSIGN_TIMEOUT, update=EGRESS_ASSIGN_TIMEOUT
                    ),
                ),
            ),
        )
        if args.demo_workloads:
            self._demo_workloads(resource_name, zone, on_guest)

        assigned = self.egress.status.apply(manifests.assigned_egress_ip)
        self.egress_ip = assigned.apply(lambda a: a.ip if a else None)
        self.egress_node = assigned.apply(lambda a: a.node if a else None)
        self.segment_path = self.segment.path
        self.tier1_path = self.segment.tier1_path
        self.summary: ZoneSummary[pulumi.Output[str | None]] = zone_summary(
            zone,
            nat_mode=args.nat_mode,
            egress_ip=self.egress_ip,
            egress_node=self.egress_node,
            segment_path=self.segment_path,
            tier1_path=self.tier1_path,
        )
        self.register_outputs(self.summary.to_output())

    def _parent_tier1(self, resource_name: str, args: EgressZoneArgs) -> pulumi.Input[str]:
        """The Tier-1 for the NoSNAT rule: the parent's, which stays put while the child
        segment is updated or replaced (its own tier1_path output is unknown in such a
        preview, which would show the rule as replaced)."""
        if not args.zone.parent_segment:
            return args.parent_tier1_path
        parent = ParentSegment(
            f"{resource_name}-parent",
            path=args.zone.parent_segment,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.cluster_ready)),
        )
        return parent.tier1_path

    def _demo_workloads(
        self, resource_name: str, zone: ZoneConfig, on_guest: pulumi.ResourceOptions
    ) -> None:
        namespace: dict[str, Any] = manifests.demo_namespace(zone)
        deployment: dict[str, Any] = manifests.demo_deployment(zone)
        self.namespace = k8s.core.v1.Namespace(
            f"{resource_name}-namespace", metadata=namespace["metadata"], opts=on_guest
        )
        metadata = deployment["metadata"]
        self.deployment = k8s.apps.v1.Deployment(
            f"{resource_name}-web",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=metadata["name"],
                # From the Namespace's output, so the Deployment waits for it.
                namespace=self.namespace.metadata.name,
                labels=metadata["labels"],
            ),
            spec=deployment["spec"],
            opts=on_guest,
        )
