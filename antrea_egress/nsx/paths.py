"""NSX Policy API paths and queries: the one place that knows how NSX lays out its URLs."""

from __future__ import annotations

import re

POLICY_API_PREFIX = "/policy/api/v1"
SESSION_CREATE = "/api/session/create"
REALIZED_ENTITIES = POLICY_API_PREFIX + "/infra/realized-state/realized-entities"
SEARCH = POLICY_API_PREFIX + "/search/query"
# The Manager API's version of the node answering (terraform-provider-nsxt reads it on configure).
NODE_VERSION = "/api/v1/node/version"
# The API's own schemas of a tag and of any managed object: NSX's tag limits (vmware-nsxlib
# v3/lib.py get_tag_limits reads them; docs/nsx-policy-api.md §5).
TAG_SCHEMA = "/api/v1/spec/vmware/types/Tag"
MANAGED_RESOURCE_SCHEMA = "/api/v1/spec/vmware/types/ManagedResource"

SEGMENTS = "/infra/segments"
TIER1S = "/infra/tier-1s"
BINDING_MAPS = "segment-connection-binding-maps"
NAT_SECTION_USER = "USER"
# A Tier-1's NAT sections in the order NSX evaluates them: one global priority space, INTERNAL
# first, then USER, then DEFAULT (docs/nsx-policy-api.md §2.2).
NAT_SECTIONS_IN_ORDER = ("INTERNAL", NAT_SECTION_USER, "DEFAULT")

# Lucene special characters; NSX search wants `/` and `:` escaped too (docs/nsx-policy-api.md §3.6).
_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/ ])')


def api_url_path(policy_path: str) -> str:
    """`/infra/segments/x` -> `/policy/api/v1/infra/segments/x`."""
    if not policy_path.startswith("/infra/"):
        raise ValueError(f"{policy_path!r} is not an NSX policy path")
    return POLICY_API_PREFIX + policy_path


def segment_path(segment_id: str) -> str:
    return f"{SEGMENTS}/{segment_id}"


def binding_maps_path(segment_id: str) -> str:
    return f"{segment_path(segment_id)}/{BINDING_MAPS}"


def binding_map_path(segment_id: str, map_id: str) -> str:
    return f"{binding_maps_path(segment_id)}/{map_id}"


def tier1_path(tier1_id: str) -> str:
    return f"{TIER1S}/{tier1_id}"


def nat_rules_path(tier1_path: str, section: str = NAT_SECTION_USER) -> str:
    return f"{tier1_path}/nat/{section}/nat-rules"


def nat_rule_path(tier1_path: str, rule_id: str, section: str = NAT_SECTION_USER) -> str:
    return f"{nat_rules_path(tier1_path, section)}/{rule_id}"


def lucene_escape(value: str) -> str:
    return _LUCENE_SPECIAL.sub(r"\\\1", value)


def create_lookup_query(parent_path: str, segment_id: str) -> str:
    """One search for every binding map that hangs a child off `parent_path`, and for an
    existing segment with `segment_id`.

    UNCONFIRMED (docs/nsx-policy-api.md §6): that `segment_path` is a searchable field of
    SegmentConnectionBindingMap. If it is not, NSX answers 400 and creation stops with that
    error rather than skipping the VLAN check; change this one query to adjust.
    """
    return (
        f"(resource_type:SegmentConnectionBindingMap AND segment_path:{lucene_escape(parent_path)})"
        f" OR (resource_type:Segment AND id:{lucene_escape(segment_id)})"
    )
