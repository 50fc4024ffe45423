"""The Tier-1 checks (NAT rules, route advertisement) against the simulator."""

from __future__ import annotations

from egressctl.preflight.model import Status
from nsxsim import LAB
from tests.egressctl.preflight.world import NAMESPACE, World, seed_ncp_snat_rule


def routed(world: World) -> None:
    world.values["antrea-egress:natMode"] = False


def test_nat_mode_passes_when_the_no_snat_rule_goes_before_ncp_s_snat(site: World) -> None:
    seed_ncp_snat_rule(site, section="USER", priority=1000)
    outcome = site.check("nsx-nat-rules")
    assert outcome.status == Status.PASS
    assert f"{LAB.tier1_path} (from namespace annotation ncp/router_id=" in outcome.evidence
    assert "SNAT rule ncp-snat (USER, priority 1000, source 10.100.0.0/16)" in outcome.evidence
    assert "the NoSNAT rule (USER, priority 0) is evaluated first" in outcome.evidence


def test_a_snat_rule_in_the_internal_section_fails(site: World) -> None:
    seed_ncp_snat_rule(site, section="INTERNAL", priority=10)
    outcome = site.check("nsx-nat-rules")
    assert outcome.status == Status.FAIL
    assert "ncp-snat (INTERNAL, priority 10" in outcome.evidence
    assert "before the NoSNAT rule" in outcome.evidence


def test_a_snat_rule_at_the_no_snat_priority_fails(site: World) -> None:
    """Equal sequence numbers leave NSX's order undefined (docs/nsx-policy-api.md §2.2)."""
    seed_ncp_snat_rule(site, section="USER", priority=0)
    assert site.check("nsx-nat-rules").status == Status.FAIL


def test_a_snat_rule_in_the_default_section_comes_after(site: World) -> None:
    seed_ncp_snat_rule(site, section="DEFAULT", priority=0)
    assert site.check("nsx-nat-rules").status == Status.PASS


def test_nat_mode_without_any_snat_rule_warns(site: World) -> None:
    outcome = site.check("nsx-nat-rules")
    assert outcome.status == Status.WARN
    assert "natMode is true, but no SNAT rule catches 10.100.5.0/25" in outcome.evidence


def test_routed_with_a_snat_rule_catching_the_zone_fails(site: World) -> None:
    routed(site)
    seed_ncp_snat_rule(site)
    outcome = site.check("nsx-nat-rules")
    assert outcome.status == Status.FAIL
    assert "natMode is false, but SNAT rule ncp-snat" in outcome.evidence
    assert "natMode to true" in outcome.fix


def test_routed_without_snat_rules_passes(site: World) -> None:
    routed(site)
    outcome = site.check("nsx-nat-rules")
    assert outcome.status == Status.PASS
    assert "no SNAT rule catches 10.100.5.0/25 (routed)" in outcome.evidence


def test_nat_mode_warns_when_the_tier1_is_not_known_yet(site: World) -> None:
    site.supervisor.put(f"/api/v1/namespaces/{NAMESPACE}", {"kind": "Namespace"})
    outcome = site.check("nsx-nat-rules")
    assert outcome.status == Status.WARN
    assert "Tier-1 is not known before the cluster exists" in outcome.evidence


def test_routed_waits_for_the_tier1(site: World) -> None:
    routed(site)
    site.supervisor.put(f"/api/v1/namespaces/{NAMESPACE}", {"kind": "Namespace"})
    assert "Tier-1" in str(site.waits_for("nsx-nat-rules"))
    assert "Tier-1" in str(site.waits_for("nsx-route-advertisement"))


def test_route_advertisement_passes_with_connected_segments(deployed: World) -> None:
    outcome = deployed.check("nsx-route-advertisement")
    assert outcome.status == Status.PASS
    assert "advertises TIER1_CONNECTED" in outcome.evidence


def test_route_advertisement_warns_without_connected_segments(deployed: World) -> None:
    deployed.sim.modify(LAB.tier1_path, route_advertisement_types=["TIER1_NAT"])
    outcome = deployed.check("nsx-route-advertisement")
    assert outcome.status == Status.WARN
    assert "not TIER1_CONNECTED" in outcome.evidence
