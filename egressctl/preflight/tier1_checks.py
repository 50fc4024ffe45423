"""The NSX checks of the namespace's Tier-1: the NAT rules that could catch a zone's traffic,
and whether the Tier-1 advertises the zones' subnets. Every request is a GET.

Each check takes the run's `PreflightContext` and returns an `Outcome`; the table that runs
them is `egressctl.preflight.checks.CHECKS`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from antrea_egress.config import ZoneConfig
from antrea_egress.nat_rule import NO_SNAT_RULE_PRIORITY
from antrea_egress.nsx import paths
from egressctl.preflight.context import PreflightContext
from egressctl.preflight.model import NotCheckedError, Outcome, failed, passed, warned, worst
from egressctl.preflight.nsx_checks import answered, no_zones

# What a Tier-1 advertises for its connected segments, a child segment's subnet among them
# (the Tier1 schema's route_advertisement_types; docs/nsx-policy-api.md §2.4).
TIER1_CONNECTED = "TIER1_CONNECTED"
# NAT actions that rewrite a source address: traffic they match leaves with another IP.
SOURCE_REWRITING_ACTIONS = frozenset({"SNAT", "REFLEXIVE"})


# --- the Tier-1 -----------------------------------------------------------------------------


def nat_rules_apply(ctx: PreflightContext) -> str | None:
    """In NAT mode the check always runs (it warns when the Tier-1 is not known yet)."""
    return None if ctx.config.nat_mode else tier1_known(ctx)


def nsx_nat_rules(ctx: PreflightContext) -> Outcome:
    """Settles docs/nsx-policy-api.md §2.2: the section and priority of the SNAT rules that
    would catch a zone's traffic, against the NoSNAT rule's (USER, NO_SNAT_RULE_PRIORITY)."""
    answered(ctx)
    known = ctx.tier1()
    if known is None:
        return warned(
            "natMode is true, but the namespace's Tier-1 is not known before the cluster exists "
            "(no parent segment, no ncp/router_id annotation)",
            "run preflight again once the cluster is Ready, before adding zones",
        )
    tier1, how = known
    rules = [
        (section, rule)
        for section in paths.NAT_SECTIONS_IN_ORDER
        for rule in ctx.nsx.list_objects(paths.nat_rules_path(tier1, section))
    ]
    outcomes = [_nat_outcome(ctx, zone, rules) for zone in ctx.config.zones] or [no_zones()]
    result = worst(outcomes)
    evidence = f"{tier1} (from {how}), NAT rules: {len(rules)}\n{result.evidence}"
    return Outcome(result.status, evidence, result.fix)


def _nat_outcome(
    ctx: PreflightContext, zone: ZoneConfig, rules: list[tuple[str, dict[str, Any]]]
) -> Outcome:
    catching = [(s, r) for s, r in rules if _rewrites_source_of(r, zone)]
    names = ", ".join(_rule_text(s, r) for s, r in catching)
    if not ctx.config.nat_mode:
        if catching:
            return failed(
                f"zone {zone.name}: natMode is false, but {names} would SNAT {zone.cidr}",
                "set antrea-egress:natMode to true (the program then adds a NoSNAT rule per zone)",
            )
        return passed(f"zone {zone.name}: no SNAT rule catches {zone.cidr} (routed)")
    if not catching:
        return warned(
            f"zone {zone.name}: natMode is true, but no SNAT rule catches {zone.cidr}",
            "if the namespace is routed, set antrea-egress:natMode to false",
        )
    ahead = [(s, r) for s, r in catching if not _after_no_snat(s, r)]
    if ahead:
        return failed(
            f"zone {zone.name}: {', '.join(_rule_text(s, r) for s, r in ahead)} would SNAT "
            f"{zone.cidr} before the NoSNAT rule (USER, priority {NO_SNAT_RULE_PRIORITY})",
            "report it: nat_rule.NO_SNAT_RULE_PRIORITY cannot put the NoSNAT rule ahead of it",
        )
    return passed(
        f"zone {zone.name}: without its NoSNAT rule {names} would SNAT {zone.cidr}; the NoSNAT "
        f"rule (USER, priority {NO_SNAT_RULE_PRIORITY}) is evaluated first"
    )


def _rewrites_source_of(rule: dict[str, Any], zone: ZoneConfig) -> bool:
    if rule.get("action") not in SOURCE_REWRITING_ACTIONS or rule.get("enabled") is False:
        return False
    sources = [s.strip() for s in str(rule.get("source_network") or "").split(",") if s.strip()]
    return not sources or any(_overlaps(source, zone) for source in sources)


def _overlaps(source: str, zone: ZoneConfig) -> bool:
    try:
        return ipaddress.IPv4Network(source, strict=False).overlaps(zone.network)
    except ValueError:  # an IP range or IPv6: not ours to judge, so say it may catch
        return True


def _after_no_snat(section: str, rule: dict[str, Any]) -> bool:
    """Whether NSX evaluates the rule after the NoSNAT rule: a later section, or USER with a
    higher sequence number (equal numbers leave the order undefined)."""
    order = paths.NAT_SECTIONS_IN_ORDER
    ours = order.index(paths.NAT_SECTION_USER)
    if order.index(section) != ours:
        return order.index(section) > ours
    return int(rule.get("sequence_number") or 0) > NO_SNAT_RULE_PRIORITY


def _rule_text(section: str, rule: dict[str, Any]) -> str:
    return (
        f"{rule.get('action')} rule {rule.get('id')} ({section}, priority "
        f"{rule.get('sequence_number', 0)}, source {rule.get('source_network')})"
    )


def tier1_known(ctx: PreflightContext) -> str | None:
    if ctx.tier1() is not None:
        return None
    return (
        "the namespace's Tier-1 is known from the node segment, which NCP creates with the "
        "cluster (or from the namespace's ncp/router_id annotation, which it lacks)"
    )


def nsx_route_advertisement(ctx: PreflightContext) -> Outcome:
    """Settles docs/nsx-policy-api.md §2.4: whether the Tier-1 advertises connected segments,
    which the child segments' subnets need to be routed back to."""
    answered(ctx)
    known = ctx.tier1()
    if known is None:
        raise NotCheckedError("the Tier-1 is not known yet", "run preflight again once it is")
    tier1, _ = known
    types = list(ctx.nsx.get(tier1).get("route_advertisement_types") or [])
    evidence = f"{tier1} advertises {', '.join(types) or 'nothing'}"
    if TIER1_CONNECTED not in types:
        return warned(
            evidence + f": not {TIER1_CONNECTED}, so the zones' subnets are not announced",
            "route the zones' subnets to the Tier-1 some other way (a static route upstream), "
            f"or have NSX advertise {TIER1_CONNECTED} on it",
        )
    return passed(evidence)
