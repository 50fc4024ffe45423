"""Kubernetes quantities as apimachinery parses them (resource.ParseQuantity's grammar)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from antrea_egress.config.quantities import parse_quantity, quantity_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100M", Decimal(100_000_000)),
        ("1.5G", Decimal(1_500_000_000)),
        ("500k", Decimal(500_000)),
        ("1Ki", Decimal(1024)),
        ("2Gi", Decimal(2 * 1024**3)),
        ("2e6", Decimal(2_000_000)),
        ("5E-1", Decimal("0.5")),
        (".5k", Decimal(500)),
        ("1.", Decimal(1)),
        ("+3", Decimal(3)),
        ("-3m", Decimal("-0.003")),
        ("7", Decimal(7)),
    ],
)
def test_a_quantity_has_the_value_apimachinery_gives_it(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "M", "100 M", "100MB", "1.2.3", "10Kb", "1e", "0x10", "ten"])
def test_what_apimachinery_refuses_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity such as 100M"):
        parse_quantity(text)


def test_a_fraction_rounds_up_away_from_zero_as_value_does() -> None:
    assert quantity_value("1500m") == 2
    assert quantity_value("-1500m") == -2
    assert quantity_value("1k") == 1000
