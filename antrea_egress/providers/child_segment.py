"""ChildSegment: an NSX child segment as a Pulumi dynamic resource.

A child segment is two NSX objects: an overlay Segment that carries the egress subnet's gateway
on the parent's Tier-1, and a SegmentConnectionBindingMap under it that ties it to the parent
(the cluster's node segment) with a VLAN tag (docs/nsx-policy-api.md §1). Its properties,
their validation and the request bodies are declared in `child_segment_inputs`; this module
holds the provider, the resource and how `egressctl render` shows it (`OFFLINE`).

Engine contract (docs/pulumi-engine.md §2):
- this module is imported by reference by the dynamic-provider host, so it must stay
  importable under this dotted path and free of side effects;
- the provider instance holds no state worth pickling: connection settings arrive through
  `configure()` from the `nsxt:*` stack keys and are never serialized;
- check and diff are local (previews work without NSX); numbers arrive as floats.

A create that fails at any step after its first write (a write whose answer was lost
included: NSX may have applied it) rolls back every write it sent, the binding map before the
segment. If the rollback fails too, the error names exactly what may be left, and the next
`pulumi up` converges: creation uses PATCH, which is create-or-update, on deterministic ids,
so re-running create adopts the leftover segment and binding map and completes them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
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
from antrea_egress.providers.base import NsxProvider
from antrea_egress.providers.child_segment_inputs import (
    INPUT_KEYS,
    OUTPUT_KEYS,
    REPLACE_KEYS,
    ChildSegmentArgs,
    ChildSegmentError,
    ChildSegmentOutputs,
    ChildSegmentSpec,
    binding_map_body,
    comparable,
    normalize_inputs,
    segment_body,
)
from antrea_egress.providers.parent_segment import ParentSegmentError, read_parent
from antrea_egress.rendering import (
    TARGET_NSX,
    TIER1_PLACEHOLDER,
    NsxRequest,
    OfflineRendering,
    dynamic_type,
)

__all__ = ["ChildSegment", "ChildSegmentArgs", "ChildSegmentError", "ChildSegmentProvider"]

log = logging.getLogger(__name__)

# NSX refuses these deletes while something still hangs off the object; they clear by
# themselves once NSX has purged the children or released the ports (docs/nsx-policy-api.md §3.3).
DELETE_BLOCKED_CODES = frozenset({500030, 503040})
_DELETE_BLOCKED_TEXT = re.compile(r"has children|being referenced|still has|attached", re.I)
MARKED_FOR_DELETE_CODE = 500045
# UNCONFIRMED for infra binding maps (docs/nsx-policy-api.md §1.1): NSX's duplicate-VLAN codes.
DUPLICATE_VLAN_CODES = frozenset({8327, 640873})


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
            if comparable(key, olds.get(key)) != comparable(key, news.get(key))
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
            # Every path whose write was sent: NSX may have applied it even when its answer
            # was lost, so each is rolled back (or named as left behind) if a later step fails.
            sent: list[str] = []
            try:
                for path, body in (
                    (spec.segment_path, segment_body(spec, parent)),
                    (spec.binding_map_path, binding_map_body(spec)),
                ):
                    sent.append(path)
                    _patch_after_purge(nsx, path, body)
                nsx.wait_realized(spec.segment_path, spec.binding_map_path)
            except NsxError as error:
                raise _rolled_back(nsx, spec, sent, error) from error
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
        outputs = ChildSegmentOutputs(
            path=segment.get("path", paths.segment_path(id_)),
            binding_map_path=binding.get("path") if binding else None,
            tier1_path=segment.get("connectivity_path"),
            transport_zone_path=segment.get("transport_zone_path"),
            network=inputs.get("cidr"),
        ).props()
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
            if comparable("tags", olds.get("tags")) != comparable("tags", news.get("tags")):
                nsx.patch(spec.binding_map_path, binding_map_body(spec))
        kept = {key: olds.get(key) for key in OUTPUT_KEYS}
        return UpdateResult({**news, **kept})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        map_path = props.get("binding_map_path")
        segment = paths.segment_path(id_)
        with self._nsx() as nsx:
            if map_path:
                _delete_when_unblocked(nsx, map_path)
            _delete_when_unblocked(nsx, segment)


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
            refuse_foreign_segment(found, spec)
        elif found.get("segment_path") == spec.parent_path:  # the search is only a hint
            refuse_vlan_taken(found, spec)


def refuse_vlan_taken(binding: Mapping[str, Any], spec: ChildSegmentSpec) -> None:
    """Refuse the zone's VLAN when another child binds it to the parent (create, preflight)."""
    owner = str(binding.get("parent_path", "?"))
    if _as_int(binding.get("vlan_traffic_tag")) == spec.vlan and owner != spec.segment_path:
        raise ChildSegmentError(
            f"VLAN {spec.vlan} is already bound to {spec.parent_path} by the child segment "
            f"{owner} (binding map {binding.get('path', '?')}); children of one parent "
            "need different VLANs"
        )


