"""The NSX checks: the Manager, the parent segments, what the zones would collide with, and
what the realized-state API answers (the Tier-1's checks are in `tier1_checks`). Every request
is a GET, searches included.

Each check takes the run's `PreflightContext` and returns an `Outcome`; the table that runs
them is `egressctl.preflight.checks.CHECKS`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from antrea_egress import addressing, naming
from antrea_egress.config import AUTO_SEGMENT, ZoneConfig
from antrea_egress.discovery import VNET_UID_TAG_SCOPE
from antrea_egress.nsx import paths
from antrea_egress.nsx.errors import (
    NsxApiError,
    NsxAuthError,
    NsxConnectionError,
    NsxNotFoundError,
    NsxSettingsError,
    NsxTlsError,
)
from antrea_egress.providers.child_segment import refuse_foreign_segment, refuse_vlan_taken
from antrea_egress.providers.child_segment_inputs import (
    ChildSegmentArgs,
    ChildSegmentError,
    ChildSegmentSpec,
)
from egressctl.preflight.context import KnownParent, PreflightContext
from egressctl.preflight.model import NotCheckedError, Outcome, failed, passed, warned, worst

# Child segments (binding maps) are documented from NSX 4.2 (docs/nsx-policy-api.md §1.1).
MIN_NSX_VERSION = (4, 2)


def child_spec(ctx: PreflightContext, zone: ZoneConfig, parent_path: str) -> ChildSegmentSpec:
    """The zone's child segment exactly as the program would ask the provider for it."""
    args = ChildSegmentArgs.of_zone(ctx.config.cluster, zone, parent_path=parent_path)
    return ChildSegmentSpec.from_props(args.props())


def child_id(ctx: PreflightContext, zone: ZoneConfig) -> str:
    cluster = ctx.config.cluster
    return naming.child_segment_id(cluster.vsphere_namespace, cluster.name, zone.name)


def answered(ctx: PreflightContext) -> None:
    """NotCheckedError unless the Manager answered the version request (nsx-reachable's job)."""
    try:
        ctx.node_version()
    except (NsxSettingsError, NsxConnectionError) as error:
        raise NotCheckedError(f"NSX did not answer: {error}", "fix nsx-reachable first") from error
    except NsxAuthError as error:
        reason = f"NSX refused the login: {error}"
        raise NotCheckedError(reason, "fix nsx-credentials first") from error


# --- the Manager ----------------------------------------------------------------------------


def nsx_reachable(ctx: PreflightContext) -> Outcome:
    try:
        settings = ctx.nsx_settings()
        ctx.node_version()
    except NsxSettingsError as error:
        return failed(str(error), "set the nsxt:* keys it names (or their NSXT_* variables)")
    except NsxTlsError as error:
        return failed(
            str(error),
            "set nsxt:caFile (or NSXT_CA_FILE) to the CA bundle that signed the Manager's "
            "certificate",
        )
    except NsxConnectionError as error:
        return failed(str(error), "check nsxt:host and that this machine reaches it over https")
    except NsxApiError:
        settings = ctx.nsx_settings()  # it answered: the login is nsx-credentials' business
    manager = settings.base_url.removeprefix("https://")
    if not settings.verify_tls:
        return warned(
            f"{manager} answers, but its certificate is NOT verified (nsxt:allowUnverifiedSsl)",
            "set nsxt:caFile to the Manager's CA and remove nsxt:allowUnverifiedSsl",
        )
    trust = settings.ca_file or "the system's trust store"
    return passed(f"{manager} answers over TLS verified against {trust}")


def nsx_credentials(ctx: PreflightContext) -> Outcome:
    try:
        ctx.node_version()
    except (NsxSettingsError, NsxConnectionError) as error:
        raise NotCheckedError(f"NSX did not answer: {error}", "fix nsx-reachable first") from error
    except NsxAuthError as error:
        return failed(
            str(error), "set nsxt:username and nsxt:password (NSXT_PASSWORD) to a working user"
        )
    settings = ctx.nsx_settings()
    how = "a session (nsxt:sessionAuth)" if settings.session_auth else "HTTP Basic"
    return passed(f"user {settings.username!r} is accepted ({how})")


def nsx_version(ctx: PreflightContext) -> Outcome:
    answered(ctx)
    version = str(ctx.node_version().get("node_version") or "")
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if len(numbers) < 2:
        return warned(
            f"GET {paths.NODE_VERSION} gave no readable node_version ({version!r})",
            "check the Manager's version by hand: child segments need NSX 4.2 or newer",
        )
    wanted = ".".join(map(str, MIN_NSX_VERSION))
    if numbers < MIN_NSX_VERSION:
        return failed(
            f"NSX {version}: child segments (segment connection binding maps) need {wanted}",
            f"upgrade NSX to {wanted} or newer",
        )
    return passed(f"NSX {version} (at least {wanted})")


# --- parent segments --------------------------------------------------------------------------


