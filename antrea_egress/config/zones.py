"""An egress zone's settings: its subnet, VLAN, IP ranges and the pods it applies to."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from antrea_egress import addressing
from antrea_egress.config.fields import (
    BandwidthQuantity,
    DnsLabel,
    Ipv4Address,
    Ipv4Cidr,
    SegmentPath,
    Vlan,
    ZoneCidr,
)
from antrea_egress.config.model import ConfigModel
from antrea_egress.config.rules import Scope
from antrea_egress.config.selectors import LabelSelector

if TYPE_CHECKING:
    from antrea_egress.config.cluster import ClusterConfig


class IpRange(ConfigModel):
    """One ExternalIPPool range: either `cidr`, or `start` and `end` (both included)."""

    _scope: ClassVar[Scope | None] = Scope.IP_RANGE

    cidr: Ipv4Cidr | None = None
    start: Ipv4Address | None = None
    end: Ipv4Address | None = None

    @property
    def is_cidr(self) -> bool:
        return self.cidr is not None

    @property
    def bounds(self) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
        """The first and last address as written (a cidr's network and broadcast included)."""
        if self.cidr is not None:
            network = ipaddress.IPv4Network(self.cidr)
            return network.network_address, network.broadcast_address
        if self.start is None or self.end is None:  # excluded by validation
            raise ValueError("an IP range needs either cidr or start and end")
        return ipaddress.IPv4Address(self.start), ipaddress.IPv4Address(self.end)

    @property
    def allocatable(self) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
        """The first and last address Antrea hands out (a cidr loses network and broadcast)."""
        first, last = self.bounds
        if self.is_cidr:
            return first + 1, last - 1
        return first, last

    @property
    def text(self) -> str:
        """The range as people write it: `10.100.5.10-10.100.5.20`, or the cidr."""
        if self.cidr is not None:
            return self.cidr
        return f"{self.start}-{self.end}"

    def overlaps(self, other: IpRange) -> bool:
        first, last = self.bounds
        other_first, other_last = other.bounds
        return first <= other_last and other_first <= last


class AppliedTo(ConfigModel):
    """The Pods whose traffic leaves through the zone's egress IP: those of one `namespace`,
    or of every namespace a `namespaceSelector` selects (exactly one of the two)."""

    _scope: ClassVar[Scope | None] = Scope.APPLIED_TO
    _nested: ClassVar[tuple[str, ...]] = ("namespace_selector", "pod_selector")

    namespace: DnsLabel | None = None
    namespace_selector: LabelSelector | None = None
    pod_selector: LabelSelector = Field(default_factory=LabelSelector)


class Bandwidth(ConfigModel):
    """The Egress's traffic shaping: the zone's pods share one limit (Antrea's `bandwidth`).

    `rate` in bits per second and `burst` in bits, as Kubernetes quantities (`100M`, `1G`);
    antrea-agent enforces them only with the EgressTrafficShaping feature gate.
    """

    rate: BandwidthQuantity
    burst: BandwidthQuantity


class ZoneConfig(ConfigModel):
    """One egress zone: child segment, NoSNAT rule, ExternalIPPool and Egress."""

    _scope: ClassVar[Scope | None] = Scope.ZONE
    _nested: ClassVar[tuple[str, ...]] = ("applied_to", "node_selector")

    name: DnsLabel
    vlan: Vlan
    cidr: ZoneCidr
    gateway: Ipv4Address
    ip_ranges: list[IpRange] = Field(min_length=1)
    applied_to: AppliedTo
    node_selector: LabelSelector = Field(default_factory=LabelSelector)
    parent_segment: SegmentPath | None = None
    bandwidth: Bandwidth | None = None

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)

    @property
    def gateway_address(self) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address(self.gateway)

    @property
    def prefix_length(self) -> int:
        return self.network.prefixlen

    @property
    def subnet(self) -> addressing.Subnet:
        return addressing.Subnet(self.network, self.gateway_address)

    def effective_parent(self, cluster: ClusterConfig) -> str:
        """The parent segment path, or "auto" (the cluster's node segment, found at run time)."""
        return self.parent_segment or cluster.node_segment
