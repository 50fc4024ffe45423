"""kube-scheduler and the kubelets of the guest's worker Nodes, as far as a Deployment's pods go.

The guest has no scheduler and no kubelet; the real deployment and replicaset controllers run
in its kube-controller-manager and create the pods. This double plays the rest, each step as
the real component does it:

- a pod with no `spec.nodeName` is bound to a worker Node through the pods/binding
  subresource, which is how kube-scheduler binds (pkg/scheduler/framework/plugins/
  defaultbinder); control-plane Nodes are skipped, as their NoSchedule taint makes the
  scheduler do on TKG clusters (the Supervisor double does not write the taint), and so are
  Nodes that do not match the pod's `nodeSelector`;
- a bound pod that is not Running is reported Running by its Node's kubelet through the status
  subresource, with PodScheduled, Initialized, ContainersReady and Ready True and every
  container ready and started (pkg/kubelet/status/generate.go); the replicaset controller then
  counts it available (Ready for minReadySeconds, pkg/api/v1/pod/util.go IsPodAvailable), and
  the deployment controller reports the Deployment Available;
- a pod being deleted (its `deletionTimestamp` set) is removed with a zero grace period once
  its containers would have stopped, as the kubelet does after a graceful stop
  (pkg/kubelet/status/status_manager.go, the final delete with grace period 0).

It does not: run containers, pull images, probe readiness, restart anything, or report a pod
that could not be placed (kube-scheduler would write PodScheduled=False, Unschedulable).
"""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Any

from lab.controllers.base import PollingController
from lab.controllers.selectors import matches
from lab.kube import LabKube

PODS = "/api/v1/pods"
NODES = "/api/v1/nodes"
CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane"
# Pod IPs from the lab cluster's pod range (lab/stack.py: 192.168.0.0/16); nothing routes them.
FIRST_POD_IP = IPv4Address("192.168.100.10")
READY_CONDITIONS = ("PodScheduled", "Initialized", "ContainersReady", "Ready")


class NodeAgentsDouble(PollingController):
    name = "node-agents-double"

    def __init__(self, guest: LabKube) -> None:
        super().__init__()
        self._guest = guest
        self._next_ip = FIRST_POD_IP

    def reconcile(self) -> None:
        workers = [node for node in self._guest.list(NODES) if not _is_control_plane(node)]
        for pod in self._guest.list(PODS):
            meta, spec = pod["metadata"], pod["spec"]
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            if meta.get("deletionTimestamp"):
                self._guest.delete(f"{path}?gracePeriodSeconds=0")
            elif not spec.get("nodeName"):
                self._bind(path, pod, workers)
            elif pod.get("status", {}).get("phase") != "Running":
                self._report_running(path, pod)

    def _bind(self, path: str, pod: dict[str, Any], workers: list[dict[str, Any]]) -> None:
        wanted = {"matchLabels": pod["spec"].get("nodeSelector") or {}}
        fitting = sorted(
            (n["metadata"]["name"] for n in workers if matches(wanted, _labels(n))),
        )
        if not fitting:
            return
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod["metadata"]["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": fitting[0]},
        }
        self._guest.create(f"{path}/binding", binding)

    def _report_running(self, path: str, pod: dict[str, Any]) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = {
            "phase": "Running",
            "conditions": [
                {"type": kind, "status": "True", "lastTransitionTime": now}
                for kind in READY_CONDITIONS
            ],
            "podIP": str(self._next_ip),
            "podIPs": [{"ip": str(self._next_ip)}],
            "startTime": now,
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": "",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
                for container in pod["spec"]["containers"]
            ],
        }
        self._guest.merge_patch(f"{path}/status", {"status": status})
        self._next_ip += 1


def _labels(node: dict[str, Any]) -> dict[str, str]:
    return dict(node["metadata"].get("labels") or {})


def _is_control_plane(node: dict[str, Any]) -> bool:
    return CONTROL_PLANE_ROLE in _labels(node)
