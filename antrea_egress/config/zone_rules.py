"""The rules of one zone and of its parts: IP ranges, selector requirements, subnet.

Each rule is a small function of the model it checks, the model's location and the key
function for messages that name another key; it returns `(location, message)` pairs and
skips what needs a field that failed to parse (`_has`). `rules.RULES` lists them.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from antrea_egress import addressing
from antrea_egress.config.keys import KeyFunction, Loc, Problem, render_path
from antrea_egress.config.limits import MAX_ADDRESSES_PER_RANGE

if TYPE_CHECKING:
    from antrea_egress.config.selectors import LabelSelectorRequirement
    from antrea_egress.config.zones import AppliedTo, IpRange, ZoneConfig

# --- an IP range -----------------------------------------------------------------------------


def range_given_once(ip_range: IpRange, at: Loc, key: KeyFunction) -> list[Problem]:
    """A range is either a cidr, or a start and an end."""
    del key
    if ip_range._incomplete:
        return []
    given_bounds = ip_range.start is not None or ip_range.end is not None
    if ip_range.cidr is not None:
        return [(at, "give either cidr or start and end, not both")] if given_bounds else []
    if not given_bounds:
        return [(at, "give either cidr, or start and end")]
    if ip_range.start is None or ip_range.end is None:
        missing, given = ("start", "end") if ip_range.start is None else ("end", "start")
        return [((*at, missing), f"required together with {given}")]
    return []


def range_in_order(ip_range: IpRange, at: Loc, key: KeyFunction) -> list[Problem]:
    """A range's start is not after its end."""
    del key
    if ip_range._incomplete or ip_range.cidr is not None:
        return []
    if ip_range.start is None or ip_range.end is None:
        return []
    if ipaddress.IPv4Address(ip_range.start) > ipaddress.IPv4Address(ip_range.end):
        return [(at, f"start {ip_range.start} is after end {ip_range.end}")]
    return []


def cidr_range_allocates(ip_range: IpRange, at: Loc, key: KeyFunction) -> list[Problem]:
    """A cidr range holds an address besides its network and broadcast addresses."""
    del key
    if ip_range._incomplete or ip_range.cidr is None:
        return []
    if ip_range.start is not None or ip_range.end is not None:
        return []
    if ipaddress.IPv4Network(ip_range.cidr).num_addresses <= 2:
        return [
            (
                (*at, "cidr"),
                f"{ip_range.cidr} holds no address Antrea would allocate (it never hands out "
                "the network and broadcast addresses of a cidr range); use start and end",
            )
        ]
    return []


def range_within_antrea_limit(ip_range: IpRange, at: Loc, key: KeyFunction) -> list[Problem]:
    """A range holds at most as many addresses as Antrea's allocator takes."""
    if ip_range._incomplete or _range_form_problems(ip_range, at, key):
        return []
    first, last = ip_range.bounds
    size = int(last) - int(first) + 1
    if size > MAX_ADDRESSES_PER_RANGE:
        return [
            (
                at,
                f"{ip_range.text} holds {size} addresses; Antrea allows at most "
                f"{MAX_ADDRESSES_PER_RANGE} per range",
            )
        ]
    return []


def _range_form_problems(ip_range: IpRange, at: Loc, key: KeyFunction) -> list[Problem]:
    """What is wrong with how a range is written; at most one problem."""
    return [
        *range_given_once(ip_range, at, key),
        *range_in_order(ip_range, at, key),
        *cidr_range_allocates(ip_range, at, key),
    ]


# --- a label selector requirement ------------------------------------------------------------


def values_fit_operator(
    requirement: LabelSelectorRequirement, at: Loc, key: KeyFunction
) -> list[Problem]:
    """In and NotIn need values; Exists and DoesNotExist take none."""
    del key
    if not requirement._has("operator", "values"):
        return []
    operator = requirement.operator
    if operator in ("In", "NotIn") and not requirement.values:
        return [((*at, "values"), f"must not be empty for operator {operator}")]
    if operator in ("Exists", "DoesNotExist") and requirement.values:
        return [((*at, "values"), f"must be empty for operator {operator}")]
    return []


