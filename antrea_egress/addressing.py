"""IPv4 rules shared by the stack validator and the ChildSegment provider.

Each function returns a problem description (or None) instead of raising, so that callers can
collect every problem at once and prefix it with the key or property it belongs to.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

VLAN_MIN = 1
VLAN_MAX = 4094
# Antrea's webhook accepts 1..31 for IPv4 subnetInfo.prefixLength; NSX gateway_address likewise.
PREFIX_MIN = 1
PREFIX_MAX = 31


def parse_ipv4_address(text: str) -> ipaddress.IPv4Address | str:
    """The address, or a problem description."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return f"{text!r} is not an IP address"
    if not isinstance(address, ipaddress.IPv4Address):
        return f"{text} is IPv6; only IPv4 is supported"
    return address


def parse_ipv4_network(text: str) -> ipaddress.IPv4Network | str:
    """A network in strict CIDR form (no host bits), or a problem description."""
    try:
        loose = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return f"{text!r} is not a CIDR such as 10.100.5.0/25"
    if not isinstance(loose, ipaddress.IPv4Network):
        return f"{text} is IPv6; only IPv4 is supported"
    if "/" not in text:
        return f"{text!r} has no prefix length; write it as a CIDR such as 10.100.5.0/25"
    if not PREFIX_MIN <= loose.prefixlen <= PREFIX_MAX:
        return f"{text}: prefix length must be {PREFIX_MIN}-{PREFIX_MAX}"
    if loose.network_address != ipaddress.ip_interface(text.strip()).ip:
        return f"{text} has host bits set; the network is {loose}"
    return loose


def parse_loose_ipv4_network(text: str) -> ipaddress.IPv4Network | str:
    """A network that may have host bits set (the TKC accepts those), or a problem description."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return f"{text!r} is not a CIDR"
    if not isinstance(network, ipaddress.IPv4Network):
        return f"{text} is IPv6; only IPv4 is supported"
    return network


def has_host_bits(text: str) -> bool:
    return (
        ipaddress.ip_interface(text.strip()).ip
        != ipaddress.ip_network(text.strip(), strict=False).network_address
    )


def reserved_address_problem(
    network: ipaddress.IPv4Network, address: ipaddress.IPv4Address
) -> str | None:
    """Why `address` cannot be a host (gateway or egress IP) of `network`, if it cannot."""
    if address not in network:
        return f"{address} is outside {network}"
    if address == network.network_address:
        return f"{address} is the network address of {network}"
    if address == network.broadcast_address:
        return f"{address} is the broadcast address of {network}"
    return None


def vlan_problem(vlan: object) -> str | None:
    if isinstance(vlan, bool) or not isinstance(vlan, int | float):
        return f"VLAN must be an integer {VLAN_MIN}-{VLAN_MAX}, got {vlan!r}"
    if vlan != int(vlan):
        return f"VLAN must be an integer, got {vlan}"
    if not VLAN_MIN <= int(vlan) <= VLAN_MAX:
        return f"VLAN {int(vlan)} is outside {VLAN_MIN}-{VLAN_MAX}"
    return None


@dataclass(frozen=True)
class Subnet:
    """A validated egress subnet: the network and its gateway."""

    network: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address

    @property
    def gateway_cidr(self) -> str:
        """The gateway in NSX's `gateway_address` form, e.g. 10.100.5.1/25."""
        return f"{self.gateway}/{self.network.prefixlen}"


def parse_subnet(cidr: str, gateway: str) -> tuple[Subnet | None, dict[str, str]]:
    """Validate a CIDR and its gateway; problems are keyed 'cidr' or 'gateway'."""
    problems: dict[str, str] = {}
    network = parse_ipv4_network(cidr)
    address = parse_ipv4_address(gateway)
    if isinstance(network, str):
        problems["cidr"] = network
    if isinstance(address, str):
        problems["gateway"] = address
    if isinstance(network, str) or isinstance(address, str):
        return None, problems
    problem = reserved_address_problem(network, address)
    if problem:
        return None, {"gateway": f"gateway {problem}"}
    return Subnet(network, address), {}
