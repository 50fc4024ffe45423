"""The real-engine benchmark's arithmetic and table; the measurement itself needs the lab and
is run by hand (`python -m benchmarks.real_engine`), never as a timed test."""

from __future__ import annotations

import pytest

from benchmarks.real_engine import Row, create_floor, print_table


@pytest.mark.parametrize(
    ("zones", "waves"),
    [(1, 1), (4, 1), (5, 2), (8, 2), (20, 5)],
)
def test_the_floor_creates_child_segments_in_waves_of_the_provider_hosts_four_workers(
    zones: int, waves: int
) -> None:
    # Four requests before the first poll, one poll per object, 20 ms each, then 1 s to realize.
    one_create = 6 * 0.02 + 1.0
    assert create_floor(zones, latency=0.02, realize_after=1.0) == pytest.approx(waves * one_create)


def test_the_table_shows_each_measurement_and_a_floor_only_where_one_applies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [
        Row(5, "up", 9.87, 60, 10, 25, 2.24),
        Row(5, "refresh", 4.5, 15, 0, 0, None),
    ]
    print_table(rows, latency_ms=20, realize_after=1.0)
    lines = capsys.readouterr().out.splitlines()
    assert "NSX answers in 20 ms, realizes a write 1.0 s after it" in lines
    assert "| 5 | up | 9.9 | 60 | 10 | 25 | 2.2 |" in lines
    assert "| 5 | refresh | 4.5 | 15 | 0 | 0 | - |" in lines
