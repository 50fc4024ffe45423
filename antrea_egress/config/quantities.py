"""Kubernetes quantities (`100M`, `1.5Gi`, `2e6`), as an Egress's bandwidth is written.

The grammar is apimachinery's (k8s.io/apimachinery/pkg/api/resource/quantity.go, the comment
above `Quantity`): a signed decimal number, then a binary suffix (Ki, Mi, Gi, Ti, Pi, Ei), a
decimal suffix (m, k, M, G, T, P, E, or none) or a decimal exponent (e3, E-2). Antrea's Egress
webhook refuses a rate or burst that `resource.ParseQuantity` refuses
(pkg/controller/egress/validate.go).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Final

_QUANTITY: Final = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE][+-]?\d+)?"
)
_BINARY: Final = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL: Final = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(text: str) -> Decimal:
    """The value of a Kubernetes quantity; raises ValueError with a message fit for the user."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity such as 100M, 1.5G, 500k or 2e6")
    number, suffix = Decimal(match["number"]), match["suffix"] or ""
    if suffix in _BINARY:
        return number * Decimal(2 ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    return number.scaleb(int(suffix[1:]))


def quantity_value(text: str) -> int:
    """The quantity as an integer, rounded up away from zero, as `Quantity.Value()` gives it."""
    value = parse_quantity(text)
    return math.ceil(value) if value >= 0 else math.floor(value)
