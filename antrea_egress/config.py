"""The stack configuration: pydantic models, the validator and the loaders.

Every `antrea-egress:*` key of a stack is validated here before any resource is declared, and
every problem is reported at once, each prefixed with the key it belongs to::

    antrea-egress:zones[1].ipRanges[0]: 10.100.5.129 is the gateway; ...
    antrea-egress:cluster.controlPlane.replicas: must be odd, got 2

Validation runs in two phases:

1. The loader parses every section (the cluster, each zone, the two flags) field by field,
   nested models included (`_parse_partial`); each field is validated by pydantic with its
   own type. So one bad field hides neither the problems of the other fields nor the rules
   that do not need it. Single-field rules (CIDR and address syntax, DNS-1123 labels, VLAN
   range, odd replicas, durations, label syntax) live in these field types.
2. Rules that relate several fields (gateway inside the CIDR, ranges inside the CIDR and
   clear of gateway/network/broadcast, required fields when `manage` is true) and several
   zones (overlaps, unique names, VLAN per parent, the zone limit) then run on whatever
   parsed, skipping only the rules that need a field that failed. Each model states its rules
   in `_problems`, which returns `(location, message)` pairs with exact locations.

The loader sees every key of the stack, not only this namespace's: a namespace close to one
of ours (`antrea-egres:`, `nsx:`) is an error naming the key it most likely meant, another
namespace a warning, and the provider keys the program reads itself (`kubernetes:context`,
`nsxt:allowUnverifiedSsl`, `nsxt:sessionAuth`) are checked by the rules `read_access_config`
applies. Every boolean, in any namespace, is true or false and nothing else
(`antrea_egress.booleans`).

Models built directly (`ZoneConfig.model_validate(...)`) enforce the same rules: their
after-validator raises with all of a model's problems unless the loader asked it to defer them
(it reports them itself, with full keys). So every instance handed out is valid, and its helper
properties (`ZoneConfig.subnet`, `IpRange.bounds`, ...) cannot fail. (Partly parsed instances
exist only inside the loader, to run the rules; it never returns one.)

Only `read_pulumi_config` and `read_access_config` touch the running program's config;
everything else works on plain data.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import json
import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import (
    Annotated,
    Any,
    ClassVar,
    Final,
    Literal,
    Self,
    TypeAlias,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

import pulumi
import pulumi.runtime.config
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

from antrea_egress import addressing, booleans, kube, naming
from antrea_egress.nsx import paths
from antrea_egress.nsx import settings as nsx_settings

# --- keys and limits -----------------------------------------------------------------------

CONFIG_NAMESPACE: Final = "antrea-egress"
KEY_CLUSTER: Final = "cluster"
KEY_NAT_MODE: Final = "natMode"
KEY_DEMO_WORKLOADS: Final = "demoWorkloads"
KEY_ZONES: Final = "zones"
KEY_RENDER_YAML_TO: Final = "renderYamlTo"
STACK_KEYS: Final = (KEY_CLUSTER, KEY_NAT_MODE, KEY_DEMO_WORKLOADS, KEY_ZONES, KEY_RENDER_YAML_TO)

# The other namespaces a stack may set: the providers the program uses, and the engine's own
# (`pulumi:tags`, `pulumi:disable-default-providers`). Their names come from the modules that
# read their keys.
KUBERNETES_NAMESPACE: Final = kube.CONTEXT_KEY.partition(":")[0]
NSXT_NAMESPACE: Final = nsx_settings.HOST.config_key.partition(":")[0]
PULUMI_NAMESPACE: Final = "pulumi"
PROVIDER_NAMESPACES: Final = (KUBERNETES_NAMESPACE, NSXT_NAMESPACE)
# The provider keys whose values the program itself reads; the rest are the providers' own.
KEY_SUPERVISOR_CONTEXT: Final = kube.CONTEXT_KEY
ACCESS_FLAG_KEYS: Final = (
    nsx_settings.ALLOW_UNVERIFIED_SSL.config_key,
    nsx_settings.SESSION_AUTH.config_key,
)
# How a stack file (and read_pulumi_config, for secret values) marks an encrypted value.
SECURE: Final = "secure"

# Antrea's agent gives every distinct Egress subnet (ExternalIPPool subnetInfo) its own
# policy-routing table, and it has 20 of them: tables 101-120 (pkg/agent/types/net.go). Every
# zone is a distinct subnet, so a cluster can carry at most 20 zones.
MAX_ZONES_PER_CLUSTER: Final = 20
# Antrea's IP allocator holds at most 65536 addresses per range (pkg/ipam/ipallocator).
MAX_ADDRESSES_PER_RANGE: Final = 65536

AUTO_SEGMENT: Final = "auto"
FEATURE_GATE_EGRESS: Final = "Egress"
FEATURE_GATE_EGRESS_SEPARATE_SUBNET: Final = "EgressSeparateSubnet"
# The label the API server sets on every Namespace; the Egress selects its namespace by it.
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"

# A zone's subnet holds the NSX gateway and at least one egress IP, neither of them its network
# or broadcast address: /30 is the smallest. Why not RFC 3021 /31, both addresses usable, one
# for the gateway and one egress IP? The gateway is the Tier-1's downlink on an NSX segment, and
# NSX documents no /31 segment subnet; Antrea counts a /31 or /32 cidr range as holding no
# address (https://github.com/antrea-io/antrea/issues/6582, /7149), and its webhook refuses a
# /32 subnetInfo. A /31 zone would rest on behaviour neither side promises, so it is refused
# with that reason instead of failing halfway through `up`.
ZONE_PREFIX_MAX: Final = 30

# The TKC's own defaults (run.tanzu.vmware.com TanzuKubernetesCluster settings.network).
DEFAULT_POD_CIDRS: Final = ("192.168.0.0/16",)
DEFAULT_SERVICE_CIDRS: Final = ("10.96.0.0/12",)
DEFAULT_READY_TIMEOUT: Final = dt.timedelta(minutes=60)
MIN_READY_TIMEOUT: Final = dt.timedelta(minutes=5)
MAX_READY_TIMEOUT: Final = dt.timedelta(hours=8)

Loc: TypeAlias = tuple[str | int, ...]
Problem: TypeAlias = tuple[Loc, str]
KeyFunction: TypeAlias = Callable[[Loc], str]
_M = TypeVar("_M", bound="_Model")

# Set in the validation context, models leave their cross-field rules to the loader.
_DEFER_RULES: Final = "antrea_egress.config.defer_rules"


class ConfigError(Exception):
    """Every problem of a stack configuration, one `key: message` line each."""

    def __init__(self, problems: Sequence[str], warnings: Sequence[str] = ()) -> None:
        self.problems: list[str] = list(problems)
        self.warnings: list[str] = list(warnings)
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


# --- keys in messages ----------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _render_suffix(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}"
        else:  # label keys such as kubernetes.io/name
            out += f"[{json.dumps(part)}]"
    return out


def render_path(loc: Loc) -> str:
    """A location relative to a model, e.g. `ipRanges[0].start`."""
    return _render_suffix(loc).removeprefix(".")


def config_key(loc: Loc, *, project: str = CONFIG_NAMESPACE) -> str:
    """The fully qualified key of a location, e.g. `antrea-egress:zones[1].ipRanges[0]`."""
    if not loc:
        return project
    head, *rest = loc
    return f"{project}:{head}{_render_suffix(rest)}"


# --- rules that addressing/naming do not have ----------------------------------------------

DNS1123_SUBDOMAIN_MAX_LENGTH: Final = 253
LABEL_NAME_MAX_LENGTH: Final = 63
LABEL_VALUE_MAX_LENGTH: Final = 63
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_FEATURE_GATE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def dns1123_subdomain_problem(value: str) -> str | None:
    """Kubernetes object names (TKr, VM class, storage class) and label-key prefixes."""
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        return f"{value!r} is longer than {DNS1123_SUBDOMAIN_MAX_LENGTH} characters"
    if not _DNS1123_SUBDOMAIN.match(value):
        return (
            f"{value!r} is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit)"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """A Kubernetes label key: `[prefix/]name`, the prefix a DNS-1123 subdomain."""
    parts = key.split("/")
    if len(parts) > 2:
        return f"label key {key!r} has more than one '/'"
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            return f"label key {key!r} has an empty prefix before '/'"
        if dns1123_subdomain_problem(prefix):
            return f"label key {key!r}: the prefix {prefix!r} is not a DNS-1123 subdomain"
    if len(name) > LABEL_NAME_MAX_LENGTH:
        return f"label key {key!r}: the name is longer than {LABEL_NAME_MAX_LENGTH} characters"
    if not _LABEL_NAME.match(name):
        return (
            f"label key {key!r}: the name must be letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        return f"label value {value!r} is longer than {LABEL_VALUE_MAX_LENGTH} characters"
    if not _LABEL_VALUE.match(value):
        return (
            f"label value {value!r} must be empty or letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def feature_gate_problem(name: str) -> str | None:
    if not _FEATURE_GATE.match(name):
        return f"{name!r} is not a feature gate name such as NodePortLocal"
    return None


_DURATION = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_MICROSECONDS_PER_UNIT: Final = {
    "ns": Fraction(1, 1000),
    "us": Fraction(1),
    "µs": Fraction(1),
    "μs": Fraction(1),  # Go accepts the micro sign and the Greek mu
    "ms": Fraction(1000),
    "s": Fraction(1_000_000),
    "m": Fraction(60_000_000),
    "h": Fraction(3_600_000_000),
}


def parse_go_duration(text: str) -> dt.timedelta:
    """A positive Go-style duration such as `60m`, `1h30m`, `90s` or `1.5h`.

    Raises ValueError with a message fit for the user.
    """
    stripped = text.strip()
    if not _DURATION.fullmatch(stripped):
        raise ValueError(f"{text!r} is not a duration such as 60m, 1h30m or 90s")
    microseconds = sum(
        (Fraction(number) * _MICROSECONDS_PER_UNIT[unit])
        for number, unit in _DURATION_PART.findall(stripped)
    )
    duration = dt.timedelta(microseconds=int(microseconds))
    if duration <= dt.timedelta(0):
        raise ValueError(f"{text!r} must be longer than zero")
    return duration


def format_go_duration(duration: dt.timedelta) -> str:
    """The duration in Go form, e.g. `1h30m`, as Pulumi's custom timeouts take it."""
    total_us = duration // dt.timedelta(microseconds=1)
    if total_us <= 0:
        return "0s"
    hours, rest = divmod(total_us, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = Fraction(rest, 1_000_000)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if seconds:
        out += f"{float(seconds):g}s" if seconds.denominator != 1 else f"{int(seconds)}s"
    return out


# --- field types ---------------------------------------------------------------------------


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


# --- models --------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, alias_generator=to_camel
    )

    # The loader parses these models field by field (see _parse_partial) so that one bad field
    # does not hide the rules of the others; a model with a before-validator opts out.
    _partial_parse: ClassVar[bool] = True
    # Fields that failed to parse on an instance the loader built from the parts that did.
    _incomplete: frozenset[str] = PrivateAttr(default_factory=frozenset)

    def _has(self, *fields: str) -> bool:
        """Whether these fields parsed; rules that need a field that did not are skipped."""
        return not self._incomplete.intersection(fields)

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        """Rules beyond single fields; locations are absolute (`at` + the field's path)."""
        del at, key
        return []

    def _warnings(self, at: Loc, key: KeyFunction) -> list[Problem]:
        del at, key
        return []

    @classmethod
    def _key_function(cls) -> KeyFunction:
        return render_path

    @model_validator(mode="after")
    def _enforce_rules(self, info: ValidationInfo) -> Self:
        if isinstance(info.context, Mapping) and info.context.get(_DEFER_RULES):
            return self
        key = self._key_function()
        problems = self._problems((), key)
        if problems:
            raise ValueError(
                "; ".join(f"{key(loc)}: {message}" if loc else message for loc, message in problems)
            )
        return self


