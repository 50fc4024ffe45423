"""The program under the SDK's mock engine, answered the way the real engine and providers answer.

`egressctl.offline` runs the program and records registrations; `FakeEngine` here plays the
Pulumi engine, pulumi-kubernetes, the dynamic-provider host and the NSX-T bridge. Two
situations, because the engine answers them differently:

- the stack is deployed (`stack_deployed=True`, the default): an `up` creates every object and
  each provider returns the live object; a preview of such a stack with no change hands back
  the outputs the engine holds in its state. Either way the outputs below are what the live
  systems return (the lab's node segment and Tier-1, the IP Antrea assigns, ...).
- nothing exists yet (`stack_deployed=False`): in a preview, every resource is a create, and
  each provider answers a preview create as its source says (see `_PREVIEW_CREATE`), with an
  empty id; a read of an object that does not exist fails as the engine fails it. In an `up`,
  creates happen for real and the answers are those of a deployed stack.

Each behaviour names the upstream source it follows.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import rpc

from antrea_egress.providers.base import UNKNOWN
from egressctl.offline import OfflineEngine, OfflineRun, run_offline, stack_values
from egressctl.project import PROJECT_DIR as ROOT
from nsxsim import LAB

GUEST_KUBECONFIG = (
    "apiVersion: v1\nkind: Config\ncurrent-context: admin@guest\n"
    "contexts:\n- name: admin@guest\n  context: {cluster: guest, user: admin}\n"
    "clusters:\n- name: guest\n  cluster: {server: 'https://10.114.19.130:6443', "
    "certificate-authority-data: R1VFU1QtQ0E=}\n"
    "users:\n- name: admin\n  user: {token: not-a-real-token}\n"
)
EGRESS_IPS = {"prod": "10.100.5.10", "staging": "10.100.5.130"}
TKC_UID = "3a1f-tkc-uid"
CLUSTER_UID = "7c2e-cluster-uid"

__all__ = [
    "CLUSTER_UID",
    "GUEST_KUBECONFIG",
    "ROOT",
    "TKC_UID",
    "FakeEngine",
    "OfflineRun",
    "run_program",
    "stack_values",
]

Answer = Callable[["FakeEngine", Any, dict[str, Any]], dict[str, Any]]


class ObjectNotFoundError(Exception):
    """What the engine reports for a `get` of an object the provider cannot find."""


class FakeEngine(OfflineEngine):
    """Answers like the real engine and providers; see the module docstring."""

    def __init__(self, *, stack_deployed: bool = True) -> None:
        self.stack_deployed = stack_deployed

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        first_preview = pulumi.runtime.is_dry_run() and not self.stack_deployed
        if first_preview and args.resource_id and args.resource_id != UNKNOWN:
            # pulumi-kubernetes Read answers a missing object with no outputs, and the engine
            # turns that into this error for a `get` (provider/pkg/provider/provider.go Read;
            # pkg/resource/deploy/step.go ReadStep.Apply). CLI 3.276 skips such a read when a
            # dependsOn target of it is being created in the preview (pulumi/pulumi#16395);
            # older CLIs, down to our floor, do not. The double plays the stricter engine.
            raise ObjectNotFoundError(f"resource '{args.resource_id}' does not exist")
        if first_preview and args.custom:
            answer = _PREVIEW_CREATE.get(args.typ.split(":", 1)[0], _inputs_unchanged)
            return "", answer(self, args, dict(args.inputs))
        return super().new_resource(args)

    def outputs(
        self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]
    ) -> dict[str, Any]:
        answer = _ANSWERS.get(args.typ)
        return answer(self, args, state) if answer else state


# --- a preview of a create: empty id, and the properties each provider returns -----------


def _kubernetes_preview(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    # pulumi-kubernetes Create with preview=true returns the inputs (or the server's dry-run
    # object, metadata included) with Id "" and without `status`
    # (provider/pkg/provider/provider.go Create, v4.25.0).
    return {key: value for key, value in state.items() if key != "status"}


def _inputs_unchanged(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    # A provider that cannot preview (the Python dynamic-provider host declares no
    # supportsPreview) gets no Create call: the engine returns the inputs as the state
    # (pkg/resource/plugin/provider_plugin.go Create). Outputs that are not inputs stay unknown.
    # The Terraform bridge previews, and also leaves computed attributes (a rule's path) unknown.
    return state


_PREVIEW_CREATE: dict[str, Answer] = {"kubernetes": _kubernetes_preview}


# --- a deployed stack: what the live systems return ---------------------------------------


def _tkc(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    # The API server assigns the uid; the Supervisor reports Ready (the waitFor condition).
    metadata = {**state["metadata"], "uid": TKC_UID}
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    return {**state, "metadata": metadata, "status": ready}


def _capi_cluster(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    # The API server assigns the uid; Cluster API reports what the waitFor list asks for
    # (antrea_egress/capi.py): ControlPlaneInitialized, and v1beta2 Available.
    metadata = {**state["metadata"], "uid": CLUSTER_UID}
    status = {
        "conditions": [{"type": "ControlPlaneInitialized", "status": "True"}],
        "v1beta2": {"conditions": [{"type": "Available", "status": "True"}]},
    }
    return {**state, "metadata": metadata, "status": status}


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


def _parent_segment(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    return {**state, "tier1_path": LAB.tier1_path}


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
    # What antrea-controller and the agent holding the IP write once an IP is assigned:
    # IPAllocated and IPAssigned True, egressIP and egressNode (docs/antrea-and-tanzu.md).
    zone = state["metadata"]["labels"]["antrea-egress/zone"]
    status = {
        "egressIP": EGRESS_IPS.get(zone, "10.0.0.1"),
        "egressNode": f"{zone}-node-1",
        "conditions": [
            {"type": "IPAllocated", "status": "True", "reason": "Allocated"},
            {"type": "IPAssigned", "status": "True", "reason": "Assigned"},
        ],
    }
    return {**state, "status": status}


_ANSWERS: dict[str, Answer] = {
    "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster": _tkc,
    "kubernetes:cluster.x-k8s.io/v1beta1:Cluster": _capi_cluster,
    "kubernetes:core/v1:Secret": _kubeconfig_secret,
    "pulumi-python:dynamic/nsx:NodeSegment": _node_segment,
    "pulumi-python:dynamic/nsx:ParentSegment": _parent_segment,
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
