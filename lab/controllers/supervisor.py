"""The Supervisor, as far as the program meets it: a new TKC becomes a cluster.

What it does, each step as the Supervisor is documented to do it (docs/antrea-and-tanzu.md
§4-§5 and docs/tkc-network-discovery.md):

- a short while after a TanzuKubernetesCluster appears, it creates the Cluster API `Cluster` of
  the same name (owned by the TKC) whose `spec.infrastructureRef` names the VSphereCluster
  `<cluster>-<suffix>`, the NCP `VirtualNetwork` `<infra>-vnet` (owned by the Cluster) and one
  `VirtualNetworkInterface` per node VM on it, whose `status.providerStatus.nsxLogicalSwitchID`
  is the unique id of the NSX node segment;
- it writes the admin kubeconfig Secret `<cluster>-kubeconfig` (data key `value`, owned by the
  Cluster), which here points at the guest API server;
- it adopts the AntreaConfig `<cluster>-antrea-package` by patching only its labels and an
  ownerReference to the Cluster; when there is none, it creates one from its default template
  (without the EgressSeparateSubnet gate), as ClusterBootstrap does;
- the cluster's nodes register in the guest API server (the kubelets' part);
- it reports the TKC `Ready`.

Deleting the TKC deletes the rest through owner references (the lab's garbage collector is the
real kube-controller-manager); the nodes leave the guest with it. It does not: upgrade, scale,
validate the TKC's spec against VM classes or TKrs, or bootstrap Antrea from the AntreaConfig.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lab.controllers.base import Clock, PollingController
from lab.kube import LabKube

TKC_API = "/apis/run.tanzu.vmware.com/v1alpha3"
TKCS = f"{TKC_API}/tanzukubernetesclusters"
CAPI_API_VERSION = "cluster.x-k8s.io/v1beta1"
INFRA_API_VERSION = "vmware.infrastructure.cluster.x-k8s.io/v1beta1"
NCP_API = "/apis/vmware.com/v1alpha1"
ANTREA_CONFIG_API = "/apis/cni.tanzu.vmware.com/v1alpha1"
PACKAGE_LABEL = {"tkg.tanzu.vmware.com/package-name": "antrea.tanzu.vmware.com"}
RETIRE_LABEL = "kubernetes.vmware.com/retire-tkc"
# The ClusterClass behind every TKC (docs/cluster-api.md C21).
TKC_CLUSTER_CLASS = "tanzukubernetescluster"
DEFAULT_SERVICE_DOMAIN = "cluster.local"
DEFAULT_READY_DELAY_S = 1.0


@dataclass(frozen=True)
class SupervisorSettings:
    guest_kubeconfig: str
    node_segment_unique_id: str
    # The namespace's SNAT IP in NAT mode; None for a routed namespace.
    snat_ip: str | None = None
    ready_delay_s: float = DEFAULT_READY_DELAY_S


class SupervisorDouble(PollingController):
    name = "supervisor-double"

    def __init__(
        self,
        supervisor: LabKube,
        guest: LabKube,
        settings: SupervisorSettings,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self._supervisor = supervisor
        self._guest = guest
        self._settings = settings
        self._clock = clock or Clock()
        self._first_seen: dict[str, float] = {}
        # AntreaConfigs found in place when their cluster came up, and those it had to create.
        self.adopted: list[str] = []
        self.defaulted: list[str] = []
        self.retired: list[str] = []  # TKCs retired into their Clusters
        self._nodes_of: dict[str, list[str]] = {}  # TKC uid -> guest Node names

    def reconcile(self) -> None:
        present = set()
        for tkc in self._supervisor.list(TKCS):
            uid = tkc["metadata"]["uid"]
            present.add(uid)
            if tkc["metadata"].get("deletionTimestamp"):
                continue
            if _is_ready(tkc):
                if RETIRE_LABEL in (tkc["metadata"].get("labels") or {}):
                    self._retire(tkc)
                continue
            seen = self._first_seen.setdefault(uid, self._clock.now())
            if self._clock.now() - seen >= self._settings.ready_delay_s:
                self._bring_up(tkc)
        for uid in set(self._nodes_of) - present:
            for node in self._nodes_of.pop(uid):
                self._guest.delete(f"/api/v1/nodes/{node}")

    def _bring_up(self, tkc: dict[str, Any]) -> None:
        meta = tkc["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        infra = f"{name}-{meta['uid'][:5]}"
        cluster = self._ensure(
            f"/apis/{CAPI_API_VERSION}/namespaces/{namespace}/clusters",
            _capi_cluster(tkc, infra, owner=owner_of(tkc, controller=True)),
        )
        owned_by_cluster = owner_of(cluster, controller=True)
        vnet = f"{infra}-vnet"
        self._ensure(
            f"{NCP_API}/namespaces/{namespace}/virtualnetworks",
            virtual_network(namespace, vnet, owned_by_cluster),
            status=virtual_network_status(self._settings.snat_ip),
        )
        nodes = _node_names(tkc)
        for node_name in nodes:
            self._ensure(
                f"{NCP_API}/namespaces/{namespace}/virtualnetworkinterfaces",
                interface(namespace, f"{node_name}-{vnet}-eth0", vnet, owned_by_cluster),
                status={"providerStatus": {"nsxLogicalSwitchID": self._unique_id}},
            )
        self._ensure(
            f"/api/v1/namespaces/{namespace}/secrets",
            kubeconfig_secret(namespace, name, self._settings.guest_kubeconfig, owned_by_cluster),
        )
        self._adopt_antrea_config(namespace, name, owned_by_cluster)
        for node_name in nodes:
            self._ensure("/api/v1/nodes", node(node_name, name))
        self._nodes_of[meta["uid"]] = nodes
        ready = {"type": "Ready", "status": "True", "lastTransitionTime": now_rfc3339()}
        self._supervisor.merge_patch(
            f"{TKC_API}/namespaces/{namespace}/tanzukubernetesclusters/{name}/status",
            {"status": {"conditions": [ready], "phase": "running"}},
        )

    def _retire(self, tkc: dict[str, Any]) -> None:
        """The TKC goes, its Cluster of the same name stays (docs/cluster-api.md C21): the
        Cluster loses the TKC's ownerReference, so the garbage collector leaves it, and its
        Nodes are the Cluster API double's from now on."""
        meta = tkc["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        cluster = f"/apis/{CAPI_API_VERSION}/namespaces/{namespace}/clusters/{name}"
        self._supervisor.merge_patch(cluster, {"metadata": {"ownerReferences": None}})
        self._nodes_of.pop(meta["uid"], None)
        self._supervisor.delete(f"{TKC_API}/namespaces/{namespace}/tanzukubernetesclusters/{name}")
        self.retired.append(f"{namespace}/{name}")

    @property
    def _unique_id(self) -> str:
        return self._settings.node_segment_unique_id

    def _adopt_antrea_config(self, namespace: str, cluster: str, owner: dict[str, Any]) -> None:
        path = f"{ANTREA_CONFIG_API}/namespaces/{namespace}/antreaconfigs"
        name = f"{cluster}-antrea-package"
        if self._supervisor.get(f"{path}/{name}") is None:
            self._supervisor.create(path, default_antrea_config(namespace, name, owner))
            self.defaulted.append(f"{namespace}/{name}")
            return
        self.adopted.append(f"{namespace}/{name}")
        self._supervisor.merge_patch(
            f"{path}/{name}", {"metadata": {"labels": PACKAGE_LABEL, "ownerReferences": [owner]}}
        )

    def _ensure(
        self, collection: str, body: dict[str, Any], *, status: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        client = self._guest if collection == "/api/v1/nodes" else self._supervisor
        path = f"{collection}/{body['metadata']['name']}"
        existing = client.get(path)
        created = existing or client.create(collection, body)
        if status is not None and existing is None:
            created = client.merge_patch(f"{path}/status", {"status": status})
        return created


def _is_ready(tkc: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (tkc.get("status") or {}).get("conditions") or []
    )


def owner_of(obj: dict[str, Any], *, controller: bool) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def infrastructure_ref(namespace: str, infra: str) -> dict[str, Any]:
    return {
        "apiVersion": INFRA_API_VERSION,
        "kind": "VSphereCluster",
        "name": infra,
        "namespace": namespace,
    }


def _capi_cluster(tkc: dict[str, Any], infra: str, owner: dict[str, Any]) -> dict[str, Any]:
    """The Cluster behind a TKC: same name and namespace, on the ClusterClass
    `tanzukubernetescluster`, its topology the TKC's (the required variables vmClass and
    storageClass from the control plane, pools that differ overriding them)."""
    meta = tkc["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    return {
        "apiVersion": CAPI_API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": name, "namespace": namespace, "ownerReferences": [owner]},
        "spec": {
            "clusterNetwork": _cluster_network(tkc),
            "infrastructureRef": infrastructure_ref(namespace, infra),
            "topology": _topology(tkc),
        },
    }


def _cluster_network(tkc: dict[str, Any]) -> dict[str, Any]:
    network = ((tkc["spec"].get("settings") or {}).get("network")) or {}
    return {
        "pods": {"cidrBlocks": list((network.get("pods") or {}).get("cidrBlocks") or [])},
        "services": {"cidrBlocks": list((network.get("services") or {}).get("cidrBlocks") or [])},
        "serviceDomain": network.get("serviceDomain") or DEFAULT_SERVICE_DOMAIN,
    }


def _topology(tkc: dict[str, Any]) -> dict[str, Any]:
    control_plane = tkc["spec"]["topology"]["controlPlane"]
    machine = [
        {"name": "vmClass", "value": control_plane["vmClass"]},
        {"name": "storageClass", "value": control_plane["storageClass"]},
    ]
    deployments = []
    for pool in tkc["spec"]["topology"].get("nodePools") or []:
        deployment: dict[str, Any] = {
            "class": "node-pool",
            "name": pool["name"],
            "replicas": pool["replicas"],
        }
        pool_machine = [
            {"name": "vmClass", "value": pool["vmClass"]},
            {"name": "storageClass", "value": pool["storageClass"]},
        ]
        overrides = [v for v, c in zip(pool_machine, machine, strict=True) if v != c]
        if overrides:
            deployment["variables"] = {"overrides": overrides}
        deployments.append(deployment)
    return {
        "class": TKC_CLUSTER_CLASS,
        "version": control_plane["tkr"]["reference"]["name"],
        "controlPlane": {"replicas": control_plane["replicas"]},
        "workers": {"machineDeployments": deployments},
        "variables": machine,
    }


def virtual_network(namespace: str, name: str, owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "vmware.com/v1alpha1",
        "kind": "VirtualNetwork",
        "metadata": {"name": name, "namespace": namespace, "ownerReferences": [owner]},
        "spec": {},
    }


def virtual_network_status(snat_ip: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": "Ready", "status": "True"}]}
    if snat_ip:
        status["defaultSNATIP"] = snat_ip
    return status


def interface(namespace: str, name: str, vnet: str, owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "vmware.com/v1alpha1",
        "kind": "VirtualNetworkInterface",
        "metadata": {"name": name, "namespace": namespace, "ownerReferences": [owner]},
        "spec": {"virtualNetwork": vnet},
    }


def kubeconfig_secret(
    namespace: str, cluster: str, kubeconfig: str, owner: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "cluster.x-k8s.io/secret",
        "metadata": {
            "name": f"{cluster}-kubeconfig",
            "namespace": namespace,
            "labels": {"cluster.x-k8s.io/cluster-name": cluster},
            "ownerReferences": [owner],
        },
        "data": {"value": base64.b64encode(kubeconfig.encode()).decode()},
    }


def default_antrea_config(namespace: str, name: str, owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "cni.tanzu.vmware.com/v1alpha1",
        "kind": "AntreaConfig",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": PACKAGE_LABEL,
            "ownerReferences": [owner],
        },
        "spec": {"antrea": {"config": {"featureGates": {"Egress": True}}}},
    }


def _node_names(tkc: dict[str, Any]) -> list[str]:
    topology = tkc["spec"]["topology"]
    name = tkc["metadata"]["name"]
    names = [f"{name}-control-plane-{i}" for i in range(topology["controlPlane"]["replicas"])]
    for pool in topology.get("nodePools") or []:
        names += [f"{name}-{pool['name']}-{i}" for i in range(pool["replicas"])]
    return names


def node(name: str, cluster: str) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if "-control-plane-" in name:
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