class IpRange(_Model):
    """One ExternalIPPool range: either `cidr`, or `start` and `end` (both included)."""

    cidr: Ipv4Cidr | None = None
    start: Ipv4Address | None = None
    end: Ipv4Address | None = None

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        if self._incomplete:
            return []
        form = self._form_problem(at)
        if form:
            return [form]
        first, last = self.bounds
        size = int(last) - int(first) + 1
        if size > MAX_ADDRESSES_PER_RANGE:
            return [
                (
                    at,
                    f"{self.text} holds {size} addresses; Antrea allows at most "
                    f"{MAX_ADDRESSES_PER_RANGE} per range",
                )
            ]
        return []

    def _form_problem(self, at: Loc) -> Problem | None:
        if self.cidr is not None:
            return self._cidr_problem(at)
        if self.start is None and self.end is None:
            return (at, "give either cidr, or start and end")
        if self.start is None or self.end is None:
            missing, given = ("start", "end") if self.start is None else ("end", "start")
            return ((*at, missing), f"required together with {given}")
        if ipaddress.IPv4Address(self.start) > ipaddress.IPv4Address(self.end):
            return (at, f"start {self.start} is after end {self.end}")
        return None

    def _cidr_problem(self, at: Loc) -> Problem | None:
        if self.start is not None or self.end is not None:
            return (at, "give either cidr or start and end, not both")
        if ipaddress.IPv4Network(str(self.cidr)).num_addresses <= 2:
            return (
                (*at, "cidr"),
                f"{self.cidr} holds no address Antrea would allocate (it never hands out "
                "the network and broadcast addresses of a cidr range); use start and end",
            )
        return None

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

    def to_antrea(self) -> dict[str, str]:
        """The ExternalIPPool `ipRanges` item."""
        if self.cidr is not None:
            return {"cidr": self.cidr}
        return {"start": str(self.start), "end": str(self.end)}


class LabelSelectorRequirement(_Model):
    key: LabelKey
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[LabelValue] = Field(default_factory=list)

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        if not self._has("operator", "values"):
            return []
        if self.operator in ("In", "NotIn") and not self.values:
            return [((*at, "values"), f"must not be empty for operator {self.operator}")]
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            return [((*at, "values"), f"must be empty for operator {self.operator}")]
        return []

    def to_kubernetes(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "operator": self.operator}
        if self.values:
            out["values"] = list(self.values)
        return out


_SELECTOR_KEYS: Final = frozenset(
    {"matchLabels", "matchExpressions", "match_labels", "match_expressions"}
)


