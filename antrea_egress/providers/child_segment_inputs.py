"""A child segment's properties, validated, and the NSX request bodies they make.

Declared once here: the inputs (`ChildSegmentArgs`), the outputs (`ChildSegmentOutputs`),
their validation (`normalize_inputs`, local and without network, for check and diff), and the
Segment and SegmentConnectionBindingMap bodies the provider sends and `egressctl render` shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import CheckFailure

from antrea_egress import addressing, naming
from antrea_egress.nsx import paths
from antrea_egress.nsx.errors import NsxError
from antrea_egress.providers.base import is_unknown

if TYPE_CHECKING:
    # Only read: the dynamic-provider host need not import the configuration.
    from antrea_egress.config import ClusterConfig, ZoneConfig


@dataclass(frozen=True)
class ChildSegmentArgs:
    """The inputs of a ChildSegment."""

    nsx_id: pulumi.Input[str]
    parent_path: pulumi.Input[str]
    vlan: pulumi.Input[int]
    cidr: pulumi.Input[str]
    gateway: pulumi.Input[str]
    description: pulumi.Input[str] | None = None
    tags: pulumi.Input[Sequence[pulumi.Input[Mapping[str, str]]]] | None = None

    @classmethod
    def of_zone(
        cls, cluster: ClusterConfig, zone: ZoneConfig, *, parent_path: pulumi.Input[str]
    ) -> ChildSegmentArgs:
        """A zone's child segment: its id, its subnet and VLAN on the parent, its tags."""
        return cls(
            nsx_id=naming.child_segment_id(cluster.vsphere_namespace, cluster.name, zone.name),
            parent_path=parent_path,
            vlan=zone.vlan,
            cidr=zone.cidr,
            gateway=zone.gateway,
            description=f"Antrea egress zone {zone.name} of {cluster.vsphere_namespace}/"
            f"{cluster.name}",
            tags=naming.ownership_tags(cluster.vsphere_namespace, cluster.name, zone.name),
        )

    def props(self) -> dict[str, Any]:
        """The inputs by name (not asdict: Outputs must not be deep-copied)."""
        return {name: getattr(self, name) for name in INPUT_KEYS}


@dataclass(frozen=True)
class ChildSegmentOutputs:
    """What NSX reports about a child segment: its paths and its subnet's network."""

    path: str
    binding_map_path: str | None
    tier1_path: str | None
    transport_zone_path: str | None
    network: str | None

    def props(self) -> dict[str, Any]:
        return asdict(self)


INPUT_KEYS = tuple(field.name for field in fields(ChildSegmentArgs))
# Changing any of these moves the segment or its subnet in NSX: replace it.
REPLACE_KEYS = frozenset({"nsx_id", "parent_path", "vlan", "cidr", "gateway"})
OUTPUT_KEYS = tuple(field.name for field in fields(ChildSegmentOutputs))


class ChildSegmentError(NsxError):
    """A child segment cannot be created, changed or deleted as asked."""


@dataclass(frozen=True)
class ChildSegmentSpec:
    """Validated inputs."""

    nsx_id: str
    parent_path: str
    vlan: int
    subnet: addressing.Subnet
    description: str
    tags: tuple[tuple[str, str], ...]

    @property
    def segment_path(self) -> str:
        return paths.segment_path(self.nsx_id)

    @property
    def binding_map_path(self) -> str:
        return naming.binding_map_path(self.nsx_id, self.parent_path)

    def nsx_tags(self) -> list[dict[str, str]]:
        return [naming.MANAGED_BY_TAG, *({"scope": s, "tag": t} for s, t in self.tags)]

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> ChildSegmentSpec:
        """For create/update/delete, where check() has already validated the props."""
        normalized, failures = normalize_inputs(props)
        if failures:
            raise ChildSegmentError("; ".join(f"{f.property}: {f.reason}" for f in failures))
        subnet, problems = addressing.parse_subnet(normalized["cidr"], normalized["gateway"])
        if subnet is None:
            raise ChildSegmentError("; ".join(f"{k}: {v}" for k, v in problems.items()))
        return cls(
            nsx_id=normalized["nsx_id"],
            parent_path=normalized["parent_path"],
            vlan=normalized["vlan"],
            subnet=subnet,
            description=normalized.get("description", ""),
            tags=tuple((t["scope"], t["tag"]) for t in normalized.get("tags", [])),
        )


# --- validation (local, no network) ------------------------------------------------------


_Fail = Callable[[str, str | None], None]


