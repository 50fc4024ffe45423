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

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pulumi
import yaml

from antrea_egress import nat_rule
from antrea_egress.providers import child_segment, node_segment, parent_segment, range_history
from antrea_egress.rendering import (
    TARGET_STATE,
    TIER1_PLACEHOLDER,
    NsxRequest,
    OfflineRendering,
    discovered_segment_path,
)
from components import tanzu_cluster
from egressctl.describe import applied_to_text, kubernetes_detail, pool_capacity
from egressctl.offline import OfflineEngine, OfflineRun, Registration, run_offline
from egressctl.project import PROJECT_DIR, stack_short_name

__all__ = [
    "TIER1_PLACEHOLDER",
    "NsxRequest",
    "RenderEngine",
    "Rendering",
    "applied_to_text",
    "apply_order",
    "discovered_segment_path",
    "render_stack",
    "write_rendering",
]

# Every resource type shown beyond its inputs, with the rendering its own module declares.
RENDERINGS: Final[dict[str, OfflineRendering]] = {
    rendering.type: rendering
    for rendering in (
        child_segment.OFFLINE,
        node_segment.OFFLINE,
        parent_segment.OFFLINE,
        range_history.OFFLINE,
        nat_rule.OFFLINE,
        tanzu_cluster.KUBECONFIG_OFFLINE,
    )
}
NSX_REQUESTS_FILE = "nsx-requests.json"
PLAN_FILE = "plan.md"
# The numbered manifests write_rendering writes (01-..., 02-..., 100-... past 99).
_MANIFEST_FILE = re.compile(r"\d{2,}-.+\.yaml")


class RenderEngine(OfflineEngine):
    """Outputs as far as they can be known offline; the rest are named placeholders."""

    def outputs(
        self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]
    ) -> dict[str, Any]:
        rendering = RENDERINGS.get(args.typ)
        return rendering.outputs(state, args.resource_id) if rendering else state


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
    draws = _egresses_per_pool(ordered)
    return Rendering(
        stack=run.stack,
        objects=[_object(r, supervisor) for r in ordered if _is_kubernetes_object(r)],
        nsx_requests=[request for r in ordered for request in _nsx_requests(r)],
        plan=[_plan_step(r, supervisor, draws) for r in ordered],
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
    rendering = RENDERINGS.get(record.type)
    return rendering.target if rendering else TARGET_STATE


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
    rendering = RENDERINGS.get(record.type)
    return rendering.requests(record.name, record.inputs) if rendering else []


def _plan_step(record: Registration, supervisor: str, draws: Counter[str]) -> PlanStep:
    detail = _detail(record)
    if _kind(record) == "ExternalIPPool" and _is_kubernetes_object(record):
        name = str((record.inputs.get("metadata") or {}).get("name"))
        detail += f"; {pool_capacity(record.inputs.get('spec') or {}, draws[name]).text}"
    return PlanStep(
        resource=record.name,
        kind=_kind(record),
        target=_target(record, supervisor),
        detail=detail,
    )


def _egresses_per_pool(records: list[Registration]) -> Counter[str]:
    """How many of the rendered Egresses draw on each pool, by the pool's name."""
    return Counter(
        str((r.inputs.get("spec") or {}).get("externalIPPool"))
        for r in records
        if _is_kubernetes_object(r) and _kind(r) == "Egress"
    )


def _kind(record: Registration) -> str:
    if record.type.startswith("kubernetes:"):
        return str(record.inputs.get("kind") or record.type.rsplit(":", 1)[-1])
    return record.type.rsplit(":", 1)[-1]


def _detail(record: Registration) -> str:
    rendering = RENDERINGS.get(record.type)
    if rendering is not None and rendering.detail is not None:
        return rendering.detail(record.inputs)
    if record.read_id is not None:
        return f"read {record.read_id}"
    return kubernetes_detail(record.inputs)