def parents_knowable(ctx: PreflightContext) -> str | None:
    """Why no parent segment can be looked at yet, or None when one can."""
    if any(path != AUTO_SEGMENT for path in ctx.parent_paths()) or ctx.cluster_exists():
        return None
    return (
        "the zones' parent is the cluster's node segment (nodeSegment: auto), which NCP "
        "creates with the cluster"
    )


def nsx_parent_segments(ctx: PreflightContext) -> Outcome:
    answered(ctx)
    outcomes = []
    for configured in ctx.parent_paths():
        known = ctx.parent(configured)  # ParentSegmentError, DiscoveryError: the runner's FAIL
        if known is None:
            outcomes.append(passed(f"{configured}: found once the cluster exists"))
            continue
        outcomes.append(_parent_outcome(ctx, configured, known))
    return worst(outcomes)


def _parent_outcome(ctx: PreflightContext, configured: str, known: KnownParent) -> Outcome:
    tier1 = known.segment["connectivity_path"]
    too_long = [
        f"zone {zone.name}: {len(path)} characters ({path})"
        for zone in ctx.config.zones
        if ctx.config.effective_parent(zone) == configured
        for path in [naming.binding_map_path(child_id(ctx, zone), known.path)]
        if len(path) > naming.NSX_PATH_MAX_LENGTH
    ]
    if too_long:
        return failed(
            f"{known.path}: binding-map paths longer than NSX's {naming.NSX_PATH_MAX_LENGTH}: "
            + "; ".join(too_long),
            "shorten the zone, cluster or namespace name",
        )
    return passed(f"{known.path} ({known.found_by}) is connected to {tier1}")


def discovery_applies(ctx: PreflightContext) -> str | None:
    if AUTO_SEGMENT not in ctx.parent_paths():
        return "no zone's parent is discovered (every parent segment is configured)"
    if not ctx.cluster_exists():
        return "discovery starts from the cluster, which does not exist yet"
    return None


def nsx_discovery_routes(ctx: PreflightContext) -> Outcome:
    """Settles docs/tkc-network-discovery.md §2.2-§2.3: that the node segment's `unique_id` is
    the nodes' nsxLogicalSwitchID, and which tag carries the VirtualNetwork's uid."""
    answered(ctx)
    found = ctx.discovery()
    known = ctx.parent(AUTO_SEGMENT)
    if found is None or known is None:
        raise NotCheckedError("the cluster does not exist", "run preflight again once it is Ready")
    segment = known.segment
    tags = [(str(t.get("scope")), str(t.get("tag"))) for t in segment.get("tags") or []]
    by_id = segment.get("unique_id") in found.logical_switch_ids
    by_tag = (VNET_UID_TAG_SCOPE, found.virtual_network_uid) in tags
    holding = [scope for scope, value in tags if value == found.virtual_network_uid]
    switch_ids = list(found.logical_switch_ids)
    in_id = "carries" if found.virtual_network_uid in known.path else "does not carry"
    evidence = (
        f"{known.path}: unique_id {segment.get('unique_id')} "
        f"{'is' if by_id else 'is NOT'} a node's nsxLogicalSwitchID {switch_ids}; "
        f"VirtualNetwork uid {found.virtual_network_uid} is in tag scope(s) {holding or 'none'}; "
        f"the segment id {in_id} it"
    )
    if by_id and by_tag:
        return passed(evidence)
    if by_id:
        return warned(
            evidence + f"; the fallback's scope {VNET_UID_TAG_SCOPE!r} does not carry it",
            "discovery works by unique_id; report the scope above so discovery.VNET_UID_TAG_SCOPE "
            "can be corrected",
        )
    return warned(
        evidence + "; discovery found the segment only by its tag",
        "discovery works through its fallback; report this so the primary route can be fixed",
    )


# --- the zones ---------------------------------------------------------------------------------


def nsx_vlans_free(ctx: PreflightContext) -> Outcome:
    """Runs the child segment provider's own lookup (paths.create_lookup_query), which also
    settles whether NSX search takes it (docs/nsx-policy-api.md §6)."""
    answered(ctx)
    return worst([_vlan_outcome(ctx, zone) for zone in ctx.config.zones] or [no_zones()])


def _vlan_outcome(ctx: PreflightContext, zone: ZoneConfig) -> Outcome:
    known = ctx.zone_parent(zone)
    if known is None:
        return passed(f"zone {zone.name}: its parent is made with the cluster")
    spec = child_spec(ctx, zone, known.path)
    query = paths.create_lookup_query(known.path, spec.nsx_id)
    try:
        found = ctx.nsx.search(query)
    except NsxApiError as error:
        if error.status != 400:
            raise
        return failed(
            f"NSX refused the lookup the child segment provider runs before create: {error}",
            "report it: paths.create_lookup_query must change for this NSX",
        )
    bindings = [f for f in found if f.get("segment_path") == known.path]
    try:
        for binding in bindings:
            refuse_vlan_taken(binding, spec)
    except ChildSegmentError as error:
        return failed(f"zone {zone.name}: {error}", "give the zone a VLAN no child uses")
    ours = [b for b in bindings if b.get("parent_path") == spec.segment_path]
    taken = sorted({str(b.get("vlan_traffic_tag")) for b in bindings} - {str(zone.vlan)})
    how = "bound by this zone's own child segment" if ours else "free"
    return passed(
        f"zone {zone.name}: VLAN {zone.vlan} is {how} on {known.path} "
        f"(other children's VLANs: {', '.join(taken) or 'none'})"
    )