class LabelSelector(_Model):
    """A Kubernetes LabelSelector. A plain label map such as `{app: web}` means matchLabels."""

    _partial_parse: ClassVar[bool] = False  # the before-validator must see the whole map

    match_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _plain_map_means_match_labels(cls, data: Any) -> Any:
        # A map without selector keys whose values are all scalars is a label map. A map with
        # nested values is taken as a selector, so `matchLabel: {...}` is reported as unknown.
        if (
            isinstance(data, Mapping)
            and data
            and not _SELECTOR_KEYS.intersection(data)
            and not any(isinstance(value, Mapping | list) for value in data.values())
        ):
            return {"matchLabels": dict(data)}
        return data

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        problems: list[Problem] = []
        for index, requirement in enumerate(self.match_expressions):
            problems += requirement._problems((*at, "matchExpressions", index), key)
        return problems

    @property
    def is_empty(self) -> bool:
        """An empty selector selects everything (all Nodes, all Pods of the namespace)."""
        return not self.match_labels and not self.match_expressions

    @property
    def requirements(self) -> frozenset[tuple[str, str, frozenset[str]]]:
        """The selector as the set of requirements it ANDs, whatever the order it was written in.

        `matchLabels: {app: web}` is `app In [web]`, as Kubernetes reads it
        (apimachinery's LabelSelectorAsSelector), so equal sets select the same objects.
        """
        return frozenset(
            [(key, "In", frozenset([value])) for key, value in self.match_labels.items()]
            + [(req.key, req.operator, frozenset(req.values)) for req in self.match_expressions]
        )

    def to_kubernetes(self) -> dict[str, Any]:
        """The selector in Kubernetes form; `{}` when empty."""
        out: dict[str, Any] = {}
        if self.match_labels:
            out["matchLabels"] = dict(self.match_labels)
        if self.match_expressions:
            out["matchExpressions"] = [item.to_kubernetes() for item in self.match_expressions]
        return out


class AppliedTo(_Model):
    """The Pods of one namespace whose traffic leaves through the zone's egress IP."""

    namespace: DnsLabel
    pod_selector: LabelSelector = Field(default_factory=LabelSelector)

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        if not self._has("pod_selector"):
            return []
        return self.pod_selector._problems((*at, "podSelector"), key)

    def selects_the_same_pods_as(self, other: AppliedTo) -> bool:
        return (
            self.namespace == other.namespace
            and self.pod_selector.requirements == other.pod_selector.requirements
        )

    def to_antrea(self) -> dict[str, Any]:
        """The Egress `appliedTo`; without a pod selector, all Pods of the namespace."""
        out: dict[str, Any] = {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: self.namespace}}
        }
        if not self.pod_selector.is_empty:
            out["podSelector"] = self.pod_selector.to_kubernetes()
        return out


class ControlPlane(_Model):
    replicas: ControlPlaneReplicas = 1
    vm_class: ObjectName
    storage_class: ObjectName


class NodePool(_Model):
    name: DnsLabel
    replicas: NodePoolReplicas = 1
    vm_class: ObjectName
    storage_class: ObjectName


class ClusterNetwork(_Model):
    """The TKC's pod and service CIDRs; host bits are allowed (the TKC accepts them)."""

    pods: list[LooseIpv4Cidr] = Field(default_factory=lambda: list(DEFAULT_POD_CIDRS), min_length=1)
    services: list[LooseIpv4Cidr] = Field(
        default_factory=lambda: list(DEFAULT_SERVICE_CIDRS), min_length=1
    )

    @property
    def pod_networks(self) -> list[ipaddress.IPv4Network]:
        return [ipaddress.IPv4Network(cidr, strict=False) for cidr in self.pods]

    @property
    def service_networks(self) -> list[ipaddress.IPv4Network]:
        return [ipaddress.IPv4Network(cidr, strict=False) for cidr in self.services]

    def located_networks(self, at: Loc) -> list[tuple[Loc, str, ipaddress.IPv4Network]]:
        """Every pod and service network that parsed, with its location and text for messages."""
        return [
            (
                (*at, field, index),
                cidr if field in self.model_fields_set else f"{cidr} (the TKC's default)",
                ipaddress.IPv4Network(cidr, strict=False),
            )
            for field in ("pods", "services")
            if self._has(field)
            for index, cidr in enumerate(getattr(self, field))
        ]

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        located = self.located_networks(at)
        pods = [item for item in located if item[0][len(at)] == "pods"]
        services = [item for item in located if item[0][len(at)] == "services"]
        return [
            (service_loc, f"{service} overlaps {key(pod_loc)} {pod}")
            for service_loc, service, service_network in services
            for pod_loc, pod, pod_network in pods
            if service_network.overlaps(pod_network)
        ]

    def _warnings(self, at: Loc, key: KeyFunction) -> list[Problem]:
        return [
            (
                (*at, field, index),
                f"{cidr} has host bits set; the network is {network} (the TKC accepts it)",
            )
            for field in ("pods", "services")
            if self._has(field)
            for index, cidr in enumerate(getattr(self, field))
            if addressing.has_host_bits(cidr)
            for network in [ipaddress.IPv4Network(cidr, strict=False)]
        ]


class AntreaSettings(_Model):
    """What goes into the AntreaConfig; EgressSeparateSubnet is always added as true."""

    feature_gates: dict[FeatureGateName, Flag] = Field(default_factory=dict)
    nsx: Flag = True

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        if not self._has("feature_gates"):
            return []
        required = {
            FEATURE_GATE_EGRESS_SEPARATE_SUBNET: "egress zones need it, and the program always "
            "sets it true",
            FEATURE_GATE_EGRESS: "egress zones are Antrea Egresses",
        }
        return [
            ((*at, "featureGates", gate), f"must not be false: {reason}")
            for gate, reason in required.items()
            if self.feature_gates.get(gate) is False
        ]

    @property
    def effective_feature_gates(self) -> dict[str, bool]:
        """The gates for the AntreaConfig: the configured ones plus EgressSeparateSubnet."""
        return {**self.feature_gates, FEATURE_GATE_EGRESS_SEPARATE_SUBNET: True}


