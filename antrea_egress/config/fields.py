"""The field types of the configuration models: every rule that needs one field alone.

Each type is an annotated pydantic type whose validator raises ValueError with a message fit
for the user; the loader reports it with the field's key. Rules that relate several fields
are in `rules`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator

from antrea_egress import addressing, booleans, naming
from antrea_egress.config.durations import format_go_duration, parse_go_duration
from antrea_egress.config.limits import (
    AUTO_SEGMENT,
    CLUSTER_API_CLUSTER,
    CLUSTER_API_TKC,
    MAX_BANDWIDTH,
    MAX_READY_TIMEOUT,
    MIN_BANDWIDTH,
    MIN_READY_TIMEOUT,
    ZONE_PREFIX_MAX,
)
from antrea_egress.config.quantities import quantity_value
from antrea_egress.config.syntax import (
    dns1123_subdomain_problem,
    feature_gate_problem,
    label_key_problem,
    label_value_problem,
)


def _raise_if(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


def _dns_label(value: str) -> str:
    _raise_if(naming.dns1123_label_problem(value))
    return value


def _dns_subdomain(value: str) -> str:
    _raise_if(dns1123_subdomain_problem(value))
    return value


def _ipv4_address(value: str) -> str:
    parsed = addressing.parse_ipv4_address(value)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    return str(parsed)


def _ipv4_cidr(value: str) -> str:
    parsed = addressing.parse_ipv4_network(value)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    return str(parsed)


def _zone_cidr(value: str) -> str:
    network = addressing.parse_loose_ipv4_network(value)
    if not isinstance(network, str) and "/" in value and network.prefixlen > ZONE_PREFIX_MAX:
        raise ValueError(
            f"{value.strip()} is too small: a zone needs /{ZONE_PREFIX_MAX} or larger, room for "
            "the gateway and at least one egress IP besides the network and broadcast "
            "addresses (/31 point-to-point subnets as in RFC 3021 are not supported)"
        )
    return _ipv4_cidr(value)


def _loose_ipv4_cidr(value: str) -> str:
    parsed = addressing.parse_loose_ipv4_network(value)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    if "/" not in value:
        raise ValueError(f"{value!r} has no prefix length; write it as a CIDR such as 10.96.0.0/12")
    return value.strip()


def _segment_path(value: str) -> str:
    _raise_if(naming.segment_path_problem(value))
    return value


def _node_segment(value: str) -> str:
    if value != AUTO_SEGMENT and naming.segment_path_problem(value):
        raise ValueError(
            f"{value!r} is neither 'auto' nor a segment policy path such as "
            "/infra/segments/vnet_<uuid>_0"
        )
    return value


def _label_key(value: str) -> str:
    _raise_if(label_key_problem(value))
    return value


def _label_value(value: str) -> str:
    _raise_if(label_value_problem(value))
    return value


def _feature_gate(value: str) -> str:
    _raise_if(feature_gate_problem(value))
    return value


def _cluster_api(value: object) -> object:
    if value not in (CLUSTER_API_TKC, CLUSTER_API_CLUSTER):
        raise ValueError(
            f"must be {CLUSTER_API_TKC!r} (a TanzuKubernetesCluster) or {CLUSTER_API_CLUSTER!r} "
            f"(a Cluster API v1beta1 Cluster), got {value!r}"
        )
    return value


def _integer(value: object) -> object:
    # pydantic's lax int takes True as 1; a config that says `replicas: true` is a mistake.
    if isinstance(value, bool):
        raise ValueError(f"must be an integer, got {value}")
    return value


def _flag(value: object) -> bool:
    # pydantic's lax bool also takes "yes", "on", "1" and 1; the project takes true or false.
    return booleans.parse_boolean(value)


def _odd_replicas(value: int) -> int:
    if value < 1:
        raise ValueError(f"must be odd and at least 1 (1, 3, 5), got {value}")
    if value % 2 == 0:
        raise ValueError(f"must be odd, got {value}")
    return value


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError(f"must be 0 or more, got {value}")
    return value


def _vlan(value: object) -> object:
    _raise_if(addressing.vlan_problem(value))
    return int(value) if isinstance(value, float) else value


def _duration(value: object) -> object:
    if isinstance(value, str):
        value = parse_go_duration(value)
    if not isinstance(value, dt.timedelta):
        raise ValueError(f"must be a duration such as 60m, 1h30m or 90s, got {value!r}")
    # A TKC takes minutes to build; below that, or beyond a working day, it is a typo.
    if not MIN_READY_TIMEOUT <= value <= MAX_READY_TIMEOUT:
        raise ValueError(
            f"must be between {format_go_duration(MIN_READY_TIMEOUT)} and "
            f"{format_go_duration(MAX_READY_TIMEOUT)}, got {format_go_duration(value)}"
        )
    return value


def _bandwidth(value: object) -> object:
    # A YAML number (100000000, 2e6) is a quantity too; Antrea's field is a string.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"must be a quantity such as 100M, got {value!r}")
    amount = quantity_value(value)
    if not MIN_BANDWIDTH <= amount <= MAX_BANDWIDTH:
        raise ValueError(
            f"{value} is outside {MIN_BANDWIDTH:,}-{MAX_BANDWIDTH:,} (bits or bits per second): "
            "antrea-agent programs it in units of 1000 into a 32-bit OVS meter field"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
ObjectName = Annotated[str, AfterValidator(_dns_subdomain)]
Ipv4Address = Annotated[str, AfterValidator(_ipv4_address)]
Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]
ZoneCidr = Annotated[str, AfterValidator(_zone_cidr)]
LooseIpv4Cidr = Annotated[str, AfterValidator(_loose_ipv4_cidr)]
SegmentPath = Annotated[str, AfterValidator(_segment_path)]
NodeSegment = Annotated[str, AfterValidator(_node_segment)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
FeatureGateName = Annotated[str, AfterValidator(_feature_gate)]
ControlPlaneReplicas = Annotated[int, BeforeValidator(_integer), AfterValidator(_odd_replicas)]
NodePoolReplicas = Annotated[int, BeforeValidator(_integer), AfterValidator(_non_negative)]
Vlan = Annotated[int, BeforeValidator(_vlan)]
GoDuration = Annotated[dt.timedelta, BeforeValidator(_duration)]
Flag = Annotated[bool, BeforeValidator(_flag)]
BandwidthQuantity = Annotated[str, BeforeValidator(_bandwidth)]
ClusterApi = Annotated[Literal["tkc", "cluster"], BeforeValidator(_cluster_api)]
