"""SegmentConnectionBindingMap: full-replace PATCH, parent checks, VLAN rules, nesting rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nsxsim import LAB, NsxSimulator
from tests.nsxsim.conftest import api, child_body, expect_error, map_path

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

MAP = map_path("egress-prod", "bm-node")


def _map(vlan: Any = 110, parent: str = LAB.node_segment_path, **extra: Any) -> dict[str, Any]:
    return {
        "resource_type": "SegmentConnectionBindingMap",
        "segment_path": parent,
        "vlan_traffic_tag": vlan,
        **extra,
    }


def _second_child(client: httpx.Client, seg_id: str = "egress-staging") -> None:
    response = client.patch(api(f"/infra/segments/{seg_id}"), json=child_body("10.100.5.129/30"))
    assert response.status_code == 200


def test_create_map_under_the_child(client: httpx.Client, child: str) -> None:
    response = client.patch(api(MAP), json=_map(tags=[{"scope": "owner", "tag": "me"}]))
    assert response.status_code == 200
    assert response.content == b""
    stored = client.get(api(MAP)).json()
    assert stored["resource_type"] == "SegmentConnectionBindingMap"
    assert stored["segment_path"] == LAB.node_segment_path
    assert stored["vlan_traffic_tag"] == 110
    assert stored["parent_path"] == child
    assert (stored["path"], stored["relative_path"], stored["id"]) == (MAP, "bm-node", "bm-node")
    assert stored["_revision"] == 0


def test_string_vlan_is_stored_as_int(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=_map(vlan="1002"))
    assert client.get(api(MAP)).json()["vlan_traffic_tag"] == 1002


def test_patch_is_a_full_replace(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=_map(tags=[{"scope": "owner", "tag": "me"}], description="d"))
    response = client.patch(api(MAP), json=_map(vlan=111))
    assert response.status_code == 200
    stored = client.get(api(MAP)).json()
    assert stored["vlan_traffic_tag"] == 111
    assert "tags" not in stored
    assert "description" not in stored
    assert stored["_revision"] == 1
    # A partial body is not merged: it lacks the required fields.
    expect_error(client.patch(api(MAP), json={"vlan_traffic_tag": 112}), 400, 500001)


def test_put_needs_the_current_revision(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=_map())
    expect_error(client.put(api(MAP), json=_map(vlan=120)), 412, 604)
    response = client.put(api(MAP), json=_map(vlan=120, _revision=0))
    assert response.status_code == 200
    assert response.json()["vlan_traffic_tag"] == 120


def test_map_list_under_child(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=_map())
    listing = client.get(api(f"{child}/segment-connection-binding-maps")).json()
    assert listing["result_count"] == 1
    assert [m["path"] for m in listing["results"]] == [MAP]


def test_missing_parent_segment_is_500012(client: httpx.Client, child: str) -> None:
    missing = "/infra/segments/no-such-parent"
    body = expect_error(client.patch(api(MAP), json=_map(parent=missing)), 400, 500012)
    assert missing in body["error_message"]
    expect_error(client.patch(api(MAP), json=_map(parent="")), 400, 500001)


def test_missing_child_segment_is_404_600(client: httpx.Client) -> None:
    body = expect_error(client.patch(api(MAP), json=_map()), 404, 600)
    assert "egress-prod" in body["error_message"]
    expect_error(
        client.get(api("/infra/segments/egress-prod/segment-connection-binding-maps")), 404, 600
    )


@pytest.mark.parametrize("vlan", [0, 4095, -1, "abc", "12.5", None, True, 3.0])
def test_vlan_must_be_1_to_4094(client: httpx.Client, child: str, vlan: Any) -> None:
    expect_error(client.patch(api(MAP), json=_map(vlan=vlan)), 400, 500001)


@pytest.mark.parametrize("vlan", [1, 4094, " 7 "])
def test_vlan_bounds_accepted(client: httpx.Client, child: str, vlan: Any) -> None:
    assert client.patch(api(MAP), json=_map(vlan=vlan)).status_code == 200


def test_duplicate_vlan_on_one_parent_is_8327_naming_the_other_map(
    client: httpx.Client, child: str
) -> None:
    client.patch(api(MAP), json=_map(vlan=110))
    _second_child(client)
    other = map_path("egress-staging", "bm-node")
    body = expect_error(client.patch(api(other), json=_map(vlan="110")), 400, 8327)
    assert "110" in body["error_message"]
    assert MAP in body["error_message"]
    assert client.patch(api(other), json=_map(vlan=120)).status_code == 200


def test_same_vlan_on_different_parents_is_fine(
    client: httpx.Client, sim: NsxSimulator, child: str
) -> None:
    second_parent = sim.seed_segment("vnet_other_0", connectivity_path=LAB.tier1_path)
    client.patch(api(MAP), json=_map(vlan=110))
    _second_child(client)
    other = map_path("egress-staging", "bm-other")
    assert client.patch(api(other), json=_map(vlan=110, parent=second_parent)).status_code == 200


def test_rewriting_own_map_keeps_its_vlan(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=_map(vlan=110))
    assert client.patch(api(MAP), json=_map(vlan=110)).status_code == 200


def test_a_child_cannot_be_a_parent(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=_map())
    _second_child(client)
    nested = map_path("egress-staging", "bm-prod")
    body = expect_error(client.patch(api(nested), json=_map(vlan=200, parent=child)), 400, 500001)
    assert child in body["error_message"]


def test_a_parent_cannot_become_a_child(client: httpx.Client, child: str) -> None:
    _second_child(client)
    # egress-staging becomes a child of egress-prod, so egress-prod is now a parent...
    client.patch(api(map_path("egress-staging", "bm-prod")), json=_map(vlan=5, parent=child))
    # ...and may not itself be bound to the node segment.
    expect_error(client.patch(api(MAP), json=_map()), 400, 500001)


def test_a_segment_cannot_bind_to_itself(client: httpx.Client, child: str) -> None:
    expect_error(client.patch(api(MAP), json=_map(parent=child)), 400, 500001)


def test_delete_map(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=_map())
    response = client.delete(api(MAP))
    assert (response.status_code, response.content) == (200, b"")
    expect_error(client.get(api(MAP)), 404, 600)
    expect_error(client.delete(api(MAP)), 404, 600)
