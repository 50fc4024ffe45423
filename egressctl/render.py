"""`egressctl render`: what a stack amounts to, offline.

Runs the real program under the SDK's mock engine with the stack's config (secrets replaced
by placeholders; the NSX-T stand-in when pulumi_nsxt is not installed) and collects:
- the Kubernetes objects, in apply order, for the Supervisor and the guest cluster;
- the NSX requests the child segments and NoSNAT rules amount to (method, path, body);
- a plan: every resource in order, where it goes, and what it carries.
What only a live system knows (the discovered node segment, its Tier-1, assigned egress IPs)
is shown as a placeholder in angle brackets.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

from antrea_egress.manifests import NAMESPACE_NAME_LABEL, ip_range_from_antrea
from antrea_egress.nsx import paths
from antrea_egress.providers.child_segment import (
    ChildSegmentSpec,
    binding_map_body,
    segment_body,
)
from antrea_egress.selectors import pods_text, selector_text
from egressctl.offline import OfflineEngine, OfflineRun, Registration, run_offline
from egressctl.project import PROJECT_DIR, stack_short_name
from egressctl.report import ip_range_text

NODE_SEGMENT_TYPE = "pulumi-python:dynamic/nsx:NodeSegment"
CHILD_SEGMENT_TYPE = "pulumi-python:dynamic/nsx:ChildSegment"
PARENT_SEGMENT_TYPE = "pulumi-python:dynamic/nsx:ParentSegment"
NAT_RULE_TYPE = "nsxt:index/policyNatRule:PolicyNatRule"
KUBECONFIG_SECRET_TYPE = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token
TIER1_PLACEHOLDER = "/infra/tier-1s/<Tier-1 of the node segment>"
KUBECONFIG_PLACEHOLDER = "<kubeconfig: read from the Supervisor once the cluster is Ready>"
NSX_REQUESTS_FILE = "nsx-requests.json"
PLAN_FILE = "plan.md"
# The numbered manifests write_rendering writes (01-..., 02-..., 100-... past 99).
_MANIFEST_FILE = re.compile(r"\d{2,}-.+\.yaml")


def discovered_segment_path(cluster: str) -> str:
    """A syntactically valid segment path that says it is not known yet."""
    return f"/infra/segments/<node-segment-of-{cluster}:discovered-after-ready>"


class RenderEngine(OfflineEngine):
    """Outputs as far as they can be known offline; the rest are named placeholders."""

    def outputs(
        self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]
    ) -> dict[str, Any]:
        if args.typ == NODE_SEGMENT_TYPE:
            return {
                **state,
                "path": discovered_segment_path(state["cluster"]),
                "tier1_path": TIER1_PLACEHOLDER,
            }
        if args.typ == PARENT_SEGMENT_TYPE:
            return {**state, "tier1_path": TIER1_PLACEHOLDER}
        if args.typ == CHILD_SEGMENT_TYPE:
            path = paths.segment_path(state["nsx_id"])
            return {
                **state,
                "path": path,
                "tier1_path": TIER1_PLACEHOLDER,
                "network": state["cidr"],
            }
        if args.typ == KUBECONFIG_SECRET_TYPE and args.resource_id:
            placeholder = base64.b64encode(KUBECONFIG_PLACEHOLDER.encode()).decode()
            namespace, name = str(args.resource_id).split("/", 1)
            return {
                "metadata": {"namespace": namespace, "name": name},
                "data": {"value": placeholder},
            }
        return state


@dataclass(frozen=True)
class RenderedObject:
    """A Kubernetes object and the API server it is applied to ("supervisor" or "guest")."""

    target: str
    resource: str
    manifest: dict[str, Any]

    @property
    def file_name(self) -> str:
        meta = self.manifest.get("metadata") or {}
        scope = f"{meta['namespace']}-" if meta.get("namespace") else ""
        name = meta.get("name", self.resource)
        return f"{self.target}-{self.manifest['kind'].lower()}-{scope}{name}.yaml"


@dataclass(frozen=True)
class NsxRequest:
    resource: str
    method: str
    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class PlanStep:
    resource: str
    kind: str
    target: str
    detail: str


@dataclass(frozen=True)
class Rendering:
    stack: str
    objects: list[RenderedObject]
    nsx_requests: list[NsxRequest]
    plan: list[PlanStep]
    warnings: list[str]


def render_stack(stack: str, *, work_dir: Path = PROJECT_DIR) -> Rendering:
    """Render `stack` (a fully qualified `org/prod` is the stack `prod`: Pulumi.prod.yaml)."""
    run = run_offline(stack_short_name(stack), engine=RenderEngine(), work_dir=work_dir)
    ordered = apply_order(run)
    supervisor = _supervisor_urn(run)
    return Rendering(
        stack=run.stack,
        objects=[_object(r, supervisor) for r in ordered if _is_kubernetes_object(r)],
        nsx_requests=[request for r in ordered for request in _nsx_requests(r)],
        plan=[_plan_step(r, supervisor) for r in ordered],
        warnings=run.warnings,
    )


def apply_order(run: OfflineRun) -> list[Registration]:
    """Custom resources in an order that respects every dependency, including the ones that
    come through a resource's provider (guest objects wait for the guest cluster).

    The same program gives the same order on every run: the SDK registers resources as their
    inputs resolve, which varies between runs, so resources and their dependencies are taken
    by component and name (`_stable_key`), never in registration order. Each resource comes
    right after what it needs, so a component's resources stay together.
    """
    by_urn = {r.urn: r for r in run.registrations if r.custom}
    placed: set[str] = set()
    ordered: list[Registration] = []

    def place(record: Registration) -> None:
        if record.urn in placed:
            return
        placed.add(record.urn)
        needed = {*record.dependencies, record.provider_urn} & by_urn.keys()
        for dependency in sorted((by_urn[urn] for urn in needed), key=_stable_key):
            place(dependency)
        ordered.append(record)

    for record in sorted(by_urn.values(), key=_stable_key):
        place(record)
    return [r for r in ordered if not r.type.startswith("pulumi:providers:")]


def _stable_key(record: Registration) -> tuple[str, str, str]:
    """The parent component, the resource's name, and its URN (unique) to settle any tie."""
    return (record.parent, record.name, record.urn)