def nsx_zone_segments(ctx: PreflightContext) -> Outcome:
    answered(ctx)
    segments = ctx.segments()
    outcomes = [_segment_outcome(ctx, zone, segments) for zone in ctx.config.zones]
    return worst(outcomes or [no_zones()])


def _segment_outcome(
    ctx: PreflightContext, zone: ZoneConfig, segments: list[dict[str, Any]]
) -> Outcome:
    nsx_id = child_id(ctx, zone)
    outcomes = []
    for segment in segments:
        if segment.get("id") == nsx_id:
            outcomes.append(_own_id_outcome(ctx, zone, segment))
        elif clash := _subnet_clash(segment, zone):
            outcomes.append(
                failed(
                    f"zone {zone.name}: segment {segment.get('path')} already carries {clash}, "
                    f"which overlaps {zone.cidr}",
                    "give the zone a subnet no segment uses, or remove that segment",
                )
            )
    if not outcomes:
        outcomes.append(passed(f"zone {zone.name}: no segment has the id {nsx_id} or {zone.cidr}"))
    return worst(outcomes)


def _own_id_outcome(ctx: PreflightContext, zone: ZoneConfig, segment: dict[str, Any]) -> Outcome:
    spec = child_spec(ctx, zone, str(_as_parent(ctx, zone)))
    try:
        refuse_foreign_segment(segment, spec)
    except ChildSegmentError as error:
        return failed(f"zone {zone.name}: {error}", "rename the zone or remove that segment")
    return passed(f"zone {zone.name}: {segment.get('path')} exists and is this zone's own")


def _as_parent(ctx: PreflightContext, zone: ZoneConfig) -> str:
    """A parent path for the spec; only the tags matter when comparing an existing segment."""
    parent = ctx.config.effective_parent(zone)
    return parent if parent != AUTO_SEGMENT else "/infra/segments/node-segment"


def _subnet_clash(segment: dict[str, Any], zone: ZoneConfig) -> str | None:
    for subnet in segment.get("subnets") or []:
        network = addressing.parse_loose_ipv4_network(str(subnet.get("gateway_address") or ""))
        if isinstance(network, ipaddress.IPv4Network) and network.overlaps(zone.network):
            return str(subnet.get("gateway_address"))
    return None


def no_zones() -> Outcome:
    return passed("no zones configured")


def nsx_tag_limits(ctx: PreflightContext) -> Outcome:
    """Settles docs/nsx-policy-api.md §5: NSX's own tag limits against the ones the program
    validates with (naming.NSX_MAX_TAGS, NSX_TAG_SCOPE_MAX_LENGTH, NSX_TAG_VALUE_MAX_LENGTH)."""
    answered(ctx)
    try:
        tag = ctx.nsx.request("GET", paths.TAG_SCHEMA).json()["properties"]
        resource = ctx.nsx.request("GET", paths.MANAGED_RESOURCE_SCHEMA).json()["properties"]
        limits = {
            "tags per object": (resource["tags"]["maxItems"], naming.NSX_MAX_TAGS),
            "scope length": (tag["scope"]["maxLength"], naming.NSX_TAG_SCOPE_MAX_LENGTH),
            "tag length": (tag["tag"]["maxLength"], naming.NSX_TAG_VALUE_MAX_LENGTH),
        }
    except (NsxNotFoundError, KeyError, TypeError) as error:
        return warned(
            f"NSX does not publish its tag limits ({type(error).__name__}: {error})",
            "nothing to do: the program writes 3 short tags per object",
        )
    evidence = ", ".join(f"{what} {nsx} (assumed {ours})" for what, (nsx, ours) in limits.items())
    lower = [what for what, (nsx, ours) in limits.items() if int(nsx) < ours]
    if lower:
        return warned(
            f"NSX allows less than assumed: {evidence}",
            f"lower the naming.NSX_* limits of {', '.join(lower)} to NSX's",
        )
    return passed(f"NSX allows {evidence}")


def nsx_realization(ctx: PreflightContext) -> Outcome:
    """Settles docs/nsx-policy-api.md §3.5: what the realized-state API answers for an intent
    NSX does not know yet (404 or an empty list; the client takes both as "not yet")."""
    answered(ctx)
    if not ctx.config.zones:
        return no_zones()
    intent = paths.segment_path(child_id(ctx, ctx.config.zones[0]))
    try:
        response = ctx.nsx.request("GET", paths.REALIZED_ENTITIES, params={"intent_path": intent})
    except NsxNotFoundError:
        return passed(f"realized state of {intent}: 404 (not known to NSX yet)")
    entities = [
        f"{e.get('entity_type')}: {e.get('state')}" for e in response.json().get("results") or []
    ]
    return passed(f"realized state of {intent}: {', '.join(entities) or 'an empty list'}")
