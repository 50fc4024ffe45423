"""TanzuCluster: the AntreaConfig, the TKC, the guest kubeconfig and provider, the node segment."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from antrea_egress import manifests, naming
from antrea_egress.config import AUTO_SEGMENT, ClusterConfig
from antrea_egress.kubernetes_object import KubernetesObject
from antrea_egress.providers.node_segment import NodeSegment


@dataclass(frozen=True)
class TanzuClusterArgs:
    cluster: ClusterConfig
    # Compared with what discovery finds, to warn before traffic is SNATed unexpectedly.
    nat_mode: bool = True
    # The local lab: write the guest objects as YAML here; there is no cluster to read.
    render_yaml_to: str | None = None


class TanzuCluster(pulumi.ComponentResource):
    """A TKG Service cluster prepared for Antrea egress zones, or an existing one (manage: false).

    Exposes the guest cluster's kubeconfig (secret), a Kubernetes provider for it, and the node
    segment the zones' child segments hang off.
    """

    name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    guest_provider: k8s.Provider
    node_segment_path: pulumi.Output[str]

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

        self.tkc: KubernetesObject | None = None
        if cluster.manage:
            self.tkc = self._declare_cluster(resource_name, cluster, on_supervisor)
        # What must exist before anything is attached to the cluster's node segment.
        self.ready: list[pulumi.Resource] = [self.tkc] if self.tkc else []

        self.name = pulumi.Output.from_input(cluster.name)
        if args.render_yaml_to:
            self._render_guest(resource_name, cluster, args.render_yaml_to)
            self.node_segment_path = pulumi.Output.from_input(cluster.node_segment)
        else:
            secret = self._read_kubeconfig_secret(resource_name, cluster, on_supervisor)
            self.kubeconfig = pulumi.Output.secret(secret.data.apply(_decode_kubeconfig))
            self.guest_provider = k8s.Provider(
                f"{resource_name}-guest",
                kubeconfig=self.kubeconfig,
                # The admin kubeconfig's client certificate rotates; without a stable identity,
                # every rotation would replace the provider and everything deployed through it.
                cluster_identifier=f"{cluster.vsphere_namespace}/{cluster.name}",
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.node_segment_path = self._node_segment(resource_name, cluster, secret, args)
        self.register_outputs(
            {
                "name": self.name,
                "kubeconfig": self.kubeconfig,
                "node_segment_path": self.node_segment_path,
            }
        )

    def _render_guest(self, resource_name: str, cluster: ClusterConfig, directory: str) -> None:
        """The lab has no guest cluster: its objects are written as YAML instead."""
        self.kubeconfig = pulumi.Output.secret("")
        self.guest_provider = k8s.Provider(
            f"{resource_name}-guest",
            render_yaml_to_directory=f"{directory}/{cluster.name}",
            # Its objects belong in the cluster, so they come after it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.tkc] if self.tkc else None),
        )

    def _declare_cluster(
        self, resource_name: str, cluster: ClusterConfig, on_supervisor: pulumi.ResourceOptions
    ) -> KubernetesObject:
        antrea_config = KubernetesObject(
            f"{resource_name}-antrea-config",
            manifests.antrea_config(cluster),
            opts=pulumi.ResourceOptions.merge(
                on_supervisor,
                # The Supervisor adds its package label and a Cluster ownerReference.
                pulumi.ResourceOptions(
                    ignore_changes=["metadata.labels", "metadata.ownerReferences"]
                ),
            ),
        )
        timeout = cluster.ready_timeout_go
        tkc = manifests.tanzu_kubernetes_cluster(cluster)
        # The TKC waits for this check: never build a cluster on an AntreaConfig whose gate
        # or NSX block the Supervisor's CRD dropped (fixing it later means node reboots).
        tkc["metadata"]["annotations"][manifests.ANTREA_CONFIG_CHECKED] = antrea_config.spec.apply(
            lambda spec: manifests.check_antrea_config_kept(cluster, spec)
        )
        return KubernetesObject(
            f"{resource_name}-tkc",
            tkc,
            opts=pulumi.ResourceOptions.merge(
                on_supervisor,
                pulumi.ResourceOptions(
                    depends_on=[antrea_config],
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
        if self.tkc is not None:
            # Derived from the Ready TKC's outputs: the read waits for the cluster, and a
            # preview before the cluster exists leaves it unknown (the engine skips a read
            # with an unknown id) instead of failing.
            secret_id = self.tkc.metadata.apply(_kubeconfig_secret_id)
            on_supervisor = pulumi.ResourceOptions.merge(
                on_supervisor, pulumi.ResourceOptions(depends_on=[self.tkc])
            )
        else:
            secret_id = f"{cluster.vsphere_namespace}/{naming.kubeconfig_secret_name(cluster.name)}"
        return k8s.core.v1.Secret.get(f"{resource_name}-kubeconfig", secret_id, opts=on_supervisor)

    def _node_segment(
        self,
        resource_name: str,
        cluster: ClusterConfig,
        secret: k8s.core.v1.Secret,
        args: TanzuClusterArgs,
    ) -> pulumi.Output[str]:
        if cluster.node_segment != AUTO_SEGMENT:
            return pulumi.Output.from_input(cluster.node_segment)
        discovered = NodeSegment(
            f"{resource_name}-node-segment",
            vsphere_namespace=cluster.vsphere_namespace,
            cluster=cluster.name,
            # A new cluster has a new kubeconfig Secret (new uid) and a new node segment.
            cluster_uid=secret.metadata.apply(lambda m: (m.uid if m else None) or ""),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
        )
        discovered.snat_ip.apply(lambda snat_ip: _warn_on_nat_mismatch(args.nat_mode, snat_ip))
        return discovered.path


def _warn_on_nat_mismatch(nat_mode: bool, snat_ip: str | None) -> None:
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


def _kubeconfig_secret_id(metadata: dict[str, Any]) -> str:
    return f"{metadata['namespace']}/{naming.kubeconfig_secret_name(metadata['name'])}"


def _decode_kubeconfig(data: Mapping[str, str] | None) -> str:
    if not data or naming.KUBECONFIG_SECRET_KEY not in data:
        raise ValueError(
            f"the kubeconfig Secret has no data key {naming.KUBECONFIG_SECRET_KEY!r}; is the "
            "cluster's control plane initialised?"
        )
    return base64.b64decode(data[naming.KUBECONFIG_SECRET_KEY]).decode()
