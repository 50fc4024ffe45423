"""NodeSegment: the cluster's NSX node segment, discovered after the cluster is Ready.

Discovery must not run while the program is evaluated or previewed (the cluster may not exist
yet), so it runs inside this resource's `create`, which the engine calls only during an update
and only after the resource's dependencies (the Ready TKC) exist. `read` re-checks that the
segment still exists; `delete` has nothing to delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource

from antrea_egress import naming
from antrea_egress.discovery import discover_node_segment
from antrea_egress.providers.base import NsxAndSupervisorProvider, is_unknown
from antrea_egress.providers.parent_segment import reread_segment
from antrea_egress.rendering import (
    TARGET_NSX,
    TIER1_PLACEHOLDER,
    OfflineRendering,
    discovered_segment_path,
    dynamic_type,
)


@dataclass(frozen=True)
class NodeSegmentArgs:
    """The cluster whose node segment is looked up; a new uid is a new cluster."""

    vsphere_namespace: pulumi.Input[str]
    cluster: pulumi.Input[str]
    cluster_uid: pulumi.Input[str]

    def props(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in INPUT_KEYS}


@dataclass(frozen=True)
class NodeSegmentOutputs:
    """What discovery found: the segment, its Tier-1, how it was found, and its evidence."""

    path: str
    tier1_path: str | None
    found_by: str
    virtual_network: str | None
    snat_ip: str | None

    def props(self) -> dict[str, Any]:
        return asdict(self)


INPUT_KEYS = tuple(field.name for field in fields(NodeSegmentArgs))
OUTPUT_KEYS = tuple(field.name for field in fields(NodeSegmentOutputs))


class NodeSegmentProvider(NsxAndSupervisorProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [
            CheckFailure(key, f"{key} must be a DNS-1123 label: {problem}")
            for key in ("vsphere_namespace", "cluster")
            if not is_unknown(news.get(key))
            and (problem := naming.dns1123_label_problem(str(news.get(key) or "")))
        ]
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # A new cluster (new uid) has a new node segment: discover again.
        changed = [key for key in INPUT_KEYS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        namespace, cluster = str(props["vsphere_namespace"]), str(props["cluster"])
        with self._supervisor() as supervisor, self._nsx() as nsx:
            found = discover_node_segment(supervisor, nsx, namespace, cluster)
        segment = found.segment
        outputs = NodeSegmentOutputs(
            path=segment.path,
            tier1_path=segment.tier1_path,
            found_by=segment.found_by,
            virtual_network=found.virtual_network,
            snat_ip=found.snat_ip,
        )
        return CreateResult(f"{namespace}/{cluster}", {**props, **outputs.props()})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self._nsx() as nsx:
            return reread_segment(nsx, id_, str(props["path"]), props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # a lookup owns nothing


class NodeSegment(Resource, module="nsx", name="NodeSegment"):
    """The discovered node segment of a TKC, with its Tier-1."""

    path: pulumi.Output[str]
    tier1_path: pulumi.Output[str]
    found_by: pulumi.Output[str]
    virtual_network: pulumi.Output[str]
    snat_ip: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: NodeSegmentArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {**args.props(), **dict.fromkeys(OUTPUT_KEYS)}
        super().__init__(NodeSegmentProvider(), resource_name, props, opts)


def _offline_detail(inputs: Mapping[str, Any]) -> str:
    return f"discovered after {inputs['vsphere_namespace']}/{inputs['cluster']} is Ready"


OFFLINE = OfflineRendering(
    type=dynamic_type(NodeSegment),
    # Discovery reads a live Supervisor: the segment and its Tier-1 are placeholders.
    outputs=lambda state, _: {
        **state,
        "path": discovered_segment_path(state["cluster"]),
        "tier1_path": TIER1_PLACEHOLDER,
    },
    target=TARGET_NSX,
    detail=_offline_detail,
)
