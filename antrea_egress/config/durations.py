"""Go-style durations (`60m`, `1h30m`), as the TKC's ready timeout is written and as Pulumi's
custom timeouts take it."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from typing import Final

_DURATION = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_MICROSECONDS_PER_UNIT: Final = {
    "ns": Fraction(1, 1000),
    "us": Fraction(1),
    "µs": Fraction(1),
    "μs": Fraction(1),  # Go accepts the micro sign and the Greek mu
    "ms": Fraction(1000),
    "s": Fraction(1_000_000),
    "m": Fraction(60_000_000),
    "h": Fraction(3_600_000_000),
}


def parse_go_duration(text: str) -> dt.timedelta:
    """A positive Go-style duration such as `60m`, `1h30m`, `90s` or `1.5h`.

    Raises ValueError with a message fit for the user.
    """
    stripped = text.strip()
    if not _DURATION.fullmatch(stripped):
        raise ValueError(f"{text!r} is not a duration such as 60m, 1h30m or 90s")
    microseconds = sum(
        (Fraction(number) * _MICROSECONDS_PER_UNIT[unit])
        for number, unit in _DURATION_PART.findall(stripped)
    )
    duration = dt.timedelta(microseconds=int(microseconds))
    if duration <= dt.timedelta(0):
        raise ValueError(f"{text!r} must be longer than zero")
    return duration


def format_go_duration(duration: dt.timedelta) -> str:
    """The duration in Go form, e.g. `1h30m`, as Pulumi's custom timeouts take it."""
    total_us = duration // dt.timedelta(microseconds=1)
    if total_us <= 0:
        return "0s"
    hours, rest = divmod(total_us, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = Fraction(rest, 1_000_000)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if seconds:
        out += f"{float(seconds):g}s" if seconds.denominator != 1 else f"{int(seconds)}s"
    return out
