"""A pool's size as Antrea allocates from it, and the text the plan and the report show."""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress.config import IpRange
from antrea_egress.config.capacity import PoolCapacity, pool_size


def ranges(*values: dict[str, Any]) -> list[IpRange]:
    return [IpRange.model_validate(value) for value in values]


@pytest.mark.parametrize(
    ("values", "size"),
    [
        ([{"start": "10.0.0.10", "end": "10.0.0.20"}], 11),  # both ends
        ([{"start": "10.0.0.10", "end": "10.0.0.10"}], 1),
        ([{"cidr": "10.0.0.0/29"}], 6),  # network and broadcast are never handed out
        ([{"cidr": "10.0.0.0/30"}, {"start": "10.0.0.10", "end": "10.0.0.11"}], 4),
        # Overlapping ranges (refused by validation) count each address once.
        ([{"start": "10.0.0.10", "end": "10.0.0.20"}, {"start": "10.0.0.15", "end": "10.0.0.25"}],
         16),
        ([{"start": "10.0.0.10", "end": "10.0.0.20"}, {"start": "10.0.0.12", "end": "10.0.0.13"}],
         11),
    ],
)  # fmt: skip
def test_the_pool_size_counts_what_antrea_allocates(values: list[Any], size: int) -> None:
    assert pool_size(ranges(*values)) == size


@pytest.mark.parametrize(
    ("capacity", "text"),
    [
        (PoolCapacity(11, 1), "11 IPs, 1 Egress, 10 free"),
        (PoolCapacity(1, 1), "1 IP, 1 Egress, 0 free"),
        (PoolCapacity(1, 2), "1 IP, 2 Egresses, -1 free"),
    ],
)
def test_capacity_in_words(capacity: PoolCapacity, text: str) -> None:
    assert capacity.text == text