class ClusterConfig(_Model):
    """The Tanzu Kubernetes cluster; with `manage: false` only name and namespace matter."""

    name: DnsLabel
    vsphere_namespace: DnsLabel
    manage: Flag = True
    tkr: ObjectName | None = None
    control_plane: ControlPlane | None = None
    node_pools: list[NodePool] = Field(default_factory=list)
    network: ClusterNetwork = Field(default_factory=ClusterNetwork)
    antrea: AntreaSettings = Field(default_factory=AntreaSettings)
    node_segment: NodeSegment = AUTO_SEGMENT
    ready_timeout: GoDuration = DEFAULT_READY_TIMEOUT
    # Pulumi refuses to delete a protected TKC (destroy, or a rename that replaces it).
    protect: Flag = True

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        problems: list[Problem] = []
        if self._has("manage") and self.manage:
            if self._has("tkr") and self.tkr is None:
                problems.append(((*at, "tkr"), "required when manage is true"))
            if self._has("control_plane") and self.control_plane is None:
                problems.append(((*at, "controlPlane"), "required when manage is true"))
            if self._has("node_pools") and not self.node_pools:
                problems.append(
                    ((*at, "nodePools"), "at least one node pool is required when manage is true")
                )
        if self._has("node_pools"):
            first_use: dict[str, int] = {}
            for index, pool in enumerate(self.node_pools):
                if not pool._has("name"):
                    continue
                if pool.name in first_use:
                    earlier = key((*at, "nodePools", first_use[pool.name], "name"))
                    problems.append(
                        ((*at, "nodePools", index, "name"), f"{pool.name!r} duplicates {earlier}")
                    )
                else:
                    first_use[pool.name] = index
        if self._has("network"):
            problems += self.network._problems((*at, "network"), key)
        if self._has("antrea"):
            problems += self.antrea._problems((*at, "antrea"), key)
        return problems

    def _warnings(self, at: Loc, key: KeyFunction) -> list[Problem]:
        warnings = self.network._warnings((*at, "network"), key) if self._has("network") else []
        if self._has("manage") and not self.manage:
            warnings += [
                (
                    (*at, to_camel(field)),
                    "ignored: manage is false, so the program creates neither the TKC nor its "
                    "AntreaConfig",
                )
                for field in ("tkr", "control_plane", "node_pools", "antrea")
                if field in self.model_fields_set
            ]
        if not self.network_is_known:
            warnings.append(
                (
                    (*at, "network"),
                    "not given: zone CIDRs are not checked against the existing cluster's pod "
                    "and service CIDRs; give them here",
                )
            )
        return warnings

    @property
    def network_is_known(self) -> bool:
        """Whether pods/services describe the real cluster: declared by us, or given."""
        if not self._has("network"):
            return False
        return "network" in self.model_fields_set or (self._has("manage") and self.manage)

    @property
    def ready_timeout_go(self) -> str:
        """The ready timeout as a Go duration string, for Pulumi's CustomTimeouts."""
        return format_go_duration(self.ready_timeout)


class ZoneConfig(_Model):
    """One egress zone: child segment, NoSNAT rule, ExternalIPPool and Egress."""

    name: DnsLabel
    vlan: Vlan
    cidr: ZoneCidr
    gateway: Ipv4Address
    ip_ranges: list[IpRange] = Field(min_length=1)
    applied_to: AppliedTo
    node_selector: LabelSelector = Field(default_factory=LabelSelector)
    parent_segment: SegmentPath | None = None

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

    def subnet_info(self) -> dict[str, Any]:
        """The ExternalIPPool `subnetInfo`."""
        return {"gateway": self.gateway, "prefixLength": self.prefix_length, "vlan": self.vlan}

    def valid_ranges(self) -> list[tuple[int, IpRange]]:
        """The ranges that break no rule of their own nor of this zone, with their index."""
        if not self._has("cidr", "gateway", "ip_ranges"):
            return []
        return [
            (index, ip_range)
            for index, ip_range in enumerate(self.ip_ranges)
            if not ip_range._incomplete
            and not self._range_problems(index, ip_range, (), render_path)
        ]

    def _range_problems(
        self, index: int, ip_range: IpRange, at: Loc, key: KeyFunction
    ) -> list[Problem]:
        loc: Loc = (*at, "ipRanges", index)
        own = ip_range._problems(loc, key)
        if own or ip_range._incomplete or not self._has("cidr", "gateway"):
            return own
        network = self.network
        first, last = ip_range.bounds
        if first not in network or last not in network:
            return [(loc, f"{ip_range.text} is not inside {network}")]
        low, high = ip_range.allocatable
        reserved = (
            (self.gateway_address, "the gateway"),
            (network.network_address, f"the network address of {network}"),
            (network.broadcast_address, f"the broadcast address of {network}"),
        )
        return [
            (loc, f"{address} is {what}; the range {ip_range.text} must not include it")
            for address, what in reserved
            if low <= address <= high
        ]

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        problems: list[Problem] = []
        if self._has("cidr", "gateway"):
            _, subnet_problems = addressing.parse_subnet(self.cidr, self.gateway)
            problems += [((*at, field), message) for field, message in subnet_problems.items()]
        if self._has("ip_ranges"):
            valid: list[tuple[int, IpRange]] = []
            for index, ip_range in enumerate(self.ip_ranges):
                range_problems = self._range_problems(index, ip_range, at, key)
                problems += range_problems
                if not range_problems and not ip_range._incomplete:
                    valid.append((index, ip_range))
            problems += [
                (
                    (*at, "ipRanges", index),
                    f"{ip_range.text} overlaps {key((*at, 'ipRanges', earlier_index))} "
                    f"{earlier.text}",
                )
                for position, (index, ip_range) in enumerate(valid)
                for earlier_index, earlier in valid[:position]
                if ip_range.overlaps(earlier)
            ]
        if self._has("applied_to"):
            problems += self.applied_to._problems((*at, "appliedTo"), key)
        if self._has("node_selector"):
            problems += self.node_selector._problems((*at, "nodeSelector"), key)
        return problems


class StackConfig(_Model):
    """Everything under the `antrea-egress` namespace of a stack."""

    cluster: ClusterConfig
    nat_mode: Flag = True
    demo_workloads: Flag = False
    # The local lab: Kubernetes objects are written as YAML under this directory instead of
    # being applied, so no Supervisor or guest cluster is needed (NSX still is: the simulator).
    render_yaml_to: str | None = None
    # May be empty: a stack can declare the cluster first and add zones later.
    zones: list[ZoneConfig] = Field(default_factory=list)

    @classmethod
    def _key_function(cls) -> KeyFunction:
        return config_key

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        problems = self.cluster._problems((*at, KEY_CLUSTER), key)
        for index, zone in enumerate(self.zones):
            problems += zone._problems((*at, KEY_ZONES, index), key)
        problems += _stack_problems(self.cluster, list(enumerate(self.zones)), len(self.zones), key)
        return problems

    def _warnings(self, at: Loc, key: KeyFunction) -> list[Problem]:
        return self.cluster._warnings((*at, KEY_CLUSTER), key)

    def effective_parent(self, zone: ZoneConfig) -> str:
        """The zone's parent segment path, or "auto" for the cluster's node segment."""
        return zone.effective_parent(self.cluster)

    def warnings(self) -> list[str]:
        """The warnings of this configuration (load_stack_config returns them too)."""
        return [f"{config_key(loc)}: {message}" for loc, message in self._warnings((), config_key)]


# --- rules across zones --------------------------------------------------------------------


def _zone_loc(index: int, *rest: str | int) -> Loc:
    return (KEY_ZONES, index, *rest)


def _stack_problems(
    cluster: ClusterConfig | None,
    zones: Sequence[tuple[int, ZoneConfig]],
    zone_count: int,
    key: KeyFunction,
) -> list[Problem]:
    """Rules across zones and between zones and the cluster; `zones` holds what parsed."""
    problems: list[Problem] = []
    if zone_count > MAX_ZONES_PER_CLUSTER:
        problems.append(
            (
                (KEY_ZONES,),
                f"{zone_count} zones; at most {MAX_ZONES_PER_CLUSTER} per cluster (Antrea has "
                f"{MAX_ZONES_PER_CLUSTER} policy-routing tables for Egress subnets, 101-120)",
            )
        )
    problems += _duplicate_name_problems(zones, key)
    problems += _applied_to_problems(zones, key)
    problems += _nsx_path_problems(cluster, zones)
    problems += _cidr_overlap_problems(cluster, zones, key)
    problems += _range_overlap_problems(zones, key)
    problems += _vlan_problems(cluster, zones, key)
    return problems


