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

from antrea_egress.booleans import parse_boolean
from antrea_egress.config import (
    CONFIG_NAMESPACE,
    ConfigError,
    StackConfig,
    config_key,
    load_stack_config,
    rules,
)
from antrea_egress.config.model import STACK_ACCESS
from tests.antrea_egress.test_config import (
    FIELD_PROCEDURE_WARNINGS,
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


def second_pool(name: Any) -> Mutation:  # any value, as a stack file may hold
    return add("cluster", "nodePools", value={
        "name": name, "vmClass": "best-effort-medium", "storageClass": "labnfs",
    })  # fmt: skip


def staging_on(cidr: str, gateway: str, address: str) -> tuple[Mutation, ...]:
    return (
        zone(1, "cidr", value=cidr),
        zone(1, "gateway", value=gateway),
        ranges(1, span(address, address)),
    )


POD = {"x": "y"}
SELECTED = {
    "namespaceSelector": {
        "matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["staging", "qa"]},
        ]
    },
    "podSelector": {"app": "web"},
}
LIMITED = zone(0, "bandwidth", value={"rate": "100M", "burst": "200M"})
LONG_NAMES = (cluster("name", value="c" * 63), cluster("vsphereNamespace", value="n" * 63))


def nsx_tls_unverified(raw: Raw) -> None:
    raw["nsxt:allowUnverifiedSsl"] = "true"


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
    Case("unverified_nsx_tls_only_in_a_lab",
         (nsx_tls_unverified,), (nsx_tls_unverified, put("allowUnverifiedNsxTls", value=True))),
    Case("demo_namespaces_distinct",
         (put("demoWorkloads", value=True),
          zone(1, "appliedTo", value={"namespace": "prod", "podSelector": {"app": "api"}})),
         (put("demoWorkloads", value=True),
          zone(1, "appliedTo", value={"namespace": "staging", "podSelector": {"app": "api"}}))),
    Case("namespace_given_once",
         (zone(1, "appliedTo", value={"namespace": "staging", "namespaceSelector": {"a": "b"}}),),
         (zone(1, "appliedTo", value={"namespaceSelector": {"a": "b"}, "podSelector": POD}),)),
    Case("demo_zones_name_their_namespace",
         (put("demoWorkloads", value=True), zone(1, "appliedTo", value=SELECTED)),
         (put("demoWorkloads", value=False), zone(1, "appliedTo", value=SELECTED))),
    Case("traffic_shaping_gate_not_disabled",
         (LIMITED, cluster("antrea", "featureGates", "EgressTrafficShaping", value=False)),
         (LIMITED, cluster("antrea", "featureGates", "EgressTrafficShaping", value=True))),
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


def stack_context(raw: Raw) -> dict[str, Any]:
    """What a StackConfig built directly is told of the keys outside its namespace (the
    loader reads them itself); these stacks have no name, so none is a lab."""
    unverified = parse_boolean(raw.get("nsxt:allowUnverifiedSsl", False))
    return {STACK_ACCESS: rules.StackAccess(stack=None, nsx_tls_unverified=unverified)}


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
        StackConfig.model_validate(stack_values(raw), context=stack_context(raw))
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
    qualified = key if ":" in key else f"{P}{key}"  # another namespace's key is written whole
    return re.compile(re.escape(qualified).replace(re.escape("[]"), r"\[\d+\]"))


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
            # StackConfig itself words every line in full, another namespace's key included.
            (model_key == CONFIG_NAMESPACE or line.startswith(model_key))
            and as_model_message([line], model_key) in message
            for model_key, message in refusals
        ), (line, refusals)


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_the_whole_table_refuses_the_case_and_accepts_its_variant_in_both(case: Case) -> None:
    refused, accepted = apply(*case.refused), apply(*case.accepted)

    assert loader_problems(refused)
    assert model_refusals(refused)
    stack, _ = load_stack_config(accepted)
    built = StackConfig.model_validate(stack_values(accepted), context=stack_context(accepted))
    assert built == stack


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
    assert info.value.warnings == FIELD_PROCEDURE_WARNINGS


# --- a rule skips what failed to parse: one problem per bad field, and no crash --------------

