"""The stack outputs: their names, and the `zones` output as one typed summary per zone.

The program writes the outputs (`__main__.py`, each zone's summary from `EgressZone`);
`egressctl report` and `verify` read them back from `pulumi stack output`. The summary is
written by `ZoneSummary.to_output` and read by `read_zone_summaries`, nowhere else. The
output names and keys are what pipelines and deployed stacks read: they never change.

What only a deployed stack knows (the assigned IP and Node, the segment and Tier-1 paths) is
`Deployed_co`: Outputs while the program runs, text (or None: not known) once read back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from pydantic import ValidationError

from antrea_egress import manifests
from antrea_egress.config import (
    AppliedTo,
    Bandwidth,
    IpRange,
    LabelSelector,
    PoolCapacity,
    ZoneConfig,
    zone_capacity,
)

OUTPUT_CLUSTER: Final = "cluster"
OUTPUT_VSPHERE_NAMESPACE: Final = "vsphereNamespace"
OUTPUT_KUBECONFIG: Final = "kubeconfig"
OUTPUT_NODE_SEGMENT: Final = "nodeSegment"
OUTPUT_ZONES: Final = "zones"

Deployed_co = TypeVar("Deployed_co", covariant=True)
_T = TypeVar("_T")


@dataclass(frozen=True)
class ZoneSummary(Generic[Deployed_co]):
    """What a firewall team, and `verify`, need to know about a zone."""

    egress_ip: Deployed_co
    egress_node: Deployed_co
    cidr: str
    gateway: str
    vlan: int
    ip_ranges: Sequence[IpRange]
    segment_path: Deployed_co
    tier1_path: Deployed_co
    nat_mode: bool
    namespace: str | None  # None when a namespaceSelector picks the namespaces
    pod_selector: LabelSelector
    bandwidth: Bandwidth | None = None
    namespace_selector: LabelSelector | None = None
    # The pool's size, this stack's Egresses on it and its free IPs; None in the outputs of a
    # stack deployed before they were written.
    capacity: PoolCapacity | None = None

    @property
    def applied_to(self) -> AppliedTo:
        """The pods the zone's Egress applies to, as the configuration says it."""
        return AppliedTo(
            namespace=self.namespace,
            namespace_selector=self.namespace_selector,
            pod_selector=self.pod_selector,
        )

    def to_output(self) -> dict[str, Any]:
        """The zone's entry in the `zones` output, its keys as pipelines read them."""
        return {
            "egressIP": self.egress_ip,
            "egressNode": self.egress_node,
            "cidr": self.cidr,
            "gateway": self.gateway,
            "vlan": self.vlan,
            "ipRanges": [manifests.ip_range(item) for item in self.ip_ranges],
            "segmentPath": self.segment_path,
            "tier1Path": self.tier1_path,
            "natMode": self.nat_mode,
            "namespace": self.namespace,
            "namespaceSelector": (
                manifests.label_selector(self.namespace_selector)
                if self.namespace_selector is not None
                else None
            ),
            "podSelector": manifests.label_selector(self.pod_selector),
            "bandwidth": manifests.bandwidth(self.bandwidth) if self.bandwidth else None,
            "capacity": _capacity_output(self.capacity) if self.capacity else None,
        }


def _capacity_output(capacity: PoolCapacity) -> dict[str, int]:
    return {"size": capacity.size, "egresses": capacity.egresses, "free": capacity.free}


def zone_summary(
    zone: ZoneConfig,
    *,
    nat_mode: bool,
    egress_ip: _T,
    egress_node: _T,
    segment_path: _T,
    tier1_path: _T,
) -> ZoneSummary[_T]:
    """A zone's summary: what its configuration says, and what the deployment knows."""
    return ZoneSummary(
        egress_ip=egress_ip,
        egress_node=egress_node,
        cidr=zone.cidr,
        gateway=zone.gateway,
        vlan=zone.vlan,
        ip_ranges=tuple(zone.ip_ranges),
        segment_path=segment_path,
        tier1_path=tier1_path,
        nat_mode=nat_mode,
        namespace=zone.applied_to.namespace,
        pod_selector=zone.applied_to.pod_selector,
        bandwidth=zone.bandwidth,
        namespace_selector=zone.applied_to.namespace_selector,
        capacity=zone_capacity(zone),
    )


# --- reading them back ---------------------------------------------------------------------


def read_zone_summaries(outputs: Mapping[str, Any]) -> dict[str, ZoneSummary[str | None]]:
    """The `zones` output of a deployed stack (`pulumi stack output --json`), by zone name.

    Raises ValueError naming the first output that is missing or of the wrong type.
    """
    zones = outputs.get(OUTPUT_ZONES)
    if not isinstance(zones, Mapping):
        raise ValueError("stack outputs: `zones` is missing or not a mapping of zone to details")
    for name, zone in zones.items():
        if not isinstance(zone, Mapping):
            raise ValueError(f"stack outputs: zones.{name} is not a mapping")
    return {str(name): _read_zone(str(name), zone) for name, zone in zones.items()}


