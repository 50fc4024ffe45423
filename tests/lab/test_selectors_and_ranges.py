"""Label selectors and ExternalIPPool ranges as the lab's doubles read them."""

from __future__ import annotations

import pytest

from lab.controllers import ip_ranges
from lab.controllers.selectors import matches

LABELS = {"zone": "a", "role": "egress"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, True),
        ({}, True),
        ({"matchLabels": {"zone": "a"}}, True),
        ({"matchLabels": {"zone": "b"}}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "gpu", "operator": "NotIn", "values": ["x"]}]}, True),
        ({"matchExpressions": [{"key": "role", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "role", "operator": "DoesNotExist"}]}, False),
        (
            {
                "matchLabels": {"zone": "a"},
                "matchExpressions": [{"key": "role", "operator": "In", "values": ["x"]}],
            },
            False,
        ),
    ],
)
def test_selector_matching(selector: dict[str, object] | None, expected: bool) -> None:
    assert matches(selector, LABELS) is expected


def test_cidr_ranges_skip_network_and_broadcast_start_end_ranges_do_not() -> None:
    assert [str(a) for a in ip_ranges.allocatable({"cidr": "10.0.0.0/30"})] == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    assert [str(a) for a in ip_ranges.allocatable({"start": "10.0.0.4", "end": "10.0.0.5"})] == [
        "10.0.0.4",
        "10.0.0.5",
    ]
    assert list(ip_ranges.allocatable({"cidr": "10.0.0.0/31"})) == []


def test_overlap_includes_a_shared_endpoint() -> None:
    a = {"start": "10.0.0.1", "end": "10.0.0.5"}
    assert ip_ranges.overlaps(a, {"start": "10.0.0.5", "end": "10.0.0.9"})
    assert not ip_ranges.overlaps(a, {"start": "10.0.0.6", "end": "10.0.0.9"})
    assert ip_ranges.overlaps(a, {"cidr": "10.0.0.0/29"})
