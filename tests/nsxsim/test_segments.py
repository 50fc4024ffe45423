"""Segments: PATCH merge vs PUT replace, _revision and 412, validation, derived fields."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from nsxsim import DEFAULT_TZ_PATH, LAB, NsxSimulator
from tests.nsxsim.conftest import api, child_body, expect_error

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

SEG = "/infra/segments/egress-prod"


def test_patch_creates_with_server_fields(client: httpx.Client, sim: NsxSimulator) -> None:
    response = client.patch(api(SEG), json=child_body(tags=[{"scope": "a", "tag": "b"}]))
    assert response.status_code == 200
    assert response.content == b""  # PATCH answers without a body
    seg = client.get(api(SEG)).json()
    assert seg["resource_type"] == "Segment"
    assert (seg["id"], seg["display_name"], seg["path"]) == ("egress-prod", "egress-prod", SEG)
    assert (seg["parent_path"], seg["relative_path"]) == ("/infra", "egress-prod")
    assert seg["subnets"] == [{"gateway_address": "10.100.5.1/25", "network": "10.100.5.0/25"}]
    assert (seg["type"], seg["admin_state"]) == ("ROUTED", "UP")
    assert seg["_revision"] == 0
    assert seg["marked_for_delete"] is False
    assert (seg["_create_user"], seg["_last_modified_user"]) == ("admin", "admin")
    assert seg["_create_time"] == seg["_last_modified_time"] > 0
    assert (seg["_system_owned"], seg["_protection"]) == (False, "NOT_PROTECTED")
    assert len(seg["unique_id"]) == 36
    assert seg == sim.get(SEG)


def test_segment_without_connectivity_is_disconnected_and_gets_default_tz(
    client: httpx.Client,
) -> None:
    client.patch(api(SEG), json={"subnets": [{"gateway_address": "10.1.0.1/24"}]})
    seg = client.get(api(SEG)).json()
    assert seg["type"] == "DISCONNECTED"
    assert seg["transport_zone_path"] == DEFAULT_TZ_PATH


def test_patch_merges_top_level_fields(client: httpx.Client) -> None:
    client.patch(api(SEG), json=child_body(description="keep me"))
    before = client.get(api(SEG)).json()
    client.patch(api(SEG), json={"display_name": "renamed"})
    after = client.get(api(SEG)).json()
    assert after["display_name"] == "renamed"
    assert after["description"] == "keep me"
    assert after["subnets"] == before["subnets"]
    assert after["_revision"] == 1
    assert after["unique_id"] == before["unique_id"]
    assert after["_create_time"] == before["_create_time"]


def test_put_replaces_and_returns_the_object(client: httpx.Client) -> None:
    client.patch(api(SEG), json=child_body(description="gone after put"))
    current = client.get(api(SEG)).json()
    body = {"subnets": [{"gateway_address": "10.100.6.1/24"}], "_revision": current["_revision"]}
    response = client.put(api(SEG), json=body)
    assert response.status_code == 200
    replaced = response.json()
    assert "description" not in replaced
    assert "connectivity_path" not in replaced
    assert replaced["type"] == "DISCONNECTED"
    assert replaced["subnets"][0]["network"] == "10.100.6.0/24"
    assert replaced["_revision"] == 1
    assert replaced == client.get(api(SEG)).json()


def test_put_on_missing_object_creates_it(client: httpx.Client) -> None:
    response = client.put(api(SEG), json=child_body())
    assert response.status_code == 200
    assert response.json()["_revision"] == 0


@pytest.mark.parametrize("revision", [None, 0, 5])
def test_put_with_missing_or_stale_revision_is_412(
    client: httpx.Client, revision: int | None
) -> None:
    client.patch(api(SEG), json=child_body())
    client.patch(api(SEG), json={"description": "now at revision 1"})
    body = child_body() if revision is None else child_body(_revision=revision)
    body2 = expect_error(client.put(api(SEG), json=body), 412, 604)
    assert body2["httpStatus"] == "PRECONDITION_FAILED"
    assert client.get(api(SEG)).json()["description"] == "now at revision 1"


def test_patch_with_stale_revision_is_412_and_current_revision_passes(
    client: httpx.Client,
) -> None:
    client.patch(api(SEG), json=child_body())
    client.patch(api(SEG), json={"description": "r1"})
    expect_error(client.patch(api(SEG), json={"description": "x", "_revision": 0}), 412, 604)
    ok = client.patch(api(SEG), json={"description": "r2", "_revision": 1})
    assert ok.status_code == 200
    assert client.get(api(SEG)).json()["_revision"] == 2


def test_out_of_band_modify_makes_the_client_revision_stale(
    client: httpx.Client, sim: NsxSimulator
) -> None:
    client.patch(api(SEG), json=child_body())
    seen = client.get(api(SEG)).json()
    sim.modify(SEG, display_name="changed in the UI")
    expect_error(
        client.put(api(SEG), json={**child_body(), "_revision": seen["_revision"]}), 412, 604
    )


def test_connectivity_path_must_name_an_existing_tier1(client: httpx.Client) -> None:
    bad = "/infra/tier-1s/missing"
    body = expect_error(client.patch(api(SEG), json=child_body(connectivity_path=bad)), 400, 500012)
    assert body["error_message"] == f"The path=[{bad}] is invalid"
    assert body["httpStatus"] == "BAD_REQUEST"
    # A segment path is not a Tier-1 either.
    wrong_type = child_body(connectivity_path=LAB.node_segment_path)
    expect_error(client.patch(api(SEG), json=wrong_type), 400, 500012)
    assert client.get(api(SEG)).status_code == 404


@pytest.mark.parametrize("gateway", ["10.100.5.1", "10.100.5.1/33", "not-an-ip/24", ""])
def test_gateway_address_must_be_ip_with_prefix(client: httpx.Client, gateway: str) -> None:
    response = client.patch(api(SEG), json=child_body(gateway=gateway))
    expect_error(response, 400, 500001)


def test_validation_also_applies_to_merged_patch(client: httpx.Client) -> None:
    client.patch(api(SEG), json=child_body())
    response = client.patch(api(SEG), json={"connectivity_path": "/infra/tier-1s/other"})
    expect_error(response, 400, 500012)
    assert client.get(api(SEG)).json()["_revision"] == 0


def test_body_id_must_match_url(client: httpx.Client) -> None:
    expect_error(client.patch(api(SEG), json=child_body(id="other")), 400, 500001)
    wrong_type = child_body(resource_type="Tier1")
    expect_error(client.patch(api(SEG), json=wrong_type), 400, 500001)


def test_body_must_be_a_json_object(client: httpx.Client) -> None:
    response = client.patch(api(SEG), content=b"[1, 2]")
    expect_error(response, 400, 500001)
    garbage = client.patch(api(SEG), content=b"{not json")
    expect_error(garbage, 400, 500001)


def test_read_only_fields_in_body_are_ignored(client: httpx.Client) -> None:
    body = child_body(unique_id="mine", path="/elsewhere", _create_user="mallory", type="CHILD")
    client.patch(api(SEG), json=body)
    seg = client.get(api(SEG)).json()
    assert seg["unique_id"] != "mine"
    assert seg["path"] == SEG
    assert seg["_create_user"] == "admin"
    assert seg["type"] == "ROUTED"


def test_tag_limits(client: httpx.Client) -> None:
    too_long = [{"scope": "s" * 129, "tag": "v"}]
    expect_error(client.patch(api(SEG), json=child_body(tags=too_long)), 400, 500001)
    too_many = [{"scope": f"s{i}", "tag": "v"} for i in range(31)]
    expect_error(client.patch(api(SEG), json=child_body(tags=too_many)), 400, 500001)


def test_get_missing_segment_is_404_600(client: httpx.Client) -> None:
    body = expect_error(client.get(api("/infra/segments/Egress-Prod")), 404, 600)
    assert body["error_message"] == (
        "The requested object : Egress-Prod could not be found. "
        "Object identifiers are case sensitive."
    )


def test_concurrent_writes_are_serialised(sim: NsxSimulator, client: httpx.Client) -> None:
    client.patch(api(SEG), json=child_body())
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda i: client.patch(api(SEG), json={"description": str(i)}).status_code,
                range(24),
            )
        )
    assert statuses == [200] * 24
    assert client.get(api(SEG)).json()["_revision"] == 24
