"""TanzuCluster: the AntreaConfig, the TKC (or a Cluster API Cluster), the guest kubeconfig and
provider, the node segment."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from antrea_egress import kube, manifests, naming
from antrea_egress.config import AUTO_SEGMENT, ClusterConfig
from antrea_egress.kubernetes_object import KubernetesObject
from antrea_egress.providers.node_segment import NodeSegment, NodeSegmentArgs
from antrea_egress.providers.parent_segment import ParentSegment
from antrea_egress.rendering import OfflineRendering
from components.capi_cluster import declare_capi_cluster

# Both objects have fixed names. A replacement the engine decides on its own (`--replace`,
# `replaceWith`) is create-before-delete unless this is set, and pulumi-kubernetes up to 4.28
# creates by server-side apply, which takes over the existing object: the delete that follows
# then removes the "new" one (seen under the real engine: no TKC was left).
FIXED_NAME_REPLACEMENT = True


@dataclass(frozen=True)
class TanzuClusterArgs:
    cluster: ClusterConfig
    # Compared with what discovery finds, to warn before traffic is SNATed unexpectedly.
    nat_mode: bool = True
    # The local lab: write the guest objects as YAML here; there is no cluster to read.
    render_yaml_to: str | None = None
    # A zone limits its bandwidth: the AntreaConfig turns EgressTrafficShaping on.
    traffic_shaping: bool = False


class TanzuCluster(pulumi.ComponentResource):
    """A TKG Service cluster prepared for Antrea egress zones, or an existing one (manage: false).

    Exposes the guest cluster's kubeconfig (secret), a Kubernetes provider for it, and the node
    segment the zones' child segments hang off.
    """

    name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    guest_provider: k8s.Provider
    instance: pulumi.Output[str]
    node_segment_path: pulumi.Output[str]
    node_tier1_path: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: TanzuClusterArgs,
        *,
        supervisor: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("antrea-egress:index:TanzuCluster", resource_name, None, opts)
        cluster = args.cluster
        on_supervisor = pulumi.ResourceOptions(parent=self, provider=supervisor)

        # The TKC, or the Cluster API Cluster (api: cluster); None for an existing cluster.
        self.cluster_object: KubernetesObject | None = None
        self._kubeconfig_secret: k8s.core.v1.Secret | None = None
        if cluster.manage:
            self.cluster_object = self._declare_cluster(resource_name, args, on_supervisor)
        # What must exist before anything is attached to the cluster's node segment.
        self.ready: list[pulumi.Resource] = [self.cluster_object] if self.cluster_object else []

        self.name = pulumi.Output.from_input(cluster.name)
        if args.render_yaml_to:
            self._render_guest(resource_name, cluster, args.render_yaml_to)
        else:
            secret = self._read_kubeconfig_secret(resource_name, cluster, on_supervisor)
            self._kubeconfig_secret = secret
            self.kubeconfig = pulumi.Output.secret(secret.data.apply(_decode_kubeconfig))
            self.instance = self._cluster_instance(cluster)
            self.guest_provider = k8s.Provider(
                f"{resource_name}-guest",
                kubeconfig=self.kubeconfig,
                # Stable across rotated client certificates, and across a rebuilt cluster too:
                # the guest objects follow the cluster instance themselves (see `instance`),
                # because a provider whose identity changes with the cluster made the engine
                # diff and close it while deleting its objects (seen under the real engine).
                cluster_identifier=f"{cluster.vsphere_namespace}/{cluster.name}",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.node_segment_path, self.node_tier1_path = self._node_segment(resource_name, args)
        self.register_outputs(
            {
                "name": self.name,
                "kubeconfig": self.kubeconfig,
                "node_segment_path": self.node_segment_path,
                "node_tier1_path": self.node_tier1_path,
            }
        )

    def _cluster_instance(self, cluster: ClusterConfig) -> pulumi.Output[str]:
        """Which cluster this is: it changes exactly when the cluster is another one, and the
        guest objects are replaced when it does (`EgressZoneArgs.cluster_instance`).

        Not the kubeconfig, whose client certificate rotates, and not the cluster's name, which
        a rebuilt cluster keeps: its pools and Egresses would stay "the same" in the state
        while the new cluster has none. A managed cluster's uid is unknown until the TKC exists
        (its id is empty in a preview of its creation); an existing cluster is recognised by
        its API server and CA, which a rebuild changes.
        """
        if self.cluster_object is not None:
            retired_tkc_uid = cluster.retired_tkc_uid if cluster.uses_cluster_api else None
            return pulumi.Output.all(self.cluster_object.id, self.cluster_object.metadata).apply(
                lambda values: f"uid:{retired_tkc_uid or (values[1] or {}).get('uid', '')}"
            )
        fingerprint = self.kubeconfig.apply(kube.cluster_fingerprint)
        return pulumi.Output.unsecret(fingerprint.apply(lambda f: f"ca:{f}"))

    def _render_guest(self, resource_name: str, cluster: ClusterConfig, directory: str) -> None:
        """The lab has no guest cluster: its objects are written as YAML instead."""
        self.kubeconfig = pulumi.Output.secret("")
        self.instance = pulumi.Output.from_input("rendered")
        self.guest_provider = k8s.Provider(
            f"{resource_name}-guest",
            render_yaml_to_directory=f"{directory}/{cluster.name}",
            # Its objects belong in the cluster, so they come after it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.ready or None),
        )

    def _declare_cluster(
        self, resource_name: str, args: TanzuClusterArgs, on_supervisor: pulumi.ResourceOptions
    ) -> KubernetesObject:
        cluster, shaping = args.cluster, args.traffic_shaping
        antrea_config = KubernetesObject(
            f"{resource_name}-antrea-config",
            manifests.antrea_config(cluster, traffic_shaping=shaping),
            opts=pulumi.ResourceOptions.merge(
                on_supervisor,
                # The Supervisor adds its package label and a Cluster ownerReference.
                pulumi.ResourceOptions(
                    ignore_changes=["metadata.labels", "metadata.ownerReferences"],
                    delete_before_replace=FIXED_NAME_REPLACEMENT,
                ),
            ),
        )
        if cluster.uses_cluster_api:
            return declare_capi_cluster(
                resource_name, cluster, antrea_config, on_supervisor, traffic_shaping=shaping
            )
        timeout = cluster.ready_timeout_go
        tkc = manifests.tanzu_kubernetes_cluster(cluster)
        # The Supervisor owner-references the AntreaConfig to the cluster, so deleting the TKC
        # garbage-collects it: rebuild the two together (README, "Rebuilding the cluster").
        # The TKC waits for this check: never build a cluster on an AntreaConfig whose gate
        # or NSX block the Supervisor's CRD dropped (fixing it later means node reboots).
        tkc["metadata"]["annotations"][manifests.ANTREA_CONFIG_CHECKED] = antrea_config.spec.apply(
            lambda spec: manifests.check_antrea_config_kept(cluster, spec, traffic_shaping=shaping)
        )
        return KubernetesObject(
            f"{resource_name}-tkc",
            tkc,
            opts=pulumi.ResourceOptions.merge(
                on_supervisor,
                pulumi.ResourceOptions(
                    depends_on=[antrea_config],
                    delete_before_replace=FIXED_NAME_REPLACEMENT,
                    protect=cluster.protect,
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=timeout, update=timeout, delete=timeout
                    ),
                ),
            ),
        )

    def _read_kubeconfig_secret(
        self, resource_name: str, cluster: ClusterConfig, on_supervisor: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        secret_id: pulumi.Input[str]
        if self.cluster_object is not None:
            # Keyed on the TKC's id, which is unknown until the cluster really exists: in a
            # preview of its creation pulumi-kubernetes returns the object's metadata (inputs
            # or the server's dry run) with an empty id. An unknown id makes the engine skip
            # the read; a known one would fail it, the Secret not existing yet.
            secret_id = self.cluster_object.id.apply(_kubeconfig_secret_id)
            on_supervisor = pulumi.ResourceOptions.merge(
                on_supervisor, pulumi.ResourceOptions(depends_on=[self.cluster_object])
            )
        else:
            secret_id = f"{cluster.vsphere_namespace}/{naming.kubeconfig_secret_name(cluster.name)}"
        return k8s.core.v1.Secret.get(f"{resource_name}-kubeconfig", secret_id, opts=on_supervisor)

    def _node_segment(
        self, resource_name: str, args: TanzuClusterArgs
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The node segment's path and its Tier-1 (where the zones' NoSNAT rules go)."""
        cluster = args.cluster
        # Either way the segment is used only once the cluster exists.
        after_cluster = pulumi.ResourceOptions(parent=self, depends_on=self.ready)
        if cluster.node_segment != AUTO_SEGMENT:
            parent = ParentSegment(
                f"{resource_name}-node-segment", path=cluster.node_segment, opts=after_cluster
            )
            return pulumi.Output.from_input(cluster.node_segment), parent.tier1_path
        secret = self._kubeconfig_secret
        if secret is None:  # the config loader refuses discovery when rendering YAML
            raise ValueError("node segment discovery needs the guest cluster's kubeconfig")
        discovered = NodeSegment(
            f"{resource_name}-node-segment",
            NodeSegmentArgs(
                vsphere_namespace=cluster.vsphere_namespace,
                cluster=cluster.name,
                # A new cluster has a new kubeconfig Secret (new uid) and a new node segment.
                cluster_uid=secret.metadata.apply(lambda m: (m.uid if m else None) or ""),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
        )
        pulumi.Output.all(discovered.found_by, discovered.snat_ip).apply(
            lambda found: _warn_on_nat_mismatch(args.nat_mode, found_by=found[0], snat_ip=found[1])
        )
        return discovered.path, discovered.tier1_path


def _warn_on_nat_mismatch(nat_mode: bool, *, found_by: str | None, snat_ip: str | None) -> None:
    if not found_by:
        return  # nothing was looked up (an offline render): there is nothing to compare
    if snat_ip and not nat_mode:
        pulumi.log.warn(
            f"the cluster's VirtualNetwork has a SNAT IP ({snat_ip}): its namespace uses NAT, "
            "but antrea-egress:natMode is false, so zone traffic will be SNATed on the Tier-1. "
            "Set natMode to true"
        )
    elif nat_mode and not snat_ip:
        pulumi.log.warn(
            "no SNAT IP was found for the cluster's VirtualNetwork: if its namespace is routed, "
            "set antrea-egress:natMode to false (no NoSNAT rules are needed)"
        )


def _kubeconfig_secret_id(tkc_id: str) -> str:
    """pulumi-kubernetes ids a namespaced object `<namespace>/<name>`."""
    namespace, name = tkc_id.split("/", 1)
    return f"{namespace}/{naming.kubeconfig_secret_name(name)}"


def _decode_kubeconfig(data: Mapping[str, str] | None) -> str:
    if not data or naming.KUBECONFIG_SECRET_KEY not in data:
        raise ValueError(
            f"the kubeconfig Secret has no data key {naming.KUBECONFIG_SECRET_KEY!r}; is the "
            "cluster's control plane initialised?"
        )
    return base64.b64decode(data[naming.KUBECONFIG_SECRET_KEY]).decode()


# --- offline ---------------------------------------------------------------------------------

KUBECONFIG_SECRET_TYPE = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token
KUBECONFIG_PLACEHOLDER = "<kubeconfig: read from the Supervisor once the cluster is Ready>"


def _offline_kubeconfig(state: dict[str, Any], read_id: str | None) -> dict[str, Any]:
    """The kubeconfig Secret as read offline: a placeholder in its data key."""
    if not read_id:
        return state
    placeholder = base64.b64encode(KUBECONFIG_PLACEHOLDER.encode()).decode()
    namespace, name = str(read_id).split("/", 1)
    return {
        "metadata": {"namespace": namespace, "name": name},
        "data": {naming.KUBECONFIG_SECRET_KEY: placeholder},
    }


KUBECONFIG_OFFLINE = OfflineRendering(type=KUBECONFIG_SECRET_TYPE, outputs=_offline_kubeconfig)
