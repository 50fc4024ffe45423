"""How many egress IPs a zone's pool holds, how many Egresses draw on it, how many are free.

A pool holds the addresses Antrea hands out from its ranges: a `cidr` range loses its
network and broadcast addresses, a `start`-`end` range holds both ends (`IpRange.allocatable`;
Antrea pkg/controller/externalippool, docs/antrea-and-tanzu.md). Each Egress with
`externalIPPool` takes one address of the pool (Antrea docs/egress.md, "ExternalIPPool").
This stack gives each zone one pool and one Egress on it (`antrea_egress.manifests.egress`
names the zone's own pool); Egresses that others create on the same pool in the guest are not
counted here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from antrea_egress.config.zones import IpRange, ZoneConfig

# The Egresses of this stack that draw on one zone's pool: the zone's own.
EGRESSES_PER_ZONE_POOL: Final = 1


@dataclass(frozen=True)
class PoolCapacity:
    """A pool's size in addresses and the Egresses drawing on it."""

    size: int
    egresses: int

    @property
    def free(self) -> int:
        """The addresses no Egress holds; negative when Egresses outnumber them."""
        return self.size - self.egresses

    @property
    def text(self) -> str:
        """`11 IPs, 1 Egress, 10 free`, as the plan and the report say it."""
        ips = "IP" if self.size == 1 else "IPs"
        egresses = "Egress" if self.egresses == 1 else "Egresses"
        return f"{self.size} {ips}, {self.egresses} {egresses}, {self.free} free"


def pool_size(ip_ranges: Iterable[IpRange]) -> int:
    """The addresses Antrea can allocate from `ip_ranges`, each counted once."""
    spans = sorted((int(first), int(last)) for first, last in (r.allocatable for r in ip_ranges))
    size, covered_to = 0, -1
    for first, last in spans:
        uncovered = max(first, covered_to + 1)
        if last >= uncovered:
            size += last - uncovered + 1
            covered_to = last
    return size


def zone_capacity(zone: ZoneConfig) -> PoolCapacity:
    """The capacity of the zone's pool, counting this stack's Egresses on it."""
    return PoolCapacity(pool_size(zone.ip_ranges), EGRESSES_PER_ZONE_POOL)
