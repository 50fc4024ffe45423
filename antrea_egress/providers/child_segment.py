"""ChildSegment: an NSX child segment as a Pulumi dynamic resource.

A child segment is two NSX objects: an overlay Segment that carries the egress subnet's gateway
on the parent's Tier-1, and a SegmentConnectionBindingMap under it that ties it to the parent
(the cluster's node segment) with a VLAN tag (docs/nsx-policy-api.md §1).

Engine contract (docs/pulumi-engine.md §2):
- this module is imported by reference by the dynamic-provider host, so it must stay
  importable under this dotted path and free of side effects;
- the provider instance holds no state worth pickling: connection settings arrive through
  `configure()` from the `nsxt:*` stack keys and are never serialized;
- check and diff are local (previews work without NSX); numbers arrive as floats.

Failure between the segment and its binding map: create rolls back what it wrote (map, then
segment). If the rollback itself fails, the next `pulumi up` converges: creation uses PATCH,
which is create-or-update, on deterministic ids, so re-running create adopts the leftover
segment and completes it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from antrea_egress import addressing, naming
from antrea_egress.nsx import paths
from antrea_egress.nsx.client import NsxClient
from antrea_egress.nsx.errors import NsxApiError, NsxError
from antrea_egress.providers.base import NsxProvider, is_unknown
from antrea_egress.providers.parent_segment import ParentSegmentError, read_parent

log = logging.getLogger(__name__)

INPUT_KEYS = ("nsx_id", "parent_path", "vlan", "cidr", "gateway", "description", "tags")
REPLACE_KEYS = frozenset({"nsx_id", "parent_path", "vlan", "cidr", "gateway"})
OUTPUT_KEYS = ("path", "binding_map_path", "tier1_path", "transport_zone_path", "network")

# NSX refuses these deletes while something still hangs off the object; they clear by
# themselves once NSX has purged the children or released the ports (docs/nsx-policy-api.md §3.3).
DELETE_BLOCKED_CODES = frozenset({500030, 503040})
_DELETE_BLOCKED_TEXT = re.compile(r"has children|being referenced|still has|attached", re.I)
MARKED_FOR_DELETE_CODE = 500045
# UNCONFIRMED for infra binding maps (docs/nsx-policy-api.md §1.1): NSX's duplicate-VLAN codes.
DUPLICATE_VLAN_CODES = frozenset({8327, 640873})


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
        return paths.binding_map_path(self.nsx_id, naming.binding_map_id(self.parent_path))

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
    longest = paths.binding_map_path(nsx_id, naming.binding_map_id(parent_path))
    if len(longest) > naming.NSX_PATH_MAX_LENGTH:
        return (
            f"the binding map path {longest} is {len(longest)} characters long; NSX allows "
            f"{naming.NSX_PATH_MAX_LENGTH}. Use a shorter id"
        )
    return None


def _comparable(key: str, value: Any) -> Any:
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


# --- the provider ------------------------------------------------------------------------


class ChildSegmentProvider(NsxProvider):
    """CRUD for child segments over the NSX Policy API."""

    # -- engine methods --

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = normalize_inputs(news)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [
            key
            for key in INPUT_KEYS
            if _comparable(key, olds.get(key)) != _comparable(key, news.get(key))
        ]
        replaces = [key for key in changed if key in REPLACE_KEYS]
        return DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces)
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = ChildSegmentSpec.from_props(props)
        with self._nsx() as nsx:
            parent = _read_parent(nsx, spec.parent_path)
            _check_what_exists(nsx, spec)
            nsx.retry_while(
                _is_marked_for_delete,
                lambda: nsx.patch(spec.segment_path, segment_body(spec, parent)),
            )
            try:
                nsx.retry_while(
                    _is_marked_for_delete,
                    lambda: nsx.patch(spec.binding_map_path, binding_map_body(spec)),
                )
                nsx.wait_realized(spec.segment_path)
                nsx.wait_realized(spec.binding_map_path)
            except NsxError as error:
                raise _rolled_back(nsx, spec, error) from error
        outputs = _outputs(spec.segment_path, spec.binding_map_path, parent, spec.subnet)
        return CreateResult(spec.nsx_id, {**props, **outputs})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self._nsx() as nsx:
            segment = nsx.get_optional(paths.segment_path(id_))
            if segment is None:
                return ReadResult(None, {})
            maps = nsx.list_objects(paths.binding_maps_path(id_))
        binding = _pick_binding_map(maps, props.get("binding_map_path"))
        inputs = _inputs_from_nsx(id_, segment, binding)
        outputs = {
            "path": segment.get("path", paths.segment_path(id_)),
            "binding_map_path": binding.get("path") if binding else None,
            "tier1_path": segment.get("connectivity_path"),
            "transport_zone_path": segment.get("transport_zone_path"),
            "network": inputs.get("cidr"),
        }
        return ReadResult(id_, {**props, **inputs, **outputs}, inputs=inputs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec = ChildSegmentSpec.from_props(news)
        # The whole segment, not just the changed fields: PATCH creates what is missing, and a
        # segment deleted out of band must not come back without its subnet and Tier-1.
        parent = {
            "connectivity_path": olds.get("tier1_path"),
            "transport_zone_path": olds.get("transport_zone_path"),
        }
        with self._nsx() as nsx:
            if not parent["connectivity_path"]:
                parent = _read_parent(nsx, spec.parent_path)
            nsx.patch(spec.segment_path, segment_body(spec, parent))
            if _comparable("tags", olds.get("tags")) != _comparable("tags", news.get("tags")):
                nsx.patch(spec.binding_map_path, binding_map_body(spec))
        kept = {key: olds.get(key) for key in OUTPUT_KEYS}
        return UpdateResult({**news, **kept})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        map_path = props.get("binding_map_path")
        segment = paths.segment_path(id_)
        with self._nsx() as nsx:
            if map_path:
                nsx.retry_while(_is_delete_blocked, lambda: nsx.delete(map_path))
            nsx.retry_while(_is_delete_blocked, lambda: nsx.delete(segment))


# --- helpers of the provider -------------------------------------------------------------


def _read_parent(nsx: NsxClient, parent_path: str) -> dict[str, Any]:
    try:
        return read_parent(nsx, parent_path)
    except ParentSegmentError as error:
        raise ChildSegmentError(str(error)) from error


def _check_what_exists(nsx: NsxClient, spec: ChildSegmentSpec) -> None:
    """One search for what would collide: the parent's VLAN bindings and a segment of our id.

    Refuses a VLAN another child already binds to the parent (naming it), and a segment of
    our id that someone else owns; a segment that carries our tags is ours (an earlier create
    that failed half-way) and is completed, which is how the next `pulumi up` converges.
    """
    for found in nsx.search(paths.create_lookup_query(spec.parent_path, spec.nsx_id)):
        if found.get("resource_type") == "Segment" and found.get("id") == spec.nsx_id:
            _refuse_foreign_segment(found, spec)
        elif found.get("segment_path") == spec.parent_path:  # the search is only a hint
            _refuse_vlan_taken(found, spec)


def _refuse_vlan_taken(binding: Mapping[str, Any], spec: ChildSegmentSpec) -> None:
    owner = str(binding.get("parent_path", "?"))
    if _as_int(binding.get("vlan_traffic_tag")) == spec.vlan and owner != spec.segment_path:
        raise ChildSegmentError(
            f"VLAN {spec.vlan} is already bound to {spec.parent_path} by the child segment "
            f"{owner} (binding map {binding.get('path', '?')}); children of one parent "
            "need different VLANs"
        )


def _refuse_foreign_segment(segment: Mapping[str, Any], spec: ChildSegmentSpec) -> None:
    existing = {(t.get("scope"), t.get("tag")) for t in segment.get("tags") or []}
    ours = {(t["scope"], t["tag"]) for t in spec.nsx_tags()}
    if not ours <= existing:
        raise ChildSegmentError(
            f"the segment {spec.segment_path} already exists in NSX and is not this zone's "
            f"(it lacks the tags {sorted(ours - existing)}); delete or rename it in NSX, or "
            "give the zone another name. It is left untouched"
        )


def _rolled_back(nsx: NsxClient, spec: ChildSegmentSpec, cause: NsxError) -> ChildSegmentError:
    """Undo a half-created child segment; say what happened and what to do next."""
    what = _duplicate_vlan_hint(cause, spec)
    try:
        nsx.retry_while(_is_delete_blocked, lambda: nsx.delete(spec.binding_map_path))
        nsx.retry_while(_is_delete_blocked, lambda: nsx.delete(spec.segment_path))
    except NsxError as rollback_error:
        log.warning("rollback of %s failed: %s", spec.segment_path, rollback_error)
        return ChildSegmentError(
            f"creating {spec.segment_path} failed: {what}. Rolling back failed too "
            f"({rollback_error}); the segment may remain in NSX. Run `pulumi up` again: it "
            "completes the same segment (same id), or delete it in NSX"
        )
    return ChildSegmentError(
        f"creating {spec.segment_path} failed and was rolled back (nothing left in NSX): {what}"
    )


def _duplicate_vlan_hint(cause: NsxError, spec: ChildSegmentSpec) -> str:
    if isinstance(cause, NsxApiError) and cause.all_error_codes & DUPLICATE_VLAN_CODES:
        return f"{cause}. VLAN {spec.vlan} is taken on {spec.parent_path}"
    return str(cause)


def _is_delete_blocked(error: NsxApiError) -> bool:
    return bool(error.all_error_codes & DELETE_BLOCKED_CODES) or bool(
        error.status == 400 and _DELETE_BLOCKED_TEXT.search(error.all_messages)
    )


def _is_marked_for_delete(error: NsxApiError) -> bool:
    return MARKED_FOR_DELETE_CODE in error.all_error_codes


def _outputs(
    segment_path: str,
    binding_map_path: str | None,
    parent: Mapping[str, Any],
    subnet: addressing.Subnet,
) -> dict[str, Any]:
    return {
        "path": segment_path,
        "binding_map_path": binding_map_path,
        "tier1_path": parent["connectivity_path"],
        "transport_zone_path": parent.get("transport_zone_path"),
        "network": str(subnet.network),
    }


def _pick_binding_map(
    maps: list[dict[str, Any]], expected_path: str | None
) -> dict[str, Any] | None:
    for binding in maps:
        if binding.get("path") == expected_path:
            return binding
    return maps[0] if len(maps) == 1 else None


def _inputs_from_nsx(
    nsx_id: str, segment: Mapping[str, Any], binding: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What NSX really has, in input form, so a refresh shows drift."""
    gateway, cidr = _gateway_and_cidr(segment)
    user_tags = [
        {"scope": t.get("scope", ""), "tag": t.get("tag", "")}
        for t in segment.get("tags") or []
        if t.get("scope") != naming.TAG_SCOPE_MANAGED_BY
    ]
    return {
        "nsx_id": nsx_id,
        "parent_path": binding.get("segment_path") if binding else None,
        "vlan": _as_int(binding.get("vlan_traffic_tag")) if binding else None,
        "cidr": cidr,
        "gateway": gateway,
        "description": segment.get("description", ""),
        "tags": user_tags,
    }


