"""ParentSegment: the Tier-1 of an explicitly configured parent segment, read from NSX.

A zone's NoSNAT rule lives on the Tier-1 its child segment's gateway hangs off, which is the
parent segment's Tier-1. Taking that path from the ChildSegment's own output would tie the rule
to the segment: a dynamic provider cannot preview an update, so every change of the segment
would show the rule as replaced, and a replaced segment would really recreate it. This lookup
reads the parent once (it changes only when the parent path does), so the rule follows the
Tier-1 alone. A discovered node segment needs no lookup: discovery reports its Tier-1.

Like NodeSegment, the read happens in `create` (never while the program is evaluated or
previewed), `read` reports a parent that moved to another Tier-1, and `delete` owns nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource

from antrea_egress import naming
from antrea_egress.nsx.client import NsxClient
from antrea_egress.nsx.errors import NsxError, NsxNotFoundError
from antrea_egress.providers.base import NsxProvider, is_unknown
from antrea_egress.rendering import TARGET_NSX, TIER1_PLACEHOLDER, OfflineRendering, dynamic_type


@dataclass(frozen=True)
class ParentSegmentOutputs:
    """The Tier-1 the parent segment is connected to."""

    tier1_path: str | None

    def props(self) -> dict[str, Any]:
        return asdict(self)


OUTPUT_KEYS = tuple(field.name for field in fields(ParentSegmentOutputs))


class ParentSegmentError(NsxError):
    """The parent segment is missing or not connected to a Tier-1."""


def read_parent(nsx: NsxClient, parent_path: str) -> dict[str, Any]:
    """The parent segment, which must exist and be connected to a Tier-1."""
    try:
        parent = nsx.get(parent_path)
    except NsxNotFoundError as error:
        raise ParentSegmentError(
            f"the parent segment {parent_path} does not exist in NSX; set the zone's "
            "parentSegment or the cluster's nodeSegment to the cluster's node segment"
        ) from error
    tier1 = parent.get("connectivity_path")
    if not tier1 or not naming.is_tier1_path(str(tier1)):
        raise ParentSegmentError(
            f"the parent segment {parent_path} is not connected to a Tier-1 "
            f"(connectivity_path is {tier1!r}); a child segment's gateway lives on that Tier-1"
        )
    return parent


def reread_segment(nsx: NsxClient, id_: str, path: str, props: dict[str, Any]) -> ReadResult:
    """A segment lookup's read: the segment and its Tier-1 as NSX has them now, or gone."""
    try:
        segment = nsx.get(path)
    except NsxNotFoundError:
        return ReadResult(None, {})
    return ReadResult(id_, {**props, "tier1_path": segment.get("connectivity_path")})


class ParentSegmentProvider(NsxProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        path = news.get("path")
        problem = None if is_unknown(path) else naming.segment_path_problem(str(path or ""))
        return CheckResult(news, [CheckFailure("path", problem)] if problem else [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("path") != news.get("path")
        return DiffResult(
            changes=changed, replaces=["path"] if changed else [], delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        path = str(props["path"])
        with self._nsx() as nsx:
            tier1 = read_parent(nsx, path)["connectivity_path"]
        return CreateResult(path, {**props, **ParentSegmentOutputs(tier1_path=tier1).props()})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self._nsx() as nsx:
            return reread_segment(nsx, id_, id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # a lookup owns nothing


class ParentSegment(Resource, module="nsx", name="ParentSegment"):
    """An explicit parent segment and the Tier-1 it is connected to."""

    tier1_path: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        path: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {"path": path, **dict.fromkeys(OUTPUT_KEYS)}
        super().__init__(ParentSegmentProvider(), resource_name, props, opts)


OFFLINE = OfflineRendering(
    type=dynamic_type(ParentSegment),
    # The Tier-1 is read from a live NSX.
    outputs=lambda state, _: {**state, "tier1_path": TIER1_PLACEHOLDER},
    target=TARGET_NSX,
    detail=lambda inputs: f"reads the Tier-1 of {inputs['path']}",
)