# fmt: off
SKIPPED = [
    ("operator-without-values",
     (zone(0, "nodeSelector",
           value={"matchExpressions": [{"key": "a", "operator": "Maybe"}]}),),
     ["zones[0].nodeSelector.matchExpressions[0].operator: input should be 'In', 'NotIn', "
      "'Exists' or 'DoesNotExist', got 'Maybe'"]),
    ("values-of-exists",
     (zone(0, "nodeSelector",
           value={"matchExpressions": [{"key": "a", "operator": "Exists", "values": "b"}]}),),
     ["zones[0].nodeSelector.matchExpressions[0].values: must be a list, got 'b'"]),
    ("values-of-in",
     (zone(0, "nodeSelector",
           value={"matchExpressions": [{"key": "a", "operator": "In", "values": 5}]}),),
     ["zones[0].nodeSelector.matchExpressions[0].values: must be a list, got 5"]),
    ("manage", (cluster("manage", value="yes"), drop("cluster", "tkr")),
     ["cluster.manage: must be true or false, got 'yes'"]),
    ("control-plane",
     (cluster("controlPlane", value={"replicas": "x", "vmClass": "a", "storageClass": "b"}),),
     ["cluster.controlPlane.replicas: must be an integer, got 'x'"]),
    ("node-pools", (cluster("nodePools", value="x"),),
     ["cluster.nodePools: must be a list, got 'x'"]),
    # A pod selector that failed is not taken for "every pod" of the namespace.
    ("pod-selector-beside-a-whole-namespace",
     (zone(0, "appliedTo", value={"namespace": "prod"}),
      zone(1, "appliedTo", value={"namespace": "prod", "podSelector": "x"})),
     ["zones[1].appliedTo.podSelector: must be a mapping, got 'x'"]),
    # A zone whose name failed is passed over; the zones after it are still compared.
    ("zone-names-past-a-bad-one",
     (many_zones(3), zone(0, "name", value=5), zone(2, "name", value="zone1")),
     ["zones[0].name: must be a string, got 5",
      "zones[2].name: 'zone1' duplicates antrea-egress:zones[1].name"]),
    # A pool whose name failed is passed over; the pools after it are still compared.
    ("pool-names-past-a-bad-one", (second_pool(5), second_pool("worker")),
     ["cluster.nodePools[1].name: must be a string, got 5",
      "cluster.nodePools[2].name: 'worker' duplicates antrea-egress:cluster.nodePools[0].name"]),
    ("control-plane-not-a-mapping", (cluster("controlPlane", value="x"),),
     ["cluster.controlPlane: must be a mapping, got 'x'"]),
    # The TKC's default pod network (192.168.0.0/16) is not taken for pods that failed.
    ("pods-beside-services",
     (cluster("network", value={"pods": "x", "services": ["192.168.0.0/24"]}),),
     ["cluster.network.pods: must be a list, got 'x'"]),
    ("zone-cidr-of-overlapping-ranges",
     (zone(1, "cidr", value="10.100.5.0/33"), zone(1, "gateway", value="10.100.5.254"),
      ranges(1, span("15", "16"))),
     ["zones[1].cidr: '10.100.5.0/33' is not a CIDR such as 10.100.5.0/25"]),
    ("zone-gateway-of-overlapping-ranges",
     (zone(1, "cidr", value="10.100.5.0/24"), zone(1, "gateway", value="x"),
      ranges(1, span("15", "16"))),
     ["zones[1].gateway: 'x' is not an IP address",
      "zones[1].cidr: 10.100.5.0/24 overlaps antrea-egress:zones[0].cidr 10.100.5.0/25"]),
    ("range-start", (ranges(0, {"start": "x", "end": "10.100.5.20"}),),
     ["zones[0].ipRanges[0].start: 'x' is not an IP address"]),
    # A zone whose appliedTo failed is passed over (no crash on the missing field); the
    # zones after it are still compared for a shared demo namespace.
    ("demo-namespaces-past-a-bad-applied-to",
     (put("demoWorkloads", value=True), many_zones(3), zone(0, "appliedTo", value="x"),
      zone(1, "appliedTo", value={"namespace": "ns1", "podSelector": {"app": "web"}}),
      zone(2, "appliedTo", value={"namespace": "ns1", "podSelector": {"app": "api"}})),
     ["zones[0].appliedTo: must be a mapping, got 'x'",
      "zones[2].appliedTo.namespace: demoWorkloads creates each zone's namespace; 'ns1' is "
      "also antrea-egress:zones[1].appliedTo.namespace"]),
]
# fmt: on


@pytest.mark.parametrize(("mutations", "expected"), [c[1:] for c in SKIPPED],
                         ids=[c[0] for c in SKIPPED])  # fmt: skip
def test_a_rule_that_needs_a_field_that_failed_to_parse_is_skipped(
    mutations: tuple[Mutation, ...], expected: list[str]
) -> None:
    assert loader_problems(apply(*mutations)) == [P + line for line in expected]


# --- the rules' exact words and edges ------------------------------------------------------

PATH_LIMIT_TAIL = "; NSX allows 255: shorten the zone, cluster or namespace name"


def parent_of_length(characters: int) -> str:
    return "/infra/segments/" + "p" * characters


