"""The warnings across zones: what the stack may say but should know about.

Like the rules across zones they look at a `StackFacts`; unlike them they refuse nothing.
The loader and `StackConfig.warnings` both run `check`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeAlias

from antrea_egress.config import capacity, selection
from antrea_egress.config.keys import KeyFunction, Problem, zone_loc
from antrea_egress.config.limits import FEATURE_GATE_EGRESS_TRAFFIC_SHAPING
from antrea_egress.config.stack_rules import StackFacts, parsed_applied_to
from antrea_egress.config.zone_rules import valid_ranges

Warning_: TypeAlias = Callable[[StackFacts, KeyFunction], list[Problem]]


def bandwidth_on_an_unmanaged_cluster(facts: StackFacts, key: KeyFunction) -> list[Problem]:
    """A zone's bandwidth on a cluster the program does not manage: nobody here sets the gate."""
    del key
    cluster = facts.cluster
    if cluster is None or not cluster._has("manage") or cluster.manage:
        return []
    return [
        (
            zone_loc(index, "bandwidth"),
            "the program does not manage this cluster's AntreaConfig (manage is false): turn "
            f"the {FEATURE_GATE_EGRESS_TRAFFIC_SHAPING} feature gate on in its Antrea, or the "
            "limit is not enforced",
        )
        for index, zone in facts.zones
        if zone._has("bandwidth") and zone.bandwidth is not None
    ]


def zones_may_select_the_same_pods(facts: StackFacts, key: KeyFunction) -> list[Problem]:
    """Two zones whose selections may overlap, where neither proves it (a pod's or a
    namespace's labels decide): such pods would get one of the two Egresses at random."""
    parsed = parsed_applied_to(facts)
    return [
        (
            zone_loc(index, "appliedTo"),
            f"may select pods that {key(zone_loc(earlier, 'appliedTo'))} selects too (a pod or "
            "namespace carrying both zones' labels): Antrea would apply one of their Egresses "
            "to such pods at random; make the selections exclusive if that can happen",
        )
        for position, (index, applied_to) in enumerate(parsed)
        for earlier, other in parsed[:position]
        if selection.compare(applied_to, other) is selection.Overlap.POSSIBLE
    ]


def pools_keep_a_free_ip(facts: StackFacts, key: KeyFunction) -> list[Problem]:
    """A pool the zone's own Egress exhausts: another Egress on it would get no IP.

    Shown by `pulumi preview` (the program logs every warning), so a change that shrinks a
    pool to its last address is seen before `up`.
    """
    del key
    problems: list[Problem] = []
    for index, zone in facts.zones:
        ranges = valid_ranges(zone)
        if not ranges or len(ranges) != len(zone.ip_ranges):
            continue  # a range the rules refuse: its problem says enough
        pool = capacity.zone_capacity(zone)
        if pool.free > 0:
            continue
        problems.append(
            (
                zone_loc(index, "ipRanges"),
                f"leaves the pool without a free IP ({pool.text}): another Egress on it would "
                "get no IP (Antrea: IPAllocated False); add an address to keep one spare",
            )
        )
    return problems


WARNINGS: Final[tuple[Warning_, ...]] = (
    bandwidth_on_an_unmanaged_cluster,
    zones_may_select_the_same_pods,
    pools_keep_a_free_ip,
)


def check(facts: StackFacts, key: KeyFunction) -> list[Problem]:
    """Every warning about the stack as a whole, in a fixed order."""
    return [problem for warning in WARNINGS for problem in warning(facts, key)]
