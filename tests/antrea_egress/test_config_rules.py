"""The rule table: the loader and the models accept and refuse the same configurations.

For every row of `rules.RULES` a stack that this rule alone refuses, and a variant that the
whole table accepts. The loader (`load_stack_config`, as the program and egressctl load a
stack) and the models built directly (`StackConfig.model_validate`) must agree on both, with
the same keys and messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from antrea_egress.config import (
    CONFIG_NAMESPACE,
    ConfigError,
    StackConfig,
    config_key,
    load_stack_config,
    rules,
)
from tests.antrea_egress.test_config import (
    HOST_BITS_WARNING,
    NODE_SEGMENT,
    Mutation,
    P,
    Raw,
    add,
    apply,
    cluster,
    drop,
    many_zones,
    put,
    ranges,
    span,
    zone,
)


@dataclass(frozen=True)
class Case:
    rule: str  # the name of the rule's function
    refused: tuple[Mutation, ...]  # of the field-procedure values, refused by this rule
    accepted: tuple[Mutation, ...]  # a close variant the whole table accepts


def wide_zone(last: str) -> Mutation:
    """Zone 0 on 10.0.0.0/15, its range 10.0.0.2-<last>."""
    return zone(0, value={
        "name": "prod", "vlan": 110, "cidr": "10.0.0.0/15", "gateway": "10.0.0.1",
        "ipRanges": [{"start": "10.0.0.2", "end": last}], "appliedTo": {"namespace": "prod"},
    })  # fmt: skip


def second_pool(name: str) -> Mutation:
    return add("cluster", "nodePools", value={
        "name": name, "vmClass": "best-effort-medium", "storageClass": "labnfs",
    })  # fmt: skip


def staging_on(cidr: str, gateway: str, address: str) -> tuple[Mutation, ...]:
    return (
        zone(1, "cidr", value=cidr),
        zone(1, "gateway", value=gateway),
        ranges(1, span(address, address)),
    )


LONG_NAMES = (cluster("name", value="c" * 63), cluster("vsphereNamespace", value="n" * 63))

# fmt: off
CASES = [
    Case("range_given_once",
         (ranges(0, {"cidr": "10.100.5.16/28", "start": "10.100.5.17"}),),
         (ranges(0, {"cidr": "10.100.5.16/28"}),)),
    Case("range_in_order", (ranges(0, span("20", "10")),), (ranges(0, span("10", "20")),)),
    Case("cidr_range_allocates",
         (ranges(0, {"cidr": "10.100.5.16/31"}),), (ranges(0, {"cidr": "10.100.5.16/30"}),)),
    Case("range_within_antrea_limit", (wide_zone("10.1.0.2"),), (wide_zone("10.1.0.1"),)),
    Case("values_fit_operator",
         (zone(0, "nodeSelector", value={"matchExpressions": [{"key": "a", "operator": "In"}]}),),
         (zone(0, "nodeSelector",
               value={"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]}),)),
    Case("gateway_inside_subnet",
         (zone(1, "gateway", value="10.100.5.128"),), (zone(1, "gateway", value="10.100.5.129"),)),
    Case("ranges_inside_subnet",
         (ranges(1, span("130", "131")),), (ranges(1, span("130", "130")),)),
    Case("zone_ranges_disjoint",
         (ranges(0, span("10", "20"), span("15", "25")),),
         (ranges(0, span("10", "14"), span("15", "25")),)),
    Case("services_clear_of_pods",
         (cluster("network", value={"pods": ["10.0.0.0/16"], "services": ["10.0.0.0/24"]}),),
         (cluster("network", value={"pods": ["10.0.0.0/16"], "services": ["10.1.0.0/24"]}),)),
    Case("egress_gates_not_disabled",
         (cluster("antrea", "featureGates", "Egress", value=False),),
         (cluster("antrea", "featureGates", "Egress", value=True),)),
    Case("managed_cluster_is_complete",
         (drop("cluster", "tkr"),), (drop("cluster", "tkr"), cluster("manage", value=False))),
    Case("node_pool_names_unique", (second_pool("worker"),), (second_pool("worker2"),)),
    Case("cluster_api_control_plane_fits",
         (cluster("api", value="cluster"), cluster("controlPlane", "replicas", value=5)),
         (cluster("api", value="cluster"), cluster("controlPlane", "replicas", value=3))),
    Case("zone_count_within_antrea_limit", (many_zones(21),), (many_zones(20),)),
    Case("zone_names_unique",
         (zone(1, "name", value="prod"),), (zone(1, "name", value="staging"),)),
    Case("zones_select_different_pods",
         (zone(1, "appliedTo", value={"namespace": "prod", "podSelector": {"app": "web"}}),),
         (zone(1, "appliedTo", value={"namespace": "prod", "podSelector": {"app": "api"}}),)),
    Case("nsx_paths_fit",
         (*LONG_NAMES, zone(0, "name", value="z" * 63)), (*LONG_NAMES, zone(0, "name", value="z"))),
    Case("zone_cidrs_disjoint",
         staging_on("10.100.5.64/30", "10.100.5.65", "66"),
         staging_on("10.100.5.132/30", "10.100.5.133", "134")),
    Case("ranges_disjoint_across_zones",
         staging_on("10.100.5.0/28", "10.100.5.1", "12"),
         staging_on("10.100.5.128/30", "10.100.5.129", "130")),
    Case("vlan_unique_per_parent", (zone(1, "vlan", value=110),), (zone(1, "vlan", value=111),)),
    Case("rendering_names_the_node_segment",
         (put("renderYamlTo", value="rendered/lab"),),
         (put("renderYamlTo", value="rendered/lab"), cluster("nodeSegment", value=NODE_SEGMENT))),
    Case("demo_namespaces_distinct",
         (put("demoWorkloads", value=True),
          zone(1, "appliedTo", value={"namespace": "prod", "podSelector": {"app": "api"}})),
         (put("demoWorkloads", value=True),
          zone(1, "appliedTo", value={"namespace": "staging", "podSelector": {"app": "api"}}))),
]
# fmt: on

RULE_BY_NAME = {rule.name: rule for rule in rules.RULES}


def test_every_rule_has_a_case_and_a_name_of_its_own() -> None:
    assert len(RULE_BY_NAME) == len(rules.RULES)
    assert sorted(case.rule for case in CASES) == sorted(RULE_BY_NAME)


def test_every_rule_says_what_it_checks() -> None:
    assert all(rule.summary and rule.keys for rule in rules.RULES)


# --- loader and models, refusing ------------------------------------------------------------


def stack_values(raw: Raw) -> dict[str, Any]:
    """What a StackConfig is built from: this namespace's keys, without the namespace."""
    return {key.removeprefix(P): value for key, value in raw.items() if key.startswith(P)}