def _render_problems(cluster: ClusterConfig | None, render_yaml_to: str | None) -> list[Problem]:
    """Rendering needs no cluster, so nothing may depend on reading one."""
    if render_yaml_to and cluster is not None and cluster.node_segment == AUTO_SEGMENT:
        return [
            (
                (KEY_CLUSTER, "nodeSegment"),
                f"must be a segment path when {KEY_RENDER_YAML_TO} is set: discovery reads a "
                "live Supervisor",
            )
        ]
    return []


# A discovered node segment's id, at its longest: vnet_<uuid>_<n>
# (docs/tkc-network-discovery.md §2.1).
_LONGEST_DISCOVERED_PARENT = "/infra/segments/vnet_00000000-0000-0000-0000-000000000000_99"


def _nsx_path_problems(
    cluster: ClusterConfig | None, zones: Sequence[tuple[int, ZoneConfig]]
) -> list[Problem]:
    """NSX refuses policy paths over 255 characters (error 500157); say so before the TKC is
    built, not halfway through the first `up`."""
    if cluster is None or not cluster._has("name") or not cluster._has("vsphere_namespace"):
        return []
    problems: list[Problem] = []
    for index, zone in zones:
        if not zone._has("name"):
            continue
        parent = (
            zone.parent_segment if zone._has("parent_segment") and zone.parent_segment else None
        )
        if parent is None and cluster._has("node_segment") and cluster.node_segment != AUTO_SEGMENT:
            parent = cluster.node_segment
        segment_id = naming.child_segment_id(cluster.vsphere_namespace, cluster.name, zone.name)
        longest = paths.binding_map_path(
            segment_id, naming.binding_map_id(parent or _LONGEST_DISCOVERED_PARENT)
        )
        if len(longest) > naming.NSX_PATH_MAX_LENGTH:
            problems.append(
                (
                    _zone_loc(index, "name"),
                    f"its NSX binding-map path would be {len(longest)} characters long; NSX "
                    f"allows {naming.NSX_PATH_MAX_LENGTH}: shorten the zone, cluster or namespace "
                    "name",
                )
            )
    return problems


def _demo_problems(
    zones: Sequence[tuple[int, ZoneConfig]], demo_workloads: bool, key: KeyFunction
) -> list[Problem]:
    """Demo workloads own their namespace: two zones cannot both create the same one."""
    if not demo_workloads:
        return []
    problems: list[Problem] = []
    first_use: dict[str, int] = {}
    for index, zone in zones:
        if not zone._has("applied_to"):
            continue
        namespace = zone.applied_to.namespace
        if namespace in first_use:
            earlier = key(_zone_loc(first_use[namespace], "appliedTo", "namespace"))
            problems.append(
                (
                    _zone_loc(index, "appliedTo", "namespace"),
                    f"{KEY_DEMO_WORKLOADS} creates each zone's namespace; {namespace!r} is "
                    f"also {earlier}",
                )
            )
        else:
            first_use[namespace] = index
    return problems


def _duplicate_name_problems(
    zones: Sequence[tuple[int, ZoneConfig]], key: KeyFunction
) -> list[Problem]:
    problems: list[Problem] = []
    first_use: dict[str, int] = {}
    for index, zone in zones:
        if not zone._has("name"):
            continue
        if zone.name in first_use:
            earlier = key(_zone_loc(first_use[zone.name], "name"))
            problems.append((_zone_loc(index, "name"), f"{zone.name!r} duplicates {earlier}"))
        else:
            first_use[zone.name] = index
    return problems


def _applied_to_problems(
    zones: Sequence[tuple[int, ZoneConfig]], key: KeyFunction
) -> list[Problem]:
    """Two zones may not select the same pods: Antrea applies one Egress to a pod, picking at
    random among several ("If more than one Egress applies to a Pod ... the effective egress IP
    will be selected randomly", Antrea docs/egress.md), while the firewall report would list
    both zones' ranges for them."""
    parsed = [
        (index, zone.applied_to)
        for index, zone in zones
        if zone._has("applied_to") and zone.applied_to._has("namespace", "pod_selector")
    ]
    problems: list[Problem] = []
    for position, (index, applied_to) in enumerate(parsed):
        earlier = next(
            (i for i, other in parsed[:position] if applied_to.selects_the_same_pods_as(other)),
            None,
        )
        if earlier is not None:
            problems.append(
                (
                    _zone_loc(index, "appliedTo"),
                    f"selects the same pods as {key(_zone_loc(earlier, 'appliedTo'))} "
                    f"(namespace {applied_to.namespace!r}, an equal podSelector): Antrea applies "
                    "only one Egress to a pod, at random, while the firewall report would list "
                    "both zones' ranges",
                )
            )
    return problems


def _cidr_overlap_problems(
    cluster: ClusterConfig | None, zones: Sequence[tuple[int, ZoneConfig]], key: KeyFunction
) -> list[Problem]:
    """Zone CIDRs must not overlap each other nor the cluster's pod and service CIDRs."""
    cluster_networks = (
        cluster.network.located_networks((KEY_CLUSTER, "network"))
        if cluster is not None and cluster.network_is_known
        else []
    )
    with_cidr = [(index, zone) for index, zone in zones if zone._has("cidr")]
    problems: list[Problem] = []
    for position, (index, zone) in enumerate(with_cidr):
        others = [
            (_zone_loc(earlier_index, "cidr"), earlier.cidr, earlier.network)
            for earlier_index, earlier in with_cidr[:position]
        ]
        problems += [
            (_zone_loc(index, "cidr"), f"{zone.cidr} overlaps {key(loc)} {cidr}")
            for loc, cidr, network in [*others, *cluster_networks]
            if zone.network.overlaps(network)
        ]
    return problems


def _range_overlap_problems(
    zones: Sequence[tuple[int, ZoneConfig]], key: KeyFunction
) -> list[Problem]:
    """Ranges of different zones must not overlap (ZoneConfig checks its own ranges)."""
    ranges = [
        (_zone_loc(index, "ipRanges", range_index), index, ip_range)
        for index, zone in zones
        for range_index, ip_range in zone.valid_ranges()
    ]
    problems: list[Problem] = []
    for position, (loc, index, ip_range) in enumerate(ranges):
        problems += [
            (loc, f"{ip_range.text} overlaps {key(earlier_loc)} {earlier.text}")
            for earlier_loc, earlier_index, earlier in ranges[:position]
            if earlier_index != index and ip_range.overlaps(earlier)
        ]
    return problems


def _vlan_problems(
    cluster: ClusterConfig | None, zones: Sequence[tuple[int, ZoneConfig]], key: KeyFunction
) -> list[Problem]:
    """Children of one parent segment need distinct VLANs; "auto" is one parent."""
    cluster_parent = (
        cluster.node_segment
        if cluster is not None and cluster._has("node_segment")
        else "the cluster's node segment"
    )
    problems: list[Problem] = []
    first_use: dict[tuple[str, int], int] = {}
    for index, zone in zones:
        if not zone._has("vlan", "parent_segment"):
            continue
        parent = zone.parent_segment or cluster_parent
        if (parent, zone.vlan) in first_use:
            earlier = key(_zone_loc(first_use[parent, zone.vlan], "vlan"))
            problems.append(
                (
                    _zone_loc(index, "vlan"),
                    f"VLAN {zone.vlan} is already used by {earlier} on the same parent "
                    f"segment ({parent})",
                )
            )
        else:
            first_use[parent, zone.vlan] = index
    return problems


