"""How two zones' selections relate: disjoint, one within the other, or possibly overlapping."""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress.config import AppliedTo
from antrea_egress.config.selection import Overlap, compare, named_namespaces, same_pods

NAME = "kubernetes.io/metadata.name"


def names(*values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": NAME, "operator": "In", "values": list(values)}]}


def applied(**values: Any) -> AppliedTo:
    return AppliedTo.model_validate(values)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # Different namespaces by name, whatever the pods.
        ({"namespace": "a"}, {"namespace": "b"}, Overlap.DISJOINT),
        ({"namespace": "a"}, {"namespaceSelector": names("b", "c")}, Overlap.DISJOINT),
        # One namespace, contradicting pod labels.
        ({"namespace": "a", "podSelector": {"app": "x"}},
         {"namespace": "a", "podSelector": {"app": "y"}}, Overlap.DISJOINT),
        ({"namespace": "a", "podSelector": {"app": "x"}},
         {"namespace": "a", "podSelector": {"matchExpressions": [
             {"key": "app", "operator": "DoesNotExist"}]}}, Overlap.DISJOINT),
        ({"namespace": "a", "podSelector": {"app": "x"}},
         {"namespace": "a", "podSelector": {"matchExpressions": [
             {"key": "app", "operator": "NotIn", "values": ["x"]}]}}, Overlap.DISJOINT),
        # A namespace by name that the other's selector names too.
        ({"namespace": "b", "podSelector": {"app": "x"}},
         {"namespaceSelector": names("b", "c"), "podSelector": {"app": "x"}},
         Overlap.FIRST_IN_SECOND),
        ({"namespaceSelector": names("b", "c")},
         {"namespace": "c", "podSelector": {"app": "x"}}, Overlap.SECOND_IN_FIRST),
        # Every namespace (an empty selector) takes any one namespace's pods.
        ({"namespace": "a", "podSelector": {"app": "x"}},
         {"namespaceSelector": {}, "podSelector": {"app": "x"}}, Overlap.FIRST_IN_SECOND),
        # Labels decide: a namespace's own labels, or pods carrying both zones' labels.
        ({"namespace": "a"}, {"namespaceSelector": {"team": "pay"}}, Overlap.POSSIBLE),
        ({"namespace": "a", "podSelector": {"app": "x"}},
         {"namespace": "a", "podSelector": {"tier": "front"}}, Overlap.POSSIBLE),
        # A pod without the label `app` may carry `tier`.
        ({"namespace": "a", "podSelector": {"matchExpressions": [
             {"key": "app", "operator": "DoesNotExist"}]}},
         {"namespace": "a", "podSelector": {"tier": "front"}}, Overlap.POSSIBLE),
        ({"namespaceSelector": names("a", "b"), "podSelector": {"app": "x", "tier": "y"}},
         {"namespaceSelector": names("b", "c"), "podSelector": {"app": "x"}},
         Overlap.SHARED_NAMESPACE),
        ({"namespaceSelector": names("a", "b"), "podSelector": {"app": "x"}},
         {"namespaceSelector": names("b", "c"), "podSelector": {"tier": "y"}}, Overlap.POSSIBLE),
        ({"namespaceSelector": {**names("a", "b"), "matchLabels": {"team": "t"}}},
         {"namespaceSelector": names("b", "c")}, Overlap.POSSIBLE),
    ],
)  # fmt: skip
def test_two_selections(first: dict[str, Any], second: dict[str, Any], expected: Overlap) -> None:
    assert compare(applied(**first), applied(**second)) is expected


def test_equal_selections_written_differently_select_the_same_pods() -> None:
    one = applied(namespace="a", podSelector={"app": "x"})
    two = applied(
        namespaceSelector={"matchLabels": {NAME: "a"}},
        podSelector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["x"]}]},
    )

    assert same_pods(one, two)
    assert not same_pods(one, applied(namespace="a"))


def test_a_selection_that_selects_nothing_is_within_nothing() -> None:
    nothing = applied(
        namespace="a",
        podSelector={
            "matchExpressions": [
                {"key": "app", "operator": "Exists"},
                {"key": "app", "operator": "DoesNotExist"},
            ]
        },
    )

    assert compare(nothing, applied(namespace="a")) is Overlap.DISJOINT


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"namespace": "a"}, ["a"]),
        ({"namespaceSelector": names("c", "b")}, ["b", "c"]),
        ({"namespaceSelector": {"matchLabels": {NAME: "d"}}}, ["d"]),
        ({"namespaceSelector": {"team": "pay"}}, None),
        ({"namespaceSelector": {**names("a"), "matchLabels": {"team": "pay"}}}, None),
        ({"namespaceSelector": {}}, None),
    ],
)
def test_namespaces_selected_by_name_alone(
    values: dict[str, Any], expected: list[str] | None
) -> None:
    assert named_namespaces(applied(**values)) == expected
