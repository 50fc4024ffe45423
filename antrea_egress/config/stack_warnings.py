"""The warnings across zones: what the stack may say but should know about.

Like the rules across zones they look at a `StackFacts`; unlike them they refuse nothing.
The loader and `StackConfig.warnings` both run `check`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeAlias

from antrea_egress.config.keys import KeyFunction, Problem, zone_loc
from antrea_egress.config.limits import FEATURE_GATE_EGRESS_TRAFFIC_SHAPING
from antrea_egress.config.stack_rules import StackFacts

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


WARNINGS: Final[tuple[Warning_, ...]] = (bandwidth_on_an_unmanaged_cluster,)


def check(facts: StackFacts, key: KeyFunction) -> list[Problem]:
    """Every warning about the stack as a whole, in a fixed order."""
    return [problem for warning in WARNINGS for problem in warning(facts, key)]
