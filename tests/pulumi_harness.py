"""Run the real program under the Pulumi SDK's mock engine and record what it registers.

The mock monitor is the SDK's own (`pulumi.runtime.mocks.MockMonitor`): the real runtime,
serialization and resource options, with a fake engine answering registrations. We extend it
only to keep the registration requests (parents, providers, dependencies, options), which the
SDK's `Mocks.new_resource` does not see, and the stack's exported outputs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import runpy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from antrea_egress.providers.base import UNKNOWN
from nsxsim import LAB

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "antrea-egress"
SECRET_PLACEHOLDER = "secret-placeholder"
GUEST_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]
    options: Any  # the RegisterResourceRequest, for options such as replaceWith
    read_id: str | None = None

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        # Stack exports: name -> value, secret values wrapped as the engine would keep them.
        self.exports: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(_registration(response.urn, request, request.object))
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        response = super().ReadResource(request)
        record = _registration(response.urn, request, request.properties)
        record.read_id = request.id
        self.registrations.append(record)
        return response


def _registration(urn: str, request: Any, properties: Any) -> Registration:
    return Registration(
        urn=urn,
        type=request.type,
        name=request.name,
        custom=getattr(request, "custom", True),
        parent=request.parent,
        provider=request.provider,
        dependencies=list(getattr(request, "dependencies", [])),
        inputs=rpc.deserialize_properties(properties),
        options=request,
    )


class FakeEngine(pulumi.runtime.Mocks):
    """Answers like the real providers would once the objects exist."""

    def __init__(self, *, cluster_exists: bool = True) -> None:
        self.cluster_exists = cluster_exists

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if args.resource_id == UNKNOWN:
            # The engine skips a read whose id is not known yet (a preview before the object
            # exists) and leaves its outputs unknown.
            return args.resource_id, {}
        state = dict(args.inputs)
        answer = _ANSWERS.get(args.typ)
        if answer is not None:
            state = answer(self, args, state)
        resource_id = args.resource_id or (f"{args.name}-id" if args.custom else None)
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def _tkc(engine: FakeEngine, args: Any, state: dict[str, Any]) -> dict[str, Any]:
    if not engine.cluster_exists:
        return {k: v for k, v in state.items() if k != "metadata"}  # outputs unknown in preview
    metadata = {**state["metadata"], "uid": "3a1f-tkc-uid"}
    return {
        **state,
        "metadata": metadata,
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


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
    return {
        **state,
        "status": {"egressIP": EGRESS_IPS.get(zone, "10.0.0.1"), "egressNode": f"{zone}-node-1"},
    }


EGRESS_IPS = {"prod": "10.100.5.10", "staging": "10.100.5.130"}

_ANSWERS: dict[str, Callable[[FakeEngine, Any, dict[str, Any]], dict[str, Any]]] = {
    "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster": _tkc,
    "kubernetes:core/v1:Secret": _kubeconfig_secret,
    "pulumi-python:dynamic/nsx:NodeSegment": _node_segment,
    "pulumi-python:dynamic/nsx:ChildSegment": _child_segment,
    "nsxt:index/policyNatRule:PolicyNatRule": _nat_rule,
    "kubernetes:crd.antrea.io/v1beta1:Egress": _egress,
}


# --- stack configuration -------------------------------------------------------------------


def stack_values(stack: str) -> dict[str, Any]:
    """The `config:` mapping of Pulumi.<stack>.yaml, as parsed YAML (edit it, then run it)."""
    return dict(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])


def stack_config(path: Path) -> tuple[dict[str, str], list[str]]:
    return as_pulumi_config(yaml.safe_load(path.read_text()).get("config", {}))


def as_pulumi_config(values: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Config values as pulumi.Config holds them: strings, JSON for objects; secret keys."""
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key], secrets = SECRET_PLACEHOLDER, [*secrets, key]
        elif isinstance(value, bool):
            config[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            config[key] = json.dumps(value)
        else:
            config[key] = str(value)
    return config, secrets


@dataclass
class ProgramRun:
    monitor: RecordingMonitor
    stack: str
    errors: list[BaseException] = field(default_factory=list)

    @property
    def registrations(self) -> list[Registration]:
        return self.monitor.registrations

    def by_type(self, suffix: str) -> list[Registration]:
        return [r for r in self.registrations if r.type.endswith(suffix)]

    def one(self, suffix: str) -> Registration:
        found = self.by_type(suffix)
        assert len(found) == 1, f"{suffix}: {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        assert len(found) == 1, f"{name}: {[r.type for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)


def run_program(
    stack: str,
    *,
    preview: bool = False,
    engine: FakeEngine | None = None,
    values: dict[str, Any] | None = None,
) -> ProgramRun:
    """Run __main__.py for `stack` with its Pulumi.<stack>.yaml config, or with `values`."""
    config, secret_keys = as_pulumi_config(values if values is not None else stack_values(stack))
    fake = engine or FakeEngine()
    monitor = RecordingMonitor(fake)
    pulumi.runtime.set_mocks(fake, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys=secret_keys or [])

    async def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        monitor.exports = await _resolved_exports()

    pulumi.runtime.test(program)()
    return ProgramRun(monitor, stack)


async def _resolved_exports() -> dict[str, Any]:
    """`pulumi.export`s of the root stack (under mocks nothing registers them as outputs)."""
    stack = pulumi.runtime.settings.get_root_resource()
    exports: dict[str, Any] = {}
    for name, value in (getattr(stack, "outputs", None) or {}).items():
        output = pulumi.Output.from_input(value)
        resolved = await output.future(with_unknowns=True)
        exports[name] = rpc.wrap_rpc_secret(resolved) if await output.is_secret() else resolved
    return exports


def fresh_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Every program run needs its own loop and a clean root Stack (pulumi-practice.md §1.5)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.reset_options()
    yield loop
    pulumi.runtime.reset_options()
    asyncio.set_event_loop(None)
    loop.close()
