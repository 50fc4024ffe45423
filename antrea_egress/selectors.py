"""Label selectors in words: the one formatter for every place that says which pods a zone takes.

The firewall report and the offline plan both describe an Egress's pod selection; they read
the selector in its Kubernetes form (`matchLabels`, `matchExpressions`), as the Egress carries
it, so both say exactly what Antrea selects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

ALL_PODS: Final = "all pods"

# The four operators of a Kubernetes LabelSelectorRequirement, written as `kubectl get -l`
# reads them (k8s.io/apimachinery/pkg/labels/selector.go): `key in (a, b)`, `key notin (a)`,
# `key` for Exists and `!key` for DoesNotExist.
_SET_OPERATORS: Final = {"In": "in", "NotIn": "notin"}
_EXISTENCE_PREFIX: Final = {"Exists": "", "DoesNotExist": "!"}


def selector_text(selector: Mapping[str, Any] | None) -> str:
    """A LabelSelector in `kubectl -l` syntax: `app=web,track in (a, b),team,!legacy`.

    matchLabels first, sorted by key (a map has no order of its own), then matchExpressions
    in their order. "" for an empty or missing selector, which selects everything.
    Raises ValueError for an operator Kubernetes does not know.
    """
    if not selector:
        return ""
    labels: Mapping[str, Any] = selector.get("matchLabels") or {}
    expressions: Sequence[Mapping[str, Any]] = selector.get("matchExpressions") or []
    parts = [f"{key}={value}" for key, value in sorted(labels.items())]
    parts += [_requirement_text(requirement) for requirement in expressions]
    return ",".join(parts)


def pods_text(text: str) -> str:
    """A pod selector's text as a person reads it: the empty selector takes every pod."""
    return text or ALL_PODS


def _requirement_text(requirement: Mapping[str, Any]) -> str:
    key = str(requirement.get("key"))
    operator = str(requirement.get("operator"))
    if operator in _EXISTENCE_PREFIX:
        return f"{_EXISTENCE_PREFIX[operator]}{key}"
    if operator in _SET_OPERATORS:
        values = ", ".join(str(value) for value in requirement.get("values") or [])
        return f"{key} {_SET_OPERATORS[operator]} ({values})"
    raise ValueError(f"unknown label selector operator {operator!r} for key {key!r}")
