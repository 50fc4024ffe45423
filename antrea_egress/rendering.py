"""How a resource looks without a live system: what each resource module tells `egressctl render`.

`egressctl render` runs the program under the SDK's mock engine. For a resource type beyond
plain Kubernetes objects, the module that declares it contributes an `OfflineRendering`:
the outputs the offline engine answers with (what only a live system knows becomes a named
placeholder), the NSX requests it amounts to, where it goes and its line in the plan. Render
looks them up by the type the resource registers with, and knows none of them itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pulumi.dynamic import Resource

# What only a live NSX knows, shown as a placeholder.
TIER1_PLACEHOLDER: Final = "/infra/tier-1s/<Tier-1 of the node segment>"
TARGET_NSX: Final = "nsx"
TARGET_STATE: Final = "state"  # nothing outside Pulumi's state (or only read)


def discovered_segment_path(cluster: str) -> str:
    """A syntactically valid segment path that says it is not known yet."""
    return f"/infra/segments/<node-segment-of-{cluster}:discovered-after-ready>"


@dataclass(frozen=True)
class NsxRequest:
    """One request to the NSX Policy API, as the resource would send it."""

    resource: str
    method: str
    path: str
    body: dict[str, Any]


Outputs = Callable[[dict[str, Any], str | None], dict[str, Any]]  # (inputs, read id) -> state
Requests = Callable[[str, Mapping[str, Any]], list[NsxRequest]]  # (resource name, inputs)
Detail = Callable[[Mapping[str, Any]], str]  # inputs -> the plan's detail


def _as_given(state: dict[str, Any], read_id: str | None) -> dict[str, Any]:
    del read_id
    return state


def _no_requests(resource: str, inputs: Mapping[str, Any]) -> list[NsxRequest]:
    del resource, inputs
    return []


@dataclass(frozen=True)
class OfflineRendering:
    """A resource type as `egressctl render` shows it."""

    type: str  # the type token the resource registers with
    outputs: Outputs = _as_given
    requests: Requests = _no_requests
    target: str = TARGET_STATE
    detail: Detail | None = None  # None: render's own (a read, or the Kubernetes object)


def dynamic_type(resource: type[Resource]) -> str:
    """The type token a dynamic resource class registers with (its module and name)."""
    return f"pulumi-python:{resource._resource_type_name}"
