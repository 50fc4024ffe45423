"""Label selectors in words, as the report and the plan show them."""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress import manifests
from antrea_egress.config import LabelSelector
from antrea_egress.selectors import ALL_PODS, pods_text, selector_text


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"matchLabels": {"tier": "front", "app": "web"}}, "app=web,tier=front"),
        (
            {"matchExpressions": [{"key": "track", "operator": "In", "values": ["a", "b"]}]},
            "track in (a, b)",
        ),
        (
            {"matchExpressions": [{"key": "debug", "operator": "NotIn", "values": ["true"]}]},
            "debug notin (true)",
        ),
        ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, "team"),
        ({"matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}]}, "!legacy"),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "team", "operator": "Exists"},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            "app=web,team,!canary",
        ),
        ({}, ""),
        ({"matchLabels": {}, "matchExpressions": []}, ""),
        (None, ""),
    ],
)
def test_selector_text(selector: dict[str, Any] | None, expected: str) -> None:
    assert selector_text(selector) == expected


def test_the_configs_selector_reads_the_same() -> None:
    selector = LabelSelector.model_validate(
        {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "t", "operator": "Exists"}]}
    )

    assert selector_text(manifests.label_selector(selector)) == "app=web,t"


def test_the_empty_selector_takes_all_pods() -> None:
    assert pods_text(selector_text({})) == ALL_PODS == "all pods"
    assert pods_text("app=web") == "app=web"


def test_an_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown label selector operator 'Near' for key 'app'"):
        selector_text({"matchExpressions": [{"key": "app", "operator": "Near", "values": ["x"]}]})
