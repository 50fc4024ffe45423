"""The Supervisor, as far as a Cluster API v1beta1 Cluster meets it: a Cluster becomes a cluster.

What it does with a Cluster that has a `spec.topology` and no TKC controlling it (the TKC
double brings up those), each step as docs/cluster-api.md says the Supervisor does it:

- a short while after the Cluster appears, Cluster API's topology controller writes
  `spec.infrastructureRef` (the VSphereCluster `<cluster>-<suffix>`, kept when already there);
  NCP's VirtualNetwork `<infra>-vnet` and one VirtualNetworkInterface per node VM follow, owned
  by the Cluster, as for a TKC (C20: the discovery chain is unchanged);
- the control plane comes up: the admin kubeconfig Secret `<cluster>-kubeconfig` (data key
  `value`, C19), the control-plane Nodes register in the guest, and the Cluster reports
  v1beta1 `InfrastructureReady`, `ControlPlaneInitialized`, `ControlPlaneReady` and `Ready`,
  phase `Provisioned`, with the v1beta2 conditions `ControlPlaneInitialized` and
  `ControlPlaneAvailable` True and `WorkersAvailable`, `Available` False (C13-C16);
- the addons controller adopts the AntreaConfig `<cluster>-antrea-package` by patching only its
  labels and an ownerReference to the Cluster, or creates its default one (C11);
- `workers_delay_s` later the workers' Nodes register and v1beta2 `WorkersAvailable` and
  `Available` turn True.

The Supervisor's TKR resolver, which rewrites the Cluster on every write, is a real mutating
webhook (lab/controllers/tkr_resolver.py). Deleting the Cluster deletes the rest through owner
references and the real garbage collector; its Nodes leave the guest with it. It does not:
create Machines, MachineDeployments or the VSphereCluster object, scale or upgrade, read the
ClusterClass or its variables, or honour `paused`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from lab.controllers import supervisor
from lab.controllers.base import Clock, PollingController
from lab.controllers.supervisor import SupervisorSettings
from lab.kube import LabKube

CLUSTERS = f"/apis/{supervisor.CAPI_API_VERSION}/clusters"
DEFAULT_WORKERS_DELAY_S = 3.0


@dataclass
class _Progress:
    first_seen: float
    initialized_at: float | None = None
    nodes: list[str] = field(default_factory=list)


class CapiDouble(PollingController):
    name = "capi-double"

    def __init__(
        self,
        supervisor_api: LabKube,
        guest: LabKube,
        settings: SupervisorSettings,
        clock: Clock | None = None,
        workers_delay_s: float = DEFAULT_WORKERS_DELAY_S,
    ) -> None:
        super().__init__()
        self._supervisor = supervisor_api
        self._guest = guest
        self._settings = settings
        self._clock = clock or Clock()
        self._workers_delay_s = workers_delay_s
        self._progress: dict[str, _Progress] = {}  # Cluster uid ->
        # AntreaConfigs found in place and adopted, and those it had to create.
        self.adopted: list[str] = []
        self.defaulted: list[str] = []
        # When each Cluster (namespace/name) turned Available, in wall-clock seconds.
        self.available_at: dict[str, float] = {}

    def reconcile(self) -> None:
        present = set()
        for cluster in self._supervisor.list(CLUSTERS):
            if not _is_ours(cluster):
                continue
            uid = cluster["metadata"]["uid"]
            present.add(uid)
            progress = self._progress.setdefault(uid, _Progress(self._clock.now()))
            if _available(cluster):
                continue
            if progress.initialized_at is None:
                if self._clock.now() - progress.first_seen >= self._settings.ready_delay_s:
                    self._initialize(cluster, progress)
            elif self._clock.now() - progress.initialized_at >= self._workers_delay_s:
                self._workers_available(cluster, progress)
        for uid in set(self._progress) - present:
            for node in self._progress.pop(uid).nodes:
                self._guest.delete(f"/api/v1/nodes/{node}")

    def _initialize(self, cluster: dict[str, Any], progress: _Progress) -> None:
        meta = cluster["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        path = _cluster_path(namespace, name)
        infra = ((cluster["spec"].get("infrastructureRef") or {}).get("name")) or (
            f"{name}-{meta['uid'][:5]}"
        )
        if not cluster["spec"].get("infrastructureRef"):
            reference = supervisor.infrastructure_ref(namespace, infra)
            cluster = self._supervisor.merge_patch(path, {"spec": {"infrastructureRef": reference}})
        owned = supervisor.owner_of(cluster, controller=True)
        vnet = f"{infra}-vnet"
        self._ensure(
            f"{supervisor.NCP_API}/namespaces/{namespace}/virtualnetworks",
            supervisor.virtual_network(namespace, vnet, owned),
            status=supervisor.virtual_network_status(self._settings.snat_ip),
        )
        control_plane, workers = _node_names(cluster)
        for node in control_plane + workers:
            self._ensure(
                f"{supervisor.NCP_API}/namespaces/{namespace}/virtualnetworkinterfaces",
                supervisor.interface(namespace, f"{node}-{vnet}-eth0", vnet, owned),
                status={"providerStatus": {"nsxLogicalSwitchID": self._unique_id}},
            )
        self._ensure(
            f"/api/v1/namespaces/{namespace}/secrets",
            supervisor.kubeconfig_secret(namespace, name, self._settings.guest_kubeconfig, owned),
        )
        self._nodes_up(control_plane, name, progress)
        self._set_status(path, initialized=True, workers=False)
        progress.initialized_at = self._clock.now()
        self._adopt_antrea_config(namespace, name, owned)

    def _workers_available(self, cluster: dict[str, Any], progress: _Progress) -> None:
        meta = cluster["metadata"]
        _, workers = _node_names(cluster)
        self._nodes_up(workers, meta["name"], progress)
        path = _cluster_path(meta["namespace"], meta["name"])
        self._set_status(path, initialized=True, workers=True)
        self.available_at[f"{meta['namespace']}/{meta['name']}"] = time.time()

    def _nodes_up(self, nodes: list[str], cluster: str, progress: _Progress) -> None:
        for node in nodes:
            if self._guest.get(f"/api/v1/nodes/{node}") is None:
                self._guest.create("/api/v1/nodes", supervisor.node(node, cluster))
            if node not in progress.nodes:
                progress.nodes.append(node)

    def _set_status(self, path: str, *, initialized: bool, workers: bool) -> None:
        """Cluster API's conditions: v1beta1 `Ready` leaves workers out (C14), v1beta2
        `Available` includes them (C15)."""
        now = supervisor.now_rfc3339()

        def condition(kind: str, true: bool) -> dict[str, str]:
            return {"type": kind, "status": str(true), "lastTransitionTime": now}

        v1beta1 = ["InfrastructureReady", "ControlPlaneInitialized", "ControlPlaneReady", "Ready"]
        v1beta2 = {
            "InfrastructureReady": True,
            "ControlPlaneInitialized": initialized,
            "ControlPlaneAvailable": initialized,
            "WorkersAvailable": workers,
            "Available": workers,
        }
        status = {
            "phase": "Provisioned",
            "conditions": [condition(kind, initialized) for kind in v1beta1],
            "v1beta2": {"conditions": [condition(k, v) for k, v in v1beta2.items()]},
        }
        self._supervisor.merge_patch(f"{path}/status", {"status": status})

    @property
    def _unique_id(self) -> str:
        return self._settings.node_segment_unique_id

    def _adopt_antrea_config(self, namespace: str, cluster: str, owner: dict[str, Any]) -> None:
        path = f"{supervisor.ANTREA_CONFIG_API}/namespaces/{namespace}/antreaconfigs"
        name = f"{cluster}-antrea-package"
        if self._supervisor.get(f"{path}/{name}") is None:
            self._supervisor.create(path, supervisor.default_antrea_config(namespace, name, owner))
            self.defaulted.append(f"{namespace}/{name}")
            return
        self.adopted.append(f"{namespace}/{name}")
        self._supervisor.merge_patch(
            f"{path}/{name}",
            {"metadata": {"labels": supervisor.PACKAGE_LABEL, "ownerReferences": [owner]}},
        )

    def _ensure(
        self, collection: str, body: dict[str, Any], *, status: dict[str, Any] | None = None
    ) -> None:
        path = f"{collection}/{body['metadata']['name']}"
        if self._supervisor.get(path) is not None:
            return
        self._supervisor.create(collection, body)
        if status is not None:
            self._supervisor.merge_patch(f"{path}/status", {"status": status})


def _is_ours(cluster: dict[str, Any]) -> bool:
    """A topology Cluster no TKC controls, not being deleted."""
    meta = cluster["metadata"]
    controlled_by_tkc = any(
        owner.get("kind") == "TanzuKubernetesCluster" for owner in meta.get("ownerReferences") or []
    )
    topology = (cluster.get("spec") or {}).get("topology")
    return bool(topology) and not controlled_by_tkc and not meta.get("deletionTimestamp")


def _available(cluster: dict[str, Any]) -> bool:
    conditions = ((cluster.get("status") or {}).get("v1beta2") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)


def _cluster_path(namespace: str, name: str) -> str:
    return f"/apis/{supervisor.CAPI_API_VERSION}/namespaces/{namespace}/clusters/{name}"


def _node_names(cluster: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The control plane's and the workers' Node names, as the TKC double names them."""
    topology = cluster["spec"]["topology"]
    name = cluster["metadata"]["name"]
    replicas = (topology.get("controlPlane") or {}).get("replicas") or 1
    control_plane = [f"{name}-control-plane-{i}" for i in range(replicas)]
    workers = [
        f"{name}-{deployment['name']}-{i}"
        for deployment in (topology.get("workers") or {}).get("machineDeployments") or []
        for i in range(deployment.get("replicas") or 0)
    ]
    return control_plane, workers
