"""Kubernetes name and label syntax that `antrea_egress.naming` and `addressing` do not cover.

Each function returns a problem description (or None), so the field types can raise it and
the loader can report it with its key.
"""

from __future__ import annotations

import re
from typing import Final

DNS1123_SUBDOMAIN_MAX_LENGTH: Final = 253
LABEL_NAME_MAX_LENGTH: Final = 63
LABEL_VALUE_MAX_LENGTH: Final = 63
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_FEATURE_GATE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def dns1123_subdomain_problem(value: str) -> str | None:
    """Kubernetes object names (TKr, VM class, storage class) and label-key prefixes."""
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        return f"{value!r} is longer than {DNS1123_SUBDOMAIN_MAX_LENGTH} characters"
    if not _DNS1123_SUBDOMAIN.match(value):
        return (
            f"{value!r} is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit)"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """A Kubernetes label key: `[prefix/]name`, the prefix a DNS-1123 subdomain."""
    parts = key.split("/")
    if len(parts) > 2:
        return f"label key {key!r} has more than one '/'"
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            return f"label key {key!r} has an empty prefix before '/'"
        if dns1123_subdomain_problem(prefix):
            return f"label key {key!r}: the prefix {prefix!r} is not a DNS-1123 subdomain"
    if len(name) > LABEL_NAME_MAX_LENGTH:
        return f"label key {key!r}: the name is longer than {LABEL_NAME_MAX_LENGTH} characters"
    if not _LABEL_NAME.match(name):
        return (
            f"label key {key!r}: the name must be letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        return f"label value {value!r} is longer than {LABEL_VALUE_MAX_LENGTH} characters"
    if not _LABEL_VALUE.match(value):
        return (
            f"label value {value!r} must be empty or letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def feature_gate_problem(name: str) -> str | None:
    if not _FEATURE_GATE.match(name):
        return f"{name!r} is not a feature gate name such as NodePortLocal"
    return None