def normalize_inputs(props: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
    """Canonical inputs and one failure per bad property; unknown values pass through."""
    result = dict(props)
    failures: list[CheckFailure] = []

    def fail(prop: str, reason: str | None) -> None:
        if reason:
            failures.append(CheckFailure(prop, reason))

    for key in ("nsx_id", "parent_path", "cidr", "gateway"):
        if props.get(key) in (None, ""):
            fail(key, f"{key} is required")
    if _known(props.get("nsx_id")):
        fail("nsx_id", naming.nsx_id_problem(str(props["nsx_id"])))
    if _known(props.get("parent_path")):
        fail("parent_path", naming.segment_path_problem(str(props["parent_path"])))
    _normalize_vlan(props, result, fail)
    _normalize_subnet(props, result, fail)
    _normalize_description(props, result, fail)
    _normalize_tags(props, result, fail)
    if not failures and all(_known(props.get(k)) for k in ("nsx_id", "parent_path")):
        fail("nsx_id", _path_length_problem(str(props["nsx_id"]), str(props["parent_path"])))
    return result, failures


def _known(value: Any) -> bool:
    return not is_unknown(value) and value not in (None, "")


def _normalize_vlan(props: Mapping[str, Any], result: dict[str, Any], fail: _Fail) -> None:
    vlan = props.get("vlan")
    if vlan is None:
        fail("vlan", "vlan is required")
    elif not is_unknown(vlan):
        problem = addressing.vlan_problem(vlan)
        fail("vlan", problem)
        if not problem:
            result["vlan"] = int(vlan)


def _normalize_subnet(props: Mapping[str, Any], result: dict[str, Any], fail: _Fail) -> None:
    cidr, gateway = props.get("cidr"), props.get("gateway")
    if not (_known(cidr) and _known(gateway)):
        return
    subnet, problems = addressing.parse_subnet(str(cidr), str(gateway))
    for prop, reason in problems.items():
        fail(prop, reason)
    if subnet:
        result["cidr"], result["gateway"] = str(subnet.network), str(subnet.gateway)


def _normalize_description(props: Mapping[str, Any], result: dict[str, Any], fail: _Fail) -> None:
    description = props.get("description")
    if description is None:
        result.pop("description", None)
    elif len(str(description)) > naming.NSX_DESCRIPTION_MAX_LENGTH:
        fail("description", f"at most {naming.NSX_DESCRIPTION_MAX_LENGTH} characters")


def _normalize_tags(props: Mapping[str, Any], result: dict[str, Any], fail: _Fail) -> None:
    tags = props.get("tags")
    if tags is None:
        result.pop("tags", None)
        return
    if is_unknown(tags):
        return
    if not isinstance(tags, Sequence) or isinstance(tags, str):
        fail("tags", "tags must be a list of {scope, tag}")
        return
    normalized: list[dict[str, str]] = []
    for index, tag in enumerate(tags):
        problem = _tag_problem(tag)
        if problem:
            fail("tags", f"tags[{index}]: {problem}")
        else:
            normalized.append({"scope": str(tag["scope"]), "tag": str(tag["tag"])})
    if len(normalized) + 1 > naming.NSX_MAX_TAGS:
        fail("tags", f"at most {naming.NSX_MAX_TAGS - 1} tags (one is reserved)")
    result["tags"] = normalized


def _tag_problem(tag: Any) -> str | None:
    if not isinstance(tag, Mapping) or set(tag) != {"scope", "tag"}:
        return "must be an object with exactly the keys scope and tag"
    scope, value = str(tag["scope"]), str(tag["tag"])
    if scope == naming.TAG_SCOPE_MANAGED_BY:
        return f"scope {scope} is reserved"
    if len(scope) > naming.NSX_TAG_SCOPE_MAX_LENGTH:
        return f"scope longer than {naming.NSX_TAG_SCOPE_MAX_LENGTH} characters"
    if len(value) > naming.NSX_TAG_VALUE_MAX_LENGTH:
        return f"tag longer than {naming.NSX_TAG_VALUE_MAX_LENGTH} characters"
    return None


def _path_length_problem(nsx_id: str, parent_path: str) -> str | None:
    longest = naming.binding_map_path(nsx_id, parent_path)
    if len(longest) > naming.NSX_PATH_MAX_LENGTH:
        return (
            f"the binding map path {longest} is {len(longest)} characters long; NSX allows "
            f"{naming.NSX_PATH_MAX_LENGTH}. Use a shorter id"
        )
    return None


def comparable(key: str, value: Any) -> Any:
    """Values as the diff compares them: engine floats as ints, absent as empty; an unknown
    value equals nothing (it may be anything once known)."""
    if is_unknown(value):
        return value
    if key == "vlan" and isinstance(value, float) and value.is_integer():
        return int(value)
    if key == "description" and value is None:
        return ""
    if key == "tags":
        # NSX keeps tags as a set: a reordering is no change.
        return sorted((t.get("scope", ""), t.get("tag", "")) for t in value or [])
    return value


# --- NSX request bodies ------------------------------------------------------------------


def segment_body(spec: ChildSegmentSpec, parent: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resource_type": "Segment",
        "display_name": spec.nsx_id,
        "description": spec.description,
        "connectivity_path": parent["connectivity_path"],
        "subnets": [{"gateway_address": spec.subnet.gateway_cidr}],
        "tags": spec.nsx_tags(),
    }
    if parent.get("transport_zone_path"):
        body["transport_zone_path"] = parent["transport_zone_path"]
    return body


def binding_map_body(spec: ChildSegmentSpec) -> dict[str, Any]:
    """Binding-map PATCH is a full replace (docs/nsx-policy-api.md §1.1): send every field."""
    return {
        "resource_type": "SegmentConnectionBindingMap",
        "display_name": naming.binding_map_id(spec.parent_path),
        "segment_path": spec.parent_path,
        "vlan_traffic_tag": spec.vlan,
        "tags": spec.nsx_tags(),
    }
