"""Antrea's ExternalIPPool validation, served as a real validating admission webhook.

The guest API server calls it over HTTPS on 127.0.0.1 for every CREATE and UPDATE of an
ExternalIPPool, so the program meets the refusals where it would meet Antrea's. The rules are
antrea-controller's (docs/antrea-and-tanzu.md §1.2, from pkg/controller/externalippool):

- with `subnetInfo`: the gateway parses, the IPv4 prefix length is 1-31, and every range lies
  wholly inside gateway/prefixLength;
- a start/end range has both ends in one IP family and start <= end;
- no range overlaps another range of the same pool or of any other pool (Antrea 2.x);
- an UPDATE keeps every existing range as written: ranges may be appended, never edited or
  removed.

Every review it answers is kept in `reviews`, so a test can see what reached it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lab.controllers import ip_ranges
from lab.controllers.admission import AdmissionServer

WEBHOOK_PATH = "/validate/externalippool"
CONFIGURATION_NAME = "lab-antrea-externalippool"


@dataclass(frozen=True)
class Review:
    operation: str
    name: str
    old_ranges: list[dict[str, Any]]
    new_ranges: list[dict[str, Any]]
    allowed: bool
    message: str
    dry_run: bool
    user: str


def validate(
    operation: str,
    new: Mapping[str, Any],
    old: Mapping[str, Any] | None,
    other_pools: Sequence[Mapping[str, Any]],
) -> str | None:
    """The reason Antrea refuses this pool, or None when it accepts it."""
    spec = new.get("spec") or {}
    ranges = list(spec.get("ipRanges") or [])
    return (
        _range_problem(ranges)
        or _subnet_problem(ranges, spec.get("subnetInfo"))
        or _overlap_problem(ranges, new, other_pools)
        or (_update_problem(ranges, old) if operation == "UPDATE" and old else None)
    )


def _range_problem(ranges: list[dict[str, Any]]) -> str | None:
    for ip_range in ranges:
        if ip_range.get("cidr"):
            continue
        start = ipaddress.ip_address(str(ip_range["start"]))
        end = ipaddress.ip_address(str(ip_range["end"]))
        if start.version != end.version:
            return f"range {ip_ranges.describe(ip_range)} mixes IP families"
        if int(start) > int(end):
            return f"range {ip_ranges.describe(ip_range)}: start must not be after end"
    return None


def _subnet_problem(ranges: list[dict[str, Any]], subnet_info: Any) -> str | None:
    if not subnet_info:
        return None
    gateway = ipaddress.ip_address(str(subnet_info["gateway"]))
    prefix = int(subnet_info["prefixLength"])
    if gateway.version == 4 and not 1 <= prefix <= 31:
        return f"invalid prefixLength {prefix}"
    subnet = ipaddress.ip_network(f"{gateway}/{prefix}", strict=False)
    for ip_range in ranges:
        first, last = ip_ranges.bounds(ip_range)
        if first not in subnet or last not in subnet:
            return (
                f"IPRange {ip_ranges.describe(ip_range)} must be a strict subset of the subnet "
                f"{subnet}"
            )
    return None


def _overlap_problem(
    ranges: list[dict[str, Any]], pool: Mapping[str, Any], others: Sequence[Mapping[str, Any]]
) -> str | None:
    for index, ip_range in enumerate(ranges):
        for other in ranges[index + 1 :]:
            if ip_ranges.overlaps(ip_range, other):
                return (
                    f"IPRange {ip_ranges.describe(ip_range)} overlaps with "
                    f"{ip_ranges.describe(other)}"
                )
        for other_pool in others:
            if other_pool["metadata"]["name"] == pool["metadata"]["name"]:
                continue
            for other in other_pool["spec"].get("ipRanges") or []:
                if ip_ranges.overlaps(ip_range, other):
                    return (
                        f"IPRange {ip_ranges.describe(ip_range)} overlaps with "
                        f"{ip_ranges.describe(other)} of ExternalIPPool "
                        f"{other_pool['metadata']['name']}"
                    )
    return None


def _update_problem(ranges: list[dict[str, Any]], old: Mapping[str, Any]) -> str | None:
    kept = {ip_ranges.describe(r) for r in ranges}
    removed = [
        ip_ranges.describe(r)
        for r in (old.get("spec") or {}).get("ipRanges") or []
        if ip_ranges.describe(r) not in kept
    ]
    if removed:
        return f"existing IPRanges {removed} cannot be deleted"
    return None


class AdmissionWebhook(AdmissionServer):
    """antrea-controller's ExternalIPPool validation, answering on 127.0.0.1."""

    path = WEBHOOK_PATH
    configuration_kind = "ValidatingWebhookConfiguration"
    configuration_name = CONFIGURATION_NAME
    webhook_name = "externalippoolvalidator.crd.antrea.io"
    rule: ClassVar[dict[str, Any]] = {
        "apiGroups": ["crd.antrea.io"],
        "apiVersions": ["v1beta1"],
        "resources": ["externalippools"],
        "scope": "Cluster",
    }

    def __init__(
        self,
        cert_file: Path,
        key_file: Path,
        list_pools: Callable[[], list[dict[str, Any]]],
    ) -> None:
        super().__init__(cert_file, key_file)
        self.reviews: list[Review] = []
        self._list_pools = list_pools

    def review(self, request: dict[str, Any]) -> dict[str, Any]:
        operation = str(request.get("operation"))
        new = request.get("object") or {}
        old = request.get("oldObject")
        problem = validate(operation, new, old, self._list_pools())
        self.reviews.append(
            Review(
                operation=operation,
                name=str(new.get("metadata", {}).get("name")),
                old_ranges=list(((old or {}).get("spec") or {}).get("ipRanges") or []),
                new_ranges=list((new.get("spec") or {}).get("ipRanges") or []),
                allowed=problem is None,
                message=problem or "",
                dry_run=bool(request.get("dryRun")),
                user=str((request.get("userInfo") or {}).get("username")),
            )
        )
        response: dict[str, Any] = {"uid": request.get("uid"), "allowed": problem is None}
        if problem:
            response["status"] = {"code": 400, "message": problem}
        return response
