"""The plan's and the report's words for Kubernetes objects, IP ranges and pod selections.

One formatter for every place that says which addresses a zone uses and which pods it takes:
the firewall report and the offline plan read the objects as Kubernetes and Antrea spell them
(`antrea_egress.manifests`), so both say exactly what Antrea does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from antrea_egress.config import NAMESPACE_NAME_LABEL, IpRange, PoolCapacity
from antrea_egress.config.capacity import pool_size
from antrea_egress.manifests import ip_range_from_antrea
from antrea_egress.selectors import pods_text, selector_text


def ip_range_text(ip_range: IpRange) -> str:
    """A range as a firewall rule takes it: the cidr, `first-last`, or one address alone."""
    if ip_range.is_cidr:
        return ip_range.text
    first, last = ip_range.bounds
    return str(first) if first == last else f"{first}-{last}"


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


def kubernetes_detail(manifest: Mapping[str, Any]) -> str:
    """A Kubernetes object in one line: its name, and for the zone's own kinds what it does."""
    meta = manifest.get("metadata") or {}
    name = (
        f"{meta.get('namespace')}/{meta.get('name')}"
        if meta.get("namespace")
        else str(meta.get("name"))
    )
    describe = _KINDS.get(str(manifest.get("kind")))
    return f"{name}: {describe(manifest.get('spec') or {})}" if describe else name


def _pool_text(spec: Mapping[str, Any]) -> str:
    ranges = ", ".join(ip_range_text(ip_range_from_antrea(r)) for r in spec.get("ipRanges", []))
    info = spec.get("subnetInfo", {})
    via = f"{info.get('gateway')}/{info.get('prefixLength')} VLAN {info.get('vlan')}"
    return f"{ranges} via {via}"


def pool_capacity(spec: Mapping[str, Any], egresses: int) -> PoolCapacity:
    """An ExternalIPPool's capacity, its size read from the ranges as Antrea spells them."""
    return PoolCapacity(
        pool_size(ip_range_from_antrea(r) for r in spec.get("ipRanges") or []), egresses
    )


def _egress_text(spec: Mapping[str, Any]) -> str:
    text = f"{applied_to_text(spec.get('appliedTo'))}, IP from {spec.get('externalIPPool')}"
    limit = spec.get("bandwidth")
    if limit:
        text += f", limited to {limit.get('rate')} bit/s (burst {limit.get('burst')} bit)"
    return text


_KINDS: Final[dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "ExternalIPPool": _pool_text,
    "Egress": _egress_text,
}