# With the field procedure's names, a parent id of 176 characters makes zone 0's binding-map
# path exactly 255 characters long (zone 1, "staging", is two characters longer).
# fmt: off
EXACT = [
    ("parent-path-at-the-limit", (zone(0, "parentSegment", value=parent_of_length(176)),), []),
    ("parent-path-one-over",
     (zone(0, "parentSegment", value=parent_of_length(177)),),
     ["zones[0].name: its NSX binding-map path would be 256 characters long" + PATH_LIMIT_TAIL]),
    ("node-segment-path-one-over",
     (cluster("nodeSegment", value=parent_of_length(177)),),
     ["zones[0].name: its NSX binding-map path would be 256 characters long" + PATH_LIMIT_TAIL,
      "zones[1].name: its NSX binding-map path would be 259 characters long" + PATH_LIMIT_TAIL]),
    ("a-bad-name-hides-no-other-zone",
     (cluster("nodeSegment", value=parent_of_length(177)), zone(0, "name", value="Bad_")),
     ["zones[0].name: 'Bad_' is not a DNS-1123 label (lower-case letters, digits and '-', "
      "starting and ending with a letter or digit)",
      "zones[1].name: its NSX binding-map path would be 259 characters long" + PATH_LIMIT_TAIL]),
    ("vlan-twice-on-auto",
     (zone(1, "vlan", value=110),),
     ["zones[1].vlan: VLAN 110 is already used by antrea-egress:zones[0].vlan on the same "
      "parent segment (auto)"]),
    ("vlan-twice-on-a-node-segment-that-failed",
     (cluster("nodeSegment", value=5), zone(1, "vlan", value=110)),
     ["cluster.nodeSegment: must be a string, got 5",
      "zones[1].vlan: VLAN 110 is already used by antrea-egress:zones[0].vlan on the same "
      "parent segment (the cluster's node segment)"]),
    ("vlan-of-a-zone-whose-parent-failed",
     (zone(0, "parentSegment", value=5), zone(1, "vlan", value=110)),
     ["zones[0].parentSegment: must be a string, got 5"]),
    ("vlan-twice-after-a-bad-vlan",
     (many_zones(3), zone(0, "vlan", value="x"), zone(2, "vlan", value=201)),
     ["zones[0].vlan: VLAN must be an integer 1-4094, got 'x'",
      "zones[2].vlan: VLAN 201 is already used by antrea-egress:zones[1].vlan on the same "
      "parent segment (auto)"]),
    ("vlan-twice-on-different-parents",
     (zone(1, "vlan", value=110), zone(1, "parentSegment", value=parent_of_length(8))), []),
    # Each operator on its own: Exists and DoesNotExist take no values, In and NotIn need some.
    ("does-not-exist-with-values",
     (zone(0, "nodeSelector", value={"matchExpressions": [
         {"key": "a", "operator": "DoesNotExist", "values": ["b"]}]}),),
     ["zones[0].nodeSelector.matchExpressions[0].values: must be empty for operator "
      "DoesNotExist"]),
    ("not-in-without-values",
     (zone(0, "nodeSelector", value={"matchExpressions": [{"key": "a", "operator": "NotIn"}]}),),
     ["zones[0].nodeSelector.matchExpressions[0].values: must not be empty for operator NotIn"]),
    ("does-not-exist-without-values",
     (zone(0, "nodeSelector",
           value={"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}),), []),
    # A half-given range names the bound that is missing, whichever it is.
    ("range-without-start", (ranges(0, {"end": "10.100.5.20"}),),
     ["zones[0].ipRanges[0].start: required together with end"]),
    ("range-without-end", (ranges(0, {"start": "10.100.5.20"}),),
     ["zones[0].ipRanges[0].end: required together with start"]),
    # A cidr given with bounds is one problem: the bounds are neither ordered nor taken as
    # the range, and the cidr is not sized as if it stood alone.
    ("cidr-with-bounds-out-of-order",
     (ranges(0, {"cidr": "10.100.5.16/30", "start": "10.100.5.20", "end": "10.100.5.10"}),),
     ["zones[0].ipRanges[0]: give either cidr or start and end, not both"]),
    ("cidr-of-two-addresses",
     (ranges(0, {"cidr": "10.100.5.16/31"}),),
     ["zones[0].ipRanges[0].cidr: 10.100.5.16/31 holds no address Antrea would allocate (it "
      "never hands out the network and broadcast addresses of a cidr range); use start and "
      "end"]),
    ("cidr-of-two-addresses-with-a-start",
     (ranges(0, {"cidr": "10.100.5.16/31", "start": "10.100.5.16"}),),
     ["zones[0].ipRanges[0]: give either cidr or start and end, not both"]),
    # An overlap between two zones is reported though a later zone's ranges overlap nothing.
    ("ranges-overlap-before-a-disjoint-zone",
     (many_zones(3), zone(1, "cidr", value="10.100.10.0/28"),
      zone(1, "gateway", value="10.100.10.1"),
      ranges(1, {"start": "10.100.10.3", "end": "10.100.10.4"})),
     ["zones[1].cidr: 10.100.10.0/28 overlaps antrea-egress:zones[0].cidr 10.100.10.0/28",
      "zones[1].ipRanges[0]: 10.100.10.3-10.100.10.4 overlaps "
      "antrea-egress:zones[0].ipRanges[0] 10.100.10.2-10.100.10.3"]),
    ("rendering-with-an-auto-node-segment", (put("renderYamlTo", value="rendered/lab"),),
     ["cluster.nodeSegment: must be a segment path when renderYamlTo is set: discovery reads "
      "a live Supervisor"]),
]
# fmt: on


@pytest.mark.parametrize(("mutations", "expected"), [c[1:] for c in EXACT],
                         ids=[c[0] for c in EXACT])  # fmt: skip
def test_what_the_rules_say_exactly(mutations: tuple[Mutation, ...], expected: list[str]) -> None:
    assert try_loader(apply(*mutations)) == [P + line for line in expected]
