"""IpRangeHistory: remembers an ExternalIPPool's ranges so the program can tell append from edit.

Antrea's webhook accepts a pool update that appends ranges and rejects one that edits or
removes an existing range (docs/antrea-and-tanzu.md §1.2). Pulumi's replace options cannot express
"replace unless the old list is a prefix of the new one" on their own, because the program
does not see the previous state. This resource keeps the previous ranges in its own state and
its diff decides: an extension updates it in place, anything else replaces it. The pool names
it in `replace_with`, so the pool is replaced exactly when an existing range changes.
It owns nothing outside Pulumi's state and makes no network call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, UpdateResult

from antrea_egress.providers.base import StatelessProvider
from antrea_egress.rendering import OfflineRendering, dynamic_type


def is_extension(old: Sequence[Any], new: Sequence[Any]) -> bool:
    return len(new) >= len(old) and list(new[: len(old)]) == list(old)


class IpRangeHistoryProvider(StatelessProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = olds.get("ip_ranges") or [], news.get("ip_ranges") or []
        if old == new:
            return DiffResult(changes=False)
        replaces = [] if is_extension(old, new) else ["ip_ranges"]
        return DiffResult(changes=True, replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["pool"]), props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(news)


class IpRangeHistory(Resource, module="antrea", name="IpRangeHistory"):
    ip_ranges: pulumi.Output[list[dict[str, str]]]

    def __init__(
        self,
        resource_name: str,
        *,
        pool: str,
        ip_ranges: Sequence[Mapping[str, str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"pool": pool, "ip_ranges": [dict(r) for r in ip_ranges]}
        super().__init__(IpRangeHistoryProvider(), resource_name, props, opts)


OFFLINE = OfflineRendering(
    type=dynamic_type(IpRangeHistory),
    detail=lambda _: "remembers the pool's ranges: appending updates the pool, editing replaces it",
)
