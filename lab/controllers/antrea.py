"""antrea-controller and the antrea-agents, as far as Egress IPs go.

Each step as Antrea does it (docs/antrea-and-tanzu.md §2, read from antrea-io/antrea
pkg/controller/egress and pkg/agent/controller/egress):

- an Egress with `externalIPPool` and no `spec.egressIP` gets the lowest free address of the
  pool (free: not in another Egress's `spec.egressIP`), written into `spec.egressIP` with a
  merge patch; its status becomes `egressIP: ""` and `IPAllocated=True` (the status struct has
  no omitempty, so the empty IP is written);
- a moment later the agent chosen for it (here: the first Node by name that matches the pool's
  `nodeSelector`) assigns the IP and writes `egressIP`, `egressNode` and `IPAssigned=True`;
  when no Node matches, `IPAssigned=False` with reason AssignmentError and an empty IP;
- a missing pool gives `IPAllocated=False` (AllocationError) and, if the Egress held an IP,
  `spec.egressIP` is removed (a merge patch with null);
- a pool exhausted gives `IPAllocated=False` too.

It does not: move IPs between Nodes on failure (memberlist), program Nodes, honour `egressIP`
set by a user outside any pool, implement bandwidth shaping (`spec.bandwidth` is stored, not
enforced), select pods by `appliedTo` (nor compute EgressGroups), or write a pool's
`status.usage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.controllers import ip_ranges
from lab.controllers.base import Clock, PollingController
from lab.controllers.selectors import matches
from lab.kube import LabKube

ANTREA_API = "/apis/crd.antrea.io/v1beta1"
EGRESSES = f"{ANTREA_API}/egresses"
POOLS = f"{ANTREA_API}/externalippools"
DEFAULT_ASSIGN_DELAY_S = 0.5


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
        }


ALLOCATED = Condition("IPAllocated", "True", "Allocated", "EgressIP is successfully allocated")
ASSIGNED = Condition(
    "IPAssigned", "True", "Assigned", "EgressIP is successfully assigned to EgressNode"
)


class AntreaDouble(PollingController):
    name = "antrea-double"

    def __init__(
        self,
        guest: LabKube,
        *,
        assign_delay_s: float = DEFAULT_ASSIGN_DELAY_S,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self._guest = guest
        # How long an agent takes to hold an allocated IP; tests stretch it.
        self.assign_delay_s = assign_delay_s
        self._clock = clock or Clock()
        self._allocated_at: dict[str, float] = {}

    def reconcile(self) -> None:
        pools = {p["metadata"]["name"]: p for p in self._guest.list(POOLS)}
        nodes = sorted(self._guest.list("/api/v1/nodes"), key=lambda n: n["metadata"]["name"])
        egresses = self._guest.list(EGRESSES)
        taken = {e["spec"].get("egressIP") for e in egresses} - {None, ""}
        for egress in egresses:
            pool = pools.get(egress["spec"].get("externalIPPool", ""))
            if pool is None:
                self._pool_missing(egress)
            elif not egress["spec"].get("egressIP"):
                self._allocate(egress, pool, taken)
            else:
                self._assign(egress, pool, nodes)

    def _pool_missing(self, egress: dict[str, Any]) -> None:
        pool = egress["spec"].get("externalIPPool", "")
        if egress["spec"].get("egressIP"):
            # Removed, not emptied: updateEgressIP in pkg/controller/egress/controller.go sends
            # a nil pointer, JSON null, for "" (the CRD's ipv4/ipv6 format refuses "").
            self._guest.merge_patch(_path(egress), {"spec": {"egressIP": None}})
        failed = Condition(
            "IPAllocated", "False", "AllocationError",
            f"Cannot allocate EgressIP from ExternalIPPool: ExternalIPPool {pool} does not exist",
        )  # fmt: skip
        self._write_status(egress, ip="", node="", conditions=[failed])

    def _allocate(self, egress: dict[str, Any], pool: dict[str, Any], taken: set[str]) -> None:
        free = next(
            (
                str(address)
                for ip_range in pool["spec"].get("ipRanges") or []
                for address in ip_ranges.allocatable(ip_range)
                if str(address) not in taken
            ),
            None,
        )
        if free is None:
            exhausted = Condition(
                "IPAllocated", "False", "AllocationError",
                f"Cannot allocate EgressIP from ExternalIPPool: no IP available in "
                f"{pool['metadata']['name']}",
            )  # fmt: skip
            self._write_status(egress, ip="", node="", conditions=[exhausted])
            return
        taken.add(free)
        self._guest.merge_patch(_path(egress), {"spec": {"egressIP": free}})
        self._allocated_at[egress["metadata"]["uid"]] = self._clock.now()
        self._write_status(egress, ip="", node="", conditions=[ALLOCATED])

    def _assign(self, egress: dict[str, Any], pool: dict[str, Any], nodes: list[Any]) -> None:
        ip = egress["spec"]["egressIP"]
        status = egress.get("status") or {}
        eligible = [
            n["metadata"]["name"]
            for n in nodes
            if matches(pool["spec"].get("nodeSelector"), n["metadata"].get("labels") or {})
        ]
        holder = status.get("egressNode")
        if status.get("egressIP") == ip and holder in eligible:
            return  # assigned, and its Node still qualifies
        allocated_at = self._allocated_at.get(egress["metadata"]["uid"], 0.0)
        if self._clock.now() - allocated_at < self.assign_delay_s:
            return
        if not eligible:
            failed = Condition(
                "IPAssigned", "False", "AssignmentError",
                "Failed to assign the IP to EgressNode: no Node available",
            )  # fmt: skip
            self._write_status(egress, ip="", node="", conditions=[ALLOCATED, failed])
            return
        self._write_status(egress, ip=ip, node=eligible[0], conditions=[ALLOCATED, ASSIGNED])

    def _write_status(
        self, egress: dict[str, Any], *, ip: str, node: str, conditions: list[Condition]
    ) -> None:
        status = {
            "egressIP": ip,
            "egressNode": node,
            "conditions": [c.as_dict() for c in conditions],
        }
        if (egress.get("status") or {}) != status:  # controllers write only what changed
            self._guest.merge_patch(f"{_path(egress)}/status", {"status": status})


def _path(egress: dict[str, Any]) -> str:
    return f"{EGRESSES}/{egress['metadata']['name']}"
