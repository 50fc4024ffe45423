"""The rules that relate several fields or zones: one table, run by the loader and the models.

Single-field rules live in the field types (`fields`). Every other rule is a row of `RULES`:
the scope it checks (an IP range, a zone, the cluster, the whole stack, ...), the keys its
problems are reported at, and a small function returning `(location, message)` pairs. A model
built directly runs the rows of its scope on itself (`ConfigModel._problems`); the loader runs
the same rows on what parsed, with the project's keys. So both accept and refuse the same
configurations (tests/antrea_egress/test_config_rules.py builds a refused and an accepted stack for
every row).

A key is written as in a stack, relative to the namespace (another namespace's key in full,
`nsxt:allowUnverifiedSsl`); `[]` stands for any index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, TypeAlias

from antrea_egress.config import cluster_rules, stack_rules, zone_rules
from antrea_egress.config.keys import KeyFunction, Loc, Problem, zone_loc
from antrea_egress.config.stack_rules import StackAccess, StackFacts

__all__ = ["RULES", "Rule", "Scope", "StackAccess", "StackFacts", "check", "zone_loc"]

Check: TypeAlias = Callable[[Any, Loc, KeyFunction], list[Problem]]


class Scope(Enum):
    """What a rule looks at; the model of that name enforces it when built directly."""

    IP_RANGE = "IpRange"
    SELECTOR_REQUIREMENT = "LabelSelectorRequirement"
    APPLIED_TO = "AppliedTo"
    ZONE = "ZoneConfig"
    CLUSTER_NETWORK = "ClusterNetwork"
    ANTREA = "AntreaSettings"
    CLUSTER = "ClusterConfig"
    STACK = "StackConfig"  # a StackFacts: what of the whole stack parsed


@dataclass(frozen=True)
class Rule:
    scope: Scope
    keys: tuple[str, ...]  # where its problems are reported
    check: Check

    @property
    def name(self) -> str:
        return self.check.__name__

    @property
    def summary(self) -> str:
        """The rule in words: the first paragraph of its function's docstring."""
        first = (self.check.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(first.split()).removesuffix(".")


_RANGE = "zones[].ipRanges[]"
_SELECTORS = (
    "zones[].appliedTo.namespaceSelector",
    "zones[].appliedTo.podSelector",
    "zones[].nodeSelector",
)

RULES: Final[tuple[Rule, ...]] = (
    Rule(Scope.IP_RANGE, (_RANGE, f"{_RANGE}.start", f"{_RANGE}.end"),
         zone_rules.range_given_once),
    Rule(Scope.IP_RANGE, (_RANGE,), zone_rules.range_in_order),
    Rule(Scope.IP_RANGE, (f"{_RANGE}.cidr",), zone_rules.cidr_range_allocates),
    Rule(Scope.IP_RANGE, (_RANGE,), zone_rules.range_within_antrea_limit),
    Rule(Scope.SELECTOR_REQUIREMENT,
         tuple(f"{selector}.matchExpressions[].values" for selector in _SELECTORS),
         zone_rules.values_fit_operator),
    Rule(Scope.APPLIED_TO, ("zones[].appliedTo",), zone_rules.namespace_given_once),
    Rule(Scope.ZONE, ("zones[].gateway",), zone_rules.gateway_inside_subnet),
    Rule(Scope.ZONE, (_RANGE,), zone_rules.ranges_inside_subnet),
    Rule(Scope.ZONE, (_RANGE,), zone_rules.zone_ranges_disjoint),
    Rule(Scope.CLUSTER_NETWORK, ("cluster.network.services[]",),
         cluster_rules.services_clear_of_pods),
    Rule(Scope.ANTREA,
         ("cluster.antrea.featureGates.Egress", "cluster.antrea.featureGates.EgressSeparateSubnet"),
         cluster_rules.egress_gates_not_disabled),
    Rule(Scope.CLUSTER, ("cluster.tkr", "cluster.controlPlane", "cluster.nodePools"),
         cluster_rules.managed_cluster_is_complete),
    Rule(Scope.CLUSTER, ("cluster.nodePools[].name",), cluster_rules.node_pool_names_unique),
    Rule(Scope.CLUSTER, ("cluster.controlPlane.replicas",),
         cluster_rules.cluster_api_control_plane_fits),
    Rule(Scope.STACK, ("zones",), stack_rules.zone_count_within_antrea_limit),
    Rule(Scope.STACK, ("zones[].name",), stack_rules.zone_names_unique),
    Rule(Scope.STACK, ("zones[].appliedTo",), stack_rules.zones_select_different_pods),
    Rule(Scope.STACK, ("zones[].name",), stack_rules.nsx_paths_fit),
    Rule(Scope.STACK, ("zones[].cidr",), stack_rules.zone_cidrs_disjoint),
    Rule(Scope.STACK, (_RANGE,), stack_rules.ranges_disjoint_across_zones),
    Rule(Scope.STACK, ("zones[].vlan",), stack_rules.vlan_unique_per_parent),
    Rule(Scope.STACK, ("cluster.nodeSegment",), stack_rules.rendering_names_the_node_segment),
    Rule(Scope.STACK, ("zones[].appliedTo.namespace",), stack_rules.demo_namespaces_distinct),
    Rule(Scope.STACK, ("zones[].appliedTo.namespaceSelector",),
         stack_rules.demo_zones_name_their_namespace),
    Rule(Scope.STACK, ("cluster.antrea.featureGates.EgressTrafficShaping",),
         stack_rules.traffic_shaping_gate_not_disabled),
    Rule(Scope.STACK, (stack_rules.NSX_ALLOW_UNVERIFIED_SSL,),
         stack_rules.unverified_nsx_tls_only_in_a_lab),
)  # fmt: skip


def check(scope: Scope, subject: Any, at: Loc, key: KeyFunction) -> list[Problem]:
    """The problems the rules of `scope` find in `subject` (a model, or a StackFacts)."""
    return [
        problem for rule in RULES if rule.scope is scope for problem in rule.check(subject, at, key)
    ]