# --- parsing field by field, translating pydantic's errors ---------------------------------


def _all_aliases() -> frozenset[str]:
    models: list[type[BaseModel]] = [
        IpRange, LabelSelectorRequirement, LabelSelector, AppliedTo, ControlPlane, NodePool,
        ClusterNetwork, AntreaSettings, ClusterConfig, ZoneConfig, StackConfig,
    ]  # fmt: skip
    return frozenset(
        field.alias or name for model in models for name, field in model.model_fields.items()
    )


def _suggestion(word: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_MESSAGES_BY_ERROR_TYPE: Final = {
    "model_type": "must be a mapping, got {value}",
    "model_attributes_type": "must be a mapping, got {value}",
    "dict_type": "must be a mapping, got {value}",
    "list_type": "must be a list, got {value}",
    "tuple_type": "must be a list, got {value}",
    "string_type": "must be a string, got {value}",
    "int_type": "must be an integer, got {value}",
    "int_parsing": "must be an integer, got {value}",
    "int_from_float": "must be an integer, got {value}",
    "bool_type": "must be true or false, got {value}",
    "bool_parsing": "must be true or false, got {value}",
    "too_short": "must not be empty",
}


def _error_message(error: Mapping[str, Any]) -> str:
    """pydantic's error as one short phrase, without pydantic's own decoration."""
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        name = error["loc"][-1] if error["loc"] else ""
        return "unknown key" + (_suggestion(name, _all_aliases()) if isinstance(name, str) else "")
    if kind in ("value_error", "assertion_error"):
        return str(error.get("ctx", {}).get("error", error["msg"]))
    value = _show(error.get("input"))
    if kind in _MESSAGES_BY_ERROR_TYPE:
        return _MESSAGES_BY_ERROR_TYPE[kind].format(value=value)
    message = str(error["msg"])
    return f"{message[:1].lower()}{message[1:]}, got {value}"


def _translate(error: ValidationError, at: Loc) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        # A bad dict key is reported at (..., key, "[key]"): the key is the location.
        loc: Loc = (*at, *(part for part in item["loc"] if part != "[key]"))
        problems.append((loc, _error_message(item)))
    return problems


_ADAPTERS: dict[int, TypeAdapter[Any]] = {}


def _field_adapter(field: FieldInfo) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(id(field))
    if adapter is None:
        adapter = _ADAPTERS[id(field)] = TypeAdapter(field.rebuild_annotation())
    return adapter


def _nested_model(annotation: Any) -> tuple[str, type[_Model]] | None:
    """("model" | "optional" | "list", model) for fields the loader parses field by field."""
    if isinstance(annotation, type) and issubclass(annotation, _Model):
        return ("model", annotation) if annotation._partial_parse else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and len(args) == 1:
        inner = _nested_model(args[0])
        return ("list", inner[1]) if inner and inner[0] == "model" else None
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        other = args[0] if args[1] is type(None) else args[1]
        inner = _nested_model(other)
        return ("optional", inner[1]) if inner and inner[0] == "model" else None
    return None


def _parse_partial(model: type[_M], data: object, at: Loc) -> tuple[_M | None, list[Problem]]:
    """Parse `data` field by field: the problems of every field, and an instance.

    Without problems the instance is fully validated (rules deferred). Otherwise it is built
    from the fields that parsed, marks the others in `_incomplete`, and serves only to run the
    rules that need no failed field. None when `data` is not even a mapping.
    """
    if isinstance(data, model):
        return data, []
    if not isinstance(data, Mapping):
        return None, [(at, f"must be a mapping, got {_show(data)}")]
    given, problems = _given_fields(model, data, at)
    values: dict[str, Any] = {}
    failed: set[str] = set()
    for name, field in model.model_fields.items():
        if name not in given:
            if field.is_required():
                problems.append(((*at, field.alias or name), "required"))
                failed.add(name)
            continue
        loc, value = given[name]
        ok, parsed, field_problems = _parse_field(field, loc, value)
        problems += field_problems
        if ok:
            values[name] = parsed
        else:
            failed.add(name)
    if not problems:
        try:
            return model.model_validate(data, context={_DEFER_RULES: True}), []
        except ValidationError as error:  # pragma: no cover - the fields parsed one by one
            problems = _translate(error, at)
            failed = set(model.model_fields)
    partial = model.model_construct(set(given) - failed, **values)
    partial._incomplete = frozenset(failed)
    return partial, problems


def _given_fields(
    model: type[_Model], data: Mapping[Any, Any], at: Loc
) -> tuple[dict[str, tuple[Loc, object]], list[Problem]]:
    """The given values by field name, with their location; unknown keys are problems."""
    fields = model.model_fields
    names = {field.alias or name: name for name, field in fields.items()} | {n: n for n in fields}
    given: dict[str, tuple[Loc, object]] = {}
    problems: list[Problem] = []
    for raw_key, value in data.items():
        name = names.get(raw_key) if isinstance(raw_key, str) else None
        if name is None:
            problems.append(
                ((*at, str(raw_key)), f"unknown key{_suggestion(str(raw_key), _all_aliases())}")
            )
        elif name in given:
            problems.append(((*at, raw_key), f"given twice (also as {given[name][0][-1]})"))
        else:
            given[name] = ((*at, raw_key), value)
    return given, problems


def _parse_field(field: FieldInfo, loc: Loc, value: object) -> tuple[bool, object, list[Problem]]:
    """(parsed, value, problems) for one field; nested models are parsed field by field too."""
    nested = _nested_model(field.annotation)
    if nested is None:
        try:
            parsed = _field_adapter(field).validate_python(value, context={_DEFER_RULES: True})
        except ValidationError as error:
            return False, None, _translate(error, loc)
        return True, parsed, []
    kind, model = nested
    if kind == "list":
        return _parse_list(field, model, loc, value)
    if kind == "optional" and value is None:
        return True, None, []
    instance, problems = _parse_partial(model, value, loc)
    return instance is not None, instance, problems


def _parse_list(
    field: FieldInfo, model: type[_Model], loc: Loc, value: object
) -> tuple[bool, object, list[Problem]]:
    if not isinstance(value, list):
        return False, None, [(loc, f"must be a list, got {_show(value)}")]
    items: list[_Model | None] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        instance, item_problems = _parse_partial(model, item, (*loc, index))
        items.append(instance)
        problems += item_problems
    min_length = next((m.min_length for m in field.metadata if hasattr(m, "min_length")), 0)
    if len(items) < min_length:
        problems.append((loc, "must not be empty"))
        return False, None, problems
    return all(item is not None for item in items), items, problems


# --- loaders -------------------------------------------------------------------------------


def _is_secure(value: object) -> bool:
    """Whether `value` is an encrypted value as a stack file holds it: `{secure: ...}`."""
    return isinstance(value, Mapping) and set(value) == {SECURE}


def _close_namespace(namespace: str, ours: Sequence[str]) -> str | None:
    """The namespace of ours that `namespace` most likely misspells, if any."""
    # Other Pulumi packages extend a provider's name (kubernetes-cert-manager): not a typo.
    if any(namespace.startswith(f"{provider}-") for provider in PROVIDER_NAMESPACES):
        return None
    matches = difflib.get_close_matches(namespace.lower(), ours, n=1, cutoff=0.6)
    return matches[0] if matches else None


@dataclass(frozen=True)
class _AccessValues:
    """The provider keys the program reads itself, validated (None: unset)."""

    supervisor_context: str | None
    flags: Mapping[str, bool | None]


class _Collector:
    """Problems and warnings of one load, rendered with the project's keys."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.problems: list[str] = []
        self.warnings: list[str] = []
        # Keys of other namespaces that were given but are unusable (reported already).
        self.failed: set[str] = set()

    def key(self, loc: Loc) -> str:
        return config_key(loc, project=self.project)

    def add(self, problems: Iterable[Problem], *, warnings: bool = False) -> None:
        target = self.warnings if warnings else self.problems
        target.extend(f"{self.key(loc)}: {message}" for loc, message in problems)

    def decode(self, loc: Loc, value: object) -> tuple[bool, object]:
        """pulumi.Config hands objects over as JSON text; stack files as parsed YAML."""
        if _is_secure(value):
            self.add([(loc, "is a secret; this key must be plain text")])
            return False, None
        if isinstance(value, str):
            try:
                return True, json.loads(value)
            except json.JSONDecodeError as error:
                message = (
                    f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
                )
                self.add([(loc, message)])
                return False, None
        return True, value

    def flag(self, name: str, value: object, *, default: bool) -> bool:
        if value is None:
            return default
        if _is_secure(value):
            self.add([((name,), "is a secret; this key must be plain text")])
            return default
        try:
            return booleans.parse_boolean(value)
        except ValueError as error:
            self.add([((name,), str(error))])
            return default

    def select(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """This project's values by short key; unknown keys of the project are problems, and
        so are namespaces close to ours (a typo would silently drop the key)."""
        values: dict[str, Any] = {}
        known = [f"{self.project}:{name}" for name in STACK_KEYS]
        for raw_key in sorted(raw, key=str):
            namespace, colon, name = str(raw_key).partition(":")
            if not colon:
                self.problems.append(
                    f"{raw_key}: configuration keys need a namespace, e.g. {self.project}:{raw_key}"
                )
            elif namespace == self.project and name in STACK_KEYS:
                values[name] = raw[raw_key]
            elif namespace == self.project:
                self.problems.append(f"{raw_key}: unknown key{_suggestion(str(raw_key), known)}")
            elif namespace not in (*PROVIDER_NAMESPACES, PULUMI_NAMESPACE):
                self.foreign_namespace(str(raw_key), namespace, name)
        return values

    def foreign_namespace(self, raw_key: str, namespace: str, name: str) -> None:
        ours = (self.project, *PROVIDER_NAMESPACES)
        intended = _close_namespace(namespace, ours)
        if intended is not None:
            self.problems.append(
                f"{raw_key}: unknown namespace {namespace!r} (did you mean '{intended}:{name}'?)"
            )
        else:
            self.warnings.append(
                f"{raw_key}: ignored: nothing in this program reads the namespace "
                f"{namespace!r} (it reads {', '.join(ours)} and {PULUMI_NAMESPACE})"
            )

    def access(self, raw: Mapping[str, Any], *, supervisor_required: bool) -> _AccessValues:
        """The provider keys the program reads itself (the providers check the others).

        The Supervisor provider's identity is its context: without one, switching the
        kubeconfig's current context would silently point the stack at another Supervisor.
        """
        context = self.provider_text(KEY_SUPERVISOR_CONTEXT, raw.get(KEY_SUPERVISOR_CONTEXT))
        if supervisor_required and context is None and KEY_SUPERVISOR_CONTEXT not in self.failed:
            self.problems.append(
                f"{KEY_SUPERVISOR_CONTEXT}: not set; set it to the Supervisor context of "
                f"`kubectl vsphere login` (pulumi config set {KEY_SUPERVISOR_CONTEXT} <context>)"
            )
        flags = {key: self.provider_flag(key, raw.get(key)) for key in ACCESS_FLAG_KEYS}
        return _AccessValues(context, flags)

    def provider_text(self, key: str, value: object) -> str | None:
        """A plain string of another namespace; empty means unset."""
        if value is None:
            return None
        if _is_secure(value):
            self.provider_problem(key, "is a secret; this key must be plain text")
            return None
        # A number in a stack file reaches the program as its text, as any scalar does.
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.provider_problem(key, f"must be a string, got {_show(value)}")
            return None
        return str(value).strip() or None

    def provider_flag(self, key: str, value: object) -> bool | None:
        if value is None:
            return None
        if _is_secure(value):
            self.provider_problem(key, "is a secret; this key must be plain text")
            return None
        try:
            return booleans.parse_boolean(value)
        except ValueError as error:
            self.provider_problem(key, str(error))
            return None

    def provider_problem(self, key: str, message: str) -> None:
        self.failed.add(key)
        self.problems.append(f"{key}: {message}")

    def text(self, name: str, value: object) -> str | None:
        """A plain string key; empty means unset (Pulumi.yaml declares such keys with "")."""
        if value is None:
            return None
        if _is_secure(value):
            self.add([((name,), "is a secret; this key must be plain text")])
            return None
        if not isinstance(value, str):
            self.add([((name,), f"must be a string, got {_show(value)}")])
            return None
        return value.strip() or None

    def cluster(self, value: object) -> ClusterConfig | None:
        loc: Loc = (KEY_CLUSTER,)
        if value is None:
            self.add([(loc, "required")])
            return None
        ok, decoded = self.decode(loc, value)
        if not ok:
            return None
        cluster, problems = _parse_partial(ClusterConfig, decoded, loc)
        self.add(problems)
        if cluster is not None:
            self.add(cluster._problems(loc, self.key))
            self.add(cluster._warnings(loc, self.key), warnings=True)
        return cluster

    def zones(self, value: object) -> tuple[list[tuple[int, ZoneConfig]], int]:
        """The zones that parsed (perhaps partly), with their index, and the zone count."""
        if value is None:
            return [], 0
        ok, decoded = self.decode((KEY_ZONES,), value)
        if not ok:
            return [], 0
        if not isinstance(decoded, list):
            self.add([((KEY_ZONES,), f"must be a list of zones, got {_show(decoded)}")])
            return [], 0
        zones: list[tuple[int, ZoneConfig]] = []
        for index, item in enumerate(decoded):
            loc: Loc = (KEY_ZONES, index)
            zone, problems = _parse_partial(ZoneConfig, item, loc)
            self.add(problems)
            if zone is not None:
                self.add(zone._problems(loc, self.key))
                zones.append((index, zone))
        return zones, len(decoded)


def load_stack_config(
    raw: Mapping[str, Any], *, project: str = CONFIG_NAMESPACE
) -> tuple[StackConfig, list[str]]:
    """Validate a stack's configuration; returns it with its warnings.

    `raw` maps fully qualified keys (`antrea-egress:zones`) to parsed values or to the JSON /
    "true" / "false" strings pulumi.Config holds: every key of the stack, so that unknown keys
    of this namespace and misspelt namespaces are errors (other namespaces a warning), and the
    provider keys the program reads itself (`kubernetes:context`, the `nsxt:*` flags) are
    checked by the same rules as when the program reads them (read_access_config). Raises
    ConfigError with every problem, in a fixed order: keys, the cluster, natMode,
    demoWorkloads, each zone, renderYamlTo, the provider keys, then the rules across zones.
    """
    out = _Collector(project)
    values = out.select(raw)
    cluster = out.cluster(values.get(KEY_CLUSTER))
    nat_mode = out.flag(KEY_NAT_MODE, values.get(KEY_NAT_MODE), default=True)
    demo_workloads = out.flag(KEY_DEMO_WORKLOADS, values.get(KEY_DEMO_WORKLOADS), default=False)
    zones, zone_count = out.zones(values.get(KEY_ZONES))
    render_yaml_to = out.text(KEY_RENDER_YAML_TO, values.get(KEY_RENDER_YAML_TO))
    # A renderYamlTo that is not a string was meant to be set: no "context not set" on top.
    lab = bool(render_yaml_to) or not isinstance(values.get(KEY_RENDER_YAML_TO), str | None)
    out.access(raw, supervisor_required=not lab)
    out.add(_stack_problems(cluster, zones, zone_count, out.key))
    out.add(_render_problems(cluster, render_yaml_to))
    out.add(_demo_problems(zones, demo_workloads, out.key))
    if out.problems or cluster is None:
        raise ConfigError(out.problems, out.warnings)
    try:
        stack = StackConfig.model_validate(
            {
                KEY_CLUSTER: cluster,
                KEY_NAT_MODE: nat_mode,
                KEY_DEMO_WORKLOADS: demo_workloads,
                KEY_ZONES: [zone for _, zone in zones],
                KEY_RENDER_YAML_TO: render_yaml_to,
            },
            context={_DEFER_RULES: True},  # checked above, with the project's keys
        )
    except ValidationError as error:  # pragma: no cover - every section parsed already
        out.add(_translate(error, ()))
        raise ConfigError(out.problems, out.warnings) from None
    return stack, out.warnings


def load_stack_file(
    path: Path, *, project: str = CONFIG_NAMESPACE
) -> tuple[StackConfig, list[str]]:
    """Validate the `config:` of a `Pulumi.<stack>.yaml` file (secrets stay encrypted)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read it: {error.strerror}"]) from None
    try:
        document = parse_stack_yaml(text)
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML: {' '.join(str(error).split())}"]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([f"{path}: a stack file must be a mapping with a config: key"])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([f"{path}: config: must be a mapping of keys to values"])
    return load_stack_config(config, project=project)


def read_pulumi_config() -> tuple[StackConfig, list[str]]:
    """The stack configuration of the running Pulumi program (the edge adapter for __main__).

    Every configured key goes to load_stack_config as the raw string pulumi.Config holds, so
    that bad JSON is reported with the other problems instead of aborting at the first
    `get_object`, and unknown keys and namespaces are reported too.
    """
    return load_stack_config(_runtime_config(), project=CONFIG_NAMESPACE)


# Stands in for a secret value: no check may see, or echo, the plain text.
_SECRET_VALUE: Final = "<secret: not read>"  # noqa: S105 - a placeholder, by design


def _runtime_config() -> dict[str, Any]:
    """Every configured key of the running program, with its value; secret values masked.

    pulumi.Config only looks keys up by name, so the key list comes from the runtime's maps:
    under the Pulumi CLI the language host hands the program the whole stack config in
    PULUMI_CONFIG and loads it, with the secret keys, through set_all_config
    (sdk/python/cmd/pulumi-language-python-exec in pulumi/pulumi); inline Automation API
    programs and the mock engine call set_all_config themselves. The keys the program reads
    are looked up by name too, for a PULUMI_CONFIG_<KEY> variable. A secret value becomes the
    stack file's `{secure: ...}` form, so it is refused where plain text belongs exactly as
    in a stack file, and never reaches a message.
    """
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.get_config_env())
    keys |= {f"{CONFIG_NAMESPACE}:{name}" for name in STACK_KEYS}
    keys |= {KEY_SUPERVISOR_CONTEXT, *ACCESS_FLAG_KEYS}
    secret_keys = set(pulumi.runtime.get_config_secret_keys_env())
    raw: dict[str, Any] = {}
    for key in sorted(keys):
        value = pulumi.runtime.config.get_config(key)
        if value is None:
            continue
        secret = key in secret_keys or pulumi.runtime.is_config_secret(key)
        raw[key] = {SECURE: _SECRET_VALUE} if secret else value
    return raw