def refuse_foreign_segment(segment: Mapping[str, Any], spec: ChildSegmentSpec) -> None:
    """Refuse a segment of our id that lacks this zone's tags (create, preflight)."""
    existing = {(t.get("scope"), t.get("tag")) for t in segment.get("tags") or []}
    ours = {(t["scope"], t["tag"]) for t in spec.nsx_tags()}
    if not ours <= existing:
        raise ChildSegmentError(
            f"the segment {spec.segment_path} already exists in NSX and is not this zone's "
            f"(it lacks the tags {sorted(ours - existing)}); delete or rename it in NSX, or "
            "give the zone another name. It is left untouched"
        )


def _patch_after_purge(nsx: NsxClient, path: str, body: dict[str, Any]) -> None:
    """PATCH, waiting out an object of the same id that NSX has yet to purge."""
    nsx.retry_while(_is_marked_for_delete, lambda: nsx.patch(path, body))


def _delete_when_unblocked(nsx: NsxClient, path: str) -> None:
    """DELETE, waiting out children or ports that NSX is still releasing (404 is done)."""
    nsx.retry_while(_is_delete_blocked, lambda: nsx.delete(path))


def _rolled_back(
    nsx: NsxClient, spec: ChildSegmentSpec, sent: list[str], cause: NsxError
) -> ChildSegmentError:
    """Undo a half-created child segment (the binding map before its segment); say what
    happened, what is left in NSX, and what to do next."""
    what = _duplicate_vlan_hint(cause, spec)
    for position in reversed(range(len(sent))):
        path = sent[position]
        try:
            _delete_when_unblocked(nsx, path)
        except NsxError as rollback_error:
            log.warning("rollback of %s failed: %s", path, rollback_error)
            return _left_behind(spec, what, rollback_error, sent[: position + 1])
    return ChildSegmentError(
        f"creating {spec.segment_path} failed and was rolled back (nothing left in NSX): {what}"
    )


def _left_behind(
    spec: ChildSegmentSpec, what: str, rollback_error: NsxError, left: list[str]
) -> ChildSegmentError:
    """The message of a rollback that failed: exactly what may remain, and both ways on.

    The next `pulumi up` runs create again: PATCH on the same ids completes what is left
    (`_check_what_exists` takes a segment with this zone's tags, and its own binding map, for
    ours). A `pulumi destroy` in between does not know them: Pulumi's state has nothing.
    """
    named = " and ".join(f"{_kind_of(spec, path)} {path}" for path in reversed(left))
    return ChildSegmentError(
        f"creating {spec.segment_path} failed: {what}. Rolling back failed too "
        f"({rollback_error}), so NSX may still hold the {named}, which Pulumi's state does "
        "not record. Run `pulumi up` again: it completes them (same ids, this zone's tags). "
        "If you destroy the stack instead, delete them in NSX yourself (the binding map first)"
    )


def _kind_of(spec: ChildSegmentSpec, path: str) -> str:
    return "binding map" if path == spec.binding_map_path else "segment"


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
    return ChildSegmentOutputs(
        path=segment_path,
        binding_map_path=binding_map_path,
        tier1_path=parent["connectivity_path"],
        transport_zone_path=parent.get("transport_zone_path"),
        network=str(subnet.network),
    ).props()


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
        # Output-only keys must be declared, or the SDK creates no attribute for them.
        props = {**args.props(), **dict.fromkeys(OUTPUT_KEYS)}
        super().__init__(ChildSegmentProvider(), resource_name, props, opts)


# --- offline ---------------------------------------------------------------------------------


def _offline_outputs(state: dict[str, Any], read_id: str | None) -> dict[str, Any]:
    """The segment's own path; the Tier-1 is the parent's, known only to NSX."""
    del read_id
    path = paths.segment_path(state["nsx_id"])
    return {**state, "path": path, "tier1_path": TIER1_PLACEHOLDER, "network": state["cidr"]}


def _offline_requests(resource: str, inputs: Mapping[str, Any]) -> list[NsxRequest]:
    """The two PATCHes create sends; what only the parent knows is a placeholder."""
    spec = ChildSegmentSpec.from_props(inputs)
    parent = {
        "connectivity_path": f"<connectivity_path of {spec.parent_path}>",
        "transport_zone_path": f"<transport_zone_path of {spec.parent_path}>",
    }
    segment = paths.api_url_path(spec.segment_path)
    binding = paths.api_url_path(spec.binding_map_path)
    return [
        NsxRequest(resource, "PATCH", segment, segment_body(spec, parent)),
        NsxRequest(resource, "PATCH", binding, binding_map_body(spec)),
    ]


def _offline_detail(inputs: Mapping[str, Any]) -> str:
    return (
        f"{inputs['nsx_id']}: gateway {inputs['gateway']} of {inputs['cidr']}, VLAN "
        f"{int(inputs['vlan'])} on {inputs['parent_path']}"
    )


OFFLINE = OfflineRendering(
    type=dynamic_type(ChildSegment),
    outputs=_offline_outputs,
    requests=_offline_requests,
    target=TARGET_NSX,
    detail=_offline_detail,
)