def _gateway_and_cidr(segment: Mapping[str, Any]) -> tuple[str | None, str | None]:
    subnets = segment.get("subnets") or []
    if not subnets or not subnets[0].get("gateway_address"):
        return None, None
    gateway_address = str(subnets[0]["gateway_address"])
    network = addressing.parse_loose_ipv4_network(gateway_address)
    gateway = gateway_address.split("/", 1)[0]
    return gateway, (str(network) if not isinstance(network, str) else None)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- the resource ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildSegmentArgs:
    nsx_id: pulumi.Input[str]
    parent_path: pulumi.Input[str]
    vlan: pulumi.Input[int]
    cidr: pulumi.Input[str]
    gateway: pulumi.Input[str]
    description: pulumi.Input[str] | None = None
    tags: pulumi.Input[Sequence[pulumi.Input[Mapping[str, str]]]] | None = None


class ChildSegment(Resource, module="nsx", name="ChildSegment"):
    """An NSX child segment (Segment + SegmentConnectionBindingMap) under a parent segment."""

    nsx_id: pulumi.Output[str]
    parent_path: pulumi.Output[str]
    vlan: pulumi.Output[int]
    cidr: pulumi.Output[str]
    gateway: pulumi.Output[str]
    path: pulumi.Output[str]
    binding_map_path: pulumi.Output[str]
    tier1_path: pulumi.Output[str]
    transport_zone_path: pulumi.Output[str]
    network: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ChildSegmentArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "nsx_id": args.nsx_id,
            "parent_path": args.parent_path,
            "vlan": args.vlan,
            "cidr": args.cidr,
            "gateway": args.gateway,
            "description": args.description,
            "tags": args.tags,
            # Output-only keys must be declared, or the SDK creates no attribute for them.
            **dict.fromkeys(OUTPUT_KEYS),
        }
        super().__init__(ChildSegmentProvider(), resource_name, props, opts)