class _StackFileLoader(yaml.SafeLoader):
    """Stack files read as the Pulumi CLI reads them: only YAML 1.2 booleans are booleans.

    The CLI parses Pulumi.<stack>.yaml with Go's gopkg.in/yaml.v3, which resolves only
    true/True/TRUE and false/False/FALSE to booleans (its resolve.go) and hands config values
    to the program untyped, so `yes`, `no`, `on` and `off` arrive as strings. PyYAML's safe
    loader follows YAML 1.1 and would make booleans of them: offline checks would accept
    what the deployed program refuses.
    """


_YAML_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_StackFileLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _YAML_BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StackFileLoader.add_implicit_resolver(
    _YAML_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_stack_yaml(text: str) -> Any:
    """A stack file's YAML document, its scalars typed as the Pulumi CLI types them."""
    loader = _StackFileLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


# --- access to the Supervisor and NSX ------------------------------------------------------


@dataclass(frozen=True)
class AccessConfig:
    """The other namespaces' keys the program passes to its explicit providers.

    These belong to the Kubernetes and NSX-T providers (and our NSX dynamic providers read the
    same `nsxt:*` keys in their configure()); unset values are left to each provider's own
    fallback (KUBECONFIG, NSXT_* environment variables).
    """

    supervisor_context: str | None = None
    supervisor_kubeconfig: pulumi.Output[str] | None = None
    nsx_host: str | None = None
    nsx_username: str | None = None
    nsx_password: pulumi.Output[str] | None = None
    nsx_allow_unverified_ssl: bool | None = None
    nsx_ca_file: str | None = None
    nsx_session_auth: bool | None = None


def read_access_config(*, supervisor_required: bool) -> AccessConfig:
    """The edge adapter for the `kubernetes:*` and `nsxt:*` keys; secrets stay secret.

    The keys the program reads itself are checked by the rules load_stack_config applies;
    a problem raises ConfigError naming the key.
    """
    out = _Collector(CONFIG_NAMESPACE)
    access = out.access(_runtime_config(), supervisor_required=supervisor_required)
    if out.problems:
        raise ConfigError(out.problems)
    kubernetes = pulumi.Config(KUBERNETES_NAMESPACE)
    nsxt = pulumi.Config(NSXT_NAMESPACE)
    return AccessConfig(
        supervisor_context=access.supervisor_context,
        supervisor_kubeconfig=kubernetes.get_secret(_name(kube.KUBECONFIG_KEY)),
        nsx_host=nsxt.get(_name(nsx_settings.HOST.config_key)),
        nsx_username=nsxt.get(_name(nsx_settings.USERNAME.config_key)),
        nsx_password=nsxt.get_secret(_name(nsx_settings.PASSWORD.config_key)),
        nsx_allow_unverified_ssl=access.flags[nsx_settings.ALLOW_UNVERIFIED_SSL.config_key],
        nsx_ca_file=nsxt.get(_name(nsx_settings.CA_FILE.config_key)),
        nsx_session_auth=access.flags[nsx_settings.SESSION_AUTH.config_key],
    )


def _name(key: str) -> str:
    """`host` of `nsxt:host`: pulumi.Config takes the name within its namespace."""
    return key.partition(":")[2]
