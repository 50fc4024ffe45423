"""The NSX checks against the simulator: each with a passing case and a failing one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from antrea_egress import naming
from antrea_egress.nsx import paths
from egressctl.preflight.model import Status
from nsxsim import LAB, NsxSimulator
from nsxsim.messages import Fault
from nsxsim.tls import ServerTls
from tests.conftest import nsx_config
from tests.egressctl.preflight.world import CLUSTER, NAMESPACE, World

CHILD = naming.child_segment_id(NAMESPACE, CLUSTER, "payments")
OUR_TAGS = [
    naming.MANAGED_BY_TAG,
    *naming.ownership_tags(NAMESPACE, CLUSTER, "payments"),
]


@pytest.fixture
def older_nsx() -> Iterator[NsxSimulator]:
    with NsxSimulator(nsx_version="4.1.2.3.0.23999999") as simulator:
        simulator.seed_lab()
        yield simulator


def add_child(world: World, segment_id: str, vlan: int, tags: list[dict[str, str]]) -> None:
    """A child segment of the node segment, as someone (or an earlier `up`) made it."""
    with world.nsx() as nsx:
        nsx.patch(
            paths.segment_path(segment_id),
            {
                "connectivity_path": LAB.tier1_path,
                "subnets": [{"gateway_address": "10.200.0.1/24"}],
                "tags": tags,
            },
        )
        nsx.patch(
            naming.binding_map_path(segment_id, LAB.node_segment_path),
            {"segment_path": LAB.node_segment_path, "vlan_traffic_tag": vlan},
        )


# --- the Manager -------------------------------------------------------------------------------


def test_reachable_passes_with_the_manager_s_ca(site: World) -> None:
    outcome = site.check("nsx-reachable")
    assert outcome.status == Status.PASS
    assert f"verified against {site.sim.ca_file}" in outcome.evidence


def test_reachable_fails_when_the_certificate_is_not_trusted(site: World) -> None:
    other = ServerTls()  # another CA; its file lives as long as the object
    site.values["nsxt:caFile"] = other.ca_file
    outcome = site.check("nsx-reachable")
    assert outcome.status == Status.FAIL
    assert "TLS with the NSX Manager" in outcome.evidence
    assert "nsxt:caFile" in outcome.fix


def test_reachable_fails_without_an_answer_and_names_the_manager(site: World) -> None:
    site.values["nsxt:host"] = "127.0.0.1:9"  # discard: nothing listens
    outcome = site.check("nsx-reachable")
    assert outcome.status == Status.FAIL
    assert "127.0.0.1:9" in outcome.evidence


def test_reachable_warns_when_tls_is_not_verified(site: World) -> None:
    del site.values["nsxt:caFile"]
    site.values["nsxt:allowUnverifiedSsl"] = True
    # Outside a lab stack the loader refuses an unverified manager unless the user opts in.
    site.values["antrea-egress:allowUnverifiedNsxTls"] = True
    outcome = site.check("nsx-reachable")
    assert outcome.status == Status.WARN
    assert "NOT verified" in outcome.evidence


def test_reachable_fails_naming_a_missing_setting(site: World) -> None:
    del site.values["nsxt:host"]
    outcome = site.check("nsx-reachable")
    assert (outcome.status, "nsxt:host is not set" in outcome.evidence) == (Status.FAIL, True)


def test_credentials_pass_and_fail_without_showing_the_password(site: World) -> None:
    assert site.check("nsx-credentials").status == Status.PASS
    site.values["nsxt:password"] = "Wrong-Passw0rd!"
    outcome = site.check("nsx-credentials")
    assert outcome.status == Status.FAIL
    assert "HTTP 403" in outcome.evidence or "HTTP 401" in outcome.evidence
    assert "Wrong-Passw0rd!" not in outcome.evidence + outcome.fix


def test_credentials_are_not_checked_when_nsx_does_not_answer(site: World) -> None:
    site.values["nsxt:host"] = "127.0.0.1:9"
    outcome = site.check("nsx-credentials")
    assert outcome.status == Status.FAIL
    assert outcome.evidence.startswith("not checked: NSX did not answer")
    assert outcome.fix == "fix nsx-reachable first"


def test_version_passes_on_4_2(site: World) -> None:
    outcome = site.check("nsx-version")
    assert (outcome.status, outcome.evidence) == (
        Status.PASS,
        "NSX 4.2.1.0.0.24304122 (at least 4.2)",
    )


def test_version_fails_before_4_2(site: World, older_nsx: NsxSimulator) -> None:
    site.values.update(nsx_config(older_nsx))
    outcome = site.check("nsx-version")
    assert outcome.status == Status.FAIL
    assert "NSX 4.1.2.3.0.23999999" in outcome.evidence


# --- parent segments -------------------------------------------------------------------------


def test_parent_segments_wait_for_the_cluster_when_discovered(site: World) -> None:
    assert "NCP creates with the cluster" in str(site.waits_for("nsx-parent-segments"))
    assert "NCP creates with the cluster" in str(site.waits_for("nsx-vlans-free"))


def test_parent_segment_discovered_once_the_cluster_exists(deployed: World) -> None:
    assert deployed.waits_for("nsx-parent-segments") is None
    outcome = deployed.check("nsx-parent-segments")
    assert outcome.status == Status.PASS
    assert f"{LAB.node_segment_path} (discovered by unique_id)" in outcome.evidence
    assert LAB.tier1_path in outcome.evidence


def test_configured_parent_segment_is_checked_before_the_cluster(site: World) -> None:
    site.values["antrea-egress:cluster"]["nodeSegment"] = LAB.node_segment_path
    assert site.waits_for("nsx-parent-segments") is None
    assert site.check("nsx-parent-segments").status == Status.PASS


def test_missing_parent_segment_fails(site: World) -> None:
    site.values["antrea-egress:cluster"]["nodeSegment"] = "/infra/segments/nowhere"
    outcome = site.check("nsx-parent-segments")
    assert outcome.status == Status.FAIL
    assert "/infra/segments/nowhere does not exist in NSX" in outcome.evidence


def test_parent_segment_without_a_tier1_fails(deployed: World) -> None:
    deployed.sim.modify(LAB.node_segment_path, connectivity_path=None)
    outcome = deployed.check("nsx-parent-segments")
    assert outcome.status == Status.FAIL
    assert "not connected to a Tier-1" in outcome.evidence


def test_discovery_routes_pass_when_both_find_the_segment(deployed: World) -> None:
    outcome = deployed.check("nsx-discovery-routes")
    assert outcome.status == Status.PASS
    assert "tag scope(s) ['ncp/vnet_uid']" in outcome.evidence


def test_discovery_routes_warn_and_show_the_real_tag_scope(deployed: World) -> None:
    tags = [
        {"scope": "ncp/cluster", "tag": LAB.cluster_id},
        {"scope": "ncp/vnet", "tag": LAB.vnet_uid},
    ]
    deployed.sim.modify(LAB.node_segment_path, tags=tags)
    outcome = deployed.check("nsx-discovery-routes")
    assert outcome.status == Status.WARN
    assert "tag scope(s) ['ncp/vnet']" in outcome.evidence
    assert "VNET_UID_TAG_SCOPE" in outcome.fix


def test_discovery_routes_wait_for_the_cluster(site: World) -> None:
    assert "does not exist yet" in str(site.waits_for("nsx-discovery-routes"))


# --- the zones -----------------------------------------------------------------------------------


def test_vlans_free_pass_with_other_children_on_other_vlans(deployed: World) -> None:
    add_child(deployed, "someone-elses-child", 300, [])
    outcome = deployed.check("nsx-vlans-free")
    assert outcome.status == Status.PASS
    assert "zone payments: VLAN 110 is free" in outcome.evidence
    assert "other children's VLANs: 300" in outcome.evidence


def test_vlan_bound_by_another_child_fails_naming_it(deployed: World) -> None:
    add_child(deployed, "antreansxctl-child-x1y2z3", 110, [])
    outcome = deployed.check("nsx-vlans-free")
    assert outcome.status == Status.FAIL
    assert "VLAN 110 is already bound" in outcome.evidence
    assert "/infra/segments/antreansxctl-child-x1y2z3" in outcome.evidence


def test_vlan_bound_by_the_zone_s_own_child_passes(deployed: World) -> None:
    add_child(deployed, CHILD, 110, OUR_TAGS)
    outcome = deployed.check("nsx-vlans-free")
    assert outcome.status == Status.PASS
    assert "VLAN 110 is bound by this zone's own child segment" in outcome.evidence


def test_vlans_fail_when_nsx_refuses_the_provider_s_lookup(site: World) -> None:
    site.values["antrea-egress:cluster"]["nodeSegment"] = LAB.node_segment_path  # no discovery
    site.sim.add_fault(Fault("/search/query", status=400, message="bad query", times=5))
    outcome = site.check("nsx-vlans-free")
    assert outcome.status == Status.FAIL
    assert "NSX refused the lookup" in outcome.evidence
    assert "paths.create_lookup_query" in outcome.fix


def test_zone_segments_pass_when_nothing_collides(site: World) -> None:
    outcome = site.check("nsx-zone-segments")
    assert outcome.status == Status.PASS
    assert f"no segment has the id {CHILD} or 10.100.5.0/25" in outcome.evidence


def test_a_foreign_segment_with_the_zone_s_id_fails(site: World) -> None:
    site.sim.seed_segment(CHILD, connectivity_path=LAB.tier1_path, gateway_address="10.9.9.1/24")
    outcome = site.check("nsx-zone-segments")
    assert outcome.status == Status.FAIL
    assert "is not this zone's" in outcome.evidence


def test_the_zone_s_own_segment_passes(site: World) -> None:
    site.sim.seed_segment(
        CHILD, connectivity_path=LAB.tier1_path, gateway_address="10.100.5.1/25", tags=OUR_TAGS
    )
    outcome = site.check("nsx-zone-segments")
    assert outcome.status == Status.PASS
    assert "exists and is this zone's own" in outcome.evidence


def test_a_segment_on_the_zone_s_subnet_fails(site: World) -> None:
    site.sim.seed_segment("legacy-dmz", connectivity_path=None, gateway_address="10.100.5.65/26")
    outcome = site.check("nsx-zone-segments")
    assert outcome.status == Status.FAIL
    assert "/infra/segments/legacy-dmz already carries 10.100.5.65/26" in outcome.evidence


def test_tag_limits_pass_when_nsx_allows_what_the_program_assumes(site: World) -> None:
    outcome = site.check("nsx-tag-limits")
    assert outcome.status == Status.PASS
    assert "tags per object 30 (assumed 30)" in outcome.evidence


def test_tag_limits_below_the_assumed_ones_warn(
    site: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(naming, "NSX_MAX_TAGS", 40)
    outcome = site.check("nsx-tag-limits")
    assert outcome.status == Status.WARN
    assert "lower the naming.NSX_* limits of tags per object" in outcome.fix


def test_tag_limits_not_published_warn(site: World) -> None:
    site.sim.add_fault(Fault("spec/vmware/types", status=404, times=5))
    assert site.check("nsx-tag-limits").status == Status.WARN


def test_realization_api_answers_for_an_unknown_intent(site: World) -> None:
    outcome = site.check("nsx-realization")
    assert outcome.status == Status.PASS
    assert "404 (not known to NSX yet)" in outcome.evidence


def test_realization_api_refused_fails(site: World) -> None:
    site.sim.add_fault(Fault("realized-entities", status=403, message="not permitted", times=5))
    outcome = site.check("nsx-realization")
    assert outcome.status == Status.FAIL
    assert "HTTP 403" in outcome.evidence
