"""NodeSegment: the cluster's NSX node segment, discovered after the cluster is Ready.

Discovery must not run while the program is evaluated or previewed (the cluster may not exist
yet), so it runs inside this resource's `create`, which the engine calls only during an update
and only after the resource's dependencies (the Ready TKC) exist. `read` re-checks that the
segment still exists; `delete` has nothing to delete.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource

from antrea_egress import naming
from antrea_egress.discovery import discover_node_segment
from antrea_egress.providers.base import NsxAndSupervisorProvider, is_unknown
from antrea_egress.providers.parent_segment import reread_segment

INPUT_KEYS = ("vsphere_namespace", "cluster", "cluster_uid")
OUTPUT_KEYS = ("path", "tier1_path", "found_by", "virtual_network", "snat_ip")


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
        outputs = {
            "path": segment.path,
            "tier1_path": segment.tier1_path,
            "found_by": segment.found_by,
            "virtual_network": found.virtual_network,
            "snat_ip": found.snat_ip,
        }
        return CreateResult(f"{namespace}/{cluster}", {**props, **outputs})

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
        *,
        vsphere_namespace: pulumi.Input[str],
        cluster: pulumi.Input[str],
        cluster_uid: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "vsphere_namespace": vsphere_namespace,
            "cluster": cluster,
            "cluster_uid": cluster_uid,
            **dict.fromkeys(OUTPUT_KEYS),
        }
        super().__init__(NodeSegmentProvider(), resource_name, props, opts)
