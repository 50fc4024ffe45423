"""Per-resource-type rules: paths, validation, derived fields and delete checks.

Everything here is pure: the store hands in a `Lookup` view of the live objects, so the rules can
be read (and tested) without any HTTP or locking concerns.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from nsxsim import errors
from nsxsim.lab import DEFAULT_TZ_PATH

Json = dict[str, Any]

SEGMENT = "Segment"
BINDING_MAP = "SegmentConnectionBindingMap"
TIER1 = "Tier1"
NAT_RULE = "PolicyNatRule"
PORT = "SegmentPort"

SEGMENTS_PATH = "/infra/segments"
TIER1S_PATH = "/infra/tier-1s"
NAT_SECTIONS = ("USER", "DEFAULT", "INTERNAL", "NAT64")
NAT_ACTIONS = ("SNAT", "DNAT", "REFLEXIVE", "NO_SNAT", "NO_DNAT", "NAT64")
FIREWALL_MATCH = ("MATCH_EXTERNAL_ADDRESS", "MATCH_INTERNAL_ADDRESS", "BYPASS")
# USER: 0..2147481599, INTERNAL and DEFAULT: 0..1023 (docs/nsx-policy-api.md §2.2).
_SEQUENCE_MAX = {"USER": 2147481599, "INTERNAL": 1023, "DEFAULT": 1023, "NAT64": 2147481599}
_NO_TRANSLATION = ("NO_SNAT", "NO_DNAT")
_SOURCE_REQUIRED = ("SNAT", "NO_SNAT", "NAT64", "REFLEXIVE")
_DESTINATION_REQUIRED = ("DNAT", "NO_DNAT")
VLAN_MIN, VLAN_MAX = 1, 4094
DISPLAY_NAME_MAX = 255
DESCRIPTION_MAX = 1024
TAG_SCOPE_MAX = 128
TAG_VALUE_MAX = 256
# 30 per object is commonly cited but UNCONFIRMED (docs/nsx-policy-api.md §5); we assume it.
MAX_TAGS = 30

_ID = r"(?P<{}>[^/]+)"
_SEGMENT_RE = re.compile(rf"/infra/segments/{_ID.format('seg')}")
_MAP_RE = re.compile(
    rf"/infra/segments/{_ID.format('seg')}/segment-connection-binding-maps/{_ID.format('id')}"
)
_PORT_RE = re.compile(rf"/infra/segments/{_ID.format('seg')}/ports/{_ID.format('id')}")
_TIER1_RE = re.compile(rf"/infra/tier-1s/{_ID.format('t1')}")
_NAT_RE = re.compile(
    rf"/infra/tier-1s/{_ID.format('t1')}/nat/{_ID.format('section')}/nat-rules/{_ID.format('id')}"
)


class Lookup(Protocol):
    """The read-only view of live (not marked-for-delete) objects that the rules need."""

    def live(self, path: str) -> Json | None: ...

    def live_objects(self) -> list[Json]: ...


@dataclass(frozen=True)
class Kind:
    resource_type: str
    entity_type: str
    pattern: re.Pattern[str]
    # Binding-map PATCH is documented as a full replace; every other PATCH merges.
    patch_replaces: bool
    check_parent: Callable[[Lookup, re.Match[str]], None]
    prepare: Callable[[Lookup, str, Json], Json]
    derive: Callable[[Json], Json]
    check_delete: Callable[[Lookup, str], None]


def parent_of(path: str) -> str:
    """Policy parent: drop the collection name and the id (/infra/segments/x -> /infra)."""
    return path.rsplit("/", 2)[0] or "/"


def object_id(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def segment_path(segment_id: str) -> str:
    return f"{SEGMENTS_PATH}/{segment_id}"


def tier1_path(t1_id: str) -> str:
    return f"{TIER1S_PATH}/{t1_id}"


# --- shared checks -------------------------------------------------------------------------


def _no_checks(_lookup: Lookup, *_args: Any) -> None:
    return None


def _unchanged(fields: Json) -> Json:
    return dict(fields)


def _check_common(fields: Json) -> None:
    _check_text(fields, "display_name", DISPLAY_NAME_MAX)
    _check_text(fields, "description", DESCRIPTION_MAX)
    _check_tags(fields.get("tags"))


def _check_text(fields: Json, name: str, limit: int) -> None:
    value = fields.get(name)
    if value is None:
        return
    if not isinstance(value, str) or len(value) > limit:
        raise errors.bad_request(f"Field {name} must be a string of at most {limit} characters")


def _check_tags(tags: object) -> None:
    if tags is None:
        return
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise errors.bad_request(f"Field tags must be a list of at most {MAX_TAGS} tags")
    for tag in tags:
        if not isinstance(tag, dict) or not _tag_ok(tag):
            raise errors.bad_request(
                f"Invalid tag {tag!r}: scope is a string of at most {TAG_SCOPE_MAX} characters, "
                f"tag a string of at most {TAG_VALUE_MAX}"
            )


def _tag_ok(tag: Json) -> bool:
    scope, value = tag.get("scope", ""), tag.get("tag", "")
    return (
        isinstance(scope, str)
        and isinstance(value, str)
        and len(scope) <= TAG_SCOPE_MAX
        and len(value) <= TAG_VALUE_MAX
    )


def _live_of_type(lookup: Lookup, path: object, resource_type: str) -> Json | None:
    if not isinstance(path, str):
        return None
    found = lookup.live(path)
    if found is None or found.get("resource_type") != resource_type:
        return None
    return found


def _live_maps(lookup: Lookup) -> list[Json]:
    return [o for o in lookup.live_objects() if o.get("resource_type") == BINDING_MAP]


# --- segments ------------------------------------------------------------------------------


def _prepare_segment(lookup: Lookup, _path: str, fields: Json) -> Json:
    _check_common(fields)
    connectivity = fields.get("connectivity_path")
    if connectivity and _live_of_type(lookup, connectivity, TIER1) is None:
        raise errors.invalid_path(connectivity)
    _check_subnets(fields.get("subnets"))
    if fields.get("admin_state", "UP") not in ("UP", "DOWN"):
        raise errors.bad_request("Field admin_state must be UP or DOWN")
    return _derive_segment(fields)


def _check_subnets(subnets: object) -> None:
    if subnets is None:
        return
    if not isinstance(subnets, list):
        raise errors.bad_request("Field subnets must be a list")
    versions = [_subnet_version(subnet) for subnet in subnets]
    # The schema allows at most one IPv4 and one IPv6 subnet per segment.
    if len(versions) != len(set(versions)):
        raise errors.bad_request("A segment supports at most one IPv4 and one IPv6 subnet")


def _subnet_version(subnet: object) -> int:
    gateway = subnet.get("gateway_address") if isinstance(subnet, dict) else None
    interface = _parse_interface(gateway)
    if interface is None:
        raise errors.bad_request(
            f"Invalid gateway_address {gateway!r}: expected an IP address with a prefix length "
            "such as 10.100.5.1/25"
        )
    return interface.version


def _parse_interface(value: object) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return ipaddress.ip_interface(value)
    except ValueError:
        return None


def _derive_segment(fields: Json) -> Json:
    out = dict(fields)
    out["type"] = "ROUTED" if out.get("connectivity_path") else "DISCONNECTED"
    if not out.get("transport_zone_path"):
        out["transport_zone_path"] = DEFAULT_TZ_PATH
    out.setdefault("admin_state", "UP")
    out.setdefault("replication_mode", "MTEP")
    out.setdefault(
        "advanced_config",
        {"connectivity": "ON", "hybrid": False, "local_egress": False, "urpf_mode": "STRICT"},
    )
    if isinstance(out.get("subnets"), list):
        out["subnets"] = [_with_network(subnet) for subnet in out["subnets"]]
    return out


def _with_network(subnet: Any) -> Any:
    if not isinstance(subnet, dict):
        return subnet
    interface = _parse_interface(subnet.get("gateway_address"))
    if interface is None:
        return dict(subnet)
    return {**subnet, "network": str(interface.network)}


def _check_segment_delete(lookup: Lookup, path: str) -> None:
    objects = lookup.live_objects()
    blockers = [
        o["path"]
        for o in objects
        if o.get("resource_type") == BINDING_MAP
        and (parent_of(o["path"]) == path or o.get("segment_path") == path)
    ]
    if blockers:
        raise errors.cannot_delete(path, sorted(blockers))
    ports = [o for o in objects if o.get("resource_type") == PORT and parent_of(o["path"]) == path]
    if ports:
        raise errors.bad_request(
            f"Segment {object_id(path)} still has {len(ports)} VMs or VIFs attached. "
            "Disconnect them before deleting the segment.",
            errors.ERR_PORTS_ATTACHED,
        )


# --- binding maps --------------------------------------------------------------------------


def _check_map_parent(lookup: Lookup, match: re.Match[str]) -> None:
    if _live_of_type(lookup, segment_path(match["seg"]), SEGMENT) is None:
        raise errors.not_found(match["seg"])


def _prepare_map(lookup: Lookup, path: str, fields: Json) -> Json:
    _check_common(fields)
    child = parent_of(path)
    parent = fields.get("segment_path")
    if parent is None or parent == "":
        raise errors.bad_request("Field segment_path is required")
    if _live_of_type(lookup, parent, SEGMENT) is None:
        raise errors.invalid_path(parent)
    if parent == child:
        raise errors.bad_request(f"Segment {child} cannot be bound to itself")
    vlan = parse_vlan(fields.get("vlan_traffic_tag"))
    maps = _live_maps(lookup)
    _check_not_nested(maps, child, str(parent))
    _check_vlan_free(maps, path, str(parent), vlan)
    return {**fields, "vlan_traffic_tag": vlan}


def parse_vlan(value: object) -> int:
    """The docs send the VLAN as a string and return an int: accept both, store an int."""
    vlan: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        vlan = value
    elif isinstance(value, str) and value.strip().isdigit():
        vlan = int(value.strip())
    if vlan is None or not VLAN_MIN <= vlan <= VLAN_MAX:
        raise errors.bad_request(
            f"Invalid vlan_traffic_tag {value!r}: expected an integer in {VLAN_MIN}..{VLAN_MAX}"
        )
    return vlan


def _check_not_nested(maps: list[Json], child: str, parent: str) -> None:
    # "A child cannot itself be a parent" (docs/nsx-policy-api.md §1.1), in both directions.
    if any(parent_of(m["path"]) == parent for m in maps):
        raise errors.bad_request(
            f"Segment {parent} is a child segment (it has binding maps) and cannot be a parent"
        )
    if any(m.get("segment_path") == child for m in maps):
        raise errors.bad_request(
            f"Segment {child} is the parent of other child segments and cannot be a child"
        )


def _check_vlan_free(maps: list[Json], path: str, parent: str, vlan: int) -> None:
    child = parent_of(path)
    for other in maps:
        if (
            other.get("segment_path") == parent
            and other.get("vlan_traffic_tag") == vlan
            and parent_of(other["path"]) != child
        ):
            raise errors.bad_request(
                f"VLAN {vlan} is already used on parent segment {parent} by binding map "
                f"{other['path']}. Children of one parent need distinct VLANs.",
                errors.ERR_DUPLICATE_VLAN,
            )


# --- NAT rules -----------------------------------------------------------------------------


def check_nat_section(section: str) -> None:
    if section not in NAT_SECTIONS:
        raise errors.bad_request(
            f"Invalid NAT section {section!r}: expected one of {', '.join(NAT_SECTIONS)}"
        )


def check_tier1(lookup: Lookup, t1_id: str) -> None:
    if _live_of_type(lookup, tier1_path(t1_id), TIER1) is None:
        raise errors.not_found(t1_id)


def _check_nat_parent(lookup: Lookup, match: re.Match[str]) -> None:
    check_nat_section(match["section"])
    check_tier1(lookup, match["t1"])


def _prepare_nat(_lookup: Lookup, path: str, fields: Json) -> Json:
    _check_common(fields)
    action = fields.get("action")
    if action not in NAT_ACTIONS:
        raise errors.bad_request(
            f"Invalid action {action!r}: expected one of {', '.join(NAT_ACTIONS)}"
        )
    _check_networks(fields, "source_network", required=action in _SOURCE_REQUIRED)
    _check_networks(fields, "destination_network", required=action in _DESTINATION_REQUIRED)
    _check_translation(fields, str(action))
    _check_firewall_match(fields.get("firewall_match"), str(action))
    _check_sequence(fields.get("sequence_number"), path.split("/")[5])
    for flag in ("enabled", "logging"):
        if not isinstance(fields.get(flag, False), bool):
            raise errors.bad_request(f"Field {flag} must be a boolean")
    return _derive_nat(fields)


def _check_networks(fields: Json, name: str, *, required: bool) -> None:
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise errors.bad_request(f"Field {name} is required for action {fields['action']}")
        return
    # One IP, a CIDR, or a comma-separated list of them; ranges are not supported.
    items = value.split(",") if isinstance(value, str) else [None]
    for item in items:
        try:
            ipaddress.ip_network(str(item).strip(), strict=False)
        except ValueError:
            raise errors.bad_request(
                f"Invalid {name} {value!r}: expected an IP address, a CIDR or a "
                "comma-separated list of them"
            ) from None


def _check_translation(fields: Json, action: str) -> None:
    translated = [fields.get("translated_network"), fields.get("translated_ports")]
    if action in _NO_TRANSLATION:
        if any(value not in (None, "") for value in translated):
            raise errors.bad_request(
                f"translated_network and translated_ports must be empty for action {action}"
            )
    elif not isinstance(translated[0], str) or not translated[0]:
        raise errors.bad_request(f"Field translated_network is required for action {action}")


def _check_firewall_match(value: object, action: str) -> None:
    if value is None:
        return
    if value not in FIREWALL_MATCH:
        raise errors.bad_request(
            f"Invalid firewall_match {value!r}: expected one of {', '.join(FIREWALL_MATCH)}"
        )
    if action in _NO_TRANSLATION and value != "BYPASS":
        raise errors.bad_request(
            f"firewall_match must be BYPASS or left unassigned for action {action}"
        )


def _check_sequence(value: object, section: str) -> None:
    if value is None:
        return
    limit = _SEQUENCE_MAX[section]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise errors.bad_request(
            f"Invalid sequence_number {value!r} for section {section}: expected 0..{limit}"
        )


def _derive_nat(fields: Json) -> Json:
    out = dict(fields)
    out.setdefault("enabled", True)
    out.setdefault("logging", False)
    return out


# --- the table -----------------------------------------------------------------------------

KINDS: tuple[Kind, ...] = (
    Kind(
        SEGMENT,
        "RealizedLogicalSwitch",
        _SEGMENT_RE,
        patch_replaces=False,
        check_parent=_no_checks,
        prepare=_prepare_segment,
        derive=_derive_segment,
        check_delete=_check_segment_delete,
    ),
    Kind(
        BINDING_MAP,
        # Entity type for binding maps is UNCONFIRMED (docs/nsx-policy-api.md §3.5).
        "RealizedSegmentConnectionBindingMap",
        _MAP_RE,
        patch_replaces=True,
        check_parent=_check_map_parent,
        prepare=_prepare_map,
        derive=_unchanged,
        check_delete=_no_checks,
    ),
    Kind(
        NAT_RULE,
        "RealizedNATRule",
        _NAT_RE,
        patch_replaces=False,
        check_parent=_check_nat_parent,
        prepare=_prepare_nat,
        derive=_derive_nat,
        check_delete=_no_checks,
    ),
    Kind(
        TIER1,
        "RealizedLogicalRouter",
        _TIER1_RE,
        patch_replaces=False,
        check_parent=_no_checks,
        prepare=lambda _lookup, _path, fields: dict(fields),
        derive=_unchanged,
        check_delete=_no_checks,
    ),
    Kind(
        PORT,
        "RealizedLogicalPort",
        _PORT_RE,
        patch_replaces=False,
        check_parent=_no_checks,
        prepare=lambda _lookup, _path, fields: dict(fields),
        derive=_unchanged,
        check_delete=_no_checks,
    ),
)


def kind_of(path: str) -> tuple[Kind, re.Match[str]] | None:
    for kind in KINDS:
        match = kind.pattern.fullmatch(path)
        if match is not None:
            return kind, match
    return None
