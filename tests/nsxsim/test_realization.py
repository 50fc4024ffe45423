"""realized-entities: per-object state sequences, ERROR alarms, reset on write, 404s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nsxsim import LAB, NsxSimulator
from tests.nsxsim.conftest import api, child_body, expect_error, map_path, serving_lab

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

REALIZED = api("/infra/realized-state/realized-entities")
SEG = "/infra/segments/egress-prod"


def _poll(client: httpx.Client, intent_path: str) -> dict[str, Any]:
    response = client.get(REALIZED, params={"intent_path": intent_path})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["result_count"] == len(body["results"]) == 1
    entity: dict[str, Any] = body["results"][0]
    return entity


def _states(client: httpx.Client, intent_path: str, polls: int) -> list[str]:
    return [_poll(client, intent_path)["state"] for _ in range(polls)]


def test_seeded_objects_are_realized_at_once(client: httpx.Client) -> None:
    assert _states(client, LAB.node_segment_path, 2) == ["REALIZED", "REALIZED"]
    entity = _poll(client, LAB.tier1_path)
    assert entity["state"] == "REALIZED"
    assert entity["entity_type"] == "RealizedLogicalRouter"


def test_new_object_follows_default_sequence_and_stays_final(client: httpx.Client) -> None:
    client.patch(api(SEG), json=child_body())
    assert _states(client, SEG, 4) == ["UNREALIZED", "REALIZED", "REALIZED", "REALIZED"]
    entity = _poll(client, SEG)
    assert entity["intent_path"] == SEG
    assert entity["entity_type"] == "RealizedLogicalSwitch"
    assert "alarms" not in entity


def test_constructor_sequence_applies_to_written_objects() -> None:
    with serving_lab(
        NsxSimulator(realization=["UNAVAILABLE", "UNREALIZED", "UNREALIZED", "REALIZED"])
    ) as (_, http):
        http.patch(api(SEG), json=child_body())
        assert _states(http, SEG, 5) == [
            "UNAVAILABLE",
            "UNREALIZED",
            "UNREALIZED",
            "REALIZED",
            "REALIZED",
        ]


def test_error_state_carries_the_alarm(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.set_realization(r"/segment-connection-binding-maps/", ["UNREALIZED", "ERROR"], alarm="boom")
    client.patch(api(SEG), json=child_body())
    bm = map_path("egress-prod", "bm")
    client.patch(api(bm), json={"segment_path": LAB.node_segment_path, "vlan_traffic_tag": 9})
    first, second = _poll(client, bm), _poll(client, bm)
    assert first["state"] == "UNREALIZED"
    assert second["state"] == "ERROR"
    (alarm,) = second["alarms"]
    assert alarm["message"] == "boom"
    assert [e["error_message"] for e in alarm["error_details"]["related_errors"]] == ["boom"]
    # The segment does not match the rule and keeps the default sequence.
    assert _states(client, SEG, 2) == ["UNREALIZED", "REALIZED"]


def test_rule_applies_to_existing_objects_and_restarts_their_count(
    client: httpx.Client, sim: NsxSimulator
) -> None:
    client.patch(api(SEG), json=child_body())
    assert _states(client, SEG, 2) == ["UNREALIZED", "REALIZED"]
    sim.set_realization("egress-prod$", ["ERROR"])
    entity = _poll(client, SEG)
    assert entity["state"] == "ERROR"
    assert entity["alarms"][0]["message"]  # a default alarm text


def test_counter_restarts_on_every_write(client: httpx.Client) -> None:
    client.patch(api(SEG), json=child_body())
    assert _states(client, SEG, 3) == ["UNREALIZED", "REALIZED", "REALIZED"]
    client.patch(api(SEG), json={"description": "changed"})
    assert _states(client, SEG, 2) == ["UNREALIZED", "REALIZED"]


def test_counters_are_per_object(client: httpx.Client) -> None:
    client.patch(api(SEG), json=child_body())
    client.patch(api("/infra/segments/other"), json=child_body("10.9.0.1/24"))
    assert _states(client, SEG, 2) == ["UNREALIZED", "REALIZED"]
    assert _states(client, "/infra/segments/other", 1) == ["UNREALIZED"]


def test_missing_intent_object_is_404_600(client: httpx.Client) -> None:
    response = client.get(REALIZED, params={"intent_path": "/infra/segments/ghost"})
    expect_error(response, 404, 600)


def test_intent_path_is_required(client: httpx.Client) -> None:
    expect_error(client.get(REALIZED), 400, 500001)


def test_deleted_object_is_no_longer_realized(client: httpx.Client) -> None:
    client.patch(api(SEG), json=child_body())
    client.delete(api(SEG))
    expect_error(client.get(REALIZED, params={"intent_path": SEG}), 404, 600)


def test_a_realization_delay_realizes_each_write_after_that_time() -> None:
    now = [100.0]
    with serving_lab(NsxSimulator(realization_delay=2.0, clock=lambda: now[0])) as (sim, http):
        http.patch(api(SEG), json=child_body())
        assert _states(http, SEG, 3) == ["UNREALIZED"] * 3  # polls alone do not realize it
        now[0] += 1.9
        assert _poll(http, SEG)["state"] == "UNREALIZED"
        now[0] += 0.1
        assert _poll(http, SEG)["state"] == "REALIZED"
        http.patch(api(SEG), json=child_body(description="again"))
        assert _poll(http, SEG)["state"] == "UNREALIZED"  # a new write waits again
        assert _poll(http, LAB.node_segment_path)["state"] == "REALIZED"  # seeded: realized
        sim.set_realization("egress-prod", ["ERROR"])
        assert _poll(http, SEG)["state"] == "ERROR"  # a rule still wins