def _read_zone(name: str, zone: Mapping[str, Any]) -> ZoneSummary[str | None]:
    where = f"zones.{name}"
    egress_ip = optional_text(zone, "egressIP", where)
    egress_node = optional_text(zone, "egressNode", where)
    namespace_selector = _selector(zone, "namespaceSelector", where)
    namespace = (
        text(zone, "namespace", where)
        if namespace_selector is None
        else optional_text(zone, "namespace", where)
    )
    if namespace is not None and namespace_selector is not None:
        raise ValueError(f"stack outputs: {where} has both namespace and namespaceSelector")
    pod_selector = _selector(zone, "podSelector", where) or LabelSelector()
    ip_ranges = _ip_ranges(zone, where)
    return ZoneSummary(
        egress_ip=egress_ip,
        egress_node=egress_node,
        namespace=namespace,
        pod_selector=pod_selector,
        ip_ranges=ip_ranges,
        cidr=text(zone, "cidr", where),
        gateway=text(zone, "gateway", where),
        vlan=_integer(zone, "vlan", where),
        segment_path=optional_text(zone, "segmentPath", where),
        tier1_path=optional_text(zone, "tier1Path", where),
        nat_mode=_boolean(zone, "natMode", where),
        bandwidth=_bandwidth(zone, where),
        namespace_selector=namespace_selector,
        capacity=_capacity(zone, where),
    )


def _capacity(zone: Mapping[str, Any], where: str) -> PoolCapacity | None:
    """Missing (a stack deployed before the key existed) or null: not known. `free` is
    written for readers of the outputs and follows from the other two."""
    value = zone.get("capacity")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"stack outputs: {where}.capacity is not a mapping of size and egresses")
    at = f"{where}.capacity"
    capacity = PoolCapacity(_integer(value, "size", at), _integer(value, "egresses", at))
    if _integer(value, "free", at) != capacity.free:
        raise ValueError(f"stack outputs: {at}.free is not size less egresses")
    return capacity


def _bandwidth(zone: Mapping[str, Any], where: str) -> Bandwidth | None:
    """Missing (a stack deployed before the key existed) or null: no limit."""
    value = zone.get("bandwidth")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"stack outputs: {where}.bandwidth is not a mapping of rate and burst")
    return _validated(Bandwidth.model_validate, value, f"{where}.bandwidth")


def _selector(zone: Mapping[str, Any], key: str, where: str) -> LabelSelector | None:
    """A label selector output; missing or null is None (an empty podSelector takes every pod
    of the namespace)."""
    value = zone.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"stack outputs: {where}.{key} is not a label selector")
    return _validated(manifests.label_selector_from_kubernetes, value, f"{where}.{key}")


def _ip_ranges(zone: Mapping[str, Any], where: str) -> tuple[IpRange, ...]:
    ranges = zone.get("ipRanges")
    if not isinstance(ranges, list) or not ranges:
        raise ValueError(f"stack outputs: {where}.ipRanges is missing or empty")
    return tuple(
        _validated(manifests.ip_range_from_antrea, item, f"{where}.ipRanges[{index}]")
        for index, item in enumerate(ranges)
    )


def text(values: Mapping[str, Any], key: str, where: str) -> str:
    """A string output (`where` "" for a top-level one); raises ValueError naming it."""
    value = values.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"stack outputs: {_at(where, key)} is missing or not a string")
    return value


def optional_text(values: Mapping[str, Any], key: str, where: str) -> str | None:
    """Outputs a preview or a pending Egress leaves empty (null or "") are unknown."""
    value = values.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"stack outputs: {_at(where, key)} is not a string")
    return value


def _integer(values: Mapping[str, Any], key: str, where: str) -> int:
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"stack outputs: {_at(where, key)} is missing or not a whole number")
    return int(value)  # JSON numbers may come back as floats


def _boolean(values: Mapping[str, Any], key: str, where: str) -> bool:
    value = values.get(key)
    if not isinstance(value, bool):
        raise ValueError(f"stack outputs: {_at(where, key)} is missing or not true/false")
    return value


def _validated(read: Callable[[Any], _T], value: object, where: str) -> _T:
    """The config's own models check outputs too; their messages, one line, name the output."""
    try:
        return read(value)
    except ValidationError as error:
        messages = "; ".join(
            str(item["msg"]).removeprefix("Value error, ") for item in error.errors()
        )
        raise ValueError(f"stack outputs: {where}: {messages}") from None


def _at(where: str, key: str) -> str:
    """`zones.prod.cidr`, or a top-level key alone."""
    return f"{where}.{key}" if where else key
