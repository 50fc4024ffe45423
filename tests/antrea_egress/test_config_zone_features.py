"""The zone features users asked for, as the configuration takes them: a bandwidth limit."""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress.config import StackConfig, load_stack_config
from tests.antrea_egress.test_config import (
    FIELD_PROCEDURE_WARNINGS,
    FULL_POOL_WARNING,
    HOST_BITS_WARNING,
    P,
    apply,
    cluster,
    problems_of,
    zone,
)

LIMIT = {"rate": "100M", "burst": "200M"}


def limited(index: int, value: Any = None) -> Any:
    return zone(index, "bandwidth", value=LIMIT if value is None else value)


# --- bandwidth -------------------------------------------------------------------------------


def test_a_bandwidth_in_quantity_form_is_taken_as_written() -> None:
    stack, warnings = load_stack_config(
        apply(limited(0), limited(1, {"rate": "1.5G", "burst": 2e6}))
    )

    assert warnings == FIELD_PROCEDURE_WARNINGS
    first, second = (zone.bandwidth for zone in stack.zones)
    assert first is not None and (first.rate, first.burst) == ("100M", "200M")
    assert second is not None and (second.rate, second.burst) == ("1.5G", "2000000")
    assert stack.traffic_shaping is True


def test_a_stack_without_bandwidth_needs_no_traffic_shaping() -> None:
    stack, _ = load_stack_config(apply())

    assert [zone.bandwidth for zone in stack.zones] == [None, None]
    assert stack.traffic_shaping is False


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"rate": "100 Mbit", "burst": "1M"},
         f"{P}zones[0].bandwidth.rate: '100 Mbit' is not a Kubernetes quantity such as 100M"),
        ({"rate": "100M", "burst": "1Mb"},
         f"{P}zones[0].bandwidth.burst: '1Mb' is not a Kubernetes quantity such as 100M"),
        ({"rate": "999", "burst": "1M"},
         f"{P}zones[0].bandwidth.rate: 999 is outside 1,000-4,294,967,295,000"),
        ({"rate": "-1M", "burst": "1M"}, f"{P}zones[0].bandwidth.rate: -1M is outside 1,000-"),
        ({"rate": "5T", "burst": "1M"}, f"{P}zones[0].bandwidth.rate: 5T is outside 1,000-"),
        ({"rate": "100M"}, f"{P}zones[0].bandwidth.burst: required"),
        ({"rate": True, "burst": "1M"},
         f"{P}zones[0].bandwidth.rate: must be a quantity such as 100M, got True"),
        ({"rate": "1M", "burst": "1M", "ceil": "2M"}, f"{P}zones[0].bandwidth.ceil: unknown key"),
    ],
)  # fmt: skip
def test_a_bad_bandwidth_is_refused_at_its_key(value: dict[str, Any], problem: str) -> None:
    assert any(line.startswith(problem) for line in problems_of(apply(limited(0, value)))), problem


def test_the_bandwidth_of_an_unmanaged_cluster_warns_that_the_gate_is_not_set_here() -> None:
    raw = apply(cluster("manage", value=False), limited(1))
    for key in ("tkr", "controlPlane", "nodePools", "antrea"):
        del raw[f"{P}cluster"][key]

    stack, warnings = load_stack_config(raw)

    expected = (
        f"{P}zones[1].bandwidth: the program does not manage this cluster's AntreaConfig "
        "(manage is false): turn the EgressTrafficShaping feature gate on in its Antrea, or the "
        "limit is not enforced"
    )
    assert expected in warnings
    assert expected in stack.warnings()


def test_a_model_built_directly_refuses_a_bad_quantity_too() -> None:
    values = {
        key.removeprefix(P): value
        for key, value in apply(limited(0, {"rate": "fast", "burst": "1M"})).items()
        if key.startswith(P)
    }

    with pytest.raises(ValueError, match="'fast' is not a Kubernetes quantity"):
        StackConfig.model_validate(values)


# --- several namespaces ----------------------------------------------------------------------

NAME = "kubernetes.io/metadata.name"
TEAMS = {"matchExpressions": [{"key": NAME, "operator": "In", "values": ["staging", "qa"]}]}


def selected(index: int, namespaces: Any, pods: Any = None) -> Any:
    applied_to: dict[str, Any] = {"namespaceSelector": namespaces}
    if pods is not None:
        applied_to["podSelector"] = pods
    return zone(index, "appliedTo", value=applied_to)


