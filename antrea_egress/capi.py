"""The Cluster API v1beta1 Cluster (`cluster.api: cluster`) as the Supervisor expects it.

Its manifest on a versioned ClusterClass, what the program waits for, and the fields the
Supervisor's webhooks rewrite. Each fact is in docs/cluster-api.md with its source, or marked
UNCONFIRMED there with the one constant here to change. Nothing here imports Pulumi.
"""

from __future__ import annotations

import json
from typing import Any, Final

from antrea_egress.config import ClusterConfig, NodePool
from antrea_egress.manifests import WAIT_FOR

CLUSTER_API: Final = "cluster.x-k8s.io/v1beta1"
CLUSTER_KIND: Final = "Cluster"

# The MachineDeployment class every builtin ClusterClass declares for workers (C7).
WORKER_CLASS: Final = "node-pool"
# The two variables every builtin ClusterClass requires (C8). They apply to the control plane
# and to every node pool; a pool that differs overrides them (C10).
VM_CLASS_VARIABLE: Final = "vmClass"
STORAGE_CLASS_VARIABLE: Final = "storageClass"

# Waiting (C13-C16). The kubeconfig Secret is read once the control plane is initialised:
# a v1beta1 condition in .status.conditions, which pulumi-kubernetes' `condition=` reads.
CONTROL_PLANE_INITIALIZED: Final = "condition=ControlPlaneInitialized"
# The guest objects come once the workers are available. v1beta2 `Available` includes
# WorkersAvailable (v1beta1 `Ready` does not). UNCONFIRMED that a TKG Service 3.2 Supervisor's
# Cluster API writes status.v1beta2 (C15): if it does not, change this one constant.
WORKERS_AVAILABLE: Final = (
    "jsonpath={.status.v1beta2.conditions[?(@.type=='Available')].status}=True"
)
# pulumi-kubernetes takes a JSON list of conditions and waits for all of them
# (provider/pkg/metadata/overrides.go, ReadyCondition).
CLUSTER_WAIT_FOR: Final = json.dumps([CONTROL_PLANE_INITIALIZED, WORKERS_AVAILABLE])

# What the Supervisor's TKR resolver (a mutating webhook) writes into the Cluster (C17): the
# resolved version in place of the TKr name we send, a variable of its own and a label.
TKR_DATA_VARIABLE: Final = "TKR_DATA"
TKR_LABEL: Final = "run.tanzu.vmware.com/tkr"
# The paths of those rewrites among the Cluster's inputs: only the version is a field we send.
WEBHOOK_REWRITTEN_INPUTS: Final = ("spec.topology.version",)


def cluster(cluster: ClusterConfig) -> dict[str, Any]:
    """The Cluster on the versioned ClusterClass; the AntreaConfig must exist before it."""
    control_plane = cluster.control_plane
    if cluster.tkr is None or control_plane is None:
        raise ValueError(f"cluster {cluster.name} is not managed here (manage: false)")
    topology: dict[str, Any] = {"class": cluster.cluster_class}
    if cluster.class_namespace is not None:
        topology["classNamespace"] = cluster.class_namespace
    topology |= {
        # The TKr name; the Supervisor resolves it to the Kubernetes version it stores (C17).
        "version": cluster.tkr,
        "controlPlane": {"replicas": control_plane.replicas},
        "workers": {
            "machineDeployments": [
                _machine_deployment(pool, cluster.control_plane_machine)
                for pool in cluster.node_pools
            ]
        },
        "variables": _variables(*cluster.control_plane_machine),
    }
    return {
        "apiVersion": CLUSTER_API,
        "kind": CLUSTER_KIND,
        "metadata": {
            "name": cluster.name,
            "namespace": cluster.vsphere_namespace,
            "annotations": {WAIT_FOR: CLUSTER_WAIT_FOR},
        },
        "spec": {
            "clusterNetwork": {
                "pods": {"cidrBlocks": list(cluster.network.pods)},
                "services": {"cidrBlocks": list(cluster.network.services)},
                "serviceDomain": cluster.network.service_domain,
            },
            "topology": topology,
        },
    }


def _variables(vm_class: str, storage_class: str) -> list[dict[str, Any]]:
    return [
        {"name": VM_CLASS_VARIABLE, "value": vm_class},
        {"name": STORAGE_CLASS_VARIABLE, "value": storage_class},
    ]


def _machine_deployment(pool: NodePool, cluster_machine: tuple[str, str]) -> dict[str, Any]:
    deployment: dict[str, Any] = {
        "class": WORKER_CLASS,
        "name": pool.name,
        "replicas": pool.replicas,
    }
    overrides = [
        variable
        for variable, default in zip(
            _variables(pool.vm_class, pool.storage_class), _variables(*cluster_machine), strict=True
        )
        if variable != default
    ]
    if overrides:
        deployment["variables"] = {"overrides": overrides}
    return deployment
