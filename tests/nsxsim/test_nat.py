"""Tier-1s and NAT rules: sections, NO_SNAT validation, PATCH merge, PUT, DELETE."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nsxsim import LAB, NsxSimulator
from tests.nsxsim.conftest import api, expect_error, nat_path

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

RULE = nat_path("nosnat-egress-prod")


def _nosnat(**extra: Any) -> dict[str, Any]:
    return {
        "resource_type": "PolicyNatRule",
        "action": "NO_SNAT",
        "source_network": "10.100.5.0/25",
        "firewall_match": "BYPASS",
        "sequence_number": 100,
        **extra,
    }


def test_tier1_get_and_list(client: httpx.Client) -> None:
    t1 = client.get(api(LAB.tier1_path)).json()
    assert t1["resource_type"] == "Tier1"
    assert {"scope": "ncp/cluster", "tag": LAB.cluster_id} in t1["tags"]
    assert "TIER1_CONNECTED" in t1["route_advertisement_types"]
    listing = client.get(api("/infra/tier-1s")).json()
    assert [t["id"] for t in listing["results"]] == [LAB.tier1_id]
    expect_error(client.get(api("/infra/tier-1s/t1_missing")), 404, 600)


def test_nat_sections_are_listed(client: httpx.Client) -> None:
    sections = client.get(api(f"{LAB.tier1_path}/nat")).json()
    assert [s["id"] for s in sections["results"]] == ["USER", "DEFAULT", "INTERNAL", "NAT64"]
    assert client.get(api(f"{LAB.tier1_path}/nat/USER")).json()["nat_type"] == "USER"


def test_create_no_snat_rule(client: httpx.Client) -> None:
    assert client.patch(api(RULE), json=_nosnat()).status_code == 200
    rule = client.get(api(RULE)).json()
    assert rule["action"] == "NO_SNAT"
    assert rule["source_network"] == "10.100.5.0/25"
    assert (rule["enabled"], rule["logging"]) == (True, False)
    assert rule["parent_path"] == f"{LAB.tier1_path}/nat/USER"
    listing = client.get(api(f"{LAB.tier1_path}/nat/USER/nat-rules")).json()
    assert [r["path"] for r in listing["results"]] == [RULE]
    other = client.get(api(f"{LAB.tier1_path}/nat/DEFAULT/nat-rules")).json()
    assert other["result_count"] == 0


def test_no_snat_without_firewall_match_is_fine(client: httpx.Client) -> None:
    body = _nosnat()
    del body["firewall_match"]
    assert client.patch(api(RULE), json=body).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"action": "NO_SNAT"},
        {"action": "NO_SNAT", "source_network": ""},
        _nosnat(translated_network="192.0.2.10"),
        _nosnat(translated_ports="80"),
        _nosnat(firewall_match="MATCH_INTERNAL_ADDRESS"),
        _nosnat(firewall_match="SOMETIMES"),
        _nosnat(action="NOSNAT"),
        {"source_network": "10.100.5.0/25"},
        _nosnat(source_network="10.100.5.1-10.100.5.9"),
        _nosnat(source_network="10.100.5.0/25,bogus"),
        _nosnat(sequence_number=-1),
        _nosnat(sequence_number="100"),
        _nosnat(enabled="yes"),
        {"action": "SNAT", "source_network": "10.0.0.0/8"},
    ],
)
def test_invalid_rules_are_400(client: httpx.Client, body: dict[str, Any]) -> None:
    expect_error(client.patch(api(RULE), json=body), 400, 500001)
    expect_error(client.get(api(RULE)), 404, 600)


def test_comma_separated_source_networks(client: httpx.Client) -> None:
    body = _nosnat(source_network="10.100.5.0/25, 10.100.5.128/30,10.1.1.1")
    assert client.patch(api(RULE), json=body).status_code == 200


def test_snat_needs_translation(client: httpx.Client) -> None:
    snat = {"action": "SNAT", "source_network": "10.0.0.0/8", "translated_network": "192.0.2.1"}
    assert client.patch(api(nat_path("snat")), json=snat).status_code == 200


def test_sequence_number_range_depends_on_section(client: httpx.Client) -> None:
    internal = nat_path("r", section="INTERNAL")
    expect_error(client.patch(api(internal), json=_nosnat(sequence_number=1024)), 400, 500001)
    assert client.patch(api(internal), json=_nosnat(sequence_number=1023)).status_code == 200


def test_unknown_section_is_400(client: httpx.Client) -> None:
    bad = nat_path("r", section="user")
    expect_error(client.patch(api(bad), json=_nosnat()), 400, 500001)
    expect_error(client.get(api(f"{LAB.tier1_path}/nat/user/nat-rules")), 400, 500001)
    expect_error(client.get(api(bad)), 400, 500001)


def test_missing_tier1_is_404(client: httpx.Client) -> None:
    rule = nat_path("r", t1_id="t1_missing")
    body = expect_error(client.patch(api(rule), json=_nosnat()), 404, 600)
    assert "t1_missing" in body["error_message"]
    expect_error(client.get(api("/infra/tier-1s/t1_missing/nat/USER/nat-rules")), 404, 600)


def test_patch_merges_and_put_replaces(client: httpx.Client) -> None:
    client.patch(api(RULE), json=_nosnat(description="d", tags=[{"scope": "o", "tag": "me"}]))
    client.patch(api(RULE), json={"sequence_number": 50})
    merged = client.get(api(RULE)).json()
    assert (merged["sequence_number"], merged["description"]) == (50, "d")
    assert merged["_revision"] == 1
    expect_error(client.put(api(RULE), json=_nosnat()), 412, 604)
    replaced = client.put(api(RULE), json=_nosnat(_revision=1)).json()
    assert "description" not in replaced
    assert "tags" not in replaced
    assert replaced["_revision"] == 2


def test_merged_patch_is_validated_as_a_whole(client: httpx.Client) -> None:
    client.patch(api(RULE), json=_nosnat())
    response = client.patch(api(RULE), json={"translated_network": "192.0.2.1"})
    expect_error(response, 400, 500001)


def test_delete_rule(client: httpx.Client, sim: NsxSimulator) -> None:
    client.patch(api(RULE), json=_nosnat())
    assert client.delete(api(RULE)).status_code == 200
    assert sim.get(RULE) is None
    expect_error(client.delete(api(RULE)), 404, 600)
