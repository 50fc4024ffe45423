"""The lab's ExternalIPPool webhook refuses what Antrea's refuses, and accepts the rest."""

from __future__ import annotations

from typing import Any

import pytest

from lab.controllers.webhook import validate


def pool(name: str, *ranges: dict[str, str], subnet: tuple[str, int] | None = None) -> Any:
    spec: dict[str, Any] = {"ipRanges": list(ranges), "nodeSelector": {}}
    if subnet:
        spec["subnetInfo"] = {"gateway": subnet[0], "prefixLength": subnet[1], "vlan": 110}
    return {"metadata": {"name": name}, "spec": spec}


R1 = {"start": "10.100.5.10", "end": "10.100.5.20"}
R2 = {"start": "10.100.5.30", "end": "10.100.5.40"}
SUBNET = ("10.100.5.1", 25)


def test_a_valid_pool_and_an_appended_range_pass() -> None:
    old = pool("p", R1, subnet=SUBNET)
    assert validate("CREATE", old, None, []) is None
    assert validate("UPDATE", pool("p", R1, R2, subnet=SUBNET), old, [old]) is None


@pytest.mark.parametrize(
    ("new", "old", "others", "reason"),
    [
        (pool("p", {"start": "10.100.5.20", "end": "10.100.5.10"}), None, [], "start must not"),
        (pool("p", {"start": "10.100.5.1", "end": "::1"}), None, [], "mixes IP families"),
        (pool("p", {"cidr": "10.100.6.0/28"}, subnet=SUBNET), None, [], "strict subset"),
        (pool("p", R1, subnet=("10.100.5.1", 32)), None, [], "invalid prefixLength 32"),
        (pool("p", R1, {"start": "10.100.5.20", "end": "10.100.5.25"}), None, [], "overlaps"),
        (pool("p", R1), None, [pool("q", {"cidr": "10.100.5.0/28"})], "of ExternalIPPool q"),
        (pool("p", R2), pool("p", R1), [], "cannot be deleted"),
        (
            pool("p", {"start": "10.100.5.10", "end": "10.100.5.21"}),
            pool("p", R1),
            [],
            "cannot be deleted",
        ),
    ],
    ids=["reversed", "families", "outside-subnet", "prefix", "overlap", "other-pool", "removed",
         "edited"],
)  # fmt: skip
def test_refusals(new: Any, old: Any, others: list[Any], reason: str) -> None:
    operation = "UPDATE" if old else "CREATE"
    problem = validate(operation, new, old, others)
    assert problem is not None and reason in problem