def test_a_namespace_selector_takes_the_place_of_the_namespace() -> None:
    stack, warnings = load_stack_config(apply(selected(1, TEAMS, {"app": "web"})))

    applied_to = stack.zones[1].applied_to
    assert applied_to.namespace is None
    assert applied_to.namespace_selector is not None
    assert applied_to.namespace_selector.requirements == {
        (NAME, "In", frozenset({"staging", "qa"}))
    }
    assert warnings == FIELD_PROCEDURE_WARNINGS


@pytest.mark.parametrize(
    ("applied_to", "problem"),
    [
        ({"namespace": "qa", "namespaceSelector": TEAMS},
         "appliedTo: give either namespace or namespaceSelector, not both"),
        ({"podSelector": {"app": "web"}},
         "appliedTo: give namespace (one namespace) or namespaceSelector (several)"),
        ({"namespaceSelector": {"matchExpressions": [{"key": NAME, "operator": "In"}]}},
         "appliedTo.namespaceSelector.matchExpressions[0].values: must not be empty for "
         "operator In"),
        ({"namespaceSelector": {"matchLabel": {"a": "b"}}},
         "appliedTo.namespaceSelector.matchLabel: unknown key"),
    ],
)  # fmt: skip
def test_a_bad_namespace_choice_is_refused_at_its_key(
    applied_to: dict[str, Any], problem: str
) -> None:
    problems = problems_of(apply(zone(1, "appliedTo", value=applied_to)))

    assert any(line.startswith(f"{P}zones[1].{problem}") for line in problems), problems


def test_a_selector_naming_another_zones_namespace_with_its_pods_is_refused() -> None:
    """Zone 0 is app=web in prod; zone 1 takes app=web in prod and staging: every pod of zone 0
    is zone 1's too."""
    names = {"matchExpressions": [{"key": NAME, "operator": "In", "values": ["prod", "staging"]}]}

    assert problems_of(apply(selected(1, names, {"app": "web"}))) == [
        f"{P}zones[1].appliedTo: selects every pod that {P}zones[0].appliedTo selects, and "
        "more: Antrea applies only one Egress to a pod, at random, while the firewall report "
        "would list both zones' ranges"
    ]


def test_two_selectors_sharing_a_named_namespace_with_nested_pods_are_refused() -> None:
    first = {"matchExpressions": [{"key": NAME, "operator": "In", "values": ["qa", "dev"]}]}

    problems = problems_of(
        apply(selected(0, first, {"app": "web"}), selected(1, TEAMS, {"app": "web", "t": "x"}))
    )

    assert problems == [
        f"{P}zones[1].appliedTo: selects pods that {P}zones[0].appliedTo selects too, in "
        "namespace 'qa' which both take by name: Antrea applies only one Egress to a pod, at "
        "random, while the firewall report would list both zones' ranges"
    ]


def test_selections_that_only_may_overlap_are_a_warning() -> None:
    """Zone 1 takes the pods of namespaces labelled team=web: prod may carry that label."""
    stack, warnings = load_stack_config(apply(selected(1, {"team": "web"}, {"app": "web"})))

    expected = (
        f"{P}zones[1].appliedTo: may select pods that {P}zones[0].appliedTo selects too (a pod "
        "or namespace carrying both zones' labels): Antrea would apply one of their Egresses "
        "to such pods at random; make the selections exclusive if that can happen"
    )
    assert warnings == [HOST_BITS_WARNING, expected, FULL_POOL_WARNING]
    assert expected in stack.warnings()


def test_an_exclusive_selector_is_neither_refused_nor_warned_about() -> None:
    others = {"matchExpressions": [{"key": NAME, "operator": "NotIn", "values": ["prod"]}]}

    _, warnings = load_stack_config(apply(selected(1, others, {"app": "web"})))

    assert warnings == FIELD_PROCEDURE_WARNINGS


# --- capacity --------------------------------------------------------------------------------


def test_a_pool_with_a_spare_address_is_not_warned_about() -> None:
    """Staging's /29 holds .130 and .131 besides its gateway: one Egress leaves one free."""
    wider = (
        zone(1, "cidr", value="10.100.5.128/29"),
        zone(1, "ipRanges", value=[{"start": "10.100.5.130", "end": "10.100.5.131"}]),
    )

    _, warnings = load_stack_config(apply(*wider))

    assert warnings == [HOST_BITS_WARNING]


def test_shrinking_a_pool_to_its_last_address_is_warned_about_at_its_ranges() -> None:
    _, warnings = load_stack_config(
        apply(zone(0, "ipRanges", value=[{"start": "10.100.5.10", "end": "10.100.5.10"}]))
    )

    assert warnings == [
        HOST_BITS_WARNING,
        FULL_POOL_WARNING.replace("zones[1]", "zones[0]"),
        FULL_POOL_WARNING,
    ]