def loader_problems(raw: Raw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_stack_config(raw)
    return info.value.problems


def try_loader(raw: Raw) -> list[str]:
    try:
        load_stack_config(raw)
    except ConfigError as error:
        return error.problems
    return []


def model_refusals(raw: Raw) -> list[tuple[str, str]]:
    """Where StackConfig.model_validate refused, with the model's message (each model raises
    its problems joined with '; ', keyed relative to itself)."""
    with pytest.raises(ValidationError) as info:
        StackConfig.model_validate(stack_values(raw))
    return [
        (config_key(tuple(item["loc"])), str(item["ctx"]["error"])) for item in info.value.errors()
    ]


def as_model_message(lines: list[str], model_key: str) -> str:
    """The loader's lines as the model at `model_key` words them: its keys, and the keys its
    messages name, relative to it."""
    if model_key == CONFIG_NAMESPACE:  # StackConfig itself: full keys
        return "; ".join(lines)
    relative = []
    for line in lines:
        assert line.startswith(model_key), (line, model_key)
        rest = line[len(model_key) :].replace(f"{model_key}.", "")
        relative.append(rest.removeprefix(": ") if rest.startswith(": ") else rest[1:])
    return "; ".join(relative)


def key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{P}{key}").replace(re.escape("[]"), r"\[\d+\]"))


def without(rule: rules.Rule, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "RULES", tuple(r for r in rules.RULES if r is not rule))


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_what_a_rule_refuses_the_loader_and_the_models_refuse_with_its_key(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = RULE_BY_NAME[case.rule]
    refused = apply(*case.refused)
    lines, refusals = loader_problems(refused), model_refusals(refused)
    without(rule, monkeypatch)
    others = set(try_loader(refused))

    # The rule's own lines: what the loader reports with the rule, and not without it.
    own = [line for line in lines if line not in others]
    assert own, lines
    for line in own:
        assert any(key_pattern(key).fullmatch(line.split(": ", 1)[0]) for key in rule.keys), (
            line,
            rule.keys,
        )
        assert any(
            line.startswith(model_key) and as_model_message([line], model_key) in message
            for model_key, message in refusals
        ), (line, refusals)


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_the_whole_table_refuses_the_case_and_accepts_its_variant_in_both(case: Case) -> None:
    refused, accepted = apply(*case.refused), apply(*case.accepted)

    assert loader_problems(refused)
    assert model_refusals(refused)
    stack, _ = load_stack_config(accepted)
    assert StackConfig.model_validate(stack_values(accepted)) == stack


# --- the two configurations only the loader refused before ----------------------------------


def test_stack_config_built_directly_refuses_two_demo_zones_in_one_namespace() -> None:
    values = stack_values(apply(
        put("demoWorkloads", value=True),
        zone(1, "appliedTo", value={"namespace": "prod", "podSelector": {"app": "api"}}),
    ))  # fmt: skip

    with pytest.raises(ValidationError, match=re.escape(
        f"{P}zones[1].appliedTo.namespace: demoWorkloads creates each zone's namespace; "
        f"'prod' is also {P}zones[0].appliedTo.namespace"
    )):  # fmt: skip
        StackConfig.model_validate(values)


def test_stack_config_built_directly_refuses_rendering_with_an_auto_node_segment() -> None:
    values = stack_values(apply(put("renderYamlTo", value="rendered/lab")))

    with pytest.raises(ValidationError, match=re.escape(
        f"{P}cluster.nodeSegment: must be a segment path when renderYamlTo is set"
    )):  # fmt: skip
        StackConfig.model_validate(values)


def test_demo_workloads_with_a_bad_namespace_is_a_problem_of_that_key_not_a_crash() -> None:
    raw = apply(
        put("demoWorkloads", value=True),
        zone(0, "appliedTo", "namespace", value="Prod"),
        zone(1, "appliedTo", "namespace", value="Prod"),
    )

    with pytest.raises(ConfigError) as info:
        load_stack_config(raw)

    assert [line.split(": ")[0] for line in info.value.problems] == [
        f"{P}zones[0].appliedTo.namespace",
        f"{P}zones[1].appliedTo.namespace",
    ]
    assert info.value.warnings == [HOST_BITS_WARNING]
