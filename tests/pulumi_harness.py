"""The program under the SDK's mock engine, answered like the real providers would answer.

`egressctl.offline` runs the program and records registrations; the engine here fills in what
the live systems would return once the objects exist (the lab's node segment and Tier-1, the
egress IPs Antrea would assign), so tests can follow values through the whole graph.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import rpc

from egressctl.offline import OfflineEngine, OfflineRun, run_offline, stack_values
from egressctl.project import PROJECT_DIR as ROOT
from nsxsim import LAB

GUEST_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
EGRESS_IPS = {"prod": "10.100.5.10", "staging": "10.100.5.130"}

__all__ = ["GUEST_KUBECONFIG", "ROOT", "FakeEngine", "OfflineRun", "run_program", "stack_values"]


class FakeEngine(OfflineEngine):
    """Answers like the real providers would once the objects exist."""

    def __init__(self, *, cluster_exists: bool = True) -> None:
        self.cluster_exists = cluster_exists

    def outputs(
        self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]
    ) -> dict[str, Any]:
        answer = _ANSWERS.get(args.typ)
        return answer(self, args, state) if answer else state


def _tkc(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    if not engine.cluster_exists:
        return {k: v for k, v in state.items() if k != "metadata"}  # outputs unknown in preview
    metadata = {**state["metadata"], "uid": "3a1f-tkc-uid"}
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    return {**state, "metadata": metadata, "status": ready}


def _kubeconfig_secret(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    namespace, name = str(args.resource_id).split("/", 1)
    data = {"value": base64.b64encode(GUEST_KUBECONFIG.encode()).decode()}
    return {
        "metadata": {"namespace": namespace, "name": name, "uid": f"uid-of-{name}"},
        # The engine, not the SDK, applies additional_secret_outputs: mark it as the engine would.
        "data": rpc.wrap_rpc_secret(data),
    }


def _node_segment(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    return {
        **state,
        "path": LAB.node_segment_path,
        "tier1_path": LAB.tier1_path,
        "found_by": "unique_id",
        "virtual_network": f"{state['cluster']}-x7k2p-vnet",
        "snat_ip": "10.114.19.164",
    }


def _child_segment(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    path = f"/infra/segments/{state['nsx_id']}"
    return {
        **state,
        "path": path,
        "binding_map_path": f"{path}/segment-connection-binding-maps/bm-x",
        "tier1_path": LAB.tier1_path,
        "transport_zone_path": LAB.transport_zone_path,
        "network": state["cidr"],
    }


def _nat_rule(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    return {**state, "path": f"{state['gatewayPath']}/nat/USER/nat-rules/{state['nsxId']}"}


def _egress(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    # Antrea allocates from the pool; the fake takes the first address of the zone's range.
    zone = state["metadata"]["labels"]["antrea-egress/zone"]
    status = {"egressIP": EGRESS_IPS.get(zone, "10.0.0.1"), "egressNode": f"{zone}-node-1"}
    return {**state, "status": status}


_ANSWERS: dict[str, Callable[[FakeEngine, Any, dict[str, Any]], dict[str, Any]]] = {
    "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster": _tkc,
    "kubernetes:core/v1:Secret": _kubeconfig_secret,
    "pulumi-python:dynamic/nsx:NodeSegment": _node_segment,
    "pulumi-python:dynamic/nsx:ChildSegment": _child_segment,
    "nsxt:index/policyNatRule:PolicyNatRule": _nat_rule,
    "kubernetes:crd.antrea.io/v1beta1:Egress": _egress,
}


def run_program(
    stack: str,
    *,
    preview: bool = False,
    engine: OfflineEngine | None = None,
    values: dict[str, Any] | None = None,
) -> OfflineRun:
    """Run __main__.py for `stack` with its Pulumi.<stack>.yaml config, or with `values`."""
    return run_offline(stack, engine=engine or FakeEngine(), values=values, preview=preview)
