"""The Cluster API v1beta1 Cluster of `cluster.api: cluster`, declared on the Supervisor.

`TanzuCluster` declares the AntreaConfig first and then either its TKC or this Cluster; the
kubeconfig Secret, the guest provider and the node segment follow either the same way.
"""

from __future__ import annotations

import pulumi

from antrea_egress import capi, manifests
from antrea_egress.config import ClusterConfig
from antrea_egress.kubernetes_object import KubernetesObject

# The Cluster's resource name beside the TKC's `<cluster>-tkc`: a stack that moves from one to
# the other (README, "From a TKC to a Cluster") keeps every other resource.
RESOURCE_SUFFIX = "cluster"


def declare_capi_cluster(
    resource_name: str,
    cluster: ClusterConfig,
    antrea_config: KubernetesObject,
    opts: pulumi.ResourceOptions,
    *,
    traffic_shaping: bool = False,
) -> KubernetesObject:
    """The Cluster, created after its AntreaConfig was found intact, awaited until its control
    plane is initialised and its workers are available (`capi.CLUSTER_WAIT_FOR`)."""
    manifest = capi.cluster(cluster)
    # As for the TKC: never build a cluster on an AntreaConfig its CRD pruned.
    manifest["metadata"]["annotations"][manifests.ANTREA_CONFIG_CHECKED] = antrea_config.spec.apply(
        lambda spec: manifests.check_antrea_config_kept(
            cluster, spec, traffic_shaping=traffic_shaping
        )
    )
    timeout = cluster.ready_timeout_go
    return KubernetesObject(
        f"{resource_name}-{RESOURCE_SUFFIX}",
        manifest,
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                depends_on=[antrea_config],
                # The Supervisor stores the resolved version in place of the TKr name sent;
                # without this every run would send the name again (docs/cluster-api.md).
                ignore_changes=list(capi.WEBHOOK_REWRITTEN_INPUTS),
                # A fixed name, as the TKC's: a replacement must not create (server-side apply
                # takes over the live object) and then delete it (tanzu_cluster.py).
                delete_before_replace=True,
                protect=cluster.protect,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=timeout, update=timeout, delete=timeout
                ),
            ),
        ),
    )
