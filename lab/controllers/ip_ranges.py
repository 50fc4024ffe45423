"""ExternalIPPool ranges as Antrea reads them (docs/antrea-and-tanzu.md §1.2-§1.3).

A `cidr` range never hands out its network address, nor (IPv4) its broadcast address; a
`start`/`end` range includes both ends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def bounds(ip_range: Mapping[str, Any]) -> tuple[Address, Address]:
    """First and last address the range covers (for overlap and subnet checks)."""
    if ip_range.get("cidr"):
        network = ipaddress.ip_network(str(ip_range["cidr"]), strict=False)
        return network.network_address, network.broadcast_address
    return ipaddress.ip_address(str(ip_range["start"])), ipaddress.ip_address(str(ip_range["end"]))


def allocatable(ip_range: Mapping[str, Any]) -> Iterator[Address]:
    first, last = bounds(ip_range)
    if ip_range.get("cidr"):
        first += 1
        if first.version == 4:
            last -= 1
    for value in range(int(first), int(last) + 1):
        yield ipaddress.ip_address(value)


def describe(ip_range: Mapping[str, Any]) -> str:
    return (
        str(ip_range["cidr"]) if ip_range.get("cidr") else f"{ip_range['start']}-{ip_range['end']}"
    )


def overlaps(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    a_first, a_last = bounds(a)
    b_first, b_last = bounds(b)
    if a_first.version != b_first.version:
        return False
    return int(a_first) <= int(b_last) and int(b_first) <= int(a_last)


def contains(ip_range: Mapping[str, Any], address: str) -> bool:
    return any(str(candidate) == address for candidate in allocatable(ip_range))