# --- the pods a zone applies to ---------------------------------------------------------------


def namespace_given_once(applied_to: AppliedTo, at: Loc, key: KeyFunction) -> list[Problem]:
    """An appliedTo names either one namespace or a namespaceSelector.

    One namespace by name, or several through a selector; both at once would be ambiguous
    (Antrea would AND them), neither selects pods of every namespace, which a zone never means.
    """
    del key
    if not applied_to._has("namespace", "namespace_selector"):
        return []
    given = [applied_to.namespace is not None, applied_to.namespace_selector is not None]
    if all(given):
        return [(at, "give either namespace or namespaceSelector, not both")]
    if not any(given):
        return [(at, "give namespace (one namespace) or namespaceSelector (several)")]
    return []


# --- a zone ----------------------------------------------------------------------------------


def gateway_inside_subnet(zone: ZoneConfig, at: Loc, key: KeyFunction) -> list[Problem]:
    """The gateway is a host of the zone's CIDR, not its network or broadcast address."""
    del key
    if not zone._has("cidr", "gateway"):
        return []
    _, problems = addressing.parse_subnet(zone.cidr, zone.gateway)
    return [((*at, field), message) for field, message in problems.items()]


def ranges_inside_subnet(zone: ZoneConfig, at: Loc, key: KeyFunction) -> list[Problem]:
    """Each range lies inside the zone's CIDR, clear of its gateway, network and broadcast.

    A range's own rules (IpRange) come first: a range that breaks them is not placed.
    """
    if not zone._has("ip_ranges"):
        return []
    return [
        problem
        for index, ip_range in enumerate(zone.ip_ranges)
        for problem in _range_problems(zone, index, ip_range, at, key)
    ]


def zone_ranges_disjoint(zone: ZoneConfig, at: Loc, key: KeyFunction) -> list[Problem]:
    """The ranges of one zone do not overlap."""
    if not zone._has("ip_ranges"):
        return []
    valid = _valid_ranges(zone, at, key)
    return [
        (
            (*at, "ipRanges", index),
            f"{ip_range.text} overlaps {key((*at, 'ipRanges', earlier_index))} {earlier.text}",
        )
        for position, (index, ip_range) in enumerate(valid)
        for earlier_index, earlier in valid[:position]
        if ip_range.overlaps(earlier)
    ]


def valid_ranges(zone: ZoneConfig) -> list[tuple[int, IpRange]]:
    """The ranges that break no rule of their own nor of this zone, with their index."""
    if not zone._has("cidr", "gateway", "ip_ranges"):
        return []
    return _valid_ranges(zone, (), render_path)


def _valid_ranges(zone: ZoneConfig, at: Loc, key: KeyFunction) -> list[tuple[int, IpRange]]:
    return [
        (index, ip_range)
        for index, ip_range in enumerate(zone.ip_ranges)
        if not ip_range._incomplete and not _range_problems(zone, index, ip_range, at, key)
    ]


def _range_problems(
    zone: ZoneConfig, index: int, ip_range: IpRange, at: Loc, key: KeyFunction
) -> list[Problem]:
    """A range's own problems, or else how it sits in the zone's subnet."""
    loc: Loc = (*at, "ipRanges", index)
    own = ip_range._problems(loc, key)
    if own or ip_range._incomplete or not zone._has("cidr", "gateway"):
        return own
    network = zone.network
    first, last = ip_range.bounds
    if first not in network or last not in network:
        return [(loc, f"{ip_range.text} is not inside {network}")]
    low, high = ip_range.allocatable
    reserved = (
        (zone.gateway_address, "the gateway"),
        (network.network_address, f"the network address of {network}"),
        (network.broadcast_address, f"the broadcast address of {network}"),
    )
    return [
        (loc, f"{address} is {what}; the range {ip_range.text} must not include it")
        for address, what in reserved
        if low <= address <= high
    ]
