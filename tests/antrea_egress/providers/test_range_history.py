"""IpRangeHistory: append updates in place, any other change replaces (and so the pool)."""

from __future__ import annotations

import pytest

from antrea_egress.providers.range_history import IpRangeHistoryProvider, is_extension
from tests.conftest import outs_of

A = {"start": "10.100.5.10", "end": "10.100.5.20"}
B = {"cidr": "10.100.5.32/28"}
C = {"start": "10.100.5.40", "end": "10.100.5.41"}


@pytest.mark.parametrize(
    ("old", "new", "changes", "replaces"),
    [
        ([A], [A], False, []),
        ([A], [A, B], True, []),  # append: Antrea accepts, the Egress keeps its IP
        ([A, B], [A, B, C], True, []),
        ([A, B], [A], True, ["ip_ranges"]),  # remove the last: Antrea rejects an update
        ([A, B], [B, A], True, ["ip_ranges"]),  # reorder counts as an edit
        ([A], [{**A, "end": "10.100.5.30"}], True, ["ip_ranges"]),  # edit
        ([A, B], [B], True, ["ip_ranges"]),
    ],
)
def test_diff(
    old: list[dict[str, str]], new: list[dict[str, str]], changes: bool, replaces: list[str]
) -> None:
    diff = IpRangeHistoryProvider().diff("pool", {"ip_ranges": old}, {"ip_ranges": new})
    assert diff.changes is changes
    assert (diff.replaces or []) == replaces


def test_create_and_update_keep_what_they_are_given() -> None:
    provider = IpRangeHistoryProvider()
    created = provider.create({"pool": "prod-external-ip-pool", "ip_ranges": [A]})
    assert (created.id, outs_of(created)["ip_ranges"]) == ("prod-external-ip-pool", [A])
    updated = provider.update(
        "prod-external-ip-pool", outs_of(created), {"pool": "p", "ip_ranges": [A, B]}
    )
    assert outs_of(updated)["ip_ranges"] == [A, B]


def test_is_extension() -> None:
    assert is_extension([], [A])
    assert not is_extension([A, B], [A])