def write_rendering(rendering: Rendering, out_dir: Path) -> list[Path]:
    """One YAML file per object, numbered in apply order, plus the NSX requests and the plan.

    What an earlier rendering wrote to `out_dir` (`NN-*.yaml`, nsx-requests.json, plan.md) is
    removed first, so an object that is gone leaves no stale manifest behind; other files in
    `out_dir` are never touched.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in previous_rendering(out_dir):
        stale.unlink()
    written: list[Path] = []
    for index, obj in enumerate(rendering.objects, start=1):
        path = out_dir / f"{index:02d}-{obj.file_name}"
        path.write_text(yaml.safe_dump(obj.manifest, sort_keys=False))
        written.append(path)
    requests = out_dir / NSX_REQUESTS_FILE
    requests.write_text(json.dumps([r.__dict__ for r in rendering.nsx_requests], indent=2) + "\n")
    plan = out_dir / PLAN_FILE
    plan.write_text(plan_markdown(rendering))
    return [*written, requests, plan]


def previous_rendering(out_dir: Path) -> list[Path]:
    """The files in `out_dir` that write_rendering writes, from any earlier rendering."""
    return sorted(
        path
        for path in out_dir.iterdir()
        if (path.is_file() or path.is_symlink())
        and (path.name in (NSX_REQUESTS_FILE, PLAN_FILE) or _MANIFEST_FILE.fullmatch(path.name))
    )


def plan_markdown(rendering: Rendering) -> str:
    lines = [
        f"# Plan for stack {rendering.stack} (rendered offline)",
        "",
        "| # | resource | kind | goes to | detail |",
        "|---:|---|---|---|---|",
    ]
    lines += [
        f"| {i} | {s.resource} | {s.kind} | {s.target} | {s.detail} |"
        for i, s in enumerate(rendering.plan, start=1)
    ]
    return "\n".join(lines) + "\n"


# --- per resource --------------------------------------------------------------------------


def _supervisor_urn(run: OfflineRun) -> str:
    return run.named("supervisor").urn


def _is_kubernetes_object(record: Registration) -> bool:
    return record.type.startswith("kubernetes:") and record.read_id is None


def _target(record: Registration, supervisor: str) -> str:
    if record.type.startswith("kubernetes:"):
        return "supervisor" if record.provider_urn == supervisor else "guest"
    if record.type in (CHILD_SEGMENT_TYPE, NAT_RULE_TYPE, NODE_SEGMENT_TYPE):
        return "nsx"
    return "state"


def _object(record: Registration, supervisor: str) -> RenderedObject:
    inputs = record.inputs
    manifest = {
        "apiVersion": inputs["apiVersion"],
        "kind": inputs["kind"],
        "metadata": inputs.get("metadata") or {},
        **({"spec": inputs["spec"]} if inputs.get("spec") is not None else {}),
    }
    return RenderedObject(_target(record, supervisor), record.name, manifest)


def _nsx_requests(record: Registration) -> list[NsxRequest]:
    if record.type == CHILD_SEGMENT_TYPE:
        return _child_segment_requests(record)
    if record.type == NAT_RULE_TYPE:
        return [_nat_rule_request(record)]
    return []


def _child_segment_requests(record: Registration) -> list[NsxRequest]:
    spec = ChildSegmentSpec.from_props(record.inputs)
    parent = {
        "connectivity_path": f"<connectivity_path of {spec.parent_path}>",
        "transport_zone_path": f"<transport_zone_path of {spec.parent_path}>",
    }
    segment = paths.api_url_path(spec.segment_path)
    binding = paths.api_url_path(spec.binding_map_path)
    return [
        NsxRequest(record.name, "PATCH", segment, segment_body(spec, parent)),
        NsxRequest(record.name, "PATCH", binding, binding_map_body(spec)),
    ]


def _nat_rule_request(record: Registration) -> NsxRequest:
    """The PATCH body as terraform-provider-nsxt sends it (nsxsim/TERRAFORM.md).

    Always: id, display_name, description ("" when unset), tags ([] when none), action,
    enabled (default true), logging (default false), sequence_number (rule_priority, default
    100), service ("" when unset) and scope ([] when unset). Network lists are joined with
    commas and omitted when empty; firewall_match, translated_ports and policy_based_vpn_mode
    only when set. No resource_type, no _revision.
    """
    inputs = record.inputs
    rule_path = paths.nat_rule_path(inputs["gatewayPath"], inputs["nsxId"])
    body: dict[str, Any] = {
        "id": inputs["nsxId"],
        "display_name": inputs["displayName"],
        "description": inputs.get("description") or "",
        "tags": inputs.get("tags") or [],
        "action": inputs["action"],
    }
    for field, key in _NAT_RULE_NETWORKS:
        if inputs.get(key):
            body[field] = ",".join(inputs[key])
    body.update(
        {
            "enabled": _default(inputs.get("enabled"), True),
            "logging": _default(inputs.get("logging"), False),
            "sequence_number": _default(inputs.get("rulePriority"), _NAT_RULE_PRIORITY),
            "service": inputs.get("service") or "",
            "scope": inputs.get("scopes") or [],
        }
    )
    for field, key in _NAT_RULE_OPTIONAL:
        if inputs.get(key):
            body[field] = inputs[key]
    return NsxRequest(record.name, "PATCH", paths.POLICY_API_PREFIX + rule_path, body)


# terraform-provider-nsxt's defaults and the pulumi_nsxt input behind each optional field.
_NAT_RULE_PRIORITY = 100
_NAT_RULE_NETWORKS = (
    ("source_network", "sourceNetworks"),
    ("destination_network", "destinationNetworks"),
    ("translated_network", "translatedNetworks"),
)
_NAT_RULE_OPTIONAL = (
    ("firewall_match", "firewallMatch"),
    ("translated_ports", "translatedPorts"),
    ("policy_based_vpn_mode", "policyBasedVpnMode"),
)


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _plan_step(record: Registration, supervisor: str) -> PlanStep:
    return PlanStep(
        resource=record.name,
        kind=_kind(record),
        target=_target(record, supervisor),
        detail=_detail(record),
    )


def _kind(record: Registration) -> str:
    if record.type.startswith("kubernetes:"):
        return str(record.inputs.get("kind") or record.type.rsplit(":", 1)[-1])
    return record.type.rsplit(":", 1)[-1]


def _detail(record: Registration) -> str:
    inputs = record.inputs
    if record.type == CHILD_SEGMENT_TYPE:
        return (
            f"{inputs['nsx_id']}: gateway {inputs['gateway']} of {inputs['cidr']}, VLAN "
            f"{int(inputs['vlan'])} on {inputs['parent_path']}"
        )
    if record.type == NAT_RULE_TYPE:
        sources = ", ".join(inputs["sourceNetworks"])
        return f"{inputs['action']} from {sources} on {inputs['gatewayPath']}"
    if record.type == NODE_SEGMENT_TYPE:
        return f"discovered after {inputs['vsphere_namespace']}/{inputs['cluster']} is Ready"
    if record.type.endswith(":IpRangeHistory"):
        return "remembers the pool's ranges: appending updates the pool, editing replaces it"
    if record.read_id is not None:
        return f"read {record.read_id}"
    return _kubernetes_detail(inputs)


def _kubernetes_detail(inputs: dict[str, Any]) -> str:
    meta = inputs.get("metadata") or {}
    name = (
        f"{meta.get('namespace')}/{meta.get('name')}"
        if meta.get("namespace")
        else str(meta.get("name"))
    )
    spec = inputs.get("spec") or {}
    if inputs.get("kind") == "ExternalIPPool":
        ranges = ", ".join(ip_range_text(ip_range_from_antrea(r)) for r in spec.get("ipRanges", []))
        info = spec.get("subnetInfo", {})
        via = f"{info.get('gateway')}/{info.get('prefixLength')} VLAN {info.get('vlan')}"
        return f"{name}: {ranges} via {via}"
    if inputs.get("kind") == "Egress":
        selected = applied_to_text(spec.get("appliedTo"))
        return f"{name}: {selected}, IP from {spec.get('externalIPPool')}"
    return name


def applied_to_text(applied_to: Mapping[str, Any] | None) -> str:
    """The pods an Egress's appliedTo selects, in words, as Antrea reads it
    (https://github.com/antrea-io/antrea/blob/main/docs/egress.md#appliedto): a
    podSelector alone selects pods in every namespace, a namespaceSelector alone every pod of
    the namespaces it selects, both together the selected pods of those namespaces; with
    neither, nothing. An empty selector selects everything."""
    applied_to = applied_to or {}
    pod_selector = applied_to.get("podSelector")
    namespace_selector = applied_to.get("namespaceSelector")
    if pod_selector is None and namespace_selector is None:
        return "no pods (appliedTo selects nothing)"
    pods = pods_text(selector_text(pod_selector))
    if namespace_selector is None:
        return f"{pods} in every namespace"
    return f"{pods} in {_namespaces_text(namespace_selector)}"


def _namespaces_text(selector: Mapping[str, Any]) -> str:
    """`namespace prod` for the selector of one namespace by name, as this program writes it."""
    labels = selector.get("matchLabels") or {}
    if set(selector) == {"matchLabels"} and set(labels) == {NAMESPACE_NAME_LABEL}:
        return f"namespace {labels[NAMESPACE_NAME_LABEL]}"
    text = selector_text(selector)
    return f"namespaces {text}" if text else "every namespace"
